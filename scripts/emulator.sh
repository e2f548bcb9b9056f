#!/usr/bin/env bash
# The local AKS emulator in the background, for playbooks, ansible-doc and kubectl from this checkout.
#
#   scripts/emulator.sh start [--fresh]  start it, or keep the one running; --fresh forgets every resource
#   scripts/emulator.sh stop             stop it (its resources stay in the state file for the next start)
#   scripts/emulator.sh status           say whether it runs, and where
#   scripts/emulator.sh env              print the environment for this shell: eval "$(scripts/emulator.sh env)"
#
# Time passes as on AKS, scaled down: each cluster operation stays Creating/Updating/Deleting for
# AZCNI_PROVISION_DELAY seconds (default 5) and each pod takes AZCNI_POD_READY_DELAY seconds (default 1)
# to become ready, so rollouts progress visibly and a second write during an operation gets AKS's 409.
# The first start installs the virtualenv .work/venv-main (about 1 minute); later starts take ~2 s.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${AZCNI_WORK:-$ROOT/.work}"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
STATE="$WORK/emulator"

running() {
    [ -f "$STATE/pid" ] && [ -f "$STATE/url" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null
}

stop() {
    if running; then
        local pid
        pid="$(cat "$STATE/pid")"
        kill "$pid"
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        echo "local AKS emulator stopped (pid $pid)"
    fi
    rm -f "$STATE/pid" "$STATE/url"
}

start() {
    local fresh="$1"
    if running && [ "$fresh" = no ]; then
        echo "local AKS emulator: $(cat "$STATE/url") (running, pid $(cat "$STATE/pid"))"
        return 0
    fi
    stop >/dev/null
    mkdir -p "$STATE"
    if [ "$fresh" = yes ]; then
        rm -f "$STATE/state.json"
    fi
    # a new emulator has a new CA and new cluster endpoints: credentials written for the last one are stale
    rm -f "$STATE/kubeconfig" "$STATE/emulator.out"
    main_venv "$WORK" "$ROOT" >/dev/null
    (cd "$ROOT" && exec setsid "$VENV/bin/python" -m tests.emulator serve --port "${AZCNI_EMULATOR_PORT:-0}" \
        --workdir "$STATE" --state-file "$STATE/state.json" --provision-delay "${AZCNI_PROVISION_DELAY:-5}" \
        --pod-ready-delay "${AZCNI_POD_READY_DELAY:-1}") </dev/null >"$STATE/emulator.out" 2>"$STATE/emulator.log" &
    echo $! >"$STATE/pid"
    local url=""
    for _ in $(seq 1 120); do
        url="$(sed -n 's/^ready //p' "$STATE/emulator.out" 2>/dev/null | head -n1)"
        [ -n "$url" ] && break
        kill -0 "$(cat "$STATE/pid")" 2>/dev/null || break
        sleep 0.5
    done
    if [ -z "$url" ]; then
        echo "the emulator did not start; see $STATE/emulator.log" >&2
        rm -f "$STATE/pid"
        return 1
    fi
    echo "$url" >"$STATE/url"
    echo "local AKS emulator: $url (pid $(cat "$STATE/pid"); resources in $STATE/state.json)"
}

print_env() {
    main_venv "$WORK" "$ROOT" >/dev/null
    checkout_collections "$WORK" "$ROOT"
    # shellcheck disable=SC2016  # $PATH is expanded by the shell that evaluates this
    printf 'export PATH=%q:"$PATH"\n' "$VENV/bin"
    printf 'export ANSIBLE_COLLECTIONS_PATH=%q\n' "$COLLECTIONS"
    printf 'export ANSIBLE_PYTHON_INTERPRETER=%q\n' "$VENV/bin/python"
    if running; then
        grep '^export ' "$STATE/env.sh"
        printf 'export KUBECONFIG=%q\n' "$STATE/kubeconfig"
    else
        echo "# the emulator is not running (scripts/emulator.sh start): no AZURE_* variables set"
    fi
}

case "${1:-}" in
    start) start "$([ "${2:-}" = --fresh ] && echo yes || echo no)" ;;
    stop) stop ;;
    status) if running; then echo "running: $(cat "$STATE/url") (pid $(cat "$STATE/pid"))"; else echo "not running"; exit 1; fi ;;
    env) print_env ;;
    *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
