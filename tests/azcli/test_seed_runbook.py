"""Gate `azcli`: every `az` and `kubectl` line of the seed runbook, run unchanged (but for `<subscription>`)
with the real Azure CLI against the lab, prints what the runbook shows.

The CLI comes from its own virtualenv (AZCNI_AZ, set by scripts/test.sh; else `az` on PATH). It is set up
with the README's lines ("Use the Azure CLI against the lab"): a custom cloud registered from the lab's
metadata, instance discovery off, a service-principal login. HOME and AZURE_CONFIG_DIR are temporary (the
CLI writes ~/.azure, ~/.ssh and ~/.kube there) and a dead proxy catches any request that is not for loopback.
"""

import os
import re
import shutil
import subprocess
import time

import pytest

from tests.emulator.arm import roles

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RUNBOOK = os.path.join(HERE, "seed-runbook.md")
README = os.path.join(REPO, "README.md")
README_SECTION = "## Use the Azure CLI against the lab"
TIMEOUT = 180  # seconds for any one command


# ---- the documents ------------------------------------------------------------------------
def console_steps(text):
    """[(command, [expected lines])] from the ```console blocks of a markdown text (one command per `$` line)."""
    steps, inside = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```console" and not inside
        elif inside and line.startswith("$ "):
            steps.append((line[2:].strip(), []))
        elif inside and steps and line.strip():
            steps[-1][1].append(line.strip())
    return steps


def readme_section(text):
    start = text.index(README_SECTION)
    end = text.find("\n## ", start + len(README_SECTION))
    return text[start:end if end > 0 else len(text)]


def expected_pattern(line):
    """`...` is anything, a run of spaces is any whitespace, the rest is literal; searched within a line."""
    parts = [r"\s+".join(re.escape(word) for word in piece.split()) for piece in line.split("...")]
    return re.compile(".*".join(parts))


def check_output(command, output, expected):
    lines, position = output.splitlines(), 0
    for want in expected:
        pattern = expected_pattern(want)
        while position < len(lines) and not pattern.search(lines[position]):
            position += 1
        assert position < len(lines), "%s\nexpected a line like %r (after the ones before it) in:\n%s" % (
            command, want, output)
        position += 1


# ---- running the CLI --------------------------------------------------------------------------
def az_binary():
    path = os.environ.get("AZCNI_AZ") or shutil.which("az")
    assert path and os.access(path, os.X_OK), "the Azure CLI is needed: set AZCNI_AZ (scripts/test.sh azcli does)"
    return path


@pytest.fixture(scope="module")
def cli(emulator, tmp_path_factory):
    home = tmp_path_factory.mktemp("az-home")
    bin_dir = tmp_path_factory.mktemp("az-bin")
    os.symlink(az_binary(), os.path.join(str(bin_dir), "az"))
    env = {"PATH": "%s:%s" % (bin_dir, os.environ.get("PATH", "")), "HOME": str(home),
           "AZURE_CONFIG_DIR": str(home / ".azure"), "AZURE_CORE_COLLECT_TELEMETRY": "false",
           "AZURE_CORE_SURVEY_MESSAGE": "false", "AZURE_CORE_NO_COLOR": "true",
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost",
           "LANG": "C.UTF-8"}
    env.update(emulator.env)
    timings = []

    def run(command, expected=()):
        command = command.replace("<subscription>", emulator.env["AZURE_SUBSCRIPTION_ID"])
        started = time.monotonic()
        result = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=TIMEOUT,
                                check=False)
        timings.append((time.monotonic() - started, command))
        output = result.stdout + result.stderr
        assert result.returncode == 0, "%s\nexit %d:\n%s" % (command, result.returncode, output)
        check_output(command, output, expected)
        return result.stdout

    run.timings = timings
    run.emulator = emulator
    return run


def test_readme_section_holds_the_runbook_commands():
    with open(RUNBOOK, encoding="utf-8") as handle:
        runbook = [step[0] for step in console_steps(handle.read())]
    with open(README, encoding="utf-8") as handle:
        section = readme_section(handle.read())
    shown = [line[2:].strip() for line in section.splitlines() if line.startswith("$ ")]
    assert runbook and all(command in shown for command in runbook), sorted(set(runbook) - set(shown))


def test_seed_runbook_runs_unchanged_against_the_lab(cli):
    with open(README, encoding="utf-8") as handle:
        setup = console_steps(readme_section(handle.read()))
    with open(RUNBOOK, encoding="utf-8") as handle:
        steps = console_steps(handle.read())
    seed = {step[0] for step in steps}
    for command, expected in setup:  # the README's set-up lines, then the seed's
        if command not in seed:
            cli(command, expected)
    for command, expected in steps:
        cli(command, expected)
    assert sum(1 for step in steps if step[0].startswith("az ")) >= 15
    for seconds, command in sorted(cli.timings, reverse=True)[:5]:
        print("%6.1fs  %s" % (seconds, command[:100]))
    print("%d commands, %.1fs" % (len(cli.timings), sum(timing[0] for timing in cli.timings)))


def test_az_aks_create_left_network_contributor_on_the_node_subnet(cli):
    """What az does around a custom VNet: the cluster identity gets Network Contributor on the node subnet."""
    sub = cli.emulator.env["AZURE_SUBSCRIPTION_ID"]
    subnet = ("/subscriptions/%s/resourceGroups/rg-aks-cilium-vnet/providers/Microsoft.Network/virtualNetworks/"
              "vnet-aks-cilium/subnets/" % sub)
    principal = cli("az aks show --name aks-cilium-vnet --resource-group rg-aks-cilium-vnet --query identity.principalId "
                    "-o tsv").strip()
    listed = cli("az role assignment list --scope %snodesubnet --fill-principal-name false "
                 "--query \"[].[roleDefinitionName, principalId, scope]\" -o tsv" % subnet)
    assert listed.splitlines() == ["Network Contributor\t%s\t%snodesubnet" % (principal, subnet)]
    # az itself grants the node subnet only (acs/managed_cluster_decorator.py, vnet_subnet_id)
    assert cli("az role assignment list --scope %spodsubnet --fill-principal-name false --query \"length([])\""
               % subnet).strip() == "0"
    writes = [e for e in cli.emulator.requests() if e["method"] == "PUT" and "roleAssignments" in e["path"]]
    assert [w["body"]["properties"]["roleDefinitionId"].rsplit("/", 1)[1] for w in writes] == [roles.NETWORK_CONTRIBUTOR]


def test_get_versions_upgrades_and_pool_defaults(cli):
    versions = cli("az aks get-versions --location westeurope -o table")
    assert re.search(r"^1\.33\.2\s+1\.34\.0, 1\.34\.1\s+KubernetesOfficial$", versions, re.MULTILINE), versions
    upgrades = cli("az aks get-upgrades --name aks-cilium --resource-group rg-aks-cilium -o table")
    assert re.search(r"default\s+rg-aks-cilium\s+1\.33\.2\s+1\.34\.0, 1\.34\.1", upgrades), upgrades
    pools = cli("az aks nodepool list --cluster-name aks-cilium --resource-group rg-aks-cilium "
                "--query \"[].[name, vmSize, count, maxPods, osDiskSizeGb]\" -o tsv")
    assert pools.split() == ["nodepool1", "Standard_DS2_v2", "3", "250", "128"]


def test_expectations_fail_on_missing_or_reordered_lines():
    output = 'NAME   READY\ncilium-x7k2q   1/1   Running   0   5s\n"cilium"\n'
    check_output("c", output, ["NAME ... READY", "cilium-... 1/1 ... Running", '"cilium"'])
    for wrong in (['"azure"'], ['"cilium"', "NAME"], ["cilium-... 0/1"]):
        with pytest.raises(AssertionError):
            check_output("c", output, wrong)
