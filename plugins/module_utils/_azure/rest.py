# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ARM operations this collection sends, as one table: reads through _azure.reads, the rest through
azure-core's pipeline.

Every call works on raw ARM JSON, so the generated SDK clients (and their model packages, which cost
up to two seconds to import) are not needed: azure-core sends, retries and polls writes, azure-mgmt-core
reads ARM's errors and long-running-operation headers. Each operation pins the ARM API version it
was written against, so the wire format never depends on which SDK release is installed.

``api.managed_clusters.get(rg, name)`` reads like the SDK call it replaces.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import json
from collections import namedtuple
from urllib.parse import quote, urlencode

from ansible_collections.azcni.cilium.plugins.module_utils._azure.errors import to_azure_error

Operation = namedtuple("Operation", "method path api_version lro paged")

CONTAINER_SERVICE = "2026-08-01"
NETWORK = "2026-03-01"
RESOURCES = "2025-04-01"
AUTHORIZATION = "2022-04-01"
MANAGED_IDENTITY = "2023-01-31"

_RG = "/subscriptions/{subscription}/resourceGroups/{0}"
_CLUSTERS = "/subscriptions/{subscription}/providers/Microsoft.ContainerService/managedClusters"
_CLUSTER = _RG + "/providers/Microsoft.ContainerService/managedClusters/{1}"
_POOL = _CLUSTER + "/agentPools/{2}"
_VNET = _RG + "/providers/Microsoft.Network/virtualNetworks/{1}"
_SUBNET = _VNET + "/subnets/{2}"
_NSG = _RG + "/providers/Microsoft.Network/networkSecurityGroups/{1}"
_GROUP = "/subscriptions/{subscription}/resourcegroups/{0}"  # the spelling azure-mgmt-resource sends
_ASSIGNMENTS = "{0}/providers/Microsoft.Authorization/roleAssignments"  # {0}: any scope, a resource ID


def _crud(path, api_version, create="begin_create_or_update", create_lro=True):
    return {"get": Operation("GET", path, api_version, False, False),
            create: Operation("PUT", path, api_version, create_lro, False),
            "begin_delete": Operation("DELETE", path, api_version, True, False)}


def _list(path, api_version):
    return Operation("GET", path, api_version, False, True)


OPERATIONS = {
    "managed_clusters": dict(
        _crud(_CLUSTER, CONTAINER_SERVICE),
        list=_list(_CLUSTERS, CONTAINER_SERVICE),
        list_by_resource_group=_list(_RG + "/providers/Microsoft.ContainerService/managedClusters", CONTAINER_SERVICE),
        list_cluster_user_credentials=Operation("POST", _CLUSTER + "/listClusterUserCredential", CONTAINER_SERVICE, False,
                                                False),
        list_cluster_admin_credentials=Operation("POST", _CLUSTER + "/listClusterAdminCredential", CONTAINER_SERVICE,
                                                 False, False),
    ),
    "agent_pools": dict(_crud(_POOL, CONTAINER_SERVICE), list=_list(_CLUSTER + "/agentPools", CONTAINER_SERVICE)),
    "virtual_networks": dict(_crud(_VNET, NETWORK), list_usage=_list(_VNET + "/usages", NETWORK)),
    "subnets": dict(_crud(_SUBNET, NETWORK), list=_list(_VNET + "/subnets", NETWORK)),
    "network_security_groups": {"get": Operation("GET", _NSG, NETWORK, False, False)},  # read by the WireGuard check
    "resource_groups": _crud(_GROUP, RESOURCES, create="create_or_update", create_lro=False),
    "role_assignments": dict(list_for_scope=_list(_ASSIGNMENTS, AUTHORIZATION),
                             create=Operation("PUT", _ASSIGNMENTS + "/{1}", AUTHORIZATION, False, False)),
    "user_assigned_identities": dict(get_by_id=Operation("GET", "{0}", MANAGED_IDENTITY, False, False)),
    "subscriptions": {"list_locations": _list("/subscriptions/{subscription}/locations", "2022-12-01")},
}


def raw_json(pipeline_response):
    text = pipeline_response.http_response.text()
    return json.loads(text) if text else None


