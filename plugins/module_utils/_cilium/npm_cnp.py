# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing the CiliumNetworkPolicies that keep a NetworkPolicy's behaviour under Cilium: its selectors, peers and
ports in Cilium's terms, and the policy object (labelled ``azcni.cilium/migration=npm-compat``, annotated with the
NetworkPolicy and the finding it answers). ``npm_analysis`` decides when one is needed.

Pure functions over plain JSON objects. Private to this collection.
"""

from __future__ import annotations

import hashlib

MIGRATION_LABEL = "azcni.cilium/migration"


def endpoint_selector(selector):
    """A NetworkPolicy label selector as a Cilium endpoint selector (same shape)."""
    result = {}
    if (selector or {}).get("matchLabels"):
        result["matchLabels"] = dict(selector["matchLabels"])
    if (selector or {}).get("matchExpressions"):
        result["matchExpressions"] = [dict(e) for e in selector["matchExpressions"]]
    return result


def peer_selector(peer, namespace):
    """A podSelector / namespaceSelector peer as one Cilium endpoint selector."""
    result = endpoint_selector(peer.get("podSelector"))
    if "namespaceSelector" not in peer:
        return result  # a CNP's endpoint selectors stay in the policy's namespace by default
    ns_selector = peer["namespaceSelector"] or {}
    labels = result.setdefault("matchLabels", {})
    for key, value in (ns_selector.get("matchLabels") or {}).items():
        labels["k8s:io.cilium.k8s.namespace.labels." + key] = value
    expressions = [dict(e, key="k8s:io.cilium.k8s.namespace.labels." + e["key"])
                   for e in ns_selector.get("matchExpressions") or []]
    # any namespace: without this the selector would stay in the policy's own namespace
    expressions.append({"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"})
    result["matchExpressions"] = result.get("matchExpressions", []) + expressions
    if not labels:
        del result["matchLabels"]
    del namespace
    return result


def namespaces_selector(namespaces):
    """An endpoint selector for the pods of any of these namespaces."""
    return {"matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace", "operator": "In",
                                  "values": sorted(set(namespaces))}]}


def port_rules(ports, numbers=None):
    """NetworkPolicy ports as Cilium toPorts; ``numbers`` maps a named port to its number(s)."""
    entries = []
    for port in ports or []:
        protocol = port.get("protocol") or "TCP"
        value = port.get("port")
        if value is None:
            entries.append({"port": "0", "protocol": protocol})
            continue
        for number in (numbers or {}).get(value, [value]) if isinstance(value, str) else [value]:
            entry = {"port": str(number), "protocol": protocol}
            if port.get("endPort") and not isinstance(value, str):
                entry["endPort"] = int(port["endPort"])
            entries.append(entry)
    return [{"ports": entries}] if entries else []


def suggested(policy, case, index, spec, description):
    """The suggested CNP for one finding of a NetworkPolicy: named after it, in its namespace, selecting its pods."""
    meta = policy.get("metadata") or {}
    name = "%s-%s-%d" % (meta.get("name", "policy"), case, index)
    if len(name) > 63:
        name = name[:54].rstrip("-.") + "-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    body = {"endpointSelector": endpoint_selector((policy.get("spec") or {}).get("podSelector"))}
    body.update(spec)
    body["description"] = description
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
            "metadata": {"name": name, "namespace": meta.get("namespace", "default"),
                         "labels": {MIGRATION_LABEL: "npm-compat"},
                         "annotations": {"azcni.cilium/network-policy": meta.get("name", ""),
                                         "azcni.cilium/finding": case}},
            "spec": body}


def peers(rule, peers_key, side, namespace):
    """A NetworkPolicy rule's peers as CNP peer rules (``side``: from | to); no peers means every source/destination."""
    given = rule.get(peers_key)
    if not given:
        return [{}]  # every source / destination
    result = []
    for peer in given:
        if "ipBlock" in peer:
            block = peer["ipBlock"]
            result.append({side + "CIDRSet": [dict({"cidr": block["cidr"]},
                                                   **({"except": list(block["except"])} if block.get("except") else {}))]})
        else:
            result.append({side + "Endpoints": [peer_selector(peer, namespace)]})
    return result
