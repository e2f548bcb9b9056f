# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules and merge logic of the ``aks_network`` module, kept free of Azure calls so they unit-test.

Everything works on raw ARM JSON. Desired bodies are built by merging the user's intent onto what
Azure returned, so fields this collection does not manage (the delegation and service association
link AKS adds to a pod subnet, IP configurations, service endpoints, ...) are sent back unchanged.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import copy

from ansible_collections.azcni.cilium.plugins.module_utils._aks.cidr import (
    contains, overlaps, parse_network, reserved_overlap)
from ansible_collections.azcni.cilium.plugins.module_utils._azure import ids

AZURE_RESERVED_IPS = 5  # Azure keeps the first four and the last address of every subnet

# Subnet references and the ARM resource type each must point at.
SUBNET_LINKS = {"network_security_group": ("networkSecurityGroup", "networkSecurityGroups"),
                "route_table": ("routeTable", "routeTables")}


# --- validation, before any request ---------------------------------------------------------------
def check_intent(address_prefixes, subnets):
    """Validate the VNet's prefixes and subnets on their own; raise ValueError naming the rule."""
    vnet_nets = _parse_all("VNet address prefix", address_prefixes)
    for text, network in vnet_nets:
        _check_not_reserved("VNet address prefix %s" % text, network)
    _check_no_overlap({"VNet address prefix %s" % text: network for text, network in vnet_nets})

    seen = set()
    named = {}
    for subnet in subnets:
        name = subnet["name"]
        if name in seen:
            raise ValueError("Subnet %s is listed twice" % name)
        seen.add(name)
        if not subnet.get("address_prefix"):
            raise ValueError("Subnet %s needs an address_prefix" % name)
        network = _parse("address prefix of subnet %s" % name, subnet["address_prefix"])
        if vnet_nets and not any(contains(outer, network) for _text, outer in vnet_nets):
            raise ValueError("Subnet %s (%s) is not inside the VNet address space (%s)"
                             % (name, network, ", ".join(text for text, _net in vnet_nets)))
        _check_not_reserved("Subnet %s (%s)" % (name, network), network)
        named["subnet %s (%s)" % (name, network)] = network
        for option, (_key, arm_type) in SUBNET_LINKS.items():
            _check_resource_id(name, option, subnet.get(option), arm_type)
    _check_no_overlap(named)


def check_against_existing(address_prefixes, subnets, vnet_body):
    """Rules that need the existing VNet: subnets the user did not name must still fit and not overlap."""
    vnet_nets = [parse_network(text) for text in address_prefixes]
    managed = {s["name"]: parse_network(s["address_prefix"]) for s in subnets}
    for current in (vnet_body or {}).get("properties", {}).get("subnets") or []:
        name = current.get("name")
        if name in managed:
            continue
        for text in subnet_prefixes(current):
            network = parse_network(text)
            if not any(contains(outer, network) for outer in vnet_nets):
                raise ValueError("Existing subnet %s (%s) would fall outside the new VNet address space (%s)"
                                 % (name, network, ", ".join(address_prefixes)))
            for other, other_net in managed.items():
                if overlaps(network, other_net):
                    raise ValueError("Subnet %s (%s) overlaps existing subnet %s (%s)" % (other, other_net, name, network))


def _parse(what, text):
    try:
        return parse_network(text)
    except ValueError as exc:
        raise ValueError("Invalid %s: %s" % (what, exc)) from None


def _parse_all(what, texts):
    return [(str(network), network) for network in (_parse("%s %r" % (what, text), text) for text in texts or [])]


def _check_not_reserved(what, network):
    reserved = reserved_overlap(network)
    if reserved:
        raise ValueError("%s overlaps the range %s, which Azure reserves and AKS does not allow" % (what, reserved))


def _check_no_overlap(named):
    items = list(named.items())
    for index, (name_a, net_a) in enumerate(items):
        for name_b, net_b in items[index + 1:]:
            if overlaps(net_a, net_b):
                raise ValueError("%s overlaps %s" % (name_a, name_b))


def _check_resource_id(subnet, option, value, arm_type):
    if not value:
        return
    if not ids.is_network_resource(value, arm_type):
        raise ValueError("%s of subnet %s must be the resource ID of a Microsoft.Network/%s, got %r"
                         % (option, subnet, arm_type, value))


# --- reading ARM bodies ---------------------------------------------------------------------------
def subnet_prefixes(body):
    """A subnet's prefixes: ARM returns ``addressPrefix`` or, for multi-prefix subnets, ``addressPrefixes``."""
    props = body.get("properties") or {}
    if props.get("addressPrefix"):
        return [props["addressPrefix"]]
    return list(props.get("addressPrefixes") or [])


def _link_id(props, key):
    return ((props.get(key) or {}).get("id") or None)


def _same_id(a, b):
    return (a or "").lower() == (b or "").lower()


def describe_resource(resource_id):
    """``Microsoft.Network/networkInterfaces nic-1 (resource group rg)`` from a (child) resource ID."""
    parts = ids.parse(resource_id)
    if not all(parts.get(key) for key in ("namespace", "type", "name", "resource_group")):
        return resource_id
    return "%s/%s %s (resource group %s)" % (parts["namespace"], parts["type"], parts["name"], parts["resource_group"])


