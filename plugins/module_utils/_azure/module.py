# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one wrapper every ``aks_*`` module uses to reach Azure Resource Manager.

It owns the AnsibleModule, the credential, the cloud and one SDK client per kind, all created lazily.
Calls go through the real Azure SDK clients but return the raw JSON ARM sent: updates merge onto
exactly what Azure returned, so fields this collection does not model are never reset.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import importlib.util
import json
import time

from ansible_collections.azcni.cilium.plugins.module_utils._azure.auth import (
    AZURE_AUTH_ARGS, AzureAuthError, build_credential, cli_subscription, resolve_cloud, resolve_settings, scope_for)
from ansible_collections.azcni.cilium.plugins.module_utils._azure.rest import Api
from ansible_collections.azcni.cilium.plugins.module_utils._azure.session import new_session
from ansible_collections.azcni.cilium.plugins.module_utils._common import ModuleBase


def _missing_library():
    """(error, pip name) for the first library this layer needs that is not installed; found without
    importing it, since importing azure-identity alone costs more than a whole Ansible task."""
    for module_name, pip_name in (("azure.core", "azure-core"), ("azure.mgmt.core", "azure-mgmt-core"),
                                  ("azure.identity", "azure-identity")):
        try:
            found = importlib.util.find_spec(module_name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return ImportError("No module named %r" % module_name), pip_name
    return None, None


# The resource providers of _azure.rest's table, by the names the modules ask for them.
CLIENTS = ("containerservice", "network", "resources")

# azure-core's RetryPolicy retries 408/429/500/502/503/504 with exponential backoff and sleeps exactly
# what a Retry-After header asks for. These bound it; polling_interval only applies when an LRO
# response carries no Retry-After (real AKS sends none).
CLIENT_SETTINGS = dict(retry_total=6, retry_status=4, retry_backoff_factor=0.8, retry_backoff_max=60,
                       polling_interval=15)
USER_AGENT = "azcni.cilium/1.1.0"


class AzureError(Exception):
    """An ARM error, with the code and message ARM sent."""

    def __init__(self, message, code=None, status=None, target=None, details=None):
        super(AzureError, self).__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.target = target
        self.details = details or []

    def __str__(self):
        return "%s: %s" % (self.code, self.message) if self.code else self.message


def _response_json(http_response):
    if http_response is None:
        return None
    try:
        text = http_response.text()
    except Exception:  # pylint: disable=broad-except
        return None
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def to_azure_error(exc):
    """Convert an azure-core exception into an AzureError carrying ARM's code and message."""
    from azure.core import exceptions

    if isinstance(exc, exceptions.ClientAuthenticationError):
        return AzureError("Authentication failed: %s" % (exc.message or exc), code="AuthenticationFailed",
                          status=getattr(exc, "status_code", None))
    if isinstance(exc, exceptions.HttpResponseError):
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None)
        message = getattr(error, "message", None)
        if not code:
            body = _response_json(getattr(exc, "response", None)) or {}
            envelope = body.get("error") if isinstance(body, dict) else None
            if isinstance(envelope, dict):
                code, message = envelope.get("code"), envelope.get("message")
        details = [dict(code=getattr(d, "code", None), message=getattr(d, "message", None))
                   for d in (getattr(error, "details", None) or [])]
        return AzureError(message or exc.message or str(exc), code=code, status=exc.status_code,
                          target=getattr(error, "target", None), details=details)
    return AzureError(str(exc), code=type(exc).__name__)


def pipeline_client(credential, cloud, session, verify=True):
    """azure-core's pipeline as the SDK clients build it: retries, bearer token, ARM's provider
    registration and logging policies, TLS verified against REQUESTS_CA_BUNDLE or the system store.
    (Also what the aks_clusters inventory plugin sends through, outside any module.)"""
    from azure.core import PipelineClient
    from azure.core.pipeline import policies
    from azure.core.pipeline.transport import RequestsTransport
    from azure.mgmt.core.policies import ARMAutoResourceProviderRegistrationPolicy, ARMChallengeAuthenticationPolicy
    from azure.mgmt.core.policies import ARMHttpLoggingPolicy

    retry = dict((key, value) for key, value in CLIENT_SETTINGS.items() if key.startswith("retry_"))
    pipeline = [policies.RequestIdPolicy(), policies.HeadersPolicy(), policies.UserAgentPolicy(user_agent=USER_AGENT),
                ARMAutoResourceProviderRegistrationPolicy(), policies.RetryPolicy(**retry),
                ARMChallengeAuthenticationPolicy(credential, scope_for(cloud)), ARMHttpLoggingPolicy()]
    return PipelineClient(cloud.resource_manager, policies=pipeline,
                          transport=RequestsTransport(session=session, session_owner=False, connection_verify=verify))


