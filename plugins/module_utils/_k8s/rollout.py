# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``kubectl rollout restart`` and ``kubectl rollout status`` for DaemonSets and Deployments.

* ``restart_patch``: the strategic-merge patch of ``kubectl rollout restart`` (``objectrestarter.go``).
* ``wait_for_rollout``: kubectl's predicates applied to an ObjectWatch until done or a deadline.
* ``restart``: both, for one workload.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import datetime
import time
from contextlib import closing

from ansible_collections.azcni.cilium.plugins.module_utils._k8s.readiness import (
    STATUS, _meta, _int, _spec, pod_diagnosis, pod_line, rollout_counters, selector_string)
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.resources import KINDS, path
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.watch import ObjectWatch

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


DEPLOYMENT_REVISION = "deployment.kubernetes.io/revision"


DAEMONSET_GENERATION = "deprecated.daemonset.template.generation"


MAX_PODS_IN_MESSAGE = 10


class RolloutError(Exception):
    """A rollout that cannot be restarted, failed, or did not finish in time."""

    def __init__(self, message, obj=None, timed_out=False, not_ready=None):
        super(RolloutError, self).__init__(message)
        self.message = message
        self.obj = obj
        self.timed_out = timed_out
        self.not_ready = not_ready or []


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
    try:
        items, _version = client.list(path("ControllerRevision", _meta(obj).get("namespace")),
                                      label_selector=selector_string(_spec(obj).get("selector")) or None)
    except Exception as exc:  # a missing permission must not hide the restart itself; the annotation still tells
        if getattr(exc, "status", None) is None:
            raise
        items = []
    numbers = [_int(item.get("revision")) for item in items
               if any(ref.get("uid") == uid and ref.get("controller") for ref in _meta(item).get("ownerReferences") or [])]
    if numbers:
        return str(max(numbers))
    return annotations.get(DAEMONSET_GENERATION)


def wait_for_rollout(client, kind, namespace, name, timeout, clock=time.monotonic, on_message=None, sleep=time.sleep):
    """Wait (``timeout`` seconds) until the workload is rolled out; return (object, last message).

    Raises RolloutError on a rollout error (kubectl's), when the object is deleted, or at the deadline,
    then naming the pods that are not ready and why.
    """
    status_of = STATUS[kind]
    label = "daemon set" if kind == "DaemonSet" else "deployment"
    deadline = clock() + timeout
    last, message = None, ""
    watch = ObjectWatch(client, path(kind, namespace), name, clock, sleep)
    with closing(watch.snapshots(deadline)) as snapshots:
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
    if watch.watch is not None and watch.watch.last_error is not None:
        text += ". Last API error while watching (retried until the deadline): %s" % watch.watch.last_error
    raise RolloutError(text, last, timed_out=True, not_ready=not_ready)


# --- the whole restart of one workload ----------------------------------------------------------
def restart(client, kind, namespace, name, wait=True, timeout=300, check_mode=False, field_manager="azcni.cilium",
            clock=time.monotonic, now=None):
    """``kubectl rollout restart`` then, with ``wait``, ``kubectl rollout status`` for one workload.

    Returns a dict: kind, name, namespace, restarted, restarted_at, previous_restarted_at,
    old_revision, new_revision, seconds, message, status (the counters). Raises RolloutError (with ``.result`` set to that dict
    as far as it got) when the restart is refused, the rollout fails, or it does not finish in time.
    """
    url = path(kind, namespace, name)
    obj = client.get(url)
    resource = KINDS[kind].plural + ".apps"
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
    obj = client.patch(url, patch, patch_type="strategic", field_manager=field_manager)
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
        except Exception as exc:  # pylint: disable=broad-exception-caught
            if getattr(exc, "status", None) is None:
                raise
            # the restart is stored; the failure must say so and carry the result (changed: true)
            failure = RolloutError("was restarted, but waiting for its rollout failed: %s" % exc)
            result.update(seconds=round(clock() - started, 3), message=failure.message)
            failure.result = result
            raise failure
        result["status"] = rollout_counters(obj)
    result["seconds"] = round(clock() - started, 3)
    result["new_revision"] = revision(client, obj)
    return result
