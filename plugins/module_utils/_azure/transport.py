# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTPS for a task's Azure calls on the standard library (_common.ConnectionPool, shared with the
Kubernetes client), without importing requests, urllib3 or azure-core.

requests and urllib3 take about 50 ms to import and azure-core about 20 ms: together more than a third
of what ``ansible.builtin.ping`` costs as a whole task, paid by every task of every host. A no-change
task only reads: the cloud metadata, a token, and ARM GETs (_azure.reads). ``Https`` sends those;
azure-core's pipeline reaches the same connections through _azure.core_transport when a task writes.

TLS as requests does it: the bundle named by ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``, else certifi's
(requests' default), else the system store; read per request, so a changed variable applies at once.
With a proxy for HTTPS (``HTTPS_PROXY`` or ``ALL_PROXY``, either case) every call goes through
azure-core's RequestsTransport instead, which knows proxies, their authentication and ``NO_PROXY``.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote

from ansible_collections.azcni.cilium.plugins.module_utils._azure import session as cache
from ansible_collections.azcni.cilium.plugins.module_utils._common import ConnectFailed, ConnectionPool, tls_context

PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
DEFAULT_TIMEOUT = 300  # azure-core's default connection and read timeouts


def proxied(environ=None):
    """Whether requests would send an https URL through a proxy (NO_PROXY is RequestsTransport's business)."""
    environ = os.environ if environ is None else environ
    return any(environ.get(name) for name in PROXY_VARIABLES)


def new_sender(verify=True):
    """What a task sends its Azure requests with: ``Https``, or azure-core's RequestsTransport behind a proxy."""
    if proxied():
        from ansible_collections.azcni.cilium.plugins.module_utils._azure.core_transport import requests_sender

        return requests_sender(verify)
    return Https(verify)


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


class Received(object):
    """An answer as ``Https.request()`` gives it when it did not come from the pool: a discovery document
    from the cache (_azure.session), or what RequestsTransport received behind a proxy."""

    def __init__(self, status, reason, headers, data):
        self.status, self.reason, self.headers, self.data = status, reason, headers, data


class Https(object):
    """Requests to Azure over _common.ConnectionPool: ``request()`` answers with status, reason, headers and data."""

    def __init__(self, verify=True):
        self.verify = verify
        self.pool = ConnectionPool()
        self._contexts = {}

    def close(self):
        self.pool.close()

    def _context(self, bundle, url):
        if bundle not in self._contexts:
            try:
                self._contexts[bundle] = tls_context(bundle)
            except (OSError, ValueError) as exc:  # missing or not PEM: what requests reports before connecting
                raise ConnectFailed("The CA bundle %s cannot be used to verify %s: %s" % (bundle, url, exc), tls=True)
        return self._contexts[bundle]

    def request(self, method, url, body=None, headers=None, connect_timeout=None, read_timeout=None, verify=None):
        """One request; raises _common.ConnectFailed (nothing reached the server) or ExchangeFailed (it may have).
        Public discovery documents are answered from the cache, and kept when fetched with TLS verified."""
        cacheable = cache.cacheable(method, url)
        kept = cache.read(url) if cacheable else None
        if kept is not None:
            return Received(200, "OK", {"Content-Type": "application/json", "Content-Length": str(len(kept))}, kept)
        bundle = ca_bundle(self.verify if verify is None else verify)
        context = self._context(bundle, url) if url.lower().startswith("https:") else None
        answer = self.pool.request(method, requote(url), body=body, headers=headers or {}, context=context,
                                   connect_timeout=connect_timeout or DEFAULT_TIMEOUT,
                                   read_timeout=read_timeout or DEFAULT_TIMEOUT)
        if cacheable and answer.status == 200 and bundle is not False:
            cache.write(url, answer.data)
        return answer
