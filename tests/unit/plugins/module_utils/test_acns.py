# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACNS: aks_cilium_cluster's intent/patch/rules (_aks.acns), what a cluster runs (_cilium.acns), the new lint checks."""

from __future__ import annotations

import copy
import ipaddress

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._aks import acns as aks_acns
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_rules import check
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_facts import Facts
from ansible_collections.azcni.cilium.plugins.module_utils._cilium import acns as cilium_acns
from ansible_collections.azcni.cilium.plugins.module_utils._cilium import lint
from ansible_collections.azcni.cilium.plugins.module_utils._cilium import status as cilium_status


def cluster(advanced=None, logs=None):
    props = {"networkProfile": {"advancedNetworking": advanced} if advanced else {}}
    if logs:
        props["azureMonitorProfile"] = {"containerInsights": {"containerNetworkLogs": logs}}
    return {"properties": props}


L7_WG = {"enabled": True, "observability": {"enabled": True},
         "security": {"enabled": True, "advancedNetworkPolicies": "L7", "transitEncryption": {"type": "WireGuard"}}}


# --- _aks.acns ----------------------------------------------------------------------------------------
def test_current_reads_the_arm_profile():
    assert aks_acns.current(None) is None
    assert aks_acns.current(cluster()) == aks_acns.NOTHING
    assert aks_acns.current(cluster(L7_WG, "Enabled")) == dict(
        observability=True, security=True, network_policies="l7", transit_encryption="wireguard", acceleration="none",
        container_network_logs=True)
    # security on without a mode is AKS's default, FQDN; features count only while ACNS is enabled
    assert aks_acns.current(cluster({"enabled": True, "security": {"enabled": True}}))["network_policies"] == "fqdn"
    assert aks_acns.current(cluster(dict(L7_WG, enabled=False)))["network_policies"] == "none"


@pytest.mark.parametrize("asked, have, expected", [
    ({"network_policies": "l7"}, None, dict(security=True, network_policies="l7")),
    ({"security": True}, None, dict(security=True, network_policies="fqdn")),
    ({"transit_encryption": "wireguard"}, None, dict(security=True, network_policies="fqdn", transit_encryption="wireguard")),
    ({"security": False}, "l7", dict(security=False, network_policies="none")),
    ({"observability": True}, "l7", dict(observability=True, security=True, network_policies="l7")),
    ({"security": False, "network_policies": "l7"}, None, dict(security=False, network_policies="l7")),
])
def test_target_keeps_what_is_not_mentioned(asked, have, expected):
    current = dict(aks_acns.NOTHING, security=True, network_policies=have) if have else None
    wanted = aks_acns.target(dict(advanced_networking=asked), current)
    assert dict((k, wanted[k]) for k in expected) == expected


def test_patch_only_when_something_changes():
    have = aks_acns.current(cluster(L7_WG))
    assert aks_acns.patch(dict(have), have) == (None, None)
    advanced, monitor = aks_acns.patch(dict(have, network_policies="fqdn", container_network_logs=True), have)
    assert advanced["security"] == {"enabled": True, "advancedNetworkPolicies": "FQDN", "transitEncryption": {"type": "WireGuard"}}
    assert advanced["enabled"] and advanced["performance"] == {"accelerationMode": "None"}
    assert monitor == {"containerInsights": {"containerNetworkLogs": "Enabled"}}
    off, _monitor = aks_acns.patch(dict(aks_acns.NOTHING), have)
    assert off["enabled"] is False and off["security"]["advancedNetworkPolicies"] == "None"


def facts(acns=None, version=(1, 33), pools=None, **extra):
    state = dict(aks_acns.NOTHING, **(acns or {}))
    return Facts(acns=state, kubernetes_version=version,
                 acns_pools=pools or [{"name": "system", "count": 3, "osSKU": "AzureLinux"}], **extra)


