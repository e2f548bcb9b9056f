# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a test): cilium_status on a large emulated AKS cluster.

    python -m tests.bench.bench_status [--nodes 1000] [--runs 3] [--json out.json]

Starts one emulated cluster with ``--nodes`` nodes (one Cilium agent pod each), then measures, against
that same cluster:

* the module as Ansible runs it (``ansible-playbook`` with one ``cilium_status`` task), wall time minus
  the same playbook with a no-op task;
* the module process alone (``python cilium_status.py args.json``): wall time and peak RSS;
* the API requests one run makes (count, per path kind, bytes are not logged), from the emulator's log;
* for comparison, the kubectl reads a runbook does by hand (``get ds,deploy`` and ``get pods -l
  k8s-app=cilium``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MODULE = os.path.join(REPO, "plugins", "modules", "cilium_status.py")


def collections_root(workdir):
    """A directory whose ansible_collections/azcni/cilium is this checkout."""
    parts = REPO.split(os.sep)
    if parts[-3:] == ["ansible_collections", "azcni", "cilium"]:
        return os.sep.join(parts[:-3])
    root = os.path.join(workdir, "collections")
    link = os.path.join(root, "ansible_collections", "azcni", "cilium")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link))
        os.symlink(REPO, link)
    return root


class BenchCluster(object):
    """One emulated AKS Cilium cluster (the Kubernetes side only), started in this process."""

    def __init__(self, workdir, nodes, pod_ready_delay=0.0, kubernetes_version="1.33.2"):
        self.workdir, self.nodes, self.pod_ready_delay = workdir, nodes, pod_ready_delay
        self.kubernetes_version = kubernetes_version
        self.handle = self.ca = None
        self.kubeconfig_path = os.path.join(workdir, "kubeconfig")

    def __enter__(self):
        from tests.emulator.k8s import start_cluster
        from tests.emulator.tls import CertAuthority

        self.ca = CertAuthority(self.workdir)
        self.handle = start_cluster(
            ca=self.ca, name="bench", resource_group="bench", location="westeurope",
            kubernetes_version=self.kubernetes_version,
            node_pools=[{"name": "nodepool1", "count": self.nodes, "vmSize": "Standard_D4ds_v5", "osSKU": "Ubuntu",
                         "maxPods": 250, "mode": "System"}],
            network_profile={"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium",
                             "networkPolicy": "cilium", "podCidr": "192.168.0.0/16"},
            acns={"observability": False, "security": False}, pod_ready_delay=self.pod_ready_delay)
        with open(self.kubeconfig_path, "w", encoding="utf-8") as handle:
            handle.write(self.handle.kubeconfig(True))
        os.chmod(self.kubeconfig_path, 0o600)
        return self

    def __exit__(self, *exc_info):
        self.handle.stop()

    def emulator(self, method, what, body=None):
        import requests

        response = requests.request(method, self.handle.server_url + "/_emulator/" + what, json=body,
                                    verify=self.ca.ca_pem_path, timeout=60)
        response.raise_for_status()
        return response.json() if response.content else None

    def requests(self):
        return self.emulator("GET", "requests")

    def clear_requests(self):
        self.emulator("DELETE", "requests")

    def control(self, what, **body):
        return self.emulator("POST", what, body)

    def client(self):
        from ansible_collections.azcni.cilium.plugins.module_utils._k8s.client import K8sClient
        from ansible_collections.azcni.cilium.plugins.module_utils._k8s.config import load_configuration

        return K8sClient(load_configuration({"kubeconfig": self.kubeconfig_path}))

    def wait_ready(self, timeout=600):
        """Until cilium_status says healthy (our own watch-driven wait)."""
        from ansible_collections.azcni.cilium.plugins.module_utils._cilium.status import status

        report = status(self.client(), wait=True, timeout=timeout)
        if not report["healthy"]:
            raise SystemExit("the cluster did not become healthy: %s" % report["summary"])
        return report

    def kubectl(self, *args, **kwargs):
        env = dict(os.environ, KUBECONFIG=self.kubeconfig_path, HOME=self.workdir)
        return subprocess.Popen(["kubectl"] + list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, **kwargs)

    def kubectl_seconds(self, *args):
        started = time.monotonic()
        out, err = self.kubectl(*args).communicate()
        if not out and err:
            raise SystemExit("kubectl %s: %s" % (" ".join(args), err))
        return time.monotonic() - started


