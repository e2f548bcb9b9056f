# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Workload identity and certificate service principals, end to end against the emulator's Entra ID.

No secret is in the environment of these runs (AZURE_SECRET is emptied): the token can only come from
the federated token file or from the certificate's client assertion, which the emulator's token
endpoint checks as Entra ID does.
"""

from __future__ import annotations

import json
import time

import pytest

INFO = ("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: info\n"
        "      azcni.cilium.aks_cilium_cluster_info: {}\n")
NO_SECRET = {"AZURE_SECRET": ""}


def token_requests(emulator, since):
    return [entry for entry in emulator.requests(since=since) if entry["path"].endswith("/oauth2/v2.0/token")]


def run_info(emulator, ansible, env):
    started = time.time()
    result = ansible(INFO, env=dict(NO_SECRET, **env))
    return result, token_requests(emulator, started), emulator.requests(since=started)


def test_workload_identity_run(emulator, ansible):
    env = emulator.workload_identity_env()
    env.pop("AZURE_TENANT", None)
    result, tokens, sent = run_info(emulator, ansible, dict(env, AZURE_TENANT=""))
    assert result.rc == 0, result.stdout[-3000:]
    assert "clusters" in result.task("info")
    assert tokens and all(entry["status"] == 200 for entry in tokens)
    assert any("/managedClusters" in entry["path"] for entry in sent)


@pytest.mark.parametrize("encrypted", [False, True])
def test_certificate_service_principal_run(emulator, ansible, encrypted):
    result, tokens, dummy = run_info(emulator, ansible, emulator.certificate_env(encrypted=encrypted))
    assert result.rc == 0, result.stdout[-3000:]
    assert tokens and all(entry["status"] == 200 for entry in tokens)
    assert emulator.certificate_password not in result.stdout


def test_certificate_options_as_azure_azcollection_names_them(emulator, ansible):
    options = {"client_id": emulator.env["AZURE_CLIENT_ID"], "tenant": emulator.env["AZURE_TENANT"],
               "x509_certificate_path": emulator.auth_files["client-cert-encrypted.pem"],
               "x509_certificate_password": emulator.certificate_password,
               "thumbprint": emulator.arm.identity.assertions.certificate.sha1_hex}
    result = ansible(INFO.replace("{}", json.dumps(options)), env=dict(NO_SECRET, AZURE_CLIENT_ID="", AZURE_TENANT=""))
    assert result.rc == 0, result.stdout[-3000:]


def test_bad_federated_token_file_and_wrong_password_fail_before_any_arm_call(emulator, ansible, tmp_path):
    env = dict(emulator.workload_identity_env(), AZURE_FEDERATED_TOKEN_FILE=str(tmp_path / "missing"))
    result, tokens, sent = run_info(emulator, ansible, env)
    assert result.rc != 0 and "AZURE_FEDERATED_TOKEN_FILE" in result.task("info")["msg"]
    assert not tokens and not [entry for entry in sent if entry["path"].startswith("/subscriptions/")]
    env = dict(emulator.certificate_env(encrypted=True), AZURE_CLIENT_CERTIFICATE_PASSWORD="wrong-password")
    result, tokens, sent = run_info(emulator, ansible, env)
    assert result.rc != 0 and "x509_certificate_password" in result.task("info")["msg"]
    assert "wrong-password" not in result.stdout
    assert not tokens


def test_a_token_for_another_subject_is_refused_with_entra_s_error(emulator, ansible, tmp_path):
    issuer = emulator.arm.identity.assertions.issuer
    token = tmp_path / "token"
    token.write_text(issuer.issue(subject="system:serviceaccount:other:sa"))
    result, tokens, dummy = run_info(emulator, ansible, dict(emulator.workload_identity_env(),
                                                             AZURE_FEDERATED_TOKEN_FILE=str(token)))
    assert result.rc != 0 and "AADSTS700213" in result.stdout
    assert tokens and tokens[0]["status"] == 400
