"""ARM resource ids as the real services spell them."""

import re

_SUBNET_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers/microsoft\.network/"
    r"virtualnetworks/(?P<vnet>[^/]+)/subnets/(?P<subnet>[^/]+)$", re.IGNORECASE)


def resource_group(sub, rg):
    return "/subscriptions/%s/resourceGroups/%s" % (sub, rg)


def vnet(sub, rg, name):
    return "%s/providers/Microsoft.Network/virtualNetworks/%s" % (resource_group(sub, rg), name)


def subnet(vnet_id, name):
    return "%s/subnets/%s" % (vnet_id, name)


def cluster(sub, rg, name):
    # AKS writes "resourcegroups" in lower case in the ids it returns (recorded)
    return "/subscriptions/%s/resourcegroups/%s/providers/Microsoft.ContainerService/managedClusters/%s" % (sub, rg, name)


def parse_subnet(subnet_id):
    """{sub, rg, vnet, subnet} for a well-formed subnet id, else None."""
    match = _SUBNET_ID.match(subnet_id or "")
    return match.groupdict() if match else None
