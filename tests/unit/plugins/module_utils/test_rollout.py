# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kubectl's rollout status predicates, the restart patch, the watch-driven waiter, pod diagnosis."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._cilium import restart as cilium_restart
from ansible_collections.azcni.cilium.plugins.module_utils._k8s import readiness as k8s_readiness
from ansible_collections.azcni.cilium.plugins.module_utils._k8s import resources as k8s_resources
from ansible_collections.azcni.cilium.plugins.module_utils._k8s import rollout as k8s_rollout
from ansible_collections.azcni.cilium.plugins.module_utils._k8s import watch as k8s_watch
from ansible_collections.azcni.cilium.tests.unit.plugins.module_utils.fake_module import FakeModule, run


def ds(generation=2, observed=2, desired=3, updated=3, available=3, ready=None, strategy="RollingUpdate", name="cilium"):
    return {
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "kube-system", "generation": generation, "uid": "ds-uid",
                     "resourceVersion": "100", "annotations": {k8s_rollout.DAEMONSET_GENERATION: str(generation)}},
        "spec": {"updateStrategy": {"type": strategy}, "selector": {"matchLabels": {"k8s-app": "cilium"}},
                 "template": {"metadata": {"labels": {"k8s-app": "cilium"}}}},
        "status": {"observedGeneration": observed, "desiredNumberScheduled": desired, "currentNumberScheduled": desired,
                   "updatedNumberScheduled": updated, "numberAvailable": available,
                   "numberReady": available if ready is None else ready, "numberUnavailable": desired - available},
    }


def deploy(generation=5, observed=5, replicas=2, current=2, updated=2, available=2, paused=False, reason=None,
           revision="3"):
    conditions = [{"type": "Available", "status": "True"}]
    if reason:
        conditions.append({"type": "Progressing", "status": "False", "reason": reason})
    spec = {"selector": {"matchLabels": {"io.cilium/app": "operator"}}, "template": {"metadata": {}}, "paused": paused}
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "kind": "Deployment",
        "metadata": {"name": "cilium-operator", "namespace": "kube-system", "generation": generation,
                     "resourceVersion": "200", "annotations": {k8s_rollout.DEPLOYMENT_REVISION: revision}},
        "spec": spec,
        "status": {"observedGeneration": observed, "replicas": current, "updatedReplicas": updated,
                   "readyReplicas": available, "availableReplicas": available, "conditions": conditions},
    }


DS_CASES = [
    ("done", ds(), 'daemon set "cilium" successfully rolled out', True, None),
    ("spec not observed", ds(generation=3, observed=2), "Waiting for daemon set spec update to be observed...", False, None),
    ("observed ahead counts as observed", ds(generation=2, observed=3), 'daemon set "cilium" successfully rolled out', True, None),
    ("updating", ds(updated=1),
     'Waiting for daemon set "cilium" rollout to finish: 1 out of 3 new pods have been updated...', False, None),
    ("updated, not available", ds(available=2),
     'Waiting for daemon set "cilium" rollout to finish: 2 of 3 updated pods are available...', False, None),
    # kubectl uses numberAvailable, not numberReady (kubernetes.core's daemonset_ready uses the latter)
    ("ready but not yet available", ds(available=2, ready=3),
     'Waiting for daemon set "cilium" rollout to finish: 2 of 3 updated pods are available...', False, None),
    ("no nodes", ds(desired=0, updated=0, available=0), 'daemon set "cilium" successfully rolled out', True, None),
    ("OnDelete", ds(strategy="OnDelete"), "", True, "rollout status is only available for RollingUpdate strategy type"),
]

