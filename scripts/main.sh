#!/usr/bin/env bash
# The main job: network -> cluster -> Cilium status -> policies -> restart (playbooks/site.yml).
#
#   scripts/main.sh [--fresh] [ansible-playbook options...]
#
# With Azure credentials in the environment (AZURE_SUBSCRIPTION_ID plus AZURE_CLIENT_ID/AZURE_SECRET/
# AZURE_TENANT, AZURE_AD_USER/AZURE_PASSWORD or AZURE_PROFILE) it runs against Azure. Otherwise it
# runs against the bundled local AKS emulator (scripts/emulator.sh), which it starts when it is not running
# and leaves running with its state, so that the next run changes nothing; --fresh starts from an empty
# emulator. AZCNI_TARGET=emulator|azure forces one. Everything it needs is installed into .work/venv-main.
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

fresh=no
args=()
for arg in "$@"; do
    if [ "$arg" = --fresh ]; then fresh=yes; else args+=("$arg"); fi
done

echo "setting up $WORK/venv-main (the first run installs the dependencies, about a minute)"
main_venv "$WORK" "$ROOT"
checkout_collections "$WORK" "$ROOT"
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS"
export ANSIBLE_PYTHON_INTERPRETER="$VENV/bin/python"
export PATH="$VENV/bin:$PATH"

extra=()
if [ "$target" = emulator ]; then
    # The emulator keeps running after the job, with its resources, so that a second run finds everything
    # in place (and changes nothing) and kubectl can look at the cluster: see the README. --fresh starts over.
    if [ "$fresh" = yes ]; then
        "$ROOT/scripts/emulator.sh" start --fresh
    else
        "$ROOT/scripts/emulator.sh" start
    fi
    state="$WORK/emulator"
    url="$(cat "$state/url")"
    # shellcheck disable=SC1091
    . "$state/env.sh"
    # the emulated cluster's credentials go to a kubeconfig of their own, not to ~/.kube/config
    extra=(-e "azcni_kubeconfig=$state/kubeconfig")
    since="$(date +%s)"
else
    echo "running against Azure (subscription ${AZURE_SUBSCRIPTION_ID:-from profile})"
fi

cd "$ROOT"
rc=0
ansible-playbook playbooks/site.yml -i playbooks/inventory/hosts.yml "${extra[@]}" "${args[@]+"${args[@]}"}" || rc=$?
if [ "$target" = emulator ]; then
    writes="$("$VENV/bin/python" -c '
import sys
import requests
from tests.emulator.requestlog import writes
entries = requests.get(sys.argv[1] + "/_emulator/requests", verify=sys.argv[2], timeout=30).json()
print(len(writes([e for e in entries if e["time"] >= float(sys.argv[3])])))' "$url" "$REQUESTS_CA_BUNDLE" "$since")"
    echo "ARM writes during this run: $writes"
    echo "The emulator is still running ($url). To look at the cluster with kubectl:"
    echo "    eval \"\$(scripts/emulator.sh env)\" && kubectl get pods -n kube-system -o wide"
    echo "scripts/emulator.sh stop stops it; scripts/main.sh --fresh starts over."
fi
exit "$rc"
