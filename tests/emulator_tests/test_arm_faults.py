"""Fault injection as the SDK experiences it: throttling, 5xx, resets, failed and slow operations."""

import time

import pytest
import requests

from .conftest import cluster_body, unique


def _calls(emulator, since, path_part, method="GET"):
    return [e for e in emulator.requests(since) if e["method"] == method and path_part in e["path"]]


def test_429_with_retry_after_is_retried_by_the_sdk(emulator, sdk, group):
    emulator.add_fault(method="GET", path="/resourcegroups/%s$" % group, status=429, headers={"Retry-After": "1"})
    since, start = time.time(), time.monotonic()
    assert sdk.resources.resource_groups.get(group).name == group
    assert time.monotonic() - start >= 1.0  # the SDK honoured Retry-After
    statuses = [e["status"] for e in _calls(emulator, since, "/resourcegroups/" + group)]
    assert statuses == [429, 200]
    assert _calls(emulator, since, "/resourcegroups/" + group)[0]["status"] == 429


def test_throttled_body_is_the_arm_one(emulator, raw, sdk):
    emulator.add_fault(path="/resourcegroups$", status=429, headers={"Retry-After": "3"})
    reply = raw.get("%s/subscriptions/%s/resourcegroups?api-version=2025-04-01" % (raw.base, sdk.subscription_id))
    assert reply.status_code == 429 and reply.headers["Retry-After"] == "3"
    assert reply.json()["error"]["code"] == "SubscriptionRequestsThrottled"


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried(emulator, sdk, group, status):
    emulator.add_fault(method="GET", path="/resourcegroups/%s$" % group, status=status)
    since = time.time()
    assert sdk.resources.resource_groups.get(group).name == group
    assert [e["status"] for e in _calls(emulator, since, "/resourcegroups/" + group)] == [status, 200]


def test_persistent_503_surfaces_after_the_retry_budget(emulator, sdk, group):
    from azure.core.exceptions import HttpResponseError  # pylint: disable=import-outside-toplevel
    emulator.add_fault(method="GET", path="/resourcegroups/%s$" % group, status=503, count=-1)
    with pytest.raises(HttpResponseError) as caught:
        sdk.resources.resource_groups.get(group, retry_total=1)
    assert (caught.value.status_code, caught.value.error.code) == (503, "ServiceUnavailable")


def test_connection_reset_is_retried(emulator, sdk, group):
    emulator.add_fault(method="GET", path="/resourcegroups/%s$" % group, reset=True)
    since = time.time()
    assert sdk.resources.resource_groups.get(group).name == group
    assert [e["status"] for e in _calls(emulator, since, "/resourcegroups/" + group)] == [0, 200]


