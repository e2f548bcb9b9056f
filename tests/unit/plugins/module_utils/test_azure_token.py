# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The direct client-credentials token request (the AWX service principal's path)."""

from __future__ import annotations

import urllib.parse

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._azure import auth as azure_auth
from ansible_collections.azcni.cilium.plugins.module_utils._azure import session as azure_session
from ansible_collections.azcni.cilium.plugins.module_utils._azure.token import ClientSecretToken
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureError
from ansible_collections.azcni.cilium.plugins.module_utils._azure.transport import Https

TOKEN = "/tenant-1/oauth2/v2.0/token$"


@pytest.fixture
def token(https_server, tmp_path, monkeypatch):
    monkeypatch.setenv(azure_session.CACHE_ENV, str(tmp_path / "cache"))
    return ClientSecretToken(https_server.url + "/", "tenant-1", "app-1", "s3cret", Https(https_server.ca_path))


def test_asks_entra_id_once_per_task_with_the_client_credentials_grant(https_server, token):
    https_server.script("POST", TOKEN, (200, {"access_token": "tok", "expires_in": 3599, "token_type": "Bearer"}))
    first = token.get_token("https://management.azure.com/.default")
    assert first.token == "tok" and token.get_token("https://management.azure.com/.default") is first
    assert https_server.count("POST", TOKEN) == 1
    form = urllib.parse.parse_qs(https_server.requests[-1][3].decode("utf-8"))
    assert form == {"grant_type": ["client_credentials"], "client_id": ["app-1"], "client_secret": ["s3cret"],
                    "scope": ["https://management.azure.com/.default"]}


def test_entra_id_errors_keep_their_aadsts_text(https_server, token):
    https_server.script("POST", TOKEN, (401, {"error": "invalid_client",
                                              "error_description": "AADSTS7000215: Invalid client secret provided."}))
    with pytest.raises(AzureError, match="invalid_client: AADSTS7000215: Invalid client secret provided"):
        token.get_token("https://management.azure.com/.default")


def test_service_principals_take_the_direct_path_unless_adfs(https_server):
    cloud = azure_auth.Cloud("test", https_server.url + "/", https_server.url, https_server.url + "/")
    settings = {"source": "env", "client_id": "c", "secret": "s", "tenant": "t"}
    transport = Https()
    assert isinstance(azure_auth.build_credential(settings, cloud, sender=transport), ClientSecretToken)
    assert type(azure_auth.build_credential(settings, cloud)).__name__ == "ClientSecretCredential"
    adfs = dict(settings, tenant="adfs")
    assert type(azure_auth.build_credential(adfs, cloud, sender=transport)).__name__ == "ClientSecretCredential"
