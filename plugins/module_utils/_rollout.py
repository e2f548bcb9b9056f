# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollout restart and rollout status, with kubectl's semantics, for DaemonSets and Deployments.

* ``daemonset_status`` / ``deployment_status``: the predicates of kubectl's ``rollout status``
  (``pkg/polymorphichelpers/rollout_status.go``), same order of checks, same messages.
* ``restart_patch``: the strategic-merge patch of ``kubectl rollout restart`` (``objectrestarter.go``).
* ``ChangeWatch``: every change to a collection from a resourceVersion on, re-syncing whenever the
  watch ends or the server answers 410 Gone (client-go's reflector, including its short backoff when
  watches keep ending empty). Progress is driven by the server's events, not by polling.
* ``ObjectWatch``: snapshots of one named object the way kubectl's ``UntilWithSync`` gets them (list
  for a resourceVersion, then watch with ``fieldSelector=metadata.name=...``, list again after a
  watch ends); ``wait_for_rollout`` applies the predicates to them until done or a deadline.
* ``pod_diagnosis``: which pods are not ready and why, for the message of a stalled rollout.
* ``restart`` / ``run_restart_module``: the whole ``cilium_restart`` module.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import datetime
import time
from contextlib import closing

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
DEPLOYMENT_REVISION = "deployment.kubernetes.io/revision"
DAEMONSET_GENERATION = "deprecated.daemonset.template.generation"
MAX_PODS_IN_MESSAGE = 10
WATCH_BACKOFF = 0.05       # seconds before re-syncing after a watch that ended without an event; doubles
WATCH_BACKOFF_CAP = 2.0     # ... up to this


class RolloutError(Exception):
    """A rollout that cannot be restarted, failed, or did not finish in time."""

    def __init__(self, message, obj=None, timed_out=False, not_ready=None):
        super(RolloutError, self).__init__(message)
        self.message = message
        self.obj = obj
        self.timed_out = timed_out
        self.not_ready = not_ready or []


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


# Everything that differs between the two kinds, in one table.
KINDS = {
    "DaemonSet": dict(resource="daemonsets", status=daemonset_status),
    "Deployment": dict(resource="deployments", status=deployment_status),
}


def collection_path(kind, namespace):
    return "/apis/apps/v1/namespaces/%s/%s" % (namespace, KINDS[kind]["resource"])


def object_path(kind, namespace, name):
    return "%s/%s" % (collection_path(kind, namespace), name)


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


# --- rollout restart (kubectl objectrestarter.go) ----------------------------------------------
def rfc3339_now(now=None):
    """Go's ``time.Now().Format(time.RFC3339)``: local time, whole seconds, ``Z`` for UTC."""
    now = now or datetime.datetime.now().astimezone()
    text = now.replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def restart_patch(obj, restarted_at):
    """The strategic-merge patch ``kubectl rollout restart`` sends for ``obj``.

    Raises RolloutError with kubectl's own words for a paused Deployment, and for a restart within
    the same second (kubectl computes an empty patch and refuses to send it).
    """
    name = _meta(obj).get("name")
    if obj.get("kind") == "Deployment" and _spec(obj).get("paused"):
        raise RolloutError("can't restart paused deployment (run rollout resume first)", obj)
    template_annotations = ((_spec(obj).get("template") or {}).get("metadata") or {}).get("annotations") or {}
    if template_annotations.get(RESTARTED_AT) == restarted_at:
        raise RolloutError("failed to create patch for %s: if restart has already been triggered within the past second, "
                           "please wait before attempting to trigger another" % name, obj)
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: restarted_at}}}}}


def restart_stamp(obj):
    """The restartedAt annotation on the pod template (None when never restarted)."""
    annotations = ((_spec(obj).get("template") or {}).get("metadata") or {}).get("annotations") or {}
    return annotations.get(RESTARTED_AT)


