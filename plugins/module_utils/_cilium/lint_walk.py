# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy for lint: where its rules, entries, port rules,
L7 blocks and CIDRs are (each with its JSON path), and what an entry allows (port 53, the cluster DNS).

Items that are not mappings are skipped. Lint's checks and ``lint.uses_cluster_features`` share these walkers.
Pure; private to this collection.
"""

from __future__ import annotations

import ipaddress

DIRECTIONS = ("ingress", "ingressDeny", "egress", "egressDeny")
L7_TYPES = ("http", "kafka", "dns", "l7proto")


def rules(obj):
    """(path, rule) for ``spec`` and every ``specs[i]`` that is a dict."""
    found = []
    if isinstance(obj.get("spec"), dict):
        found.append(("spec", obj["spec"]))
    for index, rule in enumerate(obj.get("specs") or []):
        if isinstance(rule, dict):
            found.append(("specs[%d]" % index, rule))
    return found


def entries(rule, path):
    """(path, direction, entry) for every ingress/egress(/Deny) entry of a rule."""
    for direction in DIRECTIONS:
        for index, entry in enumerate(rule.get(direction) or []):
            if isinstance(entry, dict):
                yield "%s.%s[%d]" % (path, direction, index), direction, entry


def port_rules(entry, path):
    """(path, port rule) for every ``toPorts`` item of an entry that is a dict."""
    for index, port_rule in enumerate(entry.get("toPorts") or []):
        if isinstance(port_rule, dict):
            yield "%s.toPorts[%d]" % (path, index), port_rule


def l7_types(block):
    """The L7 rule types present in a ``toPorts[].rules`` block, in L7_TYPES order."""
    if not isinstance(block, dict):
        return []
    return [kind for kind in L7_TYPES if block.get(kind)]


def cidrs(entry, field):
    """(index, text) of the CIDRs of one CIDR peer field (plain strings, or CIDR-set items with ``cidr``)."""
    for index, item in enumerate(entry.get(field) or []):
        text = item.get("cidr") if isinstance(item, dict) else item
        if isinstance(text, str):
            yield index, text


def network(text):
    """The ip_network of a CIDR text, host bits allowed; None when it is not one."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def allows_port_53(entry):
    """The entry allows port 53 (or every port, having no toPorts)."""
    to_ports = entry.get("toPorts")
    if not to_ports:
        return True
    for port_rule in to_ports if isinstance(to_ports, list) else []:
        for port in (port_rule or {}).get("ports") or []:
            if str(port.get("port")) in ("53", "0"):
                return True
    return False


def selects_kube_dns(entry):
    """The entry names the cluster DNS: kube-dns pods by label, or the kube-dns Service."""
    for selector in entry.get("toEndpoints") or []:
        labels = (selector or {}).get("matchLabels") or {}
        if labels.get("k8s-app") == "kube-dns" or labels.get("k8s:k8s-app") == "kube-dns":
            return True
    return any(((s or {}).get("k8sService") or {}).get("serviceName") == "kube-dns" for s in entry.get("toServices") or [])


def allows_dns(entry):
    """The entry lets pods query the cluster DNS (kube-dns on port 53)."""
    return selects_kube_dns(entry) and allows_port_53(entry)
