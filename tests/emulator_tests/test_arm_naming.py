"""Azure's naming, sizing, location and body-type rules (tests/emulator/arm/naming.py), over raw HTTPS."""

import pytest

from tests.emulator.arm import naming

from .conftest import cluster_body, unique, vnet_body

RG_API, NET_API, AKS_API = "?api-version=2025-04-01", "?api-version=2026-03-01", "?api-version=2026-08-01"


def _url(raw, sub, path, api):
    return "%s/subscriptions/%s%s%s" % (raw.base, sub, path, api)


def _code(reply):
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.text)
    return reply.json()["error"]["code"]


@pytest.fixture(scope="module")
def rg(raw, sdk):
    name = unique("naming")
    assert raw.put(_url(raw, sdk.subscription_id, "/resourcegroups/" + name, RG_API),
                   json={"location": "westeurope"}).status_code == 201
    yield name
    sdk.resources.resource_groups.begin_delete(name).result()


def test_locations_api_lists_the_subscription_regions(raw, sdk):
    reply = raw.get(_url(raw, sdk.subscription_id, "/locations", "?api-version=2022-12-01"))
    assert reply.status_code == 200
    names = [item["name"] for item in reply.json()["value"]]
    assert names == naming.LOCATION_NAMES and "westeurope" in names
    west = next(item for item in reply.json()["value"] if item["name"] == "westeurope")
    assert west["displayName"] == "West Europe" and west["id"].endswith("/locations/westeurope")


@pytest.mark.parametrize("name, code", [
    ("a" * 91, "InvalidResourceGroup"),
    ("ends-with-dot.", "InvalidResourceGroup"),
    ("has space", "InvalidResourceGroup"),
    ("semi;colon", "InvalidResourceGroup"),
    ("star*", "InvalidResourceGroup"),
])
def test_bad_resource_group_names(raw, sdk, name, code):
    reply = raw.put(_url(raw, sdk.subscription_id, "/resourcegroups/" + name, RG_API), json={"location": "westeurope"})
    assert _code(reply) == code


@pytest.mark.parametrize("name", ["a", "a" * 90, "with(parens)_and-dots.x", "Ünïcode"])
def test_good_resource_group_names(raw, sdk, name):
    url = _url(raw, sdk.subscription_id, "/resourcegroups/" + name, RG_API)
    assert raw.put(url, json={"location": "westeurope"}).status_code in (200, 201)
    assert raw.delete(url).status_code == 202


@pytest.mark.parametrize("location, code", [("mars-north", "LocationNotAvailableForResourceGroup"),
                                            ("", "LocationRequired")])
def test_resource_group_location_is_checked(raw, sdk, location, code):
    reply = raw.put(_url(raw, sdk.subscription_id, "/resourcegroups/" + unique("loc"), RG_API), json={"location": location})
    assert _code(reply) == code


def test_display_names_are_locations(raw, sdk):
    url = _url(raw, sdk.subscription_id, "/resourcegroups/" + unique("loc"), RG_API)
    assert raw.put(url, json={"location": "West Europe"}).status_code == 201
    raw.delete(url)


@pytest.mark.parametrize("name, subnets, code", [
    ("v", [("a", "10.10.0.0/24")], "InvalidResourceName"),
    ("v" * 65, [("a", "10.10.0.0/24")], "InvalidResourceName"),
    ("-vnet", [("a", "10.10.0.0/24")], "InvalidResourceName"),
    ("vnet.", [("a", "10.10.0.0/24")], "InvalidResourceName"),
    ("vnet", [("has space", "10.10.0.0/24")], "InvalidResourceName"),
    ("vnet", [("s" * 81, "10.10.0.0/24")], "InvalidResourceName"),
    ("vnet", [("a", "10.10.0.0/30")], "NetcfgInvalidSubnet"),
    ("vnet", [("a", "10.10.0.0/32")], "NetcfgInvalidSubnet"),
])
def test_bad_network_names_and_sizes(raw, sdk, rg, name, subnets, code):
    path = "/resourceGroups/%s/providers/Microsoft.Network/virtualNetworks/%s" % (rg, name)
    reply = raw.put(_url(raw, sdk.subscription_id, path, NET_API), json=vnet_body(*subnets))
    assert _code(reply) == code


def test_vnet_location_is_checked(raw, sdk, rg):
    path = "/resourceGroups/%s/providers/Microsoft.Network/virtualNetworks/vnet" % rg
    reply = raw.put(_url(raw, sdk.subscription_id, path, NET_API), json=vnet_body(("a", "10.10.0.0/24"), location="mars"))
    assert _code(reply) == "LocationNotAvailableForResourceType"
    assert "Microsoft.Network/virtualNetworks" in reply.json()["error"]["message"]


