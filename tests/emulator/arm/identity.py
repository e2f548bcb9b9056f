"""Cloud metadata, Entra ID (AAD) discovery + client-credentials token endpoint, bearer checks.

Enough of login.microsoftonline.com for MSAL/azure-identity's ClientSecretCredential,
CertificateCredential and WorkloadIdentityCredential (client assertions: see assertions.py), and of
the ARM front door's token validation. Tokens are JWT-shaped (HS256, signed with a per-run key).
"""

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from urllib.parse import parse_qs

from ..http import json_response
from .assertions import Assertions
from .errors import ArmError

AUDIENCE = "https://management.emulator.local/"
CLOUD_NAME = "AzureEmulatorCloud"
GENERIC_TENANTS = ("common", "organizations")


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Identity:

    def __init__(self, tenant_id, client_id, client_secret, token_lifetime=3600):
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = token_lifetime
        self.assertions = Assertions(client_id)
        self._base_url = None  # set once the server knows its port
        self._key = os.urandom(32)

    @property
    def base_url(self):
        return self._base_url

    @base_url.setter
    def base_url(self, value):
        self._base_url = value
        self.assertions.bind(value)

    # ---- cloud metadata -------------------------------------------------------------
    @property
    def resource_manager(self):
        return self.base_url + "/"

    def accepted_audiences(self):
        return {AUDIENCE, AUDIENCE.rstrip("/"), self.resource_manager, self.base_url}

    def cloud(self):
        """The ARM 2022-09-01 metadata object, pointing everything at this emulator."""
        return {
            "name": CLOUD_NAME,
            "portal": self.base_url + "/portal",
            "resourceManager": self.resource_manager,
            "authentication": {
                "loginEndpoint": self.base_url,
                "audiences": [AUDIENCE, self.resource_manager],
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "media": self.base_url + "/media",
            "graphAudience": "https://graph.emulator.local/",
            "graph": "https://graph.emulator.local/",
            "microsoftGraphResourceId": "https://graph.emulator.local/",
            "batch": "https://batch.emulator.local/",
            "sqlManagement": "https://sqlmanagement.emulator.local/",
            "gallery": "https://gallery.emulator.local/",
            "activeDirectoryDataLake": "https://datalake.emulator.local/",
            "vmImageAliasDoc": self.base_url + "/vmImageAliasDoc",
            "logAnalyticsResourceId": "https://api.loganalytics.emulator.local",
            "appInsightsResourceId": "https://api.applicationinsights.emulator.local",
            "suffixes": {
                "storage": "core.emulator.local",
                "keyVaultDns": "vault.emulator.local",
                "mhsmDns": "managedhsm.emulator.local",
                "sqlServerHostname": "database.emulator.local",
                "acrLoginServer": "azurecr.emulator.local",
                "azureDataLakeStoreFileSystem": "azuredatalakestore.emulator.local",
                "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.emulator.local",
            },
        }

    def metadata(self, request):
        # 2022-09-01 answers one object; the az CLI style request (no/older api-version) a list
        if request.arg("api-version") == "2022-09-01":
            return json_response(200, self.cloud())
        return json_response(200, [self.cloud()])

    # ---- Entra ID discovery ---------------------------------------------------------
    def _tenant_or_error(self, tenant):
        if tenant.lower() in GENERIC_TENANTS or tenant.lower() == self.tenant_id.lower():
            return None
        return self._aad_error(400, "invalid_tenant", 90002,
                               "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing "
                               "into the correct cloud." % tenant)

    def openid_configuration(self, request, tenant):
        del request
        error = self._tenant_or_error(tenant)
        if error:
            return error
        tenant_id = self.tenant_id if tenant.lower() not in GENERIC_TENANTS else "{tenantid}"
        base = "%s/%s" % (self.base_url, tenant)
        return json_response(200, {
            "token_endpoint": base + "/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": "%s/%s/discovery/v2.0/keys" % (self.base_url, tenant),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": "%s/%s/v2.0" % (self.base_url, tenant_id),
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": self.base_url + "/oidc/userinfo",
            "authorization_endpoint": base + "/oauth2/v2.0/authorize",
            "device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": base + "/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid"],
            "kerberos_endpoint": base + "/kerberos",
            "tenant_region_scope": "NA",
            "cloud_instance_name": "emulator.local",
            "cloud_graph_host_name": "graph.emulator.local",
            "msgraph_host": "graph.emulator.local",
        })

    def instance_discovery(self, request):
        """/common/discovery/instance: vouch for this host (only reached when a client is pointed here)."""
        tenant = "common"
        endpoint = request.arg("authorization_endpoint") or ""
        parts = endpoint.split("/")
        if len(parts) > 3 and parts[3]:
            tenant = parts[3]
        host = self.base_url.split("://", 1)[1]
        return json_response(200, {
            "tenant_discovery_endpoint": "%s/%s/v2.0/.well-known/openid-configuration" % (self.base_url, tenant),
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        })

    # ---- token endpoint -------------------------------------------------------------
    @staticmethod
    def _aad_error(status, error, number, description):
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        return json_response(status, {
            "error": error,
            "error_description": "AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s"
                                 % (number, description, trace, correlation, stamp),
            "error_codes": [number],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": "https://login.emulator.local/error?code=%d" % number,
        })

    def token(self, request, tenant):
        error = self._tenant_or_error(tenant)
        if error:
            return error
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8"), keep_blank_values=True).items()}
        if form.get("grant_type") != "client_credentials":
            return self._aad_error(400, "unsupported_grant_type", 70003,
                                   "The app requested an unsupported grant type '%s'." % form.get("grant_type", ""))
        client_id = form.get("client_id", "")
        if client_id != self.client_id:
            return self._aad_error(400, "unauthorized_client", 700016,
                                   "Application with identifier '%s' was not found in the directory '%s'. This can happen "
                                   "if the application has not been installed by the administrator of the tenant or "
                                   "consented to by any user in the tenant. You may have sent your authentication request "
                                   "to the wrong tenant." % (client_id, tenant))
        if "client_secret" in form:
            if not hmac.compare_digest(form["client_secret"], self.client_secret):
                return self._aad_error(401, "invalid_client", 7000215,
                                       "Invalid client secret provided. Ensure the secret being sent in the request is "
                                       "the client secret value, not the client secret ID, for a secret added to app "
                                       "'%s'." % client_id)
        else:
            error = self.assertions.check(form, tenant, self.token_endpoints(tenant))
            if error:
                return self._aad_error(*error)
        resources = [s[:-len("/.default")] for s in form.get("scope", "").split() if s.endswith("/.default")]
        audience = next((r for r in resources if r in self.accepted_audiences() or r + "/" in self.accepted_audiences()), None)
        if audience is None:
            return self._aad_error(400, "invalid_resource", 500011,
                                   "The resource principal named %s was not found in the tenant named %s. This can happen "
                                   "if the application has not been installed by the administrator of the tenant or "
                                   "consented to by any user in the tenant. You might have sent your authentication "
                                   "request to the wrong tenant." % (" ".join(resources) or "<none>", tenant))
        return json_response(200, {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": self.issue(AUDIENCE, client_id),
        })

    def token_endpoints(self, tenant):
        """The audiences a client assertion may name: this tenant's v2 and v1 token endpoints."""
        return {"%s/%s/oauth2/%stoken" % (self.base_url, name, version)
                for name in (tenant, self.tenant_id) for version in ("v2.0/", "")}

    def issuer_discovery(self, request, name):
        del request
        if name != self.assertions.issuer.name:
            return json_response(404, {"error": "not found"})
        return json_response(200, self.assertions.issuer.discovery())

    def issuer_keys(self, request, name):
        del request
        if name != self.assertions.issuer.name:
            return json_response(404, {"error": "not found"})
        return json_response(200, self.assertions.issuer.jwks())

    def issue(self, audience, client_id, lifetime=None):
        now = int(time.time())
        claims = {
            "aud": audience, "iss": "https://sts.emulator.local/%s/" % self.tenant_id,
            "iat": now, "nbf": now, "exp": now + int(self.token_lifetime if lifetime is None else lifetime),
            "appid": client_id, "appidacr": "1", "idtyp": "app", "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)), "tid": self.tenant_id, "ver": "1.0",
        }
        signing_input = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + _b64(json.dumps(claims).encode())
        signature = hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest()
        return signing_input + "." + _b64(signature)

    # ---- ARM front door -------------------------------------------------------------
    def _challenge(self, code, message, description):
        header = ('Bearer authorization_uri="%s/%s", error="invalid_token", error_description="%s"'
                  % (self.base_url, self.tenant_id, description))
        return ArmError(401, code, message, headers={"WWW-Authenticate": header})

    def check_bearer(self, request):
        """Raise the 401 ARM answers unless the request carries a valid token for this cloud."""
        auth = request.headers.get("Authorization") or ""
        if not auth:
            raise self._challenge("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                                  "The authentication failed because of missing 'Authorization' header.")
        scheme, token = (auth.split(None, 1) + [""])[:2]
        claims = self._verify(token.strip()) if scheme.lower() == "bearer" else None
        if claims is None:
            raise self._challenge("InvalidAuthenticationToken", "The access token is invalid.",
                                  "The access token is invalid.")
        if claims.get("aud") not in self.accepted_audiences():
            raise self._challenge(
                "InvalidAuthenticationTokenAudience",
                "The access token has been obtained for wrong audience or resource '%s'. It should exactly match with "
                "one of the allowed audiences '%s'." % (claims.get("aud"), "','".join(sorted(self.accepted_audiences()))),
                "The access token has been obtained for wrong audience or resource.")
        if claims.get("exp", 0) < time.time():
            expired = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(claims.get("exp", 0)))
            current = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime())
            raise self._challenge(
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time '%s' is earlier than current UTC time '%s'." % (expired, current),
                "The access token expiry UTC time '%s' is earlier than current UTC time '%s'." % (expired, current))
        return claims

    def _verify(self, token):
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = hmac.new(self._key, (parts[0] + "." + parts[1]).encode("ascii"), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(_unb64(parts[2]), expected):
                return None
            return json.loads(_unb64(parts[1]))
        except ValueError:
            return None
