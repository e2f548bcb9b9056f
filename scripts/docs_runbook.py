"""Write the docs site's "Runbook, as run" and "Playbooks" pages from a real run (used by scripts/docs.sh).

    python scripts/docs_runbook.py RST_DIR

Starts the local AKS emulator, runs ``ansible-playbook playbooks/site.yml`` against it exactly as
``scripts/main.sh`` does, and writes one page per play of that run (each step of the runbook) with
what ansible-playbook printed, plus an index with the recap, and a page describing every playbook from
its header comment. Then adds both to the collection index that antsibull-docs wrote. Fails when the
run fails, so the site never shows a broken runbook.
"""

import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.emulator import Emulator  # noqa: E402  pylint: disable=wrong-import-position

PLAY = re.compile(r"^PLAY \[(?P<name>.*)\] \**$")
RECAP = re.compile(r"^PLAY RECAP \**$")
RESULT = re.compile(r"^(ok|changed|skipping|failed|fatal|included): ")


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def heading(text, char):
    return "%s\n%s\n" % (text, char * len(text))


def code_block(text):
    body = "\n".join(("   " + line) if line.strip() else "" for line in text.rstrip().splitlines())
    return ".. code-block:: text\n\n%s\n" % body


def playbook_headers():
    """{playbook file: (header comment text, [play names])} for playbooks/*.yml."""
    found = {}
    folder = os.path.join(ROOT, "playbooks")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".yml"):
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        comment = [line[2:] if line.startswith("# ") else line[1:] for line in lines if line.startswith("#")
                   and not line.startswith("#!")]
        # a play is a "- name:" entry that is not an import_playbook
        plays = [line.split(":", 1)[1].strip() for line, following in zip(lines, lines[1:] + [""])
                 if line.startswith("- name:") and "import_playbook" not in following]
        found[name] = ("\n".join(comment), plays)
    return found


def run_site(workdir):
    emulator = Emulator(os.path.join(workdir, "emulator")).start()
    try:
        collections = os.path.join(workdir, "collections")
        os.makedirs(os.path.join(collections, "ansible_collections", "azcni"))
        os.symlink(ROOT, os.path.join(collections, "ansible_collections", "azcni", "cilium"))
        env = dict(os.environ, **emulator.env)
        env.update({"ANSIBLE_COLLECTIONS_PATH": collections, "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
                    "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_LOCALHOST_WARNING": "false",
                    "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")})
        command = ["ansible-playbook", "playbooks/site.yml", "-i", "playbooks/inventory/hosts.yml",
                   "-e", "azcni_kubeconfig=" + os.path.join(workdir, "kubeconfig")]
        started = time.monotonic()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
        took = time.monotonic() - started
    finally:
        emulator.stop()
    output = (done.stdout + done.stderr).replace(workdir, "<workdir>")
    if done.returncode != 0:
        sys.stderr.write(output)
        raise SystemExit("site.yml failed against the emulator (exit %d): no runbook pages" % done.returncode)
    return " ".join(command[:4]), output, took


def split_plays(output):
    """[(play name, text)] in run order, and the recap text."""
    plays, recap, current = [], [], None
    for line in output.splitlines():
        match = PLAY.match(line)
        if match:
            current = [line]
            plays.append((match.group("name"), current))
        elif RECAP.match(line):
            current = recap
            recap.append(line)
        elif current is not None:
            current.append(line)
    return [(name, "\n".join(lines)) for name, lines in plays], "\n".join(recap)


def ran(text):
    """True when at least one task of the play did something other than skip."""
    return any(RESULT.match(line) and not line.startswith("skipping") for line in text.splitlines())


