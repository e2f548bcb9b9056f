# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pre-flight rules for an AKS cluster on Azure CNI Powered by Cilium.

Every rule AKS (or the Cilium data plane) enforces only after a long-running PUT has started is checked
here first, so a bad input fails before any write, with a message naming the rule. The rules are one
table (``RULES``): rule id, check, message. A check gets the ``Facts`` (the settings the cluster will
have) and returns None when the rule holds, or a short detail naming the offending values.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

from ansible_collections.azcni.cilium.plugins.module_utils._aks import acns
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cidr import RESERVED_RANGES, overlaps, parse_network, reserved_overlap
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_facts import (
    AZURE_RESERVED_IPS, MAX_PODS_MAX, MAX_PODS_MIN, MIN_PODS_PER_POOL, POD_IPS_PER_NODE, POOL_NAME_MAX, Rule,
    SERVICE_CIDR_MIN_PREFIX, STATIC_BLOCK_MIN_VERSION, _ip, _net, _subnet, _vnet_key)
from ansible_collections.azcni.cilium.plugins.module_utils._azure.ids import subnet_parts


# --- checks: each returns None when the rule holds, else a detail -------------------------------
def _linux_only(facts):
    bad = ["%s (%s)" % (p.get("name"), p.get("osSKU") or p.get("osType")) for p in facts.pools
           if (p.get("osType") or "Linux").lower() != "linux" or (p.get("osSKU") or "").lower().startswith("windows")]
    return "Windows node pools: %s" % ", ".join(bad) if bad else None


def _dataplane_policy(facts):
    dataplane, policy = facts.network_dataplane or "azure", facts.network_policy or "none"
    if (dataplane == "cilium") != (policy == "cilium"):
        return "networkDataplane %s with networkPolicy %s" % (dataplane, policy)
    return None


def _pool_name(facts):
    name = facts.pool_name
    if name is not None and not (name[:1].isalpha() and name.islower() and name.isalnum() and len(name) <= POOL_NAME_MAX):
        return "system pool name %r" % name
    return None


def _max_pods_range(facts):
    if facts.max_pods is not None and not MAX_PODS_MIN <= facts.max_pods <= MAX_PODS_MAX:
        return "max_pods is %s" % facts.max_pods
    return None


def _max_pods_capacity(facts):
    if facts.max_pods is None or facts.node_count is None or facts.max_pods < MAX_PODS_MIN:
        return None
    if facts.max_pods * facts.node_count < MIN_PODS_PER_POOL:
        return "max_pods %s x %s nodes = %s pods" % (facts.max_pods, facts.node_count, facts.max_pods * facts.node_count)
    return None


def _autoscaler_bounds(facts):
    if facts.min_count is None and facts.max_count is None:
        return None
    if facts.min_count is None or facts.max_count is None:
        return "min_count %s, max_count %s" % (facts.min_count, facts.max_count)
    if not 1 <= facts.min_count <= facts.max_count:
        return "min_count %s, max_count %s" % (facts.min_count, facts.max_count)
    return None


def _cidr_syntax(facts):
    errors = []
    for name in ("pod_cidr", "service_cidr"):
        value = getattr(facts, name)
        if value:
            try:
                net = parse_network(value)
            except ValueError as exc:
                errors.append("%s: %s" % (name, exc))
                continue
            if net.version != 4:
                errors.append("%s %s is not IPv4 (dual-stack is not supported by this module)" % (name, value))
    if facts.dns_service_ip and _ip(facts.dns_service_ip) is None:
        errors.append("dns_service_ip %r is not an IP address" % facts.dns_service_ip)
    return "; ".join(errors) or None


def _pod_cidr_overlay_only(facts):
    if facts.ipam_mode != "overlay" and "pod_cidr" in facts.given:
        return "pod_cidr %s with ipam_mode %s" % (facts.pod_cidr, facts.ipam_mode)
    return None


def _pod_subnet_vnet_only(facts):
    if facts.ipam_mode != "vnet" and facts.pod_subnet_id:
        return "pod_subnet_id is set with ipam_mode %s" % facts.ipam_mode.replace("-", "_")
    return None


def _vnet_subnets_required(facts):
    if facts.ipam_mode != "vnet":
        return None
    missing = [name for name in ("vnet_subnet_id", "pod_subnet_id") if not getattr(facts, name)]
    return "missing %s" % " and ".join(missing) if missing else None


def _subnet_id_format(facts):
    errors = []
    for name in ("vnet_subnet_id", "pod_subnet_id"):
        value = getattr(facts, name)
        if value:
            try:
                subnet_parts(value)
            except ValueError as exc:
                errors.append("%s: %s" % (name, exc))
    return "; ".join(errors) or None


def _subnets_different(facts):
    node, pod = facts.vnet_subnet_id, facts.pod_subnet_id
    if node and pod and node.rstrip("/").lower() == pod.rstrip("/").lower():
        return "both are %s" % node
    return None


