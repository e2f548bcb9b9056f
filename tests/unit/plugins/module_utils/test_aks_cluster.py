# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""aks_cilium_cluster logic: intent -> body, merge onto ARM JSON, impossible changes, migration plans, diff,
and the runner's request sequence (against an in-memory ARM)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._aks import cluster as aks_cluster
from ansible_collections.azcni.cilium.plugins.module_utils._aks import cluster_fields as aks_cluster_fields
from ansible_collections.azcni.cilium.plugins.module_utils._aks import cluster_info as aks_cluster_info
from ansible_collections.azcni.cilium.plugins.module_utils._aks import cluster_plan as aks_cluster_plan
from ansible_collections.azcni.cilium.plugins.module_utils._aks import cluster_runner as aks_cluster_runner
from ansible_collections.azcni.cilium.plugins.module_utils._aks import cluster_views as aks_cluster_views
from ansible_collections.azcni.cilium.plugins.module_utils import _common as common
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_rules import RULES
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureError

RG_ID = "/subscriptions/0000/resourceGroups/rg"
NET = RG_ID + "/providers/Microsoft.Network/virtualNetworks/vnet/subnets/"
NODES, PODS = NET + "nodes", NET + "pods"


def params(**changes):
    """Module parameters as AnsibleModule hands them over (defaults applied, unset options None)."""
    values = dict(name="aks1", resource_group="rg", state="present", location=None, tags=None, dns_prefix=None,
                  kubernetes_version=None, sku_tier=None, identity=None, ipam_mode=None, pod_cidr=None, service_cidr=None,
                  dns_service_ip=None, system_pool=None, advanced_networking=None, allow_migration=False, wait=True,
                  wait_timeout=1800)
    values.update(changes)
    return values


def pool_params(**changes):
    values = dict(name=None, vm_size=None, count=None, enable_auto_scaling=None, min_count=None, max_count=None,
                  max_pods=None, os_sku=None, zones=None, vnet_subnet_id=None, pod_subnet_id=None,
                  pod_ip_allocation_mode=None)
    values.update(changes)
    return values


def returned_cluster(mode="overlay", dataplane="cilium", policy="cilium", plugin="azure", version="1.33"):
    """A cluster as ARM returns it: read-only fields, settings this module does not model, other pools."""
    network = {"networkPlugin": plugin, "networkDataplane": dataplane, "networkPolicy": policy,
               "serviceCidr": "10.0.0.0/16", "serviceCidrs": ["10.0.0.0/16"], "dnsServiceIP": "10.0.0.10",
               "outboundType": "loadBalancer", "loadBalancerSku": "standard", "ipFamilies": ["IPv4"],
               "loadBalancerProfile": {"managedOutboundIPs": {"count": 2}, "effectiveOutboundIPs": [{"id": "ip1"}]}}
    system = {"name": "system", "mode": "System", "count": 3, "vmSize": "Standard_D4ds_v5", "osType": "Linux",
              "osSKU": "Ubuntu", "type": "VirtualMachineScaleSets", "availabilityZones": ["1", "2", "3"],
              "orchestratorVersion": version, "currentOrchestratorVersion": version + ".2", "provisioningState": "Succeeded",
              "nodeImageVersion": "AKSUbuntu-2204", "powerState": {"code": "Running"}, "enableNodePublicIP": False}
    if mode == "overlay":
        network.update(networkPluginMode="overlay", podCidr="192.168.0.0/16", podCidrs=["192.168.0.0/16"])
        system["maxPods"] = 250
    elif mode == "vnet":
        system.update(maxPods=250, vnetSubnetID=NODES, podSubnetID=PODS)
    elif mode == "kubenet":
        network.update(podCidr="10.244.0.0/16", podCidrs=["10.244.0.0/16"])
        system["maxPods"] = 110
    elif mode == "node-subnet":
        system.update(maxPods=30, vnetSubnetID=NODES)
    user = {"name": "user1", "mode": "User", "count": 5, "vmSize": "Standard_D8ds_v5", "osType": "Linux", "maxPods": 110,
            "orchestratorVersion": version}
    return {
        "id": RG_ID + "/providers/Microsoft.ContainerService/managedClusters/aks1", "name": "aks1",
        "type": "Microsoft.ContainerService/ManagedClusters", "location": "westeurope", "tags": {"team": "net"},
        "sku": {"name": "Base", "tier": "Free"},
        "identity": {"type": "SystemAssigned", "principalId": "p-1", "tenantId": "t-1"},
        "properties": {
            "provisioningState": "Succeeded", "powerState": {"code": "Running"}, "kubernetesVersion": version,
            "currentKubernetesVersion": version + ".2", "dnsPrefix": "aks1", "fqdn": "aks1-x.hcp.westeurope.azmk8s.io",
            "maxAgentPools": 100, "nodeResourceGroup": "MC_rg_aks1_westeurope", "enableRBAC": True,
            "addonProfiles": {"azurepolicy": {"enabled": True}},
            "autoScalerProfile": {"scan-interval": "20s"},
            "servicePrincipalProfile": {"clientId": "msi", "secret": "do-not-leak"},
            "windowsProfile": {"adminUsername": "azureuser", "adminPassword": "do-not-leak"},
            "networkProfile": network, "agentPoolProfiles": [system, user],
        },
    }


def plan_for(existing, **options):
    intent = aks_cluster.Intent.from_params(params(**options), existing)
    return aks_cluster_plan.plan(existing, aks_cluster.desired_patch(intent, existing), intent)


# --- create -----------------------------------------------------------------------------------------
def test_create_overlay_body_has_cilium_network_and_create_defaults():
    result = plan_for(None, location="westeurope", pod_cidr="192.168.0.0/16")
    assert result.operations == ["create"]
    body = result.after
    assert body["properties"]["networkProfile"] == {
        "networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium",
        "networkPolicy": "cilium", "podCidr": "192.168.0.0/16"}
    assert body["properties"]["agentPoolProfiles"] == [dict(aks_cluster_fields.CREATE_POOL_DEFAULTS)]
    assert body["properties"]["dnsPrefix"] == "aks1"
    assert body["identity"] == {"type": "SystemAssigned"}
    assert "kubernetesVersion" not in body["properties"]  # AKS picks its default


