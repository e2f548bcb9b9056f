# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small ARM client for the e2e fixtures: raw JSON at a fixed API version per call, plain dicts back.

The fixtures set up starting points (a legacy cluster, a VNet with an NSG...) and read results. Through
the generated SDK clients their wire format and result shapes would depend on which SDK release is
installed (azure.azcollection pins an older one than the newest; models drop fields they do not know),
so the e2e suite could not run beside those pins. This client sends exactly the JSON a test writes, at
the API versions the product pins, and polls long-running operations as ARM's async protocol says
(Azure-AsyncOperation, then Location, then the resource's provisioningState).

Authentication is azure-identity's ClientSecretCredential against the emulator's token endpoint, found
through its cloud metadata, as a user's script would do it. Independent of the product's own ARM code
(plugins/module_utils/_azure/rest.py) on purpose: a bug there must not hide in the fixtures.
"""

from __future__ import annotations

import base64
import time

import requests

# the product's pins (plugins/module_utils/_azure/rest.py); test_api_versions checks the product sends them
CONTAINER_SERVICE = "2026-08-01"
NETWORK = "2026-03-01"
RESOURCES = "2025-04-01"

TERMINAL = ("succeeded", "failed", "canceled")


class ArmError(Exception):
    """An ARM error response (or a failed long-running operation): status code and ARM error code."""

    def __init__(self, status_code, code, message):
        super().__init__("%s %s: %s" % (status_code, code, message))
        self.status_code, self.code, self.message = status_code, code, message


def _raise_for(response):
    if response.status_code < 400:
        return
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    raise ArmError(response.status_code, error.get("code"), error.get("message", response.text[:500]))


class Operation(object):
    """A long-running operation started by PUT or DELETE; ``result()`` polls it to the end."""

    def __init__(self, arm, method, url, response, timeout=600):
        self.arm, self.method, self.url, self.response, self.timeout = arm, method, url, response, timeout

    def _pause(self, response):
        retry_after = response.headers.get("Retry-After", "")
        time.sleep(int(retry_after) if retry_after.isdigit() and int(retry_after) > 0 else self.arm.polling_interval)

    def _until_done(self, url, done):
        """GET ``url`` until ``done(response)`` says so; the first poll is immediate, as azure-core's."""
        deadline = time.monotonic() + self.timeout
        while True:
            response = self.arm.session.get(url, headers=self.arm.headers(), verify=self.arm.verify, timeout=60)
            _raise_for(response)
            if done(response):
                return response
            if time.monotonic() > deadline:
                raise TimeoutError("%s %s still running after %ss" % (self.method, self.url, self.timeout))
            self._pause(response)

    def result(self):
        """The final resource (PUT) or None (DELETE); ArmError when the operation failed or was canceled."""
        first, headers = self.response, self.response.headers
        if "Azure-AsyncOperation" in headers:
            status = self._until_done(headers["Azure-AsyncOperation"],
                                      lambda r: (r.json().get("status") or "").lower() in TERMINAL).json()
            if status["status"].lower() != "succeeded":
                error = status.get("error") or {}
                raise ArmError(200, error.get("code", status["status"]), error.get("message", "operation failed"))
            return self.arm.request("GET", self.url) if self.method == "PUT" else None
        if "Location" in headers:
            final = self._until_done(headers["Location"], lambda r: r.status_code != 202)
            return final.json() if final.content else None
        if self.method == "DELETE" or not first.content:
            return None
        body = first.json()
        state = (body.get("properties") or {}).get("provisioningState")
        if state is None and first.status_code == 200 or (state or "").lower() in TERMINAL:
            final = body
        else:
            final = self._until_done(self.url, lambda r: (
                (r.json().get("properties") or {}).get("provisioningState", "Succeeded").lower() in TERMINAL)).json()
        state = (final.get("properties") or {}).get("provisioningState", "Succeeded")
        if state.lower() != "succeeded":
            raise ArmError(200, state, "provisioningState %s" % state)
        return final


class Arm(object):
    """ARM of the emulator for one subscription; every call names its API version."""

    def __init__(self, emulator, polling_interval=1):
        from azure.identity import ClientSecretCredential  # pylint: disable=import-outside-toplevel

        env = emulator.env
        self.session = requests.Session()
        self.verify = emulator.ca_path  # per call: requests lets REQUESTS_CA_BUNDLE override a session's verify
        metadata = self.session.get(env["AZURE_CLOUD_ENVIRONMENT"], verify=self.verify, timeout=30).json()
        self.base_url = metadata["resourceManager"].rstrip("/")
        self.scope = metadata["authentication"]["audiences"][0].rstrip("/") + "/.default"
        self.credential = ClientSecretCredential(env["AZURE_TENANT"], env["AZURE_CLIENT_ID"], env["AZURE_SECRET"],
                                                 authority=metadata["authentication"]["loginEndpoint"],
                                                 disable_instance_discovery=True, connection_verify=emulator.ca_path)
        self.subscription = env["AZURE_SUBSCRIPTION_ID"]
        self.polling_interval = polling_interval

    def headers(self):
        return {"Authorization": "Bearer " + self.credential.get_token(self.scope).token, "Accept": "application/json"}

    def url(self, path):
        return self.base_url + "/subscriptions/" + self.subscription + path

    def _send(self, method, path, body=None):
        url = path if path.startswith("https://") else self.url(path)
        response = self.session.request(method, url, params={"api-version": _api_version(url)}, json=body,
                                        headers=self.headers(), verify=self.verify, timeout=60)
        _raise_for(response)
        return url, response

    def request(self, method, path, body=None):
        """One synchronous call; the JSON body of the answer (None when empty). ``path`` is below the
        subscription (``/resourceGroups/...``) or a full URL."""
        _url, response = self._send(method, path, body)
        return response.json() if response.content else None

    def begin(self, method, path, body=None):
        """Start a long-running PUT or DELETE; returns its Operation."""
        url, response = self._send(method, path, body)
        return Operation(self, method, url, response)

    # --- resources the fixtures use --------------------------------------------------------------
    def create_group(self, group, location="westeurope"):
        return self.request("PUT", "/resourcegroups/%s" % group, {"location": location})

    def delete_group(self, group):
        """Start deleting a resource group (not waited for)."""
        return self.begin("DELETE", "/resourcegroups/%s" % group)

    def cluster_path(self, group, name):
        return "/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/%s" % (group, name)

    def cluster(self, group, name):
        return self.request("GET", self.cluster_path(group, name))

    def create_cluster(self, group, name, body, wait=True):
        """PUT a managed cluster exactly as ``body`` says; the stored cluster, or the Operation when not waiting."""
        operation = self.begin("PUT", self.cluster_path(group, name), body)
        return operation.result() if wait else operation

    def delete_cluster(self, group, name, wait=True):
        operation = self.begin("DELETE", self.cluster_path(group, name))
        return operation.result() if wait else operation

    def kubeconfig(self, group, name, admin=True):
        """The text of the cluster's first kubeconfig (listClusterAdminCredential or ...UserCredential)."""
        action = "listClusterAdminCredential" if admin else "listClusterUserCredential"
        listed = self.request("POST", self.cluster_path(group, name) + "/" + action)
        return base64.b64decode(listed["kubeconfigs"][0]["value"]).decode("utf-8")

    def create_network(self, group, kind, name, body):
        """PUT a Microsoft.Network resource (virtualNetworks, networkSecurityGroups...) and wait for it."""
        return self.begin("PUT", "/resourceGroups/%s/providers/Microsoft.Network/%s/%s" % (group, kind, name), body).result()


def _api_version(url):
    """The pinned API version of the provider a URL is under (resource groups: Microsoft.Resources)."""
    lowered = url.lower()
    if "/providers/microsoft.containerservice/" in lowered:
        return CONTAINER_SERVICE
    if "/providers/microsoft.network/" in lowered:
        return NETWORK
    return RESOURCES
