# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The aks_cilium_cluster_info module: clusters read as ARM returns them, and queried as az prints them.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import re
import traceback

from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_fields import props
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_views import redact
from ansible_collections.azcni.cilium.plugins.module_utils._azure import ids
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureError
from ansible_collections.azcni.cilium.plugins.module_utils._common import require_lib

# az prints ARM keys through the SDK's snake_case attribute names turned back into camelCase, so acronyms
# lose their capitals (dnsServiceIP -> dnsServiceIp, vnetSubnetID -> vnetSubnetId, osSKU -> osSku) and
# kebab-case keys become camelCase (autoScalerProfile.scan-interval -> scanInterval). The keys of these
# maps are data (tag and label names, add-on names, identity resource IDs) and are printed as they are.
AZ_MAP_FIELDS = frozenset(["tags", "nodeLabels", "podLabels", "addonProfiles", "config", "identityProfile",
                           "userAssignedIdentities", "delegatedResources", "vnetDNSOverrides", "kubeDNSOverrides"])


def az_key(key):
    """How az spells an ARM key: snake_case the way the SDK names its attributes, then az's camelCase."""
    snake = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", key.replace("-", "_"))
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", snake).lower()
    return re.sub(r"_([a-z])", lambda match: match.group(1).upper(), snake)


def _az_value(value, is_map=False):
    if isinstance(value, list):
        return [_az_value(item) for item in value]
    if not isinstance(value, dict):
        return value
    if is_map:
        return dict((key, _az_value(item)) for key, item in value.items())
    out = dict((az_key(key), _az_value(item, key in AZ_MAP_FIELDS)) for key, item in value.items())
    resource_id = out.get("id")
    group = ids.resource_group_of(resource_id)
    if group and "resourceGroup" not in out:
        out["resourceGroup"] = group  # az adds it next to every resource ID it prints
    return out


def az_view(cluster):
    """The cluster as ``az aks show`` prints it, which is what its ``--query`` runs on: ARM's ``properties``
    lifted next to ``id``, ``name``, ``location``..., keys spelled as az spells them, and ``resourceGroup``."""
    flat = dict((key, value) for key, value in cluster.items() if key != "properties")
    flat.update(props(cluster))
    return _az_value(flat)


def _compile(az, text):
    """The compiled JMESPath query; a typo fails before any request."""
    try:
        import jmespath
    except ImportError as exc:
        require_lib(az.module, exc, "jmespath", traceback.format_exc())
    try:
        return jmespath.compile(text)
    except jmespath.exceptions.JMESPathError as exc:
        az.fail_json(msg="Invalid query %r: %s" % (text, exc))


def run_info(az):
    """aks_cilium_cluster_info: one cluster, a resource group's or the subscription's; optional JMESPath query."""
    params = az.params
    query = _compile(az, params["query"]) if params.get("query") else None
    clusters_api = az.client("containerservice").managed_clusters
    try:
        if params.get("name"):
            one = az.get(clusters_api.get, params["resource_group"], params["name"])
            clusters = [one] if one else []
        elif params.get("resource_group"):
            clusters = az.list(clusters_api.list_by_resource_group, params["resource_group"])
        else:
            clusters = az.list(clusters_api.list)
    except AzureError as exc:
        az.fail_azure(exc, "Reading AKS clusters failed")
    clusters = [redact(c) for c in clusters]
    result = dict(changed=False, clusters=clusters)
    if query is not None:  # like az aks show / az aks list --query: on the clusters as az prints them
        views = [az_view(cluster) for cluster in clusters]
        subject = (views[0] if views else None) if params.get("name") else views
        result["query_result"] = query.search(subject) if subject is not None else None
    az.exit_json(**result)
