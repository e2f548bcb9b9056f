# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the aks_cilium_cluster and aks_cilium_cluster_info modules.

The pure part works on raw ARM JSON (what Azure returned) and module parameters:

- ``desired_patch``: the user's intent as a partial ARM body (only what the user mentioned);
- ``merge``: that intent merged onto the cluster Azure returned, so unmentioned settings are kept;
- ``plan``: the operations needed (create, update, the one-way IPAM and data plane migrations in the
  order AKS requires) and the reasons a change is impossible;
- ``diff_view`` / ``changed_only``: the before/after of the network profile and pool fields.

``run_cluster`` and ``run_info`` drive an AzureModule through those steps.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import copy
import re
import time
from dataclasses import dataclass, field

from ansible_collections.azcni.cilium.plugins.module_utils._aks_rules import (
    AKS_DEFAULT_DNS_SERVICE_IP, AKS_DEFAULT_POD_CIDR, AKS_DEFAULT_SERVICE_CIDR, VNET_RULE_IDS, Facts, check, failure,
    missing_subnets)
from ansible_collections.azcni.cilium.plugins.module_utils._azure_module import AzureError
from ansible_collections.azcni.cilium.plugins.module_utils._cidr import contains, parse_network, subnet_id_parts
from ansible_collections.azcni.cilium.plugins.module_utils._common import diff_paths, dict_merge

TERMINAL_STATES = ("succeeded", "failed", "canceled")
MIN_OVERLAY_MIGRATION_VERSION = (1, 27)

# Used only when creating; on updates an omitted option keeps the cluster's value.
CREATE_POOL_DEFAULTS = {"name": "nodepool1", "vmSize": "Standard_D4ds_v5", "count": 3, "mode": "System",
                        "osType": "Linux", "type": "VirtualMachineScaleSets"}

# system_pool option -> agentPoolProfiles[] field
POOL_OPTIONS = (
    ("name", "name"), ("vm_size", "vmSize"), ("count", "count"), ("enable_auto_scaling", "enableAutoScaling"),
    ("min_count", "minCount"), ("max_count", "maxCount"), ("max_pods", "maxPods"), ("os_sku", "osSKU"),
    ("zones", "availabilityZones"), ("vnet_subnet_id", "vnetSubnetID"), ("pod_subnet_id", "podSubnetID"),
)

# Fields shown in diffs and checked for impossible changes.
NETWORK_VIEW = ("networkPlugin", "networkPluginMode", "networkDataplane", "networkPolicy", "podCidr", "serviceCidr",
                "dnsServiceIP", "outboundType", "loadBalancerSku", "advancedNetworking")
POOL_VIEW = ("mode", "count", "vmSize", "enableAutoScaling", "minCount", "maxCount", "maxPods", "osType", "osSKU",
             "availabilityZones", "vnetSubnetID", "podSubnetID", "orchestratorVersion")

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

# Keys whose values are credentials (servicePrincipalProfile.secret, windowsProfile.adminPassword,
# aadProfile.serverAppSecret, kubeconfigs); anchored so that e.g. azureKeyvaultSecretsProvider stays.
SECRET_KEY = re.compile(r"(secret|password|kubeconfigs?|privatekey)$", re.IGNORECASE)

# az prints ARM keys through the SDK's snake_case attribute names turned back into camelCase, so acronyms
# lose their capitals (dnsServiceIP -> dnsServiceIp, vnetSubnetID -> vnetSubnetId, osSKU -> osSku) and
# kebab-case keys become camelCase (autoScalerProfile.scan-interval -> scanInterval). The keys of these
# maps are data (tag and label names, add-on names, identity resource IDs) and are printed as they are.
AZ_MAP_FIELDS = frozenset(["tags", "nodeLabels", "podLabels", "addonProfiles", "config", "identityProfile",
                           "userAssignedIdentities", "delegatedResources", "vnetDNSOverrides", "kubeDNSOverrides"])
RESOURCE_GROUP_OF_ID = re.compile(r"^/subscriptions/[^/]+/resourceGroups/([^/]+)", re.IGNORECASE)

CLUSTER_FIELDS = ("id", "name", "location", "tags", "sku", "identity")
CLUSTER_PROPERTIES = ("provisioningState", "powerState", "kubernetesVersion", "currentKubernetesVersion", "dnsPrefix",
                      "fqdn", "nodeResourceGroup", "networkProfile")
CLUSTER_POOL_FIELDS = ("name", "provisioningState", "powerState") + POOL_VIEW


