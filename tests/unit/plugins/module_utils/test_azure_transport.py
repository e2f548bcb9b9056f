# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The standard-library transport: what azure-core's pipeline and RetryPolicy expect of a transport,
and what requests did for us before (TLS bundles, kept-alive connections, the discovery cache)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

import pytest
from azure.core.exceptions import ServiceRequestError, ServiceResponseError, ServiceResponseTimeoutError
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest

from ansible_collections.azcni.cilium.plugins.module_utils._azure import session as azure_session
from ansible_collections.azcni.cilium.plugins.module_utils._azure import transport as azure_transport
from ansible_collections.azcni.cilium.plugins.module_utils._azure.core_transport import CoreSender, HttpsTransport
from ansible_collections.azcni.cilium.plugins.module_utils._azure.transport import Https, new_sender

OPENID = "/tenant-1/v2.0/.well-known/openid-configuration"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(azure_session.CACHE_ENV, str(tmp_path / "cache"))
    for name in azure_transport.PROXY_VARIABLES + azure_transport.CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_a_json_answer_reads_as_azure_cores_response(https_server):
    https_server.script("PUT", "^/thing$", (201, {"name": "a"}, {"x-ms-request-id": "r1", "Retry-After": "3"}))
    request = HttpRequest("PUT", https_server.url + "/thing?api-version=1", json={"name": "a"})
    response = HttpsTransport(https_server.ca_path).send(request)
    assert (response.status_code, response.reason, response.json()) == (201, "Created", {"name": "a"})
    assert response.headers["X-MS-REQUEST-ID"] == "r1" and response.headers["retry-after"] == "3"
    assert response.request is request and response.url == request.url
    method, path, query, body, headers = https_server.requests[-1]
    assert (method, path, query, body) == ("PUT", "/thing", {"api-version": ["1"]}, {"name": "a"})
    assert headers["Content-Type"] == "application/json"


def test_a_form_is_sent_url_encoded(https_server):
    https_server.script("POST", "^/token$", (200, {"access_token": "t"}))
    HttpsTransport(https_server.ca_path).send(HttpRequest("POST", https_server.url + "/token", data={"a": "1 2", "b": "&"}))
    assert https_server.requests[-1][3] == b"a=1+2&b=%26"


def test_requests_to_one_server_share_one_connection(https_server):
    https_server.script("GET", "^/r$", (200, {}))
    transport = HttpsTransport(https_server.ca_path)
    for dummy in range(3):
        transport.send(HttpRequest("GET", https_server.url + "/r"))
    assert sum(len(idle) for idle in transport.https.pool._idle.values()) == 1  # pylint: disable=protected-access
    connection = next(iter(transport.https.pool._idle.values()))[0]  # pylint: disable=protected-access
    local = connection.sock.getsockname()
    transport.send(HttpRequest("GET", https_server.url + "/r"))
    assert next(iter(transport.https.pool._idle.values()))[0].sock.getsockname() == local  # pylint: disable=protected-access


def test_a_connection_the_server_closed_is_replaced(https_server):
    https_server.script("GET", "^/r$", (200, {}))
    transport = HttpsTransport(https_server.ca_path)
    transport.send(HttpRequest("GET", https_server.url + "/r"))
    idle = next(iter(transport.https.pool._idle.values()))[0]  # pylint: disable=protected-access
    idle.sock.shutdown(socket.SHUT_RDWR)  # as if the server had timed the idle connection out
    assert transport.send(HttpRequest("GET", https_server.url + "/r")).status_code == 200
    assert https_server.count("GET", "^/r$") == 2


