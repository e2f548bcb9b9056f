"""The DaemonSet controller: one pod per eligible node, ControllerRevisions named <daemonset>-<hash>,
RollingUpdate with maxSurge/maxUnavailable (unhealthy old pods first) or OnDelete, and the status kubectl reads."""

import copy
import time

from ..api import CONTROLLER
from .common import Controller, controller_uid, node_fits, owner_ref, pod_available, pod_ready, scaled, template_hash


class DaemonSetController(Controller):

    def reconcile(self, ds, nodes, pods):
        if ds["metadata"].get("deletionTimestamp"):
            return
        spec = ds["spec"]
        template = spec.get("template") or {}
        hash_value = template_hash(template)
        self._revision(ds, template, hash_value)
        eligible = [n["metadata"]["name"] for n in nodes if node_fits(n, template)]
        eligible_set = set(eligible)
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        by_node = {}
        for pod in live:
            by_node.setdefault(pod["spec"].get("nodeName"), []).append(pod)
        min_ready = spec.get("minReadySeconds") or 0
        now = time.time()
        for node_name, node_pods in by_node.items():
            if node_name not in eligible_set:
                for pod in node_pods:
                    self.api.remove(self.types["/pods"], pod)
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels.update({"controller-revision-hash": hash_value, "pod-template-generation": str(ds["metadata"].get("generation", 1))})
        strategy = spec.get("updateStrategy") or {}
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        desired = len(eligible)
        max_surge = scaled((strategy.get("rollingUpdate") or {}).get("maxSurge", 0), desired, True) if rolling else 0
        max_unavailable = scaled((strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1), desired, True) if rolling else 0
        if rolling and max_surge == 0 and max_unavailable == 0:
            max_unavailable = 1
        unavailable = 0
        old_pods = []  # (node, pod, available, has_new_pod)
        surging = 0
        for node_name in eligible:
            node_pods = by_node.get(node_name, [])
            new = [p for p in node_pods if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == hash_value]
            old = [p for p in node_pods if p not in new]
            if not node_pods:
                self.new_pod(ds, template, labels, node_name)
                unavailable += 1
                continue
            available = any(pod_available(p, min_ready, now) for p in node_pods)
            if not available:
                unavailable += 1
            if new and old:
                surging += 1
                if any(pod_available(p, min_ready, now) for p in new):
                    for pod in old:
                        self.api.remove(self.types["/pods"], pod)
                continue
            for pod in old:
                old_pods.append((node_name, pod, pod_available(pod, min_ready, now)))
        if rolling:
            self._roll_daemonset(ds, template, labels, old_pods, max_surge, max_unavailable - unavailable, surging)
        self._daemonset_status(ds, eligible_set, by_node, hash_value, min_ready)

    def _roll_daemonset(self, ds, template, labels, old_pods, max_surge, budget, surging):
        pods_type = self.types["/pods"]
        for node_name, pod, available in old_pods:
            if not available:
                self.api.remove(pods_type, pod)  # unhealthy old pods go first, they cost no availability
                if max_surge:
                    self.new_pod(ds, template, labels, node_name)
            elif max_surge:
                if surging < max_surge:
                    surging += 1
                    self.new_pod(ds, template, labels, node_name)
            elif budget > 0:
                budget -= 1
                self.api.remove(pods_type, pod)

    def _daemonset_status(self, ds, eligible, by_node, hash_value, min_ready):
        now = time.time()
        counts = {"current": 0, "ready": 0, "available": 0, "updated": 0, "misscheduled": 0}
        fresh = {}
        for node_name, stale_pods in by_node.items():
            pods = [self.store.get("/pods", p["metadata"]["namespace"], p["metadata"]["name"]) for p in stale_pods]
            fresh[node_name] = [p for p in pods if p is not None and not p["metadata"].get("deletionTimestamp")]
        for node_name in eligible:
            pods = fresh.get(node_name) or []
            if pods:
                counts["current"] += 1
            if any(pod_ready(p) for p in pods):
                counts["ready"] += 1
            if any(pod_available(p, min_ready, now) for p in pods):
                counts["available"] += 1
            elif any(pod_ready(p) for p in pods) and min_ready:
                self.at(time.monotonic() + min_ready)
            if any((p["metadata"].get("labels") or {}).get("controller-revision-hash") == hash_value for p in pods):
                counts["updated"] += 1
        counts["misscheduled"] = sum(1 for node_name, pods in fresh.items() if pods and node_name not in eligible)
        desired = len(eligible)
        status = {"currentNumberScheduled": counts["current"], "numberMisscheduled": counts["misscheduled"],
                  "desiredNumberScheduled": desired, "numberReady": counts["ready"],
                  "observedGeneration": ds["metadata"].get("generation", 1),
                  "updatedNumberScheduled": counts["updated"], "numberAvailable": counts["available"]}
        if desired - counts["available"] > 0:
            status["numberUnavailable"] = desired - counts["available"]
        self.write_status(self.types["apps/daemonsets"], ds, status)

    def _revision(self, ds, template, hash_value):
        cr_type = self.types["apps/controllerrevisions"]
        namespace, uid = ds["metadata"]["namespace"], ds["metadata"]["uid"]
        owned = [cr for cr in self.store.objects(cr_type.key, namespace) if controller_uid(cr) == uid]
        top = max((cr.get("revision", 0) for cr in owned), default=0)
        name = "%s-%s" % (ds["metadata"]["name"], hash_value)
        current = next((cr for cr in owned if cr["metadata"]["name"] == name), None)
        if current is None:
            data_template = copy.deepcopy(template)
            data_template["$patch"] = "replace"
            labels = dict((template.get("metadata") or {}).get("labels") or {}, **{"controller-revision-hash": hash_value})
            revision = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
                        "metadata": {"name": name, "namespace": namespace, "labels": labels,
                                     "ownerReferences": [owner_ref(ds)]},
                        "data": {"spec": {"template": data_template}}, "revision": top + 1}
            self.api.create(cr_type, namespace, revision, CONTROLLER)
            owned.append(revision)
        elif current.get("revision", 0) < top:
            self.api.write(cr_type, current, dict(current, revision=top + 1))
        limit = (ds.get("spec") or {}).get("revisionHistoryLimit", 10)
        history = sorted((cr for cr in owned if cr["metadata"]["name"] != name), key=lambda cr: cr.get("revision", 0))
        for cr in history[:max(len(history) - limit, 0)]:
            if "uid" in cr["metadata"]:
                self.api.remove(cr_type, cr)
