# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What aks_cilium_cluster shows of a cluster: the diff view, the changed part of it, the summary it
returns, with credentials redacted.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import re

from ansible.module_utils.common.dict_transformations import recursive_diff

from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_fields import NETWORK_VIEW, POOL_VIEW, network, pools, props

# Keys whose values are credentials (servicePrincipalProfile.secret, windowsProfile.adminPassword,
# aadProfile.serverAppSecret, kubeconfigs); anchored so that e.g. azureKeyvaultSecretsProvider stays.
SECRET_KEY = re.compile(r"(secret|password|kubeconfigs?|privatekey)$", re.IGNORECASE)


CLUSTER_FIELDS = ("id", "name", "location", "tags", "sku", "identity")


CLUSTER_PROPERTIES = ("provisioningState", "powerState", "kubernetesVersion", "currentKubernetesVersion", "dnsPrefix",
                      "fqdn", "nodeResourceGroup", "networkProfile", "azureMonitorProfile")


CLUSTER_POOL_FIELDS = ("name", "provisioningState", "powerState") + POOL_VIEW


def diff_view(cluster):
    """The fields a diff shows: identity of the cluster, its network profile and its pools by name."""
    if not cluster:
        return {}
    view = dict((k, cluster[k]) for k in ("location", "tags") if k in cluster)
    if (cluster.get("sku") or {}).get("tier"):
        view["skuTier"] = cluster["sku"]["tier"]
    if (cluster.get("identity") or {}).get("type"):
        view["identityType"] = cluster["identity"]["type"]
    for key in ("kubernetesVersion", "dnsPrefix"):
        if props(cluster).get(key):
            view[key] = props(cluster)[key]
    view["networkProfile"] = dict((k, network(cluster)[k]) for k in NETWORK_VIEW if k in network(cluster))
    logs = ((props(cluster).get("azureMonitorProfile") or {}).get("containerInsights") or {}).get("containerNetworkLogs")
    if logs:
        view["azureMonitorProfile"] = {"containerInsights": {"containerNetworkLogs": logs}}
    view["agentPoolProfiles"] = dict(
        (p.get("name"), dict((k, p[k]) for k in POOL_VIEW if k in p)) for p in pools(cluster))
    return view


def changed_only(before, after):
    """Before/after dicts holding only the keys whose values differ (recursively)."""
    return recursive_diff(before, after) or ({}, {})


def redact(value):
    """A copy of ``value`` without anything that looks like a credential (secrets, passwords, kubeconfigs)."""
    if isinstance(value, dict):
        return dict((k, redact(v)) for k, v in value.items() if not SECRET_KEY.search(str(k)))
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def summary(cluster):
    """The fields of a cluster the module returns (no credentials)."""
    if not cluster:
        return {}
    out = dict((k, cluster[k]) for k in CLUSTER_FIELDS if k in cluster)
    out.update((k, props(cluster)[k]) for k in CLUSTER_PROPERTIES if k in props(cluster))
    out["agentPoolProfiles"] = [dict((k, p[k]) for k in CLUSTER_POOL_FIELDS if k in p) for p in pools(cluster)]
    return redact(out)
