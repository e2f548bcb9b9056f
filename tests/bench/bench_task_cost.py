# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a test): what one no-change task of each module costs, beside ansible.builtin.ping.

Starts the emulator, builds a cluster once (network, cluster, kubeconfig, one policy), then for every
module runs a playbook of 1 task and one of ``--tasks`` identical no-change tasks, each ``--runs``
times, interleaved with the same two playbooks of ``ansible.builtin.ping``. The cost of a task is
(median time of the long playbook - median time of the short one) / (tasks - 1), so Ansible's start-up
is subtracted. For each module it prints that cost, its ratio to ping's, and the requests one task
sends (authentication round trips apart), from the emulator's request log.

Run from the repository root:  python tests/bench/bench_task_cost.py [--tasks 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from tests.bench.bench_create_playbook import collections_path, request_kind, start_emulator, table  # noqa: E402
from tests.emulator.requestlog import is_write  # noqa: E402  pylint: disable=wrong-import-position

import requests  # noqa: E402

BIN = os.path.dirname(sys.executable)
RG, CLUSTER = "rg-cost", "aks-cost"
POLICY = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
          "metadata": {"name": "bench-allow-dns", "namespace": "default"},
          "spec": {"endpointSelector": {}, "egress": [{"toEndpoints": [{"matchLabels": {"k8s-app": "kube-dns"}}]}]}}


def module_tasks(kubeconfig):
    """(label, module, args) of one no-change task per module."""
    network = dict(resource_group=RG, location="westeurope", vnet_name="vnet", address_prefixes=["10.10.0.0/16"],
                   subnets=[dict(name="nodes", address_prefix="10.10.0.0/22"), dict(name="pods", address_prefix="10.10.8.0/21")])
    k8s = dict(kubeconfig=kubeconfig)
    return [
        ("ping", "ansible.builtin.ping", {}),
        ("aks_network", "azcni.cilium.aks_network", network),
        ("aks_cilium_cluster", "azcni.cilium.aks_cilium_cluster", dict(name=CLUSTER, resource_group=RG)),
        ("aks_cilium_cluster_info", "azcni.cilium.aks_cilium_cluster_info",
         dict(name=CLUSTER, resource_group=RG, query="networkProfile.networkDataplane")),
        ("aks_kubeconfig", "azcni.cilium.aks_kubeconfig", dict(name=CLUSTER, resource_group=RG, path=kubeconfig,
                                                               overwrite_existing=True)),
        ("cilium_status", "azcni.cilium.cilium_status", k8s),
        ("cilium_policy", "azcni.cilium.cilium_policy", dict(k8s, definition=POLICY)),
    ]


def playbook_text(module, args, count):
    tasks = "".join("    - name: task %d\n      %s: %s\n" % (i, module, json.dumps(args)) for i in range(count))
    return "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n" + tasks


class Bench(object):

    def __init__(self, workdir):
        self.workdir = workdir
        self.process, self.url, env = start_emulator(os.path.join(workdir, "emulator"))
        self.ca = env["REQUESTS_CA_BUNDLE"]
        self.env = dict(os.environ, **env)
        self.env.update(ANSIBLE_COLLECTIONS_PATH=collections_path(workdir), ANSIBLE_LOCALHOST_WARNING="false",
                        PATH=BIN + os.pathsep + os.environ.get("PATH", ""))

    def requests_log(self, method="GET"):
        """What ARM and the cluster's API server were sent since the last DELETE."""
        entries = []
        for base in (self.url, self.kube_url):
            response = requests.request(method, base + "/_emulator/requests", verify=self.ca, timeout=30)
            response.raise_for_status()
            entries.extend(response.json() if method == "GET" else [])
        return entries

    def play(self, text, name):
        path = os.path.join(self.workdir, name + ".yml")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        started = time.monotonic()
        done = subprocess.run([os.path.join(BIN, "ansible-playbook"), path], env=self.env, capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            raise SystemExit("ansible-playbook %s failed:\n%s%s" % (name, done.stdout[-4000:], done.stderr[-2000:]))
        return time.monotonic() - started, done.stdout

    def setup(self, kubeconfig):
        tasks = [task for task in module_tasks(kubeconfig) if task[0] != "ping"]
        network, cluster = tasks[0], tasks[1]
        cluster = (cluster[0], cluster[1], dict(cluster[2], location="westeurope", ipam_mode="overlay"))
        text = "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n" + "".join(
            "    - name: setup %s\n      %s: %s\n" % (label, module, json.dumps(args))
            for label, module, args in [network, cluster] + tasks[3:])
        self.play(text, "setup")
        import yaml  # the kubeconfig aks_kubeconfig wrote names the cluster's API server

        with open(kubeconfig, encoding="utf-8") as handle:
            self.kube_url = yaml.safe_load(handle)["clusters"][0]["cluster"]["server"]

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def measure(bench, label, module, args, count, runs):
    short, long_, per_task = [], [], None
    for run in range(runs):
        short.append(bench.play(playbook_text(module, args, 1), "%s-1-%d" % (label, run))[0])
        bench.requests_log("DELETE")
        long_.append(bench.play(playbook_text(module, args, count), "%s-%d-%d" % (label, count, run))[0])
        per_task = bench.requests_log()
    cost = (statistics.median(long_) - statistics.median(short)) / (count - 1)
    auth = [e for e in per_task if request_kind(e) in ("POST token", "GET metadata/discovery")]
    writes = [e for e in per_task if is_write(e) and e not in auth]
    return cost, len(auth) / count, (len(per_task) - len(auth)) / count, len(writes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="azcni-cost-") as workdir:
        bench = Bench(workdir)
        kubeconfig = os.path.join(workdir, "kubeconfig")
        try:
            bench.setup(kubeconfig)
            results = [(label,) + measure(bench, label, module, task_args, args.tasks, args.runs)
                       for label, module, task_args in module_tasks(kubeconfig)]
        finally:
            bench.stop()
    ping = results[0][1]
    rows = [[label, "%.3f" % cost, "%.2fx" % (cost / ping), "%.1f" % auth, "%.1f" % other, str(writes)]
            for label, cost, auth, other, writes in results]
    print("\n== cost of one no-change task (%d-task playbook minus 1-task playbook, median of %d runs) ==\n"
          % (args.tasks, args.runs))
    print(table(rows, ["module", "s/task", "vs ping", "auth requests/task", "other requests/task", "writes"]))


if __name__ == "__main__":
    main()
