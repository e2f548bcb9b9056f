# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cilium_status: collection (request shape) and evaluation (cilium-cli's checks), and the wait loop."""

from __future__ import annotations

import copy
import threading

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._cilium import images
from ansible_collections.azcni.cilium.plugins.module_utils._cilium import status as cilium_status
from ansible_collections.azcni.cilium.tests.unit.plugins.module_utils.fake_module import FakeModule, run

NS = "kube-system"
AGENT_IMAGE = "mcr.microsoft.com/oss/cilium/cilium:v1.17.9-250919@sha256:0123"
OPERATOR_IMAGE = "mcr.microsoft.com/oss/cilium/operator-generic:1.17.9"


def daemonset(desired=3, ready=3, available=None, updated=None, generation=2, observed=2, aks=True):
    available = ready if available is None else available
    updated = desired if updated is None else updated
    template_labels = {"k8s-app": "cilium"}
    spec = {"containers": [{"name": "cilium-agent", "image": AGENT_IMAGE}]}
    if aks:
        template_labels[cilium_status.AKS_DATAPLANE_LABEL] = "cilium"
        spec["nodeSelector"] = {cilium_status.AKS_DATAPLANE_LABEL: "cilium"}
    return {
        "kind": "DaemonSet",
        "metadata": {"name": "cilium", "namespace": NS, "generation": generation, "resourceVersion": "10",
                     "labels": {cilium_status.AKS_MANAGED_BY_LABEL: "aks"} if aks else {}},
        "spec": {"selector": {"matchLabels": {"k8s-app": "cilium"}},
                 "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2, "maxSurge": 0}},
                 "template": {"metadata": {"labels": template_labels}, "spec": spec}},
        "status": {"desiredNumberScheduled": desired, "currentNumberScheduled": desired, "numberReady": ready,
                   "numberAvailable": available, "numberUnavailable": desired - available,
                   "updatedNumberScheduled": updated, "observedGeneration": observed},
    }


def deployment(replicas=2, ready=2, updated=None, generation=1, observed=1, deadline=False):
    updated = replicas if updated is None else updated
    conditions = [{"type": "Available", "status": "True" if ready else "False", "reason": "MinimumReplicasAvailable"}]
    if deadline:
        conditions.append({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"})
    return {
        "kind": "Deployment",
        "metadata": {"name": "cilium-operator", "namespace": NS, "generation": generation, "resourceVersion": "20",
                     "labels": {"io.cilium/app": "operator", "name": "cilium-operator"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"io.cilium/app": "operator", "name": "cilium-operator"}},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
                 "template": {"metadata": {"labels": {"io.cilium/app": "operator"}},
                              "spec": {"containers": [{"name": "cilium-operator", "image": OPERATOR_IMAGE}]}}},
        "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready, "updatedReplicas": updated,
                   "unavailableReplicas": replicas - ready, "observedGeneration": observed, "conditions": conditions},
    }


