# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kubernetes.core's no_proxy and proxy_headers options: matching, headers, and the pool they choose."""

from __future__ import annotations

import base64

import pytest
import urllib3

from ansible_collections.azcni.cilium.plugins.module_utils._k8s import client as k8s_client
from ansible_collections.azcni.cilium.plugins.module_utils._k8s import config as k8s_config


@pytest.mark.parametrize("url, no_proxy, bypass", [
    ("https://10.1.2.3:443", "10.0.0.0/8", True),
    ("https://10.1.2.3:443", "192.168.0.0/16", False),
    ("https://aks-abc.hcp.westeurope.azmk8s.io:443", ".azmk8s.io", True),
    ("https://aks-abc.hcp.westeurope.azmk8s.io:443", "azmk8s.io", True),
    ("https://notazmk8s.io:443", "azmk8s.io", False),
    ("https://api.internal:6443", "localhost, api.internal:6443", True),
    ("https://[fd00::1]:443", "fd00::/8", True),
    ("https://127.0.0.1:8443", "127.0.0.1", True),
    ("https://anything:443", "*", True),
    ("https://anything:443", "", False),
    ("https://anything:443", None, False),
])
def test_no_proxy_matching(url, no_proxy, bypass):
    assert k8s_config.bypasses_proxy(url, no_proxy) is bypass


def connection(**params):
    base = dict(host="https://10.1.2.3:443", api_key="token", proxy="http://proxy.example:3128")
    base.update(params)
    return k8s_config.load_configuration(base)


def test_proxy_headers_become_the_connect_headers():
    conn = connection(proxy_headers={"proxy_basic_auth": "ops:pw", "basic_auth": None, "user_agent": "x/1"})
    assert conn.proxy_headers == {"proxy-authorization": "Basic " + base64.b64encode(b"ops:pw").decode(),
                                  "user-agent": "x/1"}
    pool = k8s_client.K8sClient(conn).pool
    assert isinstance(pool, urllib3.ProxyManager)
    assert pool.proxy_headers["proxy-authorization"].startswith("Basic ")


def test_no_proxy_gives_a_direct_pool_and_unset_headers_are_none():
    conn = connection(no_proxy="10.0.0.0/8", proxy_headers={"proxy_basic_auth": None, "basic_auth": None,
                                                            "user_agent": None})
    assert conn.proxy_headers is None
    assert not isinstance(k8s_client.K8sClient(conn).pool, urllib3.ProxyManager)
    other = connection(no_proxy="192.168.0.0/16")
    assert isinstance(k8s_client.K8sClient(other).pool, urllib3.ProxyManager)


def test_options_are_kubernetes_core_s():
    args = k8s_config.K8S_AUTH_ARGS
    assert args["no_proxy"]["fallback"][1] == ["K8S_AUTH_NO_PROXY"]
    headers = args["proxy_headers"]["options"]
    assert set(headers) == {"proxy_basic_auth", "basic_auth", "user_agent"}
    assert headers["proxy_basic_auth"]["no_log"] and headers["basic_auth"]["no_log"]
    assert headers["proxy_basic_auth"]["fallback"][1] == ["K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH"]
