# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kubernetes.core's proxy, no_proxy and proxy_headers options, through a real CONNECT proxy on loopback."""

from __future__ import annotations

import base64
import json
import select
import socket
import socketserver
import threading

import pytest


class TunnelHandler(socketserver.BaseRequestHandler):
    """Enough of an HTTP proxy for TLS: CONNECT host:port, then bytes both ways (bounded by timeouts)."""

    def handle(self):
        self.request.settimeout(30)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        method, target = lines[0].split(" ")[:2]
        headers = dict((name.lower(), value) for name, value in (line.split(": ", 1) for line in lines[1:] if ": " in line))
        self.server.seen.append({"method": method, "target": target,
                                 "proxy_authorization": headers.get("proxy-authorization")})
        if method != "CONNECT" or not target.startswith("127.0.0.1:"):
            self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        upstream = socket.create_connection(("127.0.0.1", int(target.split(":")[1])), timeout=30)
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        sockets = [self.request, upstream]
        try:
            while True:
                readable = select.select(sockets, [], [], 30)[0]
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is self.request else self.request).sendall(data)
        finally:
            upstream.close()


class Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        socketserver.ThreadingTCPServer.__init__(self, ("127.0.0.1", 0), TunnelHandler)
        self.seen = []
        self.url = "http://127.0.0.1:%d" % self.server_address[1]


@pytest.fixture
def proxy():
    server = Proxy()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def status_playbook(kubeconfig, **options):
    args = dict(kubeconfig=kubeconfig, **options)
    return ("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: status\n"
            "      azcni.cilium.cilium_status: %s\n" % json.dumps(args))


def test_proxy_headers_reach_the_proxy(ansible, kube_cluster, proxy):
    result = ansible(status_playbook(kube_cluster.kubeconfig_path, proxy=proxy.url,
                                     proxy_headers={"proxy_basic_auth": "ops:s3cret", "user_agent": "azcni-test/1"}))
    assert result.rc == 0, result.stdout[-3000:]
    port = kube_cluster.server_url.rsplit(":", 1)[1].rstrip("/")
    tunnels = [seen for seen in proxy.seen if seen["target"] == "127.0.0.1:" + port]
    assert tunnels, proxy.seen
    assert {seen["proxy_authorization"] for seen in tunnels} == {"Basic " + base64.b64encode(b"ops:s3cret").decode()}
    assert "s3cret" not in result.stdout


def test_no_proxy_bypasses_the_proxy_for_matching_hosts(ansible, kube_cluster, proxy):
    result = ansible(status_playbook(kube_cluster.kubeconfig_path, proxy=proxy.url, no_proxy="localhost,127.0.0.0/8"))
    assert result.rc == 0, result.stdout[-3000:]
    assert proxy.seen == []
    # the same through kubernetes.core's environment variables
    result = ansible(status_playbook(kube_cluster.kubeconfig_path),
                     env={"K8S_AUTH_PROXY": proxy.url, "K8S_AUTH_NO_PROXY": "10.0.0.0/8,127.0.0.1"})
    assert result.rc == 0, result.stdout[-3000:]
    assert proxy.seen == []
    result = ansible(status_playbook(kube_cluster.kubeconfig_path),
                     env={"K8S_AUTH_PROXY": proxy.url, "K8S_AUTH_NO_PROXY": "example.com",
                          "K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH": "env:pw"})
    assert result.rc == 0, result.stdout[-3000:]
    assert [seen["proxy_authorization"] for seen in proxy.seen][:1] == ["Basic " + base64.b64encode(b"env:pw").decode()]
