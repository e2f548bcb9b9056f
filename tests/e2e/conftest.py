# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End-to-end fixtures: the real ``ansible-playbook`` and ``kubectl`` against the local emulator.

``ansible`` runs a playbook with the emulator's environment (exactly what ``env.sh`` exports, as a
user's shell would have) and the collection staged as ``azcni.cilium``; results come back through
the test-only ``azcni_record`` callback. ``kube_cluster`` creates an emulated AKS Cilium cluster
straight through ARM and hands back its admin kubeconfig.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid

import pytest
import requests
import yaml

from tests.e2e.arm import Arm, ArmError
from tests.kubectl import kubectl_path

pytest_plugins = ["tests.emulator.pytest_plugin"]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CALLBACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")
BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory):
    """A directory whose ansible_collections/azcni/cilium is this checkout."""
    parts = REPO.split(os.sep)
    if parts[-3:-1] == ["ansible_collections", "azcni"] and parts[-1] == "cilium":
        return os.sep.join(parts[:-3])
    root = tmp_path_factory.mktemp("collections")
    target = root / "ansible_collections" / "azcni"
    target.mkdir(parents=True)
    os.symlink(REPO, str(target / "cilium"))
    return str(root)


def task(name, module, args, **keywords):
    """One task of ``playbook``: ``module`` is a short azcni.cilium name, ``keywords`` are task keywords
    (register, check_mode, ignore_errors...)."""
    return dict(keywords, name=name, module=module, args=args)


def playbook(*tasks, hosts="localhost"):
    """The text of a one-play playbook (local connection, no facts) running ``tasks`` in order."""
    lines = ["- hosts: %s" % hosts, "  connection: local", "  gather_facts: false", "  tasks:"]
    for item in tasks:
        lines.append("    - name: %s" % json.dumps(item["name"]))
        lines.append("      azcni.cilium.%s: %s" % (item["module"], json.dumps(item["args"])))
        lines.extend("      %s: %s" % (key, json.dumps(value)) for key, value in item.items()
                     if key not in ("name", "module", "args"))
    return "\n".join(lines) + "\n"


class PlaybookResult(object):
    """What one ansible-playbook run did, task by task."""

    def __init__(self, rc, stdout, results):
        self.rc = rc
        self.stdout = stdout
        self.results = results

    def task(self, name):
        """The result dict of the last task named ``name``."""
        for entry in reversed(self.results):
            if entry["task"] == name:
                return entry["result"]
        raise KeyError("no task named %r ran; tasks: %s" % (name, [e["task"] for e in self.results]))

    def status(self, name):
        for entry in reversed(self.results):
            if entry["task"] == name:
                return entry["status"]
        raise KeyError(name)

    @property
    def changed_tasks(self):
        return [e["task"] for e in self.results if e["status"] == "changed"]

    @property
    def failed_tasks(self):
        return [e["task"] for e in self.results if e["status"] == "failed"]

    def __repr__(self):
        return "PlaybookResult(rc=%s, tasks=%s)" % (self.rc, [(e["task"], e["status"]) for e in self.results])


def ansible_env(emulator, collections_path, extra=None):
    env = dict(os.environ)
    env.update(emulator.env)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": collections_path,
        "ANSIBLE_CALLBACK_PLUGINS": CALLBACKS,
        "ANSIBLE_CALLBACKS_ENABLED": "azcni_record",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "PATH": BIN + os.pathsep + env.get("PATH", ""),
    })
    env.update(extra or {})
    return env


