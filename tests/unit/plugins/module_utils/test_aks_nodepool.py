# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""aks_cilium_nodepool's pure part: the options as a patch, merged onto the pool Azure returned, the impossible
changes, the rule facts, and the views the module returns."""

from __future__ import annotations

from ansible_collections.azcni.cilium.plugins.module_utils._aks import nodepool

NET = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/"
CLUSTER_ID = "/subscriptions/0000/resourcegroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1"


def params(**changes):
    values = dict((option, None) for option, _key in nodepool.OPTIONS)
    values.update(changes)
    return values


def returned_pool(**changes):
    """A pool as the cluster's agentPoolProfiles carry it: read-only fields and settings the module does not model."""
    pool = {"name": "web", "mode": "User", "count": 2, "vmSize": "Standard_D4ds_v5", "osType": "Linux", "osSKU": "Ubuntu",
            "maxPods": 63, "vnetSubnetID": NET + "nodes", "podSubnetID": NET + "pods-web", "podIPAllocationMode": "StaticBlock",
            "availabilityZones": ["1", "2"], "nodeLabels": {"tier": "web"}, "orchestratorVersion": "1.33",
            "currentOrchestratorVersion": "1.33.2", "provisioningState": "Succeeded", "nodeImageVersion": "AKSUbuntu-2204",
            "eTag": "e1", "upgradeSettings": {"maxSurge": "10%"}, "enableNodePublicIP": False}
    pool.update(changes)
    return pool


def cluster(*pools, plugin="azure", mode=None):
    network = {"networkPlugin": plugin, "networkDataplane": "cilium", "networkPolicy": "cilium"}
    if mode:
        network["networkPluginMode"] = mode
    system = {"name": "system", "mode": "System", "count": 3, "vnetSubnetID": NET + "nodes", "podSubnetID": NET + "pods"}
    properties = {"kubernetesVersion": "1.33", "networkProfile": network, "agentPoolProfiles": [system] + list(pools)}
    return {"id": CLUSTER_ID, "name": "aks1", "properties": properties}


def test_same_values_in_other_spelling_are_no_change():
    existing = returned_pool()
    patch = nodepool.pool_patch(params(vm_size="standard_d4ds_v5", zones=["2", "1"], orchestrator_version="1.33",
                                       pod_subnet_id=(NET + "pods-web").upper(), pod_ip_allocation_mode="staticblock",
                                       count=2), existing)
    merged = nodepool.merged_pool(existing, patch)
    assert nodepool.view(merged) == nodepool.view(existing)
    assert nodepool.impossible(existing, merged) == []


def test_an_update_keeps_what_the_task_does_not_mention():
    existing = returned_pool()
    merged = nodepool.merged_pool(existing, nodepool.pool_patch(params(count=5), existing))
    body = nodepool.put_body(merged)["properties"]
    assert body["count"] == 5 and body["upgradeSettings"] == {"maxSurge": "10%"} and body["enableNodePublicIP"] is False
    assert body["podIPAllocationMode"] == "StaticBlock" and body["nodeLabels"] == {"tier": "web"}
    assert not set(nodepool.READ_ONLY) & set(body) and "name" not in body


def test_the_autoscaler_owns_count_and_turning_it_off_clears_the_bounds():
    existing = returned_pool(enableAutoScaling=True, minCount=1, maxCount=5, count=4)
    merged = nodepool.merged_pool(existing, nodepool.pool_patch(params(count=2, max_count=8), existing))
    assert (merged["count"], merged["maxCount"]) == (4, 8)
    off = nodepool.merged_pool(existing, nodepool.pool_patch(params(enable_auto_scaling=False, count=2), existing))
    assert off["count"] == 2 and "minCount" not in off and "maxCount" not in off


def test_a_new_pool_gets_the_create_defaults_and_the_autoscaler_starts_at_min_count():
    merged = nodepool.merged_pool(None, nodepool.pool_patch(params(enable_auto_scaling=True, min_count=2, max_count=6)))
    assert (merged["mode"], merged["osType"], merged["count"], merged["type"]) == ("User", "Linux", 2, "VirtualMachineScaleSets")


def test_impossible_changes_are_named():
    existing = returned_pool()
    merged = nodepool.merged_pool(existing, nodepool.pool_patch(params(max_pods=31, vm_size="Standard_D8ds_v5",
                                                                       zones=["1"], vnet_subnet_id=NET + "other"), existing))
    reasons = nodepool.impossible(existing, merged)
    assert [r.split(":")[0] for r in reasons] == ["vnetSubnetID", "maxPods", "vmSize", "availabilityZones"]
    assert "maxPods: 63 -> 31" in reasons[1]


def test_an_absent_allocation_mode_is_dynamic():
    dynamic = returned_pool(podIPAllocationMode=None)
    assert nodepool.view(dynamic)["podIPAllocationMode"] == "DynamicIndividual"
    merged = nodepool.merged_pool(dynamic, nodepool.pool_patch(params(pod_ip_allocation_mode="DynamicIndividual"), dynamic))
    assert nodepool.view(merged) == nodepool.view(dynamic)


def test_facts_see_every_cluster_sharing_the_pod_subnet():
    shared = {"name": "nodepool1", "podSubnetID": NET + "pods-web"}
    other = {"id": CLUSTER_ID + "2", "name": "aks2", "properties": {"agentPoolProfiles": [shared]}}
    mine = cluster(returned_pool())
    merged = nodepool.merged_pool(None, nodepool.pool_patch(params(pod_subnet_id=NET + "pods-web", vnet_subnet_id=NET + "nodes",
                                                                   pod_ip_allocation_mode="StaticBlock")))
    facts = nodepool.facts_for("api", mine, None, merged, other_clusters=[mine, other])
    assert facts.subnet_users == [("aks1/web", "StaticBlock"), ("aks2/nodepool1", "DynamicIndividual")]
    assert (facts.cluster_ipam, facts.cluster_vnet, facts.other_system_pools) == ("vnet", ("0000", "rg", "vnet"), 1)
    assert facts.kubernetes_version == "1.33" and not facts.exists


def test_facts_of_a_pool_being_deleted_and_of_an_overlay_cluster():
    mine = cluster(mode="overlay")
    system = mine["properties"]["agentPoolProfiles"][0]
    facts = nodepool.facts_for("system", mine, system, system, deleting=True)
    assert facts.was_system and facts.deleting and facts.other_system_pools == 0
    assert nodepool.facts_for("x", None, None, {}).cluster_ipam is None  # no cluster yet (check mode)
    assert nodepool.cluster_ipam(mine) == "overlay" and nodepool.cluster_ipam(cluster(plugin="kubenet")) == "kubenet"


def test_pool_resource_and_subnet_usage_are_what_azure_shows():
    pool = returned_pool()
    resource = nodepool.pool_resource(cluster(pool), "web", pool)
    assert resource["id"] == CLUSTER_ID + "/agentPools/web" and "name" not in resource["properties"]
    usages = [{"id": NET + "pods-web", "currentValue": 128, "limit": 4091},
              {"id": NET + "nodes", "currentValue": 5, "limit": 1019}]
    assert nodepool.subnet_usage(usages, pool) == [
        {"id": NET + "nodes", "name": "nodes", "role": "node", "limit": 1019, "in_use": 5, "free": 1014},
        {"id": NET + "pods-web", "name": "pods-web", "role": "pod", "limit": 4091, "in_use": 128, "free": 3963}]
    assert nodepool.custom_subnets(pool) == [NET + "nodes", NET + "pods-web"]