@pytest.mark.parametrize("rule, acns, extra", [
    ("acns-policies-need-security", dict(network_policies="l7"), {}),
    ("acns-wireguard-needs-security", dict(transit_encryption="wireguard"), {}),
    ("acns-fqdn-kubernetes-version", dict(security=True, network_policies="fqdn"), dict(version=(1, 28))),
    ("acns-l7-node-limit", dict(security=True, network_policies="l7"),
     dict(pools=[{"name": "a", "count": 600}, {"name": "b", "enableAutoScaling": True, "count": 3, "maxCount": 401}])),
    ("acns-bpfveth-kubernetes-version", dict(acceleration="bpfveth"), dict(version=(1, 32))),
    ("acns-bpfveth-node-os", dict(acceleration="bpfveth"), dict(pools=[{"name": "system", "osSKU": "Ubuntu"}])),
    ("acns-bpfveth-static-egress", dict(acceleration="bpfveth"), dict(static_egress=True)),
    ("acns-flow-logs-need-observability", dict(container_network_logs=True), {}),
    ("acns-flow-logs-kubernetes-version", dict(observability=True, container_network_logs=True), dict(version=(1, 32))),
])
def test_each_rule_fails_alone(rule, acns, extra):
    assert [f[0] for f in check(facts(acns, **extra))] == [rule]


def test_every_acns_rule_has_a_case_here():
    covered = {case[0] for case in test_each_rule_fails_alone.pytestmark[0].args[1]} | {"acns-wireguard-udp-51871"}
    assert covered == {row[0] for row in aks_acns.RULES}


def test_rules_hold_for_a_good_request_and_unknown_versions_are_left_to_aks():
    good = dict(observability=True, security=True, network_policies="l7", transit_encryption="wireguard",
                acceleration="bpfveth", container_network_logs=True)
    assert check(facts(good)) == []
    assert check(facts(dict(good), version=None)) == []
    assert check(facts(dict(acceleration="bpfveth"), pools=[{"name": "s", "osSKU": "Ubuntu", "orchestratorVersion": "1.35.1"}],
                       version=(1, 35))) == []


NSG = {"name": "nodes-nsg", "properties": {"securityRules": [], "defaultSecurityRules": [
    {"name": "AllowVnetInBound", "properties": {"priority": 65000, "direction": "Inbound", "access": "Allow", "protocol": "*",
                                                "sourceAddressPrefix": "VirtualNetwork", "destinationAddressPrefix": "VirtualNetwork",
                                                "destinationPortRange": "*"}},
    {"name": "DenyAllInBound", "properties": {"priority": 65500, "direction": "Inbound", "access": "Deny", "protocol": "*",
                                              "sourceAddressPrefix": "*", "destinationAddressPrefix": "*",
                                              "destinationPortRange": "*"}}]}}


def with_rule(priority=300, access="Deny", protocol="Udp", ports="51871", source="10.10.0.0/24"):
    nsg = copy.deepcopy(NSG)
    nsg["properties"]["securityRules"].append({"name": "custom", "properties": {
        "priority": priority, "direction": "Inbound", "access": access, "protocol": protocol, "sourceAddressPrefix": source,
        "destinationAddressPrefix": "*", "destinationPortRange": ports}})
    return nsg


@pytest.mark.parametrize("nsg, blocked", [
    (NSG, None),
    (with_rule(), ("Inbound", "custom", 300)),
    (with_rule(ports="50000-52000", source="VirtualNetwork"), ("Inbound", "custom", 300)),
    (with_rule(protocol="Tcp"), None),
    (with_rule(ports="53"), None),
    (with_rule(source="172.16.0.0/12"), None),
    (with_rule(access="Allow", priority=200), None),
])
def test_nsg_evaluation_by_priority(nsg, blocked):
    assert aks_acns.nsg_blocks_wireguard(nsg, "10.10.0.0/24", ["10.10.0.0/16"]) == blocked


def test_the_nsg_rule_needs_the_vnet_and_wireguard():
    vnet = {"properties": {"addressSpace": {"addressPrefixes": ["10.10.0.0/16"]}}}
    asked = dict(security=True, network_policies="fqdn", transit_encryption="wireguard")
    failed = check(facts(asked, vnet=vnet, node_nsg=with_rule(), node_subnet_prefix="10.10.0.0/24"))
    assert [f[0] for f in failed] == ["acns-wireguard-udp-51871"] and "custom (priority 300)" in failed[0][1]
    assert check(facts(dict(asked, transit_encryption="none"), vnet=vnet, node_nsg=with_rule(),
                       node_subnet_prefix="10.10.0.0/24")) == []


