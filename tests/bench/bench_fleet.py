# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a test): playbooks/migrate_fleet.yml on fleets of 1, 10 and 30 emulated clusters.

For each fleet size the script starts a fresh in-process emulator, creates the legacy clusters
(a mix of kubenet, node-subnet and overlay clusters on the azure data plane, with and without NPM
or Calico), writes an ``azcni.cilium.aks_clusters`` inventory for them and runs, side by side:

- the anchor: one ``ansible.builtin.ping`` task over the same inventory (Ansible's own cost per host);
- the migration: ``migrate_fleet.yml`` (forks = min(size, --forks));
- the re-run of the migration (nothing left to do: must send 0 writes).

It prints wall times, and ARM and Kubernetes requests per cluster (from the emulators' request logs).

Run from the repository root:  python tests/bench/bench_fleet.py [--sizes 1,10,30] [--forks 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from tests.bench.bench_create_playbook import collections_path  # noqa: E402  pylint: disable=wrong-import-position
from tests.emulator import Emulator  # noqa: E402  pylint: disable=wrong-import-position
from tests.emulator.requestlog import writes  # noqa: E402  pylint: disable=wrong-import-position

BIN = os.path.dirname(sys.executable)
PLAYBOOK = os.path.join(REPO, "playbooks", "migrate_fleet.yml")
MODES = [("kubenet", "none"), ("kubenet", "calico"), ("node-subnet", "azure"), ("node-subnet", "none"),
         ("overlay", "none"), ("overlay", "azure")]
PING = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: ping\n      ansible.builtin.ping:\n"


def make_fleet(emulator, tmp, size):
    from tests.e2e.migration_clusters import Fleet  # pylint: disable=import-outside-toplevel
    fleet = Fleet(emulator, tmp, "bench%d" % size)
    for index in range(size):
        mode, policy = MODES[index % len(MODES)]
        fleet.make("c%02d" % index, mode, policy=policy)
    path = os.path.join(tmp, "bench%d.aks_clusters.yml" % size)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("plugin: azcni.cilium.aks_clusters\nresource_groups: [%s]\n" % fleet.group)
    return fleet, path


def k8s_requests(emulator):
    return sum(len(handle.requests()) for handle in emulator.arm.kube.handles.values())


def clear_k8s(emulator):
    for handle in emulator.arm.kube.handles.values():
        handle.clear_requests()


def run(emulator, env, tmp, playbook, inventory, forks):
    emulator.clear_requests()
    clear_k8s(emulator)
    started = time.monotonic()
    done = subprocess.run([os.path.join(BIN, "ansible-playbook"), playbook, "-i", inventory, "--forks", str(forks)],
                          env=env, cwd=tmp, capture_output=True, text=True, timeout=3600, check=False)
    seconds = time.monotonic() - started
    arm = emulator.requests()
    return {"seconds": seconds, "rc": done.returncode, "arm": len(arm), "arm_writes": len(writes(arm)),
            "k8s": k8s_requests(emulator), "tail": done.stdout[-2000:]}


def bench(size, forks):
    tmp = tempfile.mkdtemp(prefix="bench-fleet-")
    emulator = Emulator(os.path.join(tmp, "emulator"), migration_delay=1.0).start()
    try:
        created = time.monotonic()
        _fleet, inventory = make_fleet(emulator, tmp, size)
        created = time.monotonic() - created
        env = dict(os.environ, **emulator.env)
        env.update(ANSIBLE_COLLECTIONS_PATH=collections_path(tmp), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                   ANSIBLE_HOST_KEY_CHECKING="false", HOME=tmp, ANSIBLE_LOCALHOST_WARNING="false",
                   PATH=BIN + os.pathsep + env.get("PATH", ""))
        ping_path = os.path.join(tmp, "ping.yml")
        with open(ping_path, "w", encoding="utf-8") as handle:
            handle.write(PING)
        forks = min(size, forks)
        results = {"create": created,
                   "ping": run(emulator, env, tmp, ping_path, inventory, forks),
                   "migrate": run(emulator, env, tmp, PLAYBOOK, inventory, forks),
                   "rerun": run(emulator, env, tmp, PLAYBOOK, inventory, forks)}
        for key in ("migrate", "rerun"):
            if results[key]["rc"] != 0:
                print("%s of %d clusters failed (rc %d):\n%s" % (key, size, results[key]["rc"], results[key]["tail"]))
        return results
    finally:
        emulator.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,30")
    parser.add_argument("--forks", type=int, default=10)
    args = parser.parse_args()
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        result = bench(size, args.forks)
        rows.append((size, result))
        summary = dict((key, dict((k, v) for k, v in value.items() if k != "tail") if isinstance(value, dict) else value)
                       for key, value in result.items())
        print("size %d done: %s" % (size, summary), flush=True)
    print()
    print("| clusters | forks | ping (anchor) | migrate | re-run | ARM req/cluster (migrate) | k8s req/cluster (migrate) "
          "| ARM writes/cluster | re-run ARM req/cluster | re-run writes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size, r in rows:
        print("| %d | %d | %.1f s | %.1f s | %.1f s | %.1f | %.1f | %.1f | %.1f | %d |" % (
            size, min(size, args.forks), r["ping"]["seconds"], r["migrate"]["seconds"], r["rerun"]["seconds"],
            r["migrate"]["arm"] / float(size), r["migrate"]["k8s"] / float(size), r["migrate"]["arm_writes"] / float(size),
            r["rerun"]["arm"] / float(size), r["rerun"]["arm_writes"]))


if __name__ == "__main__":
    main()