@dataclass
class Step:
    operation: str  # create | update | migrate-ipam | migrate-dataplane
    patch: dict  # merged onto the cluster as it is when the step runs


@dataclass
class Plan:
    steps: list = field(default_factory=list)
    reasons: list = field(default_factory=list)
    after: dict | None = None  # the cluster once every step has run (prediction)

    @property
    def operations(self):
        return [step.operation for step in self.steps]


# --- reading the cluster JSON ----------------------------------------------------------------------

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


def effective_mode(params, existing):
    """The ipam_mode to aim for: the option, else the cluster's own mode, else what the options imply.

    Kubenet and legacy node-subnet clusters can only go to overlay, so that is what an omitted
    ipam_mode means for them (the plan then asks for allow_migration).
    """
    if params.get("ipam_mode"):
        return params["ipam_mode"]
    if existing is not None:
        return "vnet" if ipam_of(existing) == "vnet" else "overlay"
    return "vnet" if (params.get("system_pool") or {}).get("pod_subnet_id") else "overlay"


def version_tuple(text):
    return tuple(int(part) for part in re.findall(r"\d+", text or ""))


# --- intent -> partial ARM body ----------------------------------------------------------------------

def _same_text(a, b, spaces=False):
    def norm(value):
        text = str(value).lower()
        return text.replace(" ", "") if spaces else text.rstrip("/")
    return a is not None and b is not None and norm(a) == norm(b)


def _acns_state(cluster):
    acns = network(cluster).get("advancedNetworking") or {}
    enabled = bool(acns.get("enabled"))
    return (enabled and bool((acns.get("observability") or {}).get("enabled")),
            enabled and bool((acns.get("security") or {}).get("enabled")))


def _acns_patch(params, existing):
    wanted = params.get("advanced_networking")
    if not wanted:
        return None
    current = _acns_state(existing)
    target = tuple(current[i] if wanted.get(key) is None else bool(wanted[key])
                   for i, key in enumerate(("observability", "security")))
    if target == current:
        return None
    return {"enabled": any(target), "observability": {"enabled": target[0]}, "security": {"enabled": target[1]}}


def _pool_patch(pool_params, existing_pool):
    """The system pool part of the intent; values equal to the cluster's (modulo case) keep its spelling."""
    patch = {}
    for option, key in POOL_OPTIONS:
        value = pool_params.get(option)
        if value is None:
            continue
        have = (existing_pool or {}).get(key)
        if key in ("vmSize", "osSKU", "vnetSubnetID", "podSubnetID") and _same_text(value, have):
            value = have
        elif key == "availabilityZones":
            value = [str(zone) for zone in value]
            if have is not None and sorted(value) == sorted(str(z) for z in have):
                value = have
        patch[key] = value
    if pool_params.get("enable_auto_scaling") is False:
        patch.update(minCount=None, maxCount=None)  # AKS wants them cleared when the autoscaler is off
    return patch


def desired_patch(params, mode, existing=None):
    """The user's intent as a partial ARM managedCluster body: only what the options mention."""
    body = {}
    if params.get("location"):
        have = (existing or {}).get("location")
        body["location"] = have if _same_text(params["location"], have, spaces=True) else params["location"]
    if params.get("tags"):
        body["tags"] = dict((str(k), str(v)) for k, v in params["tags"].items())
    if params.get("sku_tier"):
        have = ((existing or {}).get("sku") or {}).get("tier")
        body["sku"] = {"tier": have if _same_text(params["sku_tier"], have) else params["sku_tier"]}
    identity = params.get("identity")
    if identity:
        have = ((existing or {}).get("identity") or {}).get("type")
        body["identity"] = {"type": have if _same_text(identity["type"], have) else identity["type"]}
        if identity.get("user_assigned_identity"):
            body["identity"]["userAssignedIdentities"] = {identity["user_assigned_identity"]: {}}

    properties = body.setdefault("properties", {})
    if params.get("dns_prefix"):
        properties["dnsPrefix"] = params["dns_prefix"]
    wanted_version = params.get("kubernetes_version")
    if wanted_version and not _version_matches(wanted_version, existing):
        properties["kubernetesVersion"] = wanted_version

    net = {"networkPlugin": "azure", "networkDataplane": "cilium", "networkPolicy": "cilium"}
    if mode == "overlay":
        net["networkPluginMode"] = "overlay"
        if params.get("pod_cidr"):
            net["podCidr"] = params["pod_cidr"]
    for option, key in (("service_cidr", "serviceCidr"), ("dns_service_ip", "dnsServiceIP")):
        if params.get(option):
            net[key] = params[option]
    acns = _acns_patch(params, existing)
    if acns:
        net["advancedNetworking"] = acns
    properties["networkProfile"] = net

    pool_params = params.get("system_pool") or {}
    index = find_pool(existing, pool_params.get("name"))
    existing_pool = pools(existing)[index] if index is not None else None
    pool = _pool_patch(pool_params, existing_pool)
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


