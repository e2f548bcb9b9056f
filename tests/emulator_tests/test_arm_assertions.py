"""Client assertions at the emulator's token endpoint, through the real azure-identity/MSAL.

Certificate service principals (CertificateCredential: PS256 + x5t#S256 with current MSAL) and
workload identity (WorkloadIdentityCredential reading AZURE_FEDERATED_TOKEN_FILE), plus the errors
Entra ID answers when the certificate, issuer, subject, audience or time range is wrong.
"""

import json
import time

import pytest
import requests

from tests.emulator.arm import assertions

SCOPE = "https://management.emulator.local/.default"


def _options(emulator):
    return {"authority": emulator.url, "disable_instance_discovery": True, "connection_verify": emulator.ca_path}


def _token_url(emulator):
    return "%s/%s/oauth2/v2.0/token" % (emulator.url, emulator.env["AZURE_TENANT"])


def _post_assertion(emulator, assertion):
    form = {"grant_type": "client_credentials", "client_id": emulator.env["AZURE_CLIENT_ID"], "scope": SCOPE,
            "client_assertion_type": assertions.JWT_BEARER, "client_assertion": assertion}
    return requests.post(_token_url(emulator), data=form, verify=emulator.ca_path, timeout=10)


def _call_arm(emulator, token):
    url = "%s/subscriptions/%s/resourcegroups?api-version=2021-04-01" % (emulator.url, emulator.env["AZURE_SUBSCRIPTION_ID"])
    return requests.get(url, headers={"Authorization": "Bearer " + token}, verify=emulator.ca_path, timeout=10)


