# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ARM reads without azure-core: the GETs (and list-credential POSTs) that a no-change task is made of.

azure-core costs about 20 ms to import (its package loads the whole pipeline), on every task. A read
needs little of it: a bearer token, the headers the SDKs send, and RetryPolicy's retries, which this
file does with the same settings and arithmetic (CLIENT_SETTINGS: 6 retries in all, 4 on 408/429/5xx,
3 on connection and 3 on read errors; Retry-After, retry-after-ms or x-ms-retry-after-ms honoured,
else backoff_factor * 2^(n-1) from the second retry, capped; nothing sleeps past the task's deadline).

Answers only azure-core knows how to handle go to the pipeline (``NeedsPipeline``): a 401 carrying a CAE
claims challenge, and a 409 MissingSubscriptionRegistration (the provider is registered there).

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import json
import time

from ansible_collections.azcni.cilium.plugins.module_utils._azure.errors import (
    AzureError, arm_error, from_azure_core, to_azure_error)
from ansible_collections.azcni.cilium.plugins.module_utils._common import ConnectFailed, ExchangeFailed

RETRY_STATUSES = (408, 429, 500, 502, 503, 504)  # azure-core's RetryPolicy
RETRY_METHODS = ("HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE")  # RetryPolicy's method allowlist
RETRY_CONNECT = RETRY_READ = 3  # azure-core's defaults (not in CLIENT_SETTINGS)
READ_TIMEOUT = 300


class NeedsPipeline(Exception):
    """ARM answered what only azure-core's pipeline handles: send the call through it."""


def retry_after(headers):
    """Seconds ARM asks to wait (Retry-After in seconds or as an HTTP date, or the -ms headers), or None."""
    found = dict((key.lower(), value) for key, value in (headers or {}).items())
    for name, scale in (("retry-after", 1.0), ("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001)):
        value = found.get(name)
        if not value:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            if scale != 1.0:
                continue
            from email.utils import parsedate_to_datetime

            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                continue
            return max(0.0, when.timestamp() - time.time())
    return None


def challenged(answer):
    """True for ARM's answers that azure-core's policies act on and these reads do not."""
    if answer.status == 401:
        header = dict((k.lower(), v) for k, v in answer.headers.items()).get("www-authenticate") or ""
        return "claims=" in header
    if answer.status == 409:
        return (arm_error(409, answer.reason, answer.data).code or "") == "MissingSubscriptionRegistration"
    return False


class Reads(object):
    """Send ARM reads with a bearer token from ``credential`` over ``sender`` (_azure.transport)."""

    def __init__(self, sender, credential, scope, user_agent, settings, deadline=None, sleep=time.sleep):
        self.sender, self.credential, self.scope, self.user_agent = sender, credential, scope, user_agent
        self.settings, self.deadline, self.sleep = settings, deadline, sleep

    def _token(self):
        try:
            return self.credential.get_token(self.scope).token
        except Exception as exc:  # pylint: disable=broad-except
            if isinstance(exc, AzureError):
                raise
            if from_azure_core(exc):  # azure-identity's credentials raise azure-core's errors
                raise to_azure_error(exc)
            raise

    def _headers(self, body):
        """The headers of one read, the same on each of its retries (RequestIdPolicy runs before RetryPolicy)."""
        import uuid

        headers = {"Accept": "application/json", "User-Agent": self.user_agent, "x-ms-client-request-id": str(uuid.uuid4())}
        if body is not None:
            headers["Content-Type"] = "application/json"
        return headers

    def _left(self):
        return None if self.deadline is None else self.deadline - time.monotonic()

    def send(self, method, url, body=None):
        """The parsed JSON answer of one read (None for an empty body), after RetryPolicy's retries.
        Raises AzureError (ARM's error, or the connection's), or NeedsPipeline."""
        counts = dict(total=self.settings["retry_total"], status=self.settings["retry_status"], connect=RETRY_CONNECT,
                      read=RETRY_READ)
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = self._headers(body)
        while True:
            answer = failure = None
            try:  # the token after RetryPolicy, as BearerTokenCredentialPolicy: a retry may need a fresh one
                answer = self.sender.request(method, url, body=data, read_timeout=READ_TIMEOUT,
                                             headers=dict(headers, Authorization="Bearer " + self._token()))
            except ConnectFailed as exc:
                failure, kind = exc, "connect"
            except ExchangeFailed as exc:
                failure, kind = exc, "read"
            if answer is not None:
                if answer.status < 400:
                    return json.loads(answer.data.decode("utf-8-sig")) if answer.data else None
                if challenged(answer):
                    raise NeedsPipeline(answer.status)
                if not self._retryable(method, answer):
                    raise arm_error(answer.status, answer.reason, answer.data)
                kind = "status"
            elif kind == "read" and method not in RETRY_METHODS:
                raise self._failure_error(failure)  # the server may have acted on it
            counts["total"] -= 1
            counts[kind] -= 1
            left = self._left()
            if min(counts.values()) < 0 or (left is not None and left <= 0):
                if failure is not None:
                    raise self._failure_error(failure)
                raise arm_error(answer.status, answer.reason, answer.data)
            delay = retry_after(answer.headers) if answer is not None else None
            if delay is None:
                failures = self.settings["retry_total"] - counts["total"]  # RetryPolicy's len(history)
                delay = 0 if failures <= 1 else min(self.settings["retry_backoff_max"],
                                                    self.settings["retry_backoff_factor"] * (2 ** (failures - 1)))
            self.sleep(delay if left is None else min(delay, left))

    @staticmethod
    def _retryable(method, answer):
        """RetryPolicy.is_retry: any error answer with Retry-After; else 408/429/5xx for the methods it
        retries (a POST only on 500, 503 and 504)."""
        if any(name.lower() == "retry-after" and value for name, value in answer.headers.items()):
            return True
        if method in ("POST", "PATCH"):
            return answer.status in (500, 503, 504)
        return method in RETRY_METHODS and answer.status in RETRY_STATUSES

    @staticmethod
    def _failure_error(failure):
        """The AzureError of a connection failure, coded with azure-core's exception name (what its pipeline
        reported before)."""
        if isinstance(failure, ConnectFailed):
            code = "ServiceRequestTimeoutError" if failure.timeout else "ServiceRequestError"
        else:
            code = "ServiceResponseTimeoutError" if failure.timeout else "ServiceResponseError"
        return AzureError(str(failure), code=code)
