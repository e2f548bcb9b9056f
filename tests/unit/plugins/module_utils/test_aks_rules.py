# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pre-flight rules of aks_cilium_cluster: every rule accepts a good input and rejects a bad one, by name."""

from __future__ import annotations

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._aks import acns as aks_acns
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_rules import RULES, check, warnings
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_facts import Facts

NET = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/"
NODES = NET + "vnet/subnets/nodes"
PODS = NET + "vnet/subnets/pods"


def vnet(prefixes=("192.168.16.0/22",), subnets=None):
    subnets = subnets if subnets is not None else [
        {"name": "nodes", "properties": {"addressPrefix": "192.168.16.0/24"}},
        {"name": "pods", "properties": {"addressPrefix": "192.168.17.0/24"}}]
    return {"name": "vnet", "properties": {"addressSpace": {"addressPrefixes": list(prefixes)}, "subnets": subnets}}


def overlay(**changes):
    """The overlay topology of the product doc, valid as it stands."""
    values = dict(ipam_mode="overlay", pod_cidr="192.168.0.0/16", service_cidr="10.0.0.0/16", dns_service_ip="10.0.0.10",
                  max_pods=250, node_count=3, pools=[{"name": "system", "osType": "Linux", "osSKU": "Ubuntu"}],
                  given=frozenset(["pod_cidr", "service_cidr", "dns_service_ip"]))
    values.update(changes)
    return Facts(**values)


def vnet_mode(**changes):
    """The VNet-mode topology of the product doc (VNet 192.168.16.0/22, nodes /24, pods /24), valid."""
    values = dict(ipam_mode="vnet", pod_cidr=None, service_cidr="10.0.0.0/16", dns_service_ip="10.0.0.10", max_pods=250,
                  node_count=3, vnet_subnet_id=NODES, pod_subnet_id=PODS, vnet=vnet(),
                  pools=[{"name": "system", "osType": "Linux"}], given=frozenset(["service_cidr", "dns_service_ip"]))
    values.update(changes)
    return Facts(**values)


def failed(facts):
    return [failure[0] for failure in check(facts)]


def test_the_product_topologies_pass_every_rule():
    assert check(overlay()) == []
    assert check(vnet_mode()) == []


