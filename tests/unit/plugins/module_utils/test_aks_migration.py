# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Migration checks: the ARM-side rules, the in-cluster checks and their join, the gate aks_cilium_cluster runs,
inventory host vars."""

from __future__ import annotations

import base64
import copy

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._aks import cluster_runner as aks_cluster_runner
from ansible_collections.azcni.cilium.plugins.module_utils._aks import migration, migration_runner
from ansible_collections.azcni.cilium.plugins.module_utils._aks.inventory import host_vars
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureError
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.client import K8sApiError
from ansible_collections.azcni.cilium.plugins.module_utils._cilium import images, migration_checks
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
    collections = migration_checks.COLLECTIONS
    return FakeKube({collections["pods"]: pods, collections["nodes"]: NODES, collections["budgets"]: [budget],
                     collections["policies"]: [policy]}, missing=(migration_checks.IDENTITIES,))


KUBECONFIG = {"apiVersion": "v1", "kind": "Config"}  # given as the kubeconfig option: no credentials from Azure


def run_command(args, **kwargs):  # AnsibleModule's: what runs a kubeconfig's exec credential plugin
    raise AssertionError("not run by these tests")


class ModuleAz(object):
    """The one thing assess takes from the AzureModule when the kubeconfig is given: its run_command."""
    module = type("Module", (), {"run_command": staticmethod(run_command)})


def kube_for(monkeypatch, kube):
    """The in-cluster checks reach ``kube``; returns the (kubeconfig, context, run_command) they were given."""
    seen = []

    def client(kubeconfig, context, run_command=None):
        seen.append((kubeconfig, context, run_command))
        return kube
    monkeypatch.setattr(migration_checks, "kube_client", client)
    return seen


def test_assess_joins_arm_facts_budgets_and_policies(monkeypatch):
    kube = kube_with({"maxUnavailable": 0}, 0)
    seen = kube_for(monkeypatch, kube)
    cluster = kubenet()
    report = migration_runner.assess(ModuleAz(), {"kubeconfig": KUBECONFIG, "context": "ctx"}, cluster,
                                     plan_for(cluster, allow_migration=True), migration_checks.cluster_checks)
    assert seen == [(KUBECONFIG, "ctx", run_command)]  # exec plugins (kubelogin) run through the module
    assert ids(report["blockers"]) == ["pdb-no-disruptions"] and report["ready"] is False
    assert report["current"]["ipam_mode"] == "kubenet" and report["target"]["ipam_mode"] == "overlay"
    assert report["target"]["cilium_version"] == "1.17.9" and report["current"]["cilium_version"] is None
    assert [f["id"] for f in report["network_policy_findings"]] == ["named-port"]
    assert report["suggested_policies"][0]["kind"] == "CiliumNetworkPolicy"
    assert migration_checks.IDENTITIES in kube.calls  # asked, got 404 (no Cilium yet): the count is estimated


def test_the_in_cluster_checks_get_the_pools_the_pod_range_and_the_target_cilium():
    asked = []

    def in_cluster(kubeconfig, **given):
        asked.append(dict(given, kubeconfig=kubeconfig))
        return {"cilium_version": "1.14.5", "blockers": [], "warnings": [], "findings": [], "suggested": []}
    cluster = kubenet()
    report = migration_runner.assess(ModuleAz(), {"kubeconfig": KUBECONFIG}, cluster, plan_for(cluster, allow_migration=True),
                                     in_cluster)
    assert [(a["kubeconfig"], a["context"], a["pod_cidrs"], a["cilium_version"], a["with_policies"]) for a in asked] == [
        (KUBECONFIG, None, ["10.244.0.0/16"], "1.17.9", True)]
    assert [p["name"] for p in asked[0]["pools"]] == ["system", "user1"] and "max_surge" in asked[0]["pools"][0]
    assert report["current"]["cilium_version"] == "1.14.5" and report["ready"] is True


def test_unreachable_cluster_is_a_blocker(monkeypatch):
    def refuse(kubeconfig, context, run_command=None):
        raise migration_checks.Unreachable("connection refused")
    monkeypatch.setattr(migration_checks, "kube_client", refuse)
    cluster = kubenet()
    report = migration_runner.assess(ModuleAz(), {"kubeconfig": KUBECONFIG}, cluster, plan_for(cluster, allow_migration=True),
                                     migration_checks.cluster_checks)
    assert ids(report["blockers"]) == ["cluster-unreachable"] and "connection refused" in report["blockers"][0]["message"]


class NoCredentialsAz(object):
    """An AzureModule whose credential reads fail as ARM answers a caller without listClusterUserCredential rights."""

    params = {"resource_group": "rg", "name": "c1"}

    def client(self, kind):
        return type("CS", (), {"managed_clusters": type("MC", (), {
            "list_cluster_user_credentials": None, "list_cluster_admin_credentials": None})()})()

    def call(self, operation, *args):
        raise AzureError("The client does not have authorization", code="AuthorizationFailed", status=403)


def test_credentials_azure_refuses_make_the_cluster_unreachable_without_asking_it():
    asked = []
    cluster = kubenet()
    report = migration_runner.assess(NoCredentialsAz(), NoCredentialsAz.params, cluster,
                                     plan_for(cluster, allow_migration=True), lambda *a, **k: asked.append(a))
    assert asked == [] and ids(report["blockers"]) == ["cluster-unreachable"]
    assert "reading the cluster's credentials from Azure failed: AuthorizationFailed" in report["blockers"][0]["message"]


def test_identity_count_near_the_limit():
    identities = [{"metadata": {"name": str(i)}} for i in range(60000)]
    kube = FakeKube({migration_checks.IDENTITIES: identities, migration_checks.COLLECTIONS["nodes"]: NODES})
    pools = migration.pools_view(kubenet())
    blockers, warnings = migration_checks.drain_and_identity_findings(
        pools, migration_checks.read_cluster(kube, with_policies=False))
    assert blockers == [] and ids(warnings) == ["identity-count"] and "60000 Cilium identities" in warnings[0]["message"]
    kube.objects[migration_checks.IDENTITIES] = identities * 2
    blockers, _warnings = migration_checks.drain_and_identity_findings(
        pools, migration_checks.read_cluster(kube, with_policies=False))
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
    kube_for(monkeypatch, kube_with({"maxUnavailable": 0}, 0))
    cluster = kubenet()
    standing, accepted, _warnings = migration_runner.gate(ModuleAz(), {"ignore_blockers": [], "kubeconfig": KUBECONFIG},
                                                          cluster, plan_for(cluster, allow_migration=True),
                                                          migration_checks.cluster_checks)
    assert ids(standing) == ["pdb-no-disruptions"] and accepted == []
    standing, accepted, _warnings = migration_runner.gate(
        ModuleAz(), {"ignore_blockers": ["pdb-no-disruptions"], "kubeconfig": KUBECONFIG}, cluster,
        plan_for(cluster, allow_migration=True), migration_checks.cluster_checks)
    assert standing == [] and ids(accepted) == ["pdb-no-disruptions"]


def test_the_gate_asks_the_modules_in_cluster_checks_with_the_clusters_user_credentials():
    asked = []

    def in_cluster(kubeconfig, **given):
        asked.append((kubeconfig, given["with_policies"], given["run_command"]))
        return {"cilium_version": None, "blockers": [{"id": "pdb-no-disruptions", "message": "web allows 0",
                                                      "object": None}], "warnings": [], "findings": [], "suggested": []}
    arm = FakeArm(kubenet())
    az = FakeAz(arm, allow_migration=True)  # aks_cilium_cluster has no kubeconfig option
    text = base64.b64encode(b"apiVersion: v1\nkind: Config\n").decode("ascii")
    az.client("containerservice").managed_clusters.list_cluster_user_credentials = \
        lambda rg, name: {"kubeconfigs": [{"name": "clusterUser", "value": text}]}
    with pytest.raises(Failed) as failed:
        aks_cluster_runner.ClusterRunner(az, gate=aks_cluster_runner.migration_gate(in_cluster)).run()
    # no policy analysis before a write: only the drain and identity checks
    assert arm.writes == [] and asked == [(KUBECONFIG, False, az.module.run_command)]  # exec plugins run through it
    assert ids(failed.value.args[0]["blockers"]) == ["pdb-no-disruptions"]


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