def test_child_subnet_rules(raw, sdk, rg):
    vnet = "/resourceGroups/%s/providers/Microsoft.Network/virtualNetworks/%s" % (rg, "v" * 64)
    assert raw.put(_url(raw, sdk.subscription_id, vnet, NET_API), json=vnet_body(("ok_", "10.10.0.0/29"))).status_code == 201
    small = raw.put(_url(raw, sdk.subscription_id, vnet + "/subnets/tiny", NET_API),
                    json={"properties": {"addressPrefix": "10.10.1.0/30"}})
    assert _code(small) == "NetcfgInvalidSubnet"
    spaced = raw.put(_url(raw, sdk.subscription_id, vnet + "/subnets/bad name", NET_API),
                     json={"properties": {"addressPrefix": "10.10.1.0/29"}})
    assert _code(spaced) == "InvalidResourceName"


@pytest.mark.parametrize("name, properties, code, target", [
    ("c" * 64, {}, "InvalidParameter", "resourceName"),
    ("c" * 300, {}, "InvalidParameter", "resourceName"),
    ("-bad.name", {}, "InvalidParameter", "resourceName"),
    ("bad_", {}, "InvalidParameter", "resourceName"),
    ("ok", {"dnsPrefix": "-x"}, "InvalidParameter", "dnsPrefix"),
    ("ok", {"dnsPrefix": "d" * 55}, "InvalidParameter", "dnsPrefix"),
    ("ok", {"dnsPrefix": "dots.are.bad"}, "InvalidParameter", "dnsPrefix"),
])
@pytest.mark.schema_invalid
def test_bad_cluster_names_and_dns_prefixes(raw, sdk, rg, name, properties, code, target):
    path = "/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/%s" % (rg, name)
    reply = raw.put(_url(raw, sdk.subscription_id, path, AKS_API), json=cluster_body(**properties))
    assert _code(reply) == code and reply.json()["error"]["target"] == target
    assert "aka.ms/aks-naming-rules" in reply.json()["error"]["message"]


def test_cluster_location_is_checked(raw, sdk, rg):
    path = "/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/ok" % rg
    reply = raw.put(_url(raw, sdk.subscription_id, path, AKS_API), json=dict(cluster_body(), location="mars-north"))
    assert _code(reply) == "LocationNotAvailableForResourceType"


@pytest.mark.parametrize("path, body, where", [
    ("/resourcegroups/{rg}", {"location": 5}, "'location'"),
    ("/resourcegroups/{rg}", {"location": "westeurope", "tags": {"a": 1}}, "'tags.a'"),
    ("/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/vn", {"location": "westeurope", "properties": "x"},
     "'properties'"),
    ("/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/vn",
     {"location": "westeurope", "properties": {"subnets": [{"name": 7}]}}, "'properties.subnets[0].name'"),
    ("/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/ok",
     dict(cluster_body(), properties={"agentPoolProfiles": [{"name": "system", "count": "3"}]}),
     "'properties.agentPoolProfiles[0].count'"),
    ("/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/ok",
     dict(cluster_body(), properties={"agentPoolProfiles": [{"name": "system", "count": True}]}),
     "'properties.agentPoolProfiles[0].count'"),
    ("/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/ok",
     dict(cluster_body(), properties={"networkProfile": {"podCidr": ["10.0.0.0/8"]}}), "'properties.networkProfile.podCidr'"),
])
@pytest.mark.schema_invalid
def test_wrong_json_types_are_invalid_request_content(raw, sdk, rg, path, body, where):
    api = RG_API if path.count("/") == 2 else (NET_API if "Network" in path else AKS_API)
    reply = raw.put(_url(raw, sdk.subscription_id, path.format(rg=rg if "providers" in path else unique("t")), api),
                    json=body)
    assert _code(reply) == "InvalidRequestContent"
    assert where in reply.json()["error"]["message"]


def test_cluster_on_an_ipv6_only_subnet_is_refused(raw, sdk, rg):
    vnet = "/resourceGroups/%s/providers/Microsoft.Network/virtualNetworks/dual" % rg
    body = vnet_body(("v6", "fd00:1::/64"), space="10.40.0.0/16")
    body["properties"]["addressSpace"]["addressPrefixes"].append("fd00:1::/48")
    subnet_id = raw.put(_url(raw, sdk.subscription_id, vnet, NET_API), json=body).json()["properties"]["subnets"][0]["id"]
    pools = [{"name": "system", "count": 3, "mode": "System", "vnetSubnetID": subnet_id}]
    path = "/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/v6" % rg
    reply = raw.put(_url(raw, sdk.subscription_id, path, AKS_API), json=cluster_body(pools=pools))
    assert _code(reply) == "InvalidParameter" and reply.json()["error"]["target"] == "agentPoolProfiles[0].vnetSubnetID"
