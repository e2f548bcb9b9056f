# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the aks_cilium_nodepool module, on raw ARM JSON (pure: no calls).

- ``pool_patch``: the options as a partial agentPool ``properties`` (only what the user gave);
- ``merged_pool``: that patch merged onto the pool Azure returned, so unmentioned settings are kept;
- ``impossible``: the changes AKS refuses on an existing pool, with the reason;
- ``facts_for``: the rule facts; ``pool_view`` / ``subnet_usage``: what the module returns;
- ``custom_subnets``: the pool's own subnets (the seam for role assignments on them).

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import copy

from ansible_collections.azcni.cilium.plugins.module_utils._azure.ids import subnet_parts
from ansible_collections.azcni.cilium.plugins.module_utils._aks.nodepool_rules import PoolFacts, allocation_mode

POOL_TYPE = "Microsoft.ContainerService/managedClusters/agentPools"
# Used only when creating a pool; on updates an omitted option keeps the pool's value.
CREATE_DEFAULTS = {"mode": "User", "vmSize": "Standard_D4ds_v5", "count": 3, "osType": "Linux",
                   "type": "VirtualMachineScaleSets"}
# module option -> agentPool properties field
OPTIONS = (
    ("mode", "mode"), ("vm_size", "vmSize"), ("count", "count"), ("enable_auto_scaling", "enableAutoScaling"),
    ("min_count", "minCount"), ("max_count", "maxCount"), ("max_pods", "maxPods"), ("os_sku", "osSKU"),
    ("zones", "availabilityZones"), ("node_labels", "nodeLabels"), ("node_taints", "nodeTaints"),
    ("vnet_subnet_id", "vnetSubnetID"), ("pod_subnet_id", "podSubnetID"),
    ("pod_ip_allocation_mode", "podIPAllocationMode"), ("orchestrator_version", "orchestratorVersion"),
)
VIEW = tuple(key for _unused, key in OPTIONS) + ("osType",)
CASELESS = ("mode", "vmSize", "osSKU", "vnetSubnetID", "podSubnetID", "podIPAllocationMode")
READ_ONLY = ("provisioningState", "currentOrchestratorVersion", "nodeImageVersion", "eTag")
# Changes AKS refuses on an existing pool -> why (the allocation mode has its own pre-flight rule).
IMMUTABLE = {
    "vnetSubnetID": "the node subnet of an existing pool cannot change (add a new pool instead)",
    "podSubnetID": "the pod subnet of an existing pool cannot change (add a new pool instead)",
    "maxPods": "max_pods of an existing pool cannot change (add a new pool instead)",
    "vmSize": "the VM size of an existing pool cannot change (add a new pool instead)",
    "availabilityZones": "the zones of an existing pool cannot change",
    "osType": "the OS type of an existing pool cannot change",
}


def _same(a, b):
    return a is not None and b is not None and str(a).rstrip("/").lower() == str(b).rstrip("/").lower()


def find_pool(cluster, name):
    for pool in ((cluster or {}).get("properties") or {}).get("agentPoolProfiles") or []:
        if (pool.get("name") or "").lower() == name.lower():
            return pool
    return None


def pool_patch(params, existing=None):
    """The options as agentPool properties; values equal to the pool's (modulo case) keep Azure's spelling."""
    existing = existing or {}
    patch = {}
    for option, key in OPTIONS:
        value = params.get(option)
        if value is None:
            continue
        have = existing.get(key)
        if key in CASELESS and _same(value, have):
            value = have
        elif key == "availabilityZones":
            value = [str(zone) for zone in value]
            if have is not None and sorted(value) == sorted(str(z) for z in have):
                value = have
        elif key == "nodeLabels":
            value = dict((str(k), str(v)) for k, v in value.items())
        elif key == "orchestratorVersion" and have and (have == value or str(have).startswith(value + ".")):
            value = have
        patch[key] = value
    if params.get("pod_ip_allocation_mode") is None and params.get("pod_subnet_id") and existing.get("podIPAllocationMode"):
        patch["podIPAllocationMode"] = existing["podIPAllocationMode"]
    if params.get("enable_auto_scaling") is False:
        patch.update(minCount=None, maxCount=None)  # AKS wants them cleared when the autoscaler is off
    return patch


def merged_pool(existing, patch):
    """The pool's properties once the patch is applied (a new pool: the patch and the create defaults)."""
    if existing is None:
        merged = dict(CREATE_DEFAULTS)
        merged.update((k, v) for k, v in patch.items() if v is not None)
        if merged.get("enableAutoScaling") and "count" not in patch:
            merged["count"] = merged.get("minCount") or CREATE_DEFAULTS["count"]
        return merged
    merged = dict((k, copy.deepcopy(v)) for k, v in existing.items() if k != "name")
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif not (key == "count" and merged.get("enableAutoScaling") and patch.get("enableAutoScaling") is not False):
            merged[key] = value  # the autoscaler owns count: keep the pool's
    return merged


def put_body(merged):
    return {"properties": dict((k, v) for k, v in merged.items() if k not in READ_ONLY)}


def view(properties):
    """The fields a diff shows and ``changed`` compares."""
    if not properties:
        return {}
    out = dict((k, properties[k]) for k in VIEW if properties.get(k) not in (None, {}, []))
    mode = allocation_mode(properties)
    if mode:
        out["podIPAllocationMode"] = mode  # absent means DynamicIndividual: the same pool
    return out


