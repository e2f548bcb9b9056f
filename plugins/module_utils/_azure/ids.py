# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ARM resource IDs, read and written with azure-mgmt-core's tools (imported when first needed: the
package pulls in azure-core, which costs a few hundred milliseconds).

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

SUBNET_FORMAT = ("/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/"
                 "<subnet>")


def parse(resource_id):
    """The parts of a resource ID (azure-mgmt-core's ``parse_resource_id``); {} for anything else."""
    if not isinstance(resource_id, str) or not resource_id.lower().startswith("/subscriptions/"):
        return {}
    from azure.mgmt.core.tools import parse_resource_id

    return parse_resource_id(resource_id.rstrip("/"))


def build(**parts):
    """A resource ID from its parts (azure-mgmt-core's ``resource_id``)."""
    from azure.mgmt.core.tools import resource_id

    return resource_id(**parts)


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
    if not parts.get("resource_group") or not parts.get("name") or parts.get("children"):
        return False
    return _same(build(subscription=parts["subscription"], resource_group=parts["resource_group"],
                       namespace="Microsoft.Network", type=arm_type, name=parts["name"]), resource_id)