# rule id -> (accepted facts, rejected facts, text the message must contain)
CASES = [
    ("linux-only", overlay(pools=[{"name": "system", "osType": "Linux", "osSKU": "AzureLinux"}]),
     overlay(pools=[{"name": "system", "osType": "Linux"}, {"name": "win", "osType": "Windows", "osSKU": "Windows2022"}]),
     "win (Windows2022)"),
    ("linux-only", overlay(), overlay(pools=[{"name": "system", "osType": "Linux", "osSKU": "Windows2019"}]), "Windows2019"),
    ("dataplane-policy-pairing", overlay(network_dataplane="azure", network_policy="azure"),
     overlay(network_policy="calico"), "networkDataplane cilium with networkPolicy calico"),
    ("dataplane-policy-pairing", overlay(network_dataplane=None, network_policy=None),
     overlay(network_dataplane="azure"), "networkDataplane azure with networkPolicy cilium"),
    ("pool-name", overlay(pool_name="nodepool1"), overlay(pool_name="System"), "system pool name 'System'"),
    ("pool-name", overlay(pool_name="a23456789012"), overlay(pool_name="a234567890123"), "a234567890123"),
    ("pool-name", overlay(), overlay(pool_name="1pool"), "'1pool'"),
    ("max-pods-range", overlay(max_pods=10), overlay(max_pods=9), "max_pods is 9"),
    ("max-pods-range", overlay(max_pods=250), overlay(max_pods=251), "max_pods is 251"),
    ("max-pods-pool-capacity", overlay(max_pods=10, node_count=3), overlay(max_pods=10, node_count=2),
     "max_pods 10 x 2 nodes = 20 pods"),
    ("autoscaler-bounds", overlay(min_count=1, max_count=5), overlay(min_count=5, max_count=3), "min_count 5, max_count 3"),
    ("autoscaler-bounds", overlay(min_count=2, max_count=2), overlay(min_count=0, max_count=3), "min_count 0"),
    ("cidr-syntax", overlay(), overlay(pod_cidr="192.168.0.0/33"), "pod_cidr"),
    ("cidr-syntax", overlay(), overlay(service_cidr="10.0.0.1/16"), "host bits set"),
    ("cidr-syntax", overlay(), overlay(service_cidr="fd00::/108"), "is not IPv4"),
    ("cidr-syntax", overlay(), overlay(dns_service_ip="10.0.0.x"), "dns_service_ip '10.0.0.x'"),
    ("pod-cidr-overlay-only", vnet_mode(pod_cidr=None),
     vnet_mode(pod_cidr="192.168.0.0/16", given=frozenset(["pod_cidr"])), "pod_cidr 192.168.0.0/16 with ipam_mode vnet"),
    ("pod-subnet-vnet-only", overlay(vnet_subnet_id=NODES), overlay(vnet_subnet_id=NODES, pod_subnet_id=PODS),
     "pod_subnet_id is set with ipam_mode overlay"),
    ("vnet-subnets-required", vnet_mode(), vnet_mode(pod_subnet_id=None), "missing pod_subnet_id"),
    ("vnet-subnets-required", overlay(), vnet_mode(vnet_subnet_id=None, pod_subnet_id=None),
     "missing vnet_subnet_id and pod_subnet_id"),
    ("subnet-id-format", vnet_mode(), vnet_mode(pod_subnet_id="pods"), "pod_subnet_id: 'pods' is not a subnet resource ID"),
    ("vnet-subnets-different", vnet_mode(), vnet_mode(pod_subnet_id=NODES.upper()), "both are"),
    ("vnet-subnets-same-vnet", vnet_mode(pod_subnet_id=NET.replace("/rg/", "/RG/") + "VNET/subnets/pods"),
     vnet_mode(pod_subnet_id=NET + "other/subnets/pods"), "node subnet is in VNet rg/vnet, pod subnet in rg/other"),
    ("service-dns-pair", overlay(given=frozenset()), overlay(given=frozenset(["service_cidr"])), "only service_cidr is set"),
    ("service-dns-pair", overlay(), overlay(given=frozenset(["dns_service_ip"])), "only dns_service_ip is set"),
    ("service-cidr-size", overlay(service_cidr="10.0.0.0/13", dns_service_ip="10.0.0.10"),
     overlay(service_cidr="10.0.0.0/12", dns_service_ip="10.0.0.10"), "service_cidr 10.0.0.0/12 is /12"),
    ("dns-ip-in-service-cidr", overlay(), overlay(dns_service_ip="10.1.0.10"),
     "dns_service_ip 10.1.0.10 is outside service_cidr 10.0.0.0/16"),
    ("dns-ip-not-first", overlay(dns_service_ip="10.0.0.2"), overlay(dns_service_ip="10.0.0.1"), "API service 10.0.0.1"),
    ("dns-ip-not-first", overlay(dns_service_ip="10.0.255.254"), overlay(dns_service_ip="10.0.0.0"), "is reserved"),
    ("dns-ip-not-first", overlay(), overlay(dns_service_ip="10.0.255.255"), "broadcast 10.0.255.255"),
    ("reserved-ranges", overlay(pod_cidr="172.16.0.0/16"), overlay(pod_cidr="172.16.0.0/12"),
     "pod_cidr 172.16.0.0/12 overlaps 172.30.0.0/16"),
    ("reserved-ranges", overlay(), overlay(service_cidr="169.254.0.0/16", dns_service_ip="169.254.0.10"),
     "service_cidr 169.254.0.0/16 overlaps 169.254.0.0/16"),
    ("reserved-ranges", overlay(), overlay(pod_cidr="192.0.2.0/24"), "overlaps 192.0.2.0/24"),
    ("pod-service-overlap", overlay(pod_cidr="10.244.0.0/16"), overlay(pod_cidr="10.0.0.0/8"),
     "pod_cidr 10.0.0.0/8 overlaps service_cidr 10.0.0.0/16"),
    ("subnets-exist", vnet_mode(), vnet_mode(vnet=vnet(subnets=[{"name": "nodes", "properties": {}}])),
     "not found in VNet vnet: pod_subnet_id pods (it has: nodes)"),
    ("node-subnet-not-delegated",
     vnet_mode(vnet=vnet(subnets=[{"name": "nodes"}, {"name": "pods", "properties": {"delegations": [
         {"name": "aks", "properties": {"serviceName": "Microsoft.ContainerService/managedClusters"}}]}}])),
     vnet_mode(vnet=vnet(subnets=[{"name": "pods"}, {"name": "nodes", "properties": {"delegations": [
         {"name": "d", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}]}}])),
     "node subnet nodes is delegated to Microsoft.Web/serverFarms"),
    ("subnet-capacity", vnet_mode(node_count=14),  # pods /24: 251 usable IPs, 16 x (14 + 1) = 240
     vnet_mode(node_count=15), "pod_subnet_id pods (192.168.17.0/24) has 251 usable IPs, 15 nodes need 256"),
    ("subnet-capacity", overlay(vnet_subnet_id=NODES, node_count=2, pod_cidr="10.244.0.0/16",
                                vnet=vnet(subnets=[{"name": "nodes", "properties": {"addressPrefixes": ["192.168.16.0/29"]}}])),
     overlay(vnet_subnet_id=NODES, node_count=3, pod_cidr="10.244.0.0/16",
             vnet=vnet(subnets=[{"name": "nodes", "properties": {"addressPrefixes": ["192.168.16.0/29"]}}])),
     "vnet_subnet_id nodes (192.168.16.0/29) has 3 usable IPs, 3 nodes need 4"),
    ("vnet-overlap", overlay(vnet_subnet_id=NODES, vnet=vnet(prefixes=["10.10.0.0/16"])),
     overlay(vnet_subnet_id=NODES, vnet=vnet()), "pod_cidr 192.168.0.0/16 overlaps VNet vnet"),
    ("allocation-mode-needs-pod-subnet", vnet_mode(pod_ip_allocation_mode="StaticBlock"),
     overlay(pod_ip_allocation_mode="StaticBlock"), "pod_ip_allocation_mode StaticBlock without pod_subnet_id"),
    ("static-block-kubernetes-version", vnet_mode(pod_ip_allocation_mode="StaticBlock", pool_version="1.28"),
     vnet_mode(pod_ip_allocation_mode="StaticBlock", pool_version="1.27.3"), "Kubernetes 1.27.3"),
    ("pod-subnet-vnet-only", vnet_mode(), vnet_mode(ipam_mode="node-subnet"), "with ipam_mode node_subnet"),
    ("subnet-capacity", vnet_mode(ipam_mode="node-subnet", pod_subnet_id=None, max_pods=30, node_count=7),
     vnet_mode(ipam_mode="node-subnet", pod_subnet_id=None, max_pods=30, node_count=8), "8 nodes need 279"),
    ("service-cidr-subnet-overlap", vnet_mode(), vnet_mode(service_cidr="192.168.0.0/16", dns_service_ip="192.168.0.10"),
     "service_cidr 192.168.0.0/16 overlaps subnet nodes (192.168.16.0/24); service_cidr 192.168.0.0/16 overlaps subnet "
     "pods (192.168.17.0/24)"),
    ("service-cidr-subnet-overlap", vnet_mode(), vnet_mode(vnet=vnet(subnets=[
        {"name": "nodes", "properties": {"addressPrefixes": ["192.168.16.0/24", "10.0.5.0/24"]}}, {"name": "pods"}])),
     "service_cidr 10.0.0.0/16 overlaps subnet nodes (10.0.5.0/24)"),
]

