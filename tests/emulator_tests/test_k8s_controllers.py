"""Controllers: DaemonSet and Deployment rollouts, ReplicaSets, pod readiness, progress deadlines, node scaling."""

import re
import time

from kubernetes import client

from tests.emulator.k8s.controllers import pod_ready
from tests.emulator_tests.k8s_fixtures import (api_client_for, k8s_ca, k8s_cluster, k8s_factory, kube,  # noqa: F401  pylint: disable=unused-import
                                               raw_request)

# pylint: disable=redefined-outer-name

SUFFIX = "[bcdfghjklmnpqrstvwxz2456789]"
RESTART = "kubectl.kubernetes.io/restartedAt"


def restart(apps, kind, name, stamp="2025-01-01T00:00:00Z"):
    body = {"spec": {"template": {"metadata": {"annotations": {RESTART: stamp}}}}}
    getattr(apps, "patch_namespaced_%s" % kind)(name, "kube-system", body)


def pods_of(cluster, selector):
    key, value = selector.split("=")
    return [p for p in cluster.store.objects("/pods", "kube-system")
            if (p["metadata"].get("labels") or {}).get(key) == value and not p["metadata"].get("deletionTimestamp")]


def sample_until(cluster, done, measure, timeout=20.0):
    """Measure the cluster state (under the store lock) every few ms until done(); return all samples."""
    samples, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        with cluster.store.lock:
            samples.append(measure())
            if done():
                return samples
        time.sleep(0.005)
    raise AssertionError("condition not reached in %.0fs; last sample %r" % (timeout, samples[-1:]))


def ds_rolled_out(cluster):
    ds = cluster.store.get("apps/daemonsets", "kube-system", "cilium")
    status = ds["status"]
    return (status.get("observedGeneration") == ds["metadata"]["generation"]
            and status["updatedNumberScheduled"] == status["desiredNumberScheduled"] == status["numberAvailable"])


def test_daemonset_rolling_update_honours_max_unavailable(k8s_factory, tmp_path):
    cluster = k8s_factory(node_pools=[{"name": "nodepool1", "count": 6}], pod_ready_delay=0.15)
    apps = client.AppsV1Api(api_client_for(cluster, tmp_path))
    before = {p["metadata"]["name"] for p in pods_of(cluster, "k8s-app=cilium")}
    restart(apps, "daemon_set", "cilium")

    def unavailable_nodes():
        ready_nodes = {p["spec"]["nodeName"] for p in pods_of(cluster, "k8s-app=cilium") if pod_ready(p)}
        return 6 - len(ready_nodes)

    samples = sample_until(cluster, lambda: ds_rolled_out(cluster), unavailable_nodes)
    assert max(samples) == 2  # maxUnavailable: 2, as AKS ships ds/cilium
    after = pods_of(cluster, "k8s-app=cilium")
    assert len(after) == 6 and not {p["metadata"]["name"] for p in after} & before
    assert all(re.fullmatch("cilium-%s{5}" % SUFFIX, p["metadata"]["name"]) for p in after)
    revisions = sorted((r["revision"], r["metadata"]["name"]) for r in cluster.store.objects("apps/controllerrevisions", "kube-system")
                       if re.fullmatch("cilium-[^-]+", r["metadata"]["name"]))
    assert [r for r, _unused in revisions] == [1, 2]
    assert {p["metadata"]["labels"]["controller-revision-hash"] for p in after} == {revisions[-1][1].split("-", 1)[1]}
    status = apps.read_namespaced_daemon_set("cilium", "kube-system").status
    assert (status.desired_number_scheduled, status.current_number_scheduled, status.number_ready, status.number_available,
            status.updated_number_scheduled, status.number_unavailable) == (6, 6, 6, 6, 6, None)


def test_daemonset_surge_starts_the_new_pod_before_removing_the_old(kube, k8s_cluster):
    apps = client.AppsV1Api(kube)
    apps.patch_namespaced_daemon_set("cilium", "kube-system", {"spec": {"updateStrategy": {
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}}})
    assert k8s_cluster.wait_idle()
    restart(apps, "daemon_set", "cilium")

    def measure():
        pods = pods_of(k8s_cluster, "k8s-app=cilium")
        return len(pods), 3 - len({p["spec"]["nodeName"] for p in pods if pod_ready(p)})

    samples = sample_until(k8s_cluster, lambda: ds_rolled_out(k8s_cluster), measure)
    assert max(count for count, _unused in samples) == 4 and max(unavailable for _unused, unavailable in samples) == 0