def test_create_vnet_mode_body_puts_both_subnets_on_the_pool_and_no_overlay():
    result = plan_for(None, location="westeurope", service_cidr="10.0.0.0/16", dns_service_ip="10.0.0.10",
                      system_pool=pool_params(max_pods=250, vnet_subnet_id=NODES, pod_subnet_id=PODS))
    network = result.after["properties"]["networkProfile"]
    assert "networkPluginMode" not in network and "podCidr" not in network
    assert network["serviceCidr"] == "10.0.0.0/16"
    pool = result.after["properties"]["agentPoolProfiles"][0]
    assert (pool["vnetSubnetID"], pool["podSubnetID"], pool["maxPods"]) == (NODES, PODS, 250)


def test_mode_is_inferred_from_the_pod_subnet_on_create_and_kept_on_update():
    assert aks_cluster.effective_mode(params(system_pool=pool_params(pod_subnet_id=PODS)), None) == "vnet"
    assert aks_cluster.effective_mode(params(), None) == "overlay"
    assert aks_cluster.effective_mode(params(), returned_cluster("vnet")) == "vnet"
    assert aks_cluster.effective_mode(params(), returned_cluster("kubenet", plugin="kubenet")) == "overlay"
    assert aks_cluster.effective_mode(params(), returned_cluster("node-subnet")) == "node-subnet"
    assert aks_cluster.effective_mode(params(ipam_mode="vnet"), returned_cluster("overlay")) == "vnet"
    assert aks_cluster.effective_mode(params(ipam_mode="node_subnet"), None) == "node-subnet"


def test_create_with_autoscaler_starts_at_min_count_and_tier_gets_base_sku():
    body = plan_for(None, location="x", sku_tier="Standard",
                    system_pool=pool_params(enable_auto_scaling=True, min_count=2, max_count=5)).after
    pool = body["properties"]["agentPoolProfiles"][0]
    assert (pool["enableAutoScaling"], pool["count"], pool["minCount"], pool["maxCount"]) == (True, 2, 2, 5)
    assert body["sku"] == {"name": "Base", "tier": "Standard"}


def test_dns_prefix_from_name_is_valid():
    assert aks_cluster.dns_prefix_for("my_cluster.prod") == "my-cluster-prod"
    assert aks_cluster.dns_prefix_for("-x-") == "x"
    assert len(aks_cluster.dns_prefix_for("a" * 80)) == 54


# --- idempotency and merge --------------------------------------------------------------------------
def test_same_intent_in_other_spellings_plans_nothing():
    existing = returned_cluster("vnet")
    existing["properties"]["agentPoolProfiles"][0]["vnetSubnetID"] = NODES.replace("resourceGroups", "resourcegroups")
    result = plan_for(existing, location="West Europe", kubernetes_version="1.33", ipam_mode="vnet", tags={"team": "net"},
                      service_cidr="10.0.0.0/16", dns_service_ip="10.0.0.10", sku_tier="Free",
                      identity={"type": "SystemAssigned", "user_assigned_identity": None},
                      system_pool=pool_params(name="system", vm_size="standard_d4ds_v5", count=3, max_pods=250,
                                              zones=["3", "1", "2"], vnet_subnet_id=NODES, pod_subnet_id=PODS,
                                              os_sku="ubuntu"))
    assert result.steps == [] and result.reasons == []


def test_kubernetes_version_patch_level_or_omitted_is_not_drift():
    existing = returned_cluster()
    assert plan_for(existing, kubernetes_version="1.33.2").steps == []
    assert plan_for(existing).steps == []


def test_merge_keeps_every_setting_the_user_did_not_mention():
    existing = returned_cluster()
    result = plan_for(existing, tags={"env": "prod"}, system_pool=pool_params(count=5))
    assert result.operations == ["update"]
    after = result.after
    assert after["tags"] == {"team": "net", "env": "prod"}
    assert after["properties"]["addonProfiles"] == existing["properties"]["addonProfiles"]
    assert after["properties"]["autoScalerProfile"] == existing["properties"]["autoScalerProfile"]
    assert after["properties"]["networkProfile"]["loadBalancerProfile"]["managedOutboundIPs"] == {"count": 2}
    assert after["properties"]["agentPoolProfiles"][1] == existing["properties"]["agentPoolProfiles"][1]
    system = after["properties"]["agentPoolProfiles"][0]
    assert system["count"] == 5 and system["availabilityZones"] == ["1", "2", "3"]
    assert common.diff_paths(existing, after) == ["properties.agentPoolProfiles[0].count", "tags.env"]


def test_put_body_is_the_whole_cluster_without_read_only_fields():
    existing = returned_cluster()
    body = aks_cluster_fields.strip_read_only(aks_cluster.merge(existing, {"tags": {"env": "prod"}}))
    for key in ("id", "name", "type"):
        assert key not in body
    for key in ("provisioningState", "fqdn", "currentKubernetesVersion", "maxAgentPools", "powerState"):
        assert key not in body["properties"]
    assert body["identity"] == {"type": "SystemAssigned"}
    assert "effectiveOutboundIPs" not in body["properties"]["networkProfile"]["loadBalancerProfile"]
    pool = body["properties"]["agentPoolProfiles"][0]
    assert "currentOrchestratorVersion" not in pool and "provisioningState" not in pool
    assert pool["powerState"] == {"code": "Running"}  # writable on pools: start/stop
    assert body["properties"]["addonProfiles"] and body["properties"]["nodeResourceGroup"]
    assert existing["properties"]["fqdn"]  # the input is not modified


