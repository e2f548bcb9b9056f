"""The Deployment controller: ReplicaSets named <deployment>-<pod-template-hash> with revision annotations,
RollingUpdate (maxSurge/maxUnavailable) or Recreate, history cleanup, and the Available/Progressing
conditions including the progress deadline."""

import copy
import time

from ..api import CONTROLLER, parse_time, timestamp
from .common import Controller, controller_uid, owner_ref, scaled, template_hash


class DeploymentController(Controller):

    def reconcile(self, deploy, pods_by_owner):
        if deploy["metadata"].get("deletionTimestamp"):
            return
        rs_type = self.types["apps/replicasets"]
        spec = deploy["spec"]
        namespace, uid = deploy["metadata"]["namespace"], deploy["metadata"]["uid"]
        owned = [rs for rs in self.store.objects(rs_type.key, namespace) if controller_uid(rs) == uid]
        template = spec.get("template") or {}
        new_rs = next((rs for rs in owned if _same_template(rs, template)), None)
        replicas = spec.get("replicas", 1)
        revisions = [int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0")) for rs in owned]
        created = False
        if spec.get("paused"):
            self._deployment_status(deploy, owned, new_rs, created)
            return
        if new_rs is None:
            new_rs = self._create_rs(deploy, template, max(revisions, default=0) + 1, owned)
            created = True
            owned.append(new_rs)
        elif int((new_rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0")) < max(revisions):
            new_rs = self._annotate_rs(new_rs, deploy, max(revisions) + 1)
        old = [rs for rs in owned if rs["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        strategy = spec.get("strategy") or {}
        if strategy.get("type") == "Recreate":
            for rs in old:
                self._scale_rs(rs, 0, deploy)
            if not any(pods_by_owner.get(rs["metadata"]["uid"]) for rs in old):
                new_rs = self._scale_rs(new_rs, replicas, deploy)
        else:
            new_rs = self._roll_deployment(deploy, new_rs, old, replicas, strategy.get("rollingUpdate") or {})
        self._cleanup_rs(deploy, old)
        owned = [rs for rs in self.store.objects(rs_type.key, namespace) if controller_uid(rs) == uid]
        new_rs = next((rs for rs in owned if rs["metadata"]["uid"] == new_rs["metadata"]["uid"]), new_rs)
        self._deployment_status(deploy, owned, new_rs, created)

    def _roll_deployment(self, deploy, new_rs, old, replicas, rolling):
        max_surge = scaled(rolling.get("maxSurge", "25%"), replicas, True)
        max_unavailable = scaled(rolling.get("maxUnavailable", "25%"), replicas, False)
        if max_surge == 0 and max_unavailable == 0:
            max_unavailable = 1
        everyone = [new_rs] + old
        total = sum(rs["spec"].get("replicas", 0) for rs in everyone)
        new_count = new_rs["spec"].get("replicas", 0)
        if new_count > replicas:
            new_rs = self._scale_rs(new_rs, replicas, deploy)
        elif new_count < replicas and total < replicas + max_surge:
            new_rs = self._scale_rs(new_rs, min(replicas, new_count + replicas + max_surge - total), deploy)
        available = sum((rs.get("status") or {}).get("availableReplicas", 0) for rs in everyone)
        min_available = replicas - max_unavailable
        new_unavailable = new_rs["spec"].get("replicas", 0) - (new_rs.get("status") or {}).get("availableReplicas", 0)
        all_count = sum(rs["spec"].get("replicas", 0) for rs in [new_rs] + old)
        budget = all_count - min_available - new_unavailable
        for rs in sorted(old, key=lambda r: r["metadata"].get("creationTimestamp", "")):
            if budget <= 0:
                break
            current = rs["spec"].get("replicas", 0)
            unhealthy = current - (rs.get("status") or {}).get("availableReplicas", 0)
            cut = min(max(unhealthy, 0), budget, current)
            if cut:
                budget -= cut
                rs = self._scale_rs(rs, current - cut, deploy)
        scale_budget = available - min_available
        for rs in sorted(old, key=lambda r: r["metadata"].get("creationTimestamp", "")):
            fresh = self.store.get("apps/replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"]) or rs
            current = fresh["spec"].get("replicas", 0)
            if scale_budget <= 0 or not current:
                continue
            cut = min(current, scale_budget)
            scale_budget -= cut
            self._scale_rs(fresh, current - cut, deploy)
        return new_rs

    def _create_rs(self, deploy, template, revision, owned):
        hash_value = template_hash(template)
        collision = 0
        while any(rs["metadata"]["name"] == "%s-%s" % (deploy["metadata"]["name"], hash_value) for rs in owned):
            collision += 1
            hash_value = template_hash(template, collision)
        template = copy.deepcopy(template)
        labels = dict((template.get("metadata") or {}).get("labels") or {}, **{"pod-template-hash": hash_value})
        template.setdefault("metadata", {})["labels"] = labels
        selector = copy.deepcopy(deploy["spec"].get("selector") or {})
        selector.setdefault("matchLabels", {})["pod-template-hash"] = hash_value
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": "%s-%s" % (deploy["metadata"]["name"], hash_value),
                           "namespace": deploy["metadata"]["namespace"], "labels": labels,
                           "annotations": self._rs_annotations(deploy, revision),
                           "ownerReferences": [owner_ref(deploy)]},
              "spec": {"replicas": 0, "minReadySeconds": deploy["spec"].get("minReadySeconds", 0),
                       "selector": selector, "template": template}}
        created, _unused = self.api.create(self.types["apps/replicasets"], deploy["metadata"]["namespace"], rs, CONTROLLER)
        return created

    @staticmethod
    def _rs_annotations(deploy, revision):
        replicas = deploy["spec"].get("replicas", 1)
        surge = scaled(((deploy["spec"].get("strategy") or {}).get("rollingUpdate") or {}).get("maxSurge", "25%"), replicas, True)
        return {"deployment.kubernetes.io/desired-replicas": str(replicas),
                "deployment.kubernetes.io/max-replicas": str(replicas + surge),
                "deployment.kubernetes.io/revision": str(revision)}

    def _annotate_rs(self, rs, deploy, revision):
        new = copy.deepcopy(rs)
        new["metadata"].setdefault("annotations", {}).update(self._rs_annotations(deploy, revision))
        return self.api.write(self.types["apps/replicasets"], rs, new) or rs

    def _scale_rs(self, rs, replicas, deploy):
        current = rs["spec"].get("replicas", 0)
        if current == replicas:
            return rs
        new = copy.deepcopy(rs)
        new["spec"]["replicas"] = replicas
        new["metadata"].setdefault("annotations", {}).update(
            {k: v for k, v in self._rs_annotations(deploy, 0).items() if not k.endswith("revision")})
        written = self.api.write(self.types["apps/replicasets"], rs, new)
        if written is None:
            return rs
        verb = "up" if replicas > current else "down"
        self._event(deploy, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d"
                    % (verb, rs["metadata"]["name"], current, replicas))
        return written

    def _cleanup_rs(self, deploy, old):
        limit = deploy["spec"].get("revisionHistoryLimit", 10)
        idle = [rs for rs in old if not rs["spec"].get("replicas") and not (rs.get("status") or {}).get("replicas")]
        idle.sort(key=lambda rs: int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0")))
        for rs in idle[:max(len(idle) - limit, 0)]:
            self.api.remove(self.types["apps/replicasets"], rs)

    def _deployment_status(self, deploy, owned, new_rs, created):
        spec = deploy["spec"]
        replicas = spec.get("replicas", 1)
        old_status = deploy.get("status") or {}
        statuses = [rs.get("status") or {} for rs in owned]
        new_status = (new_rs or {}).get("status") or {}
        max_unavailable = scaled(((spec.get("strategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", "25%"),
                                 replicas, False)
        status = {"observedGeneration": deploy["metadata"].get("generation", 1),
                  "replicas": sum(s.get("replicas", 0) for s in statuses),
                  "updatedReplicas": new_status.get("replicas", 0),
                  "readyReplicas": sum(s.get("readyReplicas", 0) for s in statuses),
                  "availableReplicas": sum(s.get("availableReplicas", 0) for s in statuses)}
        status["unavailableReplicas"] = max(replicas - status["availableReplicas"], 0) if status["replicas"] else 0
        for key in ("readyReplicas", "availableReplicas", "unavailableReplicas", "updatedReplicas", "replicas"):
            if not status[key]:
                del status[key]
        now = timestamp()
        conditions = {c["type"]: dict(c) for c in old_status.get("conditions") or []}
        available_ok = status.get("availableReplicas", 0) >= replicas - max_unavailable
        _set_condition(conditions, "Available", available_ok,
                       "MinimumReplicasAvailable" if available_ok else "MinimumReplicasUnavailable",
                       "Deployment has minimum availability." if available_ok else "Deployment does not have minimum availability.",
                       now)
        if new_rs is not None and not spec.get("paused"):
            self._progress(deploy, conditions, status, old_status, new_rs, created, now)
        status["conditions"] = [conditions[t] for t in ("Available", "Progressing", "ReplicaFailure") if t in conditions]
        written = self.write_status(self.types["apps/deployments"], deploy, status)
        revision = ((new_rs or {}).get("metadata", {}).get("annotations") or {}).get("deployment.kubernetes.io/revision")
        if revision and (written["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision") != revision:
            new = copy.deepcopy(written)
            new["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = revision
            self.api.write(self.types["apps/deployments"], written, new)

    def _progress(self, deploy, conditions, status, old_status, new_rs, created, now):
        name = new_rs["metadata"]["name"]
        replicas = deploy["spec"].get("replicas", 1)
        complete = (status.get("updatedReplicas", 0) == replicas and status.get("replicas", 0) == replicas
                    and status.get("availableReplicas", 0) == replicas)
        progressing = conditions.get("Progressing")
        advanced = any(status.get(k, 0) != old_status.get(k, 0) for k in ("updatedReplicas", "readyReplicas", "availableReplicas",
                                                                          "replicas"))
        if created:
            _set_condition(conditions, "Progressing", True, "NewReplicaSetCreated", 'Created new replica set "%s"' % name, now,
                           touch=True)
        elif complete:
            _set_condition(conditions, "Progressing", True, "NewReplicaSetAvailable",
                           'ReplicaSet "%s" has successfully progressed.' % name, now,
                           touch=not progressing or progressing.get("reason") != "NewReplicaSetAvailable")
        elif advanced or progressing is None or (progressing.get("reason") == "NewReplicaSetAvailable"):
            _set_condition(conditions, "Progressing", True, "ReplicaSetUpdated", 'ReplicaSet "%s" is progressing.' % name, now,
                           touch=True)
        deadline = deploy["spec"].get("progressDeadlineSeconds", 600)
        progressing = conditions["Progressing"]
        if not complete and progressing.get("reason") != "ProgressDeadlineExceeded":
            since = parse_time(progressing.get("lastUpdateTime"))
            if since is not None and time.time() - since > deadline:
                _set_condition(conditions, "Progressing", False, "ProgressDeadlineExceeded",
                               'ReplicaSet "%s" has timed out progressing.' % name, now, touch=True)
            elif since is not None:
                self.at(time.monotonic() + max(since + deadline - time.time(), 0) + 1.0)

    def _event(self, obj, reason, message):
        now = timestamp()
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"generateName": obj["metadata"]["name"] + ".", "namespace": obj["metadata"]["namespace"]},
                 "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
                                    "namespace": obj["metadata"]["namespace"], "uid": obj["metadata"]["uid"],
                                    "resourceVersion": obj["metadata"].get("resourceVersion")},
                 "reason": reason, "message": message, "type": "Normal", "count": 1,
                 "firstTimestamp": now, "lastTimestamp": now,
                 "source": {"component": "deployment-controller"}, "reportingComponent": "deployment-controller"}
        self.api.create(self.types["/events"], obj["metadata"]["namespace"], event, CONTROLLER)


def _set_condition(conditions, kind, ok, reason, message, now, touch=False):
    status = "True" if ok else "False"
    cond = conditions.get(kind)
    if cond is None or cond.get("status") != status:
        conditions[kind] = {"type": kind, "status": status, "lastUpdateTime": now, "lastTransitionTime": now,
                            "reason": reason, "message": message}
        return
    changed = cond.get("reason") != reason or cond.get("message") != message
    cond.update(reason=reason, message=message)
    if touch or changed:
        cond["lastUpdateTime"] = now


def _same_template(rs, template):
    rs_template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    labels = (rs_template.get("metadata") or {}).get("labels")
    if labels is not None:
        labels.pop("pod-template-hash", None)
    wanted = copy.deepcopy(template)
    (wanted.get("metadata") or {}).pop("creationTimestamp", None)
    (rs_template.get("metadata") or {}).pop("creationTimestamp", None)
    return rs_template == wanted
