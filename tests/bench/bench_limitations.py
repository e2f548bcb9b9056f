# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a test): cilium_status check_workloads on a large emulated AKS cluster.

    python -m tests.bench.bench_limitations [--pods 10000] [--services 5000] [--nodes 100] [--runs 3]
                                            [--kubernetes-version 1.31.10] [--json out.json]

Starts one emulated cluster and fills it in-process with ``--pods`` pods (Deployment-style labels,
a share of Spark-style pods with a unique label each, a few hostNetwork pods with host ports) and
``--services`` Services (ClusterIP and LoadBalancer, two sharing an address across TCP/UDP), plus a
handful of NetworkPolicies and CNPs, then measures against that same cluster, side by side:

* ``cilium_status`` as a plain module process (``python cilium_status.py args.json``), without and
  with ``check_workloads``: wall time, peak RSS of that process, API requests (from the emulator's log);
* the anchor, the real kubectl reading the same objects: ``kubectl get pods,svc -A -o json`` and
  ``kubectl get nodes,pods,svc,netpol,cnp,ccnp,ciliumidentities -A -o json``: wall time, peak RSS, requests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter

from tests.bench.bench_status import BenchCluster, collections_root, report

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE = os.path.join(REPO, "plugins", "modules", "cilium_status.py")


def measured(command, env):
    """(seconds, peak RSS MiB, stdout) with the child's own rusage (os.wait4, not RUSAGE_CHILDREN's running max)."""
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, stderr = [], []
    readers = [threading.Thread(target=lambda: out.append(process.stdout.read())),
               threading.Thread(target=lambda: stderr.append(process.stderr.read()))]
    for reader in readers:
        reader.start()
    _pid, status, usage = os.wait4(process.pid, 0)
    for reader in readers:
        reader.join()
    took = time.monotonic() - started
    if status:
        raise SystemExit("%s failed (%s):\n%s" % (" ".join(command[:3]), status, stderr[0].decode()[-3000:]))
    return took, usage.ru_maxrss / 1024.0, out[0]


def fill(cluster, pods, services):
    """Create the workload objects straight in the emulator's store (the API path is not what is measured),
    under the store's lock so that the controllers see them in one pass instead of one pass per object."""
    with cluster.handle.store.lock:
        _fill(cluster, pods, services)
    cluster.handle.controllers.kick()


def _fill(cluster, pods, services):
    from tests.emulator.k8s.api import WriteOptions

    handle = cluster.handle
    api, registry = handle.api, handle.api.registry
    user = WriteOptions(manager="bench", trusted=True, track_fields=False)
    nodes = sorted(n["metadata"]["name"] for n in handle.store.objects("/nodes"))
    pod_type, service_type = registry.get("", "v1", "pods"), registry.get("", "v1", "services")
    for name in ("team-a", "team-b", "spark"):
        api.create(registry.get("", "v1", "namespaces"), None, {"metadata": {"name": name}}, user)
    for index in range(pods):
        namespace = ("team-a", "team-b", "spark")[index % 3]
        if namespace == "spark":
            labels = {"spark-role": "executor", "spark-app-selector": "spark-%05d" % index}
        else:
            labels = {"app": "app-%03d" % (index % 400), "pod-template-hash": "h%04d" % (index % 1000)}
        spec = {"nodeName": nodes[index % len(nodes)], "containers": [{"name": "c", "image": "nginx"}]}
        if index < 20:  # a few hostNetwork agents with host ports, two of them TCP and UDP on one port
            spec.update(hostNetwork=True, containers=[{"name": "c", "image": "agent", "ports": [
                {"containerPort": 9100 + index % 2, "hostPort": 9100, "protocol": "TCP" if index % 2 else "UDP"}]}])
            labels = {"app": "node-agent"}
        api.create(pod_type, namespace, {"apiVersion": "v1", "kind": "Pod",
                                         "metadata": {"name": "pod-%05d" % index, "namespace": namespace, "labels": labels},
                                         "spec": spec}, user)
    for index in range(services):
        namespace = ("team-a", "team-b")[index % 2]
        spec = {"selector": {"app": "app-%03d" % (index % 400)}, "ports": [{"port": 80 + index % 3, "protocol": "TCP"}],
                # given, so that the emulator's allocator (a linear scan per Service) does not dominate the fill
                "clusterIP": "10.0.%d.%d" % (1 + (index + 100) // 250, 1 + (index + 100) % 250)}
        metadata = {"name": "svc-%05d" % index, "namespace": namespace}
        if index < 2:  # two Services sharing one load balancer address across TCP/UDP
            spec.update(type="LoadBalancer", ports=[{"port": 53, "protocol": ("TCP", "UDP")[index]}])
            metadata["annotations"] = {"service.beta.kubernetes.io/azure-load-balancer-ipv4": "20.61.9.9"}
        elif index % 50 == 0:
            spec["type"] = "LoadBalancer"
        api.create(service_type, namespace, {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}, user)
    np_type = registry.get("networking.k8s.io", "v1", "networkpolicies")
    cnp_type = registry.get("cilium.io", "v2", "ciliumnetworkpolicies")
    for index in range(20):
        namespace = ("team-a", "team-b")[index % 2]
        api.create(np_type, namespace, {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                        "metadata": {"name": "np-%02d" % index, "namespace": namespace},
                                        "spec": {"podSelector": {"matchLabels": {"app": "app-%03d" % index}},
                                                 "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}}, user)
        api.create(cnp_type, namespace, {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                                         "metadata": {"name": "cnp-%02d" % index, "namespace": namespace},
                                         "spec": {"endpointSelector": {"matchLabels": {"app": "node-agent" if index == 0
                                                                                       else "app-%03d" % index}},
                                                  "ingress": [{"fromEntities": ["cluster"]}]}}, user)


def settle(cluster, pods, timeout=900):
    """Until every pod is Running and every non-hostNetwork one has its endpoint (identities allocated)."""
    store = cluster.handle.store
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = sum(1 for p in store.objects("/pods") if (p.get("status") or {}).get("phase") == "Running")
        endpoints = store.count("cilium.io/ciliumendpoints")
        if running >= pods and endpoints >= pods - 20:
            return
        time.sleep(1)
    raise SystemExit("the cluster did not settle: %d running, %d endpoints" % (running, endpoints))


def module_run(cluster, workdir, check_workloads):
    args = os.path.join(workdir, "args-%s.json" % check_workloads)
    with open(args, "w", encoding="utf-8") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": {"kubeconfig": cluster.kubeconfig_path, "check_workloads": check_workloads,
                                           "fail_on_unhealthy": False}}, handle)
    env = dict(os.environ, PYTHONPATH=collections_root(workdir))
    cluster.clear_requests()
    took, peak, out = measured([sys.executable, MODULE, args], env)
    return took, peak, json.loads(out), cluster.requests()


def kubectl_run(cluster, workdir, what):
    env = dict(os.environ, KUBECONFIG=cluster.kubeconfig_path, HOME=workdir)
    cluster.clear_requests()
    took, peak, out = measured(["kubectl", "get", what, "-A", "-o", "json", "--chunk-size=500"], env)
    return took, peak, len(json.loads(out)["items"]), cluster.requests()


def best(runs, function, *args):
    results = [function(*args) for _run in range(runs)]
    return min(results, key=lambda result: result[0]), max(result[1] for result in results)


def measure(cluster, workdir, options):
    numbers = dict(nodes=options.nodes, pods=options.pods, services=options.services,
                   kubernetes_version=options.kubernetes_version)
    started = time.monotonic()
    fill(cluster, options.pods, options.services)
    settle(cluster, options.pods)
    numbers["fill_seconds"] = round(time.monotonic() - started, 1)
    numbers["identities"] = cluster.handle.store.count("cilium.io/ciliumidentities")
    for check in (False, True):
        (took, _peak, result, requests), peak = best(options.runs, module_run, cluster, workdir, check)
        key = "status_check_workloads" if check else "status_plain"
        numbers.update({key + "_seconds": round(took, 3), key + "_peak_rss_mib": round(peak, 1),
                        key + "_requests": len(requests)})
        if check:
            numbers["cilium_version"] = result["version"]
            numbers["requests_by_path"] = dict(Counter(r["path"] for r in requests))
            numbers["findings"] = dict(Counter(f["id"] for f in result["workload_findings"]))
    for label, what in (("kubectl_pods_svc", "pods,svc"),
                        ("kubectl_all_read", "nodes,pods,svc,networkpolicies,ciliumnetworkpolicies,"
                                             "ciliumclusterwidenetworkpolicies,ciliumidentities")):
        (took, _peak, items, requests), peak = best(options.runs, kubectl_run, cluster, workdir, what)
        numbers.update({label + "_seconds": round(took, 3), label + "_peak_rss_mib": round(peak, 1),
                        label + "_requests": len(requests), label + "_items": items})
    return numbers


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kubernetes-version", default="1.31.10",
                        help="1.31 runs Cilium 1.16, where every check applies (default)")
    parser.add_argument("--json", help="also write the numbers to this file")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-limitations-") as workdir:
        sys.path.insert(0, collections_root(workdir))
        with BenchCluster(workdir, options.nodes, pod_ready_delay=0.0, kubernetes_version=options.kubernetes_version) as cluster:
            numbers = measure(cluster, workdir, options)
    report(numbers, options.json)


if __name__ == "__main__":
    main()
