# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes NetworkPolicies whose meaning changes when NPM (or Calico) gives way to Cilium.

The five cases of AKS's "Migrate from NPM to Cilium network policy" guide, each found with the
rule's path and the reason, and where one exists a CiliumNetworkPolicy that keeps today's behaviour:

- ``ipblock-cluster-address``: an ``ipBlock`` over pod or node addresses no longer selects them
  (Cilium's CIDR rules only match endpoints it does not manage); pods are selected by namespace
  instead, nodes with the ``host`` / ``remote-node`` entities;
- ``named-port``: a port given by name (cilium/cilium#30003); the CNP uses the number(s) the
  selected pods declare under that name;
- ``end-port``: ``endPort`` needs Cilium 1.17 (Kubernetes 1.32 on AKS); no CNP, the rule must list
  its ports or wait for the newer Kubernetes;
- ``local-node-egress``: NPM let pods reach their own node whatever the egress rules; Cilium does
  not: the CNP allows ``toEntities: [host]``;
- ``ingress-external-traffic``: ingress rules now also filter NodePort / LoadBalancer traffic of
  ``externalTrafficPolicy: Cluster`` services (it arrives from another node as ``remote-node``, or as
  ``world``); the CNP allows it on the service's target ports.

Pure functions over plain JSON objects; no API calls. The suggested policies are written by ``npm_cnp``. Private to
this collection.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.azcni.cilium.plugins.module_utils._cilium import npm_cnp as cnp
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.disruption import selector_matches

POD_LABELS_IGNORED = ("pod-template-hash", "controller-revision-hash", "pod-template-generation")
IDENTITY_LIMIT = 65535
END_PORT_CILIUM = (1, 17)


def _net(text):
    try:
        return ipaddress.ip_network(text, strict=False)
    except (TypeError, ValueError):
        return None


def _ip(text):
    try:
        return ipaddress.ip_address(text)
    except (TypeError, ValueError):
        return None


def _version(text):
    parts = []
    for piece in str(text or "").lstrip("v").split("-", 1)[0].split(".")[:3]:
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts) or None


def _name(obj):
    meta = obj.get("metadata") or {}
    return "%s/%s" % (meta.get("namespace", ""), meta.get("name", ""))


class Cluster(object):
    """The in-cluster facts the analysis needs, indexed once."""

    def __init__(self, pods=(), namespaces=(), nodes=(), services=(), pod_cidrs=()):
        self.pods = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        self.namespace_labels = dict(((n.get("metadata") or {}).get("name"), (n.get("metadata") or {}).get("labels") or {})
                                     for n in namespaces)
        self.nodes = list(nodes)
        self.services = list(services)
        self.node_ips = {}
        for node in self.nodes:
            for address in (node.get("status") or {}).get("addresses") or []:
                if address.get("type") == "InternalIP" and _ip(address.get("address")):
                    self.node_ips[address["address"]] = node["metadata"]["name"]
        cidrs = [_net(c) for c in pod_cidrs]
        for node in self.nodes:
            cidrs += [_net(c) for c in (node.get("spec") or {}).get("podCIDRs") or []]
        self.pod_cidrs = [c for c in cidrs if c is not None]

    def pods_in(self, namespace, selector):
        return [p for p in self.pods if p["metadata"].get("namespace") == namespace
                and selector_matches(selector, p["metadata"].get("labels"))]

    def peer_pods(self, peer, namespace):
        """Pods a NetworkPolicyPeer with podSelector / namespaceSelector selects."""
        if "podSelector" not in peer and "namespaceSelector" not in peer:
            return []
        pod_selector = peer.get("podSelector", {})
        if "namespaceSelector" in peer:
            namespaces = [ns for ns, labels in self.namespace_labels.items()
                          if selector_matches(peer["namespaceSelector"], labels)]
        else:
            namespaces = [namespace]
        return [p for ns in namespaces for p in self.pods_in(ns, pod_selector)]


# --- the five cases ---------------------------------------------------------------------------------

def _directions(spec):
    types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))
    for direction, key, peers in (("Ingress", "ingress", "from"), ("Egress", "egress", "to")):
        if direction in types:
            yield direction, key, peers


def _finding(case, policy, path, reason, suggestion=None):
    meta = policy.get("metadata") or {}
    return {"id": case, "policy": _name(policy), "namespace": meta.get("namespace"), "name": meta.get("name"),
            "path": path, "reason": reason, "object": "networkpolicy/%s" % _name(policy),
            "suggested_policy": (suggestion or {}).get("metadata", {}).get("name")}