# The recorded topology real ARM accepts: VNet 10.0.0.0/8, nodes 10.240.0.0/16, pods 10.40.0.0/13, default service CIDR.
RECORDED = vnet_mode(service_cidr="10.0.0.0/16", dns_service_ip="10.0.0.10", given=frozenset(),
                     defaults=frozenset(["service_cidr", "dns_service_ip"]), vnet=vnet(prefixes=["10.0.0.0/8"], subnets=[
                         {"name": "nodes", "properties": {"addressPrefix": "10.240.0.0/16"}},
                         {"name": "pods", "properties": {"addressPrefix": "10.40.0.0/13"}}]))
WARNING_CASES = [
    ("service-cidr-in-vnet", vnet_mode(), RECORDED, "service_cidr 10.0.0.0/16 (AKS default) is inside VNet vnet address "
                                                    "space 10.0.0.0/8"),
]


def test_a_service_cidr_in_the_vnet_space_but_off_its_subnets_is_a_warning_not_a_failure():
    assert check(RECORDED) == []
    (rule_id, message), = warnings(RECORDED)
    assert rule_id == "service-cidr-in-vnet" and message.startswith("[service-cidr-in-vnet] service_cidr lies in the VNet")
    on_subnet = vnet_mode(service_cidr="10.240.0.0/16", dns_service_ip="10.240.0.10", vnet=RECORDED.vnet)
    assert failed(on_subnet) == ["service-cidr-subnet-overlap"] and warnings(on_subnet) == []  # the failure says it all


