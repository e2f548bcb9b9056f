# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The aks_cilium_cluster intent and merge, on raw ARM JSON (what Azure returned):

- ``Intent``: the module parameters, read once; everything below derives from it;
- ``desired_patch``: the intent as a partial ARM body (only what the user mentioned);
- ``merge``: that patch merged onto the cluster Azure returned, so unmentioned settings are kept;
- ``facts_for``: the Facts the pre-flight rules check.

The operations and the reasons a change is impossible are in ``_aks.cluster_plan``.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from ansible.module_utils.common.dict_transformations import dict_merge

from ansible_collections.azcni.cilium.plugins.module_utils._aks import acns
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_fields import (
    CREATE_POOL_DEFAULTS, POOL_OPTIONS, find_pool, ipam_of, network, pools, props, version_tuple)
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_facts import (
    AKS_DEFAULT_DNS_SERVICE_IP, AKS_DEFAULT_POD_CIDR, AKS_DEFAULT_SERVICE_CIDR, Facts)


def effective_mode(params, existing):
    """The IPAM mode to aim for (overlay | vnet | node-subnet): the option, else the cluster's own mode,
    else what the options imply.

    An existing Azure CNI cluster keeps its mode (AKS changes the data plane in place from any Azure CNI
    IPAM mode: update-azure-cni); a kubenet cluster can only go to overlay, so that is what an omitted
    ipam_mode means for it (the plan then asks for allow_migration).
    """
    if params.get("ipam_mode"):
        return params["ipam_mode"].replace("_", "-")
    if existing is not None:
        current = ipam_of(existing)
        return current if current in ("vnet", "node-subnet") else "overlay"
    return "vnet" if (params.get("system_pool") or {}).get("pod_subnet_id") else "overlay"


NETWORK_OPTIONS = ("pod_cidr", "service_cidr", "dns_service_ip")
POOL_GIVEN = ("max_pods", "vnet_subnet_id", "pod_subnet_id", "pod_ip_allocation_mode")


@dataclass(frozen=True)
class Intent:
    """What the user asked for, read from the module parameters once; everything else derives from it."""
    name: str
    mode: str  # the effective ipam_mode
    location: str | None = None
    tags: dict | None = None
    sku_tier: str | None = None
    identity: dict | None = None
    dns_prefix: str | None = None
    kubernetes_version: str | None = None
    pod_cidr: str | None = None
    service_cidr: str | None = None
    dns_service_ip: str | None = None
    pool: dict = field(default_factory=dict)  # the system_pool options
    advanced_networking: dict | None = None
    container_network_logs: bool | None = None
    allow_migration: bool = False
    given: frozenset = frozenset()  # network and pool options the user set (the rules word their findings by it)

    @classmethod
    def from_params(cls, params, existing=None):
        pool = dict(params.get("system_pool") or {})
        given = set(k for k in NETWORK_OPTIONS if params.get(k))
        given.update(k for k in POOL_GIVEN if pool.get(k) is not None)
        return cls(name=params["name"], mode=effective_mode(params, existing), location=params.get("location"),
                   tags=params.get("tags"), sku_tier=params.get("sku_tier"), identity=params.get("identity"),
                   dns_prefix=params.get("dns_prefix"), kubernetes_version=params.get("kubernetes_version"),
                   pod_cidr=params.get("pod_cidr"), service_cidr=params.get("service_cidr"),
                   dns_service_ip=params.get("dns_service_ip"), pool=pool,
                   advanced_networking=params.get("advanced_networking"),
                   container_network_logs=params.get("container_network_logs"),
                   allow_migration=bool(params.get("allow_migration")), given=frozenset(given))

    def acns(self, existing):
        """The ACNS state asked for (``_aks.acns``): the options given, else the cluster's."""
        return acns.target(dict(advanced_networking=self.advanced_networking,
                                container_network_logs=self.container_network_logs), acns.current(existing))


def _same_text(a, b, spaces=False):
    def norm(value):
        text = str(value).lower()
        return text.replace(" ", "") if spaces else text.rstrip("/")
    return a is not None and b is not None and norm(a) == norm(b)


