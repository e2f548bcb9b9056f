# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure authentication and cloud selection, compatible with azure.azcollection.

Options, ``AZURE_*`` environment variables, ``~/.azure/credentials`` profiles and the ``auto``
precedence follow azure.azcollection so that AWX's built-in Azure credential works unchanged.
Credentials are azure-identity credential objects.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import namedtuple

from ansible.module_utils.basic import env_fallback

from ansible_collections.azcni.cilium.plugins.module_utils._azure.token import ClientSecretToken

AZURE_AUTH_ARGS = dict(
    auth_source=dict(type="str", choices=["auto", "cli", "env", "credential_file", "msi"],
                     fallback=(env_fallback, ["ANSIBLE_AZURE_AUTH_SOURCE"])),
    profile=dict(type="str"),
    subscription_id=dict(type="str"),
    client_id=dict(type="str"),
    secret=dict(type="str", no_log=True),
    tenant=dict(type="str"),
    ad_user=dict(type="str"),
    password=dict(type="str", no_log=True),
    cloud_environment=dict(type="str"),
    cert_validation_mode=dict(type="str", choices=["validate", "ignore"]),
    disable_instance_discovery=dict(type="bool"),
    x509_certificate_path=dict(type="path"),
    x509_certificate_password=dict(type="str", no_log=True),
    thumbprint=dict(type="str"),
    oidc_token=dict(type="str", no_log=True),
    oidc_token_file_path=dict(type="path", no_log=False),
)

# Option -> environment variables, first one set wins. azure.azcollection's names come first
# (what AWX injects); azure-identity's own names are accepted too.
ENV_NAMES = {
    "profile": ["AZURE_PROFILE"],
    "subscription_id": ["AZURE_SUBSCRIPTION_ID"],
    "client_id": ["AZURE_CLIENT_ID"],
    "secret": ["AZURE_SECRET", "AZURE_CLIENT_SECRET"],
    "tenant": ["AZURE_TENANT", "AZURE_TENANT_ID"],
    "ad_user": ["AZURE_AD_USER", "AZURE_USERNAME"],
    "password": ["AZURE_PASSWORD"],
    "cloud_environment": ["AZURE_CLOUD_ENVIRONMENT"],
    "cert_validation_mode": ["AZURE_CERT_VALIDATION_MODE"],
    "disable_instance_discovery": ["AZURE_DISABLE_INSTANCE_DISCOVERY"],
    # a service principal's certificate: azure.azcollection's name, then azure-identity's
    "x509_certificate_path": ["AZURE_X509_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PATH"],
    "x509_certificate_password": ["AZURE_CLIENT_CERTIFICATE_PASSWORD"],
    "thumbprint": ["AZURE_THUMBPRINT"],
    # workload identity federation: what AKS's webhook (and CI systems) provide
    "oidc_token": ["AZURE_FEDERATED_TOKEN"],
    "oidc_token_file_path": ["AZURE_FEDERATED_TOKEN_FILE"],
}
CREDENTIAL_KEYS = ("subscription_id", "client_id", "secret", "tenant", "ad_user", "password", "x509_certificate_path",
                   "x509_certificate_password", "thumbprint", "oidc_token", "oidc_token_file_path")
SETTING_KEYS = ("cloud_environment", "cert_validation_mode", "disable_instance_discovery")

# The public client id of the Azure CLI, used for user/password logins when no client_id is given
# (azure.azcollection does the same).
AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

Cloud = namedtuple("Cloud", "name resource_manager login_endpoint audience")

KNOWN_CLOUDS = {
    "AzureCloud": Cloud("AzureCloud", "https://management.azure.com/",
                        "https://login.microsoftonline.com", "https://management.azure.com/"),
    "AzureChinaCloud": Cloud("AzureChinaCloud", "https://management.chinacloudapi.cn/",
                             "https://login.chinacloudapi.cn", "https://management.chinacloudapi.cn/"),
    "AzureUSGovernment": Cloud("AzureUSGovernment", "https://management.usgovcloudapi.net/",
                               "https://login.microsoftonline.us", "https://management.usgovcloudapi.net/"),
}
# Entra ID hosts that MSAL's instance discovery knows; any other authority (Azure Stack, ADFS, a
# private cloud) must be used without it, or MSAL asks the public cloud about a host it cannot know.
KNOWN_LOGIN_HOSTS = ("login.microsoftonline.com", "login.chinacloudapi.cn", "login.microsoftonline.us",
                     "login.windows.net", "login.microsoft.com", "sts.windows.net")


