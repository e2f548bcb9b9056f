# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Migration checks: the ARM-side rules, the in-cluster join, the gate aks_cilium_cluster runs, inventory host vars."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._aks import cluster_runner as aks_cluster_runner
from ansible_collections.azcni.cilium.plugins.module_utils._aks import migration
from ansible_collections.azcni.cilium.plugins.module_utils._aks.inventory import host_vars
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.client import K8sApiError
from ansible_collections.azcni.cilium.plugins.module_utils._cilium import images
from ansible_collections.azcni.cilium.plugins.module_utils._migration import runner
from ansible_collections.azcni.cilium.tests.unit.plugins.module_utils.test_aks_cluster import (
    Failed, FakeArm, FakeAz, plan_for, returned_cluster)


def kubenet(**changes):
    cluster = returned_cluster("kubenet", dataplane="azure", policy="none", plugin="kubenet")
    cluster["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {"/x/id": {}}}
    cluster["properties"].update(changes)
    return cluster


def ids(items):
    return [item["id"] for item in items]


def findings(cluster, **options):
    the_plan = plan_for(cluster, allow_migration=True, **options)
    return migration.arm_findings(cluster, the_plan, migration.state_view(cluster, "kubenet"))


def test_a_clean_kubenet_cluster_has_no_blocker():
    assert findings(kubenet()) == ([], [])


@pytest.mark.parametrize("change, rule", [
    (lambda c: c["properties"]["agentPoolProfiles"].append({"name": "win", "osType": "Windows"}), "windows-pools"),
    (lambda c: c["properties"].update(nodeProvisioningProfile={"mode": "Auto"}), "node-auto-provisioning"),
    (lambda c: c["properties"].update(currentKubernetesVersion="1.26.6"), "kubernetes-version,cilium-version"),
    (lambda c: c["properties"].update(currentKubernetesVersion="1.30.4"), "cilium-version"),
    (lambda c: (c.update(identity={"type": "SystemAssigned"}),
                c["properties"]["agentPoolProfiles"][0].update(vnetSubnetID="/s/vnet/subnets/nodes")), "kubenet-identity"),
    (lambda c: c["properties"].update(provisioningState="Failed"), "cluster-state"),
])
def test_each_arm_rule_blocks(change, rule):
    cluster = kubenet()
    change(cluster)
    blockers, _warnings = findings(cluster)
    assert ids(blockers) == rule.split(","), blockers
    assert all(b["message"] and migration.RULES[b["id"]][0] == "blocker" for b in blockers)


def test_kubenet_in_the_managed_vnet_needs_no_user_assigned_identity():
    cluster = kubenet()
    cluster["identity"] = {"type": "SystemAssigned"}
    assert findings(cluster) == ([], [])


def test_no_migration_no_migration_blockers():
    cluster = returned_cluster()  # already overlay + cilium
    cluster["properties"]["agentPoolProfiles"].append({"name": "win", "osType": "Windows"})
    assert findings(cluster) == ([], [])


def test_policy_engine_removal_is_a_warning_and_a_step_that_reimages_nothing():
    cluster = kubenet()
    cluster["properties"]["networkProfile"]["networkPolicy"] = "calico"
    the_plan = plan_for(cluster, allow_migration=True)
    blockers, warnings = migration.arm_findings(cluster, the_plan, migration.state_view(cluster, "kubenet"))
    assert blockers == [] and ids(warnings) == ["policy-engine-removal"]
    steps = migration.steps_view(the_plan, cluster)
    assert [(s["operation"], s["reimages"]) for s in steps] == [
        ("remove-policy", []), ("migrate-ipam", ["system", "user1"]), ("migrate-dataplane", ["system", "user1"])]
    assert steps[1]["changes"] == {"networkPlugin": "azure", "networkPluginMode": "overlay", "podCidr": "10.244.0.0/16"}


def test_aks_cilium_versions_follow_the_table():
    assert [migration.aks_cilium_version(v) for v in ("1.30.9", "1.31.10", "1.33.2", "1.35", "1.36.1")] == [
        None, "1.16.16", "1.17.9", "1.18.6", "1.18.9"]


def test_ignore_blockers_splits_by_id():
    standing, accepted = migration.split_ignored([{"id": "a"}, {"id": "b"}], ["b", "zzz"])
    assert (ids(standing), ids(accepted)) == (["a"], ["b"])


# --- the in-cluster join -----------------------------------------------------------------------------
def ready_pod(name, node, labels, namespace="default"):
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels,
                         "ownerReferences": [{"kind": "ReplicaSet", "name": "rs", "controller": True}]},
            "spec": {"nodeName": node, "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 80}]}]},
            "status": {"phase": "Running", "podIP": "10.244.0.10", "conditions": [{"type": "Ready", "status": "True"}]}}


