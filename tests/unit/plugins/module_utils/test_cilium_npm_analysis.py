# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NPM -> Cilium NetworkPolicy analyzer: the five cases, their paths and the CNPs that keep behaviour."""

from __future__ import annotations

from ansible_collections.azcni.cilium.plugins.module_utils._cilium.npm_analysis import Cluster, analyze, identity_estimate
from ansible_collections.azcni.cilium.plugins.module_utils._cilium.lint import NO_ACNS, lint_policy


def pod(name, namespace, ip, labels, node="node-0", ports=(), service_account="default", host_network=False):
    return {"metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
            "spec": {"nodeName": node, "serviceAccountName": service_account, "hostNetwork": host_network,
                     "containers": [{"name": "c", "ports": [dict(name=n, containerPort=p) for n, p in ports]}]},
            "status": {"phase": "Running", "podIP": ip,
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def node(name, ip, pod_cidr=None):
    body = {"metadata": {"name": name, "labels": {"agentpool": "system", "kubernetes.io/os": "linux"}},
            "spec": {}, "status": {"addresses": [{"type": "InternalIP", "address": ip}]}}
    if pod_cidr:
        body["spec"]["podCIDRs"] = [pod_cidr]
    return body


def policy(name, spec, namespace="shop"):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


NAMESPACES = [{"metadata": {"name": "shop", "labels": {"team": "shop"}}},
              {"metadata": {"name": "pay", "labels": {"team": "pay"}}}]
PODS = [pod("web-1", "shop", "10.224.0.30", {"app": "web"}, ports=[("http", 8080)]),
        pod("web-2", "shop", "10.224.0.31", {"app": "web"}, node="node-1", ports=[("http", 8080)]),
        pod("db-1", "pay", "10.224.0.40", {"app": "db"}, ports=[("sql", 5432)])]
NODES = [node("node-0", "10.224.0.4"), node("node-1", "10.224.0.5")]


def cluster(**extra):
    args = dict(pods=PODS, namespaces=NAMESPACES, nodes=NODES)
    args.update(extra)
    return Cluster(**args)


def ids(findings):
    return sorted((f["id"], f["path"]) for f in findings)


def test_ipblock_over_pod_and_node_addresses_is_found_and_translated():
    found, cnps = analyze([policy("allow-subnet", {
        "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"ipBlock": {"cidr": "10.224.0.0/24"}}], "ports": [{"port": 8080}]}]})], cluster())
    assert ids(found) == [("ipblock-cluster-address", "spec.ingress[0].from[0].ipBlock")]
    finding = found[0]
    assert "3 pod address(es) in namespace(s) pay, shop" in finding["reason"]
    assert "node(s) node-0, node-1" in finding["reason"]
    spec = cnps[0]["spec"]
    assert spec["endpointSelector"] == {"matchLabels": {"app": "web"}}
    assert spec["ingress"][0]["fromEndpoints"] == [{"matchExpressions": [
        {"key": "k8s:io.kubernetes.pod.namespace", "operator": "In", "values": ["pay", "shop"]}]}]
    assert spec["ingress"][1]["fromEntities"] == ["host", "remote-node"]
    assert spec["ingress"][0]["toPorts"] == [{"ports": [{"port": "8080", "protocol": "TCP"}]}]
    assert finding["suggested_policy"] == cnps[0]["metadata"]["name"]
    assert cnps[0]["metadata"]["namespace"] == "shop"


def test_ipblock_outside_the_cluster_and_except_are_respected():
    external = policy("egress-internet", {"podSelector": {}, "policyTypes": ["Egress"],
                                          "egress": [{"to": [{"ipBlock": {"cidr": "20.0.0.0/8"}}]}]})
    excepted = policy("all-but-cluster", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [
        {"ipBlock": {"cidr": "10.224.0.0/24", "except": ["10.224.0.0/26"]}}]}]})
    found, _cnps = analyze([external, excepted], cluster())
    assert not [f for f in found if f["id"] == "ipblock-cluster-address"]


def test_pod_range_without_pods_is_still_reported_without_a_cnp():
    found, cnps = analyze([policy("overlay", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [
        {"from": [{"ipBlock": {"cidr": "192.168.0.0/16"}}]}]})], cluster(pod_cidrs=["192.168.0.0/16"]))
    finding = [f for f in found if f["id"] == "ipblock-cluster-address"][0]
    assert "pod range(s) 192.168.0.0/16" in finding["reason"] and finding["suggested_policy"] is None
    assert not [c for c in cnps if c["metadata"]["annotations"]["azcni.cilium/finding"] == "ipblock"]


def test_named_port_is_resolved_to_the_selected_pods_number():
    found, cnps = analyze([policy("named", {
        "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "pay"}}}], "ports": [{"port": "http"}]}]})],
        cluster())
    finding = [f for f in found if f["id"] == "named-port"][0]
    assert finding["path"] == "spec.ingress[0].ports[0].port" and "port 8080" in finding["reason"]
    rule = cnps[0]["spec"]["ingress"][0]
    assert rule["toPorts"] == [{"ports": [{"port": "8080", "protocol": "TCP"}]}]
    assert rule["fromEndpoints"] == [{"matchLabels": {"k8s:io.cilium.k8s.namespace.labels.team": "pay"},
                                      "matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace",
                                                            "operator": "Exists"}]}]


def test_named_port_of_egress_peers_and_unknown_names():
    found, cnps = analyze([policy("to-db", {
        "podSelector": {}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "db"}}}],
                    "ports": [{"port": "sql"}, {"port": "nope"}]}]})], cluster())
    named = sorted((f["path"], f["suggested_policy"] is not None) for f in found if f["id"] == "named-port")
    assert named == [("spec.egress[0].ports[0].port", True), ("spec.egress[0].ports[1].port", False)]
    sql = [c for c in cnps if c["metadata"]["annotations"]["azcni.cilium/finding"] == "named-port"][0]
    assert sql["spec"]["egress"][0]["toPorts"][0]["ports"] == [{"port": "5432", "protocol": "TCP"}]


