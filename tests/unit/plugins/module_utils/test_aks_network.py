# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""aks_network rules: checks before any write, merge onto ARM JSON (AKS's delegation kept), in-use detection."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._aks import network_rules as aks_network_rules

SUB = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network"
VNET_ID = SUB + "/virtualNetworks/vnet"
CLUSTER_ID = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1"

VNET_MODE = [{"name": "nodes", "address_prefix": "192.168.16.0/24"}, {"name": "pods", "address_prefix": "192.168.17.0/24"}]


def subnet_body(name, prefix, **props):
    body = {"name": name, "id": "%s/subnets/%s" % (VNET_ID, name), "etag": 'W/"1"',
            "properties": dict({"addressPrefix": prefix, "provisioningState": "Succeeded"}, **props)}
    return body


def pod_subnet_used_by_aks():
    """The pod subnet as AKS leaves it: delegated, with a service association link."""
    return subnet_body(
        "pods", "192.168.17.0/24",
        delegations=[{"name": "aks-delegation", "id": VNET_ID + "/subnets/pods/delegations/aks-delegation",
                      "properties": {"serviceName": "Microsoft.ContainerService/managedClusters", "actions": [
                          "Microsoft.Network/virtualNetworks/subnets/join/action"]}}],
        serviceAssociationLinks=[{"name": "AzureKubernetesService", "properties": {
            "linkedResourceType": "Microsoft.ContainerService/managedClusters", "link": CLUSTER_ID}}])


def vnet_body(subnets, prefixes=("192.168.16.0/22",), tags=None):
    body = {"name": "vnet", "id": VNET_ID, "location": "westeurope", "type": "Microsoft.Network/virtualNetworks",
            "properties": {"addressSpace": {"addressPrefixes": list(prefixes)}, "subnets": subnets,
                           "provisioningState": "Succeeded", "virtualNetworkPeerings": []}}
    if tags is not None:
        body["tags"] = tags
    return body


# --- checks before any write ----------------------------------------------------------------------
def test_vnet_mode_topology_is_valid():
    aks_network_rules.check_intent(["192.168.16.0/22"], VNET_MODE)


@pytest.mark.parametrize("prefixes, subnets, message", [
    (["192.168.16.0/22"], [{"name": "nodes", "address_prefix": "192.168.20.0/24"}],
     "Subnet nodes (192.168.20.0/24) is not inside the VNet address space (192.168.16.0/22)"),
    (["192.168.16.0/22"], [{"name": "nodes", "address_prefix": "192.168.16.0/23"},
                           {"name": "pods", "address_prefix": "192.168.17.0/24"}],
     "subnet nodes (192.168.16.0/23) overlaps subnet pods (192.168.17.0/24)"),
    (["172.31.0.0/16"], [], "VNet address prefix 172.31.0.0/16 overlaps the range 172.31.0.0/16, which Azure reserves"),
    (["169.254.0.0/20"], [], "overlaps the range 169.254.0.0/16"),
    (["10.0.0.0/16", "10.0.128.0/20"], [], "VNet address prefix 10.0.0.0/16 overlaps VNet address prefix 10.0.128.0/20"),
    (["192.168.16.0/33"], [], "Invalid VNet address prefix '192.168.16.0/33'"),
    (["192.168.16.0/22"], [{"name": "nodes", "address_prefix": "192.168.16.5/24"}],
     "Invalid address prefix of subnet nodes: '192.168.16.5/24' has host bits set"),
    (["192.168.16.0/22"], [{"name": "nodes", "address_prefix": "192.168.16.0/24"},
                           {"name": "nodes", "address_prefix": "192.168.17.0/24"}], "Subnet nodes is listed twice"),
    (["192.168.16.0/22"], [{"name": "nodes"}], "Subnet nodes needs an address_prefix"),
    (["192.168.16.0/22"], [{"name": "nodes", "address_prefix": "192.168.16.0/24",
                            "network_security_group": SUB + "/routeTables/rt"}],
     "network_security_group of subnet nodes must be the resource ID of a Microsoft.Network/networkSecurityGroups"),
    (["192.168.16.0/22"], [{"name": "nodes", "address_prefix": "192.168.16.0/24", "route_table": "rt"}],
     "route_table of subnet nodes must be the resource ID of a Microsoft.Network/routeTables"),
])
def test_bad_intent_fails_naming_the_rule(prefixes, subnets, message):
    with pytest.raises(ValueError) as error:
        aks_network_rules.check_intent(prefixes, subnets)
    assert message in str(error.value)