def agent_pod(index, ready=True, phase="Running", waiting=None, image=AGENT_IMAGE, restarts=0, last_message=None):
    state = {"running": {"startedAt": "2025-01-01T00:00:00Z"}}
    if waiting:
        state = {"waiting": {"reason": waiting}}
    container = {"name": "cilium-agent", "ready": ready, "restartCount": restarts, "state": state, "image": image}
    if last_message is not None:
        container["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "message": last_message}}
    return {"metadata": {"name": "cilium-%05d" % index, "namespace": NS, "labels": {"k8s-app": "cilium"}},
            "spec": {"nodeName": "aks-nodepool1-%d" % index, "containers": [{"name": "cilium-agent", "image": image}]},
            "status": {"phase": phase, "containerStatuses": [container] if phase != "Pending" else [],
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def operator_pod(index):
    return {"metadata": {"name": "cilium-operator-abc-%d" % index, "namespace": NS},
            "spec": {"nodeName": "aks-nodepool1-%d" % index, "containers": [{"name": "cilium-operator", "image": OPERATOR_IMAGE}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "cilium-operator", "ready": True, "restartCount": 0,
                                              "state": {"running": {}}}]}}


CONFIG = {"metadata": {"name": "cilium-config", "namespace": NS},
          "data": {"ipam": "delegated-plugin", "routing-mode": "native", "kube-proxy-replacement": "true",
                   "enable-l7-proxy": "false", "enable-hubble": "false", "tofqdns-dns-reject-response-code": "refused",
                   "cluster-name": "aks1", "debug": "false", "enable-policy": "default"}}
CRDS = {name: ["v2"] for name in cilium_status.REQUIRED_CRDS}
CRDS["ciliumendpointslices"] = ["v2alpha1"]


def snapshot(**overrides):
    snap = dict(namespace=NS, agent_name="cilium", operator_name="cilium-operator", config_map_name="cilium-config",
                agent=daemonset(), operator=deployment(), agent_pods=[agent_pod(i) for i in range(3)],
                operator_pods=[operator_pod(i) for i in range(2)], config=copy.deepcopy(CONFIG), crds=dict(CRDS))
    snap.update(overrides)
    return snap


def test_healthy_aks_cluster():
    report = cilium_status.evaluate(snapshot())
    assert report["healthy"] and report["errors"] == [] and report["cilium_warnings"] == []
    assert report["version"] == "1.17.9"
    agent = report["agent"]
    assert (agent["desired"], agent["ready"], agent["available"], agent["unavailable"], agent["updated"]) == (3, 3, 3, 0, 3)
    assert agent["rollout"] == 'daemon set "cilium" successfully rolled out'
    assert agent["max_unavailable"] == 2 and agent["update_strategy"] == "RollingUpdate"
    assert agent["images"] == {AGENT_IMAGE: 3} and agent["phases"] == {"Running": 3}
    operator = report["operator"]
    assert (operator["replicas"], operator["ready"], operator["updated"]) == (2, 2, 2)
    assert operator["version"] == "1.17.9" and operator["conditions"][0]["type"] == "Available"
    assert [p["node"] for p in report["agent_pods"]] == ["aks-nodepool1-0", "aks-nodepool1-1", "aks-nodepool1-2"]
    assert report["agent_pods"][0]["version"] == "1.17.9" and report["agent_pods"][0]["restarts"] == 0
    assert report["crds"][0] == "ciliumclusterwidenetworkpolicies.cilium.io" and len(report["crds"]) == 6
    assert report["config"] == {"ipam": "delegated-plugin", "routing-mode": "native", "kube-proxy-replacement": "true",
                                "enable-l7-proxy": "false", "enable-hubble": "false", "cluster-name": "aks1",
                                "tofqdns-dns-reject-response-code": "refused", "enable-policy": "default"}
    assert report["aks_managed"] and len(report["aks_evidence"]) == 3
    assert report["acns"] == {"enabled": False, "observability": False, "security": False, "network_policies": "none",
                              "transit_encryption": "none", "acceleration": "none"}
    assert (report["envoy"], report["hubble_relay"]) == (None, None)
    assert report["encryption"] == {"mode": "none", "nodes": 0, "nodes_with_key": 0, "nodes_without_key": []}
    assert report["summary"] == ("Cilium 1.17.9 OK (0 errors, 0 warnings): DaemonSet cilium 3/3 ready, Deployment "
                                 "cilium-operator 2/2 ready; AKS-managed, ACNS observability off, security off")


def test_acns_and_byo_cilium():
    config = copy.deepcopy(CONFIG)
    config["data"].update({"enable-hubble": "true", "enable-l7-proxy": "true"})
    report = cilium_status.evaluate(snapshot(config=config, agent=daemonset(aks=False)))
    assert report["acns"] == {"enabled": True, "observability": True, "security": True, "network_policies": "fqdn",
                              "transit_encryption": "none", "acceleration": "none"}
    assert not report["aks_managed"] and report["aks_evidence"] == []
    assert "not AKS-managed, ACNS observability on, security on (policies fqdn)" in report["summary"]
    # observability on but no Hubble Relay: unhealthy, naming the Deployment
    assert not report["healthy"] and 'hubble-relay: deployments.apps "hubble-relay" not found' in report["errors"]


def test_stalled_agent_pod():
    crashing = agent_pod(1, ready=False, waiting="CrashLoopBackOff", restarts=5, last_message="a\nlevel=fatal msg=\"boom\"")
    report = cilium_status.evaluate(snapshot(agent=daemonset(ready=2), agent_pods=[agent_pod(0), crashing, agent_pod(2)]))
    assert not report["healthy"]
    assert report["errors"] == [
        "cilium: 1 pods of DaemonSet cilium are not ready",
        'cilium cilium-00001: container cilium-agent is in CrashLoopBackOff, exited with code 1: level=fatal msg="boom"']
    assert report["cilium_warnings"] == []
    stuck = report["agent_pods"][1]
    assert stuck["ready"] is False and stuck["restarts"] == 5
    assert stuck["reasons"][0] == "container cilium-agent waiting: CrashLoopBackOff"
    assert report["summary"].startswith("Cilium 1.17.9 unhealthy (2 errors, 0 warnings): DaemonSet cilium 2/3 ready")
    assert report["summary"].endswith("; first: cilium: 1 pods of DaemonSet cilium are not ready")
    assert cilium_status.crash_looping(report) == ["cilium-00001"]


def test_not_running_agent_without_last_state_points_at_logs():
    pod = agent_pod(0, ready=False, waiting="ContainerCreating")
    report = cilium_status.evaluate(snapshot(agent=daemonset(desired=1, ready=0), agent_pods=[pod]))
    assert report["errors"][1] == ("cilium cilium-00000: container cilium-agent is not running: "
                                   "try 'kubectl -n kube-system logs -c cilium-agent cilium-00000'")
    assert cilium_status.crash_looping(report) == []


def test_running_but_unready_agent_and_pending_pod():
    pods = [agent_pod(0, ready=False), agent_pod(1, phase="Pending", ready=False), agent_pod(2)]
    report = cilium_status.evaluate(snapshot(agent=daemonset(ready=1), agent_pods=pods))
    assert "cilium cilium-00000: container cilium-agent is running but not ready" in report["errors"]
    assert report["cilium_warnings"] == ["cilium cilium-00001: pod is pending"]
    assert report["agent"]["phases"] == {"Running": 2, "Pending": 1}


def test_missing_operator():
    report = cilium_status.evaluate(snapshot(operator=None, operator_pods=[]))
    assert not report["healthy"]
    assert report["errors"] == ['cilium-operator: deployments.apps "cilium-operator" not found']
    assert report["operator"] == {"name": "cilium-operator", "present": False, "phases": {}, "images": {}}
    assert "Deployment cilium-operator missing" in report["summary"]


def test_missing_agent_config_and_crds():
    report = cilium_status.evaluate(snapshot(agent=None, agent_pods=[], config=None, crds={}))
    assert report["errors"] == ['cilium: daemonsets.apps "cilium" not found',
                                "cilium-config: configmaps \"cilium-config\" not found in namespace kube-system",
                                "crds: the API server serves no Cilium resources (API group cilium.io)"]
    assert report["version"] is None and report["summary"].startswith("Cilium (version unknown) unhealthy (3 errors")
    partial = dict(CRDS)
    del partial["ciliumnetworkpolicies"]
    assert cilium_status.evaluate(snapshot(crds=partial))["errors"] == ["crds: CRD ciliumnetworkpolicies.cilium.io is not served"]


def test_rollout_in_progress_counts_like_cilium_cli():
    report = cilium_status.evaluate(snapshot(agent=daemonset(generation=3, observed=2, updated=1, available=2, ready=3)))
    assert report["errors"] == ["cilium: daemonset cilium is updated but rollout has not started",
                                "cilium: daemonset cilium is rolling out - 1 out of 3 pods updated"]
    # unavailable beyond the not-ready ones is only a warning, as in cilium-cli
    assert report["cilium_warnings"] == ["cilium: 1 pods of DaemonSet cilium are not available"]
    assert cilium_status.evaluate(snapshot(agent=daemonset(ready=3, available=2)), ignore_warnings=True)["healthy"]
    assert not cilium_status.evaluate(snapshot(agent=daemonset(ready=3, available=2)))["healthy"]


def test_operator_rollout_errors():
    report = cilium_status.evaluate(snapshot(operator=deployment(ready=1, updated=1, generation=2, observed=1)))
    assert report["errors"] == ["cilium-operator: 1 pods of Deployment cilium-operator are not ready",
                                "cilium-operator: deployment cilium-operator is updated but rollout has not started",
                                "cilium-operator: deployment cilium-operator is rolling out - 1 out of 2 pods updated"]
    report = cilium_status.evaluate(snapshot(operator=deployment(deadline=True)))
    assert report["errors"] == ['cilium-operator: deployment "cilium-operator" exceeded its progress deadline']


def test_empty_daemonset_warns():
    report = cilium_status.evaluate(snapshot(agent=daemonset(desired=0, ready=0), agent_pods=[]))
    assert report["cilium_warnings"] == ["cilium: DaemonSet cilium has no pods scheduled: no node is eligible"]


@pytest.mark.parametrize("image,version", [
    (AGENT_IMAGE, "1.17.9"), (OPERATOR_IMAGE, "1.17.9"), ("quay.io/cilium/cilium:v1.18.6", "1.18.6"),
    ("localhost:5000/cilium/cilium", None), ("cilium/cilium:latest", None), (None, None),
    ("registry:5000/cilium:1.16.16-1@sha256:ab", "1.16.16"),
])
def test_image_version(image, version):
    assert images.image_version(image) == version


def test_agent_version_is_the_first_container_that_names_one():
    agent = daemonset()
    containers = agent["spec"]["template"]["spec"]["containers"]
    assert images.agent_version(agent) == "1.17.9"
    containers.insert(0, {"name": "sidecar", "image": "busybox:latest"})
    assert images.agent_version(agent) == "1.17.9"
    assert images.agent_version(None) is None and images.agent_version({"spec": {}}) is None


# --- collect and wait against a fake API --------------------------------------------------------
class FakeApi(object):
    """Objects by path; a list of DaemonSet versions that the watch hands out one per event."""

    def __init__(self, snap, ds_versions=(), events_done=None):
        self.objects = {
            "/apis/apps/v1/namespaces/kube-system/daemonsets/cilium": snap["agent"],
            "/apis/apps/v1/namespaces/kube-system/deployments/cilium-operator": snap["operator"],
            "/api/v1/namespaces/kube-system/configmaps/cilium-config": snap["config"],
            "/apis/cilium.io": {"versions": [{"groupVersion": "cilium.io/v2", "version": "v2"}]},
            "/apis/cilium.io/v2": {"resources": [{"name": n} for n in cilium_status.REQUIRED_CRDS] + [{"name": "ciliumnodes/status"}]},
        }
        self.pods = {"k8s-app=cilium": snap["agent_pods"], "io.cilium/app=operator,name=cilium-operator": snap["operator_pods"]}
        self.ds_versions = list(ds_versions)
        self.lock = threading.Lock()
        self.calls = []
        self.pool_size = 4

    def set_pool_size(self, size):
        self.pool_size = size

    def request(self, method, path, query=None):
        with self.lock:
            self.calls.append(("request", method, path, query))
        return {"metadata": {"resourceVersion": "7"}}

    def get(self, path, query=None):
        with self.lock:
            self.calls.append(("get", path))
            return copy.deepcopy(self.objects.get(path))

    def list(self, path, label_selector=None, field_selector=None, limit=500):
        with self.lock:
            self.calls.append(("list", path, label_selector, field_selector))
            if path.endswith("/pods"):
                return copy.deepcopy(self.pods[label_selector]), "1"
            name = field_selector.split("=", 1)[1]
            obj = self.objects.get(path + "/" + name)
            return ([copy.deepcopy(obj)] if obj else []), "1"

    def watch(self, path, resource_version=None, label_selector=None, field_selector=None, timeout_seconds=None):
        with self.lock:
            self.calls.append(("watch", path, resource_version, label_selector or field_selector))
        if path.endswith("daemonsets"):
            while self.ds_versions:
                with self.lock:
                    ds, pods = self.ds_versions.pop(0)
                    self.objects[path + "/cilium"] = ds
                    self.pods["k8s-app=cilium"] = pods
                yield {"type": "MODIFIED", "object": ds}
        threading.Event().wait(0.4)  # nothing (more) changes: the watch idles, then ends


def test_collect_request_shape():
    api = FakeApi(snapshot())
    snap = cilium_status.collect(api)
    assert snap["crds"] == {name: ["v2"] for name in cilium_status.REQUIRED_CRDS}
    assert snap["agent_selector"] == "k8s-app=cilium" and snap["agent_pods_version"] == "1"
    lists = [call for call in api.calls if call[0] == "list"]
    assert lists == [("list", "/api/v1/namespaces/kube-system/pods", "k8s-app=cilium", None),
                     ("list", "/api/v1/namespaces/kube-system/pods", "io.cilium/app=operator,name=cilium-operator", None)]
    assert len(api.calls) == 7  # fixed, whatever the number of nodes


def test_collect_skips_pods_of_missing_workloads():
    snap = snapshot(operator=None)
    api = FakeApi(snap)
    assert cilium_status.collect(api)["operator_pods"] == []
    assert len([call for call in api.calls if call[0] == "list"]) == 1


def test_status_without_wait_collects_once():
    api = FakeApi(snapshot(agent=daemonset(ready=2)))
    report = cilium_status.status(api)
    assert not report["healthy"] and report["timed_out"] is False
    assert not [call for call in api.calls if call[0] == "watch"]


def test_status_waits_on_watch_events_until_healthy():
    pods_not_ready = [agent_pod(0), agent_pod(1, ready=False), agent_pod(2)]
    steps = [(daemonset(ready=2), pods_not_ready), (daemonset(ready=3), [agent_pod(i) for i in range(3)])]
    for number, (ds, _pods) in enumerate(steps):
        ds["metadata"]["resourceVersion"] = str(100 + number)
    api = FakeApi(snapshot(agent=daemonset(ready=2), agent_pods=pods_not_ready), ds_versions=steps)
    report = cilium_status.status(api, wait=True, timeout=30)
    assert report["healthy"] and not report["timed_out"] and report["waited"] < 5
    watches = sorted(call for call in api.calls if call[0] == "watch")
    # each watch starts at the version the first collection saw: no list before it
    assert watches[:3] == [("watch", "/api/v1/namespaces/kube-system/pods", "1", "k8s-app=cilium"),
                           ("watch", "/apis/apps/v1/namespaces/kube-system/daemonsets", "10", "metadata.name=cilium"),
                           ("watch", "/apis/apps/v1/namespaces/kube-system/deployments", "20", "metadata.name=cilium-operator")]
    assert api.pool_size >= 7


def test_status_wait_times_out():
    api = FakeApi(snapshot(agent=daemonset(ready=2), agent_pods=[agent_pod(0), agent_pod(1, ready=False), agent_pod(2)]))
    report = cilium_status.status(api, wait=True, timeout=1)
    assert not report["healthy"] and report["timed_out"] and report["waited"] >= 1


def test_status_wait_gives_up_on_crash_loop_at_once():
    crashing = agent_pod(1, ready=False, waiting="CrashLoopBackOff")
    api = FakeApi(snapshot(agent=daemonset(ready=2), agent_pods=[agent_pod(0), crashing, agent_pod(2)]))
    report = cilium_status.status(api, wait=True, timeout=30)
    assert not report["healthy"] and not report["timed_out"]
    assert not [call for call in api.calls if call[0] == "watch"]


def test_status_wait_retries_watch_failures_until_the_deadline():
    class Boom(Exception):
        status = 500

    class Failing(FakeApi):
        watches = 0

        def watch(self, path, resource_version=None, label_selector=None, field_selector=None, timeout_seconds=None):
            Failing.watches += 1
            for _attempt in range(1):
                raise Boom("internal error")
            yield {}  # a generator, like the real watch

    api = Failing(snapshot(agent=daemonset(ready=2), agent_pods=[agent_pod(0), agent_pod(1, ready=False), agent_pod(2)]))
    report = cilium_status.status(api, wait=True, timeout=1)
    assert report["timed_out"] and Failing.watches >= 2  # re-listed and watched again, not failed at the first error


STATUS_DEFAULTS = dict(namespace="kube-system", agent_daemonset="cilium", operator_deployment="cilium-operator",
                       config_map="cilium-config", wait=False, wait_timeout=1, ignore_warnings=False,
                       fail_on_unhealthy=False)


def status_module(client, **params):
    return FakeModule(client, STATUS_DEFAULTS, **params)


def run_module(module):
    return run(cilium_status.run_status, module)


def test_module_reports_and_fails_only_when_asked():
    unhealthy = snapshot(agent=daemonset(ready=2), agent_pods=[agent_pod(0), agent_pod(1, ready=False), agent_pod(2)])
    result = run_module(status_module(FakeApi(unhealthy)))
    assert not result["failed"] and not result["changed"] and not result["healthy"]
    assert "warnings" not in result  # Ansible would turn those into its own warnings
    result = run_module(status_module(FakeApi(unhealthy), fail_on_unhealthy=True, wait=True))
    assert result["failed"] and result["timed_out"]
    assert result["msg"] == "Timed out after 1 s waiting for Cilium to be healthy: " + result["summary"]
    result = run_module(status_module(FakeApi(snapshot()), fail_on_unhealthy=True))
    assert not result["failed"] and result["healthy"]
