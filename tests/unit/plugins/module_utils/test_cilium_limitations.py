# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cilium_status check_workloads: the limitations table by Cilium version and each check, on a paged fake API."""

from __future__ import annotations

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._cilium import limitations as lim

NODES = [{"metadata": {"name": "aks-n-1", "labels": {"kubernetes.io/os": "linux"}},
          "spec": {"podCIDR": "192.168.0.0/24", "podCIDRs": ["192.168.0.0/24"]},
          "status": {"addresses": [{"type": "InternalIP", "address": "10.224.0.4"}]}},
         {"metadata": {"name": "aks-n-2", "labels": {"kubernetes.io/os": "linux"}},
          "spec": {"podCIDR": "192.168.1.0/24", "podCIDRs": ["192.168.1.0/24"]},
          "status": {"addresses": [{"type": "InternalIP", "address": "10.224.0.5"}]}}]


class PagedClient(object):
    """GET of collections from dicts, honouring limit/continue; counts the requests."""

    def __init__(self, collections, config=None):
        self.collections = collections
        self.config = config or {}
        self.requests = []

    def get(self, path):
        assert path == "/api/v1/namespaces/kube-system/configmaps/cilium-config"
        return {"data": self.config}

    def request(self, method, path, query=None):
        assert method == "GET"
        query = query or {}
        self.requests.append((path, query.get("limit"), query.get("continue")))
        items = self.collections.get(path, [])
        start = int(query.get("continue") or 0)
        limit = query.get("limit") or len(items)
        page = items[start:start + limit]
        token = str(start + limit) if start + limit < len(items) else None
        return {"items": page, "metadata": {"continue": token} if token else {}}


def service(name, protocol, port=53, address=None, namespace="default", **spec):
    body = {"metadata": {"name": name, "namespace": namespace},
            "spec": dict({"type": "LoadBalancer" if address else "ClusterIP", "selector": {"app": name},
                          "ports": [{"port": port, "protocol": protocol, "targetPort": port}]}, **spec)}
    if address:
        body["status"] = {"loadBalancer": {"ingress": [{"ip": address}]}}
    return body


def pod(name, labels, namespace="default", host_network=False, ip="192.168.0.10", ports=None):
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"hostNetwork": host_network, "nodeName": "aks-n-1",
                     "containers": [{"name": "c", "ports": ports or []}]},
            "status": {"podIP": "10.224.0.4" if host_network else ip}}


def cluster(config=None, **extra):
    collections = {"/api/v1/nodes": NODES, "/api/v1/services": [], "/api/v1/pods": [],
                   "/apis/networking.k8s.io/v1/networkpolicies": [], "/apis/cilium.io/v2/ciliumnetworkpolicies": [],
                   "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies": [], "/apis/cilium.io/v2/ciliumidentities": []}
    collections.update(extra)
    return PagedClient(collections, config)


def ids(findings):
    return sorted(set(f["id"] for f in findings))


def test_every_row_has_a_source_and_a_known_severity():
    assert len(set(row.id for row in lim.LIMITATIONS)) == len(lim.LIMITATIONS)
    for row in lim.LIMITATIONS:
        assert row.severity in ("error", "warning", "info") and row.summary and row.source
        assert "cilium/cilium#" in row.source or "AKS docs" in row.source


@pytest.mark.parametrize("version, present, absent", [
    ("1.16.16", {"service-port-protocols", "service-loopback-policy"}, {"internal-traffic-policy-local"}),
    ("1.17.9", set(), {"service-port-protocols", "service-loopback-policy"}),
    ("1.18.6", {"hostnetwork-policy", "cidr-pod-node", "identity-limit"}, {"service-port-protocols"}),
    ("1.12.9", {"internal-traffic-policy-local", "service-port-protocols"}, set()),
    (None, {"service-port-protocols", "internal-traffic-policy-local"}, set()),  # unknown version: all apply
])
def test_rows_by_cilium_version(version, present, absent):
    rows = set(row.id for row in lim.applicable(version))
    assert present <= rows and not absent & rows