# --- _cilium.acns and cilium_status ----------------------------------------------------------------
@pytest.mark.parametrize("data, expected", [
    ({}, dict(enabled=False, network_policies="none", transit_encryption="none", acceleration="none")),
    ({"enable-l7-proxy": "true"}, dict(enabled=True, network_policies="fqdn")),
    ({"enable-l7-proxy": "true", "external-envoy-proxy": "true"}, dict(network_policies="l7")),
    ({"external-envoy-proxy": "true"}, dict(network_policies="none")),
    ({"enable-wireguard": "true"}, dict(security=True, transit_encryption="wireguard")),
    ({"enable-host-legacy-routing": "false"}, dict(enabled=True, acceleration="bpfveth")),
    ({"enable-host-legacy-routing": "true"}, dict(acceleration="none")),
])
def test_state_from_cilium_config(data, expected):
    state = cilium_acns.state(data)
    assert dict((k, state[k]) for k in expected) == expected


def node(name, key=True):
    return {"metadata": {"name": name, "annotations": {cilium_acns.WG_KEY_ANNOTATION: "k="} if key else {}}}


def workload(kind, name, ready, desired):
    status = ({"desiredNumberScheduled": desired, "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": desired,
               "observedGeneration": 1} if kind == "DaemonSet" else
              {"replicas": desired, "readyReplicas": ready, "availableReplicas": ready, "updatedReplicas": desired,
               "observedGeneration": 1})
    spec = {"template": {"spec": {"containers": [{"name": name, "image": "mcr.microsoft.com/x/%s:v1.34.10" % name}]}}}
    spec["replicas" if kind == "Deployment" else "updateStrategy"] = desired if kind == "Deployment" else {"type": "RollingUpdate"}
    return {"kind": kind, "metadata": {"name": name, "generation": 1}, "spec": spec, "status": status}


def acns_snapshot(config, envoy=None, relay=None, nodes=None):
    return dict(config={"data": config}, envoy=envoy, hubble_relay=relay, cilium_nodes=nodes)


def test_status_reports_the_workloads_and_the_keys():
    findings = cilium_status._Findings()  # pylint: disable=protected-access
    config = {"enable-l7-proxy": "true", "external-envoy-proxy": "true", "enable-hubble": "true", "enable-wireguard": "true"}
    state, envoy, relay, encryption = cilium_status._acns(acns_snapshot(  # pylint: disable=protected-access
        config, workload("DaemonSet", "cilium-envoy", 3, 3), workload("Deployment", "hubble-relay", 1, 1),
        [node("a"), node("b"), node("c")]), findings)
    assert state["network_policies"] == "l7" and (envoy["ready"], relay["ready"]) == (3, 1)
    assert encryption == dict(mode="wireguard", nodes=3, nodes_with_key=3, nodes_without_key=[])
    assert findings.errors == []


def test_status_is_unhealthy_when_a_feature_lacks_its_workload_or_a_node_its_key():
    findings = cilium_status._Findings()  # pylint: disable=protected-access
    config = {"enable-l7-proxy": "true", "external-envoy-proxy": "true", "enable-wireguard": "true"}
    _state, envoy, relay, encryption = cilium_status._acns(acns_snapshot(  # pylint: disable=protected-access
        config, None, None, [node("a"), node("b", key=False)]), findings)
    assert envoy["present"] is False and relay is None
    assert encryption["nodes_without_key"] == ["b"]
    assert 'cilium-envoy: daemonsets.apps "cilium-envoy" not found' in findings.errors
    assert any(e.startswith("encryption: 1 of 2 nodes publish no WireGuard key") for e in findings.errors)
    findings = cilium_status._Findings()  # pylint: disable=protected-access
    cilium_status._acns(acns_snapshot(config, workload("DaemonSet", "cilium-envoy", 2, 3), None,  # pylint: disable=protected-access
                                      [node("a")]), findings)
    assert findings.errors == ["cilium-envoy: 1 pods of DaemonSet cilium-envoy are not ready"]


# --- lint -----------------------------------------------------------------------------------------
DNS_RULE = {"toEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s-app": "kube-dns"}}],
            "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}]}]}