def _pool_patch(pool_params, existing_pool):
    """The system pool part of the intent; values equal to the cluster's (modulo case) keep its spelling."""
    patch = {}
    for option, key in POOL_OPTIONS:
        value = pool_params.get(option)
        if value is None:
            continue
        have = (existing_pool or {}).get(key)
        if key in ("vmSize", "osSKU", "vnetSubnetID", "podSubnetID", "podIPAllocationMode") and _same_text(value, have):
            value = have
        elif key == "availabilityZones":
            value = [str(zone) for zone in value]
            if have is not None and sorted(value) == sorted(str(z) for z in have):
                value = have
        patch[key] = value
    if pool_params.get("enable_auto_scaling") is False:
        patch.update(minCount=None, maxCount=None)  # AKS wants them cleared when the autoscaler is off
    return patch


def desired_patch(intent, existing=None):
    """The user's intent as a partial ARM managedCluster body: only what the options mention."""
    body = {}
    if intent.location:
        have = (existing or {}).get("location")
        body["location"] = have if _same_text(intent.location, have, spaces=True) else intent.location
    if intent.tags:
        body["tags"] = dict((str(k), str(v)) for k, v in intent.tags.items())
    if intent.sku_tier:
        have = ((existing or {}).get("sku") or {}).get("tier")
        body["sku"] = {"tier": have if _same_text(intent.sku_tier, have) else intent.sku_tier}
    identity = intent.identity
    if identity:
        have = ((existing or {}).get("identity") or {}).get("type")
        body["identity"] = {"type": have if _same_text(identity["type"], have) else identity["type"]}
        if identity.get("user_assigned_identity"):
            body["identity"]["userAssignedIdentities"] = {identity["user_assigned_identity"]: {}}

    properties = body.setdefault("properties", {})
    if intent.dns_prefix:
        properties["dnsPrefix"] = intent.dns_prefix
    wanted_version = intent.kubernetes_version
    if wanted_version and not _version_matches(wanted_version, existing):
        properties["kubernetesVersion"] = wanted_version

    net = {"networkPlugin": "azure", "networkDataplane": "cilium", "networkPolicy": "cilium"}
    if intent.mode == "overlay":
        net["networkPluginMode"] = "overlay"
        if intent.pod_cidr:
            net["podCidr"] = intent.pod_cidr
    for value, key in ((intent.service_cidr, "serviceCidr"), (intent.dns_service_ip, "dnsServiceIP")):
        if value:
            net[key] = value
    advanced, monitor = acns.patch(intent.acns(existing), acns.current(existing))
    if advanced:
        net["advancedNetworking"] = advanced
    if monitor:
        properties["azureMonitorProfile"] = monitor
    properties["networkProfile"] = net

    index = find_pool(existing, intent.pool.get("name"))
    existing_pool = pools(existing)[index] if index is not None else None
    pool = _pool_patch(intent.pool, existing_pool)
    if existing_pool is not None:
        pool["name"] = existing_pool["name"]
    elif existing is not None and "name" not in pool:
        pool["name"] = CREATE_POOL_DEFAULTS["name"]
    properties["agentPoolProfiles"] = [pool]
    return body


def _version_matches(wanted, cluster):
    """True when the cluster already runs ``wanted`` ("1.33" matches "1.33.2")."""
    have = [props(cluster).get("kubernetesVersion"), props(cluster).get("currentKubernetesVersion")]
    return any(h and (h == wanted or h.startswith(wanted + ".")) for h in have)


def _merge_pool(base, patch, creating):
    merged = dict_merge(base, dict((k, v) for k, v in patch.items() if v is not None))
    for key in [k for k, v in patch.items() if v is None]:
        merged.pop(key, None)
    if merged.get("enableAutoScaling"):
        # The autoscaler owns count: keep the cluster's, start a new pool at count or min_count.
        merged["count"] = base.get("count") if not creating else (patch.get("count") or merged.get("minCount"))
    return merged


def _sync_cidr_list(net, single, plural):
    """Keep ``podCidrs``/``serviceCidrs`` in step with the single value ARM echoes them with."""
    value, values = net.get(single), net.get(plural)
    if value and isinstance(values, list) and value not in values:
        v4 = [i for i, v in enumerate(values) if ":" not in str(v)]
        values = list(values)
        if v4:
            values[v4[0]] = value
        else:
            values.insert(0, value)
        net[plural] = values


