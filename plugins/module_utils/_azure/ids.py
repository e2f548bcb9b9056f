# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ARM resource IDs, read and written by one parser with azure-mgmt-core's grammar and key names.

``parse`` and ``build`` answer exactly what azure-mgmt-core's ``tools.parse_resource_id`` and
``tools.resource_id`` answer for the IDs this collection reads (resources, their children, resource
groups); tests/unit/plugins/module_utils/test_azure_ids.py holds them to the library on every shape.
They are written here because importing ``azure.mgmt.core.tools`` runs the package's ``__init__``,
which imports its asynchronous clients and asyncio: about 13 ms, on every task that reads an ID.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

SUBNET_FORMAT = ("/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/"
                 "<subnet>")


def _children(segments):
    """[(namespace or None, type, name)...] of the segments after a resource's name; None if they do not pair up."""
    children = []
    while segments:
        namespace = None
        if len(segments) >= 4 and segments[0].lower() == "providers":
            namespace, segments = segments[1], segments[2:]
        if len(segments) < 2 or not segments[1]:
            break  # azure-mgmt-core stops at the first segment that is not a type/name pair
        children.append((namespace, segments[0], segments[1]))
        segments = segments[2:]
    return children


def parse(resource_id):
    """The parts of a resource ID under azure-mgmt-core's keys (subscription, resource_group, namespace,
    type, name, child_type_N, child_name_N, child_namespace_N, last_child_num, resource_type, resource_name);
    {} for anything that is not one."""
    if not isinstance(resource_id, str) or not resource_id.lower().startswith("/subscriptions/"):
        return {}
    segments = resource_id.rstrip("/").split("/")[2:]
    if not segments or not segments[0]:
        return {}
    parts = {"subscription": segments[0]}
    rest = segments[1:]
    if len(rest) >= 2 and rest[0].lower() == "resourcegroups" and rest[1]:
        parts["resource_group"], rest = rest[1], rest[2:]
    if len(rest) >= 4 and rest[0].lower() == "providers" and rest[1] and rest[3]:
        parts.update(namespace=rest[1], type=rest[2], name=rest[3])
        children = _children(rest[4:])
        for level, (namespace, kind, name) in enumerate(children, 1):
            parts.update({"child_type_%d" % level: kind, "child_name_%d" % level: name})
            if namespace:
                parts["child_namespace_%d" % level] = namespace
        if children:
            parts["last_child_num"] = len(children)
        parts.update(resource_namespace=rest[1], resource_type=children[-1][1] if children else rest[2],
                     resource_name=children[-1][2] if children else rest[3])
    return parts


def build(**parts):
    """A resource ID from its parts (the keys of ``parse``), built from the left while the parts go on."""
    built = ["/subscriptions/" + parts["subscription"]]
    if parts.get("resource_group"):
        built.append("resourceGroups/" + parts["resource_group"])
    if not (parts.get("namespace") and parts.get("type") and parts.get("name")):
        return "/".join(built)
    built += ["providers", parts["namespace"], parts["type"], parts["name"]]
    level = 1
    while parts.get("child_type_%d" % level) and parts.get("child_name_%d" % level):
        if parts.get("child_namespace_%d" % level):
            built += ["providers", parts["child_namespace_%d" % level]]
        built += [parts["child_type_%d" % level], parts["child_name_%d" % level]]
        level += 1
    return "/".join(built)


def _same(a, b):
    return (a or "").rstrip("/").lower() == (b or "").rstrip("/").lower()


def resource_group_of(resource_id):
    return parse(resource_id).get("resource_group")


def subnet_id(subscription, resource_group, vnet, subnet):
    return build(subscription=subscription, resource_group=resource_group, namespace="Microsoft.Network",
                 type="virtualNetworks", name=vnet, child_type_1="subnets", child_name_1=subnet)


def subnet_parts(resource_id):
    """subscription, resource_group, vnet and subnet of a subnet resource ID.

    ARM treats the segment names case-insensitively (real IDs often say ``resourcegroups``).
    Raises ValueError for anything that is not exactly a subnet ID.
    """
    parts = parse(resource_id)
    found = None
    if parts.get("resource_group") and parts.get("child_name_1") and parts.get("last_child_num") == 1:
        found = dict(subscription=parts["subscription"], resource_group=parts["resource_group"], vnet=parts["name"],
                     subnet=parts["child_name_1"])
    if not found or not _same(subnet_id(**found), resource_id):  # the round trip rejects other types and extra segments
        raise ValueError("%r is not a subnet resource ID (expected %s)" % (resource_id, SUBNET_FORMAT))
    return found


def is_network_resource(resource_id, arm_type):
    """Whether ``resource_id`` is exactly a top-level Microsoft.Network resource of ``arm_type``."""
    parts = parse(resource_id)
    if not parts.get("resource_group") or not parts.get("name") or parts.get("last_child_num"):
        return False
    return _same(build(subscription=parts["subscription"], resource_group=parts["resource_group"],
                       namespace="Microsoft.Network", type=arm_type, name=parts["name"]), resource_id)