@pytest.fixture
def ansible(emulator, collections_path, tmp_path):
    """Run a playbook (a path, or YAML text) with ansible-playbook; returns a PlaybookResult."""
    counter = [0]

    def run(playbook, extra_vars=None, check=False, diff=False, env=None, inventory=None, timeout=600):
        counter[0] += 1
        if "\n" in playbook or not os.path.exists(playbook):
            path = tmp_path / ("playbook-%d.yml" % counter[0])
            path.write_text(playbook)
            playbook = str(path)
        record = tmp_path / ("results-%d.jsonl" % counter[0])
        if inventory is None:
            inventory = str(tmp_path / "inventory.ini")
            with open(inventory, "w", encoding="utf-8") as handle:
                handle.write("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
        command = [os.path.join(BIN, "ansible-playbook"), playbook, "-i", inventory]
        if extra_vars:
            command += ["-e", json.dumps(extra_vars)]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        run_env = ansible_env(emulator, collections_path, dict(env or {}, AZCNI_RECORD_FILE=str(record)))
        done = subprocess.run(command, env=run_env, capture_output=True, text=True, timeout=timeout, cwd=str(tmp_path),
                              check=False)
        results = []
        if record.exists():
            results = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
        return PlaybookResult(done.returncode, done.stdout + done.stderr, results)

    return run


class KubeCluster(object):
    """An emulated AKS cluster's Kubernetes side, as a test sees it."""

    def __init__(self, name, resource_group, kubeconfig_path, ca_path, home):
        self.name = name
        self.resource_group = resource_group
        self.kubeconfig_path = kubeconfig_path
        self.ca_path = ca_path
        self.home = home
        with open(kubeconfig_path, encoding="utf-8") as handle:
            self.server_url = yaml.safe_load(handle)["clusters"][0]["cluster"]["server"]

    def _emulator(self, method, what, body=None):
        response = requests.request(method, self.server_url + "/_emulator/" + what, json=body, verify=self.ca_path,
                                    timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None

    def requests(self):
        return self._emulator("GET", "requests")

    def clear_requests(self):
        self._emulator("DELETE", "requests")

    def add_fault(self, **rule):
        self._emulator("POST", "faults", rule)

    def clear_faults(self):
        self._emulator("DELETE", "faults")

    def control(self, what, **body):
        """POST /_emulator/<what> (nodes, stall, settings)."""
        return self._emulator("POST", what, body)

    def kubectl(self, *args, check=True, timeout=120):
        """Run the real kubectl against this cluster."""
        env = dict(os.environ, HOME=self.home, KUBECONFIG=self.kubeconfig_path, KUBECACHEDIR=os.path.join(self.home, "cache"))
        return subprocess.run([kubectl_path(), "--request-timeout=60s"] + list(args), env=env, capture_output=True, text=True,
                              timeout=timeout, check=check)


def arm_clients(emulator):
    """The real SDK clients, authenticated against the emulator exactly as a user's script would be.

    For tests/faults (run on the newest releases only); the e2e suite uses ``tests.e2e.arm.Arm``, which does
    not depend on which SDK release is installed (the suite also runs beside azure.azcollection's pins)."""
    from azure.identity import ClientSecretCredential
    from azure.mgmt.containerservice import ContainerServiceClient
    from azure.mgmt.resource.resources import ResourceManagementClient

    env = emulator.env
    metadata = requests.get(env["AZURE_CLOUD_ENVIRONMENT"], verify=emulator.ca_path, timeout=30).json()
    credential = ClientSecretCredential(env["AZURE_TENANT"], env["AZURE_CLIENT_ID"], env["AZURE_SECRET"],
                                        authority=metadata["authentication"]["loginEndpoint"],
                                        disable_instance_discovery=True, connection_verify=emulator.ca_path)
    options = dict(base_url=metadata["resourceManager"], connection_verify=emulator.ca_path,
                   credential_scopes=[metadata["authentication"]["audiences"][0].rstrip("/") + "/.default"])
    subscription = env["AZURE_SUBSCRIPTION_ID"]
    clusters = ContainerServiceClient(credential, subscription, polling_interval=1, **options)
    for group in (clusters.managed_clusters, clusters.agent_pools):
        group.begin_create_or_update = _as_raw_json(group.begin_create_or_update)
    return clusters, ResourceManagementClient(credential, subscription, **options)


def _as_raw_json(operation):
    """``operation`` with a dict body sent as the JSON it is (models drop the fields they do not know)."""
    def send(*args, **kwargs):
        args = list(args)
        if args and isinstance(args[-1], dict):
            args[-1] = io.BytesIO(json.dumps(args[-1]).encode("utf-8"))
            kwargs.setdefault("content_type", "application/json")
        return operation(*args, **kwargs)
    return send


def cluster_body(node_count=3, acns_security=False, acns_observability=False, location="westeurope"):
    """An overlay + Cilium managed cluster, as the product's create would send it."""
    body = {
        "location": location,
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "dnsPrefix": "e2e",
            "agentPoolProfiles": [{"name": "system", "mode": "System", "count": node_count, "vmSize": "Standard_D4ds_v5",
                                   "osType": "Linux", "maxPods": 250}],
            "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium",
                               "networkPolicy": "cilium", "podCidr": "192.168.0.0/16"},
        },
    }
    if acns_security or acns_observability:
        body["properties"]["networkProfile"]["advancedNetworking"] = {
            "enabled": True, "observability": {"enabled": acns_observability}, "security": {"enabled": acns_security}}
    return body


@pytest.fixture
def arm(emulator):
    """The emulator's ARM on raw JSON at pinned API versions (tests.e2e.arm.Arm): plain dicts back."""
    return Arm(emulator)


def write_kubeconfig(home, text):
    """``text`` as ``home``/kubeconfig (mode 0600, as az aks get-credentials leaves it); its path."""
    os.makedirs(str(home), exist_ok=True)
    path = os.path.join(str(home), "kubeconfig")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
    return path


@pytest.fixture
def make_kube_cluster(emulator, arm, tmp_path):
    """Factory: create an emulated cluster through ARM; returns a KubeCluster. Deleted afterwards."""
    created = []

    def make(node_count=3, acns_security=False, acns_observability=False, resource_group="e2e-k8s"):
        arm.create_group(resource_group)
        name = "aks-" + uuid.uuid4().hex[:8]
        arm.create_cluster(resource_group, name, cluster_body(node_count, acns_security, acns_observability))
        created.append((resource_group, name))
        home = tmp_path / ("home-" + name)
        path = write_kubeconfig(home, arm.kubeconfig(resource_group, name))
        return KubeCluster(name, resource_group, path, emulator.ca_path, str(home))

    yield make
    for resource_group, name in created:
        try:
            arm.delete_cluster(resource_group, name, wait=False)
        except ArmError:
            pass  # a test may have deleted it already


@pytest.fixture
def kube_cluster(make_kube_cluster):
    """A fresh 3-node overlay + Cilium cluster."""
    return make_kube_cluster()
