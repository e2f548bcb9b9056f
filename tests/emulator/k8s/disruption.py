"""The disruption controller (PodDisruptionBudget status) and the drain check a node upgrade makes.

Status follows kube-controller-manager's disruption controller:
- expectedPods: the pods' controllers' replica counts when the budget is a percentage or uses
  maxUnavailable; the number of matching pods for an integer minAvailable;
- desiredHealthy: minAvailable (scaled up for a percentage), or expectedPods - maxUnavailable;
- currentHealthy: matching pods that are Ready; disruptionsAllowed = max(0, current - desired).

`drain_blocker` is what an AKS node drain hits first: a pod on a node being drained, covered by a
budget that allows no disruption (the eviction API answers 429 "Cannot evict pod as it would
violate the pod's disruption budget").
"""

import math

from .api import CONTROLLER, timestamp
from .controllers import pod_ready
from .selection import labels_match, selector_requirements

PDB_KEY = "policy/poddisruptionbudgets"


def _scaled(value, total):
    if isinstance(value, str) and value.endswith("%"):
        return int(math.ceil(float(value[:-1]) * total / 100.0))
    return int(value)


def _is_percent(value):
    return isinstance(value, str) and value.endswith("%")


def matching_pods(store, pdb):
    namespace = pdb["metadata"]["namespace"]
    selector = (pdb.get("spec") or {}).get("selector")
    if selector is None:
        return []
    requirements = selector_requirements(selector)
    return [p for p in store.objects("/pods", namespace)
            if not p["metadata"].get("deletionTimestamp") and labels_match(requirements, p["metadata"].get("labels"))]


def _controller_replicas(store, pods):
    """Sum of the replicas of the pods' controllers (a Deployment's count for its ReplicaSets)."""
    total, seen = 0, set()
    for pod in pods:
        owner = next((r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
        if owner is None:
            continue
        obj = None
        if owner["kind"] == "ReplicaSet":
            obj = store.get("apps/replicasets", pod["metadata"]["namespace"], owner["name"])
            parent = next((r for r in (obj or {}).get("metadata", {}).get("ownerReferences") or [] if r.get("controller")),
                          None)
            if parent is not None and parent["kind"] == "Deployment":
                obj = store.get("apps/deployments", pod["metadata"]["namespace"], parent["name"]) or obj
        elif owner["kind"] == "StatefulSet":
            obj = store.get("apps/statefulsets", pod["metadata"]["namespace"], owner["name"])
        if obj is None or obj["metadata"]["uid"] in seen:
            continue
        seen.add(obj["metadata"]["uid"])
        total += int((obj.get("spec") or {}).get("replicas", 1))
    return total


def budget_status(store, pdb):
    spec = pdb.get("spec") or {}
    pods = matching_pods(store, pdb)
    healthy = sum(1 for p in pods if pod_ready(p))
    if "maxUnavailable" in spec:
        expected = _controller_replicas(store, pods) or len(pods)
        desired = max(0, expected - _scaled(spec["maxUnavailable"], expected))
    elif _is_percent(spec.get("minAvailable")):
        expected = _controller_replicas(store, pods) or len(pods)
        desired = _scaled(spec["minAvailable"], expected)
    else:
        expected = len(pods)
        desired = int(spec.get("minAvailable", 1))
    allowed = max(0, healthy - desired)
    return {"observedGeneration": pdb["metadata"].get("generation", 1), "disruptionsAllowed": allowed,
            "currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected}


class DisruptionController:
    """Keeps every PodDisruptionBudget's status current (run as one of Controllers' extra reconcilers)."""

    def __init__(self, api):
        self.api = api
        self.store = api.store
        self.wake = None  # set by the owner: wakes the controller loop when a budget is written
        self.store.add_listener(self._on_change)

    def _on_change(self, key, event_type, obj, old):
        del event_type, obj, old
        if key == PDB_KEY and self.wake is not None:
            self.wake()

    def reconcile(self):
        rtype = self.api.registry.get("policy", "v1", "poddisruptionbudgets")
        for pdb in list(self.store.objects(PDB_KEY)):
            status = budget_status(self.store, pdb)
            old = pdb.get("status") or {}
            old_cond = next((c for c in old.get("conditions") or [] if c.get("type") == "DisruptionAllowed"), None)
            ok = status["disruptionsAllowed"] > 0
            cond = {"type": "DisruptionAllowed", "status": "True" if ok else "False",
                    "reason": "SufficientPods" if ok else "InsufficientPods", "message": "",
                    "observedGeneration": status["observedGeneration"],
                    "lastTransitionTime": timestamp()}
            if old_cond is not None and old_cond.get("status") == cond["status"]:
                cond["lastTransitionTime"] = old_cond.get("lastTransitionTime")
            status["conditions"] = [cond]
            if status != old:
                new = dict(pdb, status=status)
                new["metadata"] = dict(pdb["metadata"])
                self.api.write(rtype, pdb, new, CONTROLLER, "status")


def drain_blocker(store, node_names):
    """(node, pod, budget, unready pod names) of the first eviction a drain of ``node_names`` cannot make, or None.

    DaemonSet pods are not evicted by a drain (kubectl drain --ignore-daemonsets, as AKS does).
    """
    budgets = list(store.objects(PDB_KEY))
    for node in node_names:
        for pod in store.objects("/pods"):
            if (pod.get("spec") or {}).get("nodeName") != node or pod["metadata"].get("deletionTimestamp"):
                continue
            owner = next((r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
            if owner is not None and owner.get("kind") == "DaemonSet":
                continue
            for pdb in budgets:
                if pdb["metadata"]["namespace"] != pod["metadata"]["namespace"]:
                    continue
                if pod not in matching_pods(store, pdb):
                    continue
                if budget_status(store, pdb)["disruptionsAllowed"] < 1:
                    unready = [p["metadata"]["name"] for p in matching_pods(store, pdb) if not pod_ready(p)]
                    return node, pod, pdb, unready
    return None


__all__ = ["DisruptionController", "budget_status", "drain_blocker"]