class Call(object):
    """One operation bound to a pipeline: call it with the path arguments (and ``body``)."""

    def __init__(self, api, name, operation):
        self.api, self.name, self.operation = api, name, operation

    def url(self, args):
        path = self.operation.path.format(*args, subscription=self.api.subscription)
        return self.api.base_url.rstrip("/") + path

    def __call__(self, *args, **kwargs):
        return self.api.send(self, args, kwargs.get("body"), kwargs.get("query"))

    def __repr__(self):
        return "<ARM %s %s>" % (self.operation.method, self.name)


def is_read(operation):
    """GETs, and the POSTs that only read (listClusterUserCredential...): what _azure.reads sends."""
    last = operation.path.rsplit("/", 1)[-1]
    return operation.method == "GET" or (operation.method == "POST" and not operation.lro and last.startswith("list"))


def query_params(api_version, query=None):
    """The query of a call: its own parameters (``$filter``...) and the API version it pins."""
    return dict(query or {}, **({"api-version": api_version} if api_version else {}))


def with_query(url, api_version, query=None):
    params = query_params(api_version, query)
    return url + ("?" + urlencode(params, safe="$'(),", quote_via=quote) if params else "")


def all_items(page, next_page):
    """Every ``value`` item of a paged list, from its first page on (``next_page(nextLink)`` reads the next)."""
    items = []
    while True:
        page = page or {}
        items.extend(page.get("value") or [])
        if not page.get("nextLink"):
            return items
        page = next_page(page["nextLink"])


class Api(object):
    """The operations of OPERATIONS for one subscription: reads through ``reads`` (_azure.reads), everything
    else, and the reads ARM hands over (NeedsPipeline), through azure-core's pipeline, built on first use
    by ``pipeline()`` (a PipelineClient). Without ``reads`` every call takes the pipeline."""

    def __init__(self, reads, pipeline, base_url, subscription, polling_interval=15):
        self.reads = reads
        self._pipeline, self._client = pipeline, None
        self.base_url = base_url
        self.subscription = subscription
        self.polling_interval = polling_interval

    @property
    def client(self):
        if self._client is None:
            self._client = self._pipeline()
        return self._client

    def __getattr__(self, group):
        if group not in OPERATIONS:
            raise AttributeError(group)
        api = self
        return type("Operations", (), dict((name, Call(api, name, op)) for name, op in OPERATIONS[group].items()))()

    def send(self, call, args, body, query=None):
        """Run one call (``query``: more query parameters, e.g. ``$filter``): the JSON answer, every item
        of a paged list, or an LROPoller. Raises AzureError."""
        op = call.operation
        if self.reads is not None and is_read(op):
            from ansible_collections.azcni.cilium.plugins.module_utils._azure.reads import NeedsPipeline

            try:
                return self._read(op, with_query(call.url(args), op.api_version, query), body)
            except NeedsPipeline:
                pass  # a CAE challenge or an unregistered provider: azure-core's policies answer those
        from azure.core.exceptions import AzureError as CoreError

        try:
            response = self._run(self._request(op.method, call.url(args), op.api_version, body, query))
            if op.paged:
                return all_items(raw_json(response), lambda link: raw_json(self._run(self._request("GET", link, None, None))))
            if op.lro:
                return self._poller(response)
            return raw_json(response)
        except CoreError as exc:
            raise to_azure_error(exc)

    def _read(self, op, url, body):
        answer = self.reads.send(op.method, url, body)
        return all_items(answer, lambda link: self.reads.send("GET", link)) if op.paged else answer

    def _request(self, method, url, api_version, body, query=None):
        from azure.core.rest import HttpRequest

        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body)
        return HttpRequest(method, url, params=query_params(api_version, query) or None, headers=headers, content=data)

    def _run(self, request):
        response = self.client._pipeline.run(request)  # pylint: disable=protected-access
        status = response.http_response.status_code
        if status >= 400:  # azure-mgmt-core only now: see _azure.policies for what importing it costs
            from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
            from azure.mgmt.core.exceptions import ARMErrorFormat

            if status == 401:
                raise ClientAuthenticationError(response=response.http_response)
            raise HttpResponseError(response=response.http_response, error_format=ARMErrorFormat)
        return response

    def _poller(self, response):
        from azure.core.polling import LROPoller
        from azure.mgmt.core.polling.arm_polling import ARMPolling

        return LROPoller(self.client, response, raw_json, ARMPolling(self.polling_interval))
