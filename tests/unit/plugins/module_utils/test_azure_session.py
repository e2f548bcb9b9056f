# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-task HTTP session: public discovery documents kept between tasks, nothing else."""

from __future__ import annotations

import os

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._azure import session as azure_session

OPENID = "/tenant-1/v2.0/.well-known/openid-configuration"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv(azure_session.CACHE_ENV, str(path))
    return path


@pytest.mark.parametrize("method, url, expected", [
    ("GET", "https://login.example/tenant-1/v2.0/.well-known/openid-configuration", True),
    ("GET", "https://arm.example/metadata/endpoints?api-version=2022-09-01", True),
    ("GET", "https://login.example/common/discovery/instance?api-version=1.1", True),
    ("POST", "https://login.example/tenant-1/oauth2/v2.0/token", False),
    ("GET", "https://arm.example/subscriptions/s/resourcegroups/rg?api-version=2025-04-01", False),
    ("POST", "https://arm.example/metadata/endpoints", False),
])
def test_only_public_discovery_documents_are_cacheable(method, url, expected):
    assert azure_session.cacheable(method, url) is expected


def test_documents_expire_after_a_day():
    azure_session.write("https://x/metadata/endpoints", b'{"a": 1}', now=1000.0)
    assert azure_session.read("https://x/metadata/endpoints", now=1000.0 + 3600) == b'{"a": 1}'
    assert azure_session.read("https://x/metadata/endpoints", now=1000.0 + azure_session.CACHE_TTL + 1) is None
    assert azure_session.read("https://y/metadata/endpoints", now=1000.0) is None


def test_a_directory_others_can_read_is_never_used(cache):
    azure_session.write("https://x/metadata/endpoints", b'{"a": 1}')
    os.chmod(str(cache), 0o755)
    assert azure_session.cache_dir() is None
    assert azure_session.read("https://x/metadata/endpoints") is None


def test_what_does_not_parse_is_not_kept():
    azure_session.write("https://x/metadata/endpoints", b"<html>proxy login</html>")
    assert azure_session.read("https://x/metadata/endpoints") is None


def test_second_session_answers_from_the_cache(https_server):
    https_server.script("GET", OPENID + "$", (200, {"issuer": "https://login/tenant-1/v2.0"}))
    https_server.script("POST", "/token$", (200, {"access_token": "t"}), (200, {"access_token": "t"}))
    for dummy in range(2):
        session = azure_session.new_session()
        assert session.get(https_server.url + OPENID, verify=https_server.ca_path).json() == {
            "issuer": "https://login/tenant-1/v2.0"}
        assert session.post(https_server.url + "/tenant-1/token", verify=https_server.ca_path).json() == {"access_token": "t"}
    assert https_server.count("GET", OPENID + "$") == 1
    assert https_server.count("POST", "/token$") == 2  # tokens are never cached


def test_a_cached_answer_reads_like_one_from_the_wire(https_server):
    """azure-core (what MSAL's requests go through) reads the urllib3 response under requests'."""
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.rest import HttpRequest

    https_server.script("GET", OPENID + "$", (200, {"issuer": "i"}))
    for dummy in range(2):
        transport = RequestsTransport(session=azure_session.new_session(), session_owner=False,
                                      connection_verify=https_server.ca_path)
        response = transport.send(HttpRequest("GET", https_server.url + OPENID))
        response.read()
        assert (response.status_code, response.json()) == (200, {"issuer": "i"})
    assert https_server.count("GET", OPENID + "$") == 1


def test_unverified_fetches_are_not_kept(https_server):
    https_server.script("GET", OPENID + "$", (200, {"issuer": "i"}), (200, {"issuer": "i"}))
    for dummy in range(2):
        azure_session.new_session(verify=False).get(https_server.url + OPENID, verify=False)
    assert https_server.count("GET", OPENID + "$") == 2
