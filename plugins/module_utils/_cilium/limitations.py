# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The known limitations of Azure CNI Powered by Cilium, by Cilium version, checked on live workloads.

``LIMITATIONS`` is the table: which Cilium versions each limitation applies to, and its source.
``check_workloads`` reads the cluster in pages (nodes, policies, Services, pods, identities; 500
objects a page, each page dropped once folded in, so memory grows with the findings and the
addresses, not with the size of the objects) and returns one finding per affected object for the
rows that apply to the Cilium version the cluster runs.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.azcni.cilium.plugins.module_utils._cilium.workload_index import Addresses, Policy, SelectorIndex, _ref, pod_labels
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.resources import path

AKS_DOC = ("AKS docs, Azure CNI Powered by Cilium, Limitations "
           "(learn.microsoft.com/azure/aks/azure-cni-powered-by-cilium#limitations)")
IDENTITY_LIMIT = 65535
PAGE = 500
MAX_PER_CHECK = 100  # findings of one kind beyond this are summed up in one last finding

Limitation = namedtuple("Limitation", "id severity since before summary source")

# since / before: the Cilium versions the limitation applies to, [since, before); None means unbounded.
LIMITATIONS = (
    Limitation("service-port-protocols", "warning", None, (1, 17, 0),
               "Several Services cannot share a frontend port (load balancer IP, external IP, host port) with "
               "different protocols (TCP and UDP): Cilium maps the frontend to one of them",
               AKS_DOC + ": 'For Cilium versions 1.16 or earlier' (cilium/cilium#14287); protocol differentiation "
               "landed in Cilium 1.17 (cilium/cilium#9207, PR #33434)"),
    Limitation("hostnetwork-policy", "warning", None, None,
               "Network policies are not applied to pods with hostNetwork: true (they use the host identity)",
               AKS_DOC),
    Limitation("cidr-pod-node", "warning", None, None,
               "ipBlock / fromCIDR / toCIDR / CIDRSet rules cannot allow or deny pod or node addresses: select pods "
               "with pod/namespace selectors (CNP: fromEntities/toEntities host, remote-node for nodes)",
               AKS_DOC + " and FAQ 'Why is traffic being blocked when the NetworkPolicy has an ipBlock'"),
    Limitation("identity-limit", "info", None, None,
               "At most 65,535 Cilium identities; exclude high-churn labels (e.g. spark-app-selector) from identities "
               "with the cilium-config labels key, the one setting AKS lets users change",
               AKS_DOC + " and FAQ 'Can the Cilium ConfigMap be modified'"),
    Limitation("internal-traffic-policy-local", "warning", None, (1, 13, 0),
               "Services with internalTrafficPolicy: Local are not supported",
               "cilium/cilium#17796, fixed by PR #21871 (Cilium 1.13); removed from the AKS docs on 2024-09-03 "
               "(MicrosoftDocs/azure-aks-docs 69091c84)"),
    Limitation("service-loopback-policy", "info", None, (1, 17, 0),
               "A pod reaching itself through its Service's ClusterIP can have its replies dropped by ingress policy",
               "cilium/cilium#19406; listed by the AKS docs until the 2025-06-12 revision (13435a1e) that limited "
               "#14287 to Cilium 1.16 or earlier (the version bound is inferred from that revision)"),
    Limitation("windows-nodes", "error", None, None,
               "Azure CNI Powered by Cilium is available for Linux only", AKS_DOC),
)
SEVERITY_ORDER = dict(error=0, warning=1, info=2)


def parse_version(text):
    """``"1.16.16"`` -> (1, 16, 16); None when unknown."""
    try:
        parts = [int(part) for part in (text or "").split("-")[0].split(".")[:3]]
    except ValueError:
        return None
    return tuple(parts + [0] * (3 - len(parts))) if parts else None


def applies(row, version):
    """True when the row applies to this Cilium version (an unknown version: every row applies)."""
    if version is None:
        return True
    return (row.since is None or version >= row.since) and (row.before is None or version < row.before)


def applicable(version_text):
    version = parse_version(version_text)
    return [row for row in LIMITATIONS if applies(row, version)]