def test_connection_reset_reaches_a_plain_client(emulator):
    emulator.add_fault(path="^/metadata/endpoints$", reset=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(emulator.env["AZURE_CLOUD_ENVIRONMENT"], verify=emulator.ca_path, timeout=10)
    assert requests.get(emulator.env["AZURE_CLOUD_ENVIRONMENT"], verify=emulator.ca_path, timeout=10).ok


def test_long_running_operation_that_ends_failed(emulator, sdk, group):
    from azure.core.exceptions import HttpResponseError  # pylint: disable=import-outside-toplevel
    name = unique("failing")
    emulator.add_fault(method="PUT", path="/managedClusters/%s$" % name, lro="Failed",
                       error={"code": "ReconcileVNetError", "message": "An error occurred while reconciling the VNet."})
    poller = sdk.aks.managed_clusters.begin_create_or_update(group, name, cluster_body())
    with pytest.raises(HttpResponseError):
        poller.result()
    operation = next(e for e in emulator.requests() if "/operations/" in e["path"] and e["method"] == "GET")
    assert operation["status"] == 200  # the status resource answers 200; the failure is in its body
    assert sdk.aks.managed_clusters.get(group, name).properties.provisioning_state == "Failed"
    # a failed cluster can be reconciled by another PUT
    assert sdk.aks.managed_clusters.begin_create_or_update(group, name, cluster_body()).result() \
        .properties.provisioning_state == "Succeeded"


def test_failed_operation_body(emulator, raw, sdk, group):
    emulator.add_fault(method="PUT", path="/managedClusters/broken$", lro="Failed")
    url = "%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/broken" \
          "?api-version=2026-08-01" % (raw.base, sdk.subscription_id, group)
    status = raw.get(raw.put(url, json=cluster_body()).headers["Azure-AsyncOperation"]).json()
    assert status["status"] == "Failed" and status["error"]["code"] and status["error"]["message"]


@pytest.mark.parametrize("ending", ["Failed", "Canceled"])
def test_an_agent_pool_operation_that_ends_failed_leaves_the_pool_failed(emulator, raw, sdk, group, ending):
    """lro= on an agentPools PUT: the operation ends so with an error, the pool's provisioningState says so;
    a PUT of the pool's own model, or of the cluster's (AKS reconciles the pools with it), repairs it."""
    name = unique("poolfail")
    sdk.aks.managed_clusters.begin_create_or_update(group, name, cluster_body()).result()
    url = "%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/%s/agentPools/" \
          "user1?api-version=2026-08-01" % (raw.base, sdk.subscription_id, group, name)
    body = {"properties": {"count": 2, "mode": "User", "vmSize": "Standard_D4s_v5", "osType": "Linux"}}
    emulator.add_fault(method="PUT", path="/agentPools/user1$", lro=ending,
                       error={"code": "QuotaExceeded", "message": "injected: not enough cores"})
    reply = raw.put(url, json=body)
    assert reply.status_code == 201 and reply.json()["properties"]["provisioningState"] == "Creating"
    status = raw.get(reply.headers["Azure-AsyncOperation"]).json()
    assert status["status"] == ending and status["error"] == {"code": "QuotaExceeded", "message": "injected: not enough cores"}
    pool = raw.get(url).json()
    assert pool["properties"]["provisioningState"] == ending and pool["properties"]["count"] == 2  # the model is stored
    assert sdk.aks.managed_clusters.get(group, name).properties.provisioning_state == "Succeeded"  # only the pool moved

    again = raw.put(url, json={"properties": pool["properties"]})  # its own model, as az aks nodepool update sends
    assert again.status_code == 200 and raw.get(again.headers["Azure-AsyncOperation"]).json()["status"] == "Succeeded"
    assert raw.get(url).json()["properties"]["provisioningState"] == "Succeeded"

    emulator.add_fault(method="PUT", path="/agentPools/user1$", lro=ending)
    raw.put(url, json={"properties": dict(pool["properties"], count=3)})
    assert raw.get(url).json()["properties"]["provisioningState"] == ending
    cluster = sdk.aks.managed_clusters.get(group, name).as_dict()
    repaired = sdk.aks.managed_clusters.begin_create_or_update(group, name, cluster).result()
    assert [p.provisioning_state for p in repaired.agent_pool_profiles] == ["Succeeded", "Succeeded"]


def test_slow_provisioning_polls_at_retry_after(emulator, sdk, group):
    name = unique("slow")
    emulator.add_fault(method="PUT", path="/managedClusters/%s$" % name, provision_delay=1.5)
    since, start = time.time(), time.monotonic()
    cluster = sdk.aks.managed_clusters.begin_create_or_update(group, name, cluster_body()).result()
    assert cluster.properties.provisioning_state == "Succeeded"
    assert 1.5 <= time.monotonic() - start < 10
    polls = [e for e in emulator.requests(since) if "/operations/" in e["path"]]
    assert 2 <= len(polls) <= 4  # one per Retry-After second, not a 30 s default interval


def test_global_provision_delay_setting(emulator, raw, sdk, group):
    emulator.arm.settings.provision_delay = 30  # restored after the test by the plugin
    url = "%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/held" \
          "?api-version=2026-08-01" % (raw.base, sdk.subscription_id, group)
    operation = raw.put(url, json=cluster_body()).headers["Azure-AsyncOperation"]
    assert raw.get(operation).json()["status"] == "InProgress"
    emulator.arm.finish_operations()
    assert raw.get(operation).json()["status"] == "Succeeded"


def test_delay_fault_slows_one_answer(emulator, sdk, group):
    emulator.add_fault(method="GET", path="/resourcegroups/%s$" % group, delay=0.5)
    start = time.monotonic()
    sdk.resources.resource_groups.get(group)
    assert time.monotonic() - start >= 0.5


def test_faults_and_log_over_http(emulator):
    session = requests.Session()
    session.trust_env = False
    session.verify = emulator.ca_path
    assert session.post(emulator.url + "/_emulator/faults", json={"path": "^/metadata", "status": 503}).status_code == 201
    assert session.post(emulator.url + "/_emulator/faults", json={"bogus": 1}).status_code == 400
    assert session.get(emulator.env["AZURE_CLOUD_ENVIRONMENT"]).status_code == 503
    assert session.delete(emulator.url + "/_emulator/faults").ok
    assert session.get(emulator.env["AZURE_CLOUD_ENVIRONMENT"]).status_code == 200
    log = session.get(emulator.url + "/_emulator/requests").json()
    assert [e["status"] for e in log if e["path"] == "/metadata/endpoints"][-2:] == [503, 200]
    assert not any(e["path"].startswith("/_emulator") for e in log)
    assert session.delete(emulator.url + "/_emulator/requests").ok
    assert session.get(emulator.url + "/_emulator/requests").json() == []


def test_writes_helper_ignores_reads_tokens_and_credentials(emulator, sdk, group):
    since = time.time()
    sdk.aks.managed_clusters.begin_create_or_update(group, "w", cluster_body()).result()
    sdk.aks.managed_clusters.list_cluster_user_credentials(group, "w")
    sdk.aks.managed_clusters.get(group, "w")
    assert [(e["method"], e["path"].rsplit("/", 1)[1]) for e in emulator.writes(since)] == [("PUT", "w")]


def test_probability_fires_on_that_share_and_replays():
    from tests.emulator.faults import FaultInjector  # pylint: disable=import-outside-toplevel
    from tests.emulator.http import Request  # pylint: disable=import-outside-toplevel

    def pattern(seed):
        faults = FaultInjector()
        faults.add(method="PATCH", path="/policies/", status=500, count=-1, probability=0.05, seed=seed)
        request = Request("PATCH", "/apis/x/policies/p", {}, {}, b"", "test")
        return [faults.match(request) is not None for _unused in range(2000)]

    first = pattern(7)
    assert 60 <= sum(first) <= 140  # 5% of 2,000 = 100
    assert pattern(7) == first and pattern(8) != first