@pytest.mark.parametrize("encrypted", [False, True])
def test_certificate_credential_gets_a_token_arm_accepts(emulator, encrypted):
    from azure.identity import CertificateCredential  # pylint: disable=import-outside-toplevel
    env = emulator.certificate_env(encrypted=encrypted)
    credential = CertificateCredential(env["AZURE_TENANT"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_CERTIFICATE_PATH"],
                                       password=env.get("AZURE_CLIENT_CERTIFICATE_PASSWORD"), **_options(emulator))
    token = credential.get_token(SCOPE).token
    assert _call_arm(emulator, token).status_code == 200


def test_workload_identity_credential_exchanges_the_projected_token(emulator):
    from azure.identity import WorkloadIdentityCredential  # pylint: disable=import-outside-toplevel
    env = emulator.workload_identity_env()
    assert "AZURE_SECRET" not in env
    credential = WorkloadIdentityCredential(tenant_id=env["AZURE_TENANT_ID"], client_id=env["AZURE_CLIENT_ID"],
                                            token_file_path=env["AZURE_FEDERATED_TOKEN_FILE"], **_options(emulator))
    assert _call_arm(emulator, credential.get_token(SCOPE).token).status_code == 200


def test_the_issuer_publishes_discovery_and_keys(emulator):
    issuer = emulator.arm.identity.assertions.issuer
    discovery = requests.get(issuer.url + ".well-known/openid-configuration", verify=emulator.ca_path, timeout=10).json()
    assert discovery["issuer"] == issuer.url
    keys = requests.get(discovery["jwks_uri"], verify=emulator.ca_path, timeout=10).json()["keys"]
    assert keys[0]["kid"] == issuer.kid and keys[0]["kty"] == "RSA"
    with open(emulator.auth_files["federated-token"], encoding="ascii") as handle:
        header, claims = assertions.parse_jwt(handle.read())
    assert header["kid"] == issuer.kid
    assert claims["iss"] == issuer.url and claims["aud"] == ["api://AzureADTokenExchange"]
    assert claims["sub"] == "system:serviceaccount:awx:awx-ee"


def test_an_unregistered_certificate_is_aadsts700027(emulator, tmp_path):
    from azure.core.exceptions import ClientAuthenticationError  # pylint: disable=import-outside-toplevel
    from azure.identity import CertificateCredential  # pylint: disable=import-outside-toplevel
    other = tmp_path / "other.pem"
    other.write_bytes(assertions.ClientCertificate(emulator.env["AZURE_CLIENT_ID"]).pem())
    credential = CertificateCredential(emulator.env["AZURE_TENANT"], emulator.env["AZURE_CLIENT_ID"], str(other),
                                       **_options(emulator))
    with pytest.raises(ClientAuthenticationError, match="AADSTS700027"):
        credential.get_token(SCOPE)


def test_wrong_certificate_password_fails_before_any_request(emulator):
    from azure.identity import CertificateCredential  # pylint: disable=import-outside-toplevel
    emulator.clear_requests()
    with pytest.raises(ValueError):
        CertificateCredential(emulator.env["AZURE_TENANT"], emulator.env["AZURE_CLIENT_ID"],
                              emulator.auth_files["client-cert-encrypted.pem"], password="wrong", **_options(emulator))
    assert not emulator.requests()


def _federated(emulator, **claims_override):
    issuer = emulator.arm.identity.assertions.issuer
    now = int(time.time())
    claims = {"iss": issuer.url, "sub": assertions.DEFAULT_SUBJECT, "aud": [assertions.EXCHANGE_AUDIENCE],
              "iat": now, "nbf": now, "exp": now + 600}
    claims.update(claims_override)
    # pylint: disable=protected-access
    return assertions._sign_rs256(issuer._key, {"alg": "RS256", "kid": issuer.kid, "typ": "JWT"}, claims)


@pytest.mark.parametrize("override, status, code", [
    ({}, 200, None),
    ({"iss": "https://token.actions.githubusercontent.com"}, 400, 700211),
    ({"sub": "system:serviceaccount:awx:other"}, 400, 700213),
    ({"sub": "system:serviceaccount:AWX:awx-ee"}, 400, 700213),  # Entra matches case-sensitively
    ({"aud": ["api://other"]}, 400, 700212),
    ({"exp": int(time.time()) - 3600, "nbf": int(time.time()) - 7200}, 401, 700024),
])
def test_federated_token_checks(emulator, override, status, code):
    reply = _post_assertion(emulator, _federated(emulator, **override))
    assert reply.status_code == status, reply.text
    if code:
        assert reply.json()["error_codes"] == [code]
    else:
        assert _call_arm(emulator, reply.json()["access_token"]).status_code == 200


def test_a_federated_token_with_a_forged_signature_is_refused(emulator):
    head, body = _federated(emulator).split(".")[:2]
    forged = head + "." + body + "." + assertions.b64url(b"\0" * 256)
    reply = _post_assertion(emulator, forged)
    assert reply.status_code == 400 and reply.json()["error_codes"] == [50013]


def test_certificate_assertion_for_another_audience_is_refused(emulator):
    certificate = emulator.arm.identity.assertions.certificate
    now = int(time.time())
    claims = {"aud": "https://login.microsoftonline.com/other/oauth2/v2.0/token", "iss": emulator.env["AZURE_CLIENT_ID"],
              "sub": emulator.env["AZURE_CLIENT_ID"], "exp": now + 600, "nbf": now, "jti": "x"}
    header = {"alg": "RS256", "typ": "JWT", "x5t": certificate.thumbprints["x5t"]}
    reply = _post_assertion(emulator, assertions._sign_rs256(certificate.key, header, claims))  # pylint: disable=protected-access
    assert reply.status_code == 401 and reply.json()["error_codes"] == [700023]
    good = dict(claims, aud=_token_url(emulator))
    reply = _post_assertion(emulator, assertions._sign_rs256(certificate.key, header, good))  # pylint: disable=protected-access
    assert reply.status_code == 200, reply.text


def test_malformed_assertion_and_missing_credentials(emulator):
    assert _post_assertion(emulator, "not-a-jwt").json()["error_codes"] == [50027]
    form = {"grant_type": "client_credentials", "client_id": emulator.env["AZURE_CLIENT_ID"], "scope": SCOPE}
    reply = requests.post(_token_url(emulator), data=form, verify=emulator.ca_path, timeout=10)
    assert reply.status_code == 400 and json.loads(reply.text)["error"] == "invalid_request"
