#!/usr/bin/env bash
# Build the documentation site: antsibull-docs renders the modules, roles and guides
# (docs/docsite/), scripts/docs_runbook.py adds the playbooks and one page per runbook step from a
# real run against the local emulator, and Sphinx builds the HTML offline, warnings as errors.
#
#   scripts/docs.sh OUT_DIR TOOLS_VENV RUN_VENV
#
# TOOLS_VENV has antsibull-docs, Sphinx and sphinx-ansible-theme; RUN_VENV has ansible-core and the
# collection's requirements (it runs the emulator and ansible-playbook). The site is OUT_DIR/html.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$1" tools="$2" run="$3"

rm -rf "$out"
mkdir -p "$out/collections/ansible_collections/azcni"
ln -s "$ROOT" "$out/collections/ansible_collections/azcni/cilium"
export ANSIBLE_COLLECTIONS_PATH="$out/collections"
mkdir -m 700 "$out/rst"  # antsibull-docs wants its output directory writable by its owner only

PATH="$tools/bin:$PATH" antsibull-docs collection --use-current --squash-hierarchy --dest-dir "$out/rst" azcni.cilium
PATH="$run/bin:$PATH" "$run/bin/python" "$ROOT/scripts/docs_runbook.py" "$out/rst"
# -W: a broken reference or a bad page fails the build; the config keeps intersphinx off (offline)
PATH="$tools/bin:$PATH" sphinx-build -q -b html -W --keep-going -c "$ROOT/docs/sphinx" "$out/rst" "$out/html"