def test_nsg_and_route_table_ids_are_accepted():
    subnets = [dict(VNET_MODE[0], network_security_group=SUB + "/networkSecurityGroups/nsg",
                    route_table=SUB.lower() + "/routetables/rt")]
    aks_network_rules.check_intent(["192.168.16.0/22"], subnets)


def test_subnets_not_listed_must_not_overlap_or_fall_outside():
    vnet = vnet_body([subnet_body("legacy", "192.168.18.0/24"), subnet_body("nodes", "192.168.16.0/24")])
    aks_network_rules.check_against_existing(["192.168.16.0/22"], VNET_MODE, vnet)

    overlapping = [{"name": "new", "address_prefix": "192.168.18.0/25"}]
    with pytest.raises(ValueError, match=r"Subnet new \(192.168.18.0/25\) overlaps existing subnet legacy"):
        aks_network_rules.check_against_existing(["192.168.16.0/22"], overlapping, vnet)

    with pytest.raises(ValueError, match=r"Existing subnet legacy \(192.168.18.0/24\) would fall outside"):
        aks_network_rules.check_against_existing(["192.168.16.0/23"], VNET_MODE, vnet)


# --- merge onto what Azure returned ---------------------------------------------------------------
def test_subnet_used_by_aks_needs_no_update_and_keeps_everything():
    current = pod_subnet_used_by_aks()
    intent = {"name": "pods", "address_prefix": "192.168.17.0/24"}
    assert aks_network_rules.subnet_needs_update(current, intent) is False
    assert aks_network_rules.desired_subnet(current, intent) == current


def test_changed_subnet_keeps_delegation_and_service_association_link():
    current = pod_subnet_used_by_aks()
    nsg = SUB + "/networkSecurityGroups/nsg"
    desired = aks_network_rules.desired_subnet(current, {"name": "pods", "address_prefix": "192.168.17.0/24", "network_security_group": nsg})
    assert desired["properties"]["networkSecurityGroup"] == {"id": nsg}
    for key in ("delegations", "serviceAssociationLinks", "addressPrefix"):
        assert desired["properties"][key] == current["properties"][key]
    assert current["properties"].get("networkSecurityGroup") is None  # the GET body itself is not modified


def test_resource_ids_compare_case_insensitively():
    nsg = SUB + "/networkSecurityGroups/nsg"
    current = subnet_body("nodes", "192.168.16.0/24", networkSecurityGroup={"id": nsg.lower()})
    assert aks_network_rules.subnet_needs_update(current, dict(VNET_MODE[0], network_security_group=nsg)) is False
    # an NSG attached out of band is left alone when the task does not name one
    assert aks_network_rules.subnet_needs_update(current, VNET_MODE[0]) is False


def test_multi_prefix_subnet_is_rewritten_to_the_single_prefix():
    current = {"name": "nodes", "properties": {"addressPrefixes": ["192.168.16.0/24", "192.168.19.0/24"]}}
    desired = aks_network_rules.desired_subnet(current, VNET_MODE[0])
    assert desired["properties"] == {"addressPrefix": "192.168.16.0/24"}
    same = {"name": "nodes", "properties": {"addressPrefixes": ["192.168.16.0/24"]}}
    assert aks_network_rules.subnet_needs_update(same, VNET_MODE[0]) is False


def test_desired_vnet_keeps_unlisted_subnets_exactly_and_adds_new_ones():
    legacy = subnet_body("legacy", "192.168.19.0/24", serviceEndpoints=[{"service": "Microsoft.Storage"}])
    current = vnet_body([legacy, pod_subnet_used_by_aks()], tags={"owner": "net-team"})
    desired = aks_network_rules.desired_vnet(current, "westeurope", ["192.168.16.0/22"], {"env": "dev"}, VNET_MODE)
    subnets = {s["name"]: s for s in desired["properties"]["subnets"]}
    assert list(subnets) == ["legacy", "pods", "nodes"]
    assert subnets["legacy"] == legacy
    assert subnets["pods"] == pod_subnet_used_by_aks()
    assert subnets["nodes"] == {"name": "nodes", "properties": {"addressPrefix": "192.168.16.0/24"}}
    assert desired["tags"] == {"owner": "net-team", "env": "dev"}
    assert desired["id"] == VNET_ID and desired["location"] == "westeurope"


