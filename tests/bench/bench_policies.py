# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a test): apply N CiliumNetworkPolicies from one directory, three ways, one cluster.

    python -m tests.bench.bench_policies [--count 1000] [--concurrency 8] [--k8s-loop N]

Starts one emulated AKS Cilium cluster in-process, writes N policy files (no namespace in them) and
applies the same directory with

* ``azcni.cilium.cilium_policy`` (one task, ``src: DIR``),
* ``kubectl apply -f DIR`` (client-side apply) and ``kubectl apply --server-side -f DIR``,
* ``kubernetes.core.k8s`` (one task, ``src:`` the same documents joined into one multi-document
  file, since ``src`` takes a single file; optionally a loop over the first ``--k8s-loop`` files),

each into its own namespace, then once more unchanged. Prints wall time and the API requests the
cluster saw (all, and writes: PUT/POST/PATCH/DELETE without dryRun), as a Markdown table.

kubernetes.core comes from the ``ansible`` package on PyPI: ``--kubernetes-core DIR`` points at a
directory holding ``ansible_collections/kubernetes/core``; by default the wheel is fetched with
``pip download --no-deps`` and only that collection is extracted under ``.work/bench``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile

import requests
import yaml

from tests.emulator import http as emulator_http
from tests.emulator.k8s import start_cluster
from tests.emulator.requestlog import writes
from tests.emulator.tls import CertAuthority

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def policy(index):
    """One realistic L3/L4 policy; every one different so nothing is deduplicated."""
    return {
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumNetworkPolicy",
        "metadata": {"name": "bench-%04d" % index, "labels": {"bench": "policies"}},
        "spec": {
            "description": "benchmark policy %d" % index,
            "endpointSelector": {"matchLabels": {"app": "svc-%d" % index}},
            "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "client-%d" % (index % 50)}}],
                         "toPorts": [{"ports": [{"port": str(1024 + index % 5000), "protocol": "TCP"}]}]}],
            "egress": [{"toEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system",
                                                         "k8s-app": "kube-dns"}}],
                        "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}]}]}],
        },
    }


def write_files(directory, count):
    os.makedirs(directory, exist_ok=True)
    docs = []
    for index in range(count):
        doc = policy(index)
        docs.append(doc)
        with open(os.path.join(directory, "bench-%04d.yaml" % index), "w", encoding="utf-8") as handle:
            yaml.safe_dump(doc, handle)
    multi = os.path.join(os.path.dirname(directory), "all-policies.yaml")
    with open(multi, "w", encoding="utf-8") as handle:
        yaml.safe_dump_all(docs, handle)
    return multi


def kubernetes_core(path):
    """A collections directory that holds kubernetes.core (extracted from the ansible wheel)."""
    if path:
        return path
    target = os.path.join(REPO, ".work", "bench", "collections")
    if os.path.isdir(os.path.join(target, "ansible_collections", "kubernetes", "core")):
        return target
    download = os.path.join(REPO, ".work", "bench", "wheel")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", download, "ansible"], check=True)
    wheel = sorted(glob.glob(os.path.join(download, "ansible-*.whl")))[-1]
    with zipfile.ZipFile(wheel) as archive:
        members = [n for n in archive.namelist() if n.startswith("ansible_collections/kubernetes/core/")]
        archive.extractall(target, members)
    return target


class Cluster(object):
    def __init__(self, workdir):
        self.ca = CertAuthority(workdir)
        self.handle = start_cluster(
            ca=self.ca, name="bench", resource_group="bench", location="westeurope", kubernetes_version="1.33.2",
            node_pools=[{"name": "system", "count": 3, "vmSize": "Standard_D4ds_v5", "osSKU": "Ubuntu", "maxPods": 250,
                         "mode": "System"}],
            network_profile={"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium",
                             "networkPolicy": "cilium", "podCidr": "192.168.0.0/16"},
            acns={"observability": False, "security": False}, pod_ready_delay=0.0)
        self.kubeconfig = os.path.join(workdir, "kubeconfig")
        with open(self.kubeconfig, "w", encoding="utf-8") as handle:
            handle.write(self.handle.kubeconfig(True))
        self.home = workdir

    def emulator(self, method, what):
        response = requests.request(method, self.handle.server_url + "/_emulator/" + what, verify=self.ca.ca_pem_path,
                                    timeout=60)
        response.raise_for_status()
        return response.json() if response.content else None

    def kubectl(self, *args):
        env = dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=self.home)
        return subprocess.run(["kubectl"] + list(args), env=env, capture_output=True, text=True, check=False)

    def create_namespace(self, name):
        # `kubectl create namespace` sends protobuf, which the emulator does not speak; a manifest goes as JSON
        path = os.path.join(self.home, "namespace-%s.yaml" % name)
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, handle)
        done = self.kubectl("apply", "-f", path)
        if done.returncode:
            raise RuntimeError("could not create namespace %s: %s" % (name, done.stderr))

    def count(self, namespace):
        done = self.kubectl("get", "cnp", "-n", namespace, "-o", "name")
        return len(done.stdout.split())