def impossible(existing, merged):
    """Why the merged pool cannot be reached from the existing one (an empty list when it can)."""
    if existing is None:
        return []
    reasons = []
    for key, why in IMMUTABLE.items():
        before, after = existing.get(key), merged.get(key)
        if key == "availabilityZones":
            before, after = sorted(str(z) for z in before or []), sorted(str(z) for z in after or [])
        same = _same(before, after) if key in CASELESS else before == after
        if not same and not (before in (None, []) and after in (None, [])):
            reasons.append("%s: %s -> %s: %s" % (key, before, after, why))
    return reasons


def custom_subnets(properties):
    """The pool's own subnets (node, pod), as resource IDs: where it needs rights (Network Contributor)."""
    return [properties[key] for key in ("vnetSubnetID", "podSubnetID") if (properties or {}).get(key)]


def cluster_ipam(cluster):
    """overlay | vnet (pod subnets) | node-subnet (legacy Azure CNI) | kubenet | none."""
    props = (cluster or {}).get("properties") or {}
    network = props.get("networkProfile") or {}
    plugin = (network.get("networkPlugin") or "kubenet").lower()
    if plugin != "azure":
        return plugin
    if (network.get("networkPluginMode") or "").lower() == "overlay":
        return "overlay"
    return "vnet" if any(p.get("podSubnetID") for p in props.get("agentPoolProfiles") or []) else "node-subnet"


def _vnet_of(subnet_id):
    try:
        parts = subnet_parts(subnet_id)
    except ValueError:
        return None
    return tuple(parts[k].lower() for k in ("subscription", "resource_group", "vnet"))


def facts_for(name, cluster, existing, merged, deleting=False, other_clusters=()):
    """The PoolFacts of the pool ``merged`` (its properties after the change) in ``cluster``."""
    props = (cluster or {}).get("properties") or {}
    others = [p for p in props.get("agentPoolProfiles") or [] if (p.get("name") or "").lower() != name.lower()]
    vnets = [_vnet_of(p["vnetSubnetID"]) for p in others if p.get("vnetSubnetID")]
    autoscaling = bool(merged.get("enableAutoScaling"))
    mode = allocation_mode(merged)
    users = []
    if merged.get("podSubnetID"):
        for other_cluster in [cluster] + [c for c in other_clusters if (c.get("id") or "").lower() != (cluster or {}).get("id", "").lower()]:
            for pool in ((other_cluster or {}).get("properties") or {}).get("agentPoolProfiles") or []:
                same_pool = other_cluster is cluster and (pool.get("name") or "").lower() == name.lower()
                if not same_pool and _same(pool.get("podSubnetID"), merged["podSubnetID"]):
                    users.append(("%s/%s" % (other_cluster.get("name"), pool.get("name")), allocation_mode(pool)))
    return PoolFacts(
        name=name, exists=existing is not None, deleting=deleting,
        mode=merged.get("mode") or "User", was_system=(existing or {}).get("mode", "").lower() == "system",
        max_pods=merged.get("maxPods"), count=merged.get("count"),
        max_count=merged.get("maxCount") if autoscaling else merged.get("count"),
        min_count=merged.get("minCount"), autoscaling=autoscaling,
        vnet_subnet_id=merged.get("vnetSubnetID"), pod_subnet_id=merged.get("podSubnetID"),
        allocation_mode=mode, allocation_mode_given=bool(merged.get("podIPAllocationMode")),
        existing_allocation_mode=allocation_mode(existing) if existing is not None else None,
        kubernetes_version=merged.get("orchestratorVersion") or props.get("currentKubernetesVersion")
        or props.get("kubernetesVersion"),
        cluster_ipam=cluster_ipam(cluster) if cluster else None, cluster_vnet=vnets[0] if vnets else None,
        other_system_pools=sum(1 for p in others if (p.get("mode") or "").lower() == "system"),
        subnet_users=users, current_count=int((existing or {}).get("count") or 0),
    )


def pool_resource(cluster, name, properties):
    """The pool as the agentPools API shows it (GET .../agentPools/<name>)."""
    return {"id": "%s/agentPools/%s" % (cluster["id"], name), "name": name, "type": POOL_TYPE,
            "properties": dict((k, copy.deepcopy(v)) for k, v in properties.items() if k != "name")}


def subnet_usage(usages, properties):
    """The Network RP's usage of the pool's subnets: [{id, name, role, limit, in_use, free}]."""
    by_id = dict(((u.get("id") or "").rstrip("/").lower(), u) for u in usages or [])
    out = []
    for role, key in (("node", "vnetSubnetID"), ("pod", "podSubnetID")):
        usage = by_id.get(((properties or {}).get(key) or "").rstrip("/").lower())
        if usage is not None:
            limit, in_use = int(usage.get("limit") or 0), int(usage.get("currentValue") or 0)
            out.append({"id": usage["id"], "name": usage["id"].rstrip("/").rsplit("/", 1)[-1], "role": role,
                        "limit": limit, "in_use": in_use, "free": max(limit - in_use, 0)})
    return out


def usage_facts(usages):
    """subnet id (lowercase) -> {name, limit, in_use}, for the capacity rules."""
    return dict(((u.get("id") or "").rstrip("/").lower(),
                 {"name": (u.get("id") or "").rstrip("/").rsplit("/", 1)[-1], "limit": int(u.get("limit") or 0),
                  "in_use": int(u.get("currentValue") or 0)}) for u in usages or [])