DEPLOY_CASES = [
    ("done", deploy(), 'deployment "cilium-operator" successfully rolled out', True, None),
    ("spec not observed", deploy(generation=6), "Waiting for deployment spec update to be observed...", False, None),
    ("deadline exceeded", deploy(updated=1, reason="ProgressDeadlineExceeded"), "", False,
     'deployment "cilium-operator" exceeded its progress deadline'),
    ("deadline checked only once observed", deploy(generation=6, reason="ProgressDeadlineExceeded"),
     "Waiting for deployment spec update to be observed...", False, None),
    ("new replicas", deploy(current=3, updated=1),
     'Waiting for deployment "cilium-operator" rollout to finish: 1 out of 2 new replicas have been updated...', False, None),
    ("old replicas terminating", deploy(current=3, updated=2),
     'Waiting for deployment "cilium-operator" rollout to finish: 1 old replicas are pending termination...', False, None),
    ("not available", deploy(available=1),
     'Waiting for deployment "cilium-operator" rollout to finish: 1 of 2 updated replicas are available...', False, None),
    ("no spec.replicas skips that check", deploy(replicas=None, current=1, updated=1, available=1),
     'deployment "cilium-operator" successfully rolled out', True, None),
    ("scaled to zero", deploy(replicas=0, current=0, updated=0, available=0),
     'deployment "cilium-operator" successfully rolled out', True, None),
]


@pytest.mark.parametrize("case,obj,message,done,error", DS_CASES, ids=[c[0] for c in DS_CASES])
def test_daemonset_status_matches_kubectl(case, obj, message, done, error):
    assert k8s_readiness.daemonset_status(obj) == (message, done, error), case


@pytest.mark.parametrize("case,obj,message,done,error", DEPLOY_CASES, ids=[c[0] for c in DEPLOY_CASES])
def test_deployment_status_matches_kubectl(case, obj, message, done, error):
    assert k8s_readiness.deployment_status(obj) == (message, done, error), case


def test_rfc3339_like_go():
    utc = datetime.datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=datetime.timezone.utc)
    assert k8s_rollout.rfc3339_now(utc) == "2025-03-04T05:06:07Z"
    cet = datetime.datetime(2025, 3, 4, 5, 6, 7, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert k8s_rollout.rfc3339_now(cet) == "2025-03-04T05:06:07+01:00"
    assert k8s_rollout.rfc3339_now().count(":") >= 2


def test_restart_patch_is_the_template_annotation():
    assert k8s_rollout.restart_patch(ds(), "2025-01-01T00:00:00Z") == {
        "spec": {"template": {"metadata": {"annotations": {k8s_rollout.RESTARTED_AT: "2025-01-01T00:00:00Z"}}}}}


def test_restart_patch_refuses_paused_deployment_like_kubectl():
    with pytest.raises(k8s_rollout.RolloutError, match=r"^can't restart paused deployment \(run rollout resume first\)$"):
        k8s_rollout.restart_patch(deploy(paused=True), "2025-01-01T00:00:00Z")
    k8s_rollout.restart_patch(deploy(paused=False), "2025-01-01T00:00:00Z")


def test_restart_patch_refuses_a_second_restart_in_the_same_second():
    obj = ds()
    obj["spec"]["template"]["metadata"]["annotations"] = {k8s_rollout.RESTARTED_AT: "2025-01-01T00:00:00Z"}
    with pytest.raises(k8s_rollout.RolloutError, match="within the past second"):
        k8s_rollout.restart_patch(obj, "2025-01-01T00:00:00Z")
    assert k8s_rollout.restart_patch(obj, "2025-01-01T00:00:01Z")


def test_selector_string():
    assert k8s_readiness.selector_string({"matchLabels": {"b": "2", "a": "1"}}) == "a=1,b=2"
    assert k8s_readiness.selector_string({"matchExpressions": [
        {"key": "k", "operator": "In", "values": ["x", "y"]}, {"key": "n", "operator": "NotIn", "values": ["z"]},
        {"key": "e", "operator": "Exists"}, {"key": "d", "operator": "DoesNotExist"}]}) == "k in (x,y),n notin (z),e,!d"
    assert k8s_readiness.selector_string(None) == ""


def test_counters():
    assert k8s_readiness.rollout_counters(ds(updated=1, available=2)) == dict(
        generation=2, observed_generation=2, desired=3, current=3, updated=1, ready=2, available=2, unavailable=1,
        misscheduled=0)
    counters = k8s_readiness.rollout_counters(deploy(replicas=None, current=1))
    assert counters["replicas"] == 1 and counters["current"] == 1  # the API server's default of 1


# --- pods ---------------------------------------------------------------------------------------
def pod(name, ready=True, node="aks-node-0", waiting=None, terminated=None, last=None, restarts=0, phase="Running",
        unschedulable=None, deleting=False):
    state = {"running": {}}
    if waiting:
        state = {"waiting": {"reason": waiting[0], "message": waiting[1]}}
    elif terminated:
        state = {"terminated": {"reason": terminated[0], "exitCode": terminated[1]}}
    container = {"name": "cilium-agent", "ready": ready, "restartCount": restarts, "state": state, "lastState": {}}
    if last:
        container["lastState"] = {"terminated": {"reason": last[0], "exitCode": last[1], "message": last[2]}}
    conditions = [{"type": "Ready", "status": "True" if ready else "False", "reason": None if ready else "ContainersNotReady"}]
    if unschedulable:
        conditions.append({"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": unschedulable})
    meta = {"name": name, "labels": {"k8s-app": "cilium"}}
    if deleting:
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"nodeName": None if unschedulable else node},
            "status": {"phase": phase, "conditions": conditions,
                       "containerStatuses": [] if unschedulable else [container]}}