def test_deployment_rollout_creates_a_replicaset_per_template_and_respects_surge(kube, k8s_cluster):
    apps = client.AppsV1Api(kube)
    old_rs = apps.list_namespaced_replica_set("kube-system", label_selector="name=cilium-operator").items
    assert [re.fullmatch("cilium-operator-%s{8,10}" % SUFFIX, rs.metadata.name) is not None for rs in old_rs] == [True]
    restart(apps, "deployment", "cilium-operator")

    def measure():
        pods = pods_of(k8s_cluster, "name=cilium-operator")
        return len(pods), sum(1 for p in pods if pod_ready(p))

    def complete():
        deploy = k8s_cluster.store.get("apps/deployments", "kube-system", "cilium-operator")
        status = deploy["status"]  # the status from before the patch is complete too: wait for this generation's
        return (status.get("observedGeneration") == deploy["metadata"]["generation"]
                and status.get("updatedReplicas") == status.get("replicas") == status.get("availableReplicas") == 2)

    samples = sample_until(k8s_cluster, complete, measure)
    assert max(total for total, _unused in samples) <= 3  # replicas 2 + maxSurge 1
    assert min(ready for _unused, ready in samples) >= 1  # replicas 2 - maxUnavailable 1
    rs_list = {rs.metadata.name: rs for rs in apps.list_namespaced_replica_set("kube-system", label_selector="name=cilium-operator").items}
    new_name = next(name for name in rs_list if name != old_rs[0].metadata.name)
    assert rs_list[old_rs[0].metadata.name].spec.replicas == 0 and rs_list[new_name].spec.replicas == 2
    assert rs_list[new_name].metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    hash_value = new_name.rsplit("-", 1)[1]
    assert rs_list[new_name].spec.selector.match_labels["pod-template-hash"] == hash_value
    assert all(re.fullmatch("%s-%s{5}" % (new_name, SUFFIX), p["metadata"]["name"]) for p in pods_of(k8s_cluster, "name=cilium-operator"))
    deploy = apps.read_namespaced_deployment("cilium-operator", "kube-system")
    assert deploy.status.observed_generation == deploy.metadata.generation == 2
    conditions = {c.type: c for c in deploy.status.conditions}
    assert conditions["Available"].status == "True" and conditions["Available"].reason == "MinimumReplicasAvailable"
    assert conditions["Progressing"].reason == "NewReplicaSetAvailable"
    assert conditions["Progressing"].message == 'ReplicaSet "%s" has successfully progressed.' % new_name
    events = client.CoreV1Api(kube).list_namespaced_event("kube-system", field_selector="reason=ScalingReplicaSet").items
    assert any(e.message == "Scaled up replica set %s from 0 to 1" % new_name for e in events)


