#!/usr/bin/env bash
# The main job: network -> cluster -> Cilium status -> policies -> restart (playbooks/site.yml).
#
#   scripts/main.sh [ansible-playbook options...]
#
# With Azure credentials in the environment (AZURE_SUBSCRIPTION_ID plus AZURE_CLIENT_ID/AZURE_SECRET/
# AZURE_TENANT, AZURE_AD_USER/AZURE_PASSWORD or AZURE_PROFILE) it runs against Azure. Otherwise it
# starts the bundled local AKS emulator and runs against that. AZCNI_TARGET=emulator|azure forces one.
# Everything it needs is installed into .work/venv-main on first use.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${AZCNI_WORK:-$ROOT/.work}"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

target="${AZCNI_TARGET:-}"
if [ -z "$target" ]; then
    target=emulator
    if [ -n "${AZURE_SUBSCRIPTION_ID:-}" ] && { [ -n "${AZURE_CLIENT_ID:-}" ] || [ -n "${AZURE_AD_USER:-}" ]; }; then
        target=azure
    elif [ -n "${AZURE_PROFILE:-}" ]; then
        target=azure
    fi
fi

python="$(find_python 3.12 2>/dev/null || true)"
core="ansible-core>=2.21,<2.22"
if [ -z "$python" ]; then
    python="$(find_python 3.11)"
    core="ansible-core>=2.16,<2.20"
fi
venv="$WORK/venv-main"
echo "setting up $venv (first run installs the dependencies)"
make_venv "$venv" "$python" "$core" -r "$ROOT/requirements.txt" -r "$ROOT/tests/requirements.txt"

collections="$WORK/main-collections"
mkdir -p "$collections/ansible_collections/azcni"
ln -sfn "$ROOT" "$collections/ansible_collections/azcni/cilium"
export ANSIBLE_COLLECTIONS_PATH="$collections"
export ANSIBLE_PYTHON_INTERPRETER="$venv/bin/python"
export PATH="$venv/bin:$PATH"

emulator_pid=""
extra=()
cleanup() {
    if [ -n "$emulator_pid" ]; then
        kill "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

if [ "$target" = emulator ]; then
    state="$WORK/emulator"
    mkdir -p "$state"
    # every run starts a fresh emulator (new CA, new clusters): credentials of an earlier run are stale
    rm -f "$state/emulator.out" "$state/kubeconfig"
    (cd "$ROOT" && exec "$venv/bin/python" -m tests.emulator serve --port 0 --workdir "$state") \
        >"$state/emulator.out" 2>"$state/emulator.log" &
    emulator_pid=$!
    url=""
    for _ in $(seq 1 120); do
        url="$(sed -n 's/^ready //p' "$state/emulator.out" 2>/dev/null | head -n1)"
        [ -n "$url" ] && break
        kill -0 "$emulator_pid" 2>/dev/null || break
        sleep 0.5
    done
    if [ -z "$url" ]; then
        echo "the emulator did not start; see $state/emulator.log"
        exit 1
    fi
    echo "local AKS emulator: $url"
    # shellcheck disable=SC1091
    . "$state/env.sh"
    # the emulated cluster's credentials go to a kubeconfig of their own, not to ~/.kube/config
    extra=(-e "azcni_kubeconfig=$state/kubeconfig")
else
    echo "running against Azure (subscription ${AZURE_SUBSCRIPTION_ID:-from profile})"
fi

cd "$ROOT"
ansible-playbook playbooks/site.yml -i playbooks/inventory/hosts.yml "${extra[@]}" "$@"
