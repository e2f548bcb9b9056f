# Shared shell helpers for scripts/test.sh and scripts/main.sh (sourced, not run).
# shellcheck shell=bash

# find_python 3.12 -> path of a working python3.12 (pyenv installs included), or nothing.
find_python() {
    local want="$1" candidate
    for candidate in "$(command -v "python$want" 2>/dev/null)" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want"*/bin/"python$want" \
        /usr/local/bin/"python$want" /usr/bin/"python$want" "$(command -v python3 2>/dev/null)"; do
        if [ -z "$candidate" ] || [ ! -x "$candidate" ]; then continue; fi
        if "$candidate" -c "import sys, venv; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" \
            2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "no Python $want found (install it, e.g. with pyenv)" >&2
    return 1
}

# make_venv DIR PYTHON PIP-ARGS... -> a virtualenv with PIP-ARGS installed; re-installs only when the
# arguments or the requirement files they name change.
make_venv() {
    local dir="$1" python="$2"
    shift 2
    [ -n "$python" ] || return 1
    local stamp arg
    stamp="$("$python" --version 2>&1) $*"
    for arg in "$@"; do [ -f "$arg" ] && stamp="$stamp $(cat "$arg")"; done
    stamp="$(printf '%s' "$stamp" | sha256sum | cut -d' ' -f1)"
    if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ]; then
        return 0
    fi
    rm -rf "$dir"
    "$python" -m venv "$dir" || return 1
    "$dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null || return 1
    "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@" || return 1
    echo "$stamp" >"$dir/.stamp"
}

# offline_pip_bootstrap VENV: ansible-test bootstraps pip in its own virtualenvs with a get-pip script
# it downloads from the internet, unless ~/.ansible/test/cache/get_pip_<version>.py exists. This stand-in
# uses the interpreter's bundled pip (ensurepip, in a subprocess) and then installs what was asked for.
offline_pip_bootstrap() {
    local venv="$1" cache="$HOME/.ansible/test/cache" file="" candidate version
    for candidate in "$venv"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py; do
        [ -f "$candidate" ] && file="$candidate"
    done
    [ -n "$file" ] || return 1
    mkdir -p "$cache"
    grep -oE "pip='[0-9.]+'" "$file" | grep -oE "[0-9.]+" | sort -u | while read -r version; do
        cat >"$cache/get_pip_${version//./_}.py" <<'EOF'
"""Offline stand-in for get-pip.py: bootstrap the bundled pip, then install the requested packages."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check"] + args)
EOF
    done
}

# stage_collection SRC DEST: copy the files git tracks (and untracked, not ignored ones) to DEST, the
# ansible_collections/azcni/cilium path ansible-test needs, as a git work tree of its own so that
# ansible-test sees exactly those files.
stage_collection() {
    local src="$1" dest="$2"
    rm -rf "$dest"
    mkdir -p "$dest"
    (cd "$src" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | (cd "$dest" && tar -xf -) || return 1
    (cd "$dest" && git init -q && git add -A) || return 1
    # tests find the reference data at ../shared/reference, beside the checkout; keep that true here
    if [ -d "$src/../shared" ]; then
        ln -sfn "$(cd "$src/.." && pwd)/shared" "$(dirname "$dest")/shared"
    fi
}

# install_shellcheck: ansible-test's shellcheck sanity test is skipped (with a warning) when the
# program is missing; install it from Debian's packages when we can, so the test really runs.
install_shellcheck() {
    command -v shellcheck >/dev/null && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        { apt-get update -qq && apt-get install -y -qq shellcheck; } >/dev/null 2>&1 || echo "could not install shellcheck"
    fi
    return 0
}

# fetch_ansible_wheel DIR VENV: the newest `ansible` release from PyPI (no dependencies) and, out of it,
# what the packaging gates read: DIR/azcollection-requirements.txt (azure.azcollection's exact pins,
# ansible_collections/azure/azcollection/requirements.txt in the wheel) and the metadata of
# azure.azcollection and kubernetes.core under DIR/collections/ansible_collections.
fetch_ansible_wheel() {
    local dir="$1" venv="$2" wheel
    rm -rf "$dir"
    mkdir -p "$dir"
    "$venv/bin/python" -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: ansible -d "$dir" \
        >/dev/null || return 1
    wheel="$(ls "$dir"/ansible-*.whl)" || return 1
    "$venv/bin/python" - "$wheel" "$dir" <<'PY' || return 1
import sys
import zipfile

wheel, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive:
    names = [name for name in archive.namelist()
             if name.startswith(("ansible_collections/azure/azcollection/", "ansible_collections/kubernetes/core/"))
             and (name.count("/") == 3 or "/meta/" in name)]
    archive.extractall(out + "/collections", names)
    with open(out + "/azcollection-requirements.txt", "wb") as handle:
        handle.write(archive.read("ansible_collections/azure/azcollection/requirements.txt"))
PY
    echo "$(basename "$wheel"): azure.azcollection pins $(grep -cE '==' "$dir/azcollection-requirements.txt") packages"
}

# main_venv WORK ROOT -> sets VENV: the virtualenv of the main job, emulator.sh and the README's commands
# (ansible-core, the collection's and the tests' requirements, the pinned kubectl). Python 3.12 when there
# is one (ansible-core 2.21), else 3.11 (the newest ansible-core that still runs there).
main_venv() {
    local work="$1" root="$2" python core="ansible-core>=2.21,<2.22"
    python="$(find_python 3.12 2>/dev/null || true)"
    if [ -z "$python" ]; then
        python="$(find_python 3.11)" || return 1
        core="ansible-core>=2.16,<2.20"
    fi
    VENV="$work/venv-main"
    make_venv "$VENV" "$python" "$core" -r "$root/requirements.txt" -r "$root/tests/requirements.txt"
}

# checkout_collections WORK ROOT -> sets COLLECTIONS: a collections path where azcni.cilium is this checkout
# (a symlink), so that ansible-doc and ansible-playbook find the collection without building it.
checkout_collections() {
    local work="$1" root="$2"
    COLLECTIONS="$work/main-collections"
    mkdir -p "$COLLECTIONS/ansible_collections/azcni"
    ln -sfn "$root" "$COLLECTIONS/ansible_collections/azcni/cilium"
}
