# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way every ``cilium_*`` module reaches a Kubernetes API server.

Requests go through the standard library's http.client (_common.ConnectionPool; urllib3, the
transport of the ``kubernetes`` client, costs ~25 ms to import on every task), or through urllib3's
ProxyManager when the cluster is reached through a proxy, and come back as plain JSON dicts: no model
deserialisation, which is what makes the client slow on large lists, and one code path for every
client version. Bounded retries live here and nowhere else.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from ansible_collections.azcni.cilium.plugins.module_utils._common import ConnectFailed, ConnectionPool, backoff_delays, tls_context
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.config import bypasses_proxy

USER_AGENT = "azcni.cilium/1.1.0"


RETRIES = 5               # attempts after the first, for throttling, conflicts and transient errors


MAX_RETRY_AFTER = 30.0    # never sleep longer than this on one Retry-After


TRANSIENT = (500, 502, 503, 504)


JSON = "application/json"


PATCH_TYPES = {
    "strategic": "application/strategic-merge-patch+json",
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}


class K8sApiError(Exception):
    """An error answer from the API server, with its Status object."""

    def __init__(self, status, reason, message, body=None, headers=None):
        super(K8sApiError, self).__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.body = body or {}
        self.headers = headers or {}

    def __str__(self):
        return "%s (%s %s)" % (self.message, self.status, self.reason)


