# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure authentication options shared by the aks_* modules."""

from __future__ import annotations


class ModuleDocFragment(object):  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  auth_source:
    description:
      - Where to take the credentials from.
      - V(auto) uses, in this order, the O(profile), O(client_id) or O(ad_user) options; the C(AZURE_*)
        environment variables; the C(default) profile of C(~/.azure/credentials); the Azure CLI login
        (when C(az) is installed); a managed identity.
      - Can also be set with the E(ANSIBLE_AZURE_AUTH_SOURCE) environment variable.
    type: str
    choices: [auto, cli, env, credential_file, msi]
  profile:
    description:
      - A profile (section) of C(~/.azure/credentials) to read the credentials from.
      - Can also be set with E(AZURE_PROFILE).
    type: str
  subscription_id:
    description:
      - The Azure subscription.
      - Can also be set with E(AZURE_SUBSCRIPTION_ID); with O(auth_source=cli) the CLI's default
        subscription is used when neither is set.
    type: str
  client_id:
    description:
      - Service principal (application) id, or the client id of a user-assigned managed identity.
      - Can also be set with E(AZURE_CLIENT_ID).
    type: str
  secret:
    description:
      - Service principal secret.
      - Can also be set with E(AZURE_SECRET) (what AWX injects) or E(AZURE_CLIENT_SECRET).
    type: str
  tenant:
    description:
      - Microsoft Entra tenant id of the service principal or user.
      - Can also be set with E(AZURE_TENANT) (what AWX injects) or E(AZURE_TENANT_ID).
    type: str
  x509_certificate_path:
    description:
      - A service principal's certificate, to sign in with it instead of a O(secret).
      - A PEM file holding the private key followed by the certificate (or a PKCS#12 file).
      - Can also be set with E(AZURE_X509_CERTIFICATE_PATH) (azure.azcollection's name) or
        E(AZURE_CLIENT_CERTIFICATE_PATH) (azure-identity's).
    type: path
    version_added: 1.1.0
  x509_certificate_password:
    description:
      - Password of the private key in O(x509_certificate_path), when it is encrypted.
      - Can also be set with E(AZURE_CLIENT_CERTIFICATE_PASSWORD); an empty value means no password.
    type: str
    version_added: 1.1.0
  thumbprint:
    description:
      - Accepted for compatibility with azure.azcollection, which requires it with O(x509_certificate_path).
        The thumbprint is always computed from the certificate itself.
      - Can also be set with E(AZURE_THUMBPRINT).
    type: str
    version_added: 1.1.0
  oidc_token:
    description:
      - A federated token (JWT) from an OpenID Connect issuer that the app registration or user-assigned
        identity trusts (workload identity federation), exchanged for an Azure token. Needs O(client_id)
        and O(tenant).
      - Can also be set with E(AZURE_FEDERATED_TOKEN).
    type: str
    version_added: 1.1.0
  oidc_token_file_path:
    description:
      - A file holding the federated token, read again for every token request (the platform refreshes it).
        This is how AKS workload identity works; its webhook sets E(AZURE_FEDERATED_TOKEN_FILE),
        E(AZURE_CLIENT_ID) and E(AZURE_TENANT_ID) in the pod.
      - Takes precedence over O(secret) and O(x509_certificate_path), as in azure.azcollection.
      - Can also be set with E(AZURE_FEDERATED_TOKEN_FILE).
    type: path
    version_added: 1.1.0
  ad_user:
    description:
      - User name for a user/password login.
      - Can also be set with E(AZURE_AD_USER).
    type: str
  password:
    description:
      - Password for O(ad_user).
      - Can also be set with E(AZURE_PASSWORD).
    type: str
  cloud_environment:
    description:
      - The Azure cloud, one of V(AzureCloud), V(AzureChinaCloud), V(AzureUSGovernment), or the https URL of an
        ARM cloud metadata endpoint (for example
        C(https://management.example.com/metadata/endpoints?api-version=2022-09-01)), from which the
        Resource Manager endpoint, the login endpoint and the token audience are read. This is how
        sovereign clouds and Azure Stack Hub are targeted.
      - Can also be set with E(AZURE_CLOUD_ENVIRONMENT). Defaults to V(AzureCloud).
    type: str
  cert_validation_mode:
    description:
      - V(validate) checks TLS certificates against the system CA store, or against the bundle named by
        E(REQUESTS_CA_BUNDLE) when set. V(ignore) turns the check off; use it only for lab endpoints.
      - Can also be set with E(AZURE_CERT_VALIDATION_MODE). Defaults to V(validate).
    type: str
    choices: [validate, ignore]
  disable_instance_discovery:
    description:
      - Skip Microsoft Entra instance discovery when requesting tokens.
      - When not set, discovery is skipped for login endpoints other than the public, China and US
        Government ones (Azure Stack Hub, ADFS and private clouds), where it cannot succeed.
      - Can also be set with E(AZURE_DISABLE_INSTANCE_DISCOVERY).
    type: bool
requirements:
  - python >= 3.10
  - azure-identity
  - azure-mgmt-core
notes:
  - Options and environment variables follow C(azure.azcollection), so the AWX/Automation Platform
    "Microsoft Azure Resource Manager" credential works unchanged.
  - Throttling (HTTP 429) and transient server errors are retried with exponential backoff that honours
    the C(Retry-After) header; long-running operations are polled at the interval Azure asks for.
seealso:
  - name: Azure CNI Powered by Cilium
    description: How AKS runs Cilium as the network data plane.
    link: https://learn.microsoft.com/azure/aks/azure-cni-powered-by-cilium
"""
