# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one wrapper every ``aks_*`` module uses to reach Azure Resource Manager.

It owns the AnsibleModule, the credential, the cloud and one Api per task, all created lazily. Calls work
on raw JSON (``_azure.rest``): reads go out through _azure.reads, writes and long-running operations
through azure-core's pipeline (the one the SDK clients use); updates merge onto exactly what Azure
returned, so fields this collection does not model are never reset.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import importlib.util
import os
import time

from ansible_collections.azcni.cilium.plugins.module_utils._azure.auth import (
    AZURE_AUTH_ARGS, AzureAuthError, build_credential, cli_subscription, resolve_cloud, resolve_settings, scope_for)
from ansible_collections.azcni.cilium.plugins.module_utils._azure.errors import AzureError, to_azure_error
from ansible_collections.azcni.cilium.plugins.module_utils._azure.rest import Api
from ansible_collections.azcni.cilium.plugins.module_utils._azure.names import location_problem
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


TASK_SECONDS = 600  # the time budget of a task without wait_timeout
TLS_OFF_WARNING = ("TLS verification of Azure endpoints is off (cert_validation_mode: ignore): anyone on the path can "
                   "read and change what this task sends, including its credentials.")


def deadline_retry_policy(deadline, **settings):
    """azure-core's RetryPolicy, but no sleep (Retry-After or backoff) reaches past ``deadline``.

    azure-core sleeps exactly what Retry-After says: one ``Retry-After: 45`` would hold a task with
    ``wait_timeout: 10`` for 45 s. Past the deadline the last answer is what the task reports.
    """
    from azure.core.pipeline.policies import RetryPolicy

    class DeadlineRetryPolicy(RetryPolicy):
        def _left(self):
            return max(0.0, deadline - time.monotonic())

        def get_retry_after(self, response):
            value = super(DeadlineRetryPolicy, self).get_retry_after(response)
            return None if value is None else min(value, self._left())

        def get_backoff_time(self, settings):
            return min(super(DeadlineRetryPolicy, self).get_backoff_time(settings), self._left())

        def increment(self, settings, response=None, error=None):
            if self._left() <= 0:
                return False  # out of time: the answer at hand is final
            return super(DeadlineRetryPolicy, self).increment(settings, response=response, error=error)

    return DeadlineRetryPolicy(**settings)


def core_version():
    """azure-core's version, read from its ``_version.py``: importing the package loads its whole pipeline."""
    import re

    try:
        spec = importlib.util.find_spec("azure.core")
        with open(os.path.join(list(spec.submodule_search_locations)[0], "_version.py"), encoding="utf-8") as stream:
            return re.search(r"VERSION\s*=\s*[\"']([^\"']+)", stream.read()).group(1)
    except (ImportError, ValueError, AttributeError, IndexError, TypeError, OSError):
        return "unknown"


def sdk_user_agent():
    """azure-core's default User-Agent, without the ``uname -p`` subprocess its ``platform.platform()`` starts
    (tens of milliseconds, on every task): the platform part comes from ``os.uname()``."""
    import platform

    return "azsdk-python-core/%s Python/%s (%s-%s-%s)" % (core_version(), platform.python_version(), platform.system(),
                                                          platform.release(), platform.machine())


def user_agent():
    """What azure-core's UserAgentPolicy sends for our pipeline: ours, azure-core's, then AZURE_HTTP_USER_AGENT."""
    agent = "%s %s" % (USER_AGENT, sdk_user_agent())
    extra = os.environ.get("AZURE_HTTP_USER_AGENT")
    return "%s %s" % (agent, extra) if extra is not None else agent


def pipeline_client(credential, cloud, transport, deadline=None):
    """azure-core's pipeline as the SDK clients build it: retries, bearer token (with CAE challenges),
    ARM's provider registration, over ``transport`` (_azure.core_transport); see _azure.policies for why
    azure-mgmt-core's policies are not imported up front."""
    from azure.core import PipelineClient
    from azure.core.pipeline import policies

    from ansible_collections.azcni.cilium.plugins.module_utils._azure.policies import ProviderRegistrationPolicy

    retry = dict((key, value) for key, value in CLIENT_SETTINGS.items() if key.startswith("retry_"))
    pipeline = [policies.RequestIdPolicy(), policies.HeadersPolicy(),
                policies.UserAgentPolicy(base_user_agent=sdk_user_agent(), user_agent=USER_AGENT),
                ProviderRegistrationPolicy(),
                deadline_retry_policy(deadline, **retry) if deadline else policies.RetryPolicy(**retry),
                policies.BearerTokenCredentialPolicy(credential, scope_for(cloud))]
    return PipelineClient(cloud.resource_manager, policies=pipeline, transport=transport)


def arm_api(sender, credential, cloud, subscription, deadline=None):
    """The ARM operations (_azure.rest) for one subscription: reads over ``sender`` (_azure.transport), the
    rest through azure-core's pipeline on the same connections, built when first needed.
    (Also what the aks_clusters inventory plugin reads with, outside any module.)"""
    from ansible_collections.azcni.cilium.plugins.module_utils._azure.reads import Reads

    def pipeline():
        from ansible_collections.azcni.cilium.plugins.module_utils._azure.core_transport import transport_for

        return pipeline_client(credential, cloud, transport_for(sender), deadline)

    reads = Reads(sender, credential, scope_for(cloud), user_agent(), CLIENT_SETTINGS, deadline)
    return Api(reads, pipeline, cloud.resource_manager, subscription, CLIENT_SETTINGS["polling_interval"])


