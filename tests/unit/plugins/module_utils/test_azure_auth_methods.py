# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificate service principals and workload identity: settings, precedence, and failing early."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ansible_collections.azcni.cilium.plugins.module_utils._azure import auth

CLOUD = auth.KNOWN_CLOUDS["AzureCloud"]


@pytest.fixture
def no_cli(monkeypatch):
    monkeypatch.setattr(auth.shutil, "which", lambda name: None)


def pem(tmp_path, password=None, name="sp.pem"):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sp")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    encryption = serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    path = tmp_path / name
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
                     + cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


def test_workload_identity_webhook_variables(no_cli, tmp_path):
    token = tmp_path / "token"
    token.write_text("header.claims.signature")
    settings = auth.resolve_settings({}, {"AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": "t",
                                          "AZURE_FEDERATED_TOKEN_FILE": str(token), "AZURE_SUBSCRIPTION_ID": "s"})
    assert settings["source"] == "env" and settings["oidc_token_file_path"] == str(token)
    credential = auth.build_credential(settings, CLOUD)
    assert type(credential).__name__ == "WorkloadIdentityCredential"


def test_a_federated_token_given_directly(no_cli):
    settings = auth.resolve_settings({"client_id": "c", "tenant": "t", "oidc_token": "a.b.c"}, {})
    assert type(auth.build_credential(settings, CLOUD)).__name__ == "ClientAssertionCredential"


def test_workload_identity_comes_before_a_secret_as_in_azure_azcollection(no_cli, tmp_path):
    token = tmp_path / "token"
    token.write_text("x")
    settings = auth.resolve_settings({}, {"AZURE_CLIENT_ID": "c", "AZURE_TENANT": "t", "AZURE_SECRET": "s",
                                          "AZURE_FEDERATED_TOKEN_FILE": str(token)})
    assert type(auth.build_credential(settings, CLOUD)).__name__ == "WorkloadIdentityCredential"


def test_a_missing_token_file_or_tenant_fails_naming_it(no_cli, tmp_path):
    missing = str(tmp_path / "nope")
    settings = auth.resolve_settings({}, {"AZURE_CLIENT_ID": "c", "AZURE_TENANT": "t", "AZURE_FEDERATED_TOKEN_FILE": missing})
    with pytest.raises(auth.AzureAuthError, match="AZURE_FEDERATED_TOKEN_FILE.*does not exist"):
        auth.build_credential(settings, CLOUD)
    with pytest.raises(auth.AzureAuthError, match="needs the tenant"):
        auth.build_credential({"source": "env", "client_id": "c", "oidc_token": "a.b.c"}, CLOUD)


@pytest.mark.parametrize("variable", ["AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_X509_CERTIFICATE_PATH"])
def test_certificate_service_principal(no_cli, tmp_path, variable):
    settings = auth.resolve_settings({}, {"AZURE_CLIENT_ID": "c", "AZURE_TENANT": "t", variable: pem(tmp_path)})
    assert type(auth.build_credential(settings, CLOUD)).__name__ == "CertificateCredential"


def test_encrypted_certificate_needs_its_password(no_cli, tmp_path):
    path = pem(tmp_path, password="pw")
    env = {"AZURE_CLIENT_ID": "c", "AZURE_TENANT": "t", "AZURE_CLIENT_CERTIFICATE_PATH": path}
    good = auth.resolve_settings({}, dict(env, AZURE_CLIENT_CERTIFICATE_PASSWORD="pw"))
    assert type(auth.build_credential(good, CLOUD)).__name__ == "CertificateCredential"
    for password in ("wrong", ""):  # AWX's credential type injects "" when no password is given
        with pytest.raises(auth.AzureAuthError) as failure:
            auth.build_credential(auth.resolve_settings({}, dict(env, AZURE_CLIENT_CERTIFICATE_PASSWORD=password)), CLOUD)
        assert "x509_certificate_password" in str(failure.value) and (not password or password not in str(failure.value))


def test_a_missing_certificate_fails_naming_the_option(no_cli, tmp_path):
    settings = auth.resolve_settings({"client_id": "c", "tenant": "t", "x509_certificate_path": str(tmp_path / "x.pem")}, {})
    with pytest.raises(auth.AzureAuthError, match="x509_certificate_path.*does not exist"):
        auth.build_credential(settings, CLOUD)


def test_new_options_are_no_log_where_secret():
    assert auth.AZURE_AUTH_ARGS["x509_certificate_password"]["no_log"] is True
    assert auth.AZURE_AUTH_ARGS["oidc_token"]["no_log"] is True