def _subnets_same_vnet(facts):
    node, pod = _subnet(facts.vnet_subnet_id), _subnet(facts.pod_subnet_id)
    if node and pod and _vnet_key(node) != _vnet_key(pod):
        return "node subnet is in VNet %s/%s, pod subnet in %s/%s" % (
            node["resource_group"], node["vnet"], pod["resource_group"], pod["vnet"])
    return None


def _service_dns_pair(facts):
    given = [name for name in ("service_cidr", "dns_service_ip") if name in facts.given]
    return "only %s is set" % given[0] if len(given) == 1 else None


def _service_cidr_size(facts):
    net = _net(facts.service_cidr)
    if net is not None and net.version == 4 and net.prefixlen < SERVICE_CIDR_MIN_PREFIX:
        return "%s is /%d" % (facts.label("service_cidr"), net.prefixlen)
    return None


def _dns_ip_in_range(facts):
    net, address = _net(facts.service_cidr), _ip(facts.dns_service_ip)
    if net is not None and address is not None and address not in net:
        return "%s is outside %s" % (facts.label("dns_service_ip"), facts.label("service_cidr"))
    return None


def _dns_ip_not_first(facts):
    # Kubernetes gives the first address to the API server's Service (kubernetes.default); the
    # network and broadcast addresses are never allocated.
    net, address = _net(facts.service_cidr), _ip(facts.dns_service_ip)
    if net is None or address is None or address not in net:
        return None
    if address in (net.network_address, net.network_address + 1, net.broadcast_address):
        return "%s is reserved in %s (network address %s, API service %s, broadcast %s)" % (
            facts.label("dns_service_ip"), net, net.network_address, net.network_address + 1, net.broadcast_address)
    return None


def _reserved_ranges(facts):
    hits = []
    for name in ("pod_cidr", "service_cidr"):
        net = _net(getattr(facts, name)) if name != "pod_cidr" or facts.ipam_mode == "overlay" else None
        reserved = reserved_overlap(net) if net is not None else None
        if reserved:
            hits.append("%s overlaps %s" % (facts.label(name), reserved))
    return "; ".join(hits) or None


def _pod_service_overlap(facts):
    pod = _net(facts.pod_cidr) if facts.ipam_mode == "overlay" else None
    service = _net(facts.service_cidr)
    if pod is not None and service is not None and overlaps(pod, service):
        return "%s overlaps %s" % (facts.label("pod_cidr"), facts.label("service_cidr"))
    return None


def _vnet_subnets(facts):
    """The VNet's subnets as {lowercase name: subnet dict}."""
    subnets = (facts.vnet.get("properties") or {}).get("subnets") or []
    return dict(((s.get("name") or "").lower(), s) for s in subnets)


def missing_subnets(facts):
    """The node and pod subnets (``"<option> <subnet name>"``) that ``facts.vnet`` does not have."""
    if facts.vnet is None:
        return []
    subnets = _vnet_subnets(facts)
    missing = []
    for name in ("vnet_subnet_id", "pod_subnet_id"):
        parts = _subnet(getattr(facts, name))
        if parts and _vnet_key(parts)[2] == (facts.vnet.get("name") or "").lower() and parts["subnet"].lower() not in subnets:
            missing.append("%s %s" % (name, parts["subnet"]))
    return missing


def _subnets_exist(facts):
    missing = missing_subnets(facts)
    if missing:
        return "not found in VNet %s: %s (it has: %s)" % (
            facts.vnet.get("name"), ", ".join(missing), ", ".join(sorted(_vnet_subnets(facts))) or "no subnets")
    return None


def node_subnet(facts):
    """The node subnet as ``facts.vnet`` has it (a dict), or None."""
    parts = _subnet(facts.vnet_subnet_id)
    return _vnet_subnets(facts).get(parts["subnet"].lower()) if parts and facts.vnet is not None else None


def _node_subnet_not_delegated(facts):
    parts = _subnet(facts.vnet_subnet_id)
    subnet = node_subnet(facts)
    delegations = ((subnet or {}).get("properties") or {}).get("delegations") or []
    if delegations:
        names = [(d.get("properties") or {}).get("serviceName") or d.get("name") for d in delegations]
        return "node subnet %s is delegated to %s" % (parts["subnet"], ", ".join(str(n) for n in names))
    return None


