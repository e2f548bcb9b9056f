# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The managedCluster ARM JSON: accessors and the tables of fields the cluster logic works on.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import copy
import re

# Used only when creating; on updates an omitted option keeps the cluster's value.
CREATE_POOL_DEFAULTS = {"name": "nodepool1", "vmSize": "Standard_D4ds_v5", "count": 3, "mode": "System",
                        "osType": "Linux", "type": "VirtualMachineScaleSets"}


# system_pool option -> agentPoolProfiles[] field
POOL_OPTIONS = (
    ("name", "name"), ("vm_size", "vmSize"), ("count", "count"), ("enable_auto_scaling", "enableAutoScaling"),
    ("min_count", "minCount"), ("max_count", "maxCount"), ("max_pods", "maxPods"), ("os_sku", "osSKU"),
    ("zones", "availabilityZones"), ("vnet_subnet_id", "vnetSubnetID"), ("pod_subnet_id", "podSubnetID"),
    ("pod_ip_allocation_mode", "podIPAllocationMode"),
)


# Fields shown in diffs and checked for impossible changes.
NETWORK_VIEW = ("networkPlugin", "networkPluginMode", "networkDataplane", "networkPolicy", "podCidr", "serviceCidr",
                "dnsServiceIP", "outboundType", "loadBalancerSku", "advancedNetworking")


POOL_VIEW = ("mode", "count", "vmSize", "enableAutoScaling", "minCount", "maxCount", "maxPods", "osType", "osSKU",
             "availabilityZones", "vnetSubnetID", "podSubnetID", "podIPAllocationMode", "orchestratorVersion")


# Changes AKS refuses after creation (view path, with pools as "pool.<field>") -> why.
IMMUTABLE = {
    "location": "a cluster cannot move to another location",
    "dnsPrefix": "the DNS prefix is fixed at creation",
    "networkProfile.serviceCidr": "the service CIDR is fixed at creation",
    "networkProfile.dnsServiceIP": "the DNS service IP is fixed at creation",
    "networkProfile.outboundType": "the outbound type is fixed at creation",
    "pool.vnetSubnetID": "the node subnet of an existing node pool cannot change",
    "pool.podSubnetID": "the pod subnet of an existing node pool cannot change",
    "pool.maxPods": "max_pods of an existing node pool cannot change (add a new pool instead)",
    "pool.vmSize": "the VM size of an existing node pool cannot change (add a new pool instead)",
    "pool.availabilityZones": "the zones of an existing node pool cannot change",
    "pool.osType": "the OS type of an existing node pool cannot change",
    "pool.podIPAllocationMode": "the pod IP allocation mode of an existing node pool cannot change (Static Block is for "
                                "new pools only)",
}


# Read-only fields ARM returns but a PUT must not carry (the SDK models drop them as well).
READ_ONLY = {
    "": ("id", "name", "type", "systemData", "eTag"),
    "properties": ("provisioningState", "powerState", "maxAgentPools", "fqdn", "azurePortalFQDN", "privateFQDN",
                   "currentKubernetesVersion", "resourceUID"),
    "identity": ("principalId", "tenantId"),
    "pool": ("provisioningState", "currentOrchestratorVersion", "nodeImageVersion", "eTag"),
    "loadBalancerProfile": ("effectiveOutboundIPs",),
}


def props(cluster):
    return (cluster or {}).get("properties") or {}


def network(cluster):
    return props(cluster).get("networkProfile") or {}


def pools(cluster):
    return props(cluster).get("agentPoolProfiles") or []


def provisioning_state(cluster):
    return props(cluster).get("provisioningState") or "Succeeded"


def find_pool(cluster, name=None):
    """Index of the pool called ``name`` or, without a name, of the first System pool; None if absent."""
    for index, pool in enumerate(pools(cluster)):
        if (pool.get("name") == name) if name else (pool.get("mode") or "").lower() == "system":
            return index
    return None


def ipam_of(cluster):
    """overlay | vnet (pod subnet) | node-subnet (legacy Azure CNI) | kubenet | none (BYOCNI)."""
    plugin = (network(cluster).get("networkPlugin") or "kubenet").lower()
    if plugin != "azure":
        return plugin
    if (network(cluster).get("networkPluginMode") or "").lower() == "overlay":
        return "overlay"
    return "vnet" if any(p.get("podSubnetID") for p in pools(cluster)) else "node-subnet"


def version_tuple(text):
    return tuple(int(part) for part in re.findall(r"\d+", text or ""))


def strip_read_only(body):
    """A copy of ``body`` fit for a PUT: read-only fields removed."""
    body = copy.deepcopy(body)
    for key in READ_ONLY[""]:
        body.pop(key, None)
    properties = body.get("properties") or {}
    for key in READ_ONLY["properties"]:
        properties.pop(key, None)
    identity = body.get("identity") or {}
    for key in READ_ONLY["identity"]:
        identity.pop(key, None)
    if isinstance(identity.get("userAssignedIdentities"), dict):
        identity["userAssignedIdentities"] = dict((k, {}) for k in identity["userAssignedIdentities"])
    for pool in properties.get("agentPoolProfiles") or []:
        for key in READ_ONLY["pool"]:
            pool.pop(key, None)
    balancer = (properties.get("networkProfile") or {}).get("loadBalancerProfile") or {}
    for key in READ_ONLY["loadBalancerProfile"]:
        balancer.pop(key, None)
    return body
