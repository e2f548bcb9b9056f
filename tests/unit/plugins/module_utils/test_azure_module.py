# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ARM client layer against a scripted HTTPS server: cloud metadata, CA bundle, retries,
long-running operations and error messages, through the real SDK clients."""

from __future__ import annotations

import time

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._azure import auth as azure_auth
from ansible_collections.azcni.cilium.plugins.module_utils._azure import module as azure_module

RG_PATH = "/subscriptions/sub/resourcegroups/rg1$"
MC_PATH = "/managedClusters/c1$"


class Failed(Exception):
    pass


class FakeAnsibleModule(object):
    def __init__(self, params):
        self.params = params
        self.check_mode = False
        self._diff = False
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)

    def fail_json(self, **kwargs):
        raise Failed(kwargs)


class StaticToken(object):
    def get_token(self, *scopes, **kwargs):  # pylint: disable=unused-argument
        from azure.core.credentials import AccessToken
        return AccessToken("token", int(time.time()) + 3600)


@pytest.fixture
def az(https_server, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", https_server.ca_path)
    monkeypatch.setitem(azure_module.CLIENT_SETTINGS, "retry_backoff_factor", 0.01)
    module = azure_module.AzureModule.__new__(azure_module.AzureModule)
    module.module = FakeAnsibleModule({"wait_timeout": 2})
    module.params = module.module.params
    module._settings = {"source": "params", "subscription_id": "sub"}
    module._cloud = azure_auth.Cloud("test", https_server.url + "/", https_server.url, https_server.url + "/")
    module._credential = StaticToken()
    module._api = None
    module._sender = None
    module.started, module.stored = azure_module.time.monotonic(), []
    return module


def metadata(url):
    return {"name": "Local", "resourceManager": url, "authentication": {"loginEndpoint": url, "audiences": [url + "/aud"]}}


def test_cloud_from_metadata_url_over_https(https_server, monkeypatch):
    https_server.script("GET", "^/metadata/endpoints$", (200, metadata(https_server.url)))
    url = https_server.url + "/metadata/endpoints?api-version=2022-09-01"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", https_server.ca_path)
    cloud = azure_auth.resolve_cloud(url)
    assert cloud.resource_manager == https_server.url + "/" and cloud.login_endpoint == https_server.url
    assert azure_auth.scope_for(cloud) == https_server.url + "/aud/.default"
    assert https_server.requests[-1][2] == {"api-version": ["2022-09-01"]}


def test_metadata_needs_a_trusted_ca(https_server, monkeypatch):
    https_server.script("GET", "^/metadata/endpoints$", (200, metadata(https_server.url)))
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(azure_auth.AzureAuthError, match="REQUESTS_CA_BUNDLE"):
        azure_auth.resolve_cloud(https_server.url + "/metadata/endpoints")
    assert azure_auth.resolve_cloud(https_server.url + "/metadata/endpoints", verify=False).name == "Local"


def test_sdk_client_uses_ca_bundle_and_cloud(az, https_server, monkeypatch):
    https_server.script("GET", RG_PATH, (200, {"name": "rg1", "location": "westeurope"}))
    assert az.get(az.client("resources").resource_groups.get, "rg1") == {"name": "rg1", "location": "westeurope"}
    headers = https_server.requests[-1][4]
    assert headers["Authorization"] == "Bearer token"
    assert "azcni.cilium" in headers["User-Agent"]
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    az._api = None
    with pytest.raises(azure_module.AzureError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        az.get(az.client("resources").resource_groups.get, "rg1")


def test_missing_resource_is_none(az, https_server):
    https_server.script("GET", RG_PATH, (404, {"error": {"code": "ResourceGroupNotFound", "message": "not found"}}))
    assert az.get(az.client("resources").resource_groups.get, "rg1") is None


def test_throttling_honours_retry_after(az, https_server):
    throttled = (429, {"error": {"code": "SubscriptionRequestsThrottled", "message": "slow down"}}, {"Retry-After": "1"})
    https_server.script("GET", RG_PATH, throttled, (200, {"name": "rg1"}))
    started = time.monotonic()
    assert az.get(az.client("resources").resource_groups.get, "rg1") == {"name": "rg1"}
    assert time.monotonic() - started >= 1.0
    assert https_server.count("GET", RG_PATH) == 2


def test_server_errors_retried_then_surfaced(az, https_server):
    https_server.script("GET", RG_PATH, (503, {"error": {"code": "ServiceUnavailable", "message": "try later"}}))
    with pytest.raises(azure_module.AzureError) as error:
        az.get(az.client("resources").resource_groups.get, "rg1")
    assert error.value.status == 503 and error.value.code == "ServiceUnavailable"
    assert https_server.count("GET", RG_PATH) == azure_module.CLIENT_SETTINGS["retry_status"] + 1


def test_arm_error_becomes_message(az, https_server):
    https_server.script("PUT", RG_PATH, (400, {"error": {"code": "LocationNotAvailableForResourceGroup",
                                                         "message": "The provided location 'mars' is not available"}}))
    with pytest.raises(azure_module.AzureError) as error:
        az.call(az.client("resources").resource_groups.create_or_update, "rg1", body={"location": "mars"})
    assert https_server.requests[-1][3] == {"location": "mars"}
    with pytest.raises(Failed) as failed:
        az.fail_azure(error.value, "Could not create resource group rg1")
    result = failed.value.args[0]
    assert result["msg"] == ("Could not create resource group rg1: LocationNotAvailableForResourceGroup: "
                             "The provided location 'mars' is not available")
    assert result["error_code"] == "LocationNotAvailableForResourceGroup" and result["status_code"] == 400


def script_lro(https_server, operation_answers):
    operation = https_server.url + "/subscriptions/sub/providers/Microsoft.ContainerService/locations/x/operations/op1"
    https_server.script("PUT", MC_PATH, (201, {"name": "c1", "properties": {"provisioningState": "Creating"}},
                                         {"Azure-AsyncOperation": operation, "Retry-After": "1"}))
    https_server.script("GET", "/operations/op1$", *operation_answers)
    https_server.script("GET", MC_PATH, (200, {"name": "c1", "properties": {"provisioningState": "Succeeded"}}))


def test_long_running_operation_polls_and_returns_final_json(az, https_server):
    script_lro(https_server, [(200, {"status": "InProgress"}, {"Retry-After": "1"}), (200, {"status": "Succeeded"})])
    poller = az.call(az.client("containerservice").managed_clusters.begin_create_or_update, "rg1", "c1",
                     body={"location": "westeurope"})
    assert az.wait(poller)["properties"]["provisioningState"] == "Succeeded"
    assert https_server.count("GET", "/operations/op1$") == 2


def test_long_running_operation_wait_timeout(az, https_server):
    script_lro(https_server, [(200, {"status": "InProgress"}, {"Retry-After": "1"})])
    poller = az.call(az.client("containerservice").managed_clusters.begin_create_or_update, "rg1", "c1",
                     body={"location": "westeurope"})
    with pytest.raises(Failed) as failed:
        az.wait(poller, what="cluster c1")
    assert 2 <= time.monotonic() - az.started < 10  # the task's wait_timeout, counted from its start
    assert failed.value.args[0]["msg"].startswith("Timed out after 2 s waiting for cluster c1")


def test_failed_long_running_operation_carries_arm_error(az, https_server):
    script_lro(https_server, [(200, {"status": "Failed", "error": {"code": "ReconcileVNetError",
                                                                   "message": "subnet is full"}})])
    poller = az.call(az.client("containerservice").managed_clusters.begin_create_or_update, "rg1", "c1",
                     body={"location": "westeurope"})
    with pytest.raises(azure_module.AzureError) as error:
        az.wait(poller)
    assert error.value.code == "ReconcileVNetError" and "subnet is full" in error.value.message


def test_tls_verification_off_warns_once_per_task(az, https_server):
    https_server.script("GET", RG_PATH, (200, {"name": "rg1"}))
    az._settings = dict(az._settings, cert_validation_mode="ignore")
    assert az.get(az.client("resources").resource_groups.get, "rg1") == {"name": "rg1"}
    assert az.get(az.client("network").resource_groups.get, "rg1") == {"name": "rg1"}
    assert az.module.warnings == [azure_module.TLS_OFF_WARNING]


def test_an_unregistered_provider_is_registered_then_the_request_sent_again(az, https_server, monkeypatch):
    """azure-mgmt-core's registration policy, loaded only on ARM's 409 MissingSubscriptionRegistration."""
    from azure.mgmt.core.policies import _base

    monkeypatch.setattr(_base.time, "sleep", lambda seconds: None)  # it waits 10 s between registration polls
    subscription = "00000000-0000-0000-0000-0000000000aa"
    az._settings = dict(az._settings, subscription_id=subscription)
    group = "^/subscriptions/%s/resourcegroups/rg1$" % subscription
    refused = {"error": {"code": "MissingSubscriptionRegistration",
                         "message": "The subscription is not registered to use namespace 'Microsoft.Resources'."}}
    https_server.script("PUT", group, (409, refused), (409, refused), (200, {"name": "rg1"}))
    https_server.script("POST", "/providers/Microsoft.Resources/register$", (200, {"registrationState": "Registering"}))
    https_server.script("GET", "/providers/Microsoft.Resources$", (200, {"registrationState": "Registered"}))
    assert az.call(az.client("resources").resource_groups.create_or_update, "rg1",
                   body={"location": "westeurope"}) == {"name": "rg1"}
    sent = [(method, path.rsplit("/", 1)[-1]) for method, path, _q, _b, _h in https_server.requests]
    assert sent == [("PUT", "rg1"), ("PUT", "rg1"), ("POST", "register"), ("GET", "Microsoft.Resources"), ("PUT", "rg1")]


def test_a_read_arm_refuses_for_registration_goes_through_the_pipeline(az, https_server, monkeypatch):
    """_azure.reads hands ARM's 409 MissingSubscriptionRegistration to the pipeline, whose policy registers."""
    from azure.mgmt.core.policies import _base

    monkeypatch.setattr(_base.time, "sleep", lambda seconds: None)
    subscription = "00000000-0000-0000-0000-0000000000bb"
    az._settings = dict(az._settings, subscription_id=subscription)
    refused = {"error": {"code": "MissingSubscriptionRegistration",
                         "message": "The subscription is not registered to use namespace 'Microsoft.Resources'."}}
    https_server.script("GET", "^/subscriptions/%s/resourcegroups/rg1$" % subscription, (409, refused), (409, refused),
                        (409, refused), (200, {"name": "rg1"}))
    https_server.script("POST", "/providers/Microsoft.Resources/register$", (200, {"registrationState": "Registering"}))
    https_server.script("GET", "/providers/Microsoft.Resources$", (200, {"registrationState": "Registered"}))
    assert az.get(az.client("resources").resource_groups.get, "rg1") == {"name": "rg1"}
    sent = [(method, path.rsplit("/", 1)[-1]) for method, path, _q, _b, _h in https_server.requests]
    # the read, the pipeline's first try, azure-mgmt-core's own, then the registration and the read again
    assert sent == [("GET", "rg1")] * 3 + [("POST", "register"), ("GET", "Microsoft.Resources"), ("GET", "rg1")]


@pytest.mark.parametrize("through_reads", [True, False])
def test_a_paged_list_follows_next_link_on_either_path(az, https_server, through_reads):
    https_server.script("GET", "^/subscriptions/sub/locations$",
                        (200, {"value": [{"name": "a"}], "nextLink": https_server.url + "/page-2?api-version=2022-12-01"}))
    https_server.script("GET", "^/page-2$", (200, {"value": [{"name": "b"}]}))
    api = az.client("resources")
    if not through_reads:
        api.reads = None  # every call through azure-core's pipeline (what a read handed over takes)
    assert az.list(api.subscriptions.list_locations) == [{"name": "a"}, {"name": "b"}]
    assert https_server.count("GET", "^/page-2$") == 1
