"""The ReplicaSet controller: create or delete pods (unready and youngest first) to match spec.replicas,
spreading new ones over the least busy schedulable nodes."""

import time

from .common import Controller, node_schedulable, pod_available, pod_ready


class ReplicaSetController(Controller):

    def reconcile(self, rs, nodes, pods):
        if rs["metadata"].get("deletionTimestamp"):
            return
        spec = rs["spec"]
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        wanted = spec.get("replicas", 1)
        template = spec.get("template") or {}
        if len(live) < wanted:
            ready_nodes = [n for n in nodes if node_schedulable(n, template)]
            load = {n["metadata"]["name"]: 0 for n in ready_nodes}
            for pod in live:
                if pod["spec"].get("nodeName") in load:
                    load[pod["spec"]["nodeName"]] += 1
            labels = dict((template.get("metadata") or {}).get("labels") or {})
            for _unused in range(wanted - len(live)):
                node_name = min(load, key=lambda n: (load[n], n)) if load else None
                if node_name:
                    load[node_name] += 1
                live.append(self.new_pod(rs, template, labels, node_name))
        elif len(live) > wanted:
            doomed = sorted(live, key=lambda p: (pod_ready(p), p["metadata"].get("creationTimestamp", "")), reverse=False)
            doomed = doomed[:len(live) - wanted]
            for pod in doomed:
                self.api.remove(self.types["/pods"], pod)
            live = [p for p in live if p not in doomed]
        now = time.time()
        min_ready = spec.get("minReadySeconds") or 0
        fresh = [self.store.get("/pods", p["metadata"]["namespace"], p["metadata"]["name"]) or p for p in live]
        status = {"replicas": len(fresh),
                  "fullyLabeledReplicas": len(fresh),
                  "readyReplicas": sum(1 for p in fresh if pod_ready(p)),
                  "availableReplicas": sum(1 for p in fresh if pod_available(p, min_ready, now)),
                  "observedGeneration": rs["metadata"].get("generation", 1)}
        for key in ("readyReplicas", "availableReplicas", "fullyLabeledReplicas"):
            if not status[key]:
                del status[key]
        self.write_status(self.types["apps/replicasets"], rs, status)
