# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ARM's errors as this collection reports them: one AzureError type, whichever path the call took.

A read sent by _azure.reads and a write sent through azure-core's pipeline fail the same way: ARM's
``error`` envelope (code, message, target, details) becomes an AzureError, and so does azure-core's
exception for anything else.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import json


class AzureError(Exception):
    """An ARM error, with the code and message ARM sent."""

    def __init__(self, message, code=None, status=None, target=None, details=None):
        super(AzureError, self).__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.target = target
        self.details = details or []

    def __str__(self):
        return "%s: %s" % (self.code, self.message) if self.code else self.message


def _envelope(body):
    """ARM's ``error`` object from a response body (bytes, text or parsed), or {}."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body) if body else None
        except ValueError:
            return {}
    envelope = body.get("error") if isinstance(body, dict) else None
    return envelope if isinstance(envelope, dict) else {}


def arm_error(status, reason, body):
    """The AzureError of an ARM answer with ``status`` >= 400 (what azure-mgmt-core's ARMErrorFormat reads)."""
    envelope = _envelope(body)
    message = envelope.get("message") or "Operation returned an invalid status '%s'" % reason
    if status == 401:
        return AzureError("Authentication failed: %s" % message, code="AuthenticationFailed", status=status)
    details = [dict(code=d.get("code"), message=d.get("message")) for d in envelope.get("details") or []
               if isinstance(d, dict)]
    return AzureError(message, code=envelope.get("code"), status=status, target=envelope.get("target"), details=details)


def _response_text(http_response):
    try:
        return http_response.text() if http_response is not None else None
    except Exception:  # pylint: disable=broad-except
        return None


def to_azure_error(exc):
    """Convert an azure-core exception into an AzureError carrying ARM's code and message."""
    from azure.core import exceptions

    if isinstance(exc, exceptions.ClientAuthenticationError):
        return AzureError("Authentication failed: %s" % (exc.message or exc), code="AuthenticationFailed",
                          status=getattr(exc, "status_code", None))
    if isinstance(exc, exceptions.HttpResponseError):
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None)
        message = getattr(error, "message", None)
        if not code:
            envelope = _envelope(_response_text(getattr(exc, "response", None)))
            code, message = envelope.get("code"), envelope.get("message")
        details = [dict(code=getattr(d, "code", None), message=getattr(d, "message", None))
                   for d in (getattr(error, "details", None) or [])]
        return AzureError(message or exc.message or str(exc), code=code, status=exc.status_code,
                          target=getattr(error, "target", None), details=details)
    return AzureError(str(exc), code=type(exc).__name__)


def from_azure_core(exc):
    """True when ``exc`` is one of azure-core's exceptions (what azure-identity's credentials raise)."""
    return any(kind.__module__.startswith("azure.core") for kind in type(exc).__mro__)