def _subnet_capacity(facts):
    """Room for every node (plus one surge node during upgrades) and, in vnet mode, their pod IP batches."""
    if facts.node_count is None:
        return None
    nodes = facts.node_count + 1
    # node-subnet mode (legacy Azure CNI) gives every node max_pods addresses of the node subnet beside its own
    per_node = 1 + (facts.max_pods or 0) if facts.ipam_mode == "node-subnet" else 1
    needs = [("vnet_subnet_id", per_node * nodes)]
    if facts.ipam_mode == "vnet":
        needs.append(("pod_subnet_id", POD_IPS_PER_NODE * nodes))
    subnets, short = _vnet_subnets(facts), []
    for name, wanted in needs:
        parts = _subnet(getattr(facts, name))
        subnet = subnets.get(parts["subnet"].lower()) if parts else None
        properties = (subnet or {}).get("properties") or {}
        prefix = _net(properties.get("addressPrefix") or (properties.get("addressPrefixes") or [None])[0])
        if prefix is not None and prefix.num_addresses - AZURE_RESERVED_IPS < wanted:
            short.append("%s %s (%s) has %d usable IPs, %d nodes need %d" % (
                name, parts["subnet"], prefix, prefix.num_addresses - AZURE_RESERVED_IPS, facts.node_count, wanted))
    return "; ".join(short) or None


def _vnet_prefixes(facts):
    return ((facts.vnet.get("properties") or {}).get("addressSpace") or {}).get("addressPrefixes") or []


def _subnet_prefixes(facts):
    """(subnet name, prefix) of every subnet of the VNet."""
    for subnet in (facts.vnet.get("properties") or {}).get("subnets") or []:
        properties = subnet.get("properties") or {}
        for prefix in properties.get("addressPrefixes") or [properties.get("addressPrefix")]:
            if prefix:
                yield subnet.get("name"), prefix


def _vnet_overlap(facts):
    """An overlay pod CIDR must stay out of the VNet's address space (AKS: NetworkProfileCIDROverlapVNET)."""
    net = _net(facts.pod_cidr) if facts.ipam_mode == "overlay" else None
    hits = ["%s overlaps VNet %s address space %s" % (facts.label("pod_cidr"), facts.vnet.get("name"), prefix)
            for prefix in _vnet_prefixes(facts) if net is not None and _net(prefix) is not None and overlaps(net, _net(prefix))]
    return "; ".join(hits) or None


def _service_cidr_on_subnet(facts):
    """The service CIDR must miss every subnet of the VNet (AKS: ServiceCidrOverlapExistingSubnetsCidr)."""
    net = _net(facts.service_cidr)
    hits = ["%s overlaps subnet %s (%s)" % (facts.label("service_cidr"), name, prefix)
            for name, prefix in _subnet_prefixes(facts) if net is not None and _net(prefix) is not None
            and overlaps(net, _net(prefix))]
    return "; ".join(hits) or None


def _service_cidr_in_vnet(facts):
    """Inside the VNet's address space but clear of its subnets: AKS accepts it (a warning, not a failure)."""
    net = _net(facts.service_cidr)
    if net is None or _service_cidr_on_subnet(facts):
        return None
    hits = ["%s is inside VNet %s address space %s" % (facts.label("service_cidr"), facts.vnet.get("name"), prefix)
            for prefix in _vnet_prefixes(facts) if _net(prefix) is not None and overlaps(net, _net(prefix))]
    return "; ".join(hits) or None