# --- merge ----------------------------------------------------------------------------------------

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


def create_body(params, patch):
    """The body of a create: the intent plus the defaults AKS needs to be told."""
    body = merge(None, patch)
    properties = body.setdefault("properties", {})
    properties.setdefault("dnsPrefix", dns_prefix_for(params["name"]))
    body.setdefault("identity", {"type": "SystemAssigned"})
    pool = properties["agentPoolProfiles"][0]
    for key, value in CREATE_POOL_DEFAULTS.items():
        if pool.get(key) is None:
            pool[key] = value
    if body.get("sku"):
        body["sku"].setdefault("name", "Base")
    return body


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


# --- facts for the pre-flight rules -------------------------------------------------------------

def facts_for(params, mode, final):
    """The Facts the rules check: the settings ``final`` (create body or merged cluster) will have."""
    net = network(final)
    pool_params = params.get("system_pool") or {}
    index = find_pool(final, pool_params.get("name"))
    pool = pools(final)[index] if index is not None else {}
    given = set(k for k in ("pod_cidr", "service_cidr", "dns_service_ip") if params.get(k))
    given.update(k for k in ("max_pods", "vnet_subnet_id", "pod_subnet_id") if pool_params.get(k) is not None)
    defaults = set()

    def value_or_default(name, key, default):
        if net.get(key):
            return net[key]
        defaults.add(name)
        return default

    return Facts(
        ipam_mode=mode,
        pod_cidr=value_or_default("pod_cidr", "podCidr", AKS_DEFAULT_POD_CIDR) if mode == "overlay" else params.get("pod_cidr"),
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
        pools=[dict(name=p.get("name"), osType=p.get("osType"), osSKU=p.get("osSKU")) for p in pools(final)],
        given=frozenset(given),
        defaults=frozenset(defaults),
    )


# --- plan -----------------------------------------------------------------------------------------

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
    view["agentPoolProfiles"] = dict(
        (p.get("name"), dict((k, p[k]) for k in POOL_VIEW if k in p)) for p in pools(cluster))
    return view


