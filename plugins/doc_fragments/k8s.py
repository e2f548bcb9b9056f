# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes connection options shared by the cilium_* modules (same names as kubernetes.core)."""

from __future__ import annotations


class ModuleDocFragment(object):  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig as a dictionary.
      - When neither this, O(context) nor O(host) with credentials is given, the in-cluster service account
        is tried, then E(KUBECONFIG) or C(~/.kube/config).
      - Can also be set with E(K8S_AUTH_KUBECONFIG).
    type: raw
  context:
    description:
      - The kubeconfig context to use. Can also be set with E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description:
      - URL of the API server. With O(api_key) or O(client_cert) no kubeconfig is read.
      - Can also be set with E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token for the API server. Can also be set with E(K8S_AUTH_API_KEY).
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate. Verification is on unless the kubeconfig
        turns it off.
      - Can also be set with E(K8S_AUTH_VALIDATE_CERTS) or E(K8S_AUTH_VERIFY_SSL).
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - Path to the CA certificate that signed the API server's certificate.
      - Can also be set with E(K8S_AUTH_CA_CERT) or E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Path to a client certificate. Can also be set with E(K8S_AUTH_CLIENT_CERT) or E(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path to the key of O(client_cert). Can also be set with E(K8S_AUTH_CLIENT_KEY) or E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
  proxy:
    description:
      - HTTP proxy URL for the API server. Can also be set with E(K8S_AUTH_PROXY).
    type: str
  no_proxy:
    description:
      - Comma-separated hosts, domains, IP addresses and CIDRs that are reached without the O(proxy), for
        example C(localhost,.internal.example.com,10.0.0.0/8). Can also be set with E(K8S_AUTH_NO_PROXY).
      - As in kubernetes.core, the usual E(NO_PROXY) variable of the environment is not read.
    type: str
    version_added: 1.1.0
  proxy_headers:
    description:
      - Headers sent to the O(proxy) when the connection to the API server is set up.
    type: dict
    version_added: 1.1.0
    suboptions:
      proxy_basic_auth:
        description:
          - Colon-separated C(username:password) for the proxy's basic authentication header.
          - Can also be set with E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH).
        type: str
      basic_auth:
        description:
          - Colon-separated C(username:password) for a basic authentication header.
          - Can also be set with E(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH).
        type: str
      user_agent:
        description:
          - The user agent to send to the proxy, such as C(foo/1.0).
          - Can also be set with E(K8S_AUTH_PROXY_HEADERS_USER_AGENT).
        type: str
  impersonate_user:
    description:
      - User to impersonate. Can also be set with E(K8S_AUTH_IMPERSONATE_USER).
    type: str
requirements:
  - python >= 3.10
  - kubernetes
notes:
  - Options and environment variables follow C(kubernetes.core), so AWX's "OpenShift or Kubernetes API
    Bearer Token" credential (E(K8S_AUTH_HOST), E(K8S_AUTH_API_KEY), E(K8S_AUTH_VERIFY_SSL),
    E(K8S_AUTH_SSL_CA_CERT)) works unchanged.
  - Throttling (HTTP 429) is retried honouring C(Retry-After); conflicting updates (HTTP 409) and
    transient errors on reads are retried with jittered backoff.
"""
