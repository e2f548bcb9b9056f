# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cilium_status end to end: the real ansible-playbook against an emulated AKS cluster, cross-checked
with the real kubectl and the API server's request log."""

from __future__ import annotations

import json
import os
import time

import pytest
from tests.e2e.conftest import playbook as e2e_playbook, task

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def playbook(cluster, **args):
    """A one-task playbook calling cilium_status with ``args`` against ``cluster``."""
    return e2e_playbook(task("status", "cilium_status", dict(dict(kubeconfig=cluster.kubeconfig_path), **args)))


def status(ansible, cluster, check=False, **args):
    cluster.clear_requests()
    run = ansible(playbook(cluster, **args), check=check)
    return run.task("status"), run.status("status"), cluster.requests()


def kubectl_json(cluster, *args):
    return json.loads(cluster.kubectl(*(args + ("-n", "kube-system", "-o", "json"))).stdout)


def agent_pods(cluster):
    return kubectl_json(cluster, "get", "pods", "-l", "k8s-app=cilium")["items"]


def is_watch(request):
    return (request.get("query") or {}).get("watch") == ["true"]


def until(condition, timeout=30):
    """Poll ``condition`` (test code may poll; the modules must not)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def crash_looping(pod):
    return any(((c.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff"
               for c in pod["status"].get("containerStatuses") or [])


def is_ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def test_healthy_cluster_matches_kubectl(ansible, kube_cluster):
    result, outcome, requests = status(ansible, kube_cluster, wait=True, wait_timeout=60, fail_on_unhealthy=True)
    assert outcome == "ok", result.get("msg")
    assert result["healthy"] and result["errors"] == [] and result["cilium_warnings"] == [], result["summary"]
    assert result["changed"] is False and result["timed_out"] is False

    ds = kubectl_json(kube_cluster, "get", "ds", "cilium")
    deploy = kubectl_json(kube_cluster, "get", "deploy", "cilium-operator")
    agent, operator = result["agent"], result["operator"]
    assert (agent["desired"], agent["ready"], agent["available"], agent["updated"]) == (
        ds["status"]["desiredNumberScheduled"], ds["status"]["numberReady"], ds["status"]["numberAvailable"],
        ds["status"]["updatedNumberScheduled"])
    assert agent["desired"] == 3
    assert (operator["replicas"], operator["ready"]) == (deploy["spec"]["replicas"], deploy["status"]["readyReplicas"])
    rollout = kube_cluster.kubectl("rollout", "status", "ds/cilium", "-n", "kube-system", "--watch=false")
    assert rollout.stdout.strip().splitlines()[-1] == agent["rollout"]

    pods = agent_pods(kube_cluster)
    assert sorted(p["name"] for p in result["agent_pods"]) == sorted(p["metadata"]["name"] for p in pods)
    assert sorted(p["node"] for p in result["agent_pods"]) == sorted(p["spec"]["nodeName"] for p in pods)
    image = ds["spec"]["template"]["spec"]["containers"][0]["image"]
    assert agent["image"] == image and result["version"] and result["version"] in image
    assert "ciliumnetworkpolicies.cilium.io" in result["crds"]
    assert "ciliumclusterwidenetworkpolicies.cilium.io" in result["crds"]
    config = kubectl_json(kube_cluster, "get", "configmap", "cilium-config")["data"]
    assert result["config"]["ipam"] == config["ipam"]
    assert result["acns"] == {"enabled": False, "observability": config.get("enable-hubble") == "true",
                              "security": config.get("enable-l7-proxy") == "true", "network_policies": "none",
                              "transit_encryption": "none", "acceleration": "none"}
    assert (result["envoy"], result["hubble_relay"]) == (None, None)
    assert result["aks_managed"], result["aks_evidence"]
    assert result["summary"].startswith("Cilium %s OK (0 errors, 0 warnings): DaemonSet cilium 3/3 ready" % result["version"])

    # A fixed handful of reads, no writes, no per-node calls.
    assert all(r["method"] == "GET" for r in requests), requests
    assert len(requests) <= 10, [r["path"] for r in requests]
    assert not [r for r in requests if "/nodes" in r["path"]]


def test_acns_cluster(ansible, make_kube_cluster):
    cluster = make_kube_cluster(node_count=2, acns_observability=True, acns_security=True)
    result, _outcome, _requests = status(ansible, cluster)
    # ACNS security without a policy mode is AKS's default, FQDN: the DNS proxy, no Envoy
    assert result["acns"] == {"enabled": True, "observability": True, "security": True, "network_policies": "fqdn",
                              "transit_encryption": "none", "acceleration": "none"}, result["config"]
    assert "ACNS observability on, security on (policies fqdn)" in result["summary"]
    assert result["hubble_relay"]["ready"] == 1 and result["envoy"] is None


def test_stalled_agent_pod_is_unhealthy(ansible, kube_cluster):
    kube_cluster.control("stall", selector="k8s-app=cilium", stalled=True)
    kube_cluster.control("nodes", count=4)  # the new node's agent never becomes ready
    until(lambda: any(crash_looping(p) for p in agent_pods(kube_cluster)))
    result, outcome, _requests = status(ansible, kube_cluster, check=True)
    assert outcome == "ok" and not result["healthy"]
    assert "cilium: 1 pods of DaemonSet cilium are not ready" in result["errors"]
    stuck = [p for p in result["agent_pods"] if not p["ready"]]
    pods = agent_pods(kube_cluster)
    assert [p["name"] for p in stuck] == [p["metadata"]["name"] for p in pods if not is_ready(p)]
    assert stuck[0]["reasons"], stuck
    assert any(stuck[0]["name"] in error for error in result["errors"]), result["errors"]
    assert result["summary"].startswith("Cilium %s unhealthy" % result["version"])
    assert "DaemonSet cilium 3/4 ready" in result["summary"]

    # fail_on_unhealthy with a short wait: the task fails, with the report and the summary as message
    result, outcome, requests = status(ansible, kube_cluster, wait=True, wait_timeout=3, fail_on_unhealthy=True)
    assert outcome == "failed" and not result["healthy"]
    assert result["summary"] in result["msg"]
    # the agent is crash-looping by now: like cilium status --wait, the wait ends at once
    assert not result["timed_out"] and result["waited"] < 3, result["waited"]
    assert any("CrashLoopBackOff" in error for error in result["errors"]), result["errors"]


def test_missing_operator_is_unhealthy(ansible, kube_cluster):
    kube_cluster.kubectl("delete", "deployment", "cilium-operator", "-n", "kube-system", "--wait=false")
    result, outcome, _requests = status(ansible, kube_cluster, fail_on_unhealthy=True)
    assert outcome == "failed" and not result["healthy"]
    assert 'cilium-operator: deployments.apps "cilium-operator" not found' in result["errors"]
    assert result["operator"]["present"] is False
    assert "Deployment cilium-operator missing" in result["msg"]
    gone = kube_cluster.kubectl("get", "deploy", "cilium-operator", "-n", "kube-system", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


def test_wait_sees_scale_out_complete(ansible, kube_cluster):
    kube_cluster.control("settings", pod_ready_delay=12.0)  # longer than ansible-playbook takes to start, even on a busy machine
    kube_cluster.control("nodes", count=5)
    result, outcome, requests = status(ansible, kube_cluster, wait=True, wait_timeout=60)
    assert outcome == "ok" and result["healthy"], result["summary"]
    assert result["waited"] > 0.5, "the cluster was healthy before the task started: the test proves nothing"
    assert result["agent"]["desired"] == 5 and result["agent"]["ready"] == 5
    watches = [r for r in requests if is_watch(r)]
    collections = [r for r in requests if r["path"].endswith("/daemonsets/cilium")]
    # Driven by watches that start where the first collection left off (no list before them): the
    # collection is repeated per burst of changes, not on a timer. (A watch still streaming when the
    # module exits may be missing from the log.)
    assert {r["path"] for r in watches} <= {"/api/v1/namespaces/kube-system/pods",
                                            "/apis/apps/v1/namespaces/kube-system/daemonsets",
                                            "/apis/apps/v1/namespaces/kube-system/deployments"}, watches
    assert all(r["query"].get("resourceVersion") for r in watches), watches
    assert 2 <= len(collections) <= 6, (len(collections), result["waited"])


def test_status_playbook_prints_the_runbook_checks(ansible, kube_cluster):
    run = ansible(os.path.join(REPO, "playbooks", "status.yml"), extra_vars={"azcni_kubeconfig": kube_cluster.kubeconfig_path})
    assert run.rc == 0, run.stdout
    lines = run.task("azcni.cilium.cilium_status : Report the runbook checks")["msg"]
    assert lines[0].startswith("DaemonSet cilium: desired 3, ready 3")
    assert lines[1] == "Deployment cilium-operator: ready 2 of 2"
    assert "OK (0 errors, 0 warnings)" in lines[2]


@pytest.mark.parametrize("assert_healthy", [True, False])
def test_status_role_asserts(ansible, kube_cluster, assert_healthy):
    kube_cluster.kubectl("delete", "deployment", "cilium-operator", "-n", "kube-system", "--wait=false")
    play = ("- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
            "    - name: Check Cilium from another role\n      ansible.builtin.include_role:\n"
            "        name: azcni.cilium.cilium_status\n      vars:\n"
            "        cilium_status_kubeconfig: %s\n        cilium_status_wait: false\n"
            "        cilium_status_assert_healthy: %s\n" % (kube_cluster.kubeconfig_path, json.dumps(assert_healthy)))
    run = ansible(play)
    if assert_healthy:
        assert run.rc != 0 and "azcni.cilium.cilium_status : Assert that Cilium is healthy" in run.failed_tasks
        assert 'deployments.apps "cilium-operator" not found' in run.task("azcni.cilium.cilium_status : Assert that Cilium is healthy")["msg"]
    else:
        assert run.rc == 0, run.stdout
        assert run.status("azcni.cilium.cilium_status : Assert that Cilium is healthy") == "skipped"
