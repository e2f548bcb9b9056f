# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Workload readiness as kubectl judges it, and why pods are not ready.

* ``daemonset_status`` / ``deployment_status``: the predicates of kubectl's ``rollout status``
  (``pkg/polymorphichelpers/rollout_status.go``), same order of checks, same messages.
* ``pod_diagnosis``: which pods of a workload are not ready and why.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

from ansible_collections.azcni.cilium.plugins.module_utils._k8s.resources import path


# --- small accessors ---------------------------------------------------------------------------
def _meta(obj):
    return obj.get("metadata") or {}


def _spec(obj):
    return obj.get("spec") or {}


def _status(obj):
    return obj.get("status") or {}


def _int(value):
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _generation_observed(obj):
    # kubectl: "if generation <= status.observedGeneration"
    return _int(_meta(obj).get("generation")) <= _int(_status(obj).get("observedGeneration"))


# --- rollout status predicates (kubectl rollout_status.go) -------------------------------------
def daemonset_status(ds):
    """(message, done, error) for a DaemonSet, exactly as ``kubectl rollout status`` decides it."""
    name = _meta(ds).get("name")
    strategy = (_spec(ds).get("updateStrategy") or {}).get("type") or "RollingUpdate"
    if strategy != "RollingUpdate":
        return "", True, "rollout status is only available for RollingUpdate strategy type"
    if not _generation_observed(ds):
        return "Waiting for daemon set spec update to be observed...", False, None
    status = _status(ds)
    desired = _int(status.get("desiredNumberScheduled"))
    updated = _int(status.get("updatedNumberScheduled"))
    available = _int(status.get("numberAvailable"))
    if updated < desired:
        return ('Waiting for daemon set "%s" rollout to finish: %d out of %d new pods have been updated...'
                % (name, updated, desired)), False, None
    if available < desired:
        return ('Waiting for daemon set "%s" rollout to finish: %d of %d updated pods are available...'
                % (name, available, desired)), False, None
    return 'daemon set "%s" successfully rolled out' % name, True, None


def deployment_status(deploy):
    """(message, done, error) for a Deployment, exactly as ``kubectl rollout status`` decides it."""
    name = _meta(deploy).get("name")
    if not _generation_observed(deploy):
        return "Waiting for deployment spec update to be observed...", False, None
    status = _status(deploy)
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            return "", False, 'deployment "%s" exceeded its progress deadline' % name
    replicas = _spec(deploy).get("replicas")
    updated = _int(status.get("updatedReplicas"))
    current = _int(status.get("replicas"))
    available = _int(status.get("availableReplicas"))
    if replicas is not None and updated < _int(replicas):
        return ('Waiting for deployment "%s" rollout to finish: %d out of %d new replicas have been updated...'
                % (name, updated, _int(replicas))), False, None
    if current > updated:
        return ('Waiting for deployment "%s" rollout to finish: %d old replicas are pending termination...'
                % (name, current - updated)), False, None
    if available < updated:
        return ('Waiting for deployment "%s" rollout to finish: %d of %d updated replicas are available...'
                % (name, available, updated)), False, None
    return 'deployment "%s" successfully rolled out' % name, True, None


def rollout_counters(obj):
    """The status counters a runbook looks at, with the spec's generation beside the observed one."""
    status = _status(obj)
    counters = dict(generation=_int(_meta(obj).get("generation")),
                    observed_generation=_int(status.get("observedGeneration")))
    if obj.get("kind") == "Deployment":
        counters.update(replicas=_int(_spec(obj).get("replicas", 1)), current=_int(status.get("replicas")),
                        updated=_int(status.get("updatedReplicas")), ready=_int(status.get("readyReplicas")),
                        available=_int(status.get("availableReplicas")),
                        unavailable=_int(status.get("unavailableReplicas")))
    else:
        counters.update(desired=_int(status.get("desiredNumberScheduled")),
                        current=_int(status.get("currentNumberScheduled")),
                        updated=_int(status.get("updatedNumberScheduled")), ready=_int(status.get("numberReady")),
                        available=_int(status.get("numberAvailable")),
                        unavailable=_int(status.get("numberUnavailable")),
                        misscheduled=_int(status.get("numberMisscheduled")))
    return counters


