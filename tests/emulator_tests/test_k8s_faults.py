"""Fault injection and the request log of an emulated cluster."""

import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.emulator.requestlog import writes
from tests.emulator_tests.k8s_fixtures import k8s_ca, k8s_cluster, k8s_factory, kube, raw_request  # noqa: F401  pylint: disable=unused-import

# pylint: disable=redefined-outer-name


def test_conflict_on_the_next_update(kube, k8s_cluster):
    apps = client.AppsV1Api(kube)
    k8s_cluster.add_fault(method="PATCH|PUT", path="/deployments/coredns$", status=409)
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment("coredns", "kube-system", {"spec": {"replicas": 3}})
    body = json.loads(err.value.body)
    assert err.value.status == 409 and body["reason"] == "Conflict"
    assert body["message"] == ('Operation cannot be fulfilled on deployments.apps "coredns": the object has been modified; '
                               'please apply your changes to the latest version and try again')
    assert apps.patch_namespaced_deployment("coredns", "kube-system", {"spec": {"replicas": 3}}).spec.replicas == 3


@pytest.mark.parametrize("status, reason", [(429, "TooManyRequests"), (500, "InternalError"), (503, "ServiceUnavailable")])
def test_error_statuses_come_back_as_kubernetes_status_objects(k8s_cluster, status, reason):
    k8s_cluster.add_fault(method="GET", path="/api/v1/namespaces/kube-system/configmaps$", status=status,
                          headers={"Retry-After": "1"})
    code, body, headers = raw_request(k8s_cluster, "GET", "/api/v1/namespaces/kube-system/configmaps")
    assert code == status and body["kind"] == "Status" and body["reason"] == reason and body["code"] == status
    assert headers["Retry-After"] == "1"
    assert raw_request(k8s_cluster, "GET", "/api/v1/namespaces/kube-system/configmaps")[0] == 200


def test_python_client_retries_through_a_throttle(kube, k8s_cluster):
    k8s_cluster.add_fault(method="GET", path="/api/v1/nodes$", status=429, headers={"Retry-After": "0"})
    assert len(client.CoreV1Api(kube).list_node().items) == 3
    assert [e["status"] for e in k8s_cluster.requests() if e["path"] == "/api/v1/nodes"] == [429, 200]


def test_connection_reset_fault(kube, k8s_cluster):
    k8s_cluster.add_fault(path="/api/v1/nodes$", reset=True, count=-1)
    core = client.CoreV1Api(kube)
    with pytest.raises(Exception):  # urllib3 gives up after its retries and surfaces the reset
        core.list_node(_request_timeout=5)
    k8s_cluster.clear_faults()
    assert len(core.list_node().items) == 3


def test_request_log_and_control_endpoints(kube, k8s_cluster):
    k8s_cluster.clear_requests()
    core = client.CoreV1Api(kube)
    core.create_namespaced_config_map("default", {"metadata": {"name": "logged"}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "dry"}}, dry_run="All")
    core.read_namespaced_config_map("logged", "default")
    status, entries, _unused = raw_request(k8s_cluster, "GET", "/_emulator/requests", token=False)
    assert status == 200
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/api/v1/namespaces/default/configmaps", 201), ("POST", "/api/v1/namespaces/default/configmaps", 201),
        ("GET", "/api/v1/namespaces/default/configmaps/logged", 200)]
    assert [e["body"]["metadata"]["name"] for e in writes(entries)] == ["logged"]
    assert raw_request(k8s_cluster, "DELETE", "/_emulator/requests", token=False)[0] == 200
    assert k8s_cluster.requests() == []
    status, rule, _unused = raw_request(k8s_cluster, "POST", "/_emulator/faults", {"path": "/version", "status": 500}, token=False)
    assert status == 201 and rule["count"] == 1
    assert raw_request(k8s_cluster, "GET", "/version")[0] == 500
    assert raw_request(k8s_cluster, "GET", "/version")[0] == 200
    status, settings, _unused = raw_request(k8s_cluster, "POST", "/_emulator/settings", {"pod_ready_delay": 0.5}, token=False)
    assert settings["pod_ready_delay"] == 0.5 and k8s_cluster.settings.pod_ready_delay == 0.5
    assert raw_request(k8s_cluster, "POST", "/_emulator/nope", {}, token=False)[0] == 404