def _ipblock_findings(policy, cluster, out):
    spec, namespace = policy.get("spec") or {}, policy["metadata"].get("namespace")
    for direction, key, peers_key in _directions(spec):
        for i, rule in enumerate(spec.get(key) or []):
            for j, peer in enumerate(rule.get(peers_key) or []):
                block = peer.get("ipBlock")
                cidr = _net((block or {}).get("cidr"))
                if cidr is None:
                    continue
                excepted = [_net(e) for e in block.get("except") or []]

                def inside(ip, cidr=cidr, excepted=excepted):
                    address = _ip(ip)
                    return address is not None and address.version == cidr.version and address in cidr and \
                        not any(e is not None and e.version == address.version and address in e for e in excepted)
                pods = [p for p in cluster.pods if inside((p.get("status") or {}).get("podIP"))
                        and not (p.get("spec") or {}).get("hostNetwork")]
                nodes = sorted(n for ip, n in cluster.node_ips.items() if inside(ip))
                ranges = [str(c) for c in cluster.pod_cidrs if c.version == cidr.version and c.overlaps(cidr)]
                if not (pods or nodes or ranges):
                    continue
                covered = []
                if pods:
                    covered.append("%d pod address(es) in namespace(s) %s" % (
                        len(pods), ", ".join(sorted({p["metadata"]["namespace"] for p in pods}))))
                elif ranges:
                    covered.append("the pod range(s) %s" % ", ".join(sorted(set(ranges))))
                if nodes:
                    covered.append("the address(es) of node(s) %s" % ", ".join(nodes))
                path = "spec.%s[%d].%s[%d].ipBlock" % (key, i, peers_key, j)
                reason = ("ipBlock %s covers %s; under Cilium an ipBlock no longer selects pods or nodes (it matches only "
                          "addresses outside the cluster), so this %s rule stops allowing that traffic"
                          % (cidr, " and ".join(covered), direction.lower()))
                peers_cnp = []
                side = "from" if direction == "Ingress" else "to"
                if pods:
                    peers_cnp.append({side + "Endpoints": [cnp.namespaces_selector(p["metadata"]["namespace"] for p in pods)]})
                if nodes:
                    peers_cnp.append({side + "Entities": ["host", "remote-node"]})
                rules = [dict(peer_rule, toPorts=cnp.port_rules(rule.get("ports"))) if rule.get("ports") else peer_rule
                         for peer_rule in peers_cnp]
                suggestion = None
                if rules:
                    suggestion = cnp.suggested(
                        policy, "ipblock", len(out["suggested"]), {key: rules},
                        "Keeps %s %s of NetworkPolicy %s: %s now selected by identity"
                        % (path, direction.lower(), policy["metadata"]["name"], " and ".join(covered)))
                    out["suggested"].append(suggestion)
                else:
                    reason += "; no pod or node addresses are in that range today, so nothing to translate yet"
                out["findings"].append(_finding("ipblock-cluster-address", policy, path, reason, suggestion))
    del namespace


def _port_numbers(pods, name):
    numbers = set()
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            for port in container.get("ports") or []:
                if port.get("name") == name and port.get("containerPort"):
                    numbers.add(int(port["containerPort"]))
    return sorted(numbers)


def _named_port_findings(policy, cluster, out):
    spec, namespace = policy.get("spec") or {}, policy["metadata"]["namespace"]
    selected = cluster.pods_in(namespace, spec.get("podSelector", {}))
    for direction, key, peers_key in _directions(spec):
        for i, rule in enumerate(spec.get(key) or []):
            for k, port in enumerate(rule.get("ports") or []):
                if not isinstance(port.get("port"), str):
                    continue
                name = port["port"]
                if direction == "Ingress":
                    owners = selected
                else:
                    owners = [p for peer in rule.get(peers_key) or [{"podSelector": {}, "namespaceSelector": {}}]
                              for p in cluster.peer_pods(peer, namespace)]
                numbers = _port_numbers(owners, name)
                path = "spec.%s[%d].ports[%d].port" % (key, i, k)
                reason = ("named port %r: Cilium resolves named ports in NetworkPolicies differently from NPM "
                          "(cilium/cilium#30003) and the rule can stop matching" % name)
                suggestion = None
                if numbers:
                    side = "from" if direction == "Ingress" else "to"
                    rules = [dict(peer, toPorts=cnp.port_rules([port], {name: numbers}))
                             for peer in cnp.peers(rule, peers_key, side, namespace)]
                    suggestion = cnp.suggested(
                        policy, "named-port", len(out["suggested"]), {key: rules},
                        "Keeps %s of NetworkPolicy %s with the number(s) %s that port %r has today"
                        % (path, policy["metadata"]["name"], ", ".join(map(str, numbers)), name))
                    out["suggested"].append(suggestion)
                    reason += "; today %r is port %s on the %s pods" % (
                        name, "/".join(map(str, numbers)), "selected" if direction == "Ingress" else "destination")
                else:
                    reason += "; no running pod declares a port named %r, so there is no number to use" % name
                out["findings"].append(_finding("named-port", policy, path, reason, suggestion))


