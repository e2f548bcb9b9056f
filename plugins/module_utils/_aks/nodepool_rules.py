# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pre-flight rules for one AKS node pool (the agentPools API), as one table like the cluster rules.

A check gets the ``PoolFacts`` (the pool as it will be, the cluster it joins, the subnets as Azure
reports them) and returns None when the rule holds, or a detail naming the offending values. Rules
marked ``needs_network`` run once the subnets' usage (and, for a pod subnet, every cluster's pools)
has been read from Azure. Sources are in ``SOURCES`` (also in the collection's README).

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_facts import (
    MAX_PODS_MAX, MAX_PODS_MIN, POOL_NAME_MAX, STATIC_BLOCK_MIN_VERSION, Rule, _subnet, _vnet_key)
# the same subnet and max_pods rules as for the cluster's own pools (their facts have the same fields)
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_rules import _max_pods_range, _subnet_id_format, _subnets_different

DYNAMIC, STATIC = "DynamicIndividual", "StaticBlock"
BLOCK = 16  # a Static Block allocation block is a /28
BATCH = 16  # dynamic allocation reserves pod IPs in batches of 16 per node
AZURE_RESERVED_IPS = 5  # Azure keeps the first four and the last address of every subnet


@dataclass
class PoolFacts:
    """The pool once the request succeeds, the cluster around it and what Azure says of the subnets."""

    name: str
    exists: bool = False  # the pool is already in the cluster
    deleting: bool = False
    mode: str = "User"  # System | User, as it will be
    was_system: bool = False
    max_pods: int | None = None
    count: int | None = None  # the pool's node count now (existing pools), else the one asked for
    max_count: int | None = None  # the most nodes the pool may have (autoscaler max_count, else count)
    min_count: int | None = None
    autoscaling: bool = False
    vnet_subnet_id: str | None = None
    pod_subnet_id: str | None = None
    allocation_mode: str | None = None  # effective: DynamicIndividual | StaticBlock | None (no pod subnet)
    allocation_mode_given: bool = False
    existing_allocation_mode: str | None = None
    kubernetes_version: str | None = None  # the pool's (orchestratorVersion), else the cluster's
    cluster_ipam: str | None = "overlay"  # overlay | vnet | node-subnet | kubenet | none; None: no cluster yet
    cluster_vnet: tuple | None = None  # (subscription, resource group, vnet) of the cluster's other pools
    other_system_pools: int = 0
    # pools of every cluster using the pod subnet: [("<cluster>/<pool>", allocation mode)], this pool excluded
    subnet_users: list = field(default_factory=list)
    # subnet id (lowercase) -> {"name", "limit", "in_use"}: the Network RP's usage of the pool's subnets
    subnets: dict | None = None
    current_count: int = 0  # nodes the pool has now (0 for a new pool): they already hold their addresses


def allocation_mode(pool_profile):
    """The effective podIPAllocationMode of an agentPoolProfile (DynamicIndividual is AKS's default)."""
    if not pool_profile.get("podSubnetID"):
        return None
    return STATIC if (pool_profile.get("podIPAllocationMode") or "").lower() == STATIC.lower() else DYNAMIC


def blocks_per_node(max_pods):
    """/28 blocks a Static Block node holds: enough for max_pods and the node's own address (16 x N - 1 fits N)."""
    return -(-(int(max_pods) + 1) // BLOCK)


def version_tuple(text):
    parts = []
    for piece in str(text or "").split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


# --- checks ------------------------------------------------------------------------------------------

def _pool_name(facts):
    name = facts.name or ""
    if not (name[:1].isalpha() and name.islower() and name.isalnum() and len(name) <= POOL_NAME_MAX):
        return "pool name %r" % name
    return None


def _autoscaler_bounds(facts):
    if not facts.autoscaling:
        return None
    if facts.min_count is None or facts.max_count is None or not 0 <= facts.min_count <= facts.max_count:
        return "min_count %s, max_count %s" % (facts.min_count, facts.max_count)
    if facts.mode == "System" and facts.min_count < 1:
        return "a System pool needs min_count 1 or more, got %s" % facts.min_count
    return None


def _cluster_vnet(facts):
    if facts.cluster_vnet is None:
        return None
    wrong = []
    for name in ("vnet_subnet_id", "pod_subnet_id"):
        parts = _subnet(getattr(facts, name))
        if parts and _vnet_key(parts) != facts.cluster_vnet:
            wrong.append("%s is in VNet %s/%s" % (name, parts["resource_group"], parts["vnet"]))
    if wrong:
        return "%s; the cluster's pools use VNet %s/%s" % ("; ".join(wrong), facts.cluster_vnet[1], facts.cluster_vnet[2])
    return None


def _ipam_fields(facts):
    if facts.deleting or facts.cluster_ipam is None:
        return None
    if facts.pod_subnet_id and facts.cluster_ipam != "vnet":
        return "pod_subnet_id with a cluster in %s mode (pods there take their IPs from %s)" % (
            facts.cluster_ipam, "the overlay pod CIDR" if facts.cluster_ipam == "overlay" else "the node subnet")
    if facts.cluster_ipam == "vnet" and not (facts.pod_subnet_id and facts.vnet_subnet_id):
        missing = [n for n in ("vnet_subnet_id", "pod_subnet_id") if not getattr(facts, n)]
        return "the cluster draws pod IPs from pod subnets, so every pool needs %s" % " and ".join(missing)
    return None


def _mode_needs_pod_subnet(facts):
    if facts.allocation_mode_given and not facts.pod_subnet_id:
        return "pod_ip_allocation_mode without pod_subnet_id"
    return None


def _static_block_new_pool(facts):
    if facts.exists and not facts.deleting and facts.allocation_mode != facts.existing_allocation_mode:
        return "pool %s uses %s; asked for %s" % (facts.name, facts.existing_allocation_mode or "no pod subnet",
                                                  facts.allocation_mode or "no pod subnet")
    return None


def _static_block_version(facts):
    version = version_tuple(facts.kubernetes_version)
    if facts.allocation_mode == STATIC and len(version) >= 2 and version[:2] < STATIC_BLOCK_MIN_VERSION:
        return "Kubernetes %s" % facts.kubernetes_version
    return None


def _one_mode_per_subnet(facts):
    if facts.deleting or not facts.allocation_mode:
        return None
    others = ["%s (%s)" % (who, mode) for who, mode in facts.subnet_users if mode != facts.allocation_mode]
    if others:
        return "pod subnet %s is used with another allocation mode by %s; this pool asks for %s" % (
            _subnet(facts.pod_subnet_id)["subnet"], ", ".join(others), facts.allocation_mode)
    return None


def _usage(facts, resource_id):
    return (facts.subnets or {}).get((resource_id or "").rstrip("/").lower())


def _subnets_exist(facts):
    missing = [name for name in ("vnet_subnet_id", "pod_subnet_id")
               if getattr(facts, name) and _usage(facts, getattr(facts, name)) is None]
    return "not found: %s" % ", ".join("%s %s" % (n, getattr(facts, n)) for n in missing) if missing else None


def _growth(facts):
    """Nodes the pool may add beyond those it has now (their addresses are already in the usage)."""
    return max((facts.max_count or 0) - facts.current_count, 0)


def _pod_subnet_capacity(facts):
    usage = _usage(facts, facts.pod_subnet_id)
    if facts.deleting or usage is None or facts.max_pods is None or not _growth(facts):
        return None
    free = usage["limit"] - usage["in_use"]
    if facts.allocation_mode == STATIC:
        blocks, size = blocks_per_node(facts.max_pods), usage["limit"] + AZURE_RESERVED_IPS
        # a /28 block cannot hold the addresses Azure reserves, so the subnet's first and last block are lost
        free_blocks = max(size // BLOCK - 2, 0) - -(-usage["in_use"] // BLOCK)
        need = _growth(facts) * blocks
        if need > free_blocks:
            return ("pod subnet %s: %d more nodes x %d /28 blocks (max_pods %d) = %d blocks; it has %d free: "
                    "%d blocks short, room for %d more nodes" % (usage["name"], _growth(facts), blocks, facts.max_pods,
                                                                 need, max(free_blocks, 0), need - max(free_blocks, 0),
                                                                 max(free_blocks, 0) // blocks))
        return None
    need = _growth(facts) * facts.max_pods
    if need > free:
        return ("pod subnet %s: %d more nodes x %d max_pods = %d addresses; it has %d free of %d: %d short, room "
                "for %d more nodes" % (usage["name"], _growth(facts), facts.max_pods, need, max(free, 0),
                                       usage["limit"], need - max(free, 0), max(free, 0) // facts.max_pods))
    return None


def _node_subnet_capacity(facts):
    usage = _usage(facts, facts.vnet_subnet_id)
    if facts.deleting or usage is None or not _growth(facts):
        return None
    per_node = 1 + ((facts.max_pods or 0) if facts.cluster_ipam == "node-subnet" else 0)
    surge = 0 if facts.current_count else per_node  # one surge node during upgrades
    need, free = _growth(facts) * per_node + surge, usage["limit"] - usage["in_use"]
    if need > free:
        what = "an address per node plus one surge node" if per_node == 1 else "a node address and max_pods per node"
        return "node subnet %s: %s = %d addresses; it has %d free of %d: %d short" % (
            usage["name"], what, need, max(free, 0), usage["limit"], need - max(free, 0))
    return None


def _last_system_pool(facts):
    if facts.was_system and (facts.deleting or facts.mode != "System") and facts.other_system_pools == 0:
        return "pool %s is the cluster's only System pool (%s)" % (facts.name, "delete" if facts.deleting else "mode User")
    return None


RULES = (
    Rule("pool-name", _pool_name,
         "a Linux node pool name has 1 to %d lowercase letters and digits and starts with a letter" % POOL_NAME_MAX),
    Rule("max-pods-range", _max_pods_range, "max_pods must be between %d and %d" % (MAX_PODS_MIN, MAX_PODS_MAX)),
    Rule("autoscaler-bounds", _autoscaler_bounds, "the autoscaler needs 0 <= min_count <= max_count (1 for System)"),
    Rule("subnet-id-format", _subnet_id_format, "vnet_subnet_id and pod_subnet_id must be subnet resource IDs"),
    Rule("node-pod-subnets-different", _subnets_different, "the node subnet and the pod subnet must be different"),
    Rule("subnets-in-cluster-vnet", _cluster_vnet, "a pool's subnets must be in the VNet of the cluster's other pools"),
    Rule("ipam-mode-fields", _ipam_fields,
         "the cluster's IPAM mode decides the subnets: no pod subnet in overlay or node-subnet mode; node and pod "
         "subnet on every pool of a cluster that uses pod subnets"),
    Rule("allocation-mode-needs-pod-subnet", _mode_needs_pod_subnet,
         "pod_ip_allocation_mode applies to a pod subnet (give pod_subnet_id)"),
    Rule("allocation-mode-new-pool-only", _static_block_new_pool,
         "the pod IP allocation mode of an existing pool cannot change: Static Block is for new pools only (add a "
         "new pool, move the workloads, delete the old one)"),
    Rule("static-block-kubernetes-version", _static_block_version, "Static Block allocation needs Kubernetes 1.28 or later"),
    Rule("one-allocation-mode-per-subnet", _one_mode_per_subnet,
         "every pool and cluster sharing a pod subnet must use the same pod IP allocation mode", needs_network=True),
    Rule("subnets-exist", _subnets_exist, "the pool's subnets must exist", needs_network=True),
    Rule("pod-subnet-capacity", _pod_subnet_capacity,
         "the pod subnet needs room for max_count nodes: /28 blocks per node (Static Block) or max_pods addresses "
         "per node (dynamic)", needs_network=True),
    Rule("node-subnet-capacity", _node_subnet_capacity,
         "the node subnet needs room for max_count nodes (and, in node-subnet mode, their pods)", needs_network=True),
    Rule("last-system-pool", _last_system_pool, "a cluster must keep at least one System pool"),
)

SOURCES = {
    "pool-name": "AKS naming rules (aka.ms/aks-naming-rules); the cluster rule of the same name",
    "max-pods-range": "Learn: azure-cni-overview / ip-address-planning (10 to 250)",
    "autoscaler-bounds": "Learn: cluster-autoscaler (user pools may scale to 0, System pools need 1)",
    "subnet-id-format": "az CLI _validate_subnet_id",
    "node-pod-subnets-different": "Learn: configure-azure-cni-dynamic-ip-allocation (separate node and pod subnets)",
    "subnets-in-cluster-vnet": "Learn: create-node-pools (all pools' subnets in the same VNet); emulator rule one-vnet",
    "ipam-mode-fields": "Learn: azure-cni-overlay (no pod subnet), configure-azure-cni-dynamic-ip-allocation "
                        "(all or none of the pools use pod subnets)",
    "allocation-mode-needs-pod-subnet": "SDK AgentPool.pod_ip_allocation_mode docstring: used together with podSubnetID",
    "allocation-mode-new-pool-only": "Learn: configure-azure-cni-static-block-allocation (new node pools only)",
    "static-block-kubernetes-version": "Learn: configure-azure-cni-static-block-allocation (Kubernetes 1.28+)",
    "one-allocation-mode-per-subnet": "Learn: configure-azure-cni-static-block-allocation (one mode per subnet)",
    "subnets-exist": "AKS InvalidResourceReference",
    "pod-subnet-capacity": "Learn: concepts-network-azure-cni-pod-subnet (batches of 16, /28 blocks per node); "
                           "recorded InsufficientSubnetSize and 'Subnet is full' NNC events",
    "node-subnet-capacity": "Learn: azure-cni-overview (an IP per node plus surge; node-subnet mode: max_pods per node)",
    "last-system-pool": "AKS MustDefineAtLeastOneSystemPool (Azure/AKS#1568); Learn: use-system-pools",
}


def failure(rule, detail):
    return rule.rule_id, "[%s] %s: %s" % (rule.rule_id, rule.message, detail)


def check(facts, rules=RULES):
    """``(rule_id, message)`` of every rule that fails, in table order; network rules once ``facts.subnets`` is read."""
    failures = []
    for rule in rules:
        if rule.needs_network and facts.subnets is None:
            continue
        detail = rule.check(facts)
        if detail:
            failures.append(failure(rule, detail))
    return failures
