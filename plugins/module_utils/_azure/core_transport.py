# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""azure-core's side of _azure.transport: the ``HttpTransport`` its pipeline sends writes and polls
through (over the task's ``Https``), and the RequestsTransport a task behind a proxy sends everything with.

Imported only by a task that writes, polls a long-running operation, or goes through a proxy.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from ansible_collections.azcni.cilium.plugins.module_utils._azure.transport import DEFAULT_TIMEOUT, Https, Received
from ansible_collections.azcni.cilium.plugins.module_utils._common import ConnectFailed, ExchangeFailed

try:
    from azure.core.exceptions import (HttpResponseError, ServiceRequestError, ServiceRequestTimeoutError,
                                       ServiceResponseError, ServiceResponseTimeoutError)
    from azure.core.pipeline.transport import HttpTransport
    from azure.core.rest import HttpRequest, HttpResponse
    from azure.core.utils import CaseInsensitiveDict
except ImportError:  # reported by AzureModule's import check
    HttpTransport = HttpResponse = object
    CaseInsensitiveDict = dict
    ServiceRequestError = ServiceRequestTimeoutError = ServiceResponseError = ServiceResponseTimeoutError = Exception
    HttpResponseError = HttpRequest = Exception


def request_body(request):
    """The bytes to send: an ``azure.core.rest.HttpRequest``'s content, or a legacy request's data
    (older azure-mgmt-core sends its provider registration as a legacy ``HttpRequest``)."""
    content = request.content if hasattr(request, "content") else request.data
    if content is None or isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode("utf-8")
    if isinstance(content, dict):  # HttpRequest(data={...}): a form
        return urlencode(content).encode("ascii")
    raise ValueError("this transport sends bytes, text or a form, not %s" % type(content).__name__)


class Response(HttpResponse):
    """A whole answer (ARM's bodies are small JSON): azure-core's public ``azure.core.rest.HttpResponse``."""

    def __init__(self, request, status, reason, headers, body):
        self._request, self._status, self._reason, self._body = request, status, reason, body
        self._headers = CaseInsensitiveDict(headers)
        self._encoding = None
        self._consumed = False

    request = property(lambda self: self._request)
    status_code = property(lambda self: self._status)
    headers = property(lambda self: self._headers)
    reason = property(lambda self: self._reason)
    content_type = property(lambda self: self._headers.get("Content-Type"))
    is_closed = property(lambda self: True)
    is_stream_consumed = property(lambda self: self._consumed)
    url = property(lambda self: self._request.url)
    content = property(lambda self: self._body)

    @property
    def encoding(self):
        if self._encoding is None:
            for part in (self.content_type or "").split(";")[1:]:
                key, _sep, value = part.strip().partition("=")
                if key.lower() == "charset" and value:
                    self._encoding = value.strip("\"' ")
        return self._encoding

    @encoding.setter
    def encoding(self, value):
        self._encoding = value

    def text(self, encoding=None):
        codec = encoding or self.encoding or "utf-8"
        return self._body.decode("utf-8-sig" if codec.lower() in ("utf-8", "utf8") else codec)

    def json(self):
        return json.loads(self.text())

    def raise_for_status(self):
        if self._status >= 400:
            raise HttpResponseError(response=self)

    def read(self):
        return self._body

    def iter_raw(self, **kwargs):
        self._consumed = True
        yield self._body

    iter_bytes = iter_raw

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()


class HttpsTransport(HttpTransport):
    """azure-core's transport interface over a task's ``Https`` (the connections its reads opened)."""

    def __init__(self, verify=True, https=None):
        self.https = https if https is not None else Https(verify)

    def open(self):
        pass

    def close(self):
        self.https.close()

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()

    def send(self, request, **kwargs):
        """Send a request; the answer is an ``azure.core.rest.HttpResponse``. Connection errors raise
        ServiceRequestError (nothing reached the server), errors after the request was sent
        ServiceResponseError, as RetryPolicy expects."""
        try:
            raw = self.https.request(request.method, request.url, body=request_body(request),
                                     headers=dict(request.headers), connect_timeout=kwargs.get("connection_timeout"),
                                     read_timeout=kwargs.get("read_timeout"), verify=kwargs.get("connection_verify"))
        except ConnectFailed as exc:
            raise (ServiceRequestTimeoutError if exc.timeout else ServiceRequestError)(str(exc), error=exc)
        except ExchangeFailed as exc:  # the server may have acted
            raise (ServiceResponseTimeoutError if exc.timeout else ServiceResponseError)(str(exc), error=exc)
        return Response(request, raw.status, raw.reason, raw.headers, raw.data)


class CoreSender(object):
    """``Https.request()`` over an azure-core transport (RequestsTransport behind a proxy)."""

    def __init__(self, transport):
        self.transport = transport

    def close(self):
        self.transport.close()

    def request(self, method, url, body=None, headers=None, connect_timeout=None, read_timeout=None, verify=None):
        options = dict(connection_timeout=connect_timeout or DEFAULT_TIMEOUT, read_timeout=read_timeout or DEFAULT_TIMEOUT)
        if verify is not None:
            options["connection_verify"] = verify
        try:
            response = self.transport.send(HttpRequest(method, url, headers=headers, content=body), **options)
            response.read()
        except (ServiceRequestError, ServiceResponseError) as exc:
            text = str(exc)
            if isinstance(exc, ServiceRequestError):  # nothing reached the server
                raise ConnectFailed(text, timeout=isinstance(exc, ServiceRequestTimeoutError),
                                    tls="CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text)
            raise ExchangeFailed(text, timeout=isinstance(exc, ServiceResponseTimeoutError))
        return Received(response.status_code, response.reason, dict(response.headers), response.content)


def requests_sender(verify=True):
    """What a task behind a proxy sends with: RequestsTransport on a session that keeps the discovery cache."""
    from azure.core.pipeline.transport import RequestsTransport

    from ansible_collections.azcni.cilium.plugins.module_utils._azure.session import new_session

    return CoreSender(RequestsTransport(session=new_session(verify), session_owner=True, connection_verify=verify))


def transport_for(sender):
    """The azure-core transport a pipeline sends through, on the same connections as ``sender``."""
    return sender.transport if isinstance(sender, CoreSender) else HttpsTransport(https=sender)
