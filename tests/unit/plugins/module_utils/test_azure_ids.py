# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ARM resource IDs: our parser, held to azure-mgmt-core's tools."""

from __future__ import annotations

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._azure import ids

NSG = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg-1"


@pytest.mark.parametrize("resource_id", [
    "/subscriptions/sub-1/resourceGroups/rg-a/providers/Microsoft.Network/virtualNetworks/vnet-a/subnets/pods",
    "/subscriptions/sub-1/resourcegroups/rg-a/providers/microsoft.network/virtualnetworks/vnet-a/subnets/pods/",
])
def test_subnet_parts(resource_id):
    assert ids.subnet_parts(resource_id) == {
        "subscription": "sub-1", "resource_group": "rg-a", "vnet": "vnet-a", "subnet": "pods"}


@pytest.mark.parametrize("resource_id", [
    None,
    "",
    "pods",
    "/subscriptions/sub-1/resourceGroups/rg-a/providers/Microsoft.Network/virtualNetworks/vnet-a",
    "/subscriptions/sub-1/resourceGroups/rg-a/providers/Microsoft.Network/networkSecurityGroups/nsg/subnets/x",
    "/subscriptions/sub-1/resourceGroups/rg-a/providers/Microsoft.Network/virtualNetworks/v/subnets/s/extra",
])
def test_subnet_parts_rejects_other_ids(resource_id):
    with pytest.raises(ValueError, match="is not a subnet resource ID"):
        ids.subnet_parts(resource_id)


def test_subnet_id_round_trips():
    built = ids.subnet_id("sub-1", "rg-a", "vnet-a", "pods")
    assert built == "/subscriptions/sub-1/resourceGroups/rg-a/providers/Microsoft.Network/virtualNetworks/vnet-a/subnets/pods"
    assert ids.subnet_parts(built) == dict(subscription="sub-1", resource_group="rg-a", vnet="vnet-a", subnet="pods")


@pytest.mark.parametrize("resource_id, arm_type, expected", [
    (NSG, "networkSecurityGroups", True),
    (NSG.lower(), "networkSecurityGroups", True),
    (NSG, "routeTables", False),
    (NSG + "/securityRules/r1", "networkSecurityGroups", False),
    (NSG.replace("Microsoft.Network", "Microsoft.Compute"), "networkSecurityGroups", False),
    ("nsg-1", "networkSecurityGroups", False),
])
def test_is_network_resource(resource_id, arm_type, expected):
    assert ids.is_network_resource(resource_id, arm_type) is expected


def test_resource_group_of():
    assert ids.resource_group_of(NSG) == "rg"
    assert ids.resource_group_of("/subscriptions/s/resourcegroups/MC_rg_c_westeurope") == "MC_rg_c_westeurope"
    assert ids.resource_group_of("not an id") is None
    assert ids.resource_group_of(None) is None


# Every shape of ID the collection reads, and the odd ones users paste: the parser must agree with
# azure-mgmt-core's on each (it is written apart only because importing azure.mgmt.core costs ~13 ms a task).
ORACLE_IDS = [
    "/subscriptions/s",
    "/subscriptions/s/",
    "/subscriptions/s/resourceGroups/rg",
    "/subscriptions/s/resourcegroups/MC_rg_c_westeurope",
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v",
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/pods",
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/pods/",
    "/subscriptions/s/resourcegroups/rg/providers/microsoft.network/virtualnetworks/v/subnets/pods",
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s/extra",
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c/agentPools/p",
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg/securityRules/r1",
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/providers/Microsoft.Authorization/"
    "roleAssignments/ra-1",
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-1",
    "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7",
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network",
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks",
    "/subscriptions/s/resourceGroups//providers/Microsoft.Network/virtualNetworks/v",
    "/subscriptions/s/resourceGroups/rg/somethingElse/x",
    "/SUBSCRIPTIONS/s/RESOURCEGROUPS/rg/PROVIDERS/Microsoft.Network/virtualNetworks/v/SUBNETS/a",
]


@pytest.mark.parametrize("resource_id", ORACLE_IDS)
def test_parse_and_build_agree_with_azure_mgmt_core(resource_id):
    from azure.mgmt.core.tools import parse_resource_id, resource_id as build_resource_id

    theirs = dict((key, value) for key, value in parse_resource_id(resource_id.rstrip("/")).items()
                  if key not in ("children", "resource_parent") and not key.startswith("child_parent_"))
    ours = ids.parse(resource_id)
    assert ours == theirs
    assert ids.build(**ours) == build_resource_id(**ours)


def test_anything_else_parses_to_nothing():
    assert [ids.parse(value) for value in (None, "", "pods", "subscriptions/s", "/subscriptions/", 42)] == [{}] * 6
