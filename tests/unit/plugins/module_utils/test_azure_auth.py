# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure credential precedence, profiles and cloud selection (no network)."""

from __future__ import annotations

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._azure import auth as azure_auth

SP_ENV = {"AZURE_CLIENT_ID": "env-client", "AZURE_SECRET": "env-secret", "AZURE_TENANT": "env-tenant",
          "AZURE_SUBSCRIPTION_ID": "env-sub"}


@pytest.fixture
def no_cli(monkeypatch):
    monkeypatch.setattr(azure_auth.shutil, "which", lambda name: None)


@pytest.fixture
def credentials_file(tmp_path):
    (tmp_path / "credentials").write_text(
        "[default]\nsubscription_id=file-sub\nclient_id=file-client\nsecret=file-secret\ntenant=file-tenant\n\n"
        "[prod]\nsubscription_id=prod-sub\nclient_id=prod-client\nsecret=prod-secret\ntenant=prod-tenant\n"
        "cloud_environment=AzureChinaCloud\n")
    return {"AZURE_CONFIG_DIR": str(tmp_path)}


def resolve(params=None, environ=None):
    return azure_auth.resolve_settings(params or {}, environ or {})


def test_params_win_over_env_and_file(credentials_file, no_cli):
    params = {"client_id": "p-client", "secret": "p-secret", "tenant": "p-tenant", "subscription_id": "p-sub"}
    settings = resolve(params, dict(SP_ENV, **credentials_file))
    assert settings["source"] == "params"
    assert (settings["client_id"], settings["secret"], settings["tenant"], settings["subscription_id"]) == \
        ("p-client", "p-secret", "p-tenant", "p-sub")


def test_env_wins_over_credentials_file(credentials_file, no_cli):
    settings = resolve({}, dict(SP_ENV, **credentials_file))
    assert settings["source"] == "env"
    assert settings["client_id"] == "env-client" and settings["subscription_id"] == "env-sub"


def test_awx_and_sdk_variable_names_are_both_accepted(no_cli):
    awx = resolve({}, {"AZURE_CLIENT_ID": "c", "AZURE_SECRET": "s", "AZURE_TENANT": "t"})
    sdk = resolve({}, {"AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s", "AZURE_TENANT_ID": "t"})
    assert (awx["secret"], awx["tenant"]) == (sdk["secret"], sdk["tenant"]) == ("s", "t")


def test_credentials_file_default_profile_when_nothing_else(credentials_file, no_cli):
    settings = resolve({}, credentials_file)
    assert settings["source"] == "credential_file"
    assert settings["client_id"] == "file-client" and settings["subscription_id"] == "file-sub"


def test_named_profile_selected_by_option_and_by_env(credentials_file, no_cli):
    by_option = resolve({"profile": "prod"}, dict(SP_ENV, **credentials_file))
    by_env = resolve({}, dict(credentials_file, AZURE_PROFILE="prod"))
    for settings in (by_option, by_env):
        assert settings["source"] == "credential_file"
        assert settings["client_id"] == "prod-client"
        assert settings["cloud_environment"] == "AzureChinaCloud"


def test_missing_profile_is_a_clear_error(credentials_file):
    with pytest.raises(azure_auth.AzureAuthError, match="Profile 'nope' not found"):
        resolve({"profile": "nope"}, credentials_file)


def test_cli_login_is_next_then_managed_identity(monkeypatch, tmp_path):
    empty = {"AZURE_CONFIG_DIR": str(tmp_path)}
    monkeypatch.setattr(azure_auth.shutil, "which", lambda name: "/usr/bin/az")
    assert resolve({}, empty)["source"] == "cli"
    monkeypatch.setattr(azure_auth.shutil, "which", lambda name: None)
    assert resolve({}, empty)["source"] == "msi"


def test_explicit_auth_source_ignores_other_sources(credentials_file):
    settings = resolve({"auth_source": "credential_file"}, dict(SP_ENV, **credentials_file))
    assert settings["client_id"] == "file-client"
    settings = resolve({"auth_source": "env", "client_id": "ignored"}, SP_ENV)
    assert settings["client_id"] == "env-client"


