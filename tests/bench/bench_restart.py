# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a test): how soon cilium_restart returns once the rollout is complete.

    python -m tests.bench.bench_restart [--nodes 50] [--pod-ready-delay 0.2] [--runs 3] [--json out.json]

On one emulated cluster, per run and per target (the agent DaemonSet, then the operator Deployment):

* the module process (``python cilium_restart.py args.json``, ``targets: [<target>]``) restarts and waits;
* an observer thread with its own watch records the moment the API server first shows the rollout
  complete (kubectl's rule: the last pod became available);
* as soon as the observer sees the restart patch, the real ``kubectl rollout status`` is started too.

Reported per target: the rollout's own duration, and the latency from "complete" to the module
process exiting and to ``kubectl rollout status`` exiting (median and worst over the runs).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from tests.bench.bench_status import BenchCluster, collections_root, report

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE = os.path.join(REPO, "plugins", "modules", "cilium_restart.py")
TARGETS = dict(agent=("DaemonSet", "cilium", "ds/cilium"), operator=("Deployment", "cilium-operator", "deploy/cilium-operator"))


def observe(cluster, kind, name, kubectl_args, marks, ready):
    """Watch ``name``; mark when the patch lands (then start kubectl) and when the rollout is complete."""
    from ansible_collections.azcni.cilium.plugins.module_utils import _rollout as rollout

    client = cluster.client()
    snapshots = rollout.ObjectWatch(client, rollout.collection_path(kind, "kube-system"), name).snapshots(time.monotonic() + 900)
    generation = None
    for obj in snapshots:
        obj["kind"] = kind
        current = obj["metadata"]["generation"]
        if generation is None:
            generation = current
            ready.set()
            continue
        if current > generation and "patched" not in marks:
            marks["patched"] = time.monotonic()
            process = cluster.kubectl(*kubectl_args)
            threading.Thread(target=lambda: (process.wait(), marks.__setitem__("kubectl", time.monotonic())),
                             daemon=True).start()
        if current > generation and rollout.KINDS[kind]["status"](obj)[1]:
            marks["complete"] = time.monotonic()
            snapshots.close()
            return


def one_run(cluster, workdir, target):
    kind, name, kubectl_name = TARGETS[target]
    args = os.path.join(workdir, "restart-args.json")
    with open(args, "w", encoding="utf-8") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": {"kubeconfig": cluster.kubeconfig_path, "targets": [target],
                                           "wait_timeout": 900}}, handle)
    marks, ready = {}, threading.Event()
    kubectl_args = ("rollout", "status", kubectl_name, "-n", "kube-system", "--timeout=900s")
    observer = threading.Thread(target=observe, args=(cluster, kind, name, kubectl_args, marks, ready), daemon=True)
    observer.start()
    ready.wait(60)
    env = dict(os.environ, PYTHONPATH=collections_root(workdir))
    done = subprocess.run([sys.executable, MODULE, args], env=env, capture_output=True, text=True, check=False)
    marks["module"] = time.monotonic()
    observer.join(60)
    result = json.loads(done.stdout)
    if result.get("failed"):
        raise SystemExit("restart failed: %s" % result.get("msg"))
    deadline = time.monotonic() + 60
    while "kubectl" not in marks and time.monotonic() < deadline:
        time.sleep(0.01)  # the benchmark itself may poll; only the module under test must not
    return dict(rollout_seconds=marks["complete"] - marks["patched"],
                module_after_complete=marks["module"] - marks["complete"],
                kubectl_after_complete=marks["kubectl"] - marks["complete"],
                module_reported_seconds=result["rollouts"][0]["seconds"])


def summarise(samples):
    numbers = {}
    for key in samples[0]:
        values = [sample[key] for sample in samples]
        numbers[key] = "median %.3f s, worst %.3f s" % (statistics.median(values), max(values))
    return numbers


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--pod-ready-delay", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="also write the numbers to this file")
    options = parser.parse_args()
    numbers = dict(nodes=options.nodes, pod_ready_delay=options.pod_ready_delay, runs=options.runs)
    with tempfile.TemporaryDirectory(prefix="bench-restart-") as workdir:
        sys.path.insert(0, collections_root(workdir))
        with BenchCluster(workdir, options.nodes, options.pod_ready_delay) as cluster:
            cluster.wait_ready()
            for target in TARGETS:
                numbers[target] = summarise([one_run(cluster, workdir, target) for _run in range(options.runs)])
    report(numbers, options.json)


if __name__ == "__main__":
    main()