def test_end_port_only_below_cilium_1_17():
    spec = {"podSelector": {}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": 32000, "endPort": 32768}]}]}
    old, _cnps = analyze([policy("range", spec)], cluster(), cilium_version="1.16.16")
    new, _cnps = analyze([policy("range", spec)], cluster(), cilium_version="1.17.9")
    assert [f["path"] for f in old if f["id"] == "end-port"] == ["spec.ingress[0].ports[0].endPort"]
    assert not [f for f in new if f["id"] == "end-port"]


def test_egress_restrictions_lose_the_implicit_local_node_allowance():
    found, cnps = analyze([policy("egress-dns", {
        "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]}]})], cluster())
    finding = [f for f in found if f["id"] == "local-node-egress"][0]
    assert "2 pod(s)" in finding["reason"]
    cnp = [c for c in cnps if c["metadata"]["name"] == finding["suggested_policy"]][0]
    assert cnp["spec"]["egress"] == [{"toEntities": ["host"]}]
    allow_all, _cnps = analyze([policy("open", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]})], cluster())
    assert not [f for f in allow_all if f["id"] == "local-node-egress"]


def test_ingress_rules_now_filter_external_traffic_of_cluster_policy_services():
    service = {"metadata": {"name": "web", "namespace": "shop"},
               "spec": {"type": "LoadBalancer", "selector": {"app": "web"},
                        "ports": [{"port": 80, "targetPort": "http", "protocol": "TCP"}]}}
    local = {"metadata": {"name": "web-local", "namespace": "shop"},
             "spec": {"type": "NodePort", "externalTrafficPolicy": "Local", "selector": {"app": "web"},
                      "ports": [{"port": 80, "targetPort": 8080}]}}
    deny = policy("same-namespace", {"podSelector": {}, "policyTypes": ["Ingress"],
                                     "ingress": [{"from": [{"podSelector": {}}]}]})
    found, cnps = analyze([deny], cluster(services=[service, local]))
    external = [f for f in found if f["id"] == "ingress-external-traffic"]
    assert len(external) == 1 and "LoadBalancer service web" in external[0]["reason"]
    cnp = [c for c in cnps if c["metadata"]["name"] == external[0]["suggested_policy"]][0]
    assert cnp["spec"]["ingress"] == [{"fromEntities": ["world", "remote-node"],
                                       "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}]


def test_every_suggestion_passes_the_cilium_policy_lint():
    policies = [
        policy("a", {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress", "Egress"],
                     "ingress": [{"from": [{"ipBlock": {"cidr": "10.224.0.0/24"}}], "ports": [{"port": "http"}]}],
                     "egress": [{"to": [{"podSelector": {}}]}]})]
    _found, cnps = analyze(policies, cluster())
    assert len(cnps) >= 3
    for cnp in cnps:
        assert not [issue for issue in lint_policy(cnp, NO_ACNS) if issue["severity"] == "error"], cnp


def test_compliant_policies_produce_nothing():
    found, cnps = analyze([policy("plain", {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
                                            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "api"}}}],
                                                         "ports": [{"port": 8080}]}]})], cluster())
    assert (found, cnps) == ([], [])


def test_identity_estimate_counts_label_sets_per_namespace_and_account():
    pods = PODS + [pod("web-3", "shop", "10.224.0.32", {"app": "web", "pod-template-hash": "x"}),
                   pod("node-agent", "kube-system", "10.224.0.4", {"app": "agent"}, host_network=True)]
    assert identity_estimate(Cluster(pods=pods)) == 2


def test_ipblock_over_pod_addresses_only():
    found, cnps = analyze([policy("two-pods", {"podSelector": {}, "policyTypes": ["Egress"],
                                               "egress": [{"to": [{"ipBlock": {"cidr": "10.224.0.30/31"}}]}]})], cluster())
    finding = [f for f in found if f["id"] == "ipblock-cluster-address"][0]
    assert "covers 2 pod address(es) in namespace(s) shop;" in finding["reason"]
    cnp = [c for c in cnps if c["metadata"]["name"] == finding["suggested_policy"]][0]
    assert cnp["spec"]["egress"] == [{"toEndpoints": [{"matchExpressions": [
        {"key": "k8s:io.kubernetes.pod.namespace", "operator": "In", "values": ["shop"]}]}]}]
