# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the workload checks of ``_cilium.limitations`` look things up in: label selectors, the cluster's
pod and node address ranges, and the CIDR peers of CiliumNetworkPolicies and NetworkPolicies.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import bisect
import ipaddress


def _strip_source(key):
    """CNP selector keys may carry a label source (``k8s:app``, ``any:app``); pod labels have none."""
    source, sep, rest = key.partition(":")
    return rest if sep and source in ("k8s", "any") else key


def selector_matches(selector, labels):
    """A Kubernetes LabelSelector (matchLabels, matchExpressions) against a label dict."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(_strip_source(key)) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, operator, values = _strip_source(expr.get("key", "")), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def pod_labels(pod):
    """The labels a Cilium endpoint selector sees: the pod's, plus its namespace and service account."""
    meta = pod.get("metadata") or {}
    labels = dict(meta.get("labels") or {})
    labels["io.kubernetes.pod.namespace"] = meta.get("namespace", "")
    labels["io.cilium.k8s.policy.serviceaccount"] = (pod.get("spec") or {}).get("serviceAccountName") or "default"
    return labels


def _ref(kind, obj):
    meta = obj.get("metadata") or {}
    return "%s %s/%s" % (kind, meta["namespace"], meta["name"]) if meta.get("namespace") else "%s %s" % (kind, meta.get("name"))


def _network(text):
    try:
        return ipaddress.ip_network(text, strict=False)
    except (TypeError, ValueError):
        return None


class Addresses(object):
    """Pod and node addresses of the cluster: node pod CIDRs, pod IPs, node IPs (sorted integers)."""

    def __init__(self):
        self.pod_ranges, self._pod_ips, self._node_ips = [], [], []
        self.node_names = {}

    def add_node(self, node):
        for cidr in (node.get("spec") or {}).get("podCIDRs") or [(node.get("spec") or {}).get("podCIDR")]:
            network = _network(cidr)
            if network is not None and network.version == 4:
                self.pod_ranges.append(network)
        for address in (node.get("status") or {}).get("addresses") or []:
            if address.get("type") == "InternalIP":
                try:
                    ip = ipaddress.ip_address(address.get("address"))
                except ValueError:
                    continue
                if ip.version == 4:
                    self._node_ips.append(int(ip))
                    self.node_names[int(ip)] = (node.get("metadata") or {}).get("name")

    def add_pod_ip(self, text):
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return
        if ip.version == 4:
            self._pod_ips.append(int(ip))

    def freeze(self):
        self._pod_ips.sort()
        self._node_ips.sort()
        self.pod_ranges = sorted(set(self.pod_ranges))

    @staticmethod
    def _first_in(sorted_ips, network, excepted):
        low, high = int(network.network_address), int(network.broadcast_address)
        index = bisect.bisect_left(sorted_ips, low)
        while index < len(sorted_ips) and sorted_ips[index] <= high:
            ip = ipaddress.ip_address(sorted_ips[index])
            if not any(ip in block for block in excepted):
                return ip
            index += 1
        return None

    def covered(self, cidr, excepted=(), nodes=True):
        """What of the pod and node addresses a CIDR rule covers: a list of short descriptions."""
        network = _network(cidr)
        if network is None or network.version != 4:
            return []
        excepted = [n for n in (_network(e) for e in excepted or []) if n is not None and n.version == 4]
        hits = []
        ranges = [r for r in self.pod_ranges if r.overlaps(network) and not any(r.subnet_of(e) for e in excepted)]
        if ranges:
            hits.append("pod range%s %s" % ("s" if len(ranges) > 1 else "", ", ".join(str(r) for r in ranges[:3])
                                            + (" and %d more" % (len(ranges) - 3) if len(ranges) > 3 else "")))
        else:
            pod_ip = self._first_in(self._pod_ips, network, excepted)
            if pod_ip is not None:
                hits.append("pod address %s" % pod_ip)
        node_ip = self._first_in(self._node_ips, network, excepted) if nodes else None
        if node_ip is not None:
            hits.append("node %s (%s)" % (self.node_names.get(int(node_ip)), node_ip))
        return hits


class SelectorIndex(object):
    """Service selectors (plain label maps) of one namespace, indexed by one of their pairs."""

    def __init__(self):
        self.by_pair = {}

    def add(self, selector):
        pair = sorted(selector.items())[0]
        self.by_pair.setdefault(pair, []).append(selector)

    def matches(self, labels):
        """True when some selector's pairs are all among ``labels``."""
        for pair in labels.items():
            for selector in self.by_pair.get(pair, ()):
                if all(labels.get(key) == value for key, value in selector.items()):
                    return True
        return False


def _rules(policy):
    spec = policy.get("spec")
    return ([spec] if isinstance(spec, dict) else []) + [s for s in policy.get("specs") or [] if isinstance(s, dict)]


def _cnp_cidrs(rule):
    """(direction, cidr, except) of every CIDR peer in a Cilium rule."""
    for direction, peer in (("ingress", "from"), ("ingressDeny", "from"), ("egress", "to"), ("egressDeny", "to")):
        for section in rule.get(direction) or []:
            for cidr in section.get(peer + "CIDR") or []:
                yield direction, cidr, []
            for entry in section.get(peer + "CIDRSet") or []:
                if entry.get("cidr"):
                    yield direction, entry["cidr"], entry.get("except") or []


def _np_cidrs(policy):
    spec = policy.get("spec") or {}
    for direction, peer in (("ingress", "from"), ("egress", "to")):
        for section in spec.get(direction) or []:
            for entry in section.get(peer) or []:
                block = entry.get("ipBlock") or {}
                if block.get("cidr"):
                    yield direction, block["cidr"], block.get("except") or []


class Policy(object):
    """What the checks need of one NetworkPolicy, CNP or CCNP (selectors and CIDR peers)."""

    def __init__(self, kind, obj):
        self.kind, self.ref = kind, _ref(kind, obj)
        self.namespace = (obj.get("metadata") or {}).get("namespace")
        if kind == "NetworkPolicy":
            spec = obj.get("spec") or {}
            self.selectors = [spec.get("podSelector") or {}]
            types = spec.get("policyTypes") or (["Ingress", "Egress"] if spec.get("egress") else ["Ingress"])
            self.ingress = "Ingress" in types
            self.cidrs = list(_np_cidrs(obj))
        else:  # CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy; nodeSelector rules are host policies
            rules = _rules(obj)
            self.selectors = [r["endpointSelector"] for r in rules if isinstance(r.get("endpointSelector"), dict)]
            self.ingress = any(r.get("ingress") or r.get("ingressDeny") for r in rules)
            self.cidrs = [cidr for rule in rules for cidr in _cnp_cidrs(rule)]

    def selects(self, pod, labels):
        if self.namespace and (pod.get("metadata") or {}).get("namespace") != self.namespace:
            return False
        return any(selector_matches(selector, labels) for selector in self.selectors)