def test_services_sharing_a_frontend_port_across_protocols():
    client = cluster(**{"/api/v1/services": [
        service("dns-tcp", "TCP", address="20.61.0.4"), service("dns-udp", "UDP", address="20.61.0.4"),
        service("web", "TCP", port=80, address="20.61.0.5"), service("web-udp", "UDP", port=81, address="20.61.0.5"),
        service("kube-dns", "UDP", namespace="kube-system", ports=[{"port": 53, "protocol": "UDP", "targetPort": 53},
                                                                   {"port": 53, "protocol": "TCP", "targetPort": 53}]),
    ]})
    found = [f for f in lim.check_workloads(client, "1.16.16") if f["id"] == "service-port-protocols"]
    assert len(found) == 1
    assert found[0]["object"] == "Service default/dns-tcp" and found[0]["related"] == ["Service default/dns-udp"]
    assert "20.61.0.4:53" in found[0]["message"] and "TCP/UDP" in found[0]["message"]
    assert not [f for f in lim.check_workloads(cluster(**client.collections), "1.17.9") if f["id"] == "service-port-protocols"]


def test_host_ports_of_different_pods_across_protocols():
    client = cluster(**{"/api/v1/pods": [
        pod("a", {"app": "a"}, ports=[{"containerPort": 53, "hostPort": 53, "protocol": "TCP"}]),
        pod("b", {"app": "b"}, ports=[{"containerPort": 5353, "hostPort": 53, "protocol": "UDP"}]),
        pod("dns", {"app": "dns"}, ports=[{"containerPort": 54, "hostPort": 54, "protocol": "TCP"},
                                          {"containerPort": 54, "hostPort": 54, "protocol": "UDP"}]),
    ]})
    found = [f for f in lim.check_workloads(client, "1.16.16") if f["id"] == "service-port-protocols"]
    assert [f["object"] for f in found] == ["Pod default/a"]
    assert "host port 0.0.0.0:53 on node aks-n-1" in found[0]["message"]