POD_CASES = [
    ("crash loop", pod("a", False, waiting=("CrashLoopBackOff", "back-off 5m0s"), last=("Error", 1, "boom\nlevel=fatal msg=x"),
                       restarts=7),
     ["container cilium-agent waiting: CrashLoopBackOff (back-off 5m0s)",
      "container cilium-agent last terminated: Error (exit code 1): level=fatal msg=x"]),
    ("readiness", pod("b", False), ["container cilium-agent running but not ready (readiness probe failing)"]),
    ("terminated", pod("c", False, terminated=("OOMKilled", 137)), ["container cilium-agent terminated: OOMKilled (exit code 137)"]),
    ("unschedulable", pod("d", False, phase="Pending", unschedulable="0/3 nodes are available"),
     ["not scheduled: Unschedulable: 0/3 nodes are available"]),
    ("terminating", pod("e", False, deleting=True),
     ["terminating", "container cilium-agent running but not ready (readiness probe failing)"]),
]


@pytest.mark.parametrize("case,obj,reasons", POD_CASES, ids=[c[0] for c in POD_CASES])
def test_pod_reasons(case, obj, reasons):
    assert k8s_readiness.pod_reasons(obj) == reasons, case


def test_describe_pod_and_line():
    described = k8s_readiness.describe_pod(POD_CASES[0][1])
    assert described == dict(name="a", node="aks-node-0", phase="Running", ready=False, restarts=7, reasons=POD_CASES[0][2])
    assert k8s_readiness.pod_line(described).startswith("a (node aks-node-0, restarts 7): container cilium-agent waiting")
    assert k8s_readiness.describe_pod(pod("ok"))["reasons"] == []


