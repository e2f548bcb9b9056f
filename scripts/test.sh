#!/usr/bin/env bash
# Run every gate of azcni.cilium on a fresh machine, offline except for the package registries.
#
#   scripts/test.sh            all gates
#   scripts/test.sh sanity e2e only the named gates (see GATES below)
#
# It creates its own virtualenvs under .work/ (newest ansible-core on Python 3.12, the 2.16 floor on
# Python 3.11), stages the collection at .work/collections/ansible_collections/azcni/cilium (where
# ansible-test requires it), and exits non-zero when any gate fails.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${AZCNI_WORK:-$ROOT/.work}"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

GATES=(sanity units units-floor emulator conformance e2e e2e-floor lint build azcli faults)
[ $# -gt 0 ] && GATES=("$@")

mkdir -p "$WORK"
NEWEST="$WORK/venv-newest"
FLOOR="$WORK/venv-floor"
# One staged copy per concurrent user: ansible-test and ansible-lint write into the tree they run in.
STAGE="$WORK/collections/ansible_collections/azcni/cilium"
STAGE_FLOOR="$WORK/collections-floor/ansible_collections/azcni/cilium"
STAGE_BUILD="$WORK/collections-build/ansible_collections/azcni/cilium"
AZ_VENV="$WORK/venv-az"
AZURE_CLI="azure-cli==2.91.0"

setup() {
    make_venv "$NEWEST" "$(find_python 3.12)" "ansible-core>=2.21,<2.22" ansible-lint -r "$ROOT/requirements.txt" \
        -r "$ROOT/tests/requirements.txt" || return 1
    if wants units-floor || wants e2e-floor; then
        make_venv "$FLOOR" "$(find_python 3.11)" "ansible-core>=2.16,<2.17" -r "$ROOT/requirements.txt" \
            -r "$ROOT/tests/requirements.txt" || return 1
    fi
    if wants azcli; then  # the real Azure CLI, large: its own virtualenv, reused while the pin stays
        make_venv "$AZ_VENV" "$(find_python 3.12)" "$AZURE_CLI" || return 1
    fi
    install_shellcheck
    offline_pip_bootstrap "$NEWEST" && { [ ! -d "$FLOOR" ] || offline_pip_bootstrap "$FLOOR"; }
    stage_collection "$ROOT" "$STAGE" && stage_collection "$ROOT" "$STAGE_FLOOR" && stage_collection "$ROOT" "$STAGE_BUILD"
}

wants() { local gate; for gate in "${GATES[@]}"; do [ "$gate" = "$1" ] && return 0; done; return 1; }

gate_sanity() {
    (cd "$STAGE" && "$NEWEST/bin/ansible-test" sanity --venv --python 3.12 --color no)
}

gate_units() {
    (cd "$STAGE" && "$NEWEST/bin/ansible-test" units --venv --python 3.12 --color no)
}

gate_units-floor() {
    (cd "$STAGE_FLOOR" && "$FLOOR/bin/ansible-test" units --venv --python 3.11 --color no)
}

gate_emulator() {
    (cd "$ROOT" && "$NEWEST/bin/python" -m pytest -q -p no:cacheprovider --durations=10 tests/emulator_tests)
}

# The lab against the upstream facts beside the checkout (../shared/reference: Cilium CRDs and example
# policies, ARM examples and the swagger excerpt). Skipped, with the reason, where that folder is absent.
REFERENCE="$ROOT/../shared/reference"
gate_conformance() {
    (cd "$ROOT" && "$NEWEST/bin/python" -m pytest -q -p no:cacheprovider tests/conformance)
}

# skip_reason GATE -> why GATE cannot run on this machine (nothing when it can)
skip_reason() {
    if [ "$1" = conformance ] && [ ! -d "$REFERENCE" ]; then
        echo "no upstream reference data at ../shared/reference beside the checkout"
    fi
}

gate_e2e() {
    (cd "$ROOT" && PATH="$NEWEST/bin:$PATH" "$NEWEST/bin/python" -m pytest -q -p no:cacheprovider --durations=10 tests/e2e)
}

gate_e2e-floor() {
    (cd "$ROOT" && PATH="$FLOOR/bin:$PATH" "$FLOOR/bin/python" -m pytest -q -p no:cacheprovider --durations=10 tests/e2e)
}

gate_faults() {
    # the fault and bad-input suite (tests/faults): prints its figures (cases run, refused before write, ...)
    (cd "$ROOT" && PATH="$NEWEST/bin:$PATH" "$NEWEST/bin/python" -m pytest -q -p no:cacheprovider -s tests/faults)
}

gate_azcli() {
    # the seed runbook's az and kubectl lines, unchanged, against the lab (tests/azcli/seed-runbook.md)
    (cd "$ROOT" && AZCNI_AZ="$AZ_VENV/bin/az" PATH="$NEWEST/bin:$PATH" "$NEWEST/bin/python" -m pytest -q \
        -p no:cacheprovider -s tests/azcli)
}

gate_lint() {
    (cd "$STAGE" && ANSIBLE_COLLECTIONS_PATH="$WORK/collections" "$NEWEST/bin/ansible-lint" --profile production \
        --offline --nocolor)
}

gate_build() {
    local dist="$WORK/dist" installed="$WORK/installed" module failed=0
    rm -rf "$dist" "$installed"
    (cd "$STAGE_BUILD" && "$NEWEST/bin/ansible-galaxy" collection build --force --output-path "$dist") || return 1
    "$NEWEST/bin/ansible-galaxy" collection install "$dist"/azcni-cilium-*.tar.gz -p "$installed" --no-deps || return 1
    if tar -tzf "$dist"/azcni-cilium-*.tar.gz | grep -E '^(tests|\.ci|scripts|\.work|\.ansible)/'; then
        echo "the built collection contains development files"; return 1
    fi
    local listed
    listed="$(ANSIBLE_COLLECTIONS_PATH="$installed" "$NEWEST/bin/ansible-doc" -l azcni.cilium)" || return 1
    echo "$listed"
    for module in "$ROOT"/plugins/modules/*.py; do
        module="$(basename "$module" .py)"
        grep -q "^azcni.cilium.$module " <<<"$listed" || { echo "ansible-doc -l does not list $module"; failed=1; }
        ANSIBLE_COLLECTIONS_PATH="$installed" "$NEWEST/bin/ansible-doc" -t module "azcni.cilium.$module" >/dev/null \
            || { echo "ansible-doc cannot render $module"; failed=1; }
    done
    return $failed
}

# Gates in one group run at the same time (each has its own emulator, ports and temp dirs): most
# of them wait on subprocesses and sockets part of the time, so two share the two cores well.
GROUPS_OF_GATES=("sanity conformance" "units units-floor" "emulator lint build azcli faults" "e2e e2e-floor")
SUMMARY=()
passed=0
failed=0
skipped=0
LOGS="$WORK/logs"

run_group() {
    local gate pids=() names=()
    mkdir -p "$LOGS"
    for gate in "$@"; do
        wants "$gate" || continue
        local reason
        reason="$(skip_reason "$gate")"
        if [ -n "$reason" ]; then
            echo "=== gate: $gate skipped: $reason"
            skipped=$((skipped + 1)); SUMMARY+=("SKIP  $gate ($reason)")
            continue
        fi
        ( started=$(date +%s); "gate_$gate" >"$LOGS/$gate.log" 2>&1; rc=$?
          echo "$rc $(( $(date +%s) - started ))" >"$LOGS/$gate.rc" ) &
        pids+=($!)
        names+=("$gate")
    done
    [ ${#pids[@]} -gt 0 ] && wait "${pids[@]}"
    for gate in "${names[@]+"${names[@]}"}"; do
        local rc took
        read -r rc took <"$LOGS/$gate.rc"
        echo "=== gate: $gate (exit $rc, ${took}s)"
        cat "$LOGS/$gate.log"
        if [ "$rc" -eq 0 ]; then passed=$((passed + 1)); SUMMARY+=("PASS  $gate (${took}s)")
        else failed=$((failed + 1)); SUMMARY+=("FAIL  $gate (${took}s, exit $rc)"); fi
    done
}

started_all=$(date +%s)
echo "=== setup (virtualenvs, offline pip bootstrap, staged collection)"
if ! setup; then
    echo "setup failed"
    echo "gates: 0 passed, ${#GATES[@]} failed"
    exit 1
fi
echo "setup took $(( $(date +%s) - started_all ))s"
for group in "${GROUPS_OF_GATES[@]}"; do
    # shellcheck disable=SC2086  # a group is a space-separated list of gate names
    run_group $group
done

echo
echo "=== summary (total $(( $(date +%s) - started_all ))s)"
printf '%s\n' "${SUMMARY[@]}"
echo "gates: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