def _end_port_findings(policy, cilium_version, out):
    version = _version(cilium_version)
    if version is not None and version[:2] >= END_PORT_CILIUM:
        return
    spec = policy.get("spec") or {}
    for _direction, key, _peers in _directions(spec):
        for i, rule in enumerate(spec.get(key) or []):
            for k, port in enumerate(rule.get("ports") or []):
                if port.get("endPort"):
                    out["findings"].append(_finding(
                        "end-port", policy, "spec.%s[%d].ports[%d].endPort" % (key, i, k),
                        "endPort (%s-%s) needs Cilium 1.17 or later, and the cluster gets Cilium %s: the range is not "
                        "enforced as a range. List the ports explicitly, or upgrade Kubernetes to 1.32+ first (AKS then "
                        "installs Cilium 1.17)" % (port.get("port"), port["endPort"], cilium_version or "unknown")))


def _allows_everything(rules, peers_key):
    return any(not rule.get(peers_key) and not rule.get("ports") for rule in rules or [])


def _local_node_findings(policy, cluster, out):
    spec = policy.get("spec") or {}
    if not any(direction == "Egress" for direction, _k, _p in _directions(spec)):
        return
    if _allows_everything(spec.get("egress"), "to"):
        return
    selected = cluster.pods_in(policy["metadata"]["namespace"], spec.get("podSelector", {}))
    if not selected:
        return
    suggestion = cnp.suggested(
        policy, "local-node", len(out["suggested"]), {"egress": [{"toEntities": ["host"]}]},
        "Keeps the egress to the pods' own node that NPM allowed implicitly under NetworkPolicy %s"
        % policy["metadata"]["name"])
    out["suggested"].append(suggestion)
    out["findings"].append(_finding(
        "local-node-egress", policy, "spec.egress",
        "restricts egress of %d pod(s); NPM always let pods reach their own node (kubelet, node-local services), Cilium "
        "enforces the egress rules on that traffic too" % len(selected), suggestion))


def _service_ports(service, pods):
    numbers = []
    for port in (service.get("spec") or {}).get("ports") or []:
        target = port.get("targetPort", port.get("port"))
        protocol = port.get("protocol") or "TCP"
        values = _port_numbers(pods, target) if isinstance(target, str) else [target]
        numbers += [{"port": str(v), "protocol": protocol} for v in values]
    return numbers


def _external_traffic_findings(policy, cluster, out):
    spec, namespace = policy.get("spec") or {}, policy["metadata"]["namespace"]
    if not any(direction == "Ingress" for direction, _k, _p in _directions(spec)):
        return
    if _allows_everything(spec.get("ingress"), "from"):
        return
    selected = cluster.pods_in(namespace, spec.get("podSelector", {}))
    names = set(p["metadata"]["name"] for p in selected)
    for service in cluster.services:
        svc_spec = service.get("spec") or {}
        if service["metadata"].get("namespace") != namespace or svc_spec.get("type") not in ("NodePort", "LoadBalancer"):
            continue
        if (svc_spec.get("externalTrafficPolicy") or "Cluster") != "Cluster" or not svc_spec.get("selector"):
            continue
        backends = [p for p in cluster.pods_in(namespace, {"matchLabels": svc_spec["selector"]}) if p["metadata"]["name"] in names]
        if not backends:
            continue
        ports = _service_ports(service, backends)
        rule = {"fromEntities": ["world", "remote-node"]}
        if ports:
            rule["toPorts"] = [{"ports": ports}]
        suggestion = cnp.suggested(
            policy, "external", len(out["suggested"]), {"ingress": [rule]},
            "Keeps %s traffic of service %s (externalTrafficPolicy: Cluster) reaching the pods of NetworkPolicy %s"
            % (svc_spec["type"], service["metadata"]["name"], policy["metadata"]["name"]))
        out["suggested"].append(suggestion)
        out["findings"].append(_finding(
            "ingress-external-traffic", policy, "spec.ingress",
            "selects %d backend pod(s) of %s service %s with externalTrafficPolicy: Cluster; under Cilium this policy's "
            "ingress rules also apply to that service's NodePort/LoadBalancer traffic (it arrives from another node as "
            "remote-node, or as world), which they do not allow"
            % (len(backends), svc_spec["type"], service["metadata"]["name"]), suggestion))


def analyze(policies, cluster, cilium_version=None):
    """(findings, suggested CiliumNetworkPolicies) for the NetworkPolicies given."""
    out = {"findings": [], "suggested": []}
    for policy in sorted(policies, key=_name):
        _ipblock_findings(policy, cluster, out)
        _named_port_findings(policy, cluster, out)
        _end_port_findings(policy, cilium_version, out)
        _local_node_findings(policy, cluster, out)
        _external_traffic_findings(policy, cluster, out)
    return out["findings"], out["suggested"]


def identity_estimate(cluster):
    """How many Cilium security identities the pods would take (one per namespace + label set + service account)."""
    keys = set()
    for pod in cluster.pods:
        if (pod.get("spec") or {}).get("hostNetwork"):
            continue
        labels = tuple(sorted((k, v) for k, v in (pod["metadata"].get("labels") or {}).items()
                              if k not in POD_LABELS_IGNORED))
        keys.add((pod["metadata"].get("namespace"), (pod.get("spec") or {}).get("serviceAccountName", "default"), labels))
    return len(keys)