class FakeKube(object):
    def __init__(self, objects, missing=(), agent=None):
        self.objects, self.missing, self.agent, self.calls = objects, missing, agent, []

    def list(self, path):
        self.calls.append(path)
        if path in self.missing:
            raise K8sApiError(404, "NotFound", "the server could not find the requested resource")
        return self.objects.get(path, []), "1"

    def get(self, path):
        self.calls.append(path)
        return self.agent


NODES = [{"metadata": {"name": "n0", "labels": {"agentpool": "system", "kubernetes.io/os": "linux"}},
          "status": {"addresses": [{"type": "InternalIP", "address": "10.224.0.4"}]}}]


def kube_with(budget_spec, allowed):
    pods = [ready_pod("web-1", "n0", {"app": "web"})]
    budget = {"metadata": {"name": "web", "namespace": "default", "generation": 1},
              "spec": dict(budget_spec, selector={"matchLabels": {"app": "web"}}),
              "status": {"disruptionsAllowed": allowed, "observedGeneration": 1}}
    policy = {"metadata": {"name": "named", "namespace": "default"},
              "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
                       "ingress": [{"ports": [{"port": "http"}], "from": [{"podSelector": {}}]}]}}
    return FakeKube({runner.COLLECTIONS["pods"]: pods, runner.COLLECTIONS["nodes"]: NODES,
                     runner.COLLECTIONS["budgets"]: [budget], runner.COLLECTIONS["policies"]: [policy]},
                    missing=(runner.IDENTITIES,))


def test_assess_joins_arm_facts_budgets_and_policies(monkeypatch):
    kube = kube_with({"maxUnavailable": 0}, 0)
    monkeypatch.setattr(runner, "kube_client", lambda az, params: kube)
    cluster = kubenet()
    report = runner.assess(None, {}, cluster, plan_for(cluster, allow_migration=True))
    assert ids(report["blockers"]) == ["pdb-no-disruptions"] and report["ready"] is False
    assert report["current"]["ipam_mode"] == "kubenet" and report["target"]["ipam_mode"] == "overlay"
    assert report["target"]["cilium_version"] == "1.17.9" and report["current"]["cilium_version"] is None
    assert [f["id"] for f in report["network_policy_findings"]] == ["named-port"]
    assert report["suggested_policies"][0]["kind"] == "CiliumNetworkPolicy"
    assert runner.IDENTITIES in kube.calls  # asked, got 404 (no Cilium yet): the count is estimated


def test_unreachable_cluster_is_a_blocker(monkeypatch):
    def refuse(az, params):
        raise runner.Unreachable("connection refused")
    monkeypatch.setattr(runner, "kube_client", refuse)
    cluster = kubenet()
    report = runner.assess(None, {}, cluster, plan_for(cluster, allow_migration=True))
    assert ids(report["blockers"]) == ["cluster-unreachable"] and "connection refused" in report["blockers"][0]["message"]


def test_identity_count_near_the_limit(monkeypatch):
    identities = [{"metadata": {"name": str(i)}} for i in range(60000)]
    kube = FakeKube({runner.IDENTITIES: identities, runner.COLLECTIONS["nodes"]: NODES})
    blockers, warnings = runner.in_cluster_findings(kubenet(), runner.read_cluster(kube, with_policies=False))
    assert blockers == [] and ids(warnings) == ["identity-count"] and "60000 Cilium identities" in warnings[0]["message"]
    kube.objects[runner.IDENTITIES] = identities * 2
    blockers, _warnings = runner.in_cluster_findings(kubenet(), runner.read_cluster(kube, with_policies=False))
    assert ids(blockers) == ["identity-limit"]


