"""CiliumIdentities follow the pods' identity-relevant labels like Cilium's CRD allocation does; the
cilium-config `labels` key takes effect when the agents restart; LoadBalancer Services get addresses."""

import time

from tests.emulator.k8s.api import WriteOptions
from tests.emulator.k8s.identities import IDENTITY_MAX, IDENTITY_MIN, LabelFilter, identity_labels
from tests.emulator_tests.k8s_fixtures import k8s_ca, k8s_factory, k8s_cluster  # noqa: F401  pylint: disable=unused-import

# pylint: disable=redefined-outer-name

USER = WriteOptions(manager="kubectl")


def rtype(cluster, group, plural, version="v1"):
    return cluster.api.registry.get(group, version, plural)


def make_pod(cluster, name, labels, namespace="default", **spec):
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": dict({"containers": [{"name": "app", "image": "nginx"}]}, **spec)}
    return cluster.api.create(rtype(cluster, "", "pods"), namespace, body, USER)[0]


def relabel(cluster, kind, namespace, name, labels):
    current = cluster.store.get(kind.key, namespace, name)
    cluster.api.write(kind, current, dict(current, metadata=dict(current["metadata"], labels=labels)), USER)
    cluster.controllers.kick()


def identities(cluster):
    return list(cluster.store.objects("cilium.io/ciliumidentities"))


def endpoint_identity(cluster, name, namespace="default"):
    endpoint = cluster.store.get("cilium.io/ciliumendpoints", namespace, name)
    return endpoint and endpoint["status"]["identity"]["id"]


