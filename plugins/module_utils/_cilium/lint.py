# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lint CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy objects before they are sent.

Two kinds of checks:

* what AKS does not enforce: L7 rules and FQDN rules need Advanced Container Networking Services
  (ACNS) security, L7 is never supported in a cluster-wide policy, and ``fromNodes``/``toNodes``
  need ``enable-node-selector-labels`` (off on AKS);
* what the Cilium agent itself rejects when it parses a rule (``pkg/policy/api/rule_validation.go``
  and the CNP parser): exclusive L3 peer fields, ``icmps`` next to ``toPorts``, DNS rules on
  ingress or off port 53, L7 on non-TCP ports, ``nodeSelector`` in a namespaced policy, rules with
  no direction, policies with no rule. The apiserver accepts all of these; the agent then drops the
  policy and only its log says why.

The table of checks, the cluster context and the checks themselves live here; finding one's way around a policy
(its rules, entries, port rules, CIDRs) is ``lint_walk``. Everything is pure: no I/O, no Ansible. Private to this
collection.
"""

from __future__ import annotations

import ipaddress
from collections import namedtuple

from ansible_collections.azcni.cilium.plugins.module_utils._cilium import acns
from ansible_collections.azcni.cilium.plugins.module_utils._cilium import lint_walk as walk
from ansible_collections.azcni.cilium.plugins.module_utils._common import config_flag

CNP = "CiliumNetworkPolicy"
CCNP = "CiliumClusterwideNetworkPolicy"
CNL = "ContainerNetworkLog"  # ACNS flow-log capture (acn.azure.com/v1alpha1, cluster scoped)
CNL_API_VERSION = "acn.azure.com/v1alpha1"
LOCALDNS_RANGE = "169.254.10.0/24"  # LocalDNS listens on 169.254.10.10/11 on every node

ERROR = "error"
WARNING = "warning"

# id -> (severity, what it means). The single place that names every check (docs and tests use it).
CHECKS = {
    "empty-policy": (ERROR, "the policy has neither spec nor specs (the agent rejects it: ErrEmptyCNP)"),
    "selector": (ERROR, "a rule needs exactly one of endpointSelector and nodeSelector"),
    "node-selector-in-cnp": (ERROR, "nodeSelector (host policy) is only allowed in a CiliumClusterwideNetworkPolicy"),
    "no-direction": (ERROR, "a rule needs at least one non-empty ingress, ingressDeny, egress or egressDeny"),
    "l3-exclusive": (ERROR, "L3 peer fields in one rule exclude each other; split them into separate rules"),
    "to-services-with-to-ports": (ERROR, "toServices cannot be combined with toPorts in one egress rule"),
    "icmps-with-to-ports": (ERROR, "icmps may only be present without toPorts; use a separate rule"),
    "node-selector-labels": (ERROR, "fromNodes/toNodes need enable-node-selector-labels, which AKS keeps off"),
    "requires-removed": (WARNING, "fromRequires/toRequires are deprecated and removed in Cilium 1.19"),
    "l7-multiple-types": (ERROR, "one toPorts rules block may hold only one of http, kafka, dns, l7proto"),
    "l7-without-proto": (ERROR, "l7 may only be given together with l7proto"),
    "dns-on-ingress": (ERROR, "DNS rules are only allowed on egress"),
    "dns-port": (ERROR, "DNS rules need their ports to be exactly port 53, without ranges"),
    "l7-not-tcp": (ERROR, "L7 rules other than DNS only apply to protocol TCP (an omitted protocol means ANY)"),
    "l7-in-host-policy": (ERROR, "host policies (nodeSelector) do not support L7 rules"),
    "l7-in-ccnp": (ERROR, "AKS does not support L7 rules in a CiliumClusterwideNetworkPolicy, even with ACNS"),
    "l7-needs-acns": (ERROR, "AKS enforces L7 rules (http, kafka, l7proto) only with ACNS security (L7)"),
    "fqdn-needs-acns": (ERROR, "AKS enforces FQDN policies (toFQDNs, dns rules) only with ACNS security"),
    "dns-allow-localdns": (ERROR, "the cluster runs LocalDNS: pods query the node-local DNS at 169.254.10.10/11, so a "
                                  "policy allowing DNS must also allow it on port 53 (entity host on Cilium 1.17 and "
                                  "later, toCIDR 169.254.10.0/24 on Cilium 1.16)"),
    "cidr-selects-cluster": (WARNING, "on AKS, CIDR rules (ipBlock, toCIDR, fromCIDR, CIDR sets) do not select pods or "
                                      "nodes; use endpoint selectors or entities (cluster, host, remote-node) instead"),
    "flow-log-dns-needs-fqdn": (WARNING, "DNS fields appear in container network logs only with FQDN or L7 policies "
                                         "(ACNS network_policies fqdn or l7)"),
}

# What the cluster can enforce. ``l7`` implies ``fqdn`` on AKS (--acns-advanced-networkpolicies L7).
# localdns: the nodes run LocalDNS; cilium_version: (major, minor) or None; cluster_ranges: (label, ip_network)
# of the pods' ranges and the nodes' addresses, which CIDR rules do not select on AKS.
LintContext = namedtuple("LintContext", ["l7", "fqdn", "node_selector_labels", "localdns", "cilium_version",
                                         "cluster_ranges"])
LintContext.__new__.__defaults__ = (False, None, ())
NO_ACNS = LintContext(l7=False, fqdn=False, node_selector_labels=False)

ALLOW_DIRECTIONS = ("ingress", "egress")

# Peer fields of which at most one may be non-empty in one allow rule (the agent's l3Members).
L3_PEERS = {
    "ingress": ("fromEndpoints", "fromCIDR", "fromCIDRSet", "fromEntities", "fromNodes", "fromGroups"),
    "egress": ("toEndpoints", "toCIDR", "toCIDRSet", "toEntities", "toServices", "toFQDNs", "toGroups", "toNodes"),
}
NODE_PEERS = ("fromNodes", "toNodes")
CIDR_PEERS = ("fromCIDR", "fromCIDRSet", "toCIDR", "toCIDRSet")
REQUIRES_PEERS = ("fromRequires", "toRequires")
PROXY_L7_TYPES = ("http", "kafka", "l7proto")  # need the Envoy L7 proxy; dns goes to the DNS proxy


def context_from_cilium_config(data, **cluster):
    """What a cluster enforces, from the ``data`` of ``kube-system/cilium-config`` (``_cilium.acns.policy_mode``:
    ``enable-l7-proxy`` for the proxies, ``external-envoy-proxy`` for L7 through the cilium-envoy DaemonSet).
    ``cluster``: localdns, cilium_version, cluster_ranges."""
    data = data or {}
    mode = acns.policy_mode(data)
    return LintContext(l7=mode == "l7", fqdn=mode != "none",
                       node_selector_labels=config_flag(data.get("enable-node-selector-labels")), **cluster)


def context_from_setting(acns_security, node_selector_labels=False, **cluster):
    """LintContext for an explicit ``acns_security`` value: none, fqdn or l7."""
    level = acns_security or "none"
    return LintContext(l7=level == "l7", fqdn=level in ("l7", "fqdn"), node_selector_labels=node_selector_labels,
                       **cluster)


def network_policies(context):
    """none | fqdn | l7 of a LintContext."""
    return "l7" if context.l7 else "fqdn" if context.fqdn else "none"


def policy_ref(kind, namespace, name):
    """``Kind/namespace/name`` for a namespaced policy, ``Kind/name`` for a cluster-wide one."""
    return "%s/%s/%s" % (kind, namespace, name) if namespace else "%s/%s" % (kind, name)


def lint_policy(obj, context=NO_ACNS):
    """Return the findings (list of dicts) for one policy object.

    Each finding: policy (Kind/ns/name), kind, namespace, name, path (JSON path inside the policy,
    e.g. ``specs[1].egress[0].toPorts[0].rules.http``), check (an id from CHECKS), severity, message.
    """
    metadata = obj.get("metadata") or {}
    kind = obj.get("kind")
    namespace = metadata.get("namespace") if kind != CCNP else None
    name = metadata.get("name")
    ref = policy_ref(kind, namespace, name)

    def finding(path, check, detail=None):
        severity, message = CHECKS[check]
        return {
            "policy": ref, "kind": kind, "namespace": namespace, "name": name, "path": path, "check": check,
            "severity": severity, "message": "%s: %s" % (message, detail) if detail else message,
        }

    problems = _flow_log_problems(obj, context) if kind == CNL else _policy_problems(obj, kind, context)
    return [finding(path, check, detail) for path, check, detail in problems]


def lint_policies(objs, context=NO_ACNS):
    """Findings for many policies, in input order."""
    findings = []
    for obj in objs:
        findings.extend(lint_policy(obj, context))
    return findings


def uses_cluster_features(objs):
    """What the verdicts depend on: a set of ``"config"`` (cilium-config: ACNS policy mode, node selector labels)
    and ``"nodes"`` (LocalDNS, the Cilium version, the pod and node ranges). Empty for plain L3/L4 policy sets,
    so the caller reads nothing.
    """
    needs = set()
    for obj in objs:
        if obj.get("kind") == CNL:
            needs.add("config")
            continue
        for _path, rule in walk.rules(obj):
            for _dpath, direction, entry in walk.entries(rule, ""):
                if any(entry.get(peer) for peer in NODE_PEERS + ("toFQDNs",)):
                    needs.add("config")
                if any(walk.l7_types(port.get("rules")) for _ppath, port in walk.port_rules(entry, "")):
                    needs.add("config")
                if any(entry.get(field) for field in CIDR_PEERS) or (direction == "egress" and walk.allows_dns(entry)):
                    needs.add("nodes")
    return needs


def errors(findings):
    """The findings that fail the lint."""
    return [f for f in findings if f["severity"] == ERROR]


def format_finding(finding):
    """One line for a human: ``Kind/ns/name: path: message [check]``."""
    return "%s: %s: %s [%s]" % (finding["policy"], finding["path"], finding["message"], finding["check"])


# --- the checks --------------------------------------------------------------------------------
# Each yields (path, check id, detail or None).


def _policy_problems(obj, kind, context):
    if not obj.get("spec") and not obj.get("specs"):
        yield "spec", "empty-policy", None
        return
    for path, rule in walk.rules(obj):
        yield from _rule_problems(rule, path, kind, context)
        yield from _check_localdns(rule, path, context)


def _rule_problems(rule, path, kind, context):
    has_endpoints = rule.get("endpointSelector") is not None
    host_policy = rule.get("nodeSelector") is not None
    if has_endpoints == host_policy:
        yield path, "selector", "both are set" if host_policy else "neither is set"
    if host_policy and kind == CNP:
        yield path + ".nodeSelector", "node-selector-in-cnp", None
    if not any(rule.get(direction) for direction in walk.DIRECTIONS):
        yield path, "no-direction", None
    for entry_path, direction, entry in walk.entries(rule, path):
        for check in ENTRY_CHECKS:
            yield from check(entry, entry_path, direction, context)
        for port_path, port_rule in walk.port_rules(entry, entry_path):
            for check in PORT_RULE_CHECKS:
                yield from check(port_rule, port_path, direction, kind, host_policy, context)


def _check_l3_exclusive(entry, path, direction, _context):
    peers = [field for field in L3_PEERS.get(direction, ()) if entry.get(field)]
    if len(peers) > 1:
        yield path, "l3-exclusive", " and ".join(peers)


def _check_to_services_ports(entry, path, direction, _context):
    if direction == "egress" and entry.get("toServices") and entry.get("toPorts"):
        yield path, "to-services-with-to-ports", None


def _check_icmps_ports(entry, path, direction, _context):
    if direction in ALLOW_DIRECTIONS and entry.get("icmps") and entry.get("toPorts"):
        yield path, "icmps-with-to-ports", None


def _check_node_peers(entry, path, _direction, context):
    if context.node_selector_labels:
        return
    for field in NODE_PEERS:
        if entry.get(field):
            yield "%s.%s" % (path, field), "node-selector-labels", None


def _check_requires(entry, path, _direction, _context):
    for field in REQUIRES_PEERS:
        if entry.get(field):
            yield "%s.%s" % (path, field), "requires-removed", None


def _check_fqdn(entry, path, _direction, context):
    if entry.get("toFQDNs") and not context.fqdn:
        yield path + ".toFQDNs", "fqdn-needs-acns", None


def _check_cidr_targets(entry, path, _direction, context):
    """AKS limitation: CIDR rules aimed at pod or node addresses select nothing (the traffic has identities)."""
    if not context.cluster_ranges:
        return
    for field in CIDR_PEERS:
        for index, text in walk.cidrs(entry, field):
            net = walk.network(text)
            if net is None or net.prefixlen == 0:  # 0.0.0.0/0 means "the world", not the cluster
                continue
            hits = sorted({label for label, cluster_range in context.cluster_ranges
                           if cluster_range.version == net.version and cluster_range.overlaps(net)})
            if hits:
                yield "%s.%s[%d]" % (path, field, index), "cidr-selects-cluster", "%s covers %s" % (text, ", ".join(hits))


ENTRY_CHECKS = (
    _check_l3_exclusive, _check_to_services_ports, _check_icmps_ports, _check_node_peers, _check_requires,
    _check_fqdn, _check_cidr_targets,
)


def _allows_localdns(entry, cilium_version):
    """Whether the entry lets pods reach LocalDNS: entity host (Cilium >= 1.17) or 169.254.10.0/24 (older)."""
    if not walk.allows_port_53(entry):
        return False
    if "host" in (entry.get("toEntities") or []) or "all" in (entry.get("toEntities") or []):
        return cilium_version is None or cilium_version >= (1, 17)
    localdns = ipaddress.ip_network(LOCALDNS_RANGE)
    for field in ("toCIDR", "toCIDRSet"):
        for _index, text in walk.cidrs(entry, field):
            net = walk.network(text)
            if net is not None and net.version == 4 and localdns.subnet_of(net):
                return cilium_version is None or cilium_version < (1, 17)
    return False


def _check_localdns(rule, path, context):
    if not context.localdns:
        return
    entries = [(entry_path, entry) for entry_path, direction, entry in walk.entries(rule, path) if direction == "egress"]
    dns = [entry_path for entry_path, entry in entries if walk.allows_dns(entry)]
    if dns and not any(_allows_localdns(entry, context.cilium_version) for _path, entry in entries):
        version = ".".join(str(part) for part in context.cilium_version) if context.cilium_version else "unknown"
        yield dns[0], "dns-allow-localdns", "Cilium %s; add an egress rule to %s on port 53" % (
            version, "entity host" if context.cilium_version is None or context.cilium_version >= (1, 17)
            else "toCIDR " + LOCALDNS_RANGE)


def _flow_log_problems(obj, context):
    """ContainerNetworkLog: DNS fields are only logged where FQDN/L7 policies run."""
    for index, item in enumerate(((obj.get("spec") or {}).get("includefilters")) or []):
        protocols = [str(p).lower() for p in (item or {}).get("protocol") or []] if isinstance(item, dict) else []
        if "dns" in protocols and not context.fqdn:
            yield "spec.includefilters[%d].protocol" % index, "flow-log-dns-needs-fqdn", None


def _check_l7_shape(port_rule, path, _direction, _kind, _host, _context):
    rules = port_rule.get("rules")
    if not isinstance(rules, dict):
        return
    types = walk.l7_types(rules)
    if len(types) > 1:
        yield path + ".rules", "l7-multiple-types", ", ".join(types)
    if rules.get("l7") and not rules.get("l7proto"):
        yield path + ".rules.l7", "l7-without-proto", None


def _check_dns(port_rule, path, direction, _kind, host_policy, context):
    rules = port_rule.get("rules")
    if "dns" not in walk.l7_types(rules):
        return
    rules_path = path + ".rules.dns"
    if direction != "egress":
        yield rules_path, "dns-on-ingress", None
    ports = port_rule.get("ports") or []
    bad = [str(p.get("port")) for p in ports if str(p.get("port")) != "53" or _is_range(p)]
    if not ports or bad:
        yield path + ".ports", "dns-port", "got %s" % (", ".join(bad) or "no ports")
    if host_policy:
        yield rules_path, "l7-in-host-policy", None
    if not context.fqdn:
        yield rules_path, "fqdn-needs-acns", None


def _check_proxy_l7(port_rule, path, _direction, kind, host_policy, context):
    types = [t for t in walk.l7_types(port_rule.get("rules")) if t in PROXY_L7_TYPES]
    if not types:
        return
    rules_path = "%s.rules.%s" % (path, types[0])
    for index, port in enumerate(port_rule.get("ports") or []):
        protocol = str(port.get("protocol") or "ANY").upper()
        if protocol != "TCP":
            yield "%s.ports[%d].protocol" % (path, index), "l7-not-tcp", "got %s" % protocol
    if host_policy:
        yield rules_path, "l7-in-host-policy", None
    if kind == CCNP:
        yield rules_path, "l7-in-ccnp", None
    if not context.l7:
        yield rules_path, "l7-needs-acns", None


def _is_range(port):
    try:
        return int(port.get("endPort") or 0) > int(port.get("port"))
    except (TypeError, ValueError):
        return False


PORT_RULE_CHECKS = (_check_l7_shape, _check_dns, _check_proxy_l7)