def test_pods_become_ready_after_the_configured_delay(k8s_factory, tmp_path):
    cluster = k8s_factory(pod_ready_delay=0.6)
    apps = client.AppsV1Api(api_client_for(cluster, tmp_path))
    apps.create_namespaced_deployment("default", {"metadata": {"name": "slow"}, "spec": {
        "replicas": 2, "selector": {"matchLabels": {"app": "slow"}},
        "template": {"metadata": {"labels": {"app": "slow"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}})
    time.sleep(0.3)
    pods = list(cluster.store.objects("/pods", "default"))
    assert len(pods) == 2 and not any(pod_ready(p) for p in pods)
    assert {p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] for p in pods} == {"ContainerCreating"}
    time.sleep(0.8)
    pods = list(cluster.store.objects("/pods", "default"))
    assert all(pod_ready(p) and p["status"]["phase"] == "Running" and p["status"]["podIP"].startswith("10.244.") for p in pods)


def test_progress_deadline_exceeded_when_new_pods_never_become_ready(kube, k8s_cluster):
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    apps.patch_namespaced_deployment("coredns", "kube-system", {"spec": {"progressDeadlineSeconds": 1}})
    raw_request(k8s_cluster, "POST", "/_emulator/stall", {"selector": "k8s-app=kube-dns", "stalled": True})
    restart(apps, "deployment", "coredns")

    def exceeded():
        status = k8s_cluster.store.get("apps/deployments", "kube-system", "coredns").get("status") or {}
        return any(c.get("reason") == "ProgressDeadlineExceeded" for c in status.get("conditions") or [])

    sample_until(k8s_cluster, exceeded, lambda: None, timeout=10)
    deploy = apps.read_namespaced_deployment("coredns", "kube-system")
    progressing = {c.type: c for c in deploy.status.conditions}["Progressing"]
    new_rs = max(apps.list_namespaced_replica_set("kube-system", label_selector="k8s-app=kube-dns").items,
                 key=lambda rs: int(rs.metadata.annotations["deployment.kubernetes.io/revision"]))
    assert progressing.status == "False" and progressing.message == 'ReplicaSet "%s" has timed out progressing.' % new_rs.metadata.name
    assert deploy.status.available_replicas >= 1  # the old pods keep serving
    stuck_selector = "pod-template-hash=%s" % new_rs.metadata.labels["pod-template-hash"]

    def crashlooping():
        stuck = pods_of(k8s_cluster, stuck_selector)
        return stuck and all(p["status"]["containerStatuses"][0]["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff"
                             for p in stuck)

    sample_until(k8s_cluster, crashlooping, lambda: None, timeout=5)
    table = raw_request(k8s_cluster, "GET", "/api/v1/namespaces/kube-system/pods?labelSelector=" + stuck_selector,
                        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})[1]
    assert {tuple(row["cells"][1:4]) for row in table["rows"]} == {("0/1", "CrashLoopBackOff", "1")}
    assert len(core.list_namespaced_pod("kube-system", label_selector=stuck_selector).items) == len(table["rows"])
    raw_request(k8s_cluster, "POST", "/_emulator/stall", {"selector": "k8s-app=kube-dns", "stalled": False})
    restart(apps, "deployment", "coredns", "2025-01-02T00:00:00Z")

    def recovered():
        status = k8s_cluster.store.get("apps/deployments", "kube-system", "coredns")["status"]
        return any(c.get("reason") == "NewReplicaSetAvailable" for c in status.get("conditions") or [])

    sample_until(k8s_cluster, recovered, lambda: None, timeout=10)


def test_daemonset_follows_node_scaling(k8s_cluster):
    assert raw_request(k8s_cluster, "POST", "/_emulator/nodes", {"count": 5})[1] == {"nodes": 5}
    sample_until(k8s_cluster, lambda: ds_rolled_out(k8s_cluster) and len(pods_of(k8s_cluster, "k8s-app=cilium")) == 5,
                 lambda: None, timeout=10)
    names = sorted(n["metadata"]["name"] for n in k8s_cluster.store.objects("/nodes"))
    assert names[-1].endswith("-vmss000004")
    k8s_cluster.update(node_pools=[{"name": "nodepool1", "count": 2}])
    sample_until(k8s_cluster, lambda: len(pods_of(k8s_cluster, "k8s-app=cilium")) == 2 and ds_rolled_out(k8s_cluster),
                 lambda: None, timeout=10)
    assert {p["spec"]["nodeName"] for p in pods_of(k8s_cluster, "k8s-app=cilium")} == set(names[:2])
    sample_until(k8s_cluster, lambda: all(p["spec"]["nodeName"] in names[:2] and p.get("status", {}).get("phase") == "Running"
                                          for p in k8s_cluster.store.objects("/pods")), lambda: None, timeout=10)
    assert len(pods_of(k8s_cluster, "name=cilium-operator")) == 2 and len(pods_of(k8s_cluster, "k8s-app=kube-dns")) == 2
    assert k8s_cluster.store.get("apps/daemonsets", "kube-system", "cilium")["status"]["desiredNumberScheduled"] == 2
    assert len(list(k8s_cluster.store.objects("cilium.io/ciliumnodes"))) == 2


def test_controllers_are_idle_when_nothing_changes(k8s_cluster):
    assert k8s_cluster.wait_idle()
    passes, rv = k8s_cluster.controllers.passes, k8s_cluster.store.rv
    time.sleep(1.0)
    assert k8s_cluster.controllers.passes - passes <= 1 and k8s_cluster.store.rv == rv


class SlowPass:
    """An extra reconciler that makes a pass outlast the pod's ready timer, but only a pass that wrote nothing.

    That is the window of the lost-timer race: the kubelet arms the timer early in a pass, the pass
    (busy with 50 nodes and kubectl traffic on 2 cores) ends after the timer is due, and no write
    wakes the loop again, so only the timer can make the pod Ready.
    """

    def __init__(self, cluster, name, delay):
        self.cluster, self.name, self.delay = cluster, name, delay
        self.seen = None
        self.slowed = 0

    def reconcile(self):
        pod = self.cluster.store.get("/pods", "default", self.name)
        if pod is None or (pod.get("status") or {}).get("phase") != "Pending":
            return
        if pod["metadata"]["resourceVersion"] == self.seen:
            self.slowed += 1
            time.sleep(self.delay + 0.2)
        self.seen = pod["metadata"]["resourceVersion"]


def test_pod_becomes_ready_when_its_timer_falls_due_during_a_quiet_pass(k8s_cluster):
    assert k8s_cluster.wait_idle()
    k8s_cluster.settings.pod_ready_delay = 1.5  # the pass after the Pending write must start before this elapses
    slow = SlowPass(k8s_cluster, "late", 1.5)
    k8s_cluster.controllers.extra.append(slow)
    raw_request(k8s_cluster, "POST", "/api/v1/namespaces/default/pods", {
        "metadata": {"name": "late"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}})
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and not pod_ready(k8s_cluster.store.get("/pods", "default", "late")):
        time.sleep(0.05)
    assert slow.slowed, "the quiet slow pass never happened: the test did not exercise the race"
    assert pod_ready(k8s_cluster.store.get("/pods", "default", "late")), "the ready timer was dropped: pod stuck in ContainerCreating"