class AzureAuthError(Exception):
    """Authentication could not be set up; the message says what to change."""


def scope_for(cloud):
    """The OAuth2 scope for ARM in this cloud (``<audience>/.default``)."""
    return cloud.audience.rstrip("/") + "/.default"


def _truthy(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _from_env(keys, environ):
    found = {}
    for key in keys:
        for name in ENV_NAMES[key]:
            if environ.get(name):
                found[key] = environ[name]
                break
    return found


def read_credentials_file(profile, environ=None):
    """Read one profile of ``~/.azure/credentials`` (INI). Returns {} when absent.

    ``AZURE_CONFIG_DIR`` relocates the file as it does for the Azure CLI.
    """
    environ = os.environ if environ is None else environ
    config_dir = environ.get("AZURE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".azure")
    path = os.path.join(config_dir, "credentials")
    if not os.path.isfile(path):
        return {}
    import configparser  # only for users of a credentials file: most tasks never read one

    parser = configparser.ConfigParser()
    parser.read(path)
    if not parser.has_section(profile):
        return {}
    return dict(parser.items(profile))


def resolve_settings(params, environ=None):
    """Pick the credential source and settings the way azure.azcollection's ``auto`` does.

    Precedence: ``profile``/``client_id``/``ad_user`` options → environment → credentials file
    (``default`` profile) → Azure CLI login → managed identity. Returns a dict with ``source``
    (params, env, credential_file, cli, msi) and the credential and setting keys found.
    """
    environ = os.environ if environ is None else environ
    given = {key: params.get(key) for key in CREDENTIAL_KEYS + SETTING_KEYS + ("profile",) if params.get(key) is not None}
    env = _from_env(CREDENTIAL_KEYS + SETTING_KEYS + ("profile",), environ)
    source = params.get("auth_source") or "auto"

    def merged(found, origin):
        settings = dict((k, v) for k, v in env.items() if k in SETTING_KEYS)
        settings.update(dict((k, v) for k, v in found.items() if k in CREDENTIAL_KEYS + SETTING_KEYS))
        settings.update(dict((k, v) for k, v in given.items() if k in SETTING_KEYS))
        subscription = given.get("subscription_id") or found.get("subscription_id") or env.get("subscription_id")
        if subscription:
            settings["subscription_id"] = subscription
        settings["source"] = origin
        return settings

    def from_profile(name):
        found = read_credentials_file(name, environ)
        if not found:
            raise AzureAuthError("Profile '%s' not found in the Azure credentials file (~/.azure/credentials)." % name)
        return merged(found, "credential_file")

    if source == "credential_file":
        return from_profile(given.get("profile") or env.get("profile") or "default")
    if source == "env":
        return merged(env, "env")
    if source in ("cli", "msi"):
        return merged({"client_id": given.get("client_id") or env.get("client_id")} if source == "msi" else {}, source)

    # auto
    if given.get("profile"):
        return from_profile(given["profile"])
    if given.get("client_id") or given.get("ad_user"):
        return merged(given, "params")
    if env.get("profile"):
        return from_profile(env["profile"])
    if env.get("client_id") or env.get("ad_user"):
        return merged(env, "env")
    default_profile = read_credentials_file("default", environ)
    if default_profile.get("subscription_id"):
        return merged(default_profile, "credential_file")
    if shutil.which("az"):
        return merged({}, "cli")
    return merged({"client_id": env.get("client_id")}, "msi")


def _fetch_metadata(url, verify, sender=None):
    if sender is None:
        from ansible_collections.azcni.cilium.plugins.module_utils._azure.transport import new_sender

        sender = new_sender(verify)
    try:
        answer = sender.request("GET", url, headers={"Accept": "application/json"}, connect_timeout=30, read_timeout=30)
    except OSError as exc:  # _common.ConnectFailed / ExchangeFailed
        if getattr(exc, "tls", False):
            raise AzureAuthError(
                "TLS verification failed for the cloud metadata endpoint %s: %s. Point REQUESTS_CA_BUNDLE at the CA "
                "that signed it, or set cert_validation_mode=ignore." % (url, exc))
        raise AzureAuthError("Could not read cloud metadata from %s: %s" % (url, exc))
    if answer.status != 200:
        raise AzureAuthError("Could not read cloud metadata from %s: HTTP %d %s" % (url, answer.status, answer.reason))
    try:
        return json.loads(answer.data.decode("utf-8-sig"))
    except ValueError as exc:
        raise AzureAuthError("Could not read cloud metadata from %s: %s" % (url, exc))


def cloud_from_metadata(document, url=""):
    """Build a Cloud from an ARM ``/metadata/endpoints`` document (one object, or a list of them)."""
    if isinstance(document, list):
        if not document:
            raise AzureAuthError("The cloud metadata endpoint %s returned an empty list." % url)
        document = document[0]
    try:
        resource_manager = document["resourceManager"]
        authentication = document["authentication"]
        login = authentication["loginEndpoint"]
    except (KeyError, TypeError):
        raise AzureAuthError("The cloud metadata from %s lacks resourceManager or authentication.loginEndpoint." % url)
    audiences = authentication.get("audiences") or [resource_manager]
    if not resource_manager.endswith("/"):
        resource_manager += "/"
    return Cloud(document.get("name") or url, resource_manager, login.rstrip("/"), audiences[0])


def resolve_cloud(cloud_environment, verify=True, sender=None):
    """Turn a cloud name or an ARM metadata URL into a Cloud (``sender``: see _azure.transport)."""
    name = cloud_environment or "AzureCloud"
    if name in KNOWN_CLOUDS:
        return KNOWN_CLOUDS[name]
    if name.lower().startswith("https://"):
        return cloud_from_metadata(_fetch_metadata(name, verify, sender), name)
    if name.lower().startswith("http://"):
        raise AzureAuthError("cloud_environment %s must use https: Azure tokens are never sent over plain http." % name)
    raise AzureAuthError("Unknown cloud_environment '%s': use one of %s or the https URL of an ARM metadata endpoint "
                         "(…/metadata/endpoints?api-version=2022-09-01)." % (name, ", ".join(sorted(KNOWN_CLOUDS))))


def instance_discovery_disabled(cloud, settings):
    """Explicit setting wins; otherwise skip discovery for authorities MSAL cannot know."""
    if settings.get("disable_instance_discovery") is not None:
        return _truthy(settings["disable_instance_discovery"])
    host = cloud.login_endpoint.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    return host not in KNOWN_LOGIN_HOSTS


def _adfs(cloud, settings):
    """ADFS authorities (Azure Stack Hub) have their own token endpoint: azure-identity knows it."""
    return str(settings.get("tenant")).lower() == "adfs" or cloud.login_endpoint.rstrip("/").lower().endswith("/adfs")


def build_credential(settings, cloud, verify=True, sender=None):
    """Return a credential for the resolved settings: a service principal's secret is sent with
    ``sender`` (see _azure.transport) when one is given; azure-identity does everything else."""
    if (sender is not None and settings["source"] not in ("cli", "msi") and settings.get("client_id")
            and settings.get("secret") and settings.get("tenant") and not _adfs(cloud, settings)):
        return ClientSecretToken(cloud.login_endpoint, settings["tenant"], settings["client_id"], settings["secret"],
                                 sender)
    from azure import identity  # lazy: azure-identity costs ~0.1 s to import
    from azure.core.pipeline.transport import RequestsTransport

    from ansible_collections.azcni.cilium.plugins.module_utils._azure.session import new_session

    # MSAL imports requests anyway; its discovery documents come from the session's cache
    common = dict(authority=cloud.login_endpoint, connection_verify=verify,
                  transport=RequestsTransport(session=new_session(verify), session_owner=True, connection_verify=verify))
    source = settings["source"]
    if source == "cli":
        return identity.AzureCliCredential()
    if source == "msi":
        client_id = settings.get("client_id")
        return identity.ManagedIdentityCredential(client_id=client_id) if client_id else identity.ManagedIdentityCredential()
    discovery = dict(common, disable_instance_discovery=instance_discovery_disabled(cloud, settings))
    # azure.azcollection's order: a federated token first, then a secret, then a certificate
    if settings.get("client_id") and (settings.get("oidc_token") or settings.get("oidc_token_file_path")):
        return _federated_credential(identity, settings, discovery)
    if settings.get("client_id") and settings.get("secret"):
        return identity.ClientSecretCredential(_tenant(settings, "A service principal login"), settings["client_id"],
                                               settings["secret"], **discovery)
    if settings.get("client_id") and settings.get("x509_certificate_path"):
        return _certificate_credential(identity, settings, discovery)
    if settings.get("ad_user") and settings.get("password"):
        return identity.UsernamePasswordCredential(
            settings.get("client_id") or AZURE_CLI_CLIENT_ID, settings["ad_user"], settings["password"],
            tenant_id=settings.get("tenant") or "organizations", **discovery)
    raise AzureAuthError(
        "No usable Azure credentials from %s: give client_id, secret and tenant (AZURE_CLIENT_ID, AZURE_SECRET, "
        "AZURE_TENANT), or client_id, tenant and x509_certificate_path (AZURE_CLIENT_CERTIFICATE_PATH), or client_id, "
        "tenant and oidc_token_file_path (AZURE_FEDERATED_TOKEN_FILE), or ad_user and password, or a profile, or log "
        "in with the Azure CLI." % source)


def _tenant(settings, what):
    if not settings.get("tenant"):
        raise AzureAuthError("%s needs the tenant (option tenant, or AZURE_TENANT or AZURE_TENANT_ID)." % what)
    return settings["tenant"]


def _federated_credential(identity, settings, options):
    """Workload identity: a federated token (a file the platform refreshes, or the token itself)."""
    tenant = _tenant(settings, "A workload identity login")
    if settings.get("oidc_token"):
        token = settings["oidc_token"]
        return identity.ClientAssertionCredential(tenant, settings["client_id"], lambda: token, **options)
    path = settings["oidc_token_file_path"]
    if not os.path.isfile(path):
        raise AzureAuthError("The federated token file %s (oidc_token_file_path or AZURE_FEDERATED_TOKEN_FILE) does not "
                             "exist." % path)
    # the credential reads the file again for each token, so a token the kubelet rotated is picked up
    return identity.WorkloadIdentityCredential(tenant_id=tenant, client_id=settings["client_id"], token_file_path=path,
                                               **options)


def _certificate_credential(identity, settings, options):
    """A service principal whose key signs the client assertion (PEM with the key, or PKCS#12)."""
    tenant = _tenant(settings, "A certificate service principal login")
    path = settings["x509_certificate_path"]
    if not os.path.isfile(path):
        raise AzureAuthError("The certificate %s (x509_certificate_path or AZURE_CLIENT_CERTIFICATE_PATH) does not exist."
                             % path)
    password = settings.get("x509_certificate_password") or None
    try:
        return identity.CertificateCredential(tenant, settings["client_id"], path, password=password, **options)
    except (ValueError, TypeError) as exc:
        # cryptography's messages name the problem, never the password
        raise AzureAuthError("Could not load the private key of %s (x509_certificate_path): %s. It must hold the private "
                             "key and the certificate (PEM or PKCS#12); give x509_certificate_password "
                             "(AZURE_CLIENT_CERTIFICATE_PASSWORD) when the key is encrypted." % (path, exc))


def cli_subscription(run_command):
    """The Azure CLI's default subscription id, or None. ``run_command`` is AnsibleModule's."""
    rc, out, dummy = run_command(["az", "account", "show", "--output", "json"])
    if rc != 0:
        return None
    try:
        return json.loads(out).get("id")
    except ValueError:
        return None
