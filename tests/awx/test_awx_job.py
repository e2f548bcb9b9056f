# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Job templates as AWX runs them: ansible-runner on a private data directory, against the emulator.

AWX's project update installs ``collections/requirements.yml`` from the project root; its job run
hands ansible-runner a private data directory with the project, the inventory, ``env/extravars`` and
the credentials' variables in ``env/envvars`` (injected, never in the runner's own environment), and
reads the job events from ``artifacts/<ident>/job_events``. The credentials here are the built-in
Microsoft Azure Resource Manager one (AWX's injector: AZURE_SUBSCRIPTION_ID, AZURE_CLIENT_ID,
AZURE_SECRET, AZURE_TENANT, AZURE_CLOUD_ENVIRONMENT) and the two custom credential types of
``examples/awx/``, rendered the way AWX renders injectors (file templates written to the private data
dir, ``tower.filename.<name>`` pointing at them). The emulator's CA is private, so every job also proves
the private-CA credential type works.
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import uuid

import jinja2.sandbox
import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
# what the job must never show, whatever it prints
PRIVATE_KEY_MARKER = "PRIVATE KEY"


def _checkout(project):
    """The project as AWX checks it out: the files git tracks (and new, not ignored ones)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                            check=True).stdout.decode("utf-8").split("\0")
    for name in filter(None, listed):
        source = os.path.join(REPO, name)
        if os.path.isfile(source):
            target = os.path.join(project, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(source, target)


def _inject(credential_type, inputs, private_data_dir):
    """Env vars of a custom credential type, rendered as AWX does (files under the private data dir)."""
    with open(os.path.join(REPO, "examples", "awx", credential_type), encoding="utf-8") as handle:
        definition = yaml.safe_load(handle)
    environment = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.ChainableUndefined)
    filenames = {}
    for key, template in definition["injectors"].get("file", {}).items():
        path = os.path.join(private_data_dir, "env", "tmp" + uuid.uuid4().hex[:8])
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as handle:
            handle.write(environment.from_string(template).render(**inputs))
        filenames[key.split(".", 1)[1]] = path
    context = dict(inputs, tower={"filename": filenames})
    declared = {field["id"] for field in definition["inputs"]["fields"]}
    assert set(inputs) <= declared, "inputs %s are not fields of %s" % (set(inputs) - declared, credential_type)
    return {name: environment.from_string(value).render(**context) for name, value in definition["injectors"]["env"].items()}


def _azure_rm(emulator):
    """AWX's built-in Azure credential injector, for a service principal with a secret."""
    env = emulator.env
    return {"AZURE_SUBSCRIPTION_ID": env["AZURE_SUBSCRIPTION_ID"], "AZURE_CLIENT_ID": env["AZURE_CLIENT_ID"],
            "AZURE_SECRET": env["AZURE_SECRET"], "AZURE_TENANT": env["AZURE_TENANT"],
            "AZURE_CLOUD_ENVIRONMENT": env["AZURE_CLOUD_ENVIRONMENT"]}


def _private_ca(emulator, private_data_dir):
    with open(emulator.ca_path, encoding="ascii") as handle:
        return _inject("credential-type-private-ca.yml", {"ca_bundle": handle.read()}, private_data_dir)


@pytest.fixture(scope="module")
def project_update(tmp_path_factory):
    """The project checkout and the collections its update installed (shared by the jobs)."""
    root = tmp_path_factory.mktemp("awx-project")
    project = str(root / "project")
    _checkout(project)
    collections = str(root / "requirements_collections")
    done = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "-r",
                           os.path.join(project, "collections", "requirements.yml"), "--collections-path", collections],
                          cwd=project, capture_output=True, text=True, timeout=300, check=False,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections))
    assert done.returncode == 0, done.stdout + done.stderr
    assert os.path.isfile(os.path.join(collections, "ansible_collections", "azcni", "cilium", "MANIFEST.json"))
    return project, collections


class Job(object):
    def __init__(self, private_data_dir, rc, output):
        self.private_data_dir = private_data_dir
        self.rc = rc
        self.output = output

    def events(self):
        paths = glob.glob(os.path.join(self.private_data_dir, "artifacts", "*", "job_events", "*.json"))
        assert paths, "ansible-runner wrote no job events"
        return [(path, open(path, encoding="utf-8").read()) for path in sorted(paths)]

    def event_data(self):
        return [json.loads(text) for dummy, text in self.events()]

    def assert_nothing_leaks(self, *secrets):
        texts = self.events() + [("stdout", self.output)]
        texts += [(path, open(path, encoding="utf-8").read())
                  for path in glob.glob(os.path.join(self.private_data_dir, "artifacts", "*", "stdout"))]
        for secret in secrets:
            assert secret
            leaked = [path for path, text in texts if secret in text]
            assert not leaked, "a secret appears in %s" % leaked


