# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a test): the full create playbook re-run on resources that already exist.

Starts the emulator (``python -m tests.emulator serve``), creates everything once with
``playbooks/<mode>.yml``, then re-runs it ``--runs`` times and prints

- the requests each re-run sends, by kind, from the emulator's request log (writes must be 0),
- the wall time of each re-run,
- the time of every task next to ``ansible.builtin.ping`` (the cost of running any module).

Run from the repository root:  python tests/bench/bench_create_playbook.py [--mode vnet|overlay] [--runs 3]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import requests

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from tests.emulator.requestlog import is_write  # noqa: E402  pylint: disable=wrong-import-position

BIN = os.path.dirname(sys.executable)
BASELINE = "ansible.builtin.ping (baseline)"

# A callback that writes one JSON line per finished task: name, action, status, seconds.
TIMING_CALLBACK = '''
import json, os, time
from ansible.plugins.callback import CallbackBase
DOCUMENTATION = """
name: bench_timing
type: aggregate
short_description: task timings for the benchmark
description: [Task timings for the benchmark.]
"""
class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timing"
    CALLBACK_NEEDS_ENABLED = True
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.started = {}
    def v2_playbook_on_task_start(self, task, is_conditional):
        self.started[task._uuid] = time.monotonic()
    def _done(self, result, status):
        task = result._task
        with open(os.environ["BENCH_TIMING_FILE"], "a") as handle:
            handle.write(json.dumps({"task": task.get_name(), "action": task.action, "status": status,
                                     "seconds": time.monotonic() - self.started.get(task._uuid, time.monotonic())}) + "\\n")
    def v2_runner_on_ok(self, result):
        self._done(result, "changed" if result._result.get("changed") else "ok")
    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._done(result, "failed")
    def v2_runner_on_skipped(self, result):
        self._done(result, "skipped")
'''


