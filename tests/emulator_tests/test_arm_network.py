"""Virtual networks and subnets: LRO shape, inline and child subnets, address validation, in-use protection."""

import pytest

from .conftest import cluster_body, vnet_body

NET_API = "?api-version=2026-03-01"


def _error(call):
    from azure.core.exceptions import HttpResponseError  # pylint: disable=import-outside-toplevel
    with pytest.raises(HttpResponseError) as caught:
        call()
    return caught.value


def test_vnet_with_two_subnets_inline_and_as_children(sdk, group):
    poller = sdk.network.virtual_networks.begin_create_or_update(group, "vnet", vnet_body(("nodes", "10.10.0.0/24")))
    vnet = poller.result()
    assert vnet.properties.provisioning_state == "Succeeded"
    assert [s.name for s in vnet.properties.subnets] == ["nodes"]
    pods = sdk.network.subnets.begin_create_or_update(group, "vnet", "pods",
                                                      {"properties": {"addressPrefix": "10.10.16.0/20"}}).result()
    assert pods.properties.address_prefix == "10.10.16.0/20"
    assert pods.id.endswith("/virtualNetworks/vnet/subnets/pods")
    assert sorted(s.name for s in sdk.network.subnets.list(group, "vnet")) == ["nodes", "pods"]
    assert sorted(s.name for s in sdk.network.virtual_networks.get(group, "vnet").properties.subnets) == ["nodes", "pods"]

    sdk.network.subnets.begin_delete(group, "vnet", "pods").result()
    assert [s.name for s in sdk.network.subnets.list(group, "vnet")] == ["nodes"]
    sdk.network.virtual_networks.begin_delete(group, "vnet").result()
    assert _error(lambda: sdk.network.virtual_networks.get(group, "vnet")).status_code == 404


def test_vnet_put_is_an_lro_with_azure_async_operation(raw, sdk, group):
    url = "%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/virtualNetworks/vn%s" % (
        raw.base, sdk.subscription_id, group, NET_API)
    created = raw.put(url, json=vnet_body(("a", "10.10.1.0/24")))
    assert created.status_code == 201 and created.json()["properties"]["provisioningState"] == "Updating"
    assert int(created.headers["Retry-After"]) >= 1
    status = raw.get(created.headers["Azure-AsyncOperation"]).json()
    assert status["status"] == "Succeeded"
    assert raw.get(url).json()["properties"]["provisioningState"] == "Succeeded"
    assert raw.put(url, json=vnet_body(("a", "10.10.1.0/24"))).status_code == 200
    deleted = raw.delete(url)
    assert deleted.status_code == 202 and deleted.headers["Location"] and deleted.headers["Azure-AsyncOperation"]
    assert raw.get(deleted.headers["Location"]).status_code == 204
    assert raw.delete(url).status_code == 204


def test_missing_subnet_is_not_found(sdk, group):
    sdk.network.virtual_networks.begin_create_or_update(group, "vnet", vnet_body(("a", "10.10.0.0/24"))).result()
    assert _error(lambda: sdk.network.subnets.get(group, "vnet", "nope")).error.code == "NotFound"
    assert _error(lambda: sdk.network.virtual_networks.get(group, "nope")).error.code == "ResourceNotFound"


@pytest.mark.parametrize("subnets, space, code", [
    ([("a", "10.10.0.0")], "10.10.0.0/16", "InvalidAddressPrefixFormat"),
    ([("a", "10.10.0.0/33")], "10.10.0.0/16", "InvalidAddressPrefixFormat"),
    ([("a", "10.10.0.5/24")], "10.10.0.0/16", "InvalidCIDRNotation"),
    ([("a", "10.20.0.0/24")], "10.10.0.0/16", "NetcfgSubnetRangeOutsideVnet"),
    ([("a", "10.10.0.0/24"), ("b", "10.10.0.128/25")], "10.10.0.0/16", "NetcfgSubnetRangesOverlap"),
    ([("a", "10.10.0.0/24")], "10.10.0.0/16x", "InvalidAddressPrefixFormat"),
])
def test_address_validation(sdk, group, subnets, space, code):
    error = _error(lambda: sdk.network.virtual_networks.begin_create_or_update(group, "vnet", vnet_body(*subnets, space=space)))
    assert (error.status_code, error.error.code) == (400, code)


