"""`python -m tests.emulator serve`: ready line, env.sh good enough for the SDKs, clean stop, resume from state."""

import os
import re
import signal
import subprocess
import sys
import textwrap


REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))

SDK_SCRIPT = textwrap.dedent("""
    import os, sys, requests
    from azure.identity import ClientSecretCredential
    from azure.mgmt.resource.resources import ResourceManagementClient
    cloud = requests.get(os.environ["AZURE_CLOUD_ENVIRONMENT"], timeout=10).json()
    credential = ClientSecretCredential(os.environ["AZURE_TENANT"], os.environ["AZURE_CLIENT_ID"], os.environ["AZURE_SECRET"],
                                        authority=cloud["authentication"]["loginEndpoint"], disable_instance_discovery=True)
    scope = cloud["authentication"]["audiences"][0].rstrip("/") + "/.default"
    client = ResourceManagementClient(credential, os.environ["AZURE_SUBSCRIPTION_ID"], base_url=cloud["resourceManager"],
                                      credential_scopes=[scope])
    if sys.argv[1] == "create":
        client.resource_groups.create_or_update("from-cli", {"location": "westeurope"})
    print(sorted(g.name for g in client.resource_groups.list()))
""")


def serve(workdir, *extra):
    process = subprocess.Popen([sys.executable, "-m", "tests.emulator", "serve", "--port", "0", "--workdir", workdir,
                                *extra], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    assert re.fullmatch(r"ready https://127\.0\.0\.1:\d+\n", line), (line, process.stderr.read() if process.poll() else "")
    return process, line.split()[1]


def stop(process):
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    assert process.stdout.read() == ""  # exactly one line on stdout


def run_sdk(workdir, action):
    """Source env.sh in a clean shell and use only what it exports."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    command = ". %s && %s -c %s %s" % (os.path.join(workdir, "env.sh"), sys.executable, _quote(SDK_SCRIPT), action)
    result = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def test_serve_prints_ready_and_env_sh_drives_the_sdk(tmp_path):
    workdir = str(tmp_path / "emu")
    process, url = serve(workdir, "--no-kubernetes")
    try:
        with open(os.path.join(workdir, "env.sh"), encoding="utf-8") as handle:
            env_sh = handle.read()
        for name in ("AZURE_CLIENT_ID", "AZURE_SECRET", "AZURE_TENANT", "AZURE_SUBSCRIPTION_ID", "REQUESTS_CA_BUNDLE"):
            assert "export %s=" % name in env_sh
        assert "export AZURE_CLOUD_ENVIRONMENT=%s/metadata/endpoints?api-version=2022-09-01" % url in env_sh.replace("'", "")
        assert os.path.exists(os.path.join(workdir, "ca.pem"))
        assert run_sdk(workdir, "create") == "['from-cli']"
    finally:
        stop(process)


def test_state_file_survives_a_restart(tmp_path):
    workdir, state = str(tmp_path / "emu"), str(tmp_path / "state.json")
    process = serve(workdir, "--no-kubernetes", "--state-file", state)[0]
    try:
        run_sdk(workdir, "create")
    finally:
        stop(process)
    assert os.path.exists(state)
    process = serve(workdir, "--no-kubernetes", "--state-file", state)[0]
    try:
        assert run_sdk(workdir, "list") == "['from-cli']"
    finally:
        stop(process)