def merge(existing, patch):
    """``patch`` merged onto ``existing`` (deep copies): dicts key by key, the patched pool by name."""
    base = copy.deepcopy(existing) if existing else {}
    creating = existing is None
    patch = copy.deepcopy(patch)
    pool_patches = (patch.get("properties") or {}).pop("agentPoolProfiles", None) or []
    merged = dict_merge(base, patch)

    version_changed = "kubernetesVersion" in (patch.get("properties") or {})
    new_pools = [dict(p) for p in pools(merged)]
    for pool_patch in pool_patches:
        index = find_pool(merged, pool_patch.get("name"))
        if index is None:
            new_pools.append(_merge_pool({}, pool_patch, True))
        else:
            new_pools[index] = _merge_pool(new_pools[index], pool_patch, creating)
    if version_changed and not creating:
        # like ``az aks upgrade``: the control plane and every pool move to the new version
        for pool in new_pools:
            pool["orchestratorVersion"] = merged["properties"]["kubernetesVersion"]
    if new_pools or pool_patches:
        merged.setdefault("properties", {})["agentPoolProfiles"] = new_pools
    identity = merged.get("identity") or {}
    if (identity.get("type") or "").lower() == "systemassigned":
        identity.pop("userAssignedIdentities", None)  # left over from a user-assigned identity being replaced

    net = (merged.get("properties") or {}).get("networkProfile")
    if net:
        _sync_cidr_list(net, "podCidr", "podCidrs")
        _sync_cidr_list(net, "serviceCidr", "serviceCidrs")
    return merged


def dns_prefix_for(name):
    """A valid dnsPrefix from a cluster name (AKS: letters, digits and inner hyphens, at most 54)."""
    prefix = re.sub(r"[^a-zA-Z0-9-]", "-", name).strip("-")[:54].strip("-")
    return prefix or "aks"


def create_body(intent, patch):
    """The body of a create: the intent plus the defaults AKS needs to be told."""
    body = merge(None, patch)
    properties = body.setdefault("properties", {})
    properties.setdefault("dnsPrefix", dns_prefix_for(intent.name))
    body.setdefault("identity", {"type": "SystemAssigned"})
    pool = properties["agentPoolProfiles"][0]
    for key, value in CREATE_POOL_DEFAULTS.items():
        if pool.get(key) is None:
            pool[key] = value
    if body.get("sku"):
        body["sku"].setdefault("name", "Base")
    return body


def facts_for(intent, final, existing=None):
    """The Facts the rules check: the settings ``final`` (create body or merged cluster) will have."""
    net = network(final)
    mode = intent.mode
    index = find_pool(final, intent.pool.get("name"))
    pool = pools(final)[index] if index is not None else {}
    defaults = set()

    def value_or_default(name, key, default):
        if net.get(key):
            return net[key]
        defaults.add(name)
        return default

    return Facts(
        ipam_mode=mode,
        pod_cidr=value_or_default("pod_cidr", "podCidr", AKS_DEFAULT_POD_CIDR) if mode == "overlay" else intent.pod_cidr,
        service_cidr=value_or_default("service_cidr", "serviceCidr", AKS_DEFAULT_SERVICE_CIDR),
        dns_service_ip=value_or_default("dns_service_ip", "dnsServiceIP", AKS_DEFAULT_DNS_SERVICE_IP),
        network_dataplane=net.get("networkDataplane"),
        network_policy=net.get("networkPolicy"),
        pool_name=pool.get("name"),
        max_pods=pool.get("maxPods"),
        node_count=pool.get("minCount") if pool.get("enableAutoScaling") else pool.get("count"),
        min_count=pool.get("minCount") if pool.get("enableAutoScaling") else None,
        max_count=pool.get("maxCount") if pool.get("enableAutoScaling") else None,
        vnet_subnet_id=pool.get("vnetSubnetID"),
        pod_subnet_id=pool.get("podSubnetID"),
        pod_ip_allocation_mode=pool.get("podIPAllocationMode"),
        pool_version=pool.get("orchestratorVersion") or props(final).get("kubernetesVersion"),
        pools=[dict(name=p.get("name"), osType=p.get("osType"), osSKU=p.get("osSKU")) for p in pools(final)],
        given=intent.given,
        defaults=frozenset(defaults),
        acns=intent.acns(existing),
        kubernetes_version=version_tuple(intent.kubernetes_version or props(final).get("currentKubernetesVersion")
                                         or props(final).get("kubernetesVersion"))[:2] or None,
        acns_pools=[dict(p) for p in pools(final)],
        static_egress=bool((net.get("staticEgressGatewayProfile") or {}).get("enabled")),
    )