def start_emulator(workdir):
    """``python -m tests.emulator serve``; returns (process, url, environment from env.sh)."""
    process = subprocess.Popen([sys.executable, "-m", "tests.emulator", "serve", "--port", "0", "--workdir", workdir],
                               cwd=REPO, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    if not line.startswith("ready "):
        process.kill()
        raise SystemExit("the emulator did not start: %r" % line)
    env = {}
    with open(os.path.join(workdir, "env.sh"), encoding="utf-8") as handle:
        for raw in handle:
            match = re.match(r"\s*export\s+(\w+)=(.*)$", raw)
            if match:
                env[match.group(1)] = shlex.split(match.group(2))[0] if match.group(2) else ""
    return process, line.split(" ", 1)[1], env


def collections_path(workdir):
    parts = REPO.split(os.sep)
    if parts[-3:-1] == ["ansible_collections", "azcni"]:
        return os.sep.join(parts[:-3])
    target = os.path.join(workdir, "collections", "ansible_collections", "azcni")
    os.makedirs(target)
    os.symlink(REPO, os.path.join(target, "cilium"))
    return os.path.join(workdir, "collections")


def request_kind(entry):
    """``GET managedClusters`` style label for one logged request."""
    path = entry["path"]
    if re.search(r"/oauth2/(v2\.0/)?token$", path):
        return "POST token"
    if "/metadata/endpoints" in path or path.endswith("/openid-configuration") or "/discovery/" in path:
        return "%s metadata/discovery" % entry["method"]
    last = path.rstrip("/").split("/")
    label = last[-1] if last[-1].startswith("list") else (last[-2] if len(last) > 1 else last[-1])
    return "%s %s%s" % (entry["method"], label, " (write)" if is_write(entry) else "")


class Bench(object):

    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.process, self.url, self.env = start_emulator(os.path.join(workdir, "emulator"))
        callbacks = os.path.join(workdir, "callbacks")
        os.makedirs(callbacks)
        with open(os.path.join(callbacks, "bench_timing.py"), "w", encoding="utf-8") as handle:
            handle.write(TIMING_CALLBACK)
        self.run_env = dict(os.environ, **self.env)
        self.run_env.update(ANSIBLE_COLLECTIONS_PATH=collections_path(workdir), ANSIBLE_CALLBACK_PLUGINS=callbacks,
                            ANSIBLE_CALLBACKS_ENABLED="bench_timing", ANSIBLE_LOCALHOST_WARNING="false",
                            PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
        self.playbook = os.path.join(workdir, "bench.yml")
        with open(self.playbook, "w", encoding="utf-8") as handle:
            handle.write("- name: Baseline\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
                         "    - name: %s\n      ansible.builtin.ping:\n"
                         "- name: The create playbook\n  ansible.builtin.import_playbook: %s\n"
                         % (BASELINE, os.path.join(REPO, "playbooks", "%s.yml" % args.mode)))
        self.extra_vars = json.dumps({"azcni_cluster_name": "aks-bench", "azcni_resource_group": "rg-bench",
                                      "azcni_kubeconfig": os.path.join(workdir, "kubeconfig")})

    def emulator_requests(self, method="GET"):
        response = requests.request(method, self.url + "/_emulator/requests", verify=self.env["REQUESTS_CA_BUNDLE"], timeout=30)
        response.raise_for_status()
        return response.json() if method == "GET" else None

    def playbook_run(self, index):
        timing = os.path.join(self.workdir, "timing-%d.jsonl" % index)
        self.emulator_requests("DELETE")
        started = time.monotonic()
        done = subprocess.run([os.path.join(BIN, "ansible-playbook"), self.playbook, "-i",
                               os.path.join(REPO, "playbooks", "inventory"), "-e", self.extra_vars],
                              env=dict(self.run_env, BENCH_TIMING_FILE=timing), capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
        if done.returncode != 0:
            raise SystemExit("ansible-playbook failed:\n%s%s" % (done.stdout[-4000:], done.stderr[-2000:]))
        with open(timing, encoding="utf-8") as handle:
            tasks = [json.loads(line) for line in handle if line.strip()]
        return wall, tasks, self.emulator_requests()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def table(rows, headers):
    widths = [max(len(str(row[i])) for row in rows + [headers]) for i in range(len(headers))]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    lines.extend("  ".join(str(c).rjust(w) if isinstance(c, (int, float)) or c[:1].isdigit() else str(c).ljust(w)
                           for c, w in zip(row, widths)) for row in rows)
    return "\n".join(lines)


def report(mode, create_wall, runs):
    walls = [wall for wall, _tasks, _requests in runs]
    print("\n== %s playbook, re-run on existing resources (%d runs; create took %.1f s) ==\n" % (mode, len(runs), create_wall))
    print("wall time: median %.2f s, min %.2f s, max %.2f s\n" % (statistics.median(walls), min(walls), max(walls)))

    counts = collections.Counter()
    for _wall, _tasks, entries in runs:
        counts.update(request_kind(e) for e in entries)
    writes = sum(1 for _wall, _tasks, entries in runs for e in entries if is_write(e))
    rows = [[kind, "%.1f" % (n / len(runs))] for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    rows.append(["total", "%.1f" % (sum(counts.values()) / len(runs))])
    print(table(rows, ["requests per re-run, by kind", "count"]))
    print("\nwrite requests over all re-runs: %d\n" % writes)

    per_task = collections.OrderedDict()
    for _wall, tasks, _entries in runs:
        for task in tasks:
            per_task.setdefault((task["task"], task["action"]), []).append(task)
    baseline = statistics.median(t["seconds"] for t in per_task.get((BASELINE, "ansible.builtin.ping"), [{"seconds": 0}]))
    rows = []
    for (name, action), samples in per_task.items():
        seconds = statistics.median(t["seconds"] for t in samples)
        statuses = "/".join(sorted({t["status"] for t in samples}))
        rows.append([name[:60], action.replace("azcni.cilium.", "").replace("ansible.builtin.", ""), statuses,
                     "%.2f" % seconds, "%.1fx" % (seconds / baseline) if baseline else "-"])
    print(table(rows, ["task", "action", "status", "median s", "vs ping"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["vnet", "overlay"], default="vnet")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="azcni-bench-") as workdir:
        bench = Bench(args, workdir)
        try:
            create_wall, _tasks, _requests = bench.playbook_run(0)
            runs = [bench.playbook_run(i + 1) for i in range(args.runs)]
        finally:
            bench.stop()
        report(args.mode, create_wall, runs)


if __name__ == "__main__":
    main()
