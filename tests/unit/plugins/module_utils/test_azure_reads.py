# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ARM reads without azure-core: the retries azure-core's RetryPolicy would make, with the same settings,
and the answers handed to the pipeline."""

from __future__ import annotations

import json
import time

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._azure import reads as azure_reads
from ansible_collections.azcni.cilium.plugins.module_utils._azure.errors import AzureError
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import CLIENT_SETTINGS
from ansible_collections.azcni.cilium.plugins.module_utils._azure.token import AccessToken
from ansible_collections.azcni.cilium.plugins.module_utils._common import ConnectFailed, ExchangeFailed

URL = "https://management.example/subscriptions/s/resourcegroups/rg1?api-version=1"


class Answer(object):
    def __init__(self, status, body=None, headers=None, reason="Reason"):
        self.status, self.reason, self.headers = status, reason, headers or {}
        self.data = b"" if body is None else json.dumps(body).encode("utf-8")


class Sender(object):
    """Answers (or raises) from a script, in turn; records what was sent."""

    def __init__(self, *script):
        self.script, self.sent = list(script), []

    def request(self, method, url, body=None, headers=None, **kwargs):
        self.sent.append((method, url, body, headers))
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, Exception):
            raise step
        return step


class Token(object):
    def get_token(self, *scopes, **kwargs):
        return AccessToken("tok", int(time.time()) + 3600)


def reads(sender, deadline=None):
    slept = []
    return azure_reads.Reads(sender, Token(), "https://management.example/.default", "azcni.cilium/test",
                             CLIENT_SETTINGS, deadline, sleep=slept.append), slept


def test_a_read_sends_the_headers_the_pipeline_sends():
    sender = Sender(Answer(200, {"name": "rg1"}))
    client, slept = reads(sender)
    assert client.send("GET", URL) == {"name": "rg1"}
    headers = sender.sent[0][3]
    assert headers["Authorization"] == "Bearer tok" and headers["User-Agent"] == "azcni.cilium/test"
    assert len(headers["x-ms-client-request-id"]) == 36 and headers["Accept"] == "application/json"
    assert slept == []


def test_throttling_waits_what_retry_after_says_then_succeeds():
    sender = Sender(Answer(429, {"error": {"code": "TooManyRequests"}}, {"Retry-After": "7"}), Answer(200, {}))
    client, slept = reads(sender)
    assert client.send("GET", URL) == {} and slept == [7.0]
    ids = [headers["x-ms-client-request-id"] for _m, _u, _b, headers in sender.sent]
    assert len(ids) == 2 and ids[0] == ids[1]  # one request id per read, its retries included, as RequestIdPolicy
    client.send("GET", URL)
    assert sender.sent[-1][3]["x-ms-client-request-id"] != ids[0]


def test_the_ms_headers_count_too():
    assert azure_reads.retry_after({"x-ms-retry-after-ms": "1500"}) == 1.5
    assert azure_reads.retry_after({"retry-after-ms": "250"}) == 0.25
    assert azure_reads.retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # a date in the past
    assert azure_reads.retry_after({}) is None


def test_server_errors_are_retried_as_often_and_as_slowly_as_azure_core_would():
    sender = Sender(Answer(503, {"error": {"code": "ServiceUnavailable", "message": "try later"}}))
    client, slept = reads(sender)
    with pytest.raises(AzureError) as failed:
        client.send("GET", URL)
    assert (failed.value.status, failed.value.code, failed.value.message) == (503, "ServiceUnavailable", "try later")
    assert len(sender.sent) == CLIENT_SETTINGS["retry_status"] + 1
    factor = CLIENT_SETTINGS["retry_backoff_factor"]
    assert slept == [0, factor * 2, factor * 4, factor * 8]  # RetryPolicy: nothing before the first retry


def test_a_post_is_retried_only_where_retry_policy_retries_one():
    sender = Sender(Answer(502, {"error": {"code": "BadGateway"}}))
    client, dummy = reads(sender)
    with pytest.raises(AzureError, match="BadGateway|Reason"):
        client.send("POST", URL)
    assert len(sender.sent) == 1
    sender = Sender(Answer(503, {}), Answer(200, {"kubeconfigs": []}))
    client, dummy = reads(sender)
    assert client.send("POST", URL) == {"kubeconfigs": []} and len(sender.sent) == 2


def test_any_error_answer_with_retry_after_is_retried():
    sender = Sender(Answer(409, {"error": {"code": "OperationNotAllowed"}}, {"Retry-After": "1"}), Answer(200, {}))
    client, slept = reads(sender)
    assert client.send("GET", URL) == {} and slept == [1.0]


def test_connection_errors_are_retried_three_times_and_read_errors_only_for_gets():
    sender = Sender(ConnectFailed("Cannot connect to management.example: refused"))
    client, dummy = reads(sender)
    with pytest.raises(AzureError, match="refused") as failed:
        client.send("POST", URL)
    assert failed.value.code == "ServiceRequestError" and len(sender.sent) == azure_reads.RETRY_CONNECT + 1
    sender = Sender(ExchangeFailed("reset"), Answer(200, {"ok": 1}))
    client, dummy = reads(sender)
    assert client.send("GET", URL) == {"ok": 1}
    sender = Sender(ExchangeFailed("reset", timeout=True))
    client, dummy = reads(sender)
    with pytest.raises(AzureError) as failed:
        client.send("POST", URL)
    assert failed.value.code == "ServiceResponseTimeoutError" and len(sender.sent) == 1  # the server may have acted


def test_no_sleep_reaches_past_the_deadline():
    sender = Sender(Answer(429, {}, {"Retry-After": "45"}))
    client, slept = reads(sender, deadline=time.monotonic() + 2)
    with pytest.raises(AzureError) as failed:
        client.send("GET", URL)
    assert failed.value.status == 429 and slept and all(delay <= 2 for delay in slept)


def test_errors_carry_arms_envelope_and_401_is_authentication():
    body = {"error": {"code": "InvalidParameter", "message": "bad", "target": "x",
                      "details": [{"code": "Inner", "message": "why"}]}}
    client, dummy = reads(Sender(Answer(400, body)))
    with pytest.raises(AzureError) as failed:
        client.send("GET", URL)
    assert (failed.value.code, failed.value.target, failed.value.details) == (
        "InvalidParameter", "x", [{"code": "Inner", "message": "why"}])
    client, dummy = reads(Sender(Answer(401, {"error": {"code": "InvalidAuthenticationToken", "message": "expired"}})))
    with pytest.raises(AzureError, match="Authentication failed: expired") as failed:
        client.send("GET", URL)
    assert failed.value.code == "AuthenticationFailed" and failed.value.status == 401


@pytest.mark.parametrize("answer", [
    Answer(401, {}, {"WWW-Authenticate": 'Bearer authorization_uri="https://login", error="insufficient_claims", '
                                         'claims="eyJhY2Nlc3NfdG9rZW4iOnt9fQ=="'}),
    Answer(409, {"error": {"code": "MissingSubscriptionRegistration", "message": "register 'Microsoft.Network'"}}),
])
def test_what_only_the_pipeline_answers_is_handed_to_it(answer):
    client, dummy = reads(Sender(answer))
    with pytest.raises(azure_reads.NeedsPipeline):
        client.send("GET", URL)