def test_hostnetwork_pods_selected_by_policies():
    client = cluster(**{
        "/api/v1/pods": [pod("agent", {"app": "agent"}, namespace="monitoring", host_network=True),
                         pod("web", {"app": "agent"}, namespace="monitoring")],
        "/apis/cilium.io/v2/ciliumnetworkpolicies": [
            {"metadata": {"name": "agent", "namespace": "monitoring"},
             "spec": {"endpointSelector": {"matchLabels": {"k8s:app": "agent"}}, "ingress": [{}]}},
            {"metadata": {"name": "elsewhere", "namespace": "default"},
             "spec": {"endpointSelector": {}, "ingress": [{}]}}],
        "/apis/networking.k8s.io/v1/networkpolicies": [
            {"metadata": {"name": "deny", "namespace": "monitoring"}, "spec": {"podSelector": {}}},
            {"metadata": {"name": "other", "namespace": "monitoring"},
             "spec": {"podSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["agent"]}]}}}],
        "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies": [
            {"metadata": {"name": "all"}, "spec": {"endpointSelector": {"matchExpressions": [
                {"key": "k8s:io.kubernetes.pod.namespace", "operator": "In", "values": ["monitoring"]}]}, "egress": [{}]}},
            {"metadata": {"name": "hosts"}, "spec": {"nodeSelector": {}, "ingress": [{}]}}],
    })
    found = dict((f["object"], f) for f in lim.check_workloads(client, "1.18.6") if f["id"] == "hostnetwork-policy")
    assert sorted(found) == ["CiliumClusterwideNetworkPolicy all", "CiliumNetworkPolicy monitoring/agent",
                             "NetworkPolicy monitoring/deny"]
    assert "monitoring/agent" in found["CiliumNetworkPolicy monitoring/agent"]["message"]
    assert found["NetworkPolicy monitoring/deny"]["related"] == ["Pod monitoring/agent"]


def test_cidr_rules_over_pod_and_node_addresses():
    client = cluster(**{
        "/api/v1/pods": [pod("vnet-pod", {"app": "x"}, ip="10.225.0.7")],
        "/apis/networking.k8s.io/v1/networkpolicies": [
            {"metadata": {"name": "nodes", "namespace": "default"},
             "spec": {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "10.224.0.0/16"}}]}],
                      "policyTypes": ["Egress"]}},
            {"metadata": {"name": "internet", "namespace": "default"},
             "spec": {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                                                         "except": ["10.0.0.0/8", "192.168.0.0/16"]}}]}]}},
            {"metadata": {"name": "outside", "namespace": "default"},
             "spec": {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]}]}}],
        "/apis/cilium.io/v2/ciliumnetworkpolicies": [
            {"metadata": {"name": "pods", "namespace": "default"},
             "specs": [{"endpointSelector": {}, "ingress": [{"fromCIDRSet": [{"cidr": "192.168.1.0/25"}]}]},
                       {"endpointSelector": {}, "egressDeny": [{"toCIDR": ["10.225.0.0/24"]}]}]}],
    })
    found = [f for f in lim.check_workloads(client, "1.17.9") if f["id"] == "cidr-pod-node"]
    by_object = dict((f["object"], [g["message"] for g in found if g["object"] == f["object"]]) for f in found)
    assert sorted(by_object) == ["CiliumNetworkPolicy default/pods", "NetworkPolicy default/nodes"]
    assert "node aks-n-1 (10.224.0.4)" in by_object["NetworkPolicy default/nodes"][0]
    cnp = " ".join(by_object["CiliumNetworkPolicy default/pods"])
    assert "pod range 192.168.1.0/24" in cnp and "pod address 10.225.0.7" in cnp and "egressDeny" in cnp
    # policy-cidr-match-mode: nodes lets CIDR rules select nodes (pod addresses stay out of reach)
    relaxed = lim.check_workloads(cluster({"policy-cidr-match-mode": "nodes"}, **client.collections), "1.17.9")
    assert "NetworkPolicy default/nodes" not in [f["object"] for f in relaxed if f["id"] == "cidr-pod-node"]


def test_identity_count_and_the_label_keys_that_split_them():
    identities = [{"metadata": {"name": str(300 + i)},
                   "security-labels": {"k8s:app": "spark", "k8s:spark-app-selector": "run-%d" % i,
                                       "k8s:io.kubernetes.pod.namespace": "spark"}} for i in range(40)]
    identities += [{"metadata": {"name": "1000"}, "security-labels": {"k8s:app": "web", "k8s:io.kubernetes.pod.namespace": "a"}},
                   {"metadata": {"name": "1001"}, "security-labels": {"k8s:app": "web", "k8s:io.kubernetes.pod.namespace": "b"}}]
    client = cluster(**{"/apis/cilium.io/v2/ciliumidentities": identities})
    found = [f for f in lim.check_workloads(client, "1.16.16") if f["id"] == "identity-limit"]
    assert len(found) == 1 and found[0]["count"] == 42 and found[0]["severity"] == "info"
    assert found[0]["top_labels"][0] == {"key": "spark-app-selector", "values": 40, "identities": 39}
    assert all(t["key"] != "io.kubernetes.pod.namespace" for t in found[0]["top_labels"])
    assert "42 of 65535" in found[0]["message"]
    pages = [r for r in client.requests if r[0] == "/apis/cilium.io/v2/ciliumidentities"]
    assert len(pages) == 1 and pages[0][1] == lim.PAGE