def subnet_users(subnet_body, clusters=()):
    """Why a subnet is in use, one string per user; empty when nothing uses it.

    Looks at what Azure records on the subnet (IP configurations, service association links) and at
    the node pools of ``clusters`` (managed cluster JSON bodies) that reference it. A delegation alone
    does not block: AKS leaves it behind after the cluster is gone and Azure deletes it with the subnet.
    """
    props = subnet_body.get("properties") or {}
    users = []
    for link in props.get("serviceAssociationLinks") or []:
        link_props = link.get("properties") or {}
        target = link_props.get("link") or link_props.get("linkedResourceType") or "?"
        users.append("service association link %s of %s" % (link.get("name"), describe_resource(target)))
    owners = []
    for config in props.get("ipConfigurations") or []:
        owner = describe_resource((config.get("id") or "").split("/ipConfigurations/")[0])
        if owner not in owners:
            owners.append(owner)
    users.extend("IP configurations of %s" % owner for owner in owners)
    subnet_id = subnet_body.get("id")
    for cluster in clusters:
        for pool in (cluster.get("properties") or {}).get("agentPoolProfiles") or []:
            for key, role in (("vnetSubnetID", "node subnet"), ("podSubnetID", "pod subnet")):
                if subnet_id and _same_id(pool.get(key), subnet_id):
                    users.append("managed cluster %s (node pool %s uses it as %s)" % (cluster.get("name"), pool.get("name"), role))
    return users


# --- desired bodies -------------------------------------------------------------------------------
def merged_tags(current, wanted):
    """Tags after the change: the user's tags set (values as text, like Azure keeps them), others kept."""
    result = dict(current or {})
    result.update({key: str(value) for key, value in (wanted or {}).items()})
    return result


def desired_subnet(current, intent):
    """The subnet body to PUT: ``current`` (ARM JSON or None) with the user's intent merged in."""
    body = copy.deepcopy(current) if current else {"name": intent["name"]}
    props = body.setdefault("properties", {})
    if subnet_prefixes(body) != [intent["address_prefix"]]:
        props.pop("addressPrefixes", None)
        props["addressPrefix"] = intent["address_prefix"]
    for option, (key, _arm_type) in SUBNET_LINKS.items():
        wanted = intent.get(option)
        if wanted and not _same_id(_link_id(props, key), wanted):
            props[key] = {"id": wanted}
    return body


def desired_vnet(current, location, address_prefixes, tags, subnets):
    """The VNet body to PUT: ``current`` with prefixes, tags and every listed subnet merged in.

    Subnets present in ``current`` but not listed are kept as Azure returned them: a VNet PUT
    without them would delete them.
    """
    body = copy.deepcopy(current) if current else {"location": location}
    props = body.setdefault("properties", {})
    props.setdefault("addressSpace", {})["addressPrefixes"] = list(address_prefixes)
    new_tags = merged_tags(body.get("tags"), tags)
    if new_tags or "tags" in body:
        body["tags"] = new_tags
    by_name = {s.get("name"): s for s in props.get("subnets") or []}
    result = []
    for existing in props.get("subnets") or []:
        intent = next((s for s in subnets if s["name"] == existing.get("name")), None)
        result.append(desired_subnet(existing, intent) if intent else existing)
    result.extend(desired_subnet(None, s) for s in subnets if s["name"] not in by_name)
    props["subnets"] = result
    return body


def vnet_needs_update(current, address_prefixes, tags):
    """True when the VNet itself (not its subnets) differs from the intent."""
    props = current.get("properties") or {}
    have = sorted((props.get("addressSpace") or {}).get("addressPrefixes") or [])
    return have != sorted(address_prefixes) or merged_tags(current.get("tags"), tags) != (current.get("tags") or {})


def subnet_needs_update(current, intent):
    return current is None or desired_subnet(current, intent) != current


# --- what the diff and the result show ------------------------------------------------------------
def subnet_view(body):
    props = body.get("properties") or {}
    view = {"address_prefix": ", ".join(subnet_prefixes(body))}
    for option, (key, _arm_type) in SUBNET_LINKS.items():
        if _link_id(props, key):
            view[option] = _link_id(props, key)
    delegations = [(d.get("properties") or {}).get("serviceName") for d in props.get("delegations") or []]
    if delegations:
        view["delegations"] = delegations
    links = [link.get("name") for link in props.get("serviceAssociationLinks") or []]
    if links:
        view["service_association_links"] = links
    return view


def network_view(group, vnet):
    """A compact, secret-free summary of the resource group and VNet, for diffs."""
    view = {}
    if group:
        view["resource_group"] = {"location": group.get("location"), "tags": group.get("tags") or {}}
    if vnet:
        props = vnet.get("properties") or {}
        view["vnet"] = {
            "location": vnet.get("location"),
            "address_prefixes": list((props.get("addressSpace") or {}).get("addressPrefixes") or []),
            "tags": vnet.get("tags") or {},
            "subnets": {s.get("name"): subnet_view(s) for s in props.get("subnets") or []},
        }
    return view


def same_location(a, b):
    """ARM accepts ``West Europe`` and ``westeurope`` for the same region."""
    return (a or "").replace(" ", "").lower() == (b or "").replace(" ", "").lower()


def subnet_addresses(body, usage=None):
    """usable / in-use / free addresses of a subnet: the Network RP's usage figures when Azure has the subnet,
    else (a subnet this run creates) the whole range less the five addresses Azure keeps, none in use."""
    if usage is not None:
        usable, in_use = int(usage.get("limit") or 0), int(usage.get("currentValue") or 0)
    else:
        prefixes = subnet_prefixes(body)
        usable, in_use = (parse_network(prefixes[0]).num_addresses - AZURE_RESERVED_IPS if prefixes else 0), 0
    return {"usable_addresses": usable, "addresses_in_use": in_use, "free_addresses": max(usable - in_use, 0)}