def test_the_bundle_comes_from_requests_variables_and_is_read_per_request(https_server, monkeypatch):
    https_server.script("GET", "^/r$", (200, {}))
    transport = HttpsTransport()
    with pytest.raises(ServiceRequestError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        transport.send(HttpRequest("GET", https_server.url + "/r"))  # certifi's bundle does not know the test CA
    monkeypatch.setenv("CURL_CA_BUNDLE", https_server.ca_path)
    assert transport.send(HttpRequest("GET", https_server.url + "/r")).status_code == 200
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", os.devnull)  # it wins over CURL_CA_BUNDLE, as in requests
    with pytest.raises(ServiceRequestError):
        transport.send(HttpRequest("GET", https_server.url + "/r"))
    assert HttpsTransport(verify=False).send(HttpRequest("GET", https_server.url + "/r")).status_code == 200


def test_refused_connections_are_request_errors_retry_may_resend():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    with pytest.raises(ServiceRequestError, match="Cannot connect to 127.0.0.1:%d" % port) as caught:
        HttpsTransport().send(HttpRequest("GET", "https://127.0.0.1:%d/x" % port))
    assert not isinstance(caught.value, ServiceResponseError)


def one_shot_server(reply, hold=None):
    """A plain TCP server that reads a request and answers ``reply`` bytes (then closes, or waits ``hold``)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve():
        connection, dummy = listener.accept()
        connection.recv(65536)
        connection.sendall(reply)
        if hold is not None:
            hold.wait(10)
        connection.close()
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return "http://127.0.0.1:%d/x" % listener.getsockname()[1]


def test_an_answer_cut_short_is_a_response_error():
    url = one_shot_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\"")
    with pytest.raises(ServiceResponseError, match="during the request"):
        HttpsTransport().send(HttpRequest("GET", url))


def test_a_silent_server_is_a_response_timeout():
    hold = threading.Event()
    url = one_shot_server(b"", hold)
    try:
        with pytest.raises(ServiceResponseTimeoutError):
            HttpsTransport().send(HttpRequest("GET", url), read_timeout=0.3)
    finally:
        hold.set()


def test_discovery_documents_are_answered_from_the_cache_and_tokens_never(https_server):
    https_server.script("GET", OPENID + "$", (200, {"issuer": "i"}))
    https_server.script("POST", "/token$", (200, {"access_token": "t"}))
    for dummy in range(2):
        transport = HttpsTransport(https_server.ca_path)
        assert transport.send(HttpRequest("GET", https_server.url + OPENID)).json() == {"issuer": "i"}
        assert transport.send(HttpRequest("POST", https_server.url + "/tenant-1/token")).json() == {"access_token": "t"}
    assert (https_server.count("GET", OPENID + "$"), https_server.count("POST", "/token$")) == (1, 2)
    HttpsTransport(verify=False).send(HttpRequest("GET", https_server.url + "/x" + OPENID))
    HttpsTransport(verify=False).send(HttpRequest("GET", https_server.url + "/x" + OPENID))
    assert https_server.count("GET", "^/x" + OPENID + "$") == 2  # unverified answers are not kept


def test_a_proxy_hands_the_task_to_requests(monkeypatch):
    assert isinstance(new_sender(), Https)
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    proxied = new_sender(verify=False)
    assert isinstance(proxied, CoreSender) and isinstance(proxied.transport, RequestsTransport)
    assert proxied.transport.connection_config.verify is False


def test_an_arm_read_loads_neither_requests_urllib3_azure_core_nor_azure_mgmt_core(https_server):
    """The point of _azure.transport and _azure.reads: a task's token and ARM reads import no HTTP library beyond
    the standard one, and nothing of azure-core or azure-mgmt-core (their packages load their whole pipelines)."""
    code = """
import json, sys
from ansible_collections.azcni.cilium.plugins.module_utils._azure.auth import Cloud
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import arm_api
from ansible_collections.azcni.cilium.plugins.module_utils._azure.token import ClientSecretToken
from ansible_collections.azcni.cilium.plugins.module_utils._azure.transport import new_sender
url = sys.argv[1]
sender = new_sender()
token = ClientSecretToken(url, "tenant-1", "app", "secret", sender)
api = arm_api(sender, token, Cloud("t", url + "/", url, url + "/"), "s")
answer = api.resource_groups.get("rg1")
print(json.dumps([answer, sorted(m for m in sys.modules if m.split(".")[0] in ("requests", "urllib3")
                                 or m.startswith(("azure.core", "azure.mgmt")))]))
"""
    https_server.script("POST", "/tenant-1/oauth2/v2.0/token$", (200, {"access_token": "t", "expires_in": 3599}))
    https_server.script("GET", "^/subscriptions/s/resourcegroups/rg1$", (200, {"ok": True}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), REQUESTS_CA_BUNDLE=https_server.ca_path)
    done = subprocess.run([sys.executable, "-c", code, https_server.url], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"ok": True}, []]
    headers = https_server.requests[-1][4]
    assert headers["Authorization"] == "Bearer t" and headers["User-Agent"].startswith("azcni.cilium/")
    assert "azsdk-python-core/" in headers["User-Agent"] and "unknown" not in headers["User-Agent"]


def test_query_values_are_quoted_as_requests_quotes_them(https_server):
    """azure-core leaves ``$filter`` values as given; ARM must receive them escaped, and decode them back."""
    https_server.script("GET", "/roleAssignments$", (200, {"value": []}))
    transport = HttpsTransport(https_server.ca_path)
    transport.send(HttpRequest("GET", https_server.url + "/roleAssignments?$filter=atScope() and assignedTo('p-1')&x=%41"))
    assert https_server.requests[-1][2] == {"$filter": ["atScope() and assignedTo('p-1')"], "x": ["A"]}
    transport.send(HttpRequest("GET", https_server.url + "/roleAssignments?x=%41%zz"))  # a stray %: all of it literal
    assert https_server.requests[-1][2] == {"x": ["%41%zz"]}
    assert azure_transport.requote("https://h/p?a=b%20c") == "https://h/p?a=b%20c"  # an escape stays one


def test_behind_a_proxy_reads_and_tokens_go_through_requests(https_server):
    """CoreSender: what a task behind a proxy sends with (RequestsTransport), answering as Https does."""
    from ansible_collections.azcni.cilium.plugins.module_utils._common import ConnectFailed

    https_server.script("GET", "^/thing$", (200, {"ok": True}, {"x-ms-request-id": "r1"}))
    sender = CoreSender(RequestsTransport(connection_verify=https_server.ca_path))
    answer = sender.request("GET", https_server.url + "/thing?$filter=a eq 'b'", headers={"Accept": "application/json"})
    assert (answer.status, json.loads(answer.data), answer.headers["x-ms-request-id"]) == (200, {"ok": True}, "r1")
    assert https_server.requests[-1][2] == {"$filter": ["a eq 'b'"]}
    with pytest.raises(ConnectFailed) as refused:
        CoreSender(RequestsTransport()).request("GET", https_server.url + "/thing")  # certifi does not know the test CA
    assert refused.value.tls