def settle(cluster, check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def restart_agents(cluster):
    """kubectl rollout restart ds/cilium, then wait until every agent pod is new and ready."""
    ds_type = rtype(cluster, "apps", "daemonsets")
    old = {p["metadata"]["uid"] for p in cluster.store.objects("/pods", "kube-system") if (p["metadata"].get("labels") or {}).get("k8s-app") == "cilium"}
    current = cluster.store.get(ds_type.key, "kube-system", "cilium")
    template = dict(current["spec"]["template"])
    annotations = dict(template["metadata"].get("annotations") or {}, **{"kubectl.kubernetes.io/restartedAt": "2026-12-01T10:00:00Z"})
    template["metadata"] = dict(template["metadata"], annotations=annotations)
    cluster.api.write(ds_type, current, dict(current, spec=dict(current["spec"], template=template)), USER)

    def done():
        pods = [p for p in cluster.store.objects("/pods", "kube-system") if (p["metadata"].get("labels") or {}).get("k8s-app") == "cilium"]
        return len(pods) == 3 and all(p["metadata"]["uid"] not in old and p["status"].get("phase") == "Running"
                                      and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"])
                                      for p in pods)
    assert settle(cluster, done, 30)


def test_default_patterns_follow_the_cilium_version():
    pod = {"metadata": {"namespace": "jobs", "labels": {
        "app": "etl", "controller-uid": "u1", "batch.kubernetes.io/controller-uid": "u1", "job-name": "etl-1",
        "statefulset.kubernetes.io/pod-name": "db-0", "apps.kubernetes.io/pod-index": "0", "pod-template-hash": "abc",
        "app.kubernetes.io/name": "etl", "kubernetes.io/role": "x", "topology.beta.kubernetes.io/zone": "1"}},
        "spec": {"serviceAccountName": "runner"}}
    new = identity_labels(pod, {"kubernetes.io/metadata.name": "jobs", "team": "data"}, LabelFilter("1.16.16"))
    assert new == {"k8s:app": "etl", "k8s:job-name": "etl-1", "k8s:app.kubernetes.io/name": "etl",
                   "k8s:io.kubernetes.pod.namespace": "jobs", "k8s:io.cilium.k8s.policy.serviceaccount": "runner",
                   "k8s:io.cilium.k8s.policy.cluster": "default",
                   "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name": "jobs",
                   "k8s:io.cilium.k8s.namespace.labels.team": "data"}
    old = identity_labels(pod, {}, LabelFilter("1.14.20"))
    # before Cilium 1.15 / 1.16 the StatefulSet and Job controller labels made one identity per pod / per Job
    assert {"k8s:statefulset.kubernetes.io/pod-name", "k8s:apps.kubernetes.io/pod-index", "k8s:controller-uid",
            "k8s:batch.kubernetes.io/controller-uid"} <= set(old)


def test_label_setting_excludes_or_switches_to_include_only():
    pod = {"metadata": {"namespace": "spark", "labels": {"spark-app-selector": "spark-1", "spark-app-name": "pi",
                                                         "team": "t1", "env": "prod", "app.kubernetes.io/part-of": "x"}},
           "spec": {}}
    excluded = identity_labels(pod, {}, LabelFilter("1.17.9", "k8s:!spark-app-selector k8s:!spark-app-name"))
    assert "k8s:spark-app-selector" not in excluded and "k8s:spark-app-name" not in excluded and excluded["k8s:team"] == "t1"
    included = identity_labels(pod, {"kubernetes.io/metadata.name": "spark"}, LabelFilter("1.17.9", "k8s:team"))
    # include-only: the pattern plus the default inclusive ones (namespace, namespace labels, app.kubernetes.io)
    assert set(included) == {"k8s:team", "k8s:io.kubernetes.pod.namespace", "k8s:app.kubernetes.io/part-of",
                             "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name"}
    # an exclusion with a source other than the label's does not apply (labelsfilter compares sources exactly)
    assert "k8s:team" in identity_labels(pod, {}, LabelFilter("1.17.9", "container:!team"))


def test_identities_are_shared_follow_relabels_and_are_collected(k8s_cluster):
    cluster = k8s_cluster
    before = {i["metadata"]["name"] for i in identities(cluster)}
    make_pod(cluster, "web-1", {"app": "web", "pod-template-hash": "aaaa"})
    make_pod(cluster, "web-2", {"app": "web", "pod-template-hash": "bbbb"})
    make_pod(cluster, "db-1", {"app": "db"})
    assert settle(cluster, lambda: all(endpoint_identity(cluster, n) for n in ("web-1", "web-2", "db-1")))
    web, db = endpoint_identity(cluster, "web-1"), endpoint_identity(cluster, "db-1")
    assert endpoint_identity(cluster, "web-2") == web != db  # pod-template-hash is not identity-relevant
    assert all(IDENTITY_MIN <= int(i["metadata"]["name"]) <= IDENTITY_MAX for i in identities(cluster))
    added = {i["metadata"]["name"]: i for i in identities(cluster)}
    assert set(added) - before == {str(web), str(db)}
    assert added[str(web)]["security-labels"]["k8s:app"] == "web"
    assert added[str(web)]["metadata"]["labels"]["io.kubernetes.pod.namespace"] == "default"

    relabel(cluster, rtype(cluster, "", "pods"), "default", "db-1", {"app": "db", "tier": "gold"})
    assert settle(cluster, lambda: endpoint_identity(cluster, "db-1") not in (None, db))
    assert str(db) in {i["metadata"]["name"] for i in identities(cluster)}  # unused, not yet collected (15 min)
    cluster._control_identities({"gc_delay": 0.2})  # pylint: disable=protected-access
    assert settle(cluster, lambda: str(db) not in {i["metadata"]["name"] for i in identities(cluster)})
    assert str(web) in {i["metadata"]["name"] for i in identities(cluster)}

    # a namespace's labels are identity labels of its pods
    relabel(cluster, rtype(cluster, "", "namespaces"), "", "default", {"kubernetes.io/metadata.name": "default", "env": "dev"})
    assert settle(cluster, lambda: endpoint_identity(cluster, "web-1") != web)
    assert endpoint_identity(cluster, "web-1") == endpoint_identity(cluster, "web-2")


def test_label_setting_applies_after_the_agents_restart_to_new_endpoints(k8s_cluster):
    cluster = k8s_cluster
    cluster._control_identities({"gc_delay": 0})  # pylint: disable=protected-access
    for index in range(3):
        make_pod(cluster, "spark-%d" % index, {"spark-app-selector": "run-%d" % index, "role": "executor"})
    assert settle(cluster, lambda: len({endpoint_identity(cluster, "spark-%d" % i) for i in range(3)} - {None}) == 3)
    config_type = rtype(cluster, "", "configmaps")
    config = cluster.store.get(config_type.key, "kube-system", "cilium-config")
    cluster.api.write(config_type, config, dict(config, data=dict(config["data"], labels="k8s:!spark-app-selector")), USER)
    make_pod(cluster, "spark-3", {"spark-app-selector": "run-3", "role": "executor"})
    assert settle(cluster, lambda: endpoint_identity(cluster, "spark-3"))
    assert len({endpoint_identity(cluster, "spark-%d" % i) for i in range(4)}) == 4  # agents still run the old filter

    restart_agents(cluster)
    time.sleep(0.3)
    # existing endpoints keep their identities until their pods are recreated
    assert len({endpoint_identity(cluster, "spark-%d" % i) for i in range(4)}) == 4
    pods = rtype(cluster, "", "pods")
    for index in range(4):
        cluster.api.remove(pods, cluster.store.get(pods.key, "default", "spark-%d" % index), USER)
        make_pod(cluster, "spark-%d" % index, {"spark-app-selector": "run-%d" % index, "role": "executor"})
    assert settle(cluster, lambda: len({endpoint_identity(cluster, "spark-%d" % i) for i in range(4)}) == 1 and None not in
                  {endpoint_identity(cluster, "spark-%d" % i) for i in range(4)})
    shared = endpoint_identity(cluster, "spark-0")
    assert settle(cluster, lambda: sum(1 for i in identities(cluster) if i["security-labels"].get("k8s:role") == "executor") == 1)
    assert "k8s:spark-app-selector" not in cluster.store.get("cilium.io/ciliumidentities", "", str(shared))["security-labels"]


def test_hostnetwork_pods_get_no_endpoint_and_load_balancers_get_addresses(k8s_cluster):
    cluster = k8s_cluster
    make_pod(cluster, "node-agent", {"app": "node-agent"}, hostNetwork=True)
    services = rtype(cluster, "", "services")

    def service(name, protocol, address=None):
        body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
                "spec": {"type": "LoadBalancer", "selector": {"app": "dns"}, "ports": [{"port": 53, "protocol": protocol}]}}
        if address:
            body["metadata"]["annotations"] = {"service.beta.kubernetes.io/azure-load-balancer-ipv4": address}
        cluster.api.create(services, "default", body, USER)

    service("dns-tcp", "TCP")
    assert settle(cluster, lambda: (cluster.store.get(services.key, "default", "dns-tcp").get("status") or {}).get("loadBalancer"))
    shared = cluster.store.get(services.key, "default", "dns-tcp")["status"]["loadBalancer"]["ingress"][0]["ip"]
    service("dns-udp", "UDP", shared)
    service("other", "TCP")
    assert settle(cluster, lambda: all((cluster.store.get(services.key, "default", n).get("status") or {}).get("loadBalancer")
                                       for n in ("dns-udp", "other")))
    addresses = [cluster.store.get(services.key, "default", n)["status"]["loadBalancer"]["ingress"][0]["ip"]
                 for n in ("dns-tcp", "dns-udp", "other")]
    assert addresses[0] == addresses[1] != addresses[2]
    assert settle(cluster, lambda: (cluster.store.get("/pods", "default", "node-agent").get("status") or {}).get("phase") == "Running")
    time.sleep(0.2)
    assert cluster.store.get("cilium.io/ciliumendpoints", "default", "node-agent") is None