def test_settings_from_env_apply_to_params_login(no_cli):
    settings = resolve({"client_id": "c", "secret": "s", "tenant": "t"},
                       {"AZURE_CLOUD_ENVIRONMENT": "AzureUSGovernment", "AZURE_SUBSCRIPTION_ID": "env-sub"})
    assert settings["cloud_environment"] == "AzureUSGovernment"
    assert settings["subscription_id"] == "env-sub"


@pytest.mark.parametrize("name, arm, login", [
    ("AzureCloud", "https://management.azure.com/", "https://login.microsoftonline.com"),
    ("AzureChinaCloud", "https://management.chinacloudapi.cn/", "https://login.chinacloudapi.cn"),
    ("AzureUSGovernment", "https://management.usgovcloudapi.net/", "https://login.microsoftonline.us"),
    (None, "https://management.azure.com/", "https://login.microsoftonline.com"),
])
def test_cloud_by_name(name, arm, login):
    cloud = azure_auth.resolve_cloud(name)
    assert (cloud.resource_manager, cloud.login_endpoint) == (arm, login)
    assert azure_auth.scope_for(cloud) == arm + ".default"


def test_unknown_cloud_and_plain_http_are_refused():
    with pytest.raises(azure_auth.AzureAuthError, match="Unknown cloud_environment"):
        azure_auth.resolve_cloud("AzureMoonCloud")
    with pytest.raises(azure_auth.AzureAuthError, match="must use https"):
        azure_auth.resolve_cloud("http://example.invalid/metadata/endpoints")


def test_cloud_from_metadata_object_and_list():
    document = {"name": "Stack", "resourceManager": "https://arm.stack.local",
                "authentication": {"loginEndpoint": "https://adfs.stack.local/", "audiences": ["https://aud.stack/"]}}
    for shaped in (document, [document]):
        cloud = azure_auth.cloud_from_metadata(shaped)
        assert cloud == azure_auth.Cloud("Stack", "https://arm.stack.local/", "https://adfs.stack.local", "https://aud.stack/")
        assert azure_auth.scope_for(cloud) == "https://aud.stack/.default"
    with pytest.raises(azure_auth.AzureAuthError, match="lacks resourceManager"):
        azure_auth.cloud_from_metadata({"name": "broken"})


def test_instance_discovery_only_for_known_authorities():
    assert not azure_auth.instance_discovery_disabled(azure_auth.KNOWN_CLOUDS["AzureCloud"], {})
    private = azure_auth.Cloud("x", "https://arm.local/", "https://127.0.0.1:8443", "https://arm.local/")
    assert azure_auth.instance_discovery_disabled(private, {})
    assert not azure_auth.instance_discovery_disabled(private, {"disable_instance_discovery": "false"})


def test_credential_types(no_cli):
    cloud = azure_auth.KNOWN_CLOUDS["AzureCloud"]
    sp = azure_auth.build_credential({"source": "env", "client_id": "c", "secret": "s", "tenant": "t"}, cloud)
    user = azure_auth.build_credential({"source": "params", "ad_user": "u@x", "password": "p"}, cloud)
    assert type(sp).__name__ == "ClientSecretCredential"
    assert type(user).__name__ == "UsernamePasswordCredential"
    assert type(azure_auth.build_credential({"source": "cli"}, cloud)).__name__ == "AzureCliCredential"
    assert type(azure_auth.build_credential({"source": "msi"}, cloud)).__name__ == "ManagedIdentityCredential"
    with pytest.raises(azure_auth.AzureAuthError, match="needs the tenant"):
        azure_auth.build_credential({"source": "env", "client_id": "c", "secret": "s"}, cloud)
    with pytest.raises(azure_auth.AzureAuthError, match="No usable Azure credentials"):
        azure_auth.build_credential({"source": "env"}, cloud)