class K8sClient(object):
    """JSON-in, JSON-out access to one API server; thread-safe, with bounded retries."""

    def __init__(self, configuration, impersonate_user=None, pool_size=4):
        self.cfg = configuration
        self.impersonate_user = impersonate_user
        self._pool = None
        self._pool_size = pool_size  # urllib3's bound, behind a proxy; ConnectionPool opens what threads ask for
        self._tls = self._server_name = None
        self.deadline = None  # time.monotonic() past which no retry starts: the task's own time budget

    # --- transport -------------------------------------------------------------------------------
    def set_pool_size(self, size):
        """Allow ``size`` concurrent connections (call before starting that many threads)."""
        if size != self._pool_size:
            self._pool_size = size
            self._pool = None

    @property
    def pool(self):
        """_common.ConnectionPool, or urllib3's ProxyManager for a cluster behind a proxy (CONNECT, its headers)."""
        if self._pool is None:
            cfg = self.cfg
            if cfg.proxy and not bypasses_proxy(cfg.host, cfg.no_proxy):
                self._pool = self._proxy_manager()
            else:
                try:
                    self._tls = tls_context(cfg.ssl_ca_cert if cfg.verify_ssl else False, cfg.cert_file, cfg.key_file)
                except (OSError, ValueError) as exc:  # a CA or client certificate file that is missing or not PEM
                    raise K8sApiError(0, "SSLError", "Could not use the TLS files for the Kubernetes API at %s (ca_cert, "
                                                     "client_cert, client_key or the kubeconfig's): %s" % (cfg.host, exc))
                if cfg.assert_hostname is False:
                    self._tls.check_hostname = False
                self._server_name = cfg.tls_server_name or (cfg.assert_hostname if isinstance(cfg.assert_hostname, str)
                                                            else None)
                self._pool = ConnectionPool()
        return self._pool

    @property
    def proxied(self):
        """Whether the requests go through urllib3's ProxyManager (decided once, with the pool)."""
        return not isinstance(self.pool, ConnectionPool)

    def _proxy_manager(self):
        import urllib3

        cfg = self.cfg
        tls = dict(cert_reqs="CERT_REQUIRED" if cfg.verify_ssl else "CERT_NONE", ca_certs=cfg.ssl_ca_cert,
                   cert_file=cfg.cert_file, key_file=cfg.key_file)
        if getattr(cfg, "tls_server_name", None):
            tls["server_hostname"] = cfg.tls_server_name
        if cfg.assert_hostname is not None:
            tls["assert_hostname"] = cfg.assert_hostname
        if not cfg.verify_ssl:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        return urllib3.ProxyManager(cfg.proxy, num_pools=4, maxsize=self._pool_size, block=True,
                                    proxy_headers=cfg.proxy_headers, **tls)

    def _headers(self, content_type=None):
        headers = {"Accept": JSON, "User-Agent": USER_AGENT}
        headers.update(self.cfg.auth_headers())
        if self.impersonate_user:
            headers["Impersonate-User"] = self.impersonate_user
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def _url(self, path, query):
        pairs = [(k, v) for k, v in (query or {}).items() if v is not None and v is not False]
        query_string = urlencode([(k, "true" if v is True else v) for k, v in pairs])
        return self.cfg.host.rstrip("/") + path + ("?" + query_string if query_string else "")

    @staticmethod
    def _error(response, data):
        try:
            body = json.loads(data.decode("utf-8")) if data else {}
        except ValueError:
            body = {"message": data.decode("utf-8", "replace")}
        if not isinstance(body, dict):
            body = {}
        return K8sApiError(response.status, body.get("reason") or response.reason, body.get("message") or response.reason,
                           body, dict(response.headers))

    def _send(self, method, path, query, body, content_type, timeout, stream=False):
        data = None if body is None else json.dumps(body).encode("utf-8")
        url, headers = self._url(path, query), self._headers(content_type)
        if self.proxied:
            return self._send_proxied(self.pool, method, url, data, headers, timeout, stream)
        try:
            return self.pool.request(method, url, body=data, headers=headers, context=self._tls, connect_timeout=15,
                                     read_timeout=timeout or 60, server_name=self._server_name, stream=stream)
        except ConnectFailed as exc:
            raise self._tls_error(exc) if exc.tls else self._unreachable(exc)
        except OSError as exc:  # _common.ExchangeFailed
            raise self._unreachable(exc)

    def _stream_errors(self):
        """What a dropped stream raises: _common.ExchangeFailed (an OSError), or urllib3's errors behind a proxy."""
        if not self.proxied:
            return (OSError,)
        import urllib3

        return (OSError, urllib3.exceptions.HTTPError)

    def _tls_error(self, exc):
        return K8sApiError(0, "SSLError", "Could not reach the Kubernetes API at %s: TLS verification failed (give "
                                          "ca_cert, or fix the kubeconfig's certificate-authority): %s" % (self.cfg.host, exc))

    def _unreachable(self, exc):
        return K8sApiError(0, "ConnectionError", "Could not reach the Kubernetes API at %s: %s" % (self.cfg.host, exc))

    def _send_proxied(self, pool, method, url, data, headers, timeout, stream):
        import urllib3

        try:
            return pool.request(method, url, body=data, headers=headers, timeout=urllib3.Timeout(connect=15, read=timeout or 60),
                                preload_content=not stream, retries=False)
        except urllib3.exceptions.SSLError as exc:
            raise self._tls_error(exc)
        except urllib3.exceptions.HTTPError as exc:
            raise self._unreachable(exc)

    @staticmethod
    def _retryable(method, error, retry_conflict, repeatable):
        if error.status == 429:
            return True
        if error.status == 409 and retry_conflict and error.reason == "Conflict":
            return True
        transient = error.status in TRANSIENT or error.reason == "ConnectionError"
        return transient and (method == "GET" or repeatable)

    def request(self, method, path, query=None, body=None, content_type=None, timeout=None, retry_conflict=False,
                repeatable=False):
        """Send one request; the decoded JSON answer.

        Retries throttling (honouring Retry-After), 5xx and connection errors on reads and on writes that
        are safe to repeat (``repeatable``: server-side apply, patches whose result does not depend on the
        current object, deletes), and optimistic-concurrency conflicts when ``retry_conflict``. Backoff is
        jittered; no retry starts past ``deadline``.
        """
        delays = backoff_delays(RETRIES)
        while True:
            try:
                response = self._send(method, path, query, body, content_type or (JSON if body is not None else None),
                                      timeout)
                if response.status >= 400:
                    raise self._error(response, response.data)
                return json.loads(response.data.decode("utf-8")) if response.data else None
            except K8sApiError as error:
                delay = next(delays, None)
                if delay is None or not self._retryable(method, error, retry_conflict, repeatable):
                    raise
                retry_after = error.headers.get("Retry-After") or error.headers.get("retry-after")
                if retry_after and retry_after.isdigit():
                    delay = min(float(retry_after), MAX_RETRY_AFTER)
                if self.deadline is not None and time.monotonic() + delay > self.deadline:
                    raise
                time.sleep(delay)

    # --- verbs -----------------------------------------------------------------------------------
    def get(self, path, query=None):
        """The object at ``path``, or None when it does not exist."""
        try:
            return self.request("GET", path, query)
        except K8sApiError as error:
            if error.status == 404:
                return None
            raise

    def list(self, path, label_selector=None, field_selector=None, limit=500):
        """All items of a collection, fetched in pages; (items, resourceVersion of the list)."""
        items, token, version = [], None, ""
        while True:
            page = self.request("GET", path, dict(labelSelector=label_selector, fieldSelector=field_selector,
                                                  limit=limit, **{"continue": token}))
            items.extend(page.get("items") or [])
            metadata = page.get("metadata") or {}
            version = metadata.get("resourceVersion") or version
            token = metadata.get("continue")
            if not token:
                return items, version

    def apply(self, path, obj, field_manager, force=False, dry_run=False, field_validation="Strict"):
        """Server-side apply ``obj`` at its own URL under ``field_manager``."""
        query = dict(fieldManager=field_manager, force=bool(force), dryRun="All" if dry_run else None,
                     fieldValidation=field_validation)
        return self.request("PATCH", path, query, obj, PATCH_TYPES["apply"], retry_conflict=force, repeatable=True)

    def patch(self, path, body, patch_type="strategic", dry_run=False, field_manager=None):
        query = dict(dryRun="All" if dry_run else None, fieldManager=field_manager)
        # a JSON patch may append or test: repeating it is not safe; merge and strategic patches set values
        return self.request("PATCH", path, query, body, PATCH_TYPES[patch_type], retry_conflict=patch_type != "json",
                            repeatable=patch_type != "json")

    def delete(self, path, dry_run=False, propagation_policy=None):
        """Delete; the answer, or None when it was already gone."""
        body = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        try:
            return self.request("DELETE", path, dict(dryRun="All" if dry_run else None), body, retry_conflict=True,
                                repeatable=True)
        except K8sApiError as error:
            if error.status == 404:
                return None
            raise

    def watch(self, path, resource_version=None, label_selector=None, field_selector=None, timeout_seconds=None):
        """Yield watch events ({type, object}) until the server ends the watch.

        Raises K8sApiError(410) when ``resource_version`` is too old: the caller lists again.
        """
        query = dict(watch="true", resourceVersion=resource_version, allowWatchBookmarks="true",
                     labelSelector=label_selector, fieldSelector=field_selector, timeoutSeconds=timeout_seconds)
        response = self._send("GET", path, query, None, None, (timeout_seconds or 60) + 15, stream=True)
        finished = False
        try:
            if response.status >= 400:
                raise self._error(response, response.read())
            buffer = b""
            for chunk in response.stream(16384):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield self._event(line)
            finished = True
        except self._stream_errors():
            return  # a dropped watch ends like a server-side timeout: the caller re-lists or re-watches
        finally:
            if finished:
                response.release_conn()
            else:
                response.close()  # stopped mid-stream: unread events must not reach the next request

    @staticmethod
    def _event(line):
        event = json.loads(line.decode("utf-8"))
        if event.get("type") == "ERROR":
            status = event.get("object") or {}
            raise K8sApiError(status.get("code") or 500, status.get("reason") or "Error", status.get("message") or "",
                              status)
        return event
