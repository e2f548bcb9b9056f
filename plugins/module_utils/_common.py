# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small helpers shared by every module: the module base, dependency errors, diff paths, backoff.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import random

from ansible.module_utils.basic import AnsibleModule, missing_required_lib


def require_lib(module, import_error, pip_name, import_traceback=None):
    """Fail with the usual 'missing required lib' message naming the pip package."""
    if import_error is not None:
        module.fail_json(msg=missing_required_lib(pip_name), exception=import_traceback)


def config_flag(value):
    """Whether a ConfigMap string value (e.g. ``cilium-config``'s ``enable-l7-proxy``) says "true"."""
    return str(value).strip().lower() == "true"


def diff_paths(before, after, prefix=""):
    """List the dotted paths at which two JSON-like values differ.

    Dicts are compared key by key, lists index by index, so a change deep in a node pool reads as
    ``agentPoolProfiles[0].count`` rather than as a whole new list.
    """
    if isinstance(before, dict) and isinstance(after, dict):
        paths = []
        for key in sorted(set(before) | set(after), key=str):
            child = "%s.%s" % (prefix, key) if prefix else str(key)
            if key not in before or key not in after:
                paths.append(child)
            else:
                paths.extend(diff_paths(before[key], after[key], child))
        return paths
    if isinstance(before, list) and isinstance(after, list):
        paths = []
        for index in range(max(len(before), len(after))):
            child = "%s[%d]" % (prefix, index)
            if index >= len(before) or index >= len(after):
                paths.append(child)
            else:
                paths.extend(diff_paths(before[index], after[index], child))
        return paths
    return [] if before == after else [prefix]


def backoff_delays(retries, base=0.5, cap=30.0):
    """Yield ``retries`` "full jitter" exponential backoff delays in seconds.

    Jitter keeps parallel forks (AWX slices, bulk applies) from retrying in lock step.
    """
    for attempt in range(retries):
        yield random.uniform(0, min(cap, base * (2 ** attempt)))  # nosec B311 - not for security


class ModuleBase(object):
    """An AnsibleModule with connection options merged in: the base of AzureModule and K8sModule.

    ``connection_args`` are the shared options (Azure or Kubernetes auth); ``requirement`` is
    (import_error, pip_name, traceback) for the SDK the subclass needs.
    """

    def __init__(self, connection_args, argument_spec, requirement, supports_check_mode=True, **kwargs):
        spec = dict(connection_args)
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, supports_check_mode=supports_check_mode, **kwargs)
        require_lib(self.module, *requirement)
        self.params = self.module.params

    @property
    def check_mode(self):
        return self.module.check_mode

    @property
    def diff_mode(self):
        return self.module._diff  # pylint: disable=protected-access

    def _shown(self, result):
        """One diff policy for every module: a result carries ``diff`` only under ``--diff``."""
        if not self.diff_mode:
            result.pop("diff", None)
        return result

    def fail_json(self, **kwargs):
        self.module.fail_json(**self._shown(kwargs))

    def exit_json(self, **kwargs):
        self.module.exit_json(**self._shown(kwargs))

    def warn(self, msg):
        self.module.warn(msg)


# --- HTTP(S) on the standard library: what both columns' transports send through ----------------------------
# requests and urllib3 cost ~50 ms to import, on every task; http.client and ssl do what ARM, Entra ID and
# a Kubernetes API server need. Proxies stay with the libraries (each layer hands a proxied task to them).

class ConnectFailed(OSError):
    """Nothing reached the server (refused, unresolvable, TLS refused): sending again is safe."""

    def __init__(self, message, timeout=False, tls=False):
        super(ConnectFailed, self).__init__(message)
        self.timeout, self.tls = timeout, tls  # tls: the TLS handshake or verification failed


class ExchangeFailed(OSError):
    """The connection failed after the request was sent (reset, cut short, no answer in time): the server may have acted."""

    def __init__(self, message, timeout=False):
        super(ExchangeFailed, self).__init__(message)
        self.timeout = timeout


def tls_context(bundle, cert_file=None, key_file=None):
    """A client SSL context, TLS 1.2 or later: ``bundle`` a CA file or directory, None for the system store,
    False to verify nothing; ``cert_file``/``key_file``: the client certificate."""
    import os
    import ssl

    if bundle is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif bundle is None:
        context = ssl.create_default_context()
    elif os.path.isdir(bundle):
        context = ssl.create_default_context(capath=bundle)
    else:
        context = ssl.create_default_context(cafile=bundle)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file:
        context.load_cert_chain(cert_file, key_file)
    return context


def _dropped(connection):
    """True when an idle kept-alive connection can no longer be used: readable while idle means the server
    closed it (EOF) or sent bytes nobody asked for."""
    import select

    try:
        return connection.sock is None or bool(select.select([connection.sock], [], [], 0)[0])
    except (OSError, ValueError):  # a socket already closed
        return True