def selector_string(selector):
    """A label selector (``matchLabels`` / ``matchExpressions``) in its query-string form."""
    selector = selector or {}
    parts = ["%s=%s" % item for item in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, operator, values = expr.get("key"), expr.get("operator"), ",".join(expr.get("values") or [])
        parts.append({"In": "%s in (%s)" % (key, values), "NotIn": "%s notin (%s)" % (key, values),
                      "Exists": key, "DoesNotExist": "!" + key}[operator])
    return ",".join(parts)


# --- why pods are not ready ----------------------------------------------------------------------
def pod_ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in _status(pod).get("conditions") or [])


def pod_restarts(pod):
    status = _status(pod)
    return sum(_int(c.get("restartCount")) for c in (status.get("initContainerStatuses") or [])
               + (status.get("containerStatuses") or []))


def _container_reasons(statuses, init):
    reasons = []
    for container in statuses:
        label = "%scontainer %s" % ("init " if init else "", container.get("name"))
        state = container.get("state") or {}
        waiting, terminated = state.get("waiting"), state.get("terminated")
        last = (container.get("lastState") or {}).get("terminated")
        if waiting:
            text = "%s waiting: %s" % (label, waiting.get("reason") or "unknown reason")
            if waiting.get("message"):
                text += " (%s)" % waiting["message"]
            reasons.append(text)
        elif terminated and (not init or _int(terminated.get("exitCode")) != 0):
            reasons.append("%s terminated: %s (exit code %d)" % (label, terminated.get("reason") or "Error",
                                                                 _int(terminated.get("exitCode"))))
        elif "running" in state and not container.get("ready") and not init:
            reasons.append("%s running but not ready (readiness probe failing)" % label)
        else:
            continue
        if last:
            reasons.append("%s last terminated: %s (exit code %d)%s" % (
                label, last.get("reason") or "Error", _int(last.get("exitCode")),
                ": " + last["message"].strip().splitlines()[-1] if (last.get("message") or "").strip() else ""))
    return reasons


def pod_reasons(pod):
    """Why a pod is not ready, most telling first: scheduling, eviction, then each container."""
    status = _status(pod)
    reasons = []
    if _meta(pod).get("deletionTimestamp"):
        reasons.append("terminating")
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            reasons.append("not scheduled: %s%s" % (condition.get("reason") or "Unschedulable",
                                                    ": " + condition["message"] if condition.get("message") else ""))
    if status.get("reason"):
        reasons.append("%s%s" % (status["reason"], ": " + status["message"] if status.get("message") else ""))
    reasons.extend(_container_reasons(status.get("initContainerStatuses") or [], True))
    reasons.extend(_container_reasons(status.get("containerStatuses") or [], False))
    if not reasons:
        for condition in status.get("conditions") or []:
            if condition.get("type") == "Ready" and condition.get("status") != "True":
                reasons.append("%s%s" % (condition.get("reason") or "not ready",
                                         ": " + condition["message"] if condition.get("message") else ""))
    if not reasons:
        reasons.append("phase %s" % (status.get("phase") or "Unknown"))
    return reasons


def describe_pod(pod):
    """One pod as a runbook shows it: name, node, phase, readiness, restarts, reasons when not ready."""
    ready = pod_ready(pod)
    return dict(name=_meta(pod).get("name"), node=_spec(pod).get("nodeName"), phase=_status(pod).get("phase"),
                ready=ready, restarts=pod_restarts(pod), reasons=[] if ready else pod_reasons(pod))


def pod_line(pod):
    """A described pod on one line, for failure messages."""
    return "%s (node %s, restarts %d): %s" % (pod["name"], pod.get("node") or "none", pod.get("restarts", 0),
                                              ", ".join(pod.get("reasons") or ["not ready"]))


def pod_diagnosis(client, obj):
    """The workload's pods that are not ready, described, sorted by name (one paginated list call)."""
    selector = selector_string(_spec(obj).get("selector"))
    if not selector:
        return []
    pods, _version = client.list(path("Pod", _meta(obj).get("namespace")), label_selector=selector)
    return sorted((describe_pod(pod) for pod in pods if not pod_ready(pod)), key=lambda pod: pod["name"] or "")


STATUS = {"DaemonSet": daemonset_status, "Deployment": deployment_status}