def test_pod_without_status_details_falls_back_to_condition():
    bare = {"metadata": {"name": "x"}, "spec": {}, "status": {"phase": "Pending", "conditions": [
        {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": "containers with unready status"}]}}
    assert k8s_readiness.pod_reasons(bare) == ["ContainersNotReady: containers with unready status"]
    assert k8s_readiness.pod_reasons({"status": {"phase": "Unknown"}}) == ["phase Unknown"]


# --- the watch-driven waiter --------------------------------------------------------------------
class Gone(Exception):
    status = 410


class FakeClock(object):
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class FakeClient(object):
    """Scripted API: ``lists`` answers each list of the watched collection in turn; ``watches`` is a
    list of event lists (an Exception instance in one is raised there); a watch that runs out of events
    ends as a server timeout would, moving the clock by ``watch_seconds``."""

    def __init__(self, clock, lists, watches, pods=(), revisions=(), watch_seconds=0.0):
        self.clock, self.lists, self.watches = clock, list(lists), list(watches)
        self.pods, self.revisions, self.watch_seconds = list(pods), list(revisions), watch_seconds
        self.calls, self.patches, self.objects = [], [], {}
        self.objects[k8s_resources.path("Namespace", None, "kube-system")] = {"metadata": {"name": "kube-system"}}
        self.closed = 0

    def get(self, path):
        self.calls.append(("get", path))
        return self.objects.get(path)

    def list(self, path, label_selector=None, field_selector=None, limit=500):
        self.calls.append(("list", path, label_selector, field_selector))
        if path.endswith("/pods"):
            return self.pods, "1"
        if path.endswith("/controllerrevisions"):
            return self.revisions, "1"
        items = self.lists.pop(0)
        return items, "rv%d" % len(self.calls)

    def watch(self, path, resource_version=None, label_selector=None, field_selector=None, timeout_seconds=None):
        self.calls.append(("watch", path, resource_version, field_selector, timeout_seconds))
        events = self.watches.pop(0) if self.watches else []
        try:
            for event in events:
                if isinstance(event, Exception):
                    raise event
                yield event
            self.clock.now += self.watch_seconds
        finally:
            self.closed += 1

    def patch(self, path, body, patch_type="strategic", dry_run=False, field_manager=None):
        self.patches.append((path, body, patch_type, field_manager))
        obj = self.objects[path]
        obj["spec"]["template"]["metadata"].setdefault("annotations", {}).update(
            body["spec"]["template"]["metadata"]["annotations"])
        obj["metadata"]["generation"] += 1
        return obj


def modified(obj):
    return {"type": "MODIFIED", "object": obj}


def test_wait_follows_watch_events_until_done():
    clock = FakeClock()
    client = FakeClient(clock, lists=[[ds(generation=3, observed=2)]],
                        watches=[[{"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "5"}}},
                                  modified(ds(generation=3, observed=3, updated=1)),
                                  modified(ds(generation=3, observed=3, updated=3, available=2)),
                                  modified(ds(generation=3, observed=3))]])
    messages = []
    obj, message = k8s_rollout.wait_for_rollout(client, "DaemonSet", "kube-system", "cilium", 60, clock, messages.append)
    assert message == 'daemon set "cilium" successfully rolled out' and obj["status"]["observedGeneration"] == 3
    assert messages == ["Waiting for daemon set spec update to be observed...",
                        'Waiting for daemon set "cilium" rollout to finish: 1 out of 3 new pods have been updated...',
                        'Waiting for daemon set "cilium" rollout to finish: 2 of 3 updated pods are available...',
                        'daemon set "cilium" successfully rolled out']
    listing, watching = client.calls[0], client.calls[1]
    assert listing == ("list", "/apis/apps/v1/namespaces/kube-system/daemonsets", None, "metadata.name=cilium")
    assert watching[2] == "rv1" and watching[3] == "metadata.name=cilium" and watching[4] == 60
    assert client.closed == 1  # the watch was closed when the rollout finished, not left streaming


def test_wait_relists_after_gone_and_after_a_dropped_watch():
    clock = FakeClock()
    client = FakeClient(clock, lists=[[ds(updated=1)], [ds(updated=2)], [ds(updated=2)]],
                        watches=[[Gone("too old")], [], [modified(ds())]], watch_seconds=1)
    delays = []
    obj, _message = k8s_rollout.wait_for_rollout(client, "DaemonSet", "kube-system", "cilium", 60, clock, sleep=delays.append)
    assert obj["status"]["updatedNumberScheduled"] == 3
    # neither the 410 nor the dropped watch delivered an event: jittered backoff, between half and all of 0.05, 0.1
    assert len(delays) == 2 and 0.025 <= delays[0] <= 0.05 and 0.05 <= delays[1] <= 0.1
    kinds = [call[0] for call in client.calls]
    assert kinds == ["list", "watch", "list", "watch", "list", "watch"]
    assert [call[2] for call in client.calls if call[0] == "watch"] == ["rv1", "rv3", "rv5"]


def test_change_watch_resyncs_whenever_a_watch_ends():
    class Api(object):
        def __init__(self):
            self.watches = [[modified({"metadata": {"resourceVersion": "11"}}), Gone()], [],
                            [{"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "30"}}},
                             {"type": "ADDED", "object": {"metadata": {"resourceVersion": "31"}}}]]
            self.calls = []

        def request(self, method, path, query=None):
            self.calls.append(("request", method, query))
            return {"metadata": {"resourceVersion": "2%d" % len(self.calls)}}

        def watch(self, path, resource_version=None, label_selector=None, field_selector=None, timeout_seconds=None):
            self.calls.append(("watch", resource_version, label_selector))
            for event in self.watches.pop(0):
                if isinstance(event, Exception):
                    raise event
                yield event

    api, delays = Api(), []
    events = k8s_watch.ChangeWatch(api, "/api/v1/namespaces/kube-system/pods", label_selector="k8s-app=cilium",
                                   sleep=delays.append).events(k8s_watch.time.monotonic() + 60, "10")
    got = [next(events) for _index in range(4)]
    events.close()
    assert [event and event["object"]["metadata"]["resourceVersion"] for event in got] == ["11", None, None, "31"]
    page = ("request", "GET", {"labelSelector": "k8s-app=cilium", "fieldSelector": None, "limit": 1})
    # 10 -> event 11 -> 410 -> a one-item page gives 22 -> the watch is dropped -> 24 -> bookmark, 31
    assert api.calls == [("watch", "10", "k8s-app=cilium"), page, ("watch", "22", "k8s-app=cilium"), page,
                         ("watch", "24", "k8s-app=cilium")]
    assert len(delays) == 1 and 0.025 <= delays[0] <= 0.05  # only the watch that delivered nothing is followed by a pause


def test_wait_done_at_once_needs_no_watch():
    clock = FakeClock()
    client = FakeClient(clock, lists=[[deploy()]], watches=[])
    k8s_rollout.wait_for_rollout(client, "Deployment", "kube-system", "cilium-operator", 60, clock)
    assert [call[0] for call in client.calls] == ["list"]


def test_wait_times_out_naming_the_stuck_pods():
    clock = FakeClock()
    stuck = pod("cilium-xyz", False, node="aks-node-2", waiting=("CrashLoopBackOff", ""), restarts=3)
    client = FakeClient(clock, lists=[[ds(updated=3, available=2)]], watches=[[]], pods=[pod("cilium-ok"), stuck],
                        watch_seconds=31)
    with pytest.raises(k8s_rollout.RolloutError) as info:
        k8s_rollout.wait_for_rollout(client, "DaemonSet", "kube-system", "cilium", 30, clock)
    err = info.value
    assert err.timed_out
    assert err.message == ('Timed out after 30 s waiting for the rollout of daemon set "cilium": Waiting for daemon set '
                           '"cilium" rollout to finish: 2 of 3 updated pods are available. Pods not ready: cilium-xyz '
                           '(node aks-node-2, restarts 3): container cilium-agent waiting: CrashLoopBackOff')
    assert [p["name"] for p in err.not_ready] == ["cilium-xyz"]
    assert ("list", "/api/v1/namespaces/kube-system/pods", "k8s-app=cilium", None) in client.calls


def test_wait_reports_deletion_and_kubectl_errors():
    clock = FakeClock()
    client = FakeClient(clock, lists=[[ds(updated=1)]], watches=[[{"type": "DELETED", "object": ds()}]])
    with pytest.raises(k8s_rollout.RolloutError, match='daemon set "cilium" has been deleted'):
        k8s_rollout.wait_for_rollout(client, "DaemonSet", "kube-system", "cilium", 60, clock)
    client = FakeClient(clock, lists=[[deploy(updated=1, reason="ProgressDeadlineExceeded")]], watches=[])
    with pytest.raises(k8s_rollout.RolloutError, match="exceeded its progress deadline"):
        k8s_rollout.wait_for_rollout(client, "Deployment", "kube-system", "cilium-operator", 60, clock)


def test_watches_that_keep_ending_empty_back_off_until_the_deadline():
    clock = FakeClock()
    delays = []

    def sleep(seconds):
        delays.append(seconds)
        clock.now += seconds

    client = FakeClient(clock, lists=[[ds(updated=1)]] * 20, watches=[[]] * 20)
    with pytest.raises(k8s_rollout.RolloutError) as info:
        k8s_rollout.wait_for_rollout(client, "DaemonSet", "kube-system", "cilium", 10, clock, sleep=sleep)
    assert info.value.timed_out
    # client-go's reflector backs off the same way (jittered here: between half and all of each step)
    for delay, step in zip(delays[:8], [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]):
        assert step / 2 <= delay <= step
    assert round(sum(delays), 6) == 10  # the last pause ends at the deadline, not after it


def test_other_watch_errors_are_retried_until_the_deadline_and_named():
    class Unavailable(Exception):
        status = 503

    clock = FakeClock()

    def sleep(seconds):
        clock.now += seconds

    client = FakeClient(clock, lists=[[ds(updated=1)]] * 40, watches=[[Unavailable("try later")]] * 40)
    with pytest.raises(k8s_rollout.RolloutError) as info:
        k8s_rollout.wait_for_rollout(client, "DaemonSet", "kube-system", "cilium", 10, clock, sleep=sleep)
    assert info.value.timed_out and "Last API error while watching" in info.value.message
    assert "try later" in info.value.message
    assert [call[0] for call in client.calls].count("watch") > 1


# --- restart of one workload --------------------------------------------------------------------
def owned_revision(number, uid="ds-uid"):
    return {"metadata": {"ownerReferences": [{"uid": uid, "controller": True}]}, "revision": number}


def test_restart_daemonset_then_wait():
    clock = FakeClock()
    path = k8s_resources.path("DaemonSet", "kube-system", "cilium")
    client = FakeClient(clock, lists=[[ds(generation=3, observed=3, updated=1)]], watches=[[modified(ds(generation=3, observed=3))]],
                        revisions=[owned_revision(4), owned_revision(9, uid="someone-else")])
    client.objects[path] = ds()
    now = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    result = k8s_rollout.restart(client, "DaemonSet", "kube-system", "cilium", wait=True, timeout=60, clock=clock, now=now)
    assert client.patches == [(path, {"spec": {"template": {"metadata": {"annotations": {
        k8s_rollout.RESTARTED_AT: "2025-01-02T03:04:05Z"}}}}}, "strategic", "azcni.cilium")]
    assert result["restarted"] and result["restarted_at"] == "2025-01-02T03:04:05Z"
    assert result["old_revision"] == "4" and result["new_revision"] == "4"  # the fake has no DS controller
    assert result["message"] == 'daemon set "cilium" successfully rolled out'
    assert result["status"]["updated"] == 3 and result["status"]["generation"] == 3


def test_restart_revision_falls_back_to_the_template_generation_annotation():
    clock = FakeClock()
    client = FakeClient(clock, lists=[], watches=[])
    assert k8s_rollout.revision(client, ds(generation=7)) == "7"
    assert k8s_rollout.revision(client, deploy(revision="12")) == "12"


def test_restart_check_mode_sends_nothing():
    clock = FakeClock()
    path = k8s_resources.path("Deployment", "kube-system", "cilium-operator")
    client = FakeClient(clock, lists=[], watches=[])
    client.objects[path] = deploy()
    result = k8s_rollout.restart(client, "Deployment", "kube-system", "cilium-operator", check_mode=True, clock=clock)
    assert client.patches == [] and result["restarted"] and result["old_revision"] == "3"
    assert result["message"].startswith("would restart")


def test_restart_refusals():
    clock = FakeClock()
    client = FakeClient(clock, lists=[], watches=[])
    with pytest.raises(k8s_rollout.RolloutError, match='deployments.apps "cilium-operator" not found'):
        k8s_rollout.restart(client, "Deployment", "kube-system", "cilium-operator", clock=clock)
    client.objects[k8s_resources.path("Deployment", "kube-system", "cilium-operator")] = deploy(paused=True)
    with pytest.raises(k8s_rollout.RolloutError, match="paused") as info:
        k8s_rollout.restart(client, "Deployment", "kube-system", "cilium-operator", clock=clock)
    assert info.value.result["restarted"] is False and client.patches == []


def test_restart_stalled_rollout_carries_the_partial_result():
    clock = FakeClock()
    path = k8s_resources.path("DaemonSet", "kube-system", "cilium")
    client = FakeClient(clock, lists=[[ds(generation=3, observed=3, updated=1, available=2)]], watches=[[]],
                        pods=[pod("cilium-new", False, waiting=("CrashLoopBackOff", ""))], watch_seconds=20)
    client.objects[path] = ds()
    with pytest.raises(k8s_rollout.RolloutError) as info:
        k8s_rollout.restart(client, "DaemonSet", "kube-system", "cilium", timeout=10, clock=clock)
    result = info.value.result
    assert result["restarted"] and result["seconds"] == 20.0 and result["status"]["updated"] == 1
    assert [p["name"] for p in result["not_ready"]] == ["cilium-new"] and "cilium-new" in result["message"]


# --- the module's orchestration -----------------------------------------------------------------
RESTART_DEFAULTS = dict(targets=["agent", "operator"], namespace="kube-system", agent_daemonset="cilium",
                        operator_deployment="cilium-operator", wait=False, wait_timeout=60)


def restart_module(client, check_mode=False, diff_mode=True, **params):
    return FakeModule(client, RESTART_DEFAULTS, check_mode=check_mode, diff_mode=diff_mode, **params)


def run_module(module):
    return run(cilium_restart.run_restart, module)


def test_module_restarts_targets_in_the_order_given_once_each():
    clock = FakeClock()
    client = FakeClient(clock, lists=[], watches=[])
    client.objects[k8s_resources.path("DaemonSet", "kube-system", "cilium")] = ds()
    client.objects[k8s_resources.path("Deployment", "kube-system", "cilium-operator")] = deploy()
    result = run_module(restart_module(client, targets=["operator", "agent", "operator"]))
    assert not result["failed"] and result["changed"]
    assert [r["target"] for r in result["rollouts"]] == ["operator", "agent"]
    assert [p[0].rsplit("/", 1)[1] for p in client.patches] == ["cilium-operator", "cilium"]
    stamp = result["rollouts"][0]["restarted_at"]
    assert result["diff"] == {"before": {"Deployment/cilium-operator": {k8s_rollout.RESTARTED_AT: None},
                                         "DaemonSet/cilium": {k8s_rollout.RESTARTED_AT: None}},
                              "after": {"Deployment/cilium-operator": {k8s_rollout.RESTARTED_AT: stamp},
                                        "DaemonSet/cilium": {k8s_rollout.RESTARTED_AT: result["rollouts"][1]["restarted_at"]}}}


def test_module_failure_names_the_workload_like_kubectl_and_keeps_what_was_done():
    clock = FakeClock()
    client = FakeClient(clock, lists=[], watches=[])
    client.objects[k8s_resources.path("DaemonSet", "kube-system", "cilium")] = ds()
    client.objects[k8s_resources.path("Deployment", "kube-system", "cilium-operator")] = deploy(paused=True)
    result = run_module(restart_module(client))
    # every target is checked before the first patch: the paused operator stops the agent's restart too
    assert result["failed"] and not result["changed"]
    assert result["msg"] == ('Nothing was restarted: operator_deployment: deployments.apps "cilium-operator" can\'t '
                             'restart paused deployment (run rollout resume first)')
    assert result["rollouts"] == [] and client.patches == []

    result = run_module(restart_module(FakeClient(clock, lists=[], watches=[]), targets=["agent"]))
    assert result["msg"] == ('Nothing was restarted: agent_daemonset: daemonsets.apps "cilium" not found in namespace '
                             'kube-system') and result["rollouts"] == [] and not result["changed"]