class AzureModule(ModuleBase):
    """AnsibleModule plus lazily built Azure credential, cloud and SDK clients."""

    def __init__(self, argument_spec, supports_check_mode=True, **kwargs):
        error, pip_name = _missing_library()
        super(AzureModule, self).__init__(AZURE_AUTH_ARGS, argument_spec, (error, pip_name, None), supports_check_mode, **kwargs)
        self._settings = None
        self._cloud = None
        self._credential = None
        self._api = None
        self._session = None

    def fail_azure(self, exc, msg, **kwargs):
        """Fail with ``msg`` followed by ARM's error code and message."""
        self.module.fail_json(msg="%s: %s" % (msg, exc), error_code=exc.code, error_message=exc.message,
                              status_code=exc.status, **kwargs)

    # --- authentication and clients --------------------------------------------------------------
    @property
    def verify(self):
        return self.settings.get("cert_validation_mode", "validate") != "ignore"

    @property
    def settings(self):
        if self._settings is None:
            try:
                self._settings = resolve_settings(self.params)
            except AzureAuthError as exc:
                self.fail_json(msg=str(exc))
        return self._settings

    @property
    def cloud(self):
        if self._cloud is None:
            try:
                self._cloud = resolve_cloud(self.settings.get("cloud_environment"), self.verify, self.session)
            except AzureAuthError as exc:
                self.fail_json(msg=str(exc))
        return self._cloud

    @property
    def subscription_id(self):
        subscription = self.settings.get("subscription_id")
        if not subscription and self.settings["source"] == "cli":
            subscription = cli_subscription(self.module.run_command)
        if not subscription:
            self.fail_json(msg="No Azure subscription: set subscription_id (or AZURE_SUBSCRIPTION_ID).")
        return subscription

    @property
    def session(self):
        """One HTTP session for the task: metadata, Entra ID and ARM share its connections and cache."""
        if self._session is None:
            self._session = new_session(self.verify)
        return self._session

    @property
    def credential(self):
        if self._credential is None:
            try:
                self._credential = build_credential(self.settings, self.cloud, self.verify, self.session)
            except AzureAuthError as exc:
                self.fail_json(msg=str(exc))
        return self._credential

    def client(self, kind):
        """The ARM operations (``.managed_clusters.get``...) of ``kind``: one pipeline per task serves all kinds."""
        if kind not in CLIENTS:
            raise ValueError("unknown Azure client %r" % kind)
        if self._api is None:
            self._api = Api(self._pipeline_client(), self.subscription_id, CLIENT_SETTINGS["polling_interval"])
        return self._api

    def _pipeline_client(self):
        return pipeline_client(self.credential, self.cloud, self.session, self.verify)

    # --- calls on raw JSON -----------------------------------------------------------------------
    @staticmethod
    def _invoke(operation, args, body, query=None):
        from azure.core import exceptions

        extra = dict((key, value) for key, value in (("body", body), ("query", query)) if value is not None)
        try:
            return operation(*args, **extra)
        except exceptions.AzureError as exc:
            raise to_azure_error(exc)

    def get(self, operation, *args):
        """Call a GET operation; the JSON body, or None when ARM answers 404."""
        try:
            return self._invoke(operation, args, None)
        except AzureError as exc:
            if exc.status == 404:
                return None
            raise

    def call(self, operation, *args, **kwargs):
        """Call an operation (``body`` sent as JSON): the JSON response, or for a long-running
        operation (``begin_*``) the SDK poller to ``wait`` on."""
        return self._invoke(operation, args, kwargs.get("body"))

    def list(self, operation, *args, **kwargs):
        """Every item of a paged list operation, as ARM sent them (``query``: e.g. ``{"$filter": ...}``)."""
        return self._invoke(operation, args, None, kwargs.get("query"))

    def wait(self, poller, timeout=None, what="operation"):
        """Wait for a poller; the final JSON. Polls at the interval the service asks for.

        ``timeout`` defaults to the module's ``wait_timeout`` option. On timeout the task fails and
        says the operation goes on in Azure, because it does: ARM operations cannot be cancelled.
        """
        from azure.core import exceptions

        if timeout is None:
            timeout = self.params.get("wait_timeout") or 1800
        started = time.monotonic()
        try:
            poller.wait(timeout=timeout)
            if not poller.done():
                self.fail_json(msg="Timed out after %d s waiting for %s; the operation continues in Azure, run the "
                                   "task again to wait for it." % (timeout, what),
                               elapsed=round(time.monotonic() - started, 1))
            return poller.result()
        except exceptions.AzureError as exc:
            raise to_azure_error(exc)
