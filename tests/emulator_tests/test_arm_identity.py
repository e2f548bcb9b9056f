"""Cloud metadata, Entra ID token endpoint (through the real azure-identity/MSAL) and ARM's bearer checks."""

import pytest
import requests

AUDIENCE = "https://management.emulator.local/"


def test_metadata_2022_09_01_is_one_object_pointing_at_the_emulator(emulator):
    cloud = requests.get(emulator.env["AZURE_CLOUD_ENVIRONMENT"], verify=emulator.ca_path, timeout=10).json()
    assert cloud["resourceManager"] == emulator.url + "/"
    assert cloud["authentication"]["loginEndpoint"] == emulator.url
    assert cloud["authentication"]["audiences"][0] == AUDIENCE
    assert cloud["authentication"]["identityProvider"] == "AAD"
    assert {"storage", "keyVaultDns", "acrLoginServer"} <= set(cloud["suffixes"])


def test_metadata_without_that_api_version_is_the_cli_style_list(emulator):
    clouds = requests.get(emulator.url + "/metadata/endpoints?api-version=2019-05-01", verify=emulator.ca_path,
                          timeout=10).json()
    assert isinstance(clouds, list) and clouds[0]["resourceManager"] == emulator.url + "/"


def test_client_secret_credential_gets_a_jwt_for_the_audience_scope(emulator):
    # the scope the product derives: audiences[0] without "/" + "/.default"
    token = emulator.credential().get_token(AUDIENCE.rstrip("/") + "/.default")
    assert token.token.count(".") == 2 and token.expires_on > 0


def test_resource_manager_default_scope_is_accepted_too(emulator):
    assert emulator.credential().get_token(emulator.url + "/.default").token


def test_wrong_secret_is_aadsts7000215(emulator):
    from azure.core.exceptions import ClientAuthenticationError  # pylint: disable=import-outside-toplevel
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        emulator.credential(client_secret="wrong").get_token(AUDIENCE + ".default")


def test_unknown_client_is_aadsts700016(emulator):
    from azure.core.exceptions import ClientAuthenticationError  # pylint: disable=import-outside-toplevel
    with pytest.raises(ClientAuthenticationError, match="AADSTS700016"):
        emulator.credential(client_id="00000000-0000-0000-0000-000000000001").get_token(AUDIENCE + ".default")


def test_token_endpoint_error_shapes(emulator):
    url = "%s/%s/oauth2/v2.0/token" % (emulator.url, emulator.env["AZURE_TENANT"])
    form = {"grant_type": "client_credentials", "client_id": emulator.env["AZURE_CLIENT_ID"],
            "client_secret": "nope", "scope": AUDIENCE + ".default"}
    reply = requests.post(url, data=form, verify=emulator.ca_path, timeout=10)
    assert reply.status_code == 401
    assert reply.json()["error"] == "invalid_client" and reply.json()["error_codes"] == [7000215]
    reply = requests.post(url, data=dict(form, client_secret=emulator.env["AZURE_SECRET"], scope="https://other/.default"),
                          verify=emulator.ca_path, timeout=10)
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_resource"
    unknown_tenant = requests.get(emulator.url + "/not-a-tenant/v2.0/.well-known/openid-configuration",
                                  verify=emulator.ca_path, timeout=10)
    assert unknown_tenant.status_code == 400 and unknown_tenant.json()["error_codes"] == [90002]


def test_msal_instance_discovery_against_the_emulator_host(emulator):
    """Without disable_instance_discovery, MSAL asks an instance-discovery endpoint; ours answers like AAD's."""
    import msal  # pylint: disable=import-outside-toplevel
    session = requests.Session()
    session.trust_env = False
    session.verify = emulator.ca_path
    app = msal.ConfidentialClientApplication(
        emulator.env["AZURE_CLIENT_ID"], client_credential=emulator.env["AZURE_SECRET"],
        authority="%s/%s" % (emulator.url, emulator.env["AZURE_TENANT"]), http_client=session,
        instance_discovery=emulator.url + "/common/discovery/instance")
    result = app.acquire_token_for_client([AUDIENCE + ".default"])
    assert "access_token" in result, result
    assert any(e["path"] == "/common/discovery/instance" for e in emulator.requests())


@pytest.mark.parametrize("authorization, code", [
    (None, "AuthenticationFailed"),
    ("Bearer not-a-jwt", "InvalidAuthenticationToken"),
    ("Bearer a.b.c", "InvalidAuthenticationToken"),
])
def test_arm_rejects_missing_or_bad_tokens(emulator, authorization, code):
    headers = {"Authorization": authorization} if authorization else {}
    reply = requests.get("%s/subscriptions/%s/resourcegroups?api-version=2025-04-01"
                         % (emulator.url, emulator.env["AZURE_SUBSCRIPTION_ID"]),
                         headers=headers, verify=emulator.ca_path, timeout=10)
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == code
    assert reply.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")


def test_arm_rejects_expired_and_foreign_audience_tokens(emulator):
    identity = emulator.arm.identity
    url = "%s/subscriptions/%s/resourcegroups?api-version=2025-04-01" % (emulator.url, emulator.env["AZURE_SUBSCRIPTION_ID"])
    for token, code in ((identity.issue(AUDIENCE, identity.client_id, lifetime=-60), "ExpiredAuthenticationToken"),
                        (identity.issue("https://graph.emulator.local/", identity.client_id), "InvalidAuthenticationTokenAudience")):
        reply = requests.get(url, headers={"Authorization": "Bearer " + token}, verify=emulator.ca_path, timeout=10)
        assert (reply.status_code, reply.json()["error"]["code"]) == (401, code)


def test_sdk_surfaces_the_401_as_an_error(emulator, sdk):
    from azure.core.exceptions import ClientAuthenticationError  # pylint: disable=import-outside-toplevel
    from azure.mgmt.resource.resources import ResourceManagementClient  # pylint: disable=import-outside-toplevel

    class Forged:  # a credential handing out a token the emulator did not sign
        @staticmethod
        def get_token(*scopes, **kwargs):
            del scopes, kwargs
            from azure.core.credentials import AccessToken  # pylint: disable=import-outside-toplevel
            return AccessToken("x.y.z", 4102444800)

    client = ResourceManagementClient(Forged(), sdk.subscription_id, **emulator.client_kwargs())
    with pytest.raises(ClientAuthenticationError) as caught:
        client.resource_groups.get("anything")
    assert caught.value.error.code == "InvalidAuthenticationToken"
