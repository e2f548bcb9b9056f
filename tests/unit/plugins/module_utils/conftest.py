# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A scripted HTTPS server for client-layer unit tests.

It reuses the emulator's HTTPS server and CA, but answers from a script the test writes, so a test
can say exactly "429 with Retry-After: 1, then 200" and count what the client sent.
"""

from __future__ import annotations

import json
import re
import threading

import pytest

from ansible_collections.azcni.cilium.tests.emulator.http import HTTPSServer, Response
from ansible_collections.azcni.cilium.tests.emulator.tls import CertAuthority


def _body(request):
    """The request body as JSON, or the raw bytes of anything else (a form post to a token endpoint)."""
    try:
        return request.json()
    except ValueError:
        return request.body


class ScriptedServer(object):
    def __init__(self, workdir):
        self.ca = CertAuthority(str(workdir))
        self.ca_path = self.ca.ca_pem_path
        self.requests = []
        self._rules = []
        self._lock = threading.Lock()
        self._server = HTTPSServer(self._handle, self.ca.server_context()).start()
        self.url = self._server.url

    def script(self, method, path, *answers):
        """Answer ``method`` on paths matching the regex ``path`` with ``answers`` in turn; the
        last one repeats. An answer is (status, body) or (status, body, headers)."""
        self._rules.append([method, re.compile(path), list(answers)])

    def count(self, method, path):
        return len([r for r in self.requests if r[0] == method and re.search(path, r[1])])

    def _handle(self, request):
        with self._lock:
            self.requests.append((request.method, request.path, request.query, _body(request), request.headers))
            for method, pattern, answers in self._rules:
                if method == request.method and pattern.search(request.path):
                    answer = answers.pop(0) if len(answers) > 1 else answers[0]
                    break
            else:
                answer = (404, {"error": {"code": "NotScripted", "message": request.path}})
        status, body = answer[0], answer[1]
        headers = dict(answer[2]) if len(answer) > 2 else {}
        if isinstance(body, list) and body and isinstance(body[0], bytes):
            return Response(status, dict({"Content-Type": "application/json"}, **headers), iter(body))
        headers.setdefault("Content-Type", "application/json")
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        return Response(status, headers, data)

    def stop(self):
        self._server.stop()


@pytest.fixture
def https_server(tmp_path):
    server = ScriptedServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def private_discovery_cache(tmp_path, monkeypatch):
    """Each test its own discovery cache (_azure.session): loopback servers reuse ports, so a document kept by
    an earlier test or run could answer for this test's server."""
    monkeypatch.setenv("AZCNI_CILIUM_CACHE_DIR", str(tmp_path / "discovery-cache"))
