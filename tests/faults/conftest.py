# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault and bad-input suite: the real ansible-playbook against the emulator, under faults and bad input.

Each case asserts the outcome, the writes the emulators logged while its task ran, ``changed``, and that a
re-run converges. Cases are grouped into few playbook runs (one task per case, ``ignore_errors``), because
every ansible-playbook start costs seconds; a task's writes are the logged writes between the end of the
task before it and its own end (tasks of one host run one after the other).

At the end the suite prints its figures: cases run, refused before write, survived, converged.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import uuid

import pytest
import requests
import yaml

from tests.e2e.conftest import BIN, KubeCluster, PlaybookResult, ansible_env, arm_clients, cluster_body
from tests.e2e.conftest import collections_path  # noqa: F401  pylint: disable=unused-import
from tests.emulator.requestlog import writes

pytest_plugins = ["tests.emulator.pytest_plugin"]

FIGURES = {"cases run": 0, "refused before write": 0, "survived": 0, "converged": 0}


def count(*figures):
    """A case reached its end: count what it proved (call after its assertions)."""
    for figure in figures:
        FIGURES[figure] += 1


def pytest_runtest_logreport(report):
    if report.when == "call":
        FIGURES["cases run"] += 1


def pytest_terminal_summary(terminalreporter):
    if FIGURES["cases run"]:
        terminalreporter.write_line("faults suite: " + ", ".join("%s %d" % item for item in FIGURES.items()))


@pytest.fixture(scope="session")
def run_playbook(emulator, collections_path, tmp_path_factory):  # noqa: F811  pylint: disable=redefined-outer-name
    """run(text, env=None, check=False, extra_vars=None) -> PlaybookResult; session-wide, for grouped cases."""
    workdir = tmp_path_factory.mktemp("faults")
    inventory = workdir / "inventory.ini"
    inventory.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    counter = [0]

    def run(text, env=None, check=False, extra_vars=None, timeout=900):
        counter[0] += 1
        playbook, record = workdir / ("playbook-%d.yml" % counter[0]), workdir / ("results-%d.jsonl" % counter[0])
        playbook.write_text(text)
        command = [os.path.join(BIN, "ansible-playbook"), str(playbook), "-i", str(inventory)]
        if check:
            command.append("--check")
        if extra_vars:
            command += ["-e", json.dumps(extra_vars)]
        run_env = ansible_env(emulator, collections_path, dict(env or {}, AZCNI_RECORD_FILE=str(record)))
        done = subprocess.run(command, env=run_env, capture_output=True, text=True, timeout=timeout, cwd=str(workdir),
                              check=False)
        results = [json.loads(line) for line in record.read_text().splitlines() if line.strip()] if record.exists() else []
        return PlaybookResult(done.returncode, done.stdout + done.stderr, results)

    run.workdir = workdir
    return run


def playbook(tasks, module_defaults=None):
    """A localhost playbook; ``tasks`` are (name, module, args[, extra task keys]) and never stop the play."""
    play = {"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": []}
    if module_defaults:
        play["module_defaults"] = module_defaults
    for task in tasks:
        name, module, args = task[:3]
        entry = {"name": name, module: args, "ignore_errors": True}
        entry.update(task[3] if len(task) > 3 else {})
        play["tasks"].append(entry)
    return yaml.safe_dump([play], sort_keys=False)


class Batch:
    """One playbook run of many cases: each case's result and the writes logged while its task ran."""

    def __init__(self, result, started, logs):
        self.result = result
        self.ends = {}
        previous = started
        self.windows = {}
        for entry in result.results:
            self.windows[entry["task"]] = (previous, entry["time"])
            previous = entry["time"]
        self.logs = logs  # [callable() -> request log entries] (ARM, Kubernetes clusters)

    def task(self, name):
        return self.result.task(name)

    def writes(self, name):
        start, end = self.windows[name]
        return [entry for log in self.logs for entry in writes(log()) if start <= entry["time"] <= end]


def run_batch(run_playbook, emulator, tasks, clusters=(), env=None, module_defaults=None, check=False):  # pylint: disable=redefined-outer-name
    started = time.time()
    result = run_playbook(playbook(tasks, module_defaults), env=env, check=check)
    assert {entry["task"] for entry in result.results} >= {task[0] for task in tasks}, result.stdout[-3000:]
    return Batch(result, started, [emulator.requests] + [cluster.requests for cluster in clusters])


def message_of(result):
    """Everything a person reads of a failure: msg, plus the module's own failure list when it has one."""
    return json.dumps({key: result.get(key) for key in ("msg", "failures", "errors", "exception") if key in result})


class Cluster(KubeCluster):
    """An emulated cluster made through ARM for a whole test module (KubeCluster is per test in e2e)."""

    def requests(self):
        return self._emulator("GET", "requests")


@pytest.fixture(scope="module")
def cluster(emulator, tmp_path_factory):
    clusters, resources = arm_clients(emulator)
    group = "faults-k8s"
    resources.resource_groups.create_or_update(group, {"location": "westeurope"})
    name = "faults-" + uuid.uuid4().hex[:8]
    clusters.managed_clusters.begin_create_or_update(group, name, cluster_body(3)).result()
    value = clusters.managed_clusters.list_cluster_admin_credentials(group, name).kubeconfigs[0].value
    text = value.decode("utf-8") if isinstance(value, bytes) else base64.b64decode(value).decode("utf-8")
    home = tmp_path_factory.mktemp("home-" + name)
    path = home / "kubeconfig"
    path.write_text(text)
    os.chmod(str(path), 0o600)
    yield Cluster(name, group, str(path), emulator.ca_path, str(home))
    clusters.managed_clusters.begin_delete(group, name)


def k8s_get(cluster_, path):  # pylint: disable=redefined-outer-name
    """GET a Kubernetes API path with the cluster's admin token (for asserting what is stored)."""
    with open(cluster_.kubeconfig_path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    token = config["users"][0]["user"]["token"]
    return requests.get(cluster_.server_url + path, headers={"Authorization": "Bearer " + token}, verify=cluster_.ca_path,
                        timeout=30)