def selector_string(selector):
    """A label selector (``matchLabels`` / ``matchExpressions``) in its query-string form."""
    selector = selector or {}
    parts = ["%s=%s" % item for item in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, operator, values = expr.get("key"), expr.get("operator"), ",".join(expr.get("values") or [])
        parts.append({"In": "%s in (%s)" % (key, values), "NotIn": "%s notin (%s)" % (key, values),
                      "Exists": key, "DoesNotExist": "!" + key}[operator])
    return ",".join(parts)


def revision(client, obj):
    """The workload's current revision number (as a string), or None when it has none yet.

    Deployment: the controller's ``deployment.kubernetes.io/revision`` annotation. DaemonSet: the
    newest ControllerRevision it owns (what ``kubectl rollout history`` lists), falling back to the
    ``deprecated.daemonset.template.generation`` annotation the API server keeps on the DaemonSet.
    """
    annotations = _meta(obj).get("annotations") or {}
    if obj.get("kind") == "Deployment":
        return annotations.get(DEPLOYMENT_REVISION)
    uid = _meta(obj).get("uid")
    path = "/apis/apps/v1/namespaces/%s/controllerrevisions" % _meta(obj).get("namespace")
    try:
        items, _version = client.list(path, label_selector=selector_string(_spec(obj).get("selector")) or None)
    except Exception as exc:  # a missing permission must not hide the restart itself; the annotation still tells
        if getattr(exc, "status", None) is None:
            raise
        items = []
    numbers = [_int(item.get("revision")) for item in items
               if any(ref.get("uid") == uid and ref.get("controller") for ref in _meta(item).get("ownerReferences") or [])]
    if numbers:
        return str(max(numbers))
    return annotations.get(DAEMONSET_GENERATION)


# --- following changes ---------------------------------------------------------------------------
class ChangeWatch(object):
    """Every change to a collection (narrowed by selectors) from a resourceVersion on, until a deadline.

    Like client-go's reflector: watch from a known version; whenever the watch ends (server timeout,
    dropped connection) or is answered 410 Gone, re-sync (``resync()`` returns a fresh version; by
    default a one-item page of the collection) and tell the caller with a None, since something may
    have changed in between. Progress is driven by the server's events; the only pause is the
    reflector's short backoff when watches keep ending without a single event (a proxy that cuts
    streams, a server that keeps answering 410), so such a server is not hammered.
    """

    def __init__(self, client, collection, label_selector=None, field_selector=None, clock=time.monotonic, resync=None,
                 sleep=time.sleep):
        self.client, self.collection, self.clock, self.sleep = client, collection, clock, sleep
        self.selectors = dict(label_selector=label_selector, field_selector=field_selector)
        self.resync = resync or self._first_page_version

    def _first_page_version(self):
        page = self.client.request("GET", self.collection, dict(labelSelector=self.selectors["label_selector"],
                                                                fieldSelector=self.selectors["field_selector"], limit=1))
        return _meta(page or {}).get("resourceVersion")

    def events(self, deadline, version=None):
        """Yield watch events (ADDED, MODIFIED, DELETED) and None after each re-sync, until ``deadline``."""
        fruitless = 0
        while self.clock() < deadline:
            if not version:
                version = self.resync()
                yield None
            remaining = deadline - self.clock()
            if remaining <= 0:
                return
            seen = False
            events = self.client.watch(self.collection, resource_version=version,
                                       timeout_seconds=max(1, int(remaining + 0.999)), **self.selectors)
            try:
                for event in events:
                    seen = True  # bookmarks count: the server is streaming
                    if event.get("type") != "BOOKMARK":
                        yield event
                    if self.clock() >= deadline:
                        return
            except Exception as exc:
                if getattr(exc, "status", None) != 410:
                    raise
            finally:
                events.close()  # hand the connection back now, not when the generator is collected
            version = None
            fruitless = 0 if seen else fruitless + 1
            if fruitless:
                self.sleep(min(WATCH_BACKOFF_CAP, WATCH_BACKOFF * 2 ** (fruitless - 1), max(0, deadline - self.clock())))


class ObjectWatch(object):
    """Snapshots of one named object as the server changes it, as kubectl's ``UntilWithSync`` gets them:
    list with ``fieldSelector=metadata.name=...`` (the object and a resourceVersion), watch from there,
    list again whenever the watch ends or is answered 410 Gone."""

    def __init__(self, client, collection, name, clock=time.monotonic, sleep=time.sleep):
        self.client, self.collection, self.clock, self.sleep = client, collection, clock, sleep
        self.selector = "metadata.name=%s" % name
        self.listed = None

    def _list(self):
        items, version = self.client.list(self.collection, field_selector=self.selector)
        self.listed = items[0] if items else None
        return version

    def snapshots(self, deadline):
        """Yield the object (a dict), or None while it does not exist, until ``deadline`` (clock time)."""
        watch = ChangeWatch(self.client, self.collection, field_selector=self.selector, clock=self.clock, resync=self._list,
                            sleep=self.sleep)
        for event in watch.events(deadline):
            if event is None:
                yield self.listed
            elif event.get("type") == "DELETED":
                yield None
            else:
                yield event.get("object") or {}


def wait_for_rollout(client, kind, namespace, name, timeout, clock=time.monotonic, on_message=None, sleep=time.sleep):
    """Wait (``timeout`` seconds) until the workload is rolled out; return (object, last message).

    Raises RolloutError on a rollout error (kubectl's), when the object is deleted, or at the deadline,
    then naming the pods that are not ready and why.
    """
    status_of = KINDS[kind]["status"]
    label = "daemon set" if kind == "DaemonSet" else "deployment"
    deadline = clock() + timeout
    last, message = None, ""
    with closing(ObjectWatch(client, collection_path(kind, namespace), name, clock, sleep).snapshots(deadline)) as snapshots:
        for obj in snapshots:
            if obj is None:
                raise RolloutError("%s \"%s\" has been deleted" % (label, name), last)
            obj.setdefault("kind", kind)
            last = obj
            message, done, error = status_of(obj)
            if error:
                raise RolloutError(error, obj)
            if on_message is not None:
                on_message(message)
            if done:
                return obj, message
    not_ready = pod_diagnosis(client, last) if last else []
    text = "Timed out after %s s waiting for the rollout of %s \"%s\": %s" % (
        int(timeout), label, name, message.rstrip(".") or "no status")
    if not_ready:
        shown = "; ".join(pod_line(pod) for pod in not_ready[:MAX_PODS_IN_MESSAGE])
        more = len(not_ready) - MAX_PODS_IN_MESSAGE
        text += ". Pods not ready: %s%s" % (shown, " (and %d more)" % more if more > 0 else "")
    raise RolloutError(text, last, timed_out=True, not_ready=not_ready)


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
    pods, _version = client.list("/api/v1/namespaces/%s/pods" % _meta(obj).get("namespace"), label_selector=selector)
    return sorted((describe_pod(pod) for pod in pods if not pod_ready(pod)), key=lambda pod: pod["name"] or "")


# --- the whole restart of one workload ----------------------------------------------------------
def restart(client, kind, namespace, name, wait=True, timeout=300, check_mode=False, field_manager="azcni.cilium",
            clock=time.monotonic, now=None):
    """``kubectl rollout restart`` then, with ``wait``, ``kubectl rollout status`` for one workload.

    Returns a dict: kind, name, namespace, restarted, restarted_at, previous_restarted_at,
    old_revision, new_revision, seconds, message, status (the counters). Raises RolloutError (with ``.result`` set to that dict
    as far as it got) when the restart is refused, the rollout fails, or it does not finish in time.
    """
    path = object_path(kind, namespace, name)
    obj = client.get(path)
    resource = KINDS[kind]["resource"] + ".apps"
    if obj is None:
        raise RolloutError('%s "%s" not found' % (resource, name))
    obj.setdefault("kind", kind)
    stamp = rfc3339_now(now)
    result = dict(kind=kind, name=name, namespace=namespace, restarted=False, restarted_at=None,
                  previous_restarted_at=restart_stamp(obj), old_revision=revision(client, obj), new_revision=None,
                  seconds=0.0, message="", status=rollout_counters(obj))
    try:
        patch = restart_patch(obj, stamp)
    except RolloutError as exc:
        exc.result = result
        raise
    if check_mode:
        result.update(restarted=True, restarted_at=stamp, message="would restart %s %s" % (resource, name))
        return result
    started = clock()
    obj = client.patch(path, patch, patch_type="strategic", field_manager=field_manager)
    obj.setdefault("kind", kind)
    result.update(restarted=True, restarted_at=restart_stamp(obj) or stamp, message="%s/%s restarted" % (resource, name),
                  status=rollout_counters(obj))
    if wait:
        try:
            obj, result["message"] = wait_for_rollout(client, kind, namespace, name, timeout, clock)
        except RolloutError as exc:
            result["seconds"] = round(clock() - started, 3)
            if exc.obj:
                result["status"] = rollout_counters(exc.obj)
            result["message"] = exc.message
            result["not_ready"] = exc.not_ready
            exc.result = result
            raise
        result["status"] = rollout_counters(obj)
    result["seconds"] = round(clock() - started, 3)
    result["new_revision"] = revision(client, obj)
    return result


# --- the cilium_restart module ------------------------------------------------------------------
TARGETS = dict(agent=("DaemonSet", "agent_daemonset"), operator=("Deployment", "operator_deployment"))


def run_restart_module(module):
    """Restart the targets one after the other, each waited for before the next; exit or fail."""
    from ansible_collections.azcni.cilium.plugins.module_utils._k8s_client import K8sApiError

    params = module.params
    rollouts, before, after = [], {}, {}

    def finish(failure=None, **extra):
        changed = any(entry["restarted"] for entry in rollouts)
        result = dict(changed=changed, rollouts=rollouts, **extra)
        if module.diff_mode:
            result["diff"] = dict(before=before, after=after)
        if failure:
            module.fail_json(msg=failure, **result)
        module.exit_json(**result)

    targets = []
    for target in params["targets"]:
        if target not in targets:
            targets.append(target)
    for target in targets:
        kind, option = TARGETS[target]
        name = params[option]
        try:
            entry = restart(module.client, kind, params["namespace"], name, wait=params["wait"],
                            timeout=params["wait_timeout"], check_mode=module.check_mode)
        except RolloutError as exc:
            if getattr(exc, "result", None):
                rollouts.append(dict(exc.result, target=target))
            named = '"%s"' % name in exc.message  # else name it the way kubectl does: daemonsets.apps "cilium" ...
            message = exc.message if named else '%s.apps "%s" %s' % (KINDS[kind]["resource"], name, exc.message)
            return finish(message, not_ready=exc.not_ready)
        except K8sApiError as exc:
            return finish("Could not restart %s.apps/%s in namespace %s: %s"
                          % (KINDS[kind]["resource"], name, params["namespace"], exc))
        rollouts.append(dict(entry, target=target))
        before["%s/%s" % (kind, name)] = {RESTARTED_AT: entry["previous_restarted_at"]}
        after["%s/%s" % (kind, name)] = {RESTARTED_AT: entry["restarted_at"]}
    return finish()
