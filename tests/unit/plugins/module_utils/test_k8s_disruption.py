# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PodDisruptionBudgets against a drain of every node."""

from __future__ import annotations

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._k8s.disruption import (
    drain_findings, selector_matches, surge_nodes)


def pod(name, node, labels, ready=True, namespace="default", owner="ReplicaSet"):
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels,
                         "ownerReferences": [{"kind": owner, "name": "x", "controller": True}]},
            "spec": {"nodeName": node},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def node(name, pool="system", os_type="linux"):
    return {"metadata": {"name": name, "labels": {"agentpool": pool, "kubernetes.io/os": os_type}}}


def budget(name, status=None, namespace="default", **spec):
    body = {"metadata": {"name": name, "namespace": namespace, "generation": 1},
            "spec": dict(spec, selector={"matchLabels": {"app": name}})}
    if status is not None:
        body["status"] = dict(status, observedGeneration=1)
    return body


NODES = [node("n0"), node("n1"), node("n2")]


@pytest.mark.parametrize("value,count,expected", [
    ("10%", 3, 1), ("33%", 10, 4), ("0", 3, 0), (2, 3, 2), (None, 5, 1), ("", 20, 2), ("bad", 3, 1)])
def test_surge_nodes(value, count, expected):
    assert surge_nodes(value, count) == expected


def test_selector_semantics():
    assert selector_matches({}, {"a": "1"}) and not selector_matches(None, {"a": "1"})
    assert selector_matches({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"})
    assert not selector_matches({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": "2"})


def test_budget_allowing_no_disruption_blocks_with_the_first_pod_named():
    pods = [pod("web-b", "n1", {"app": "web"}), pod("web-a", "n0", {"app": "web"})]
    blockers, warnings = drain_findings([budget("web", {"disruptionsAllowed": 0}, maxUnavailable=0)], pods, NODES, {})
    assert [b["id"] for b in blockers] == ["pdb-no-disruptions"] and warnings == []
    assert blockers[0]["object"] == "poddisruptionbudget/default/web"
    assert "node n0" in blockers[0]["message"] and "pod web-a" in blockers[0]["message"]
    assert "maxUnavailable 0" in blockers[0]["message"] and "2 of 2 pods healthy" in blockers[0]["message"]


def test_status_is_computed_when_the_controller_has_not_reported():
    pods = [pod("db-0", "n0", {"app": "db"}), pod("db-1", "n1", {"app": "db"}, ready=False)]
    blockers, _warnings = drain_findings([budget("db", minAvailable=1)], pods, NODES, {})
    assert [b["id"] for b in blockers] == ["pdb-no-disruptions"]  # 1 healthy, 1 required
    fine, _warnings = drain_findings([budget("db", minAvailable="50%")],
                                     [pod("db-0", "n0", {"app": "db"}), pod("db-1", "n1", {"app": "db"})], NODES, {})
    assert fine == []


def test_pods_crowded_on_one_node_slow_the_drain_or_block_it_without_surge():
    pods = [pod("api-%d" % i, "n0", {"app": "api"}) for i in range(3)] + [pod("api-3", "n1", {"app": "api"})]
    pdbs = [budget("api", {"disruptionsAllowed": 1}, maxUnavailable=1)]
    blockers, warnings = drain_findings(pdbs, pods, NODES, {"system": 1})
    assert blockers == [] and [w["id"] for w in warnings] == ["pdb-slow-drain"]
    assert "node n0 holds 3 pods" in warnings[0]["message"]
    blockers, warnings = drain_findings(pdbs, pods, NODES, {"system": 0})
    assert [b["id"] for b in blockers] == ["pdb-unsatisfiable-drain"] and warnings == []


def test_daemonset_pods_other_namespaces_and_windows_nodes_are_left_out():
    pods = [pod("agent", "n0", {"app": "web"}, owner="DaemonSet"), pod("web", "n0", {"app": "web"}, namespace="other"),
            pod("win", "w0", {"app": "web"})]
    nodes = NODES + [node("w0", pool="win", os_type="windows")]
    assert drain_findings([budget("web", {"disruptionsAllowed": 0}, maxUnavailable=0)], pods, nodes, {}) == ([], [])