def write_pages(rst_dir, command, output, took):
    headers = playbook_headers()
    source = {play: name for name, (dummy, plays) in headers.items() for play in plays}
    plays, recap = split_plays(output)
    os.makedirs(os.path.join(rst_dir, "runbook"), exist_ok=True)
    steps, skipped = [], []
    for name, text in plays:
        if not ran(text):
            skipped.append(name)
            continue
        page = "%02d-%s" % (len(steps) + 1, slug(name))
        steps.append(page)
        with open(os.path.join(rst_dir, "runbook", page + ".rst"), "w", encoding="utf-8") as handle:
            handle.write(".. _azcni_cilium_runbook_%s:\n\n" % page.replace("-", "_"))
            handle.write(heading("Step %d: %s" % (len(steps), name), "="))
            handle.write("\nPlay ``%s`` of ``playbooks/%s``, as ``site.yml`` ran it against the local emulator "
                         "when this site was built.\n\n" % (name, source.get(name, "site.yml")))
            handle.write(code_block(text))
    if not steps:
        raise SystemExit("site.yml printed no play that ran")
    with open(os.path.join(rst_dir, "runbook", "index.rst"), "w", encoding="utf-8") as handle:
        handle.write(".. _azcni_cilium_runbook:\n\n")
        handle.write(heading("Runbook, as run", "="))
        handle.write("\nEach page is one step of ``playbooks/site.yml``, with what ``ansible-playbook`` printed "
                     "when it ran against the local AKS emulator while this site was built (%s, %.0f s):\n\n"
                     % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), took))
        handle.write(".. code-block:: console\n\n   $ scripts/main.sh   # runs: %s\n\n" % command)
        if skipped:
            handle.write("Plays skipped in this run (the other IPAM mode): %s.\n\n"
                         % ", ".join("*%s*" % name for name in skipped))
        handle.write(".. toctree::\n   :maxdepth: 1\n\n%s\n\n" % "\n".join("   " + page for page in steps))
        handle.write(heading("Recap", "-") + "\n" + code_block(recap))
    with open(os.path.join(rst_dir, "playbooks.rst"), "w", encoding="utf-8") as handle:
        handle.write(".. _azcni_cilium_playbooks:\n\n" + heading("Playbooks", "=") + "\n")
        handle.write("The collection's playbooks, run as ``ansible-playbook azcni.cilium.<name>`` once the collection "
                     "is installed, or from a checkout as ``ansible-playbook playbooks/<name>.yml``.\n\n")
        for name, (comment, play_names) in headers.items():
            handle.write(heading(name, "-") + "\n")
            if play_names:
                handle.write("Plays: %s.\n\n" % ", ".join("*%s*" % play for play in play_names))
            if comment:
                handle.write(code_block(comment) + "\n")
    return steps


# Labels of the Ansible documentation that antsibull-docs pages refer to. Online, intersphinx resolves
# them; offline they get a page of links to the same documents, and any other unresolved label still
# fails the build.
ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/latest/"
ANSIBLE_LABELS = {
    "common_return_values": ("Return values common to all modules", "reference_appendices/common_return_values.html"),
    "ansible_configuration_settings": ("Ansible configuration settings", "reference_appendices/config.html"),
}


def write_ansible_references(rst_dir):
    defined, used, envvars, defined_envvars = set(), set(), set(), set()
    for folder, dummy, files in os.walk(rst_dir):
        for name in files:
            if name.endswith(".rst"):
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    text = handle.read()
                defined.update(re.findall(r"^\.\. _([^:]+):$", text, re.MULTILINE))
                for ref in re.findall(r":ref:`([^`]+)`", text):
                    used.add(ref[ref.rindex("<") + 1:-1] if ref.endswith(">") and "<" in ref else ref)
                envvars.update(name.replace("\\_", "_") for name in re.findall(r":envvar:`([^`<]+)`", text))
                defined_envvars.update(re.findall(r"^\s*\.\. envvar:: (\S+)$", text, re.MULTILINE))
    missing = sorted(used - defined)
    with open(os.path.join(rst_dir, "ansible_references.rst"), "w", encoding="utf-8") as handle:
        handle.write(":orphan:\n\n" + heading("Ansible documentation", "=") + "\n")
        for label in missing:
            if label in ANSIBLE_LABELS:
                title, page = ANSIBLE_LABELS[label]
                handle.write(".. _%s:\n\n%s\n\n`%s <%s%s>`_\n\n" % (label, heading(title, "-"), title, ANSIBLE_DOCS, page))
        # ansible-core's own settings (e.g. the cache plugin options an inventory plugin documents): the
        # configuration page explains them; any other undefined environment variable still fails the build
        core = sorted(name for name in envvars - defined_envvars if name.startswith("ANSIBLE_"))
        if core:
            handle.write(heading("Ansible configuration variables", "-") + "\n")
        for name in core:
            handle.write(".. envvar:: %s\n\n   See `Ansible configuration settings <%sreference_appendices/config.html>`_.\n\n"
                         % (name, ANSIBLE_DOCS))


def add_to_index(rst_dir):
    path = os.path.join(rst_dir, "index.rst")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    text += ("\n\nRunbook and playbooks\n---------------------\n\n.. toctree::\n   :maxdepth: 1\n\n"
             "   playbooks\n   runbook/index\n")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def main():
    rst_dir = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="azcni-docs-") as workdir:
        command, output, took = run_site(workdir)
    steps = write_pages(rst_dir, command, output, took)
    add_to_index(rst_dir)
    write_ansible_references(rst_dir)
    print("runbook pages: %s (site.yml took %.0f s)" % (", ".join(steps), took))


if __name__ == "__main__":
    main()