@pytest.fixture
def run_job(project_update, tmp_path):
    """Run a playbook of the project as an AWX job: ansible-runner on a fresh private data dir."""
    project, collections = project_update

    def run(playbook, credentials, extravars, verbosity=0):
        private_data_dir = tmp_path / ("job-" + uuid.uuid4().hex[:8])
        (private_data_dir / "env").mkdir(parents=True)
        os.symlink(project, str(private_data_dir / "project"))
        shutil.copytree(os.path.join(project, "playbooks", "inventory"), str(private_data_dir / "inventory"))
        envvars = {"ANSIBLE_COLLECTIONS_PATH": collections, "ANSIBLE_FORCE_COLOR": "False",
                   "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_LOCALHOST_WARNING": "False"}
        for inject in credentials:
            envvars.update(inject(str(private_data_dir)))
        (private_data_dir / "env" / "envvars").write_text(yaml.safe_dump(envvars))
        (private_data_dir / "env" / "extravars").write_text(yaml.safe_dump(extravars))
        (private_data_dir / "env" / "settings").write_text(yaml.safe_dump({"job_timeout": 900, "idle_timeout": 600}))
        if verbosity:
            (private_data_dir / "env" / "cmdline").write_text("-" + "v" * verbosity)
        # the runner's own environment carries no credential: only env/envvars does
        clean = {name: value for name, value in os.environ.items()
                 if not name.startswith(("AZURE_", "K8S_AUTH_", "REQUESTS_CA_BUNDLE", "ANSIBLE_"))}
        clean["PATH"] = BIN + os.pathsep + clean.get("PATH", "")
        done = subprocess.run([os.path.join(BIN, "ansible-runner"), "run", str(private_data_dir), "-p", playbook,
                               "--ident", "job"], env=clean, capture_output=True, text=True, timeout=1200, check=False)
        return Job(str(private_data_dir), done.returncode, done.stdout + done.stderr)

    return run


def test_site_yml_as_an_awx_job_with_the_azure_credential(emulator, run_job, tmp_path):
    kubeconfig = str(tmp_path / "kubeconfig")
    job = run_job("playbooks/site.yml", [lambda _: _azure_rm(emulator), lambda pdd: _private_ca(emulator, pdd)],
                  {"azcni_kubeconfig": kubeconfig, "azcni_cluster_name": "awx-cilium", "azcni_resource_group": "rg-awx"})
    assert job.rc == 0, job.output[-4000:]
    events = job.event_data()
    tasks = {event["event_data"].get("task") for event in events if event["event"] == "runner_on_ok"}
    assert "Read the network profile (az aks show --query networkProfile)" in tasks
    assert not [event for event in events if event["event"] == "runner_on_failed"]
    stats = [event for event in events if event["event"] == "playbook_on_stats"][-1]["event_data"]
    assert stats["failures"] == {} and stats["ok"].get("localhost", 0) > 10
    job.assert_nothing_leaks(emulator.env["AZURE_SECRET"])
    with pytest.raises(AssertionError, match="appears in"):  # the scan does find what the events hold
        job.assert_nothing_leaks(emulator.env["AZURE_SUBSCRIPTION_ID"])
    with open(kubeconfig, encoding="utf-8") as handle:
        token = yaml.safe_load(handle)["users"][0]["user"].get("token")
    if token:
        job.assert_nothing_leaks(token)


INFO_PLAYBOOK = """---
- name: Read-only Azure job
  hosts: localhost
  gather_facts: false
  tasks:
    - name: List the clusters
      azcni.cilium.aks_cilium_cluster_info: {}
"""


def test_certificate_credential_type_job_at_vvv(emulator, run_job, project_update):
    """The custom certificate credential type, with an encrypted key, at -vvv: nothing secret shows."""
    with open(emulator.auth_files["client-cert-encrypted.pem"], encoding="ascii") as handle:
        pem = handle.read()
    inputs = {"subscription_id": emulator.env["AZURE_SUBSCRIPTION_ID"], "client_id": emulator.env["AZURE_CLIENT_ID"],
              "tenant": emulator.env["AZURE_TENANT"], "certificate": pem,
              "certificate_password": emulator.certificate_password,
              "cloud_environment": emulator.env["AZURE_CLOUD_ENVIRONMENT"]}
    project = project_update[0]
    with open(os.path.join(project, "awx_cluster_info.yml"), "w", encoding="utf-8") as handle:
        handle.write(INFO_PLAYBOOK)
    job = run_job("awx_cluster_info.yml",
                  [lambda pdd: _inject("credential-type-azure-certificate.yml", inputs, pdd),
                   lambda pdd: _private_ca(emulator, pdd)], {}, verbosity=3)
    assert job.rc == 0, job.output[-4000:]
    assert [event for event in job.event_data() if event["event"] == "runner_on_ok"
            and event["event_data"].get("task") == "List the clusters"]
    job.assert_nothing_leaks(emulator.certificate_password, PRIVATE_KEY_MARKER, pem.splitlines()[1])