def test_child_subnet_validation_sees_the_siblings(sdk, group):
    sdk.network.virtual_networks.begin_create_or_update(group, "vnet", vnet_body(("a", "10.10.0.0/24"))).result()
    overlap = _error(lambda: sdk.network.subnets.begin_create_or_update(
        group, "vnet", "b", {"properties": {"addressPrefix": "10.10.0.0/25"}}))
    assert overlap.error.code == "NetcfgSubnetRangesOverlap"
    outside = _error(lambda: sdk.network.subnets.begin_create_or_update(
        group, "vnet", "b", {"properties": {"addressPrefix": "192.168.0.0/24"}}))
    assert outside.error.code == "NetcfgSubnetRangeOutsideVnet"


def test_subnets_used_by_a_cluster_are_protected(sdk, group):
    """VNet-mode cluster: node NICs land in the node subnet; AKS delegates the pod subnet and links it."""
    vnet = sdk.network.virtual_networks.begin_create_or_update(
        group, "vnet", vnet_body(("nodes", "10.10.0.0/24"), ("pods", "10.10.16.0/20"))).result()
    nodes, pods = (s.id for s in vnet.properties.subnets)
    network_profile = {"networkPlugin": "azure", "networkDataplane": "cilium", "networkPolicy": "cilium",
                       "serviceCidr": "10.0.0.0/16", "dnsServiceIP": "10.0.0.10"}
    pools = [{"name": "system", "count": 2, "mode": "System", "vnetSubnetID": nodes, "podSubnetID": pods}]
    sdk.aks.managed_clusters.begin_create_or_update(group, "c", cluster_body(network_profile, pools)).result()

    pod_subnet = sdk.network.subnets.get(group, "vnet", "pods").as_dict()
    delegations = pod_subnet["properties"]["delegations"]
    assert [d["properties"]["serviceName"] for d in delegations] == ["Microsoft.ContainerService/managedClusters"]
    assert pod_subnet["properties"]["serviceAssociationLinks"][0]["properties"]["link"].endswith("/managedClusters/c")
    assert len(sdk.network.subnets.get(group, "vnet", "nodes").as_dict()["properties"]["ipConfigurations"]) == 2

    for call in (lambda: sdk.network.subnets.begin_delete(group, "vnet", "nodes"),
                 lambda: sdk.network.subnets.begin_delete(group, "vnet", "pods"),
                 lambda: sdk.network.virtual_networks.begin_delete(group, "vnet"),
                 lambda: sdk.network.virtual_networks.begin_create_or_update(group, "vnet", vnet_body(("nodes", "10.10.0.0/24")))):
        assert _error(call).error.code == "InUseSubnetCannotBeDeleted"
    # a PUT that drops the delegation AKS relies on fails; one that keeps it works
    dropped = _error(lambda: sdk.network.subnets.begin_create_or_update(
        group, "vnet", "pods", {"properties": {"addressPrefix": "10.10.16.0/20"}}))
    assert dropped.error.code == "SubnetMissingRequiredDelegation"
    kept = {"properties": {"addressPrefix": "10.10.16.0/20", "delegations": [
        {"name": "aks", "properties": {"serviceName": "Microsoft.ContainerService/managedClusters"}}]}}
    assert sdk.network.subnets.begin_create_or_update(group, "vnet", "pods", kept).result().properties.service_association_links
    resized = _error(lambda: sdk.network.subnets.begin_create_or_update(
        group, "vnet", "nodes", {"properties": {"addressPrefix": "10.10.0.0/23"}}))
    assert resized.error.code == "InUseSubnetCannotBeUpdated"

    sdk.aks.managed_clusters.begin_delete(group, "c").result()
    released = sdk.network.subnets.get(group, "vnet", "pods").as_dict()["properties"]
    assert "serviceAssociationLinks" not in released and released["delegations"]  # the delegation stays, as on Azure
    sdk.network.subnets.begin_delete(group, "vnet", "nodes").result()
    sdk.network.virtual_networks.begin_delete(group, "vnet").result()