def timed(command, env=None):
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    took = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit("%s failed:\n%s%s" % (" ".join(command), done.stdout[-3000:], done.stderr[-3000:]))
    return took, done.stdout


def run_module_process(cluster, workdir):
    """The module as a plain process; returns (seconds, peak RSS in MiB of that child, result)."""
    args = os.path.join(workdir, "args.json")
    with open(args, "w", encoding="utf-8") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": {"kubeconfig": cluster.kubeconfig_path}}, handle)
    env = dict(os.environ, PYTHONPATH=collections_root(workdir))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    took, out = timed([sys.executable, MODULE, args], env)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest single child so far (KiB on Linux)
    return took, (peak if peak > before else before) / 1024.0, json.loads(out)


def run_playbook(workdir, task):
    play = os.path.join(workdir, "play.yml")
    with open(play, "w", encoding="utf-8") as handle:
        handle.write("- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - %s\n" % task)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(workdir), ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    return timed([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", play], env)[0]


def measure(cluster, workdir, runs):
    """The numbers for one cluster (see the module docstring)."""
    numbers = dict(nodes=cluster.nodes)
    started = time.monotonic()
    cluster.wait_ready()
    numbers["cluster_ready_seconds"] = round(time.monotonic() - started, 1)

    module_times, peaks = [], []
    for _run in range(runs):
        cluster.clear_requests()
        took, peak, result = run_module_process(cluster, workdir)
        module_times.append(took)
        peaks.append(peak)
    if not result["healthy"] or result["agent"]["desired"] != cluster.nodes:
        raise SystemExit("unexpected status: %s" % result["summary"])
    requests = cluster.requests()
    numbers.update(module_process_seconds=round(min(module_times), 3), module_peak_rss_mib=round(max(peaks), 1),
                   requests=len(requests), requests_by_path=dict(Counter(r["path"] for r in requests)),
                   agent_pods_returned=len(result["agent_pods"]), summary=result["summary"])

    task = "azcni.cilium.cilium_status: {kubeconfig: %s}" % cluster.kubeconfig_path
    playbook = [run_playbook(workdir, task) for _run in range(runs)]
    baseline = [run_playbook(workdir, "ansible.builtin.meta: noop") for _run in range(runs)]
    numbers.update(playbook_seconds=round(min(playbook), 3), playbook_noop_seconds=round(min(baseline), 3),
                   task_seconds=round(min(playbook) - min(baseline), 3))

    kubectl = []
    for _run in range(runs):
        kubectl.append(cluster.kubectl_seconds("get", "ds,deploy", "-n", "kube-system")
                       + cluster.kubectl_seconds("get", "pods", "-n", "kube-system", "-l", "k8s-app=cilium", "-o", "wide"))
    numbers["kubectl_get_ds_deploy_and_pods_seconds"] = round(min(kubectl), 3)
    return numbers


def report(numbers, path=None):
    for key, value in numbers.items():
        if not isinstance(value, dict):
            print("%-42s %s" % (key, value))
    for key, value in numbers.items():
        if isinstance(value, dict):
            print("%s:" % key)
            for name, count in sorted(value.items()):
                print("  %6s  %s" % (count, name))
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(numbers, handle, indent=2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="also write the numbers to this file")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-status-") as workdir:
        sys.path.insert(0, collections_root(workdir))
        with BenchCluster(workdir, options.nodes) as cluster:
            numbers = measure(cluster, workdir, options.runs)
    report(numbers, options.json)


if __name__ == "__main__":
    main()