def test_switching_to_a_system_assigned_identity_drops_the_user_assigned_one():
    existing = returned_cluster()
    existing["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {"/id/1": {}}}
    after = plan_for(existing, identity={"type": "SystemAssigned", "user_assigned_identity": None}).after
    assert after["identity"] == {"type": "SystemAssigned"}


def test_user_assigned_identity_values_are_sent_empty():
    existing = returned_cluster()
    existing["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {"/id/1": {"principalId": "p", "clientId": "c"}}}
    assert aks_cluster_fields.strip_read_only(existing)["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {"/id/1": {}}}


def test_autoscaler_owns_count_and_turning_it_off_clears_bounds():
    existing = returned_cluster()
    on = plan_for(existing, system_pool=pool_params(enable_auto_scaling=True, min_count=1, max_count=6, count=9)).after
    pool = on["properties"]["agentPoolProfiles"][0]
    assert (pool["enableAutoScaling"], pool["minCount"], pool["maxCount"], pool["count"]) == (True, 1, 6, 3)
    off = plan_for(on, system_pool=pool_params(enable_auto_scaling=False, count=4)).after
    pool = off["properties"]["agentPoolProfiles"][0]
    assert pool["enableAutoScaling"] is False and pool["count"] == 4
    assert "minCount" not in pool and "maxCount" not in pool


def test_upgrade_moves_control_plane_and_every_pool():
    result = plan_for(returned_cluster(), kubernetes_version="1.34")
    assert result.operations == ["update"] and result.reasons == []
    assert result.after["properties"]["kubernetesVersion"] == "1.34"
    assert [p["orchestratorVersion"] for p in result.after["properties"]["agentPoolProfiles"]] == ["1.34", "1.34"]


def test_pod_cidr_change_keeps_the_echoed_list_in_step():
    result = plan_for(returned_cluster(), pod_cidr="192.168.0.0/15")
    network = result.after["properties"]["networkProfile"]
    assert (network["podCidr"], network["podCidrs"]) == ("192.168.0.0/15", ["192.168.0.0/15"])
    assert result.reasons == [] and result.operations == ["update"]


def acns_body(enabled, observability, security, policies="None"):
    return {"enabled": enabled, "observability": {"enabled": observability},
            "security": {"enabled": security, "advancedNetworkPolicies": policies, "transitEncryption": {"type": "None"}},
            "performance": {"accelerationMode": "None"}}


@pytest.mark.parametrize("have, wanted, expected", [
    (None, {"observability": True, "security": None}, acns_body(True, True, False)),
    ({"enabled": True, "observability": {"enabled": True}, "security": {"enabled": False}},
     {"observability": None, "security": True}, acns_body(True, True, True, "FQDN")),  # AKS's default mode
    ({"enabled": True, "observability": {"enabled": True}, "security": {"enabled": False}},
     {"observability": False, "security": None}, acns_body(False, False, False)),
])
def test_acns_features_not_mentioned_keep_their_state(have, wanted, expected):
    existing = returned_cluster()
    if have:
        existing["properties"]["networkProfile"]["advancedNetworking"] = have
    result = plan_for(existing, advanced_networking=wanted)
    assert result.after["properties"]["networkProfile"]["advancedNetworking"] == expected


def test_acns_already_in_the_wanted_state_is_not_drift():
    assert plan_for(returned_cluster(), advanced_networking={"observability": False, "security": False}).steps == []


# --- impossible changes -----------------------------------------------------------------------------
@pytest.mark.parametrize("mode, options, reason", [
    ("overlay", dict(service_cidr="10.1.0.0/16", dns_service_ip="10.1.0.10"), "the service CIDR is fixed at creation"),
    ("overlay", dict(service_cidr="10.0.0.0/16", dns_service_ip="10.0.0.20"), "networkProfile.dnsServiceIP: 10.0.0.10 -> 10.0.0.20"),
    ("overlay", dict(dns_prefix="other"), "the DNS prefix is fixed at creation"),
    ("overlay", dict(location="northeurope"), "location: westeurope -> northeurope"),
    ("overlay", dict(system_pool=pool_params(max_pods=110)), "agentPoolProfiles.system.maxPods: 250 -> 110"),
    ("overlay", dict(system_pool=pool_params(vm_size="Standard_D2ds_v5")), "the VM size of an existing node pool"),
    ("overlay", dict(system_pool=pool_params(zones=["1"])), "the zones of an existing node pool cannot change"),
    ("overlay", dict(system_pool=pool_params(vnet_subnet_id=NODES)), "the node subnet of an existing node pool cannot change"),
    ("vnet", dict(system_pool=pool_params(pod_subnet_id=NET + "pods2")), "the pod subnet of an existing node pool"),
    ("overlay", dict(ipam_mode="vnet"), "overlay cannot be turned off"),
    ("vnet", dict(ipam_mode="overlay", allow_migration=True), "dynamic pod IP allocation (pod subnet) cannot migrate"),
    ("kubenet", dict(ipam_mode="vnet", allow_migration=True), "kubenet clusters can only migrate to overlay"),
    ("none", dict(ipam_mode="overlay", allow_migration=True), "bring your own CNI"),
    ("overlay", dict(kubernetes_version="1.32"), "AKS cannot downgrade Kubernetes"),
    ("overlay", dict(kubernetes_version="1.35"), "one minor version at a time"),
    ("overlay", dict(pod_cidr="192.168.0.0/17"), "can only be expanded to a range that contains the current one"),
    ("overlay", dict(pod_cidr="10.10.0.0/16"), "networkProfile.podCidr: 192.168.0.0/16 -> 10.10.0.0/16"),
    ("overlay", dict(system_pool=pool_params(name="missing")), "node pool missing not found (the cluster has system, user1)"),
])
def test_changes_aks_cannot_make_are_refused_with_the_reason(mode, options, reason):
    existing = returned_cluster(mode, plugin="none" if mode == "none" else ("kubenet" if mode == "kubenet" else "azure"))
    result = plan_for(existing, **options)
    assert any(reason in r for r in result.reasons), result.reasons


def test_cilium_cannot_go_back_to_azure_dataplane():
    existing = returned_cluster()
    patch = {"properties": {"networkProfile": {"networkDataplane": "azure", "networkPolicy": "azure"}}}
    # the module never asks for this, the planner still refuses
    result = aks_cluster_plan.plan(existing, patch, aks_cluster.Intent.from_params(params(ipam_mode="overlay"), existing))
    assert result.reasons == [
        "networkProfile.networkDataplane: cilium -> azure: Cilium cannot be turned off once enabled",
        "networkProfile.networkPolicy: cilium -> azure: Cilium cannot be turned off once enabled"]


# --- migrations -------------------------------------------------------------------------------------
def test_kubenet_to_overlay_cilium_is_ipam_first_then_dataplane_then_the_rest():
    existing = returned_cluster("kubenet", dataplane="azure", policy="none", plugin="kubenet")
    result = plan_for(existing, ipam_mode="overlay", allow_migration=True, tags={"env": "prod"})
    assert result.reasons == []
    assert result.operations == ["migrate-ipam", "migrate-dataplane", "update"]
    ipam, dataplane, update = result.steps
    assert ipam.patch == {"properties": {"networkProfile": {
        "networkPlugin": "azure", "networkPluginMode": "overlay", "podCidr": "10.244.0.0/16"}}}
    assert dataplane.patch == {"properties": {"networkProfile": {"networkDataplane": "cilium", "networkPolicy": "cilium"}}}
    assert update.patch["tags"] == {"env": "prod"}
    # each step, applied in turn onto what the previous one left, changes only its own fields
    after_ipam = aks_cluster.merge(existing, ipam.patch)
    assert aks_cluster_fields.network(after_ipam)["networkDataplane"] == "azure"
    assert aks_cluster_fields.ipam_of(after_ipam) == "overlay"
    after_dataplane = aks_cluster.merge(after_ipam, dataplane.patch)
    assert common.diff_paths(after_ipam, after_dataplane) == ["properties.networkProfile.networkDataplane",
                                                              "properties.networkProfile.networkPolicy"]


def test_overlay_azure_dataplane_needs_one_migration_carrying_both_fields():
    result = plan_for(returned_cluster(dataplane="azure", policy="none"), allow_migration=True)
    assert result.operations == ["migrate-dataplane"]
    network = result.after["properties"]["networkProfile"]
    assert (network["networkDataplane"], network["networkPolicy"]) == ("cilium", "cilium")


def test_migration_to_overlay_may_widen_the_pod_cidr_of_kubenet():
    existing = returned_cluster("kubenet", dataplane="azure", policy="none", plugin="kubenet")
    result = plan_for(existing, pod_cidr="192.168.0.0/16", allow_migration=True)
    assert result.steps[0].patch["properties"]["networkProfile"]["podCidr"] == "192.168.0.0/16"
    assert result.reasons == []


def test_migration_needs_allow_migration_and_says_which():
    existing = returned_cluster("kubenet", dataplane="azure", policy="none", plugin="kubenet")
    result = plan_for(existing)
    assert len(result.reasons) == 1
    assert "set allow_migration: true" in result.reasons[0]
    assert "IPAM kubenet -> overlay, data plane azure -> cilium" in result.reasons[0]


def test_kubenet_with_a_policy_engine_uninstalls_it_first_in_its_own_operation():
    existing = returned_cluster("kubenet", dataplane="azure", policy="calico", plugin="kubenet")
    result = plan_for(existing, allow_migration=True)
    assert result.reasons == [] and result.operations == ["remove-policy", "migrate-ipam", "migrate-dataplane"]
    assert result.steps[0].patch == {"properties": {"networkProfile": {"networkPolicy": "none"}}}
    network = result.after["properties"]["networkProfile"]
    assert (network["networkPluginMode"], network["networkDataplane"], network["networkPolicy"]) == (
        "overlay", "cilium", "cilium")


def test_a_policy_engine_on_a_dataplane_only_migration_goes_with_the_dataplane_step():
    result = plan_for(returned_cluster(dataplane="azure", policy="azure"), allow_migration=True)
    assert result.operations == ["migrate-dataplane"]


def test_node_subnet_cluster_migrating_to_overlay_needs_a_pod_cidr():
    existing = returned_cluster("node-subnet", dataplane="azure", policy="none")
    assert aks_cluster_fields.ipam_of(existing) == "node-subnet"
    result = plan_for(existing, ipam_mode="overlay", allow_migration=True)
    assert any("needs pod_cidr" in r for r in result.reasons)
    ok = plan_for(existing, ipam_mode="overlay", pod_cidr="192.168.0.0/16", allow_migration=True)
    assert ok.reasons == [] and ok.operations == ["migrate-ipam", "migrate-dataplane"]


@pytest.mark.parametrize("mode", ["node-subnet", "vnet"])
def test_an_azure_cni_cluster_without_ipam_mode_gets_only_the_dataplane_change(mode):
    # update-azure-cni: the data plane changes in place from any Azure CNI IPAM mode, no overlay migration first
    existing = returned_cluster(mode, dataplane="azure", policy="none")
    result = plan_for(existing, allow_migration=True)
    assert result.reasons == [] and result.operations == ["migrate-dataplane"]
    network = result.after["properties"]["networkProfile"]
    assert (network["networkDataplane"], network["networkPolicy"]) == ("cilium", "cilium")
    assert "networkPluginMode" not in network and "podCidr" not in network
    assert aks_cluster_fields.ipam_of(result.after) == mode


def test_node_subnet_create_and_refusals():
    body = plan_for(None, location="westeurope", ipam_mode="node_subnet", system_pool=pool_params(vnet_subnet_id=NODES)).after
    network = body["properties"]["networkProfile"]
    assert network == {"networkPlugin": "azure", "networkDataplane": "cilium", "networkPolicy": "cilium"}
    assert body["properties"]["agentPoolProfiles"][0]["vnetSubnetID"] == NODES
    assert any("overlay cannot be turned off" in r for r in plan_for(returned_cluster(), ipam_mode="node_subnet").reasons)
    assert any("cannot be removed" in r for r in plan_for(returned_cluster("vnet"), ipam_mode="node_subnet").reasons)


def test_the_system_pool_allocation_mode_is_sent_and_fixed():
    body = plan_for(None, location="westeurope", ipam_mode="vnet", system_pool=pool_params(
        vnet_subnet_id=NODES, pod_subnet_id=PODS, pod_ip_allocation_mode="StaticBlock")).after
    assert body["properties"]["agentPoolProfiles"][0]["podIPAllocationMode"] == "StaticBlock"
    result = plan_for(returned_cluster("vnet"), system_pool=pool_params(pod_ip_allocation_mode="StaticBlock"))
    assert any(r.startswith("agentPoolProfiles.system.podIPAllocationMode") for r in result.reasons), result.reasons


# --- diff and output --------------------------------------------------------------------------------
def test_diff_holds_only_the_network_and_pool_fields_that_change():
    existing = returned_cluster(dataplane="azure", policy="none")
    result = plan_for(existing, allow_migration=True, system_pool=pool_params(count=4))
    before, after = aks_cluster_views.changed_only(aks_cluster_views.diff_view(existing), aks_cluster_views.diff_view(result.after))
    assert before == {"networkProfile": {"networkDataplane": "azure", "networkPolicy": "none"},
                      "agentPoolProfiles": {"system": {"count": 3}}}
    assert after == {"networkProfile": {"networkDataplane": "cilium", "networkPolicy": "cilium"},
                     "agentPoolProfiles": {"system": {"count": 4}}}


def test_create_diff_shows_everything_after_and_nothing_before():
    result = plan_for(None, location="westeurope", pod_cidr="192.168.0.0/16")
    before, after = aks_cluster_views.changed_only(aks_cluster_views.diff_view(None), aks_cluster_views.diff_view(result.after))
    assert before == {}
    assert after["networkProfile"]["networkDataplane"] == "cilium"
    assert after["agentPoolProfiles"]["nodepool1"]["count"] == 3


def test_outputs_never_carry_credentials():
    cluster = returned_cluster()
    cluster["properties"]["kubeConfig"] = "apiVersion: v1"
    cluster["properties"]["aadProfile"] = {"serverAppSecret": "do-not-leak", "tenantID": "t"}
    cluster["properties"]["addonProfiles"]["azureKeyvaultSecretsProvider"] = {"enabled": True}
    text = repr(aks_cluster_views.redact(cluster)) + repr(aks_cluster_views.summary(cluster))
    assert "do-not-leak" not in text and "apiVersion" not in text
    assert aks_cluster_views.redact(cluster)["properties"]["windowsProfile"] == {"adminUsername": "azureuser"}
    assert aks_cluster_views.redact(cluster)["properties"]["addonProfiles"]["azureKeyvaultSecretsProvider"] == {"enabled": True}


def test_summary_selects_the_reported_fields():
    summary = aks_cluster_views.summary(returned_cluster())
    assert set(summary) >= {"id", "name", "provisioningState", "fqdn", "networkProfile", "agentPoolProfiles"}
    assert "addonProfiles" not in summary
    assert summary["agentPoolProfiles"][0]["name"] == "system"


def test_facts_use_the_cluster_values_and_name_aks_defaults():
    facts = aks_cluster.facts_for(aks_cluster.Intent.from_params(params(ipam_mode="overlay")), plan_for(None, location="x").after)
    assert (facts.pod_cidr, facts.service_cidr, facts.dns_service_ip) == ("10.244.0.0/16", "10.0.0.0/16", "10.0.0.10")
    assert facts.defaults == frozenset(["pod_cidr", "service_cidr", "dns_service_ip"])
    facts = aks_cluster.facts_for(aks_cluster.Intent.from_params(params(ipam_mode="vnet")), returned_cluster("vnet"))
    assert (facts.vnet_subnet_id, facts.pod_subnet_id, facts.max_pods, facts.defaults) == (NODES, PODS, 250, frozenset())
    assert [p["name"] for p in facts.pools] == ["system", "user1"]


# --- the runner against an in-memory ARM -------------------------------------------------------------
class Failed(Exception):
    pass


class FakeArm(object):
    """Just enough ARM: one cluster, a VNet, and a log of the calls (writes are what matters)."""

    def __init__(self, cluster=None, states=(), vnet=None, fail_put=None):
        self.cluster = copy.deepcopy(cluster)
        self.states = list(states)  # provisioningStates reported by successive GETs before settling
        self.vnet = vnet
        self.fail_put = fail_put
        self.log = []

    # SDK-shaped operations
    def get(self, rg, name):
        self.log.append(("GET", name))
        if self.cluster is None:
            return None
        cluster = copy.deepcopy(self.cluster)
        if self.states:
            cluster["properties"]["provisioningState"] = self.states.pop(0)
            if cluster["properties"]["provisioningState"] == "gone":
                self.cluster = None
                return None
        return cluster

    def begin_create_or_update(self, rg, name, body):
        self.log.append(("PUT", copy.deepcopy(body)))
        if self.fail_put:
            raise self.fail_put
        stored = copy.deepcopy(body)
        stored.update(id=RG_ID + "/providers/Microsoft.ContainerService/managedClusters/" + name, name=name)
        stored["properties"]["provisioningState"] = "Succeeded"
        self.cluster = stored
        return "poller"

    def begin_delete(self, rg, name):
        self.log.append(("DELETE", name))
        self.cluster = None
        return "poller"

    def vnet_get(self, rg, name):
        self.log.append(("GET vnet", name))
        return self.vnet

    @property
    def writes(self):
        return [entry for entry in self.log if entry[0] in ("PUT", "DELETE")]


class FakeAz(object):
    """The AzureModule surface the runner uses."""

    def __init__(self, arm, check_mode=False, **options):
        self.arm = arm
        self.params = params(**options)
        self.check_mode = check_mode
        self.subscription_id = "0000"
        self.warnings = []
        self.module = type("Module", (), {"run_command": staticmethod(lambda args, **kwargs: (127, "", "not run here"))})()
        clusters = type("Clusters", (), {})()
        clusters.get, clusters.begin_create_or_update, clusters.begin_delete = arm.get, arm.begin_create_or_update, arm.begin_delete
        networks = type("Networks", (), {})()
        networks.get = arm.vnet_get
        self._clients = {"containerservice": type("CS", (), {"managed_clusters": clusters})(),
                         "network": type("NW", (), {"virtual_networks": networks})()}

    def client(self, kind):
        return self._clients[kind]

    def get(self, operation, *args):
        return operation(*args)

    def call(self, operation, *args, **kwargs):
        return operation(*(list(args) + ([kwargs["body"]] if "body" in kwargs else [])))

    def wait(self, poller, timeout=None, what=None):
        self.arm.log.append(("WAIT", what))
        return copy.deepcopy(self.arm.cluster)

    def warn(self, msg):
        self.warnings.append(msg)

    def accepted(self, what):
        self.stored = getattr(self, "stored", []) + [what]

    def check_names(self, problems, location=None):
        problems = [p for p in problems if p]
        if problems:
            raise Failed(dict(msg="; ".join(problems), location=location))

    def fail_json(self, **kwargs):
        raise Failed(kwargs)

    def fail_azure(self, exc, msg, **kwargs):
        raise Failed(dict(msg="%s: %s" % (msg, exc), error_code=exc.code, error_message=exc.message,
                          status_code=exc.status, **kwargs))


def run_timed(arm, check_mode=False, **options):
    sleeps = []
    runner = aks_cluster_runner.ClusterRunner(FakeAz(arm, check_mode, **options), sleep=sleeps.append, clock=lambda: sum(sleeps))
    return runner.run(), sleeps


def run(arm, check_mode=False, **options):
    return run_timed(arm, check_mode, **options)[0]


def test_runner_creates_then_second_run_sends_no_write():
    arm = FakeArm()
    result = run(arm, location="westeurope", pod_cidr="192.168.0.0/16")
    assert result["changed"] and result["operations"] == ["create"]
    assert [w[0] for w in arm.writes] == ["PUT"]
    assert result["cluster"]["networkProfile"]["networkDataplane"] == "cilium"
    arm.log.clear()
    again = run(arm, location="westeurope", pod_cidr="192.168.0.0/16")
    assert not again["changed"] and again["operations"] == [] and arm.writes == []


def test_runner_without_wait_waits_only_for_intermediate_steps():
    arm = FakeArm(returned_cluster("kubenet", dataplane="azure", policy="none", plugin="kubenet"))
    result = run(arm, ipam_mode="overlay", allow_migration=True, wait=False)
    assert result["operations"] == ["migrate-ipam", "migrate-dataplane"]
    assert [entry[0] for entry in arm.log if entry[0] != "GET"] == ["PUT", "WAIT", "PUT"]
    assert result["cluster"]["networkProfile"]["networkDataplane"] == "cilium"  # read back after starting the last step


def test_runner_check_mode_reports_the_plan_and_writes_nothing():
    arm = FakeArm(returned_cluster(dataplane="azure", policy="none"))
    result = run(arm, check_mode=True, allow_migration=True)
    assert result["changed"] and result["operations"] == ["migrate-dataplane"]
    assert result["diff"]["after"] == {"networkProfile": {"networkDataplane": "cilium", "networkPolicy": "cilium"}}
    assert arm.writes == []


def test_runner_runs_migrations_as_separate_puts_in_order():
    arm = FakeArm(returned_cluster("kubenet", dataplane="azure", policy="none", plugin="kubenet"))
    result = run(arm, ipam_mode="overlay", allow_migration=True)
    assert result["operations"] == ["migrate-ipam", "migrate-dataplane"]
    first, second = [w[1]["properties"]["networkProfile"] for w in arm.writes]
    assert (first["networkPluginMode"], first["networkDataplane"]) == ("overlay", "azure")
    assert (second["networkPluginMode"], second["networkDataplane"], second["networkPolicy"]) == ("overlay", "cilium", "cilium")
    assert "fqdn" not in arm.writes[0][1]["properties"]  # whole body, read-only fields stripped
    assert arm.writes[0][1]["properties"]["addonProfiles"] == {"azurepolicy": {"enabled": True}}


def test_runner_fails_pre_flight_before_any_write():
    arm = FakeArm()
    with pytest.raises(Failed) as failure:
        run(arm, location="x", service_cidr="10.0.0.0/8", dns_service_ip="10.0.0.1")
    assert failure.value.args[0]["failed_rules"] == ["service-cidr-size", "dns-ip-not-first", "pod-service-overlap"]
    assert "[service-cidr-size]" in failure.value.args[0]["msg"]
    assert "pod_cidr 10.244.0.0/16 (AKS default) overlaps service_cidr 10.0.0.0/8" in failure.value.args[0]["msg"]
    assert arm.writes == []


def test_runner_refuses_impossible_changes_before_any_write():
    arm = FakeArm(returned_cluster())
    with pytest.raises(Failed) as failure:
        run(arm, service_cidr="10.1.0.0/16", dns_service_ip="10.1.0.10")
    assert "the service CIDR is fixed at creation" in failure.value.args[0]["msg"]
    assert arm.writes == []


def test_runner_creates_in_the_recorded_topology_with_a_warning():
    """VNet 10.0.0.0/8, nodes 10.240.0.0/16, pods 10.40.0.0/13, no service CIDR: real ARM creates it, so do we."""
    vnet = {"name": "vnet", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/8"]},
                                           "subnets": [{"name": "nodes", "properties": {"addressPrefix": "10.240.0.0/16"}},
                                                       {"name": "pods", "properties": {"addressPrefix": "10.40.0.0/13"}}]}}
    arm = FakeArm(vnet=vnet)
    az = FakeAz(arm, location="x", ipam_mode="vnet", system_pool=pool_params(vnet_subnet_id=NODES, pod_subnet_id=PODS),
                skip_subnet_role_assignment=True)  # the subnet rights have their own tests (test_aks_role_assignment.py)
    result = aks_cluster_runner.ClusterRunner(az).run()
    assert result["changed"] and result["operations"] == ["create"] and [w[0] for w in arm.writes] == ["PUT"]
    [warning] = az.warnings
    assert warning.startswith("[service-cidr-in-vnet] ")
    assert "service_cidr 10.0.0.0/16 (AKS default) is inside VNet vnet address space 10.0.0.0/8" in warning


def test_runner_reads_the_vnet_and_checks_it():
    vnet = {"name": "vnet", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/8"]},
                                           "subnets": [{"name": "nodes", "properties": {"addressPrefix": "10.0.0.0/24"}},
                                                       {"name": "pods", "properties": {"addressPrefix": "10.40.0.0/13"}}]}}
    arm = FakeArm(vnet=vnet)
    with pytest.raises(Failed) as failure:
        run(arm, location="x", system_pool=pool_params(vnet_subnet_id=NODES, pod_subnet_id=PODS))
    assert failure.value.args[0]["failed_rules"] == ["service-cidr-subnet-overlap"]
    assert "service_cidr 10.0.0.0/16 (AKS default) overlaps subnet nodes (10.0.0.0/24)" in failure.value.args[0]["msg"]
    assert ("GET vnet", "vnet") in arm.log and arm.writes == []


def test_runner_missing_vnet_fails_naming_the_rule():
    with pytest.raises(Failed) as failure:
        run(FakeArm(vnet=None), location="x", system_pool=pool_params(vnet_subnet_id=NODES, pod_subnet_id=PODS))
    assert failure.value.args[0]["failed_rules"] == ["subnets-exist"]


@pytest.mark.parametrize("vnet", [None, {"name": "vnet", "properties": {"subnets": [{"name": "nodes"}]}}],
                         ids=["no-vnet", "no-pod-subnet"])
def test_runner_check_mode_plans_the_create_while_the_vnet_does_not_exist_yet(vnet):
    options = dict(location="x", system_pool=pool_params(vnet_subnet_id=NODES, pod_subnet_id=PODS))
    with pytest.raises(Failed) as failure:  # a real run refuses before any write
        run(FakeArm(vnet=vnet), **options)
    assert failure.value.args[0]["failed_rules"] == ["subnets-exist"]

    arm = FakeArm(vnet=vnet)
    az = FakeAz(arm, check_mode=True, **options)
    result = aks_cluster_runner.ClusterRunner(az).run()
    # the new identity's Network Contributor on both subnets is planned too (test_aks_role_assignment.py)
    assert result["changed"] and result["operations"] == ["create", "subnet-role-assignment"] and arm.writes == []
    assert result["diff"]["after"]["agentPoolProfiles"]["nodepool1"]["podSubnetID"] == PODS
    [warning] = az.warnings
    assert "does not exist yet" in warning and ("VNet vnet not found" if vnet is None else "has no pod_subnet_id pods") in warning
    assert all(rule.rule_id in warning for rule in RULES if rule.needs_network)

    with pytest.raises(Failed) as failure:  # every other rule still runs
        run(FakeArm(vnet=vnet), check_mode=True, **dict(options, service_cidr="10.0.0.0/8", dns_service_ip="10.0.0.10"))
    assert failure.value.args[0]["failed_rules"] == ["service-cidr-size"]


def test_runner_waits_for_a_cluster_mid_operation_before_comparing():
    arm = FakeArm(returned_cluster(), states=["Creating", "Creating", "Succeeded"])
    result, sleeps = run_timed(arm)
    assert sleeps == [1.0, 2.0]
    assert result["waited_for_pending_operation"] and not result["changed"]


@pytest.mark.parametrize("where", ["cluster", "system", "user1"])
@pytest.mark.parametrize("state", ["Failed", "Canceled"])
def test_runner_reconciles_a_failed_cluster_or_pool_by_sending_its_own_model(where, state):
    """AKS reconciles the cluster and its pools on a PUT of the same model (az aks update with no changes)."""
    cluster = returned_cluster()
    parts = [cluster["properties"]] + cluster["properties"]["agentPoolProfiles"]
    next(p for p in parts if p.get("name", "cluster") == where)["provisioningState"] = state
    arm = FakeArm(cluster)
    checked = run(arm, check_mode=True)
    assert checked["changed"] and checked["operations"] == ["reconcile"] and arm.writes == []
    result = run(arm)
    assert result["changed"] and result["operations"] == ["reconcile"]
    [(method, body)] = arm.writes
    assert method == "PUT" and body == aks_cluster_fields.strip_read_only(returned_cluster())  # its own model, read-only fields out
    arm.log.clear()
    assert not run(arm)["changed"] and arm.writes == []  # reconciled: converged


def test_runner_times_out_waiting_with_a_clear_message():
    arm = FakeArm(returned_cluster(), states=["Updating"] * 50)
    with pytest.raises(Failed) as failure:
        run(arm, wait_timeout=10)
    assert "Timed out after 10 s waiting for cluster rg/aks1 to leave provisioningState Updating" in failure.value.args[0]["msg"]


def test_runner_absent_deletes_once():
    arm = FakeArm(returned_cluster())
    result = run(arm, state="absent")
    assert result["changed"] and result["operations"] == ["delete"] and arm.writes == [("DELETE", "aks1")]
    again = run(arm, state="absent")
    assert not again["changed"] and again["operations"] == []


def test_runner_absent_waits_for_a_deletion_in_progress():
    arm = FakeArm(returned_cluster(), states=["Deleting", "gone"])
    result = run(arm, state="absent")
    assert not result["changed"] and arm.writes == []


def test_runner_reports_azure_errors_with_code():
    arm = FakeArm(fail_put=AzureError("Operation failed or canceled", code="InvalidParameter", status=400))
    with pytest.raises(Failed) as failure:
        run(arm, location="x")
    assert failure.value.args[0]["error_code"] == "InvalidParameter"
    assert "Operation create on cluster rg/aks1 failed" in failure.value.args[0]["msg"]


def test_runner_needs_a_location_to_create():
    with pytest.raises(Failed) as failure:
        run(FakeArm())
    assert "location is required" in failure.value.args[0]["msg"]


# --- aks_cilium_cluster_info ------------------------------------------------------------------------
class Exited(Exception):
    pass


class InfoAz(FakeAz):
    def __init__(self, arm, **options):
        super(InfoAz, self).__init__(arm)
        self.params = dict(dict(name=None, resource_group=None, query=None), **options)
        self._clients["containerservice"].managed_clusters.list_by_resource_group = lambda rg: [arm.get(rg, "x")]
        self._clients["containerservice"].managed_clusters.list = lambda: [arm.get("rg", "x"), arm.get("rg", "x")]

    def list(self, operation, *args):
        return operation(*args)

    def exit_json(self, **kwargs):
        raise Exited(kwargs)


def info(arm, **options):
    with pytest.raises(Exited) as done:
        aks_cluster_info.run_info(InfoAz(arm, **options))
    return done.value.args[0]


def test_info_query_applies_to_the_cluster_as_az_aks_show_prints_it():
    result = info(FakeArm(returned_cluster()), name="aks1", resource_group="rg", query="networkProfile.networkDataplane")
    assert result["query_result"] == "cilium" and not result["changed"]
    assert result["clusters"][0]["properties"]["addonProfiles"]  # the returned clusters keep ARM's shape
    assert "do-not-leak" not in repr(result)
    assert info(FakeArm(returned_cluster()), name="aks1", resource_group="rg",
                query="properties.networkProfile")["query_result"] is None  # az has no properties level either


def test_info_query_applies_to_the_list_as_az_aks_list_prints_it():
    result = info(FakeArm(returned_cluster()), query="[].{name: name, group: resourceGroup, mode: networkProfile.networkPluginMode}")
    assert result["query_result"] == [{"name": "aks1", "group": "rg", "mode": "overlay"}] * 2
    assert len(info(FakeArm(returned_cluster()), resource_group="rg")["clusters"]) == 1


def test_az_view_is_shaped_and_spelled_like_az_output():
    cluster = returned_cluster("vnet")
    cluster["tags"] = {"cost_Center": "Net"}
    cluster["properties"]["addonProfiles"]["omsAgent"] = {"enabled": True, "config": {"logAnalyticsWorkspaceResourceID": "/w"}}
    outbound_ip = "/subscriptions/0000/resourceGroups/MC_rg/providers/Microsoft.Network/publicIPAddresses/ip1"
    cluster["properties"]["networkProfile"]["loadBalancerProfile"]["effectiveOutboundIPs"] = [{"id": outbound_ip}]
    view = aks_cluster_info.az_view(aks_cluster_views.redact(cluster))
    assert "properties" not in view
    assert (view["name"], view["resourceGroup"], view["provisioningState"], view["fqdn"], view["enableRbac"]) == (
        "aks1", "rg", "Succeeded", "aks1-x.hcp.westeurope.azmk8s.io", True)
    network = view["networkProfile"]
    assert (network["dnsServiceIp"], network["networkDataplane"]) == ("10.0.0.10", "cilium") and "dnsServiceIP" not in network
    assert network["loadBalancerProfile"]["effectiveOutboundIPs"] == [{"id": outbound_ip, "resourceGroup": "MC_rg"}]
    pool = view["agentPoolProfiles"][0]
    assert (pool["vnetSubnetId"], pool["podSubnetId"], pool["osSku"], pool["enableNodePublicIp"]) == (NODES, PODS, "Ubuntu", False)
    assert view["autoScalerProfile"] == {"scanInterval": "20s"}
    # map keys are data: kept as they are, while the objects inside are still spelled like az
    assert view["tags"] == {"cost_Center": "Net"}
    assert view["addonProfiles"]["omsAgent"] == {"enabled": True, "config": {"logAnalyticsWorkspaceResourceID": "/w"}}
    assert view["identity"] == {"type": "SystemAssigned", "principalId": "p-1", "tenantId": "t-1"}
    assert view["servicePrincipalProfile"] == {"clientId": "msi"}


@pytest.mark.parametrize("arm, az", [
    ("networkPluginMode", "networkPluginMode"), ("dnsServiceIP", "dnsServiceIp"), ("vnetSubnetID", "vnetSubnetId"),
    ("osSKU", "osSku"), ("enableRBAC", "enableRbac"), ("azurePortalFQDN", "azurePortalFqdn"), ("osDiskSizeGB", "osDiskSizeGb"),
    ("effectiveOutboundIPs", "effectiveOutboundIPs"), ("adminGroupObjectIDs", "adminGroupObjectIDs"),
    ("linuxOSConfig", "linuxOsConfig"), ("podIPAllocationMode", "podIpAllocationMode"), ("issuerURL", "issuerUrl"),
    ("balance-similar-node-groups", "balanceSimilarNodeGroups"), ("eTag", "eTag"),
])
def test_az_key_spells_arm_keys_as_az_prints_them(arm, az):
    assert aks_cluster_info.az_key(arm) == az


def test_info_missing_cluster_is_an_empty_list():
    result = info(FakeArm(None), name="nope", resource_group="rg", query="name")
    assert result["clusters"] == [] and result["query_result"] is None


def test_info_bad_query_fails_clearly():
    with pytest.raises(Failed) as failure:
        info(FakeArm(returned_cluster()), name="aks1", resource_group="rg", query="networkProfile.[")
    assert "Invalid query 'networkProfile.['" in failure.value.args[0]["msg"]
