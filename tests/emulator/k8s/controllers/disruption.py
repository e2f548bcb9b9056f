"""The disruption controller: the status of each PodDisruptionBudget (how many matching pods are healthy,
how many must stay, how many evictions are allowed now), which is what a drain or an eviction checks."""

import math

from ..api import timestamp
from ..selection import labels_match, selector_requirements
from .common import Controller, pod_ready


class DisruptionController(Controller):

    def reconcile(self, pdb, pods):
        spec = pdb.get("spec") or {}
        requirements = selector_requirements(spec.get("selector") or {})
        namespace = pdb["metadata"]["namespace"]
        matched = [p for p in pods if p["metadata"].get("namespace") == namespace and not p["metadata"].get("deletionTimestamp")
                   and labels_match(requirements, p["metadata"].get("labels"))]
        expected = len(matched)
        healthy = sum(1 for p in matched if pod_ready(p))
        desired = _desired_healthy(spec, expected)
        allowed = max(healthy - desired, 0)
        old = pdb.get("status") or {}
        previous = next((c for c in old.get("conditions") or [] if c.get("type") == "DisruptionAllowed"), {})
        state = "True" if allowed > 0 else "False"
        condition = {"type": "DisruptionAllowed", "status": state, "observedGeneration": pdb["metadata"].get("generation", 1),
                     "reason": "SufficientPods" if allowed > 0 else "InsufficientPods", "message": "",
                     "lastTransitionTime": previous.get("lastTransitionTime") if previous.get("status") == state else timestamp()}
        status = {"currentHealthy": healthy, "desiredHealthy": desired, "disruptionsAllowed": allowed,
                  "expectedPods": expected, "observedGeneration": pdb["metadata"].get("generation", 1),
                  "conditions": [condition]}
        self.write_status(self.types["policy/poddisruptionbudgets"], pdb, status)


def _desired_healthy(spec, expected):
    """minAvailable, or expected - maxUnavailable (percentages of the expected pods, rounded up as Kubernetes does)."""
    def count(value):
        if isinstance(value, str) and value.endswith("%"):
            return int(math.ceil(int(value[:-1]) * expected / 100.0))
        return int(value)
    if spec.get("minAvailable") is not None:
        return count(spec["minAvailable"])
    if spec.get("maxUnavailable") is not None:
        return max(expected - count(spec["maxUnavailable"]), 0)
    return expected
