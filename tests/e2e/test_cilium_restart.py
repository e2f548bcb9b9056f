# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cilium_restart end to end: the real ansible-playbook against an emulated AKS cluster, cross-checked
with the real kubectl (`rollout status`, `get ds,deploy`) and the API server's request log."""

from __future__ import annotations

import json
import os
import threading
import time

from tests.emulator.requestlog import writes
from tests.e2e.conftest import playbook as e2e_playbook, task

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
DS_PATH = "/apis/apps/v1/namespaces/kube-system/daemonsets/cilium"
DEPLOY_PATH = "/apis/apps/v1/namespaces/kube-system/deployments/cilium-operator"


def playbook(cluster, **args):
    return e2e_playbook(task("restart", "cilium_restart", dict(dict(kubeconfig=cluster.kubeconfig_path), **args)))


def restart(ansible, cluster, check=False, diff=False, **args):
    cluster.clear_requests()
    run = ansible(playbook(cluster, **args), check=check, diff=diff)
    return run.task("restart"), run.status("restart"), cluster.requests()


def kubectl_json(cluster, *args):
    return json.loads(cluster.kubectl(*(args + ("-n", "kube-system", "-o", "json"))).stdout)


def is_watch(request):
    return (request.get("query") or {}).get("watch") == ["true"]


