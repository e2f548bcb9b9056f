# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTPS transport of a task's Azure calls: azure-core's ``HttpTransport`` on the standard library
(_common.ConnectionPool, which the Kubernetes client shares).

azure-core's default transport is requests on urllib3, which take about 50 ms to import: a third of
what a no-change task costs, paid by every task of every host. ARM, the token endpoint and the cloud
metadata only need what ``http.client`` and ``ssl`` do: HTTPS with kept-alive
connections, TLS verified as requests verifies it, and the errors azure-core's RetryPolicy acts on.

When a proxy is configured for HTTPS (``HTTPS_PROXY`` or ``ALL_PROXY``, either case) the task uses
azure-core's RequestsTransport instead, which knows proxies, their authentication and ``NO_PROXY``.

TLS as requests does it: the bundle named by ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``, else certifi's
(requests' default), else the system store; read per request, so a changed variable applies at once.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import json
import os
import re
from urllib.parse import quote, urlencode

from ansible_collections.azcni.cilium.plugins.module_utils._azure import session as cache
from ansible_collections.azcni.cilium.plugins.module_utils._common import ConnectFailed, ConnectionPool, tls_context

try:
    from azure.core.exceptions import (ServiceRequestError, ServiceRequestTimeoutError, ServiceResponseError,
                                       ServiceResponseTimeoutError, HttpResponseError)
    from azure.core.pipeline.transport import HttpTransport
    from azure.core.rest import HttpResponse
    from azure.core.utils import CaseInsensitiveDict
except ImportError:  # reported by AzureModule's import check
    HttpTransport = HttpResponse = object
    CaseInsensitiveDict = dict
    ServiceRequestError = ServiceRequestTimeoutError = ServiceResponseError = ServiceResponseTimeoutError = Exception
    HttpResponseError = Exception

PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
DEFAULT_TIMEOUT = 300  # azure-core's default connection and read timeouts


def proxied(environ=None):
    """Whether requests would send an https URL through a proxy (NO_PROXY is RequestsTransport's business)."""
    environ = os.environ if environ is None else environ
    return any(environ.get(name) for name in PROXY_VARIABLES)


def new_transport(verify=True):
    """The transport for a task's Azure calls: ours, or RequestsTransport when a proxy is configured."""
    if proxied():
        from azure.core.pipeline.transport import RequestsTransport

        return RequestsTransport(session=cache.new_session(verify), session_owner=True, connection_verify=verify)
    return HttpsTransport(verify)


def ca_bundle(verify=True):
    """What verifies the server: a path (file or directory), None for the system store, False for nothing."""
    if verify is False:
        return False
    if isinstance(verify, str):
        return verify
    for name in CA_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    try:
        import certifi
    except ImportError:
        return None
    return certifi.where()


def requote(url):
    """The URL as requests sends it: azure-core leaves query values as given (``$filter=atScope() and ...``),
    and http.client refuses spaces. Escapes already there stay; a ``%`` that starts none is escaped too."""
    if re.search(r"%(?![0-9A-Fa-f]{2})", url):
        return quote(url, safe="!#$&'()*+,/:;=?@[]~")
    return quote(url, safe="!#$%&'()*+,/:;=?@[]~")


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


def cached_response(request):
    """The answer from the discovery cache (see _azure.session), or None."""
    if not cache.cacheable(request.method, request.url):
        return None
    body = cache.read(request.url)
    if body is None:
        return None
    return Response(request, 200, "OK", {"Content-Type": "application/json", "Content-Length": str(len(body))}, body)


class HttpsTransport(HttpTransport):
    """azure-core's transport interface over _common.ConnectionPool (http.client), thread-safe."""

    def __init__(self, verify=True):
        self.verify = verify
        self._pool = ConnectionPool()
        self._contexts = {}

    def open(self):
        pass

    def close(self):
        self._pool.close()

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()

    def _context(self, bundle, host):
        if bundle not in self._contexts:
            try:
                self._contexts[bundle] = tls_context(bundle)
            except (OSError, ValueError) as exc:  # missing or not PEM: what requests reports before connecting
                raise ServiceRequestError("The CA bundle %s cannot be used to verify %s: %s" % (bundle, host, exc),
                                          error=exc)
        return self._contexts[bundle]

    def send(self, request, **kwargs):
        """Send a request; the answer is an ``azure.core.rest.HttpResponse``. Connection errors raise
        ServiceRequestError (nothing reached the server), errors after the request was sent
        ServiceResponseError, as RetryPolicy expects."""
        answer = cached_response(request)
        if answer is not None:
            return answer
        bundle = ca_bundle(kwargs.get("connection_verify", self.verify))
        context = self._context(bundle, request.url) if request.url.lower().startswith("https:") else None
        try:
            raw = self._pool.request(request.method, requote(request.url), body=request_body(request), headers=dict(request.headers),
                                     context=context, connect_timeout=kwargs.get("connection_timeout") or DEFAULT_TIMEOUT,
                                     read_timeout=kwargs.get("read_timeout") or DEFAULT_TIMEOUT)
        except ConnectFailed as exc:
            raise (ServiceRequestTimeoutError if exc.timeout else ServiceRequestError)(str(exc), error=exc)
        except OSError as exc:  # _common.ExchangeFailed: the server may have acted
            error = ServiceResponseTimeoutError if getattr(exc, "timeout", False) else ServiceResponseError
            raise error(str(exc), error=exc)
        response = Response(request, raw.status, raw.reason, raw.headers, raw.data)
        if raw.status == 200 and bundle is not False and cache.cacheable(request.method, request.url):
            cache.write(request.url, raw.data)
        return response
