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

GATES=(sanity units units-floor emulator conformance e2e e2e-floor e2e-azpins lint build azcli importer ee docs awx faults)
[ $# -gt 0 ] && GATES=("$@")

mkdir -p "$WORK"
NEWEST="$WORK/venv-newest"
FLOOR="$WORK/venv-floor"
# One staged copy per concurrent user: ansible-test and ansible-lint write into the tree they run in.
STAGE="$WORK/collections/ansible_collections/azcni/cilium"
STAGE_FLOOR="$WORK/collections-floor/ansible_collections/azcni/cilium"
STAGE_BUILD="$WORK/collections-build/ansible_collections/azcni/cilium"
TOOLS="$WORK/venv-tools"          # antsibull-docs + Sphinx, ansible-builder, ansible-runner (docs, ee, awx)
IMPORTER="$WORK/venv-importer"    # galaxy-importer pins its own ansible-lint: a venv of its own
AZPINS="$WORK/venv-azpins"        # azure.azcollection's exact pins beside ours (e2e-azpins)
# the floors of requirements.txt, installed exactly in the floor venv so that they are what is tested
FLOORS="$WORK/floors.txt"
# what the e2e suite and the emulator need besides the product: no SDK clients (tests/e2e/arm.py), so the floor
# and azure.azcollection's pins decide every Azure package there
E2E_REQUIREMENTS="$ROOT/tests/e2e/requirements.txt"
ANSIBLE_WHEEL="$WORK/ansible-wheel"  # the newest `ansible` package: azure.azcollection and kubernetes.core
AZ_VENV="$WORK/venv-az"
AZURE_CLI="azure-cli==2.91.0"

setup() {
    make_venv "$NEWEST" "$(find_python 3.12)" "ansible-core>=2.21,<2.22" ansible-lint -r "$ROOT/requirements.txt" \
        -r "$E2E_REQUIREMENTS" -r "$ROOT/tests/requirements.txt" || return 1
    if wants units-floor || wants e2e-floor || wants importer; then
        sed -n 's/^\([A-Za-z0-9_.-]*\)>=\([^,;[:space:]]*\).*/\1==\2/p' "$ROOT/requirements.txt" >"$FLOORS"
        make_venv "$FLOOR" "$(find_python 3.11)" "ansible-core>=2.16,<2.17" -r "$ROOT/requirements.txt" \
            -r "$E2E_REQUIREMENTS" -c "$FLOORS" || return 1
    fi
    if wants azcli; then  # the real Azure CLI, large: its own virtualenv, reused while the pin stays
        make_venv "$AZ_VENV" "$(find_python 3.12)" "$AZURE_CLI" || return 1
    fi
    setup_extra || return 1
    install_shellcheck
    offline_pip_bootstrap "$NEWEST" && { [ ! -d "$FLOOR" ] || offline_pip_bootstrap "$FLOOR"; }
    stage_collection "$ROOT" "$STAGE" && stage_collection "$ROOT" "$STAGE_FLOOR" && stage_collection "$ROOT" "$STAGE_BUILD"
}

# The venvs of the packaging gates, built side by side (pip waits on the network most of the time).
setup_extra() {
    local pids=() pid failed=0
    if wants ee || wants e2e-azpins; then
        fetch_ansible_wheel "$ANSIBLE_WHEEL" "$NEWEST" || return 1
    fi
    if wants docs || wants ee || wants awx; then
        make_venv "$TOOLS" "$(find_python 3.12)" "ansible-core>=2.21,<2.22" antsibull-docs sphinx sphinx-ansible-theme \
            ansible-builder ansible-runner -r "$ROOT/requirements.txt" -r "$ROOT/tests/requirements.txt" &
        pids+=($!)
    fi
    if wants importer; then
        make_venv "$IMPORTER" "$(find_python 3.12)" galaxy-importer &
        pids+=($!)
    fi
    if wants e2e-azpins; then
        # their pins constrain ours and the test requirements alike; pip fails on any conflict. Their ~80
        # packages take minutes to install: that goes on while the first groups of gates run.
        rm -f "$WORK/azpins-venv.rc"
        ( make_venv "$AZPINS" "$(find_python 3.12)" "ansible-core>=2.21,<2.22" \
            -r "$ANSIBLE_WHEEL/azcollection-requirements.txt" -r "$ROOT/requirements.txt" -r "$E2E_REQUIREMENTS" \
            -c "$ANSIBLE_WHEEL/azcollection-requirements.txt" >"$WORK/azpins-venv.log" 2>&1
          echo $? >"$WORK/azpins-venv.rc" ) &
    fi
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    return $failed
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

# key_packages VENV: the releases that decide what the e2e suite tests there (printed in the gate's log)
key_packages() {
    "$1/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
        | grep -iE "^(ansible-core|azure-identity|azure-core|azure-mgmt-(core|containerservice|network|resource)|kubernetes|jmespath|msal) "
}

gate_e2e-floor() {
    # requirements.txt's floors, exactly (-c floors.txt), on the ansible-core floor
    key_packages "$FLOOR"
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
    # the way a user runs it: a plain checkout (not under ansible_collections/), no flags beyond the
    # profile and no ANSIBLE_COLLECTIONS_PATH; ansible-lint installs the collection itself from the
    # checkout and from collections/requirements.yml, offline.
    local checkout="$WORK/lint-checkout/cilium"
    stage_collection "$ROOT" "$checkout" || return 1
    (cd "$checkout" && env -u ANSIBLE_COLLECTIONS_PATH PATH="$NEWEST/bin:$PATH" "$NEWEST/bin/ansible-lint" \
        --profile production --nocolor)
}

gate_build() {
    local dist="$WORK/dist" installed="$WORK/installed" module failed=0
    rm -rf "$dist" "$installed"
    (cd "$STAGE_BUILD" && "$NEWEST/bin/ansible-galaxy" collection build --force --output-path "$dist") || return 1
    "$NEWEST/bin/ansible-galaxy" collection install "$dist"/azcni-cilium-*.tar.gz -p "$installed" --no-deps || return 1
    local packed
    packed="$(tar -tzf "$dist"/azcni-cilium-*.tar.gz)" || return 1
    if grep -vxE 'tests/?|tests/config\.yml' <<<"$packed" | grep -E '^(tests|\.ci|scripts|\.work|\.ansible|docs/build)/'; then
        echo "the built collection contains development files"; return 1
    fi
    # ansible-test (and galaxy-importer's sanity step) read tests/config.yml from the tarball
    for file in LICENSE tests/config.yml CHANGELOG.rst; do
        grep -qx "$file" <<<"$packed" || { echo "the built collection lacks $file"; failed=1; }
    done
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

gate_importer() {
    # galaxy-importer on the built tarball (its lint findings are only warnings: any WARNING or ERROR
    # line fails the gate), then the ansible-test sanity step of its container reproduced on the
    # tarball's contents, on the ansible-core floor (whose test list includes Python 2.7/3.6 compile
    # and the boilerplate tests unless tests/config.yml says controller-only).
    local dir="$WORK/importer" tarball interpreters python_bin
    rm -rf "$dir" && mkdir -p "$dir" || return 1
    (cd "$STAGE_BUILD" && "$NEWEST/bin/ansible-galaxy" collection build --force --output-path "$dir") >/dev/null || return 1
    tarball="$(ls "$dir"/azcni-cilium-*.tar.gz)"
    printf '[galaxy-importer]\nRUN_ANSIBLE_TEST = False\nOFFLINE_ANSIBLE_LINT = True\nCHECK_REQUIRED_TAGS = True\n' \
        >"$dir/importer.cfg"
    (cd "$dir" && GALAXY_IMPORTER_CONFIG="$dir/importer.cfg" PATH="$IMPORTER/bin:$PATH" \
        "$IMPORTER/bin/python" -m galaxy_importer.main "$tarball") >"$dir/importer.log" 2>&1
    local rc=$?
    grep -v "is ignored: it is neither" "$dir/importer.log"
    [ "$rc" -eq 0 ] || { echo "galaxy-importer failed (exit $rc)"; return 1; }
    if grep -E "^(WARNING|ERROR)|[Ww]arning:|[Ee]rror:" "$dir/importer.log" | grep -v "is ignored: it is neither"; then
        echo "galaxy-importer reported the findings above"; return 1
    fi
    # outside any git work tree, as in the container: inside one, ansible-test would only see tracked files
    local tree
    tree="$(mktemp -d)/ansible_collections/azcni/cilium"
    mkdir -p "$tree" && tar -xzf "$tarball" -C "$tree" || return 1
    # the container has every Python; give ansible-test this machine's (pyenv's) real interpreters
    interpreters=""
    for python_bin in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/*/bin; do
        [ -d "$python_bin" ] && interpreters="$interpreters$python_bin:"
    done
    (cd "$tree" && PATH="$FLOOR/bin:$interpreters$PATH" "$FLOOR/bin/ansible-test" sanity --venv --skip-test import \
        --skip-test validate-modules --skip-test pslint --skip-test ansible-doc --color no) >"$dir/sanity.log" 2>&1
    rc=$?
    grep -v "is ignored: it is neither" "$dir/sanity.log"
    rm -rf "${tree%/ansible_collections/azcni/cilium}"
    [ "$rc" -eq 0 ] || return 1
    if grep -q "All targets skipped" "$dir/sanity.log" || ! grep -q 'Running sanity test "compile"' "$dir/sanity.log"; then
        echo "ansible-test tested nothing of the tarball"; return 1
    fi
}

gate_ee() {
    # ansible-builder create on the example EE, then what the image build's introspection step does:
    # the Python requirements of the three collections, combined, must resolve in one environment.
    local dir="$WORK/ee" ee="$ROOT/examples/execution-environment.yml" tarball
    rm -rf "$dir" && mkdir -p "$dir/examples" || return 1
    cp "$ee" "$dir/examples/" || return 1
    (cd "$STAGE_BUILD" && "$NEWEST/bin/ansible-galaxy" collection build --force --output-path "$dir/examples") >/dev/null \
        || return 1
    tarball="$(basename "$(ls "$dir"/examples/azcni-cilium-*.tar.gz)")"
    grep -q "src: $tarball\$" "$ee" || { echo "$ee must ship $tarball (the version in galaxy.yml)"; return 1; }
    "$TOOLS/bin/ansible-builder" create -f "$dir/examples/execution-environment.yml" -c "$dir/context" || return 1
    [ -f "$dir/context/_build/collections/$tarball" ] || { echo "the context lacks collections/$tarball"; return 1; }
    cp -r "$ANSIBLE_WHEEL/collections" "$dir/collections" || return 1
    "$NEWEST/bin/ansible-galaxy" collection install "$dir/examples/$tarball" -p "$dir/collections" --no-deps >/dev/null \
        || return 1
    "$TOOLS/bin/ansible-builder" introspect --sanitize --write-pip "$dir/requirements.txt" "$dir/collections" || return 1
    cat "$dir/requirements.txt"
    for collection in azure.azcollection kubernetes.core azcni.cilium; do
        grep -q "# from collection $collection" "$dir/requirements.txt" \
            || { echo "introspection found no requirements of $collection"; return 1; }
    done
    "$NEWEST/bin/python" -m pip install -q --disable-pip-version-check --dry-run --ignore-installed \
        -r "$dir/requirements.txt" "ansible-core>=2.16,<2.22" ansible-runner 2>&1 | grep -v "is ignored: it is neither"
    [ "${PIPESTATUS[0]}" -eq 0 ] && echo "the EE's introspected requirements resolve"
}

gate_docs() {
    # the documentation site, offline; its index must list every module and role
    local out="$WORK/docs" missing=0 name
    "$ROOT/scripts/docs.sh" "$out" "$TOOLS" "$TOOLS" || return 1
    for name in "$ROOT"/plugins/modules/*.py; do
        name="$(basename "$name" .py)"
        grep -q "href=\"${name}_module.html\"" "$out/html/index.html" || { echo "the index lacks module $name"; missing=1; }
    done
    for name in "$ROOT"/roles/*/; do
        name="$(basename "$name")"
        grep -q "href=\"${name}_role.html\"" "$out/html/index.html" || { echo "the index lacks role $name"; missing=1; }
    done
    ls "$out/html/runbook/" && return $missing
}

gate_awx() {
    (cd "$ROOT" && PATH="$TOOLS/bin:$PATH" "$TOOLS/bin/python" -m pytest -q -p no:cacheprovider tests/awx)
}

gate_e2e-azpins() {
    # the e2e suite in one venv with azure.azcollection's exact pins (from the newest `ansible` release)
    local waited=0
    while [ ! -s "$WORK/azpins-venv.rc" ] && [ "$waited" -lt 2400 ]; do sleep 2; waited=$((waited + 2)); done
    if [ "$(cat "$WORK/azpins-venv.rc" 2>/dev/null)" != 0 ]; then
        grep -v "is ignored: it is neither" "$WORK/azpins-venv.log"
        echo "azure.azcollection's pinned requirements and ours do not install together"; return 1
    fi
    key_packages "$AZPINS"
    (cd "$ROOT" && PATH="$AZPINS/bin:$PATH" "$AZPINS/bin/python" -m pytest -q -p no:cacheprovider --durations=10 tests/e2e)
}

# Gates in one group run at the same time (each has its own emulator, ports and temp dirs): most
# of them wait on subprocesses and sockets part of the time, so two share the two cores well.
GROUPS_OF_GATES=("sanity conformance ee" "units units-floor docs" "emulator lint build azcli importer faults" "e2e e2e-floor"
                 "e2e-azpins awx")
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
