# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pre-flight rules of aks_cilium_nodepool: every rule accepts a good input and rejects a bad one, by name;
the capacity rules state the shortfall."""

from __future__ import annotations

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._aks.nodepool_rules import (
    RULES, SOURCES, PoolFacts, blocks_per_node, check)

NET = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/"
NODES = NET + "vnet/subnets/nodes"
PODS = NET + "vnet/subnets/pods-web"
OTHER_VNET = NET + "other/subnets/pods"


def usage(limit, in_use, name):
    return {"name": name, "limit": limit, "in_use": in_use}


def subnets(pods_limit=4091, pods_used=0, nodes_limit=1019, nodes_used=4):
    # a /20 pod subnet (4096 addresses) and a /22 node subnet (1024), as the Network RP reports them
    return {NODES.lower(): usage(nodes_limit, nodes_used, "nodes"), PODS.lower(): usage(pods_limit, pods_used, "pods-web")}


def pool(**changes):
    """A new Static Block user pool on its own pod subnet of a VNet-mode cluster, valid as it stands."""
    values = dict(name="web", mode="User", max_pods=63, count=2, max_count=10, vnet_subnet_id=NODES, pod_subnet_id=PODS,
                  allocation_mode="StaticBlock", allocation_mode_given=True, kubernetes_version="1.33.2",
                  cluster_ipam="vnet", cluster_vnet=("0000", "rg", "vnet"), other_system_pools=1, subnets=subnets())
    values.update(changes)
    return PoolFacts(**values)


def failed(facts):
    return [f[0] for f in check(facts)]


def test_a_valid_pool_passes_every_rule():
    assert check(pool()) == []
    assert check(pool(allocation_mode="DynamicIndividual", max_pods=30)) == []


# rule id -> (accepted facts, rejected facts, text the message must contain)
CASES = [
    ("pool-name", pool(name="web2"), pool(name="Web_2"), "'Web_2'"),
    ("pool-name", pool(), pool(name="averylongname"), "averylongname"),
    ("max-pods-range", pool(max_pods=250), pool(max_pods=251), "max_pods is 251"),
    ("autoscaler-bounds", pool(autoscaling=True, min_count=0, max_count=3),
     pool(autoscaling=True, min_count=4, max_count=3), "min_count 4, max_count 3"),
    ("autoscaler-bounds", pool(mode="System", autoscaling=True, min_count=1, max_count=3),
     pool(mode="System", autoscaling=True, min_count=0, max_count=3), "System pool needs min_count 1"),
    ("subnet-id-format", pool(), pool(pod_subnet_id="pods-web"), "pod_subnet_id"),
    ("node-pod-subnets-different", pool(), pool(pod_subnet_id=NODES), "both are"),
    ("subnets-in-cluster-vnet", pool(cluster_vnet=None, pod_subnet_id=OTHER_VNET, subnets=None),
     pool(pod_subnet_id=OTHER_VNET), "pod_subnet_id is in VNet rg/other; the cluster's pools use VNet rg/vnet"),
    ("ipam-mode-fields", pool(cluster_ipam="overlay", pod_subnet_id=None, allocation_mode=None, allocation_mode_given=False),
     pool(cluster_ipam="overlay"), "pod_subnet_id with a cluster in overlay mode"),
    ("ipam-mode-fields", pool(cluster_ipam="node-subnet", pod_subnet_id=None, allocation_mode=None,
                              allocation_mode_given=False),
     pool(cluster_ipam="node-subnet"), "the node subnet"),
    ("ipam-mode-fields", pool(), pool(pod_subnet_id=None, allocation_mode=None, allocation_mode_given=False),
     "every pool needs pod_subnet_id"),
    ("allocation-mode-needs-pod-subnet", pool(cluster_ipam="overlay", pod_subnet_id=None, allocation_mode=None,
                                              allocation_mode_given=False),
     pool(cluster_ipam="overlay", pod_subnet_id=None, allocation_mode=None), "without pod_subnet_id"),
    ("allocation-mode-new-pool-only", pool(exists=True, existing_allocation_mode="StaticBlock", current_count=2),
     pool(exists=True, existing_allocation_mode="DynamicIndividual", current_count=2),
     "pool web uses DynamicIndividual; asked for StaticBlock"),
    ("static-block-kubernetes-version", pool(kubernetes_version="1.28"), pool(kubernetes_version="1.27.9"),
     "Kubernetes 1.27.9"),
    ("one-allocation-mode-per-subnet", pool(subnet_users=[("aks1/other", "StaticBlock")]),
     pool(subnet_users=[("aks1/other", "StaticBlock"), ("aks2/nodepool1", "DynamicIndividual")]),
     "aks2/nodepool1 (DynamicIndividual); this pool asks for StaticBlock"),
    ("subnets-exist", pool(), pool(subnets={NODES.lower(): usage(1019, 4, "nodes")}), "pod_subnet_id " + PODS),
    # 63 max pods -> 4 blocks per node; a /26 (64 addresses) has 2 usable blocks: no room for a single node
    ("pod-subnet-capacity", pool(max_count=1, max_pods=31, subnets=subnets(pods_limit=59)),
     pool(max_count=1, subnets=subnets(pods_limit=59)), "1 more nodes x 4 /28 blocks (max_pods 63) = 4 blocks; it has 2 free"),
    # dynamic: 10 nodes x 30 pods = 300 addresses in a /24 with 100 used
    ("pod-subnet-capacity", pool(allocation_mode="DynamicIndividual", max_pods=30, max_count=5, subnets=subnets(251, 100)),
     pool(allocation_mode="DynamicIndividual", max_pods=30, subnets=subnets(251, 100)),
     "10 more nodes x 30 max_pods = 300 addresses; it has 151 free of 251: 149 short, room for 5 more nodes"),
    ("node-subnet-capacity", pool(subnets=subnets(nodes_limit=11, nodes_used=0)),
     pool(subnets=subnets(nodes_limit=11, nodes_used=4)), "it has 7 free of 11: 4 short"),
    ("node-subnet-capacity", pool(cluster_ipam="node-subnet", pod_subnet_id=None, allocation_mode=None,
                                  allocation_mode_given=False, max_pods=30, max_count=3, subnets=subnets()),
     pool(cluster_ipam="node-subnet", pod_subnet_id=None, allocation_mode=None, allocation_mode_given=False, max_pods=30,
          max_count=40, subnets=subnets()), "a node address and max_pods per node"),
    ("last-system-pool", pool(exists=True, was_system=True, deleting=True, other_system_pools=1),
     pool(exists=True, was_system=True, deleting=True, other_system_pools=0), "only System pool (delete)"),
    ("last-system-pool", pool(exists=True, was_system=True, mode="System", other_system_pools=0),
     pool(exists=True, was_system=True, mode="User", other_system_pools=0), "(mode User)"),
]


@pytest.mark.parametrize("rule_id, good, bad, text", CASES, ids=["%s-%d" % (c[0], i) for i, c in enumerate(CASES)])
def test_rule_accepts_and_rejects(rule_id, good, bad, text):
    assert rule_id not in failed(good)
    messages = dict(check(bad))
    assert rule_id in messages, check(bad)
    assert messages[rule_id].startswith("[%s] " % rule_id)
    assert text in messages[rule_id]


def test_every_rule_has_cases_and_a_source():
    assert set(rule.rule_id for rule in RULES) == set(case[0] for case in CASES) == set(SOURCES)


def test_network_rules_wait_for_the_subnets():
    facts = pool(subnets=None, subnet_users=[("aks2/nodepool1", "DynamicIndividual")])
    assert failed(facts) == []
    facts.subnets = subnets()
    assert failed(facts) == ["one-allocation-mode-per-subnet"]


def test_an_existing_pool_counts_only_the_nodes_it_adds():
    # 8 nodes already hold their 4 blocks each (512 addresses in use); growing to 10 needs 8 more blocks
    facts = pool(exists=True, existing_allocation_mode="StaticBlock", current_count=8,
                 subnets=subnets(pods_limit=251 + 256, pods_used=512))
    assert "2 more nodes x 4 /28 blocks" in dict(check(facts))["pod-subnet-capacity"]


def test_blocks_per_node_fit_16n_minus_1():
    assert [blocks_per_node(n) for n in (15, 16, 31, 63, 64, 250)] == [1, 2, 2, 4, 5, 16]


def test_module_documentation_names_every_rule():
    from ansible_collections.azcni.cilium.plugins.modules import aks_cilium_nodepool

    missing = [rule.rule_id for rule in RULES if "C(%s)" % rule.rule_id not in aks_cilium_nodepool.DOCUMENTATION]
    assert missing == []