def playbook(path, task):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n%s" % task)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--k8s-loop", type=int, default=0,
                        help="also run kubernetes.core.k8s as a loop over the first N files (slow: one task per file)")
    parser.add_argument("--kubernetes-core", help="collections dir holding ansible_collections/kubernetes/core")
    parser.add_argument("--only", help="comma-separated tool names to run")
    parser.add_argument("--keep-nagle", action="store_true",
                        help="leave Nagle's algorithm on in the emulator (adds ~40 ms per request with kubectl)")
    args = parser.parse_args(argv)
    if not args.keep_nagle:
        # The emulator writes headers and body separately; with Nagle on, a keep-alive client waits for the
        # delayed ACK (~40 ms) on every request, which would measure the emulator, not the tools.
        emulator_http._Handler.disable_nagle_algorithm = True  # pylint: disable=protected-access

    workdir = tempfile.mkdtemp(prefix="bench-policies-")
    cluster = Cluster(workdir)
    src = os.path.join(workdir, "policies")
    multi = write_files(src, args.count)
    collections = os.pathsep.join([kubernetes_core(args.kubernetes_core), _stage(workdir)])
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false", K8S_AUTH_KUBECONFIG=cluster.kubeconfig,
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    loop_files = sorted(glob.glob(os.path.join(src, "*.yaml")))[:args.k8s_loop]

    def ansible(name, task):
        path = playbook(os.path.join(workdir, name + ".yml"), task)
        return [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", path]

    tools = [
        ("cilium_policy", "bench-cilium", args.count, ansible("cilium", (
            "    - azcni.cilium.cilium_policy:\n        src: %s\n        namespace: bench-cilium\n"
            "        concurrency: %d\n        policy_set: bench\n" % (src, args.concurrency)))),
        ("kubectl apply", "bench-kubectl", args.count, ["kubectl", "apply", "-f", src, "-n", "bench-kubectl"]),
        ("kubectl apply --server-side", "bench-kubectl-ssa", args.count,
         ["kubectl", "apply", "--server-side", "-f", src, "-n", "bench-kubectl-ssa"]),
        ("kubernetes.core.k8s (1 task, multi-doc src)", "bench-k8s", args.count, ansible("k8s", (
            "    - kubernetes.core.k8s:\n        src: %s\n        namespace: bench-k8s\n" % multi))),
    ]
    if loop_files:
        tools.append(("kubernetes.core.k8s (loop, %d files)" % len(loop_files), "bench-k8s-loop", len(loop_files),
                      ansible("k8s-loop", (
                          "    - kubernetes.core.k8s:\n        src: '{{ item }}'\n        namespace: bench-k8s-loop\n"
                          "      loop: %s\n" % json.dumps(loop_files)))))
    if args.only:
        wanted = args.only.split(",")
        tools = [t for t in tools if any(w in t[0] for w in wanted)]

    rows = []
    for name, namespace, expected, command in tools:
        cluster.create_namespace(namespace)
        for phase in ("create", "unchanged re-apply"):
            cluster.emulator("DELETE", "requests")
            started = time.monotonic()
            done = subprocess.run(command, env=dict(env, KUBECONFIG=cluster.kubeconfig, HOME=workdir),
                                  capture_output=True, text=True, check=False)
            elapsed = time.monotonic() - started
            log = cluster.emulator("GET", "requests")
            ok = done.returncode == 0 and cluster.count(namespace) == expected
            errors = sum(1 for entry in log if entry["status"] >= 400)
            rows.append((name, phase, expected, elapsed, len(log), len(writes(log)), errors, "ok" if ok else "FAILED"))
            _progress(rows[-1])
            if not ok:
                sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
    cluster.handle.stop()
    print(table(rows))
    return 0 if all(r[-1] == "ok" for r in rows) else 1


def _progress(row):
    sys.stderr.write("%s | %s | %.1f s | %d requests | %d writes | %d errors | %s\n" % (row[:2] + row[3:]))
    sys.stderr.flush()


def _stage(workdir):
    """A collections dir whose ansible_collections/azcni/cilium is this checkout."""
    root = os.path.join(workdir, "collections")
    target = os.path.join(root, "ansible_collections", "azcni")
    os.makedirs(target)
    os.symlink(REPO, os.path.join(target, "cilium"))
    return root


def table(rows):
    lines = ["| tool | run | policies | wall time (s) | API requests | writes | 4xx/5xx answers | result |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        lines.append("| %s | %s | %d | %.1f | %d | %d | %d | %s |" % row)
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
