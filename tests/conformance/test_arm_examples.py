"""Replay the Azure REST API spec examples (shared/reference/azure/**/examples) against the emulator.

For each example of an operation the emulator implements: the request is accepted, the status code
is one the example lists, and the response has every key of the example's response with the same
value types (the emulator may return more keys). GET/DELETE examples first create the resource,
from the example's own response body where it has one.
"""

import copy
import glob
import json
import os

import pytest

from tests.emulator.arm import naming
from tests.emulator_tests.conftest import cluster_body, unique

from .conftest import REFERENCE

EXAMPLES = sorted(glob.glob(os.path.join(REFERENCE, "azure", "**", "examples", "*.json"), recursive=True))
MC = "/providers/Microsoft.ContainerService/managedClusters/{resourceName}"
VNET = "/providers/Microsoft.Network/virtualNetworks/{virtualNetworkName}"
PATHS = {
    "ManagedClusters_CreateOrUpdate": ("PUT", MC), "ManagedClusters_Get": ("GET", MC),
    "ManagedClusters_Delete": ("DELETE", MC),
    "ManagedClusters_ListClusterAdminCredentials": ("POST", MC + "/listClusterAdminCredential"),
    "ManagedClusters_ListClusterUserCredentials": ("POST", MC + "/listClusterUserCredential"),
    "AgentPools_CreateOrUpdate": ("PUT", MC + "/agentPools/{agentPoolName}"),
    "AgentPools_Get": ("GET", MC + "/agentPools/{agentPoolName}"),
    "AgentPools_Delete": ("DELETE", MC + "/agentPools/{agentPoolName}"),
    "VirtualNetworks_CreateOrUpdate": ("PUT", VNET), "VirtualNetworks_Get": ("GET", VNET),
    "VirtualNetworks_Delete": ("DELETE", VNET),
    "Subnets_CreateOrUpdate": ("PUT", VNET + "/subnets/{subnetName}"), "Subnets_Get": ("GET", VNET + "/subnets/{subnetName}"),
    "Subnets_Delete": ("DELETE", VNET + "/subnets/{subnetName}"),
}
BODY_PARAMETER = {"parameters", "subnetParameters"}
# example response parts no faithful emulator can produce, with the reason
QUIRKS = {
    # azure-rest-api-specs#14936: the request of this example carries no delegation, its response shows one
    "SubnetCreateWithDelegation.json": ("$.properties.delegations", "$.properties.purpose"),
    # the subnet is used by a load balancer frontend; load balancers are not emulated
    "VirtualNetworkGet.json": ("$.properties.subnets[0].properties.ipConfigurations",),
}
VERSION_KEYS = ("kubernetesVersion", "orchestratorVersion")  # the examples' 1.9.6 is long out of support


def operation_of(example, path):
    if example.get("operationId"):
        return example["operationId"]
    if "subnetParameters" in example["parameters"]:  # SubnetCreate.json carries no operationId
        return "Subnets_CreateOrUpdate"
    raise AssertionError("cannot tell the operation of %s" % path)


def shape_errors(expected, actual, path="$"):
    """Keys of `expected` missing from `actual`, or holding another JSON type."""
    def kind(value):
        return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return ["%s: expected an object, got %r" % (path, actual)]
        errors = []
        for key, value in expected.items():
            errors += shape_errors(value, actual[key], path + "." + key) if key in actual else ["%s.%s: missing" % (path, key)]
        return errors
    if isinstance(expected, list):
        if not isinstance(actual, list) or (expected and not actual):
            return ["%s: expected a list like %r, got %r" % (path, expected, actual)]
        errors = []
        for index, item in enumerate(expected):  # compare with the same index, or the last item we have
            errors += shape_errors(item, actual[min(index, len(actual) - 1)], "%s[%d]" % (path, index))
        return errors
    return [] if kind(expected) == kind(actual) else ["%s: %r is not a %s" % (path, actual, kind(expected))]