def test_new_vnet_body():
    desired = aks_network_rules.desired_vnet(None, "westeurope", ["192.168.16.0/22"], None, VNET_MODE)
    assert desired == {"location": "westeurope", "properties": {
        "addressSpace": {"addressPrefixes": ["192.168.16.0/22"]},
        "subnets": [{"name": "nodes", "properties": {"addressPrefix": "192.168.16.0/24"}},
                    {"name": "pods", "properties": {"addressPrefix": "192.168.17.0/24"}}]}}


@pytest.mark.parametrize("prefixes, tags, expected", [
    (["192.168.16.0/22"], None, False),
    (["192.168.16.0/22"], {"owner": "net-team"}, False),
    (["192.168.16.0/22"], {"env": "dev"}, True),
    (["192.168.16.0/22", "10.1.0.0/16"], None, True),
    (["192.168.16.0/21"], None, True),
])
def test_vnet_needs_update(prefixes, tags, expected):
    assert aks_network_rules.vnet_needs_update(vnet_body([], tags={"owner": "net-team"}), prefixes, tags) is expected


def test_vnet_prefix_order_is_not_a_change():
    current = vnet_body([], prefixes=["10.1.0.0/16", "192.168.16.0/22"])
    assert aks_network_rules.vnet_needs_update(current, ["192.168.16.0/22", "10.1.0.0/16"], None) is False


def test_merged_tags_keeps_others_and_stores_text():
    assert aks_network_rules.merged_tags({"a": "1"}, {"b": 2, "c": True}) == {"a": "1", "b": "2", "c": "True"}
    assert aks_network_rules.merged_tags(None, None) == {}


# --- in use -------------------------------------------------------------------------------------
def test_subnet_users_names_the_cluster_and_resources():
    used = pod_subnet_used_by_aks()
    used["properties"]["ipConfigurations"] = [
        {"id": "/subscriptions/0000/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-vmss"
               "/virtualMachines/0/networkInterfaces/nic/ipConfigurations/ipconfig1"},
        {"id": "/subscriptions/0000/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-vmss"
               "/virtualMachines/1/networkInterfaces/nic/ipConfigurations/ipconfig1"},
    ]
    assert aks_network_rules.subnet_users(used) == [
        "service association link AzureKubernetesService of Microsoft.ContainerService/managedClusters aks1 (resource group rg)",
        "IP configurations of Microsoft.Compute/virtualMachineScaleSets aks-vmss (resource group MC_rg)",
    ]


def test_subnet_users_from_cluster_node_pools():
    nodes = subnet_body("nodes", "192.168.16.0/24")
    cluster = {"name": "aks1", "properties": {"agentPoolProfiles": [
        {"name": "system", "vnetSubnetID": nodes["id"].lower(), "podSubnetID": VNET_ID + "/subnets/pods"}]}}
    assert aks_network_rules.subnet_users(nodes, [cluster]) == ["managed cluster aks1 (node pool system uses it as node subnet)"]
    assert aks_network_rules.subnet_users(subnet_body("other", "192.168.18.0/24"), [cluster]) == []


def test_delegation_alone_does_not_block_deletion():
    left_behind = pod_subnet_used_by_aks()
    del left_behind["properties"]["serviceAssociationLinks"]
    assert aks_network_rules.subnet_users(left_behind) == []


# --- views ----------------------------------------------------------------------------------------
def test_network_view_summarises_without_raw_json():
    view = aks_network_rules.network_view({"location": "westeurope", "tags": {"a": "b"}, "id": "x"},
                                          vnet_body([subnet_body("nodes", "192.168.16.0/24"), pod_subnet_used_by_aks()]))
    assert view == {
        "resource_group": {"location": "westeurope", "tags": {"a": "b"}},
        "vnet": {"location": "westeurope", "address_prefixes": ["192.168.16.0/22"], "tags": {}, "subnets": {
            "nodes": {"address_prefix": "192.168.16.0/24"},
            "pods": {"address_prefix": "192.168.17.0/24", "delegations": ["Microsoft.ContainerService/managedClusters"],
                     "service_association_links": ["AzureKubernetesService"]}}},
    }
    assert aks_network_rules.network_view(None, None) == {}


def test_same_location():
    assert aks_network_rules.same_location("West Europe", "westeurope")
    assert not aks_network_rules.same_location("westeurope", "northeurope")


def test_inputs_are_not_mutated():
    current = vnet_body([pod_subnet_used_by_aks()])
    snapshot = copy.deepcopy(current)
    aks_network_rules.desired_vnet(current, "westeurope", ["192.168.16.0/21"], {"x": "y"}, VNET_MODE)
    assert current == snapshot