HOST_DNS = {"toEntities": ["host"], "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}]}]}
CIDR_DNS = {"toCIDR": ["169.254.10.0/24"], "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}]}]}


def cnp(*egress):
    return {"apiVersion": "cilium.io/v2", "kind": lint.CNP, "metadata": {"name": "p", "namespace": "default"},
            "spec": {"endpointSelector": {}, "egress": list(egress)}}


@pytest.mark.parametrize("egress, version, flagged", [
    ((DNS_RULE,), (1, 17), True),
    ((DNS_RULE, HOST_DNS), (1, 17), False),
    ((DNS_RULE, CIDR_DNS), (1, 17), True),   # Cilium 1.17 sees LocalDNS as the host entity, not the range
    ((DNS_RULE, CIDR_DNS), (1, 16), False),
    ((DNS_RULE, HOST_DNS), (1, 16), True),
])
def test_localdns_needs_the_host_entity_or_the_range(egress, version, flagged):
    context = lint.NO_ACNS._replace(localdns=True, cilium_version=version)
    checks = [f["check"] for f in lint.lint_policy(cnp(*egress), context)]
    assert checks == (["dns-allow-localdns"] if flagged else [])
    assert lint.lint_policy(cnp(*egress), lint.NO_ACNS._replace(cilium_version=version)) == []  # no LocalDNS: fine


def test_the_shipped_dns_policy_is_localdns_aware():
    import os  # pylint: disable=import-outside-toplevel
    import yaml  # pylint: disable=import-outside-toplevel
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "..", "..", "playbooks", "files", "policies", "20-allow-dns.yaml"),
              encoding="utf-8") as handle:
        policy = yaml.safe_load(handle)
    for version in ((1, 16), (1, 17), (1, 18)):
        assert lint.lint_policy(policy, lint.NO_ACNS._replace(localdns=True, cilium_version=version)) == []


def test_cidr_rules_aimed_at_pods_or_nodes():
    ranges = (("pods of n1 (10.244.0.0/24)", ipaddress.ip_network("10.244.0.0/24")),
              ("node n1 (10.224.0.4)", ipaddress.ip_network("10.224.0.4/32")))
    context = lint.NO_ACNS._replace(cluster_ranges=ranges)
    policy = cnp({"toCIDR": ["10.244.0.0/16"]}, {"toCIDRSet": [{"cidr": "10.224.0.0/24"}]}, {"toCIDR": ["0.0.0.0/0"]},
                 {"toCIDR": ["52.0.0.0/8"]})
    findings = lint.lint_policy(policy, context)
    assert [(f["check"], f["path"], f["severity"]) for f in findings] == [
        ("cidr-selects-cluster", "spec.egress[0].toCIDR[0]", lint.WARNING),
        ("cidr-selects-cluster", "spec.egress[1].toCIDRSet[0]", lint.WARNING)]
    assert lint.uses_cluster_features([policy]) == {"nodes"}


def test_flow_log_dns_needs_fqdn_policies():
    log = {"apiVersion": lint.CNL_API_VERSION, "kind": lint.CNL, "metadata": {"name": "all"},
           "spec": {"includefilters": [{"name": "f", "protocol": ["tcp", "dns"]}]}}
    assert [f["check"] for f in lint.lint_policy(log, lint.NO_ACNS)] == ["flow-log-dns-needs-fqdn"]
    assert lint.lint_policy(log, lint.context_from_setting("fqdn")) == []
    assert lint.uses_cluster_features([log]) == {"config"}


def test_fqdn_in_a_ccnp_passes_but_l7_in_a_ccnp_is_always_flagged():
    fqdn = {"apiVersion": "cilium.io/v2", "kind": lint.CCNP, "metadata": {"name": "w"}, "spec": {
        "endpointSelector": {}, "egress": [{"toFQDNs": [{"matchName": "example.com"}]}]}}
    assert lint.lint_policy(fqdn, lint.context_from_setting("fqdn")) == []
    l7 = copy.deepcopy(fqdn)
    l7["spec"]["egress"] = [{"toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}], "rules": {"http": [{}]}}]}]
    assert [f["check"] for f in lint.lint_policy(l7, lint.context_from_setting("l7"))] == ["l7-in-ccnp"]