@pytest.mark.parametrize("rule_id, good, bad, text", WARNING_CASES, ids=[c[0] for c in WARNING_CASES])
def test_warning_rules_warn_and_never_fail(rule_id, good, bad, text):
    assert warnings(good) == [] and check(bad) == []
    messages = dict(warnings(bad))
    assert text in messages[rule_id] and messages[rule_id].startswith("[%s] " % rule_id)


@pytest.mark.parametrize("rule_id, good, bad, text", CASES, ids=["%s-%d" % (c[0], i) for i, c in enumerate(CASES)])
def test_rule_accepts_and_rejects(rule_id, good, bad, text):
    assert rule_id not in failed(good)
    messages = dict(check(bad))
    assert rule_id in messages
    assert messages[rule_id].startswith("[%s] " % rule_id)
    assert text in messages[rule_id]


def test_every_rule_has_cases():
    # the ACNS rows (_aks.acns.RULES) have their cases in test_acns.py
    acns_ids = set(row[0] for row in aks_acns.RULES)
    assert set(rule.rule_id for rule in RULES) - acns_ids == set(case[0] for case in CASES + WARNING_CASES)
    assert {rule.rule_id for rule in RULES if rule.warning} == {case[0] for case in WARNING_CASES}


def test_rule_ids_are_unique():
    ids = [rule.rule_id for rule in RULES]
    assert len(ids) == len(set(ids))


def test_vnet_rules_wait_for_the_vnet():
    facts = vnet_mode(vnet=None, service_cidr="192.168.0.0/16", dns_service_ip="192.168.0.10")
    assert failed(facts) == []
    facts.vnet = vnet()
    assert failed(facts) == ["service-cidr-subnet-overlap"]


def test_aks_defaults_are_named_in_messages():
    facts = overlay(service_cidr="10.0.0.0/16", dns_service_ip="10.0.0.10", given=frozenset(["pod_cidr"]),
                    defaults=frozenset(["service_cidr", "dns_service_ip"]), pod_cidr="10.0.0.0/8")
    assert "service_cidr 10.0.0.0/16 (AKS default)" in dict(check(facts))["pod-service-overlap"]


def test_several_failures_are_all_reported_in_table_order():
    facts = overlay(max_pods=300, service_cidr="10.0.0.0/8", dns_service_ip="10.0.0.1")
    assert failed(facts) == ["max-pods-range", "service-cidr-size", "dns-ip-not-first"]


def test_invalid_values_are_reported_once_not_by_every_rule():
    assert failed(overlay(pod_cidr="not-a-cidr", service_cidr="10.0.0.0/99")) == ["cidr-syntax"]


def test_module_documentation_names_every_rule():
    from ansible_collections.azcni.cilium.plugins.modules import aks_cilium_cluster

    missing = [rule.rule_id for rule in RULES if "C(%s)" % rule.rule_id not in aks_cilium_cluster.DOCUMENTATION]
    assert missing == []