def test_cilium_version_from_the_agent_image():
    agent = {"spec": {"template": {"spec": {"containers": [
        {"image": "mcr.microsoft.com/containernetworking/cilium/cilium:v1.17.9-250915"}]}}}}
    assert images.agent_version(agent) == "1.17.9" and images.agent_version(None) is None


# --- the gate in aks_cilium_cluster ----------------------------------------------------------------------
def gate_returning(standing=(), accepted=(), warnings=()):
    seen = []

    def gate(az, params, cluster, the_plan):
        seen.append(the_plan.operations)
        return list(standing), list(accepted), list(warnings)
    return gate, seen


def test_a_standing_blocker_refuses_before_any_write():
    arm = FakeArm(kubenet())
    gate, seen = gate_returning(standing=[{"id": "pdb-no-disruptions", "message": "web allows 0", "object": "x"}])
    with pytest.raises(Failed) as failed:
        aks_cluster_runner.ClusterRunner(FakeAz(arm, allow_migration=True), gate=gate).run()
    assert arm.writes == [] and seen == [["migrate-ipam", "migrate-dataplane"]]
    assert "pdb-no-disruptions: web allows 0" in failed.value.args[0]["msg"]
    assert ids(failed.value.args[0]["blockers"]) == ["pdb-no-disruptions"]


def test_accepted_blockers_and_warnings_are_reported_and_the_migration_runs():
    arm = FakeArm(kubenet())
    gate, _seen = gate_returning(accepted=[{"id": "pdb-slow-drain", "message": "slow", "object": None}],
                                 warnings=[{"id": "policy-engine-removal", "message": "gone", "object": None}])
    az = FakeAz(arm, allow_migration=True)
    result = aks_cluster_runner.ClusterRunner(az, gate=gate).run()
    assert result["operations"] == ["migrate-ipam", "migrate-dataplane"] and len(arm.writes) == 2
    assert any("pdb-slow-drain accepted" in w for w in az.warnings) and any("gone" in w for w in az.warnings)


def test_the_gate_is_not_asked_without_a_migration():
    arm = FakeArm(returned_cluster())
    gate, seen = gate_returning(standing=[{"id": "x", "message": "y", "object": None}])
    result = aks_cluster_runner.ClusterRunner(FakeAz(arm, allow_migration=True), gate=gate).run()
    assert not result["changed"] and seen == []


def test_the_gate_joins_the_same_assessment(monkeypatch):
    monkeypatch.setattr(runner, "kube_client", lambda az, params: kube_with({"maxUnavailable": 0}, 0))
    cluster = kubenet()
    standing, accepted, _warnings = runner.gate(None, {"ignore_blockers": []}, cluster,
                                                plan_for(cluster, allow_migration=True))
    assert ids(standing) == ["pdb-no-disruptions"] and accepted == []
    standing, accepted, _warnings = runner.gate(None, {"ignore_blockers": ["pdb-no-disruptions"]}, cluster,
                                                plan_for(cluster, allow_migration=True))
    assert standing == [] and ids(accepted) == ["pdb-no-disruptions"]


# --- inventory host vars ---------------------------------------------------------------------------------
def test_host_vars_carry_the_network_profile_for_groups():
    cluster = copy.deepcopy(returned_cluster("node-subnet", dataplane="azure", policy="azure"))
    cluster.update(id="/subscriptions/0000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1",
                   name="c1", location="westeurope", tags={"wave": "1"})
    variables = host_vars(cluster)
    assert (variables["aks_cluster_name"], variables["aks_resource_group"], variables["aks_subscription_id"]) == (
        "c1", "rg1", "0000")
    assert (variables["aks_ipam_mode"], variables["aks_network_dataplane"], variables["aks_network_policy"]) == (
        "node_subnet", "azure", "azure")
    assert [p["name"] for p in variables["aks_node_pools"]] == ["system", "user1"]
    assert variables["aks_node_provisioning_mode"] == "manual" and variables["aks_tags"] == {"wave": "1"}