class Answer(object):
    """One HTTP answer: ``status``, ``reason``, ``headers`` (repeated ones joined, as requests and urllib3 do),
    and the body, read whole (``data``) or, for a stream, chunk by chunk (``stream``)."""

    def __init__(self, raw, done, url):
        self._raw, self._done, self.url = raw, done, url
        self.status, self.reason = raw.status, raw.reason
        self.headers = {}
        for name, value in raw.getheaders():
            self.headers[name] = self.headers[name] + ", " + value if name in self.headers else value
        self.data = None

    def read(self):
        """The whole body; the connection goes back to its pool (or is closed when the server said so)."""
        if self.data is None:
            import http.client

            try:
                self.data = self._raw.read()
            except (OSError, http.client.HTTPException) as exc:  # reset, cut short, timed out
                self.close()
                raise _exchange_failed(self.url, exc)
            self.release_conn()
        return self.data

    def stream(self, amount=16384):
        """Yield the body as it arrives (a watch); ends when the server ends it."""
        import http.client

        while True:
            try:
                chunk = self._raw.read1(amount)
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise _exchange_failed(self.url, exc)
            if not chunk:
                return
            yield chunk

    def release_conn(self):
        if self._done is not None:
            self._done(reusable=not self._raw.will_close and self._raw.isclosed())
            self._done = None

    def close(self):
        if self._done is not None:
            self._done(reusable=False)
            self._done = None


def _exchange_failed(url, exc):
    import socket

    timeout = isinstance(exc, socket.timeout)
    what = "no answer in time" if timeout else (str(exc) or type(exc).__name__)
    return ExchangeFailed("The connection to %s failed during the request: %s" % (url, what), timeout=timeout)


class ConnectionPool(object):
    """Kept-alive HTTP(S) connections per server and TLS context; thread-safe (one request per connection at a time)."""

    def __init__(self):
        import threading

        self._idle = {}
        self._lock = threading.Lock()

    def _connection(self, key, timeout):
        import http.client

        with self._lock:
            idle = self._idle.get(key) or []
            while idle:
                connection = idle.pop()
                if not _dropped(connection):
                    return connection
                connection.close()
        scheme, host, port, context, server_name = key
        if scheme == "http":
            return http.client.HTTPConnection(host, port, timeout=timeout)
        connection = _https_class()(host, port, timeout=timeout, context=context)
        connection.server_name = server_name
        return connection

    def request(self, method, url, body=None, headers=None, context=None, connect_timeout=15, read_timeout=60,
                server_name=None, stream=False):
        """Send one request; its Answer (the body already read unless ``stream``). Raises ConnectFailed or ExchangeFailed."""
        import http.client
        import socket
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConnectFailed("Cannot send to %s: not an http(s) URL" % url)
        key = (parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), context, server_name)
        connection = self._connection(key, connect_timeout)
        try:
            if connection.sock is None:
                connection.connect()
            connection.sock.settimeout(read_timeout)
        except socket.timeout as exc:
            connection.close()
            raise ConnectFailed("Connecting to %s timed out: %s" % (parts.netloc, exc), timeout=True)
        except (OSError, http.client.HTTPException) as exc:  # refused, unresolvable, TLS verification failed
            import ssl

            connection.close()
            raise ConnectFailed("Cannot connect to %s: %s" % (parts.netloc, exc), tls=isinstance(exc, ssl.SSLError))

        def done(reusable):
            if reusable:
                with self._lock:
                    self._idle.setdefault(key, []).append(connection)
            else:
                connection.close()

        try:
            connection.request(method, (parts.path or "/") + ("?" + parts.query if parts.query else ""), body=body,
                               headers=headers or {})
            answer = Answer(connection.getresponse(), done, parts.netloc)
        except (OSError, http.client.HTTPException) as exc:  # reset, closed, no answer in time
            connection.close()
            raise _exchange_failed(parts.netloc, exc)
        if not stream:
            answer.read()
        return answer

    def close(self):
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()


_HTTPS = []


def _https_class():
    """http.client's HTTPSConnection that can present and check another name than the host's (kubeconfig's
    ``tls-server-name``); defined on first use, when http.client is imported."""
    if _HTTPS:
        return _HTTPS[0]
    import http.client

    class NamedHTTPSConnection(http.client.HTTPSConnection):
        server_name = None

        def __init__(self, host, port=None, timeout=None, context=None):
            super(NamedHTTPSConnection, self).__init__(host, port, timeout=timeout, context=context)
            self.tls = context

        def connect(self):
            if not self.server_name:
                return super(NamedHTTPSConnection, self).connect()
            http.client.HTTPConnection.connect(self)
            self.sock = self.tls.wrap_socket(self.sock, server_hostname=self.server_name)
            return None

    _HTTPS.append(NamedHTTPSConnection)
    return NamedHTTPSConnection