# --- the checks -----------------------------------------------------------------------------------
class Findings(object):
    """Findings of the applicable rows, at most MAX_PER_CHECK per row plus a count of the rest."""

    def __init__(self, rows):
        self.rows = dict((row.id, row) for row in rows)
        self.items, self.dropped = [], {}

    def wants(self, row_id):
        return row_id in self.rows

    def add(self, row_id, obj, message, severity=None, **extra):
        if row_id not in self.rows:
            return
        if sum(1 for item in self.items if item["id"] == row_id) >= MAX_PER_CHECK:
            self.dropped[row_id] = self.dropped.get(row_id, 0) + 1
            return
        row = self.rows[row_id]
        item = dict(id=row_id, severity=severity or row.severity, object=obj, message=message, source=row.source)
        item.update(extra)
        self.items.append(item)

    def result(self):
        for row_id, count in self.dropped.items():
            row = self.rows[row_id]
            self.items.append(dict(id=row_id, severity=row.severity, object="(%d more)" % count, more=True,
                                   message="%d more objects affected by %s, not listed" % (count, row_id), source=row.source))
        return sorted(self.items, key=lambda f: (SEVERITY_ORDER.get(f["severity"], 3), f["id"], bool(f.get("more")), f["object"]))


def pages(client, collection, limit=None):
    """The items of a collection, one page at a time (a page is dropped once the caller moved on)."""
    token = None
    while True:
        page = client.request("GET", collection, dict(limit=limit or PAGE, **{"continue": token})) or {}
        yield from page.get("items") or []
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return


class Frontends(object):
    """frontend (address, port) -> protocol -> {(owner, target)}: who answers a shared address:port."""

    def __init__(self):
        self.table = {}

    def add(self, frontend, protocol, owner, target):
        self.table.setdefault(frontend, {}).setdefault(protocol or "TCP", set()).add((owner, str(target)))

    def conflicts(self):
        """(frontend, {protocol: owners}) where several protocols lead to different backends."""
        for frontend, by_protocol in sorted(self.table.items(), key=lambda kv: str(kv[0])):
            if len(by_protocol) < 2:
                continue
            targets = [frozenset(entries) for entries in by_protocol.values()]
            if len(set(targets)) > 1:
                yield frontend, dict((proto, sorted(owner for owner, _t in entries)) for proto, entries in by_protocol.items())


def _service_frontends(service, frontends):
    spec = service.get("spec") or {}
    ref = _ref("Service", service)
    addresses = list(spec.get("externalIPs") or [])
    if spec.get("type") == "LoadBalancer":
        addresses += [spec.get("loadBalancerIP")] if spec.get("loadBalancerIP") else []
        addresses += [i.get("ip") for i in ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
                      if i.get("ip")]
    for address in sorted(set(addresses)):
        for port in spec.get("ports") or []:
            frontends.add((address, port.get("port")), port.get("protocol"), ref, port.get("targetPort", port.get("port")))


def _pod_host_ports(pod, frontends):
    node = (pod.get("spec") or {}).get("nodeName") or "(unscheduled)"
    ref = _ref("Pod", pod)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                frontends.add(("%s %s" % (node, port.get("hostIP") or "0.0.0.0"), port["hostPort"]), port.get("protocol"),
                              ref, port.get("containerPort"))


def _frontend_text(frontend):
    address, port = frontend
    if " " in address:  # a host port: "<node> <hostIP>"
        node, host_ip = address.split(" ", 1)
        return "host port %s:%s on node %s" % (host_ip, port, node)
    return "%s:%s" % (address, port)


def _label_key(key):
    return key.split(":", 1)[1] if ":" in key else key


UNEXCLUDABLE = ("io.kubernetes.pod.namespace", "io.cilium.k8s.policy.")


def identity_summary(identities, top=3):
    """Identity count and the label keys whose values split identities the most: [(key, values, saved)]."""
    label_sets, values = [], {}
    for identity in identities:
        labels = identity.get("security-labels") or {}
        label_sets.append(tuple(sorted(labels.items())))
        for key, value in labels.items():
            values.setdefault(key, set()).add(value)
    candidates = sorted((k for k in values if not _label_key(k).startswith(UNEXCLUDABLE)),
                        key=lambda k: (-len(values[k]), k))[:top]
    ranked = []
    for key in candidates:
        merged = len(set(tuple(item for item in labels if item[0] != key) for labels in label_sets))
        if len(label_sets) - merged > 0:
            ranked.append((_label_key(key), len(values[key]), len(label_sets) - merged))
    ranked.sort(key=lambda entry: (-entry[2], entry[0]))
    return len(label_sets), ranked


def check_workloads(client, version, namespace="kube-system", config_map="cilium-config"):
    """The findings (list of dicts: id, severity, object, message, source) for this cluster's Cilium version."""
    config = (client.get(path("ConfigMap", namespace, config_map)) or {}).get("data") or {}
    return evaluate(client, version, config)