def test_restart_both_waits_and_matches_kubectl(ansible, kube_cluster):
    kube_cluster.control("settings", pod_ready_delay=0.5)
    before_ds = kubectl_json(kube_cluster, "get", "ds", "cilium")
    before_pods = {p["metadata"]["name"] for p in kubectl_json(kube_cluster, "get", "pods", "-l", "k8s-app=cilium")["items"]}
    result, outcome, requests = restart(ansible, kube_cluster, wait_timeout=120, diff=True)
    assert outcome == "changed", result.get("msg")
    agent, operator = result["rollouts"]
    assert [agent["target"], operator["target"]] == ["agent", "operator"]
    assert agent["message"] == 'daemon set "cilium" successfully rolled out'
    assert operator["message"] == 'deployment "cilium-operator" successfully rolled out'
    for entry in (agent, operator):
        assert entry["restarted"] and entry["restarted_at"] and entry["seconds"] > 0
        assert entry["old_revision"] and entry["new_revision"] and int(entry["new_revision"]) > int(entry["old_revision"])
    assert result["diff"]["after"]["DaemonSet/cilium"][RESTARTED_AT] == agent["restarted_at"]

    # kubectl agrees: rolled out, annotation as reported, counters as reported, every agent pod replaced
    for kind, entry in (("ds/cilium", agent), ("deploy/cilium-operator", operator)):
        done = kube_cluster.kubectl("rollout", "status", kind, "-n", "kube-system", "--watch=false")
        assert done.stdout.strip().splitlines()[-1] == entry["message"]
    ds = kubectl_json(kube_cluster, "get", "ds", "cilium")
    deploy = kubectl_json(kube_cluster, "get", "deploy", "cilium-operator")
    assert ds["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT] == agent["restarted_at"]
    assert deploy["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT] == operator["restarted_at"]
    assert agent["status"]["updated"] == ds["status"]["updatedNumberScheduled"] == ds["status"]["desiredNumberScheduled"]
    assert agent["status"]["available"] == ds["status"]["numberAvailable"] == 3
    assert agent["status"]["generation"] == ds["metadata"]["generation"] == before_ds["metadata"]["generation"] + 1
    assert operator["status"]["available"] == deploy["status"]["availableReplicas"] == deploy["spec"]["replicas"]
    assert deploy["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == operator["new_revision"]
    after_pods = {p["metadata"]["name"] for p in kubectl_json(kube_cluster, "get", "pods", "-l", "k8s-app=cilium")["items"]}
    assert not before_pods & after_pods

    # exactly two strategic-merge patches; the waiting was done by watching, not by polling GETs
    patches = writes(requests)
    assert [(r["method"], r["path"]) for r in patches] == [("PATCH", DS_PATH), ("PATCH", DEPLOY_PATH)]
    assert [r for r in requests if is_watch(r)], "no watch request"
    gets = [r for r in requests if r["method"] == "GET" and not is_watch(r)]
    assert len(gets) <= 20, [r["path"] for r in gets]


def test_restart_order_and_check_mode(ansible, kube_cluster):
    result, outcome, requests = restart(ansible, kube_cluster, targets=["operator", "agent"], check=True, diff=True)
    assert outcome == "changed"
    assert [r["target"] for r in result["rollouts"]] == ["operator", "agent"]
    assert all(r["restarted"] and r["message"].startswith("would restart") for r in result["rollouts"])
    assert writes(requests) == []
    ds = kubectl_json(kube_cluster, "get", "ds", "cilium")
    assert RESTARTED_AT not in (ds["spec"]["template"]["metadata"].get("annotations") or {})


def test_wait_survives_expired_and_dropped_watches(ansible, kube_cluster):
    kube_cluster.control("settings", pod_ready_delay=1.5)
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(restart(ansible, kube_cluster, targets=["agent"], wait_timeout=60)))
    worker.start()
    deadline = time.monotonic() + 60
    while not [r for r in kube_cluster.requests() if r["method"] == "PATCH"] and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)
    kube_cluster.control("watch", action="expire")  # every open watch gets 410 Gone
    time.sleep(0.5)
    kube_cluster.control("watch", action="disconnect")  # every open watch is cut
    worker.join(120)
    result, status, requests = outcome[0]
    assert status == "changed", result.get("msg")
    assert result["rollouts"][0]["message"] == 'daemon set "cilium" successfully rolled out'
    relists = [r for r in requests if r["path"] == "/apis/apps/v1/namespaces/kube-system/daemonsets" and not is_watch(r)]
    assert len(relists) >= 2, "the waiter did not list again after losing its watch"
    theirs = kube_cluster.kubectl("rollout", "status", "ds/cilium", "-n", "kube-system", "--watch=false")
    assert theirs.stdout.strip() == 'daemon set "cilium" successfully rolled out'


def test_no_wait_patches_both_at_once(ansible, kube_cluster):
    result, outcome, requests = restart(ansible, kube_cluster, wait=False)
    assert outcome == "changed"
    assert [r["path"] for r in writes(requests)] == [DS_PATH, DEPLOY_PATH]
    assert not [r for r in requests if is_watch(r)]
    assert all(r["message"].endswith("restarted") for r in result["rollouts"])


def test_stalled_rollout_times_out_naming_the_pods(ansible, kube_cluster):
    kube_cluster.control("stall", selector="k8s-app=cilium", stalled=True)
    result, outcome, _requests = restart(ansible, kube_cluster, targets=["agent"], wait_timeout=4)
    assert outcome == "failed"
    assert result["msg"].startswith('Timed out after 4 s waiting for the rollout of daemon set "cilium"')
    stuck = result["not_ready"]
    assert stuck and all(p["reasons"] for p in stuck)
    pods = kubectl_json(kube_cluster, "get", "pods", "-l", "k8s-app=cilium")["items"]
    unready = sorted(p["metadata"]["name"] for p in pods
                     if not any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", [])))
    assert sorted(p["name"] for p in stuck) == unready
    for pod in stuck:
        assert pod["name"] in result["msg"]
    assert result["rollouts"][0]["restarted"] and result["changed"]
    # kubectl sees the same stalled rollout
    theirs = kube_cluster.kubectl("rollout", "status", "ds/cilium", "-n", "kube-system", "--watch=false").stdout.strip()
    assert theirs.startswith('Waiting for daemon set "cilium" rollout to finish: ')
    assert theirs.rstrip(".") in result["msg"]


def test_conflict_on_patch_is_retried(ansible, kube_cluster):
    kube_cluster.add_fault(method="PATCH", path=DS_PATH + "$", status=409, count=2,
                           body={"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
                                 "message": 'Operation cannot be fulfilled on daemonsets.apps "cilium": the object has been '
                                            'modified; please apply your changes to the latest version and try again'})
    result, outcome, requests = restart(ansible, kube_cluster, targets=["agent"], wait_timeout=60)
    assert outcome == "changed", result.get("msg")
    patches = [r for r in requests if r["method"] == "PATCH"]
    assert [r["status"] for r in patches] == [409, 409, 200]
    assert result["rollouts"][0]["message"] == 'daemon set "cilium" successfully rolled out'
    theirs = kube_cluster.kubectl("rollout", "status", "ds/cilium", "-n", "kube-system", "--watch=false")
    assert theirs.stdout.strip() == result["rollouts"][0]["message"]


def test_paused_deployment_refused_like_kubectl(ansible, kube_cluster):
    kube_cluster.kubectl("rollout", "pause", "deployment/cilium-operator", "-n", "kube-system")
    result, outcome, requests = restart(ansible, kube_cluster, targets=["operator"])
    assert outcome == "failed" and writes(requests) == []
    reason = "can't restart paused deployment (run rollout resume first)"
    assert result["msg"] == 'Nothing was restarted: operator_deployment: deployments.apps "cilium-operator" %s' % reason
    theirs = kube_cluster.kubectl("rollout", "restart", "deployment/cilium-operator", "-n", "kube-system", check=False)
    assert theirs.returncode != 0 and reason in theirs.stderr


def test_missing_target(ansible, kube_cluster):
    result, outcome, _requests = restart(ansible, kube_cluster, targets=["operator"], operator_deployment="nope")
    assert outcome == "failed" and result["msg"] == ('Nothing was restarted: operator_deployment: deployments.apps "nope" '
                                                     'not found in namespace kube-system')


def test_restart_playbook(ansible, kube_cluster):
    kube_cluster.control("settings", pod_ready_delay=0.2)
    run = ansible(os.path.join(REPO, "playbooks", "restart_cilium.yml"),
                  extra_vars={"azcni_kubeconfig": kube_cluster.kubeconfig_path, "azcni_restart_wait_timeout": 120})
    assert run.rc == 0, run.stdout
    rollouts = run.task("azcni.cilium.cilium_restart : Restart agent then operator")["rollouts"]
    assert [r["target"] for r in rollouts] == ["agent", "operator"]
    assert run.task("azcni.cilium.cilium_restart : Check that Cilium is healthy after the restart")["healthy"]
    assert "OK (0 errors, 0 warnings)" in run.task("azcni.cilium.cilium_restart : Report the Cilium status")["msg"]