def real_location(body):
    """The swagger examples say "location1"; a real subscription (and the emulator) refuses unknown regions."""
    if isinstance(body, dict) and "location" in body and naming.normalize_location(body["location"]) not in \
            naming.LOCATION_NAMES:
        body = dict(body, location="westeurope")
    return body


def without_versions(body):
    body = real_location(copy.deepcopy(body))
    props = body.get("properties") or {}
    for item in [props] + props.get("agentPoolProfiles", []):
        for key in VERSION_KEYS:
            item.pop(key, None)
    return body


class Replay:
    """Builds URLs for one example in a fresh resource group and creates what the operation needs first."""

    def __init__(self, raw, sdk, example):
        self.raw, self.params = raw, dict(example["parameters"])
        self.params.update(subscriptionId=sdk.subscription_id, resourceGroupName=unique("ex"))
        self.example = example
        sdk.resources.resource_groups.create_or_update(self.params["resourceGroupName"], {"location": "westeurope"})

    def url(self, template):
        path = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}" + template
        return "%s%s?api-version=%s" % (self.raw.base, path.format(**self.params), self.params["api-version"])

    def put(self, template, body):
        reply = self.raw.put(self.url(template), json=body)
        assert reply.status_code in (200, 201), reply.text
        return reply

    def success_body(self):
        responses = self.example["responses"]
        return next((responses[c]["body"] for c in ("200", "201") if "body" in responses.get(c, {})), None)

    def prepare(self, operation):
        body = self.success_body()
        if operation.startswith(("ManagedClusters_", "AgentPools_")) and operation != "ManagedClusters_CreateOrUpdate":
            cluster = without_versions(body) if operation == "ManagedClusters_Get" else cluster_body()
            if operation == "AgentPools_Delete":
                cluster["properties"]["agentPoolProfiles"].append({"name": self.params["agentPoolName"], "mode": "User"})
            self.put(MC, cluster)
            if operation == "AgentPools_Get":
                self.put(MC + "/agentPools/{agentPoolName}", without_versions(body))
        if operation.startswith("Subnets_"):
            self.put(VNET, {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/8"]}}})
            if operation != "Subnets_CreateOrUpdate":
                self.put(VNET + "/subnets/{subnetName}", body or {"properties": {"addressPrefix": "10.0.0.0/16"}})
        if operation in ("VirtualNetworks_Get", "VirtualNetworks_Delete"):
            self.put(VNET, body or {"location": "westeurope",
                                    "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}})


@pytest.mark.parametrize("path", EXAMPLES, ids=[os.path.relpath(p, REFERENCE) for p in EXAMPLES])
def test_example_replays(raw, sdk, path):
    with open(path, encoding="utf-8") as handle:
        example = json.load(handle)
    operation = operation_of(example, path)
    assert operation in PATHS, "the emulator does not implement %s" % operation
    method, template = PATHS[operation]
    replay = Replay(raw, sdk, example)
    replay.prepare(operation)
    body = next((example["parameters"][k] for k in BODY_PARAMETER if k in example["parameters"]), None)
    reply = raw.request(method, replay.url(template), json=real_location(body))
    assert str(reply.status_code) in example["responses"], (reply.status_code, reply.text)
    expected = example["responses"][str(reply.status_code)]
    missing_headers = {h.lower() for h in expected.get("headers", {})} - {h.lower() for h in reply.headers}
    assert not missing_headers, missing_headers
    if "body" in expected:
        quirks = QUIRKS.get(os.path.basename(path), ())
        errors = [e for e in shape_errors(expected["body"], reply.json()) if not e.startswith(quirks)]
        assert not errors, errors
    sdk.resources.resource_groups.begin_delete(replay.params["resourceGroupName"]).result()


def test_every_example_concerns_an_emulated_operation():
    assert len(EXAMPLES) >= 15, "the ARM examples are missing from shared/reference/azure"
    covered = set()
    for path in EXAMPLES:
        with open(path, encoding="utf-8") as handle:
            covered.add(operation_of(json.load(handle), path))
    assert covered <= set(PATHS), covered - set(PATHS)  # every stored example concerns a resource we emulate