def changed_only(before, after):
    """Before/after dicts holding only the keys whose values differ (recursively)."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return before, after
    old, new = {}, {}
    for key in sorted(set(before) | set(after), key=str):
        if before.get(key) == after.get(key):
            continue
        if isinstance(before.get(key), dict) and isinstance(after.get(key), dict):
            old[key], new[key] = changed_only(before[key], after[key])
        else:
            if key in before:
                old[key] = before[key]
            if key in after:
                new[key] = after[key]
    return old, new


def _immutable_reasons(existing, after):
    reasons, seen = [], set()
    before_view, after_view = diff_view(existing), diff_view(after)
    for path in diff_paths(before_view, after_view):
        parts = path.split("[")[0].split(".")  # a list index (zones[1]) counts as the whole field
        if parts[0] == "agentPoolProfiles" and len(parts) >= 3:
            key, path = "pool." + parts[2], ".".join(parts[:3])
            old = before_view["agentPoolProfiles"].get(parts[1], {}).get(parts[2])
            new = after_view["agentPoolProfiles"].get(parts[1], {}).get(parts[2])
        else:
            key = path = ".".join(parts)
            old, new = _view_get(before_view, key), _view_get(after_view, key)
        if key in IMMUTABLE and path not in seen:
            seen.add(path)
            reasons.append("%s: %s -> %s: %s" % (path, old, new, IMMUTABLE[key]))
    return reasons


def _view_get(view, dotted):
    for part in dotted.split("."):
        view = view.get(part) if isinstance(view, dict) else None
    return view


def _version_reasons(existing, patch):
    wanted = props(patch).get("kubernetesVersion")
    current = props(existing).get("currentKubernetesVersion") or props(existing).get("kubernetesVersion")
    if not wanted or not current:
        return []
    want, have = version_tuple(wanted)[:2], version_tuple(current)[:2]
    if want < have:
        return ["kubernetesVersion: %s -> %s: AKS cannot downgrade Kubernetes" % (current, wanted)]
    if len(want) == 2 and len(have) == 2 and want[0] == have[0] and want[1] > have[1] + 1:
        return ["kubernetesVersion: %s -> %s: AKS upgrades one minor version at a time" % (current, wanted)]
    return []


def _pod_cidr_reasons(existing, after, migrating_ipam):
    old, new = network(existing).get("podCidr"), network(after).get("podCidr")
    if migrating_ipam or not old or not new or old == new:
        return []
    try:
        grows = contains(parse_network(new), parse_network(old))
    except ValueError:
        return []  # cidr-syntax reports it
    if not grows:
        return ["networkProfile.podCidr: %s -> %s: an overlay pod CIDR can only be expanded to a range that contains "
                "the current one" % (old, new)]
    return []


def _migration_reasons(existing, params, ipam, dataplane):
    """Why the planned migrations cannot run, if they cannot (docs: update-azure-cni)."""
    wanted = [name for name, needed in (("IPAM %s -> overlay" % ipam_of(existing), ipam),
                                        ("data plane %s -> cilium" % (network(existing).get("networkDataplane") or "azure"),
                                         dataplane)) if needed]
    if not wanted:
        return []
    reasons = []
    if not params.get("allow_migration"):
        reasons.append("the cluster needs a one-way migration (%s, as separate operations): set allow_migration: true "
                       "to run it; every node pool is reimaged" % ", ".join(wanted))
    windows = [p.get("name") for p in pools(existing) if (p.get("osType") or "Linux").lower() == "windows"]
    if windows:
        reasons.append("migration: the cluster has Windows node pools (%s); AKS migrates Linux-only clusters" % ", ".join(windows))
    if (props(existing).get("nodeProvisioningProfile") or {}).get("mode", "").lower() == "auto":
        reasons.append("migration: node auto-provisioning must be disabled first")
    if ipam:
        version = version_tuple(props(existing).get("currentKubernetesVersion") or props(existing).get("kubernetesVersion"))
        if version and version[:2] < MIN_OVERLAY_MIGRATION_VERSION:
            reasons.append("migration to overlay needs Kubernetes 1.27 or later (cluster runs %s)" % ".".join(map(str, version)))
        policy = (network(existing).get("networkPolicy") or "none").lower()
        if policy != "none":
            reasons.append("migration to overlay needs a cluster without a network policy engine (it has %s)" % policy)
    return reasons


IPAM_REFUSALS = {
    ("overlay", "vnet"): "overlay cannot be turned off: an overlay cluster cannot go back to VNet (pod subnet) mode",
    ("vnet", "overlay"): "clusters using dynamic pod IP allocation (pod subnet) cannot migrate to overlay",
    ("kubenet", "vnet"): "kubenet clusters can only migrate to overlay",
    ("node-subnet", "vnet"): "a pod subnet cannot be added to existing node pools of a node-subnet Azure CNI cluster",
    ("none", "overlay"): "clusters with network plugin none (bring your own CNI) cannot migrate",
    ("none", "vnet"): "clusters with network plugin none (bring your own CNI) cannot migrate",
}


def plan(existing, patch, params, mode):
    """The steps from ``existing`` to the intent, or the reasons it cannot be done.

    Migrations run as separate operations in the order AKS requires: IPAM (to overlay) first, then the
    data plane (azure -> cilium, with network policy cilium in the same request), then any other change.
    """
    if existing is None:
        body = create_body(params, patch)
        return Plan(steps=[Step("create", body)], after=body)

    result = Plan()
    current_ipam = ipam_of(existing)
    migrate_ipam = current_ipam in ("kubenet", "node-subnet") and mode == "overlay"
    if current_ipam != mode and not migrate_ipam:
        why = IPAM_REFUSALS.get((current_ipam, mode), "AKS cannot make this change")
        result.reasons.append("ipam_mode: %s -> %s: %s" % (current_ipam, mode, why))
    dataplane = (network(existing).get("networkDataplane") or "azure").lower()
    migrate_dataplane = dataplane != "cilium"
    result.reasons.extend(_migration_reasons(existing, params, migrate_ipam, migrate_dataplane))

    working = existing
    if migrate_ipam:
        pod_cidr = params.get("pod_cidr") or network(existing).get("podCidr")
        if not pod_cidr:
            result.reasons.append("migration to overlay needs pod_cidr (the cluster has no pod CIDR to keep)")
        ipam_patch = {"properties": {"networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay",
                                                        "podCidr": pod_cidr}}}
        result.steps.append(Step("migrate-ipam", ipam_patch))
        working = merge(working, ipam_patch)
    if migrate_dataplane:
        dataplane_patch = {"properties": {"networkProfile": {"networkDataplane": "cilium", "networkPolicy": "cilium"}}}
        result.steps.append(Step("migrate-dataplane", dataplane_patch))
        working = merge(working, dataplane_patch)

    after = merge(working, patch)
    pool_name = (params.get("system_pool") or {}).get("name")
    if find_pool(existing, pool_name) is None:
        result.reasons.append("system_pool.name: node pool %s not found (the cluster has %s); this module manages the "
                              "existing system pool and cannot add or rename pools"
                              % (pool_name or "in System mode", ", ".join(p.get("name", "?") for p in pools(existing))))
    result.reasons.extend(_immutable_reasons(existing, after))
    for key in ("networkDataplane", "networkPolicy"):
        if (network(existing).get(key) or "").lower() == "cilium" and (network(after).get(key) or "").lower() != "cilium":
            result.reasons.append("networkProfile.%s: cilium -> %s: Cilium cannot be turned off once enabled"
                                  % (key, network(after).get(key)))
    result.reasons.extend(_version_reasons(existing, patch))
    result.reasons.extend(_pod_cidr_reasons(existing, after, migrate_ipam))
    if diff_paths(working, after):
        result.steps.append(Step("update", patch))
    result.after = after
    return result


# --- output ---------------------------------------------------------------------------------------

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
    match = RESOURCE_GROUP_OF_ID.match(resource_id) if isinstance(resource_id, str) else None
    if match and "resourceGroup" not in out:
        out["resourceGroup"] = match.group(1)  # az adds it next to every resource ID it prints
    return out


def az_view(cluster):
    """The cluster as ``az aks show`` prints it, which is what its ``--query`` runs on: ARM's ``properties``
    lifted next to ``id``, ``name``, ``location``..., keys spelled as az spells them, and ``resourceGroup``."""
    flat = dict((key, value) for key, value in cluster.items() if key != "properties")
    flat.update(props(cluster))
    return _az_value(flat)


# --- driving Azure --------------------------------------------------------------------------------

class ClusterRunner(object):
    """Runs aks_cilium_cluster on an AzureModule."""

    def __init__(self, az, sleep=time.sleep, clock=time.monotonic):
        self.az = az
        self.params = az.params
        self.rg = self.params["resource_group"]
        self.name = self.params["name"]
        self._sleep, self._clock = sleep, clock
        self.waited = False

    @property
    def clusters(self):
        return self.az.client("containerservice").managed_clusters

    def _azure(self, action, operation, *args, **kwargs):
        try:
            return operation(*args, **kwargs)
        except AzureError as exc:
            self.az.fail_azure(exc, "%s %s/%s failed" % (action, self.rg, self.name))

    def get_settled(self):
        """GET the cluster; while an operation runs on it (Creating, Updating, Deleting...) wait for it."""
        timeout = self.params.get("wait_timeout") or 1800
        deadline, delay = self._clock() + timeout, 1.0
        while True:
            cluster = self._azure("Reading cluster", self.az.get, self.clusters.get, self.rg, self.name)
            state = provisioning_state(cluster)
            if cluster is None or state.lower() in TERMINAL_STATES:
                return cluster
            if self._clock() + delay > deadline:
                self.az.fail_json(msg="Timed out after %d s waiting for cluster %s/%s to leave provisioningState %s; "
                                      "run the task again to keep waiting." % (timeout, self.rg, self.name, state))
            self.waited = True
            self._sleep(delay)
            delay = min(delay * 2, 5.0)

    def run(self):
        existing = self.get_settled()
        if self.params["state"] == "absent":
            return self.absent(existing)
        return self.present(existing)

    def absent(self, existing):
        result = dict(changed=existing is not None, operations=["delete"] if existing else [], cluster={},
                      diff=dict(before=diff_view(existing), after={}))
        if existing is None or self.az.check_mode:
            return result
        poller = self._azure("Deleting cluster", self.az.begin, self.clusters.begin_delete, self.rg, self.name)
        if self.params.get("wait", True):
            self._azure("Deleting cluster", self.az.wait, poller, what="deletion of cluster %s" % self.name)
        return result

    def preflight(self, mode, final):
        facts = facts_for(self.params, mode, final)
        failures = check(facts)
        if not failures and facts.vnet_subnet_id:
            failures = self.check_vnet(facts)
        if failures:
            self.az.fail_json(msg="Pre-flight checks failed, nothing was changed: " + " ".join(f[1] for f in failures),
                              failed_rules=[f[0] for f in failures])

    def check_vnet(self, facts):
        """The failures of the VNet rules, on the VNet of the node subnet as Azure has it.

        In check mode a VNet or subnet that does not exist yet skips these rules: an earlier task of
        the same play (aks_network) would create it in a real run, and did not in check mode.
        """
        parts = subnet_id_parts(facts.vnet_subnet_id)
        if parts["subscription"].lower() != str(self.az.subscription_id).lower():
            self.az.warn("The VNet of %s is in another subscription; its overlap checks were skipped." % facts.vnet_subnet_id)
            return []
        network_client = self.az.client("network")
        facts.vnet = self._azure("Reading VNet %s" % parts["vnet"], self.az.get, network_client.virtual_networks.get,
                                 parts["resource_group"], parts["vnet"])
        if facts.vnet is None:
            absent = "VNet %s not found in resource group %s" % (parts["vnet"], parts["resource_group"])
        elif missing_subnets(facts):
            absent = "VNet %s has no %s" % (parts["vnet"], " and no ".join(missing_subnets(facts)))
        else:
            return check(facts)
        if self.az.check_mode:
            self.az.warn("Check mode: %s. It does not exist yet (in a real run an earlier task would create it), so the "
                         "checks that need it were skipped: %s." % (absent, ", ".join(VNET_RULE_IDS)))
            return []
        return check(facts) if facts.vnet is not None else [failure("subnets-exist", absent)]

    def present(self, existing):
        params = self.params
        if existing is None and not params.get("location"):
            self.az.fail_json(msg="location is required to create cluster %s/%s" % (self.rg, self.name))
        if existing is not None and provisioning_state(existing).lower() != "succeeded":
            self.az.warn("Cluster %s/%s is in provisioningState %s." % (self.rg, self.name, provisioning_state(existing)))
        mode = effective_mode(params, existing)
        patch = desired_patch(params, mode, existing)
        the_plan = plan(existing, patch, params, mode)
        if the_plan.reasons:  # what AKS cannot do at all comes before how the request is written
            self.az.fail_json(msg="Cannot apply the requested changes to cluster %s/%s, nothing was changed: %s"
                                  % (self.rg, self.name, "; ".join(the_plan.reasons)), reasons=the_plan.reasons)
        self.preflight(mode, the_plan.after)
        before, after = changed_only(diff_view(existing), diff_view(the_plan.after))
        result = dict(changed=bool(the_plan.steps), operations=the_plan.operations,
                      changes=diff_paths(diff_view(existing), diff_view(the_plan.after)),
                      diff=dict(before=before, after=after), waited_for_pending_operation=self.waited)
        if self.az.check_mode or not the_plan.steps:
            result["cluster"] = summary(the_plan.after)
            return result
        current = existing
        for index, step in enumerate(the_plan.steps):
            last = index == len(the_plan.steps) - 1
            current = self.put(step, current, wait=params.get("wait", True) or not last)
        result["cluster"] = summary(current)
        return result

    def put(self, step, current, wait):
        body = step.patch if step.operation == "create" else strip_read_only(merge(current, step.patch))
        what = "%s of cluster %s" % (step.operation, self.name)
        poller = self._azure("Operation %s on cluster" % step.operation, self.az.begin,
                             self.clusters.begin_create_or_update, self.rg, self.name, body=body)
        if not wait:
            return self._azure("Reading cluster", self.az.get, self.clusters.get, self.rg, self.name) or body
        return self._azure("Operation %s on cluster" % step.operation, self.az.wait, poller, what=what) or body


def run_cluster(az):
    az.exit_json(**ClusterRunner(az).run())


def run_info(az, jmespath=None):
    """aks_cilium_cluster_info: one cluster, a resource group's or the subscription's; optional JMESPath query."""
    params = az.params
    query = None
    if params.get("query"):
        try:
            query = jmespath.compile(params["query"])  # a typo fails before any request
        except jmespath.exceptions.JMESPathError as exc:
            az.fail_json(msg="Invalid query %r: %s" % (params["query"], exc))
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