class AzureModule(ModuleBase):
    """AnsibleModule plus lazily built Azure credential, cloud and SDK clients."""

    def __init__(self, argument_spec, supports_check_mode=True, **kwargs):
        error, pip_name = _missing_library()
        super(AzureModule, self).__init__(AZURE_AUTH_ARGS, argument_spec, (error, pip_name, None), supports_check_mode, **kwargs)
        self._settings = None
        self._cloud = None
        self._credential = None
        self._api = None
        self._sender = None
        self.started = time.monotonic()
        self.stored = []  # the writes Azure accepted in this task, in order: changed is true once there is one
        timeout = self.params.get("wait_timeout")
        if timeout is not None and timeout <= 0:
            self.fail_json(msg="wait_timeout must be a positive number of seconds, got %s" % timeout)

    @property
    def deadline(self):
        """The task's time budget (time.monotonic()): its wait_timeout, or TASK_SECONDS."""
        return self.started + (self.params.get("wait_timeout") or TASK_SECONDS)

    def accepted(self, what):
        """Record a write Azure accepted (stored), whatever happens after it."""
        self.stored.append(what)

    def fail_json(self, **kwargs):
        """Every failure tells whether a write was stored before it (failed and changed together)."""
        kwargs.setdefault("changed", bool(self.stored))
        if self.stored:
            kwargs.setdefault("stored_operations", list(self.stored))
        super(AzureModule, self).fail_json(**kwargs)

    def fail_azure(self, exc, msg, **kwargs):
        """Fail with ``msg`` followed by ARM's error code and message."""
        self.fail_json(msg="%s: %s" % (msg, exc), error_code=exc.code, error_message=exc.message,
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
                self._cloud = resolve_cloud(self.settings.get("cloud_environment"), self.verify, self.sender)
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
    def sender(self):
        """What the task sends with (_azure.transport): metadata, Entra ID and ARM share its connections and cache."""
        if self._sender is None:
            from ansible_collections.azcni.cilium.plugins.module_utils._azure.transport import new_sender

            self._sender = new_sender(self.verify)
        return self._sender

    @property
    def credential(self):
        if self._credential is None:
            try:
                self._credential = build_credential(self.settings, self.cloud, self.verify, self.sender)
            except AzureAuthError as exc:
                self.fail_json(msg=str(exc))
        return self._credential

    def client(self, kind):
        """The ARM operations (``.managed_clusters.get``...) of ``kind``: one Api per task serves all kinds."""
        if kind not in CLIENTS:
            raise ValueError("unknown Azure client %r" % kind)
        if self._api is None:
            if not self.verify:
                self.warn(TLS_OFF_WARNING)  # one Api per task: warned once per task
            self._api = arm_api(self.sender, self.credential, self.cloud, self.subscription_id, self.deadline)
        return self._api

    # --- calls on raw JSON -----------------------------------------------------------------------
    @staticmethod
    def _invoke(operation, args, body, query=None):
        extra = dict((key, value) for key, value in (("body", body), ("query", query)) if value is not None)
        return operation(*args, **extra)  # _azure.rest raises AzureError whichever path the call took

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

    def check_names(self, problems, location=None):
        """Fail before any write when Azure's naming rules or the subscription's locations refuse the input.

        ``problems``: the results of _azure.names checks (None for a name that is fine). ``location`` is
        checked against GET /subscriptions/{id}/locations (a read).
        """
        problems = [p for p in problems if p]
        if location and not problems:
            try:
                available = self.list(self.client("resources").subscriptions.list_locations)
            except AzureError as exc:
                self.warn("Could not list the subscription's locations (%s); location %s was not checked." % (exc, location))
                available = None
            problems = [p for p in [location_problem("location", location, available)] if p]
        if problems:
            self.fail_json(msg="Invalid input, nothing was sent: " + "; ".join(problems), problems=problems)

    def list(self, operation, *args, **kwargs):
        """Every item of a paged list operation, as ARM sent them (``query``: e.g. ``{"$filter": ...}``)."""
        return self._invoke(operation, args, None, kwargs.get("query"))

    def wait(self, poller, timeout=None, what="operation"):
        """Wait for a poller; the final JSON. Polls at the interval the service asks for.

        ``timeout`` defaults to the module's ``wait_timeout`` option. On timeout the task fails and
        says the operation goes on in Azure, because it does: ARM operations cannot be cancelled.
        """
        from azure.core import exceptions

        limit = timeout
        if timeout is None:  # what is left of the task's wait_timeout: all its waits share it
            limit = self.params.get("wait_timeout") or TASK_SECONDS
            timeout = max(1.0, self.deadline - time.monotonic())
        started = time.monotonic()
        try:
            poller.wait(timeout=timeout)
            if not poller.done():
                self.fail_json(msg="Timed out after %d s waiting for %s; the operation continues in Azure, run the "
                                   "task again to wait for it." % (limit, what),
                               elapsed=round(time.monotonic() - started, 1))
            return poller.result()
        except exceptions.AzureError as exc:
            raise to_azure_error(exc)