def test_pages_are_followed_and_findings_are_capped(monkeypatch):
    monkeypatch.setattr(lim, "PAGE", 7)
    policies = [{"metadata": {"name": "p%03d" % i, "namespace": "default"},
                 "spec": {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "10.224.0.4/32"}}]}]}}
                for i in range(lim.MAX_PER_CHECK + 5)]
    pods = [pod("p%d" % i, {"app": "x"}, ip="192.168.0.%d" % (i + 2)) for i in range(30)]
    client = cluster(**{"/apis/networking.k8s.io/v1/networkpolicies": policies, "/api/v1/pods": pods})
    found = [f for f in lim.check_workloads(client, "1.17.9") if f["id"] == "cidr-pod-node"]
    assert len(found) == lim.MAX_PER_CHECK + 1 and found[-1]["object"] == "(5 more)"
    pod_pages = [r for r in client.requests if r[0] == "/api/v1/pods"]
    assert len(pod_pages) == 5 and all(limit == 7 for _p, limit, _c in pod_pages)


def test_windows_nodes_and_internal_traffic_policy_on_old_cilium():
    windows = {"metadata": {"name": "akswin000000", "labels": {"kubernetes.io/os": "windows"}}, "spec": {}, "status": {}}
    client = cluster(**{"/api/v1/nodes": NODES + [windows],
                        "/api/v1/services": [service("local", "TCP", port=80, internalTrafficPolicy="Local")]})
    found = lim.check_workloads(client, "1.12.0")
    assert [f["object"] for f in found if f["id"] == "windows-nodes"] == ["Node akswin000000"]
    assert [f["object"] for f in found if f["id"] == "internal-traffic-policy-local"] == ["Service default/local"]
    assert found[0]["severity"] == "error"  # sorted: errors first
    assert "internal-traffic-policy-local" not in ids(lim.check_workloads(cluster(**client.collections), "1.14.20"))


def test_ingress_policy_on_pods_behind_a_service_before_117():
    client = cluster(**{
        "/api/v1/services": [service("web", "TCP", port=80)],
        "/api/v1/pods": [pod("web-1", {"web": "x", "app": "web"}), pod("web-2", {"app": "web"}), pod("lone", {"app": "lone"})],
        "/apis/cilium.io/v2/ciliumnetworkpolicies": [
            {"metadata": {"name": "web-in", "namespace": "default"},
             "spec": {"endpointSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"fromEntities": ["cluster"]}]}},
            {"metadata": {"name": "lone-in", "namespace": "default"},
             "spec": {"endpointSelector": {"matchLabels": {"app": "lone"}}, "ingress": [{"fromEntities": ["cluster"]}]}},
            {"metadata": {"name": "web-out", "namespace": "default"},
             "spec": {"endpointSelector": {"matchLabels": {"app": "web"}}, "egress": [{"toEntities": ["world"]}]}}]})
    found = [f for f in lim.check_workloads(client, "1.16.16") if f["id"] == "service-loopback-policy"]
    assert [(f["object"], "2 pods" in f["message"]) for f in found] == [("CiliumNetworkPolicy default/web-in", True)]
    assert not [f for f in lim.check_workloads(cluster(**client.collections), "1.17.0") if f["id"] == "service-loopback-policy"]


def test_cilium_status_returns_the_findings_only_when_asked(monkeypatch):
    from ansible_collections.azcni.cilium.plugins.module_utils._cilium import status as cs
    from ansible_collections.azcni.cilium.tests.unit.plugins.module_utils.fake_module import FakeModule, run

    monkeypatch.setattr(cs, "status", lambda *args, **kwargs: {"version": "1.16.16", "healthy": True, "summary": "ok"})
    defaults = dict(namespace="kube-system", agent_daemonset="cilium", operator_deployment="cilium-operator",
                    config_map="cilium-config", wait=False, wait_timeout=1, ignore_warnings=False, fail_on_unhealthy=False)
    client = cluster(**{"/api/v1/services": [service("a", "TCP", address="20.61.0.4"), service("b", "UDP", address="20.61.0.4")]})
    plain = run(cs.run_status, FakeModule(client, defaults, check_workloads=False))
    assert "workload_findings" not in plain and client.requests == []
    checked = run(cs.run_status, FakeModule(client, defaults, check_workloads=True))
    assert [f["id"] for f in checked["workload_findings"]] == ["service-port-protocols", "identity-limit"]  # warnings first
