# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault rows: each survived, or failed with the service's message and ``changed`` true exactly when a write
was stored; then a re-run converges (the set completes, or nothing more is sent)."""

from __future__ import annotations

import copy
import time

import yaml

from tests.e2e.conftest import arm_clients
from tests.faults.conftest import count, k8s_get, run_batch

CNPS = "/apis/cilium.io/v2/namespaces/%s/ciliumnetworkpolicies"


def cnp(name, namespace):
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": name, "namespace": namespace},
            "spec": {"endpointSelector": {"matchLabels": {"app": name}},
                     "ingress": [{"fromEndpoints": [{"matchLabels": {"role": "client"}}],
                                  "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}]}}


def make_namespace(cluster, name):
    cluster.kubectl("create", "namespace", name)


def writes_of(entries):
    return [e for e in entries if e["method"] in ("PUT", "POST", "PATCH", "DELETE") and
            "All" not in e.get("query", {}).get("dryRun", [])]


def test_a_failed_cluster_is_repaired_by_running_the_task_again(emulator, run_playbook):
    clusters, resources = arm_clients(emulator)
    group = "faults-failed"
    resources.resource_groups.create_or_update(group, {"location": "westeurope"})
    args = dict(name="repairme", resource_group=group, location="westeurope", ipam_mode="overlay",
                system_pool={"count": 3, "vm_size": "Standard_D4ds_v5"}, wait_timeout=120)
    task = [("cluster", "azcni.cilium.aks_cilium_cluster", args)]
    emulator.add_fault(method="PUT", path=r"/managedClusters/repairme$", lro="Failed",
                       error={"code": "ReconcileVNetError", "message": "injected: the operation failed"})
    first = run_batch(run_playbook, emulator, task)
    result = first.task("cluster")
    assert first.result.status("cluster") == "ignored" and "ReconcileVNetError" in result["msg"]
    assert result["changed"] is True and result["stored_operations"] == ["create of cluster repairme"]  # stored
    assert clusters.managed_clusters.get(group, "repairme").provisioning_state == "Failed"

    checked = run_batch(run_playbook, emulator, task, check=True)
    assert checked.task("cluster")["changed"] is True and checked.writes("cluster") == []  # check mode says it would

    second = run_batch(run_playbook, emulator, task)
    assert second.result.status("cluster") == "changed", second.task("cluster")
    assert [w["method"] for w in second.writes("cluster")] == ["PUT"]  # the same model, sent again
    assert clusters.managed_clusters.get(group, "repairme").provisioning_state == "Succeeded"

    third = run_batch(run_playbook, emulator, task)
    assert third.result.status("cluster") == "ok" and third.writes("cluster") == []
    count("survived", "converged")


def test_ten_policies_whose_seventh_has_an_unknown_field_write_nothing(emulator, run_playbook, cluster, tmp_path):
    make_namespace(cluster, "ten")
    for index in range(10):
        policy = cnp("p%02d" % index, "ten")
        if index == 6:
            policy["spec"]["ingresss"] = []  # the typo the server's strict validation refuses
        (tmp_path / ("p%02d.yaml" % index)).write_text(yaml.safe_dump(policy))
    defaults = {"group/azcni.cilium.k8s": {"kubeconfig": cluster.kubeconfig_path}}
    task = [("policies", "azcni.cilium.cilium_policy", {"src": str(tmp_path)})]
    batch = run_batch(run_playbook, emulator, task, clusters=[cluster], module_defaults=defaults)
    result = batch.task("policies")
    assert batch.result.status("policies") == "ignored" and result["changed"] is False
    assert writes_of(batch.writes("policies")) == [] and batch.writes("policies") == []
    assert "p06.yaml" in result["msg"] and "ingresss" in result["msg"]
    assert k8s_get(cluster, CNPS % "ten").json()["items"] == []  # none of the nine good ones either

    (tmp_path / "p06.yaml").write_text(yaml.safe_dump(cnp("p06", "ten")))  # fixed: the re-run applies all ten
    fixed = run_batch(run_playbook, emulator, task, clusters=[cluster], module_defaults=defaults)
    assert fixed.task("policies")["counts"]["created"] == 10
    again = run_batch(run_playbook, emulator, task, clusters=[cluster], module_defaults=defaults)
    assert again.result.status("policies") == "ok" and again.writes("policies") == []
    count("refused before write", "converged")


def test_two_thousand_policies_under_five_percent_write_errors(emulator, run_playbook, cluster, tmp_path):
    make_namespace(cluster, "load")
    policies = [cnp("load-%04d" % index, "load") for index in range(2000)]
    source = tmp_path / "policies.yaml"
    source.write_text(yaml.safe_dump_all(policies))
    defaults = {"group/azcni.cilium.k8s": {"kubeconfig": cluster.kubeconfig_path}}
    task = [("load", "azcni.cilium.cilium_policy", {"src": str(source), "concurrency": 8})]
    cluster.clear_requests()
    cluster.add_fault(method="PATCH", path="/ciliumnetworkpolicies/", status=500, count=-1, probability=0.05, seed=15)
    started = time.time()
    first = run_batch(run_playbook, emulator, task, clusters=[cluster], module_defaults=defaults)
    seconds = time.time() - started
    cluster.clear_faults()
    result = first.task("load")
    assert first.result.status("load") == "changed", result.get("msg")
    assert result["counts"]["created"] == 2000 and result["counts"]["failed"] == 0
    injected = [e for e in cluster.requests() if e["method"] == "PATCH" and e["status"] == 500]
    assert len(injected) > 100  # the faults did happen (5% of ~4,000 writes and dry runs)
    stored = k8s_get(cluster, CNPS % "load")
    assert len(stored.json()["items"]) == 2000
    again = run_batch(run_playbook, emulator, task, clusters=[cluster], module_defaults=defaults)
    assert again.result.status("load") == "ok" and again.writes("load") == []
    print("\nload run: 2000/2000 applied in one run in %.1f s, %d injected 500s survived; re-run: 0 writes"
          % (seconds, len(injected)))
    count("survived", "converged")


def test_a_restart_survives_watch_errors_and_says_it_changed(emulator, run_playbook, cluster):
    defaults = {"group/azcni.cilium.k8s": {"kubeconfig": cluster.kubeconfig_path}}
    task = [("restart", "azcni.cilium.cilium_restart", {"targets": ["operator"], "wait_timeout": 120})]
    cluster.add_fault(method="GET", path="/deployments$", status=500, count=1, skip=1)
    cluster.add_fault(method="GET", path="/deployments$", status=429, count=1, skip=0)
    batch = run_batch(run_playbook, emulator, task, clusters=[cluster], module_defaults=defaults)
    cluster.clear_faults()
    result = batch.task("restart")
    assert batch.result.status("restart") == "changed", result.get("msg")
    assert [w["method"] for w in batch.writes("restart")] == ["PATCH"]
    count("survived", "converged")


def test_a_failed_update_whose_tags_were_stored_reports_changed(emulator, run_playbook):
    clusters, resources = arm_clients(emulator)
    group = "faults-tags"
    resources.resource_groups.create_or_update(group, {"location": "westeurope"})
    args = dict(name="tagged", resource_group=group, location="westeurope", ipam_mode="overlay",
                system_pool={"count": 3, "vm_size": "Standard_D4ds_v5"}, wait_timeout=120)
    created = run_batch(run_playbook, emulator, [("cluster", "azcni.cilium.aks_cilium_cluster", args)])
    assert created.result.status("cluster") == "changed"
    emulator.add_fault(method="PUT", path=r"/managedClusters/tagged$", lro="Failed")
    tagged = dict(copy.deepcopy(args), tags={"team": "net"})
    failed = run_batch(run_playbook, emulator, [("cluster", "azcni.cilium.aks_cilium_cluster", tagged)])
    result = failed.task("cluster")
    assert failed.result.status("cluster") == "ignored" and result["changed"] is True
    assert clusters.managed_clusters.get(group, "tagged").tags == {"team": "net"}  # the write was stored
    repaired = run_batch(run_playbook, emulator, [("cluster", "azcni.cilium.aks_cilium_cluster", tagged)])
    assert repaired.result.status("cluster") == "changed"  # Failed: reconciled by sending the model again
    settled = run_batch(run_playbook, emulator, [("cluster", "azcni.cilium.aks_cilium_cluster", tagged)])
    assert settled.result.status("cluster") == "ok" and settled.writes("cluster") == []
    count("survived", "converged")


def test_wait_timeout_expiry_after_an_accepted_create_reports_changed(emulator, run_playbook):
    _clusters, resources = arm_clients(emulator)
    group = "faults-slow"
    resources.resource_groups.create_or_update(group, {"location": "westeurope"})
    args = dict(name="slow", resource_group=group, location="westeurope", ipam_mode="overlay",
                system_pool={"count": 3, "vm_size": "Standard_D4ds_v5"}, wait_timeout=5)
    emulator.add_fault(method="PUT", path=r"/managedClusters/slow$", provision_delay=3600)
    emulator.arm.settings.retry_after = 45  # Retry-After: 45 must not hold a 5 s task for 45 s
    started = time.time()
    batch = run_batch(run_playbook, emulator, [("cluster", "azcni.cilium.aks_cilium_cluster", args)])
    took = time.time() - started
    emulator.arm.settings.retry_after = 1
    result = batch.task("cluster")
    assert batch.result.status("cluster") == "ignored" and "Timed out after 5 s" in result["msg"]
    assert result["changed"] is True and result["stored_operations"] == ["create of cluster slow"]
    assert took < 30, took
    emulator.arm.finish_operations()
    again = run_batch(run_playbook, emulator, [("cluster", "azcni.cilium.aks_cilium_cluster", dict(args, wait_timeout=60))])
    assert again.result.status("cluster") == "ok" and again.writes("cluster") == []
    count("survived", "converged")
