# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PodDisruptionBudgets against a drain of every node: what would make AKS's reimage fail or crawl.

A node drain evicts every pod that is not a DaemonSet's; the eviction API refuses (429) while the
pod's budget allows no disruption, and AKS then fails the operation with UpgradeFailed
(aka.ms/aks/debugdrainfailures). Pure functions over plain JSON objects.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import math


def selector_matches(selector, labels):
    """metav1.LabelSelector semantics: an empty selector matches everything, None matches nothing."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, operator, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if (operator == "In" and (not present or labels[key] not in values)) or \
                (operator == "NotIn" and present and labels[key] in values) or \
                (operator == "Exists" and not present) or (operator == "DoesNotExist" and present):
            return False
    return True


def _ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _daemon_pod(pod):
    return any(ref.get("kind") == "DaemonSet" and ref.get("controller")
               for ref in (pod.get("metadata") or {}).get("ownerReferences") or [])


def surge_nodes(max_surge, count):
    """Surge nodes a pool gets for a reimage: maxSurge as a number or a percentage of the pool (rounded up)."""
    text = str(max_surge if max_surge not in (None, "") else "10%").strip()
    try:
        if text.endswith("%"):
            return int(math.ceil(float(text[:-1]) * int(count or 0) / 100.0))
        return int(text)
    except ValueError:
        return 1


def _allowed(pdb, pods):
    """disruptionsAllowed as the disruption controller reports it, or computed when it has not yet."""
    status = pdb.get("status") or {}
    generation = (pdb.get("metadata") or {}).get("generation")
    if "disruptionsAllowed" in status and (generation is None or status.get("observedGeneration") == generation):
        return int(status["disruptionsAllowed"])
    spec = pdb.get("spec") or {}
    healthy, expected = sum(1 for p in pods if _ready(p)), len(pods)

    def scaled(value):
        return int(math.ceil(float(value[:-1]) * expected / 100.0)) if str(value).endswith("%") else int(value)
    if "maxUnavailable" in spec:
        desired = expected - scaled(spec["maxUnavailable"])
    else:
        desired = scaled(spec.get("minAvailable", 1))
    return max(0, healthy - desired)


def drain_findings(pdbs, pods, nodes, surge_by_pool):
    """(blockers, warnings) as {id, message, object} for draining every node of the pools.

    ``surge_by_pool`` maps an agent pool name to the surge nodes it gets.
    """
    pool_of = dict((n["metadata"]["name"], (n["metadata"].get("labels") or {}).get("agentpool")) for n in nodes)
    linux = set(n["metadata"]["name"] for n in nodes
                if (n["metadata"].get("labels") or {}).get("kubernetes.io/os", "linux") == "linux")
    blockers, warnings = [], []
    for pdb in sorted(pdbs, key=lambda p: (p["metadata"].get("namespace", ""), p["metadata"]["name"])):
        namespace, name = pdb["metadata"].get("namespace", ""), pdb["metadata"]["name"]
        selector = (pdb.get("spec") or {}).get("selector")
        covered = [p for p in pods if p["metadata"].get("namespace") == namespace and not _daemon_pod(p)
                   and not p["metadata"].get("deletionTimestamp")
                   and selector_matches(selector, p["metadata"].get("labels"))]
        on_nodes = [p for p in covered if (p.get("spec") or {}).get("nodeName") in linux]
        if not on_nodes:
            continue
        obj = "poddisruptionbudget/%s/%s" % (namespace, name)
        allowed = _allowed(pdb, covered)
        spec = pdb.get("spec") or {}
        rule = ("minAvailable %s" % spec["minAvailable"]) if "minAvailable" in spec else \
            ("maxUnavailable %s" % spec.get("maxUnavailable"))
        if allowed < 1:
            first = sorted(on_nodes, key=lambda p: (p["spec"]["nodeName"], p["metadata"]["name"]))[0]
            blockers.append({"id": "pdb-no-disruptions", "object": obj, "message": (
                "PodDisruptionBudget %s/%s (%s) allows 0 disruptions with %d of %d pods healthy: the drain of node %s "
                "fails when evicting pod %s (AKS: UpgradeFailed, Too Many Requests). Scale the workload up or relax "
                "the budget first" % (namespace, name, rule, sum(1 for p in covered if _ready(p)), len(covered),
                                      first["spec"]["nodeName"], first["metadata"]["name"]))})
            continue
        per_node = {}
        for pod in on_nodes:
            per_node.setdefault(pod["spec"]["nodeName"], []).append(pod)
        node, busiest = max(per_node.items(), key=lambda item: (len(item[1]), item[0]))
        if len(busiest) <= allowed:
            continue
        surge = surge_by_pool.get(pool_of.get(node), 1)
        text = ("node %s holds %d pods of PodDisruptionBudget %s/%s (%s), which allows %d disruption(s)"
                % (node, len(busiest), namespace, name, rule, allowed))
        if surge < 1:
            blockers.append({"id": "pdb-unsatisfiable-drain", "object": obj, "message": text + (
                "; pool %s has no surge node (maxSurge 0) and every node is cordoned for the reimage, so the evicted "
                "pods have nowhere to become Ready again" % pool_of.get(node))})
        else:
            warnings.append({"id": "pdb-slow-drain", "object": obj, "message": text + (
                "; the drain evicts them %d at a time, each waiting for a replacement to be Ready on a surge node"
                % allowed)})
    return blockers, warnings
