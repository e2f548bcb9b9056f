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

Everything here is pure: no I/O, no Ansible. Private to this collection.
"""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.azcni.cilium.plugins.module_utils._common import config_flag

CNP = "CiliumNetworkPolicy"
CCNP = "CiliumClusterwideNetworkPolicy"

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
}

# What the cluster can enforce. ``l7`` implies ``fqdn`` on AKS (--acns-advanced-networkpolicies L7).
LintContext = namedtuple("LintContext", ["l7", "fqdn", "node_selector_labels"])
NO_ACNS = LintContext(l7=False, fqdn=False, node_selector_labels=False)

DIRECTIONS = ("ingress", "ingressDeny", "egress", "egressDeny")
ALLOW_DIRECTIONS = ("ingress", "egress")

# Peer fields of which at most one may be non-empty in one allow rule (the agent's l3Members).
L3_PEERS = {
    "ingress": ("fromEndpoints", "fromCIDR", "fromCIDRSet", "fromEntities", "fromNodes", "fromGroups"),
    "egress": ("toEndpoints", "toCIDR", "toCIDRSet", "toEntities", "toServices", "toFQDNs", "toGroups", "toNodes"),
}
NODE_PEERS = ("fromNodes", "toNodes")
REQUIRES_PEERS = ("fromRequires", "toRequires")
L7_TYPES = ("http", "kafka", "dns", "l7proto")
PROXY_L7_TYPES = ("http", "kafka", "l7proto")  # need the Envoy L7 proxy; dns goes to the DNS proxy


def context_from_cilium_config(data):
    """What a cluster enforces, from the ``data`` of ``kube-system/cilium-config``.

    ``enable-l7-proxy: "true"`` is how AKS turns on ACNS L7 policies (it is "false" otherwise);
    FQDN filtering comes with L7, or alone with the DNS proxy keys ACNS sets.
    """
    data = data or {}
    l7 = config_flag(data.get("enable-l7-proxy"))
    fqdn = l7 or config_flag(data.get("enable-standalone-dns-proxy")) or config_flag(data.get("enable-acns-fqdn"))
    return LintContext(l7=l7, fqdn=fqdn, node_selector_labels=config_flag(data.get("enable-node-selector-labels")))


def context_from_setting(acns_security, node_selector_labels=False):
    """LintContext for an explicit ``acns_security`` value: none, fqdn or l7."""
    level = acns_security or "none"
    return LintContext(l7=level == "l7", fqdn=level in ("l7", "fqdn"), node_selector_labels=node_selector_labels)


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

    return [finding(path, check, detail) for path, check, detail in _policy_problems(obj, kind, context)]


def lint_policies(objs, context=NO_ACNS):
    """Findings for many policies, in input order."""
    findings = []
    for obj in objs:
        findings.extend(lint_policy(obj, context))
    return findings


def uses_cluster_features(objs):
    """True when some policy has a construct whose verdict depends on the cluster's settings.

    Lets the caller skip reading cilium-config for plain L3/L4 policy sets.
    """
    for obj in objs:
        for _path, rule in _rules(obj):
            for _dpath, _direction, entry in _entries(rule, ""):
                if any(entry.get(peer) for peer in NODE_PEERS + ("toFQDNs",)):
                    return True
                if any(_l7_types(port.get("rules")) for _ppath, port in _port_rules(entry, "")):
                    return True
    return False


def errors(findings):
    """The findings that fail the lint."""
    return [f for f in findings if f["severity"] == ERROR]


def format_finding(finding):
    """One line for a human: ``Kind/ns/name: path: message [check]``."""
    return "%s: %s: %s [%s]" % (finding["policy"], finding["path"], finding["message"], finding["check"])


# --- walking a policy ------------------------------------------------------------------------


def _rules(obj):
    """(path, rule) for ``spec`` and every ``specs[i]`` that is a dict."""
    rules = []
    if isinstance(obj.get("spec"), dict):
        rules.append(("spec", obj["spec"]))
    for index, rule in enumerate(obj.get("specs") or []):
        if isinstance(rule, dict):
            rules.append(("specs[%d]" % index, rule))
    return rules


def _entries(rule, path):
    """(path, direction, entry) for every ingress/egress(/Deny) entry of a rule."""
    for direction in DIRECTIONS:
        for index, entry in enumerate(rule.get(direction) or []):
            if isinstance(entry, dict):
                yield "%s.%s[%d]" % (path, direction, index), direction, entry


def _port_rules(entry, path):
    for index, port_rule in enumerate(entry.get("toPorts") or []):
        if isinstance(port_rule, dict):
            yield "%s.toPorts[%d]" % (path, index), port_rule


def _l7_types(rules):
    """The L7 rule types present in a ``toPorts[].rules`` block, in L7_TYPES order."""
    if not isinstance(rules, dict):
        return []
    return [kind for kind in L7_TYPES if rules.get(kind)]


# --- the checks --------------------------------------------------------------------------------
# Each yields (path, check id, detail or None).


def _policy_problems(obj, kind, context):
    if not obj.get("spec") and not obj.get("specs"):
        yield "spec", "empty-policy", None
        return
    for path, rule in _rules(obj):
        yield from _rule_problems(rule, path, kind, context)


def _rule_problems(rule, path, kind, context):
    has_endpoints = rule.get("endpointSelector") is not None
    host_policy = rule.get("nodeSelector") is not None
    if has_endpoints == host_policy:
        yield path, "selector", "both are set" if host_policy else "neither is set"
    if host_policy and kind == CNP:
        yield path + ".nodeSelector", "node-selector-in-cnp", None
    if not any(rule.get(direction) for direction in DIRECTIONS):
        yield path, "no-direction", None
    for entry_path, direction, entry in _entries(rule, path):
        for check in ENTRY_CHECKS:
            yield from check(entry, entry_path, direction, context)
        for port_path, port_rule in _port_rules(entry, entry_path):
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


ENTRY_CHECKS = (
    _check_l3_exclusive, _check_to_services_ports, _check_icmps_ports, _check_node_peers, _check_requires,
    _check_fqdn,
)


def _check_l7_shape(port_rule, path, _direction, _kind, _host, _context):
    rules = port_rule.get("rules")
    if not isinstance(rules, dict):
        return
    types = _l7_types(rules)
    if len(types) > 1:
        yield path + ".rules", "l7-multiple-types", ", ".join(types)
    if rules.get("l7") and not rules.get("l7proto"):
        yield path + ".rules.l7", "l7-without-proto", None


def _check_dns(port_rule, path, direction, _kind, host_policy, context):
    rules = port_rule.get("rules")
    if "dns" not in _l7_types(rules):
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
    types = [t for t in _l7_types(port_rule.get("rules")) if t in PROXY_L7_TYPES]
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
