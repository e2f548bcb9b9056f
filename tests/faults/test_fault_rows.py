# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault rows: each survived, or failed with the service's message and ``changed`` true exactly when a write
was stored; then a re-run converges (the set completes, or nothing more is sent)."""

from __future__ import annotations

import contextlib
import copy
import os
import time

import pytest
import yaml

from tests.e2e.conftest import arm_clients
from tests.faults.conftest import count, k8s_get, run_batch

CNPS = "/apis/cilium.io/v2/namespaces/%s/ciliumnetworkpolicies"


def cnp(name, namespace):
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": name, "namespace": namespace},
            "spec": {"endpointSelector": {"matchLabels": {"app": name}},
                     "ingress": [{"fromEndpoints": [{"matchLabels": {"role": "client"}}],
                                  "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}]}}


@contextlib.contextmanager
def slow_rollouts(cluster):
    """Pods take a while to be ready, so a restart's rollouts are still going when its watches start (else the
    first list may already show them done, no watch is needed, and the faults on the watches are never met)."""
    before = cluster.control("settings")["pod_ready_delay"]
    cluster.control("settings", pod_ready_delay=0.5)
    try:
        yield
    finally:
        cluster.control("settings", pod_ready_delay=before)


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
    started = time.time()
    with slow_rollouts(cluster):
        batch = run_batch(run_playbook, emulator, task, clusters=[cluster], module_defaults=defaults)
    met = sorted(e["status"] for e in cluster.requests() if e["method"] == "GET" and e["status"] in (429, 500)
                 and e["path"].endswith("/deployments") and e["time"] >= started)
    cluster.clear_faults()
    result = batch.task("restart")
    assert batch.result.status("restart") == "changed", result.get("msg")
    assert [w["method"] for w in batch.writes("restart")] == ["PATCH"]
    assert met == [429, 500], met  # the watch errors were met, and survived
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


def test_a_second_410_on_the_relist_during_a_restart_is_survived(emulator, run_playbook, cluster):
    """The watch answers 410 Gone, and so does the re-list after it: the restart still waits its rollouts out,
    one PATCH per target, changed true. (A restart is an action: its re-run restarts again, nothing converges.)"""
    defaults = {"group/azcni.cilium.k8s": {"kubeconfig": cluster.kubeconfig_path}}
    task = [("restart410", "azcni.cilium.cilium_restart", {"targets": ["agent", "operator"], "wait_timeout": 120})]
    for kind in ("daemonsets", "deployments"):  # skip the first list: the watch and the re-list after it get 410
        cluster.add_fault(method="GET", path="/%s$" % kind, status=410, count=2, skip=1)
    started = time.time()
    with slow_rollouts(cluster):
        batch = run_batch(run_playbook, emulator, task, clusters=[cluster], module_defaults=defaults)
    gone = [e for e in cluster.requests() if e["method"] == "GET" and e["status"] == 410 and e["time"] >= started]
    cluster.clear_faults()
    result = batch.task("restart410")
    assert batch.result.status("restart410") == "changed", result.get("msg")
    assert sorted(w["path"].rsplit("/", 2)[-2] for w in batch.writes("restart410")) == ["daemonsets", "deployments"]
    assert [w["method"] for w in batch.writes("restart410")] == ["PATCH", "PATCH"]
    assert len(gone) == 4, gone  # both 410s of both targets were met and survived
    count("survived")


# --- ARM rows: one playbook per round for all of them (each row its own VNet or cluster) -------------------
ROWS_RG = "faults-rows"
SPACE = {"sib": "10.70.0.0/16", "r429": "10.71.0.0/16", "r503": "10.72.0.0/16", "rreset": "10.73.0.0/16",
         "rread500": "10.74.0.0/16"}
INVALID = {"error": {"code": "InvalidRequestFormat", "message": "injected: Cannot parse the request."}}


def network(vnet, *subnets):
    first = SPACE[vnet].split(".")
    return ("net-" + vnet, "azcni.cilium.aks_network", dict(
        resource_group=ROWS_RG, location="westeurope", vnet_name=vnet, address_prefixes=[SPACE[vnet]],
        subnets=[{"name": name, "address_prefix": "%s.%s.%d.0/24" % (first[0], first[1], index)}
                 for index, name in enumerate(subnets)]))


def aks_cluster(name):
    return ("cluster-" + name, "azcni.cilium.aks_cilium_cluster", dict(
        name=name, resource_group=ROWS_RG, location="westeurope", ipam_mode="overlay", wait_timeout=120,
        system_pool={"count": 1, "vm_size": "Standard_D4ds_v5"}))


def pool(cluster_name, label="pool-", extra=None):
    return (label + cluster_name, "azcni.cilium.aks_cilium_nodepool", dict(
        resource_group=ROWS_RG, cluster_name=cluster_name, name="user1", count=2, vm_size="Standard_D4ds_v5",
        wait_timeout=120), extra or {})


NETWORKS = [network("sib", "a", "b"), network("r429", "nodes"), network("r503", "nodes"), network("rreset", "nodes"),
            network("rread500", "nodes")]


@pytest.fixture(scope="module")
def rows(emulator, run_playbook):
    """Round 1 under the faults, round 2 (the re-run, with a check-mode task first), round 3 (must send nothing):
    three playbook runs for all the rows."""
    clusters, resources = arm_clients(emulator)
    resources.resource_groups.create_or_update(ROWS_RG, {"location": "westeurope"})
    # the second subnet of sib is refused (not retryable) after the first was stored
    emulator.add_fault(method="PUT", path=r"/virtualNetworks/sib/subnets/b$", status=400, body=INVALID)
    emulator.add_fault(method="PUT", path=r"/virtualNetworks/r429$", status=429, headers={"Retry-After": "1"})
    emulator.add_fault(method="PUT", path=r"/virtualNetworks/r503$", status=503, count=2)
    emulator.add_fault(method="PUT", path=r"/virtualNetworks/rreset$", reset=True)
    emulator.add_fault(method="GET", path=r"/virtualNetworks/rread500$", status=500)
    for name in ("npf", "cpf"):  # the pools' create operations end Failed, as a quota error would leave them
        emulator.add_fault(method="PUT", path=r"/managedClusters/%s/agentPools/user1$" % name, lro="Failed",
                           error={"code": "QuotaExceeded", "message": "injected: the operation ended Failed"})
    # sib-vnet makes sib without subnets first, so that each of net-sib's subnets is its own PUT
    setup = [("sib-vnet",) + network("sib")[1:]]
    first = run_batch(run_playbook, emulator, setup + NETWORKS + [aks_cluster("npf"), pool("npf"), aks_cluster("cpf"),
                                                                  pool("cpf")])
    assert first.result.status("sib-vnet") == "changed", first.task("sib-vnet")
    emulator.clear_faults()
    states = {name: clusters.agent_pools.get(ROWS_RG, name, "user1").provisioning_state for name in ("npf", "cpf")}
    # round 2: the node pool task repairs its own pool; the cluster task repairs cpf's pool (a cluster PUT
    # reconciles the pools too), so its pool task then finds nothing to do
    second = run_batch(run_playbook, emulator, NETWORKS + [pool("npf", "check-", {"check_mode": True}), pool("npf"),
                                                           aks_cluster("cpf"), pool("cpf")])
    third = run_batch(run_playbook, emulator, NETWORKS + [aks_cluster("npf"), pool("npf"), aks_cluster("cpf"), pool("cpf")])
    return {"first": first, "second": second, "third": third, "states": states,
            "after": {name: clusters.agent_pools.get(ROWS_RG, name, "user1").provisioning_state for name in ("npf", "cpf")}}


def sent(batch, task):
    """(method, last two path segments, status) of each write the task sent, in order."""
    return [(w["method"], "/".join(w["path"].split("/")[-2:]), w["status"]) for w in batch.writes(task)]


def converged(rows_, *tasks):
    for task in tasks:
        assert rows_["third"].result.status(task) == "ok", (task, rows_["third"].task(task))
        assert rows_["third"].writes(task) == [], (task, rows_["third"].writes(task))


def test_a_subnet_stored_before_its_sibling_failed_reports_changed_and_the_rerun_completes(rows):
    first, result = rows["first"], rows["first"].task("net-sib")
    assert first.result.status("net-sib") == "ignored" and "InvalidRequestFormat" in result["msg"]
    assert result["changed"] is True and result["stored_operations"] == ["create or update subnet a"]
    assert sent(first, "net-sib") == [("PUT", "subnets/a", 201), ("PUT", "subnets/b", 400)]
    assert rows["second"].result.status("net-sib") == "changed"
    assert sent(rows["second"], "net-sib") == [("PUT", "subnets/b", 201)]  # only the missing one
    converged(rows, "net-sib")
    count("survived", "converged")


@pytest.mark.parametrize("vnet, statuses", [("r429", [429, 201]), ("r503", [503, 503, 201]), ("rreset", [0, 201])],
                         ids=["arm-429-retry-after", "arm-503-twice", "arm-connection-reset"])
def test_an_arm_write_throttled_failing_or_reset_is_retried(rows, vnet, statuses):
    task = "net-" + vnet
    assert rows["first"].result.status(task) == "changed", rows["first"].task(task).get("msg")
    assert sent(rows["first"], task) == [("PUT", "virtualNetworks/" + vnet, status) for status in statuses]
    assert rows["second"].result.status(task) == "ok" and rows["second"].writes(task) == []
    converged(rows, task)
    count("survived", "converged")


def test_an_arm_read_answered_500_is_retried(rows):
    assert rows["first"].result.status("net-rread500") == "changed", rows["first"].task("net-rread500").get("msg")
    assert sent(rows["first"], "net-rread500") == [("PUT", "virtualNetworks/rread500", 201)]
    converged(rows, "net-rread500")
    count("survived", "converged")


def test_a_pool_left_failed_is_repaired_by_running_the_pool_task_again(rows):
    first, second = rows["first"], rows["second"]
    result = first.task("pool-npf")
    assert first.result.status("pool-npf") == "ignored" and "QuotaExceeded" in result["msg"]
    assert result["changed"] is True and result["stored_operations"] == ["create of pool user1"]
    assert rows["states"]["npf"] == "Failed"
    checked = second.task("check-npf")
    assert checked["changed"] is True and checked["operations"] == ["reconcile"] and second.writes("check-npf") == []
    assert second.result.status("pool-npf") == "changed" and second.task("pool-npf")["operations"] == ["reconcile"]
    assert sent(second, "pool-npf") == [("PUT", "agentPools/user1", 200)]  # its own model, sent again
    assert rows["after"]["npf"] == "Succeeded"
    converged(rows, "pool-npf", "cluster-npf")
    count("survived", "converged")


def test_a_failed_pool_of_a_succeeded_cluster_is_repaired_by_the_cluster_task(rows):
    second = rows["second"]
    assert rows["states"]["cpf"] == "Failed" and rows["first"].task("pool-cpf")["changed"] is True
    assert second.result.status("cluster-cpf") == "changed", second.task("cluster-cpf").get("msg")
    assert second.task("cluster-cpf")["operations"] == ["reconcile"]
    assert [(m, path) for m, path, _status in sent(second, "cluster-cpf")] == [("PUT", "managedClusters/cpf")]
    assert second.result.status("pool-cpf") == "ok" and second.writes("pool-cpf") == []
    assert rows["after"]["cpf"] == "Succeeded"
    converged(rows, "pool-cpf", "cluster-cpf")
    count("survived", "converged")


def test_a_killed_kubeconfig_write_is_cleaned_up_and_tls_off_warns_once_per_task(emulator, run_playbook, cluster, tmp_path):
    """Row 10: the temp file a killed kubeconfig write left (0600, maybe half a credential) is removed by the next
    run, which changes nothing else; turning TLS verification off says so once per task, on both layers."""
    path = tmp_path / "kube" / "config"
    task = ("kubeconfig", "azcni.cilium.aks_kubeconfig", {"name": cluster.name, "resource_group": cluster.resource_group,
                                                          "path": str(path)})
    first = run_batch(run_playbook, emulator, [task])
    assert first.result.status("kubeconfig") == "changed" and path.exists()
    orphan = path.parent / ".config.k1ll3d.tmp"  # what the writer's mkstemp left when kill -9 hit mid-write
    orphan.write_text("users: [{name: half, user: {token: secret-part")
    os.chmod(str(orphan), 0o600)
    unrelated = path.parent / ".other.x.tmp"  # another file's temp: not ours to remove
    unrelated.write_text("")
    tls_off = [("info", "azcni.cilium.aks_cilium_cluster_info", {"name": cluster.name, "resource_group": cluster.resource_group,
                                                                 "cert_validation_mode": "ignore"}),
               ("status", "azcni.cilium.cilium_status", {"kubeconfig": cluster.kubeconfig_path, "validate_certs": False})]
    second = run_batch(run_playbook, emulator, [task] + tls_off, clusters=[cluster])
    assert second.result.status("kubeconfig") == "ok"  # the same credentials: nothing to write
    assert not orphan.exists() and unrelated.exists()
    for name, prefix in (("info", "TLS verification of Azure endpoints is off"),
                         ("status", "TLS verification of the Kubernetes API server is off")):
        result = second.task(name)
        assert second.result.status(name) == "ok", result.get("msg")
        warned = [w for w in result.get("warnings") or [] if w.startswith(prefix)]
        assert len(warned) == 1, result.get("warnings")
        assert second.writes(name) == []
    count("survived", "converged")