def evaluate(client, version, config):
    """``check_workloads`` with the cilium-config data already read."""
    findings = Findings(applicable(version))
    addresses = Addresses()
    for node in pages(client, path("Node")):
        addresses.add_node(node)
        labels = (node.get("metadata") or {}).get("labels") or {}
        if labels.get("kubernetes.io/os", "linux") != "linux":
            findings.add("windows-nodes", _ref("Node", node), "node runs %s: Cilium does not manage it"
                         % labels.get("kubernetes.io/os"))
    policies = [Policy("NetworkPolicy", p) for p in pages(client, path("NetworkPolicy"))]
    policies += [Policy("CiliumNetworkPolicy", p) for p in pages(client, path("CiliumNetworkPolicy"))]
    policies += [Policy("CiliumClusterwideNetworkPolicy", p)
                 for p in pages(client, path("CiliumClusterwideNetworkPolicy"))]
    frontends, backed = Frontends(), {}  # namespace -> SelectorIndex of its Services' selectors
    for service in pages(client, path("Service")):
        spec = service.get("spec") or {}
        _service_frontends(service, frontends)
        if spec.get("internalTrafficPolicy") == "Local":
            findings.add("internal-traffic-policy-local", _ref("Service", service),
                         "internalTrafficPolicy: Local is not supported by this Cilium version")
        if spec.get("selector") and findings.wants("service-loopback-policy"):
            backed.setdefault(service["metadata"].get("namespace"), SelectorIndex()).add(spec["selector"])
    hostnetwork, loopback, by_namespace = {}, {}, {}
    for policy in policies:
        by_namespace.setdefault(policy.namespace, []).append(policy)
    for pod in pages(client, path("Pod")):
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        _pod_host_ports(pod, frontends)
        if spec.get("hostNetwork"):
            labels = pod_labels(pod)
            for policy in policies:
                if policy.selects(pod, labels):
                    hostnetwork.setdefault(policy.ref, []).append(_ref("Pod", pod).split(" ", 1)[1])
            continue
        for ip in status.get("podIPs") or [{"ip": status.get("podIP")}]:
            if ip.get("ip"):
                addresses.add_pod_ip(ip["ip"])
        namespace = (pod.get("metadata") or {}).get("namespace")
        if namespace in backed and backed[namespace].matches((pod.get("metadata") or {}).get("labels") or {}):
            labels = pod_labels(pod)
            for policy in by_namespace.get(namespace, []) + by_namespace.get(None, []):
                if policy.ingress and policy.selects(pod, labels):
                    loopback[policy.ref] = loopback.get(policy.ref, 0) + 1
    addresses.freeze()
    for frontend, by_protocol in frontends.conflicts():
        owners = sorted(set(owner for names in by_protocol.values() for owner in names))
        message = "%s is shared across %s by %s: on Cilium %s only one of them gets the traffic" % (
            _frontend_text(frontend), "/".join(sorted(by_protocol)), ", ".join(owners), version or "(unknown version)")
        findings.add("service-port-protocols", owners[0], message, related=owners[1:])
    for ref, pods in sorted(hostnetwork.items()):
        shown = ", ".join(pods[:5]) + (" and %d more" % (len(pods) - 5) if len(pods) > 5 else "")
        findings.add("hostnetwork-policy", ref, "selects %d hostNetwork pod%s (%s): the policy does not apply to them"
                     % (len(pods), "" if len(pods) == 1 else "s", shown), related=["Pod " + p for p in pods[:20]])
    for ref, count in sorted(loopback.items()):
        findings.add("service-loopback-policy", ref, "has ingress rules on %d pod%s behind a Service: a pod calling its "
                     "own Service may lose the replies" % (count, "" if count == 1 else "s"))
    match_nodes = "nodes" in (config.get("policy-cidr-match-mode") or "").split()
    for policy in policies:
        for direction, cidr, excepted in policy.cidrs:
            hits = addresses.covered(cidr, excepted, nodes=not match_nodes)
            if hits:
                findings.add("cidr-pod-node", policy.ref, "%s CIDR %s covers %s: Cilium does not match pod or node "
                             "addresses by CIDR" % (direction, cidr, " and ".join(hits)))
    if findings.wants("identity-limit"):
        count, ranked = identity_summary(pages(client, path("CiliumIdentity")))
        share = 100.0 * count / IDENTITY_LIMIT
        severity = "error" if share >= 90 else "warning" if share >= 50 else "info"
        top = ", ".join("%s (%d values, %d identities)" % entry for entry in ranked) or "none"
        findings.add("identity-limit", "CiliumIdentity (cluster)",
                     "%d of %d identities in use (%.1f%%); label keys creating the most identities: %s"
                     % (count, IDENTITY_LIMIT, share, top), severity=severity, count=count,
                     top_labels=[dict(key=k, values=v, identities=i) for k, v, i in ranked])
    return findings.result()