RULES = (
    Rule("linux-only", _linux_only,
         "Azure CNI Powered by Cilium supports Linux node pools only"),
    Rule("dataplane-policy-pairing", _dataplane_policy,
         "networkPolicy cilium requires networkDataplane cilium and the reverse"),
    Rule("pool-name", _pool_name,
         "a Linux node pool name has 1 to %d lowercase letters and digits and starts with a letter" % POOL_NAME_MAX),
    Rule("max-pods-range", _max_pods_range,
         "max_pods must be between %d and %d" % (MAX_PODS_MIN, MAX_PODS_MAX)),
    Rule("max-pods-pool-capacity", _max_pods_capacity,
         "a pool must have room for at least %d pods (max_pods x node count)" % MIN_PODS_PER_POOL),
    Rule("autoscaler-bounds", _autoscaler_bounds,
         "the system pool autoscaler needs 1 <= min_count <= max_count"),
    Rule("cidr-syntax", _cidr_syntax,
         "pod_cidr and service_cidr must be IPv4 CIDR ranges and dns_service_ip an IP address"),
    Rule("pod-cidr-overlay-only", _pod_cidr_overlay_only,
         "pod_cidr is only allowed with ipam_mode overlay; in vnet mode pods take their IPs from pod_subnet_id"),
    Rule("pod-subnet-vnet-only", _pod_subnet_vnet_only,
         "pod_subnet_id is only allowed with ipam_mode vnet; overlay pods take their IPs from pod_cidr, node_subnet "
         "pods from vnet_subnet_id"),
    Rule("vnet-subnets-required", _vnet_subnets_required,
         "ipam_mode vnet needs both vnet_subnet_id (nodes) and pod_subnet_id (pods)"),
    Rule("subnet-id-format", _subnet_id_format,
         "vnet_subnet_id and pod_subnet_id must be subnet resource IDs"),
    Rule("vnet-subnets-different", _subnets_different,
         "vnet_subnet_id and pod_subnet_id must be different subnets"),
    Rule("vnet-subnets-same-vnet", _subnets_same_vnet,
         "vnet_subnet_id and pod_subnet_id must be subnets of the same VNet"),
    Rule("service-dns-pair", _service_dns_pair,
         "service_cidr and dns_service_ip must be given together or not at all"),
    Rule("service-cidr-size", _service_cidr_size,
         "service_cidr must be smaller than /12 (prefix length /%d or longer)" % SERVICE_CIDR_MIN_PREFIX),
    Rule("dns-ip-in-service-cidr", _dns_ip_in_range,
         "dns_service_ip must be inside service_cidr"),
    Rule("dns-ip-not-first", _dns_ip_not_first,
         "dns_service_ip must not be the first address of service_cidr, which Kubernetes gives to the API "
         "server, nor the network or broadcast address"),
    Rule("reserved-ranges", _reserved_ranges,
         "pod and service CIDRs must not overlap the ranges AKS reserves (%s)" % ", ".join(RESERVED_RANGES)),
    Rule("pod-service-overlap", _pod_service_overlap,
         "pod_cidr and service_cidr must not overlap"),
    Rule("subnets-exist", _subnets_exist,
         "the node and pod subnets must exist in their VNet", needs_network=True),
    Rule("node-subnet-not-delegated", _node_subnet_not_delegated,
         "the node subnet must not be delegated (AKS fails with SubnetIsDelegated)", needs_network=True),
    Rule("subnet-capacity", _subnet_capacity,
         "the node subnet needs an IP per node plus one (in node_subnet mode also max_pods per node), a pod subnet %d "
         "IPs per node plus one batch" % POD_IPS_PER_NODE,
         needs_network=True),
    Rule("vnet-overlap", _vnet_overlap,
         "an overlay pod_cidr must not overlap the address space of the cluster's VNet", needs_network=True),
    Rule("service-cidr-subnet-overlap", _service_cidr_on_subnet,
         "service_cidr must not overlap any subnet of the cluster's VNet", needs_network=True),
    Rule("service-cidr-in-vnet", _service_cidr_in_vnet,
         "service_cidr lies in the VNet's address space; AKS accepts that while it misses every subnet, but a subnet "
         "added there later will collide with the cluster's service IPs", needs_network=True, warning=True),
)


def _allocation_mode_needs_pod_subnet(facts):
    if facts.pod_ip_allocation_mode and not facts.pod_subnet_id:
        return "pod_ip_allocation_mode %s without pod_subnet_id" % facts.pod_ip_allocation_mode
    return None


def _static_block_version(facts):
    version = tuple(int(p) for p in str(facts.pool_version or "").split(".")[:2] if p.isdigit())
    if (facts.pod_ip_allocation_mode or "").lower() == "staticblock" and len(version) == 2 and \
            version < STATIC_BLOCK_MIN_VERSION:
        return "Kubernetes %s" % facts.pool_version
    return None


# the system pool's pod IP allocation mode (the node pool module has the same rules for its pools)
ALLOCATION_RULES = (
    Rule("allocation-mode-needs-pod-subnet", _allocation_mode_needs_pod_subnet,
         "pod_ip_allocation_mode applies to a pod subnet (give pod_subnet_id)"),
    Rule("static-block-kubernetes-version", _static_block_version,
         "Static Block allocation needs Kubernetes 1.28 or later"),
)
RULES = RULES + ALLOCATION_RULES
RULES += tuple(Rule(*row) for row in acns.RULES)  # Advanced Container Networking Services: _aks/acns.py

VNET_RULE_IDS = tuple(rule.rule_id for rule in RULES if rule.needs_network)


def failure(rule, detail):
    """The ``(rule_id, message)`` of a broken rule (a Rule or its id), the message naming the rule."""
    if not isinstance(rule, Rule):
        rule = next(r for r in RULES if r.rule_id == rule)
    return rule.rule_id, "[%s] %s: %s" % (rule.rule_id, rule.message, detail)


def _broken(facts, rules, warning):
    found = []
    for rule in rules:
        if rule.warning != warning or (rule.needs_network and facts.vnet is None):
            continue
        detail = rule.check(facts)
        if detail:
            found.append(failure(rule, detail))
    return found


def check(facts, rules=RULES):
    """Run the rules; a list of ``(rule_id, message)`` for those that fail, in table order.

    VNet rules run only once ``facts.vnet`` holds the VNet read from Azure. Warning rules never fail.
    """
    return _broken(facts, rules, warning=False)


def warnings(facts, rules=RULES):
    """The ``(rule_id, message)`` of the warning rules that apply, in table order."""
    return _broken(facts, rules, warning=True)
