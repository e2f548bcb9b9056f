"""Fixtures for the emulator's own tests: the real SDK clients, authenticated against the emulator."""

import itertools
import json
import os
import re
import time
from types import SimpleNamespace

import pytest
import requests

from tests.emulator.pytest_plugin import emulator, emulator_isolation  # noqa: F401  pylint: disable=unused-import

REFERENCE = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference"))
EXCERPT = os.path.join(REFERENCE, "azure", "containerservice", "2026-08-01", "managedClusters.excerpt.json")
CLUSTER_PATH = re.compile(r"/managedClusters/(?P<name>[^/]+)(/agentPools/(?P<pool>[^/]+))?$", re.IGNORECASE)
_names = itertools.count(1)


def pytest_configure(config):
    config.addinivalue_line("markers", "schema_invalid: the test deliberately sends bodies the swagger rejects")


def unique(prefix):
    return "%s%d" % (prefix, next(_names))


@pytest.fixture(scope="session")
def sdk(emulator):  # noqa: F811  pylint: disable=redefined-outer-name
    """The unmodified SDK clients, as the product builds them (ClientSecretCredential + custom cloud)."""
    from azure.mgmt.containerservice import ContainerServiceClient  # pylint: disable=import-outside-toplevel
    from azure.mgmt.network import NetworkManagementClient  # pylint: disable=import-outside-toplevel
    from azure.mgmt.resource.resources import ResourceManagementClient  # pylint: disable=import-outside-toplevel
    credential, sub, kwargs = emulator.credential(), emulator.env["AZURE_SUBSCRIPTION_ID"], emulator.client_kwargs()
    return SimpleNamespace(
        credential=credential, subscription_id=sub,
        resources=ResourceManagementClient(credential, sub, **kwargs),
        network=NetworkManagementClient(credential, sub, **kwargs),
        aks=ContainerServiceClient(credential, sub, **kwargs),
    )


@pytest.fixture(scope="session")
def raw(emulator, sdk):  # noqa: F811  pylint: disable=redefined-outer-name
    """requests.Session with a bearer token, for what the SDK hides (status codes, headers, raw bodies)."""
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment would win over .verify
    session.verify = emulator.ca_path
    token = sdk.credential.get_token(emulator.client_kwargs()["credential_scopes"][0]).token
    session.headers["Authorization"] = "Bearer " + token
    session.base = emulator.url
    return session


@pytest.fixture
def group(sdk):
    """A fresh resource group (westeurope), deleted afterwards."""
    name = unique("rg")
    sdk.resources.resource_groups.create_or_update(name, {"location": "westeurope"})
    yield name
    sdk.resources.resource_groups.begin_delete(name).result()


def vnet_body(*subnets, space="10.10.0.0/16", location="westeurope"):
    return {"location": location, "properties": {
        "addressSpace": {"addressPrefixes": [space]},
        "subnets": [{"name": name, "properties": {"addressPrefix": prefix}} for name, prefix in subnets]}}


def cluster_body(network_profile=None, pools=None, **properties):
    """A managedCluster PUT body (REST JSON, as the product sends it)."""
    props = {"dnsPrefix": "demo", "kubernetesVersion": "1.33",
             "agentPoolProfiles": pools or [{"name": "system", "count": 3, "vmSize": "Standard_D2s_v3", "mode": "System",
                                             "osType": "Linux"}],
             "networkProfile": network_profile or {"networkPlugin": "azure", "networkPluginMode": "overlay",
                                                   "networkDataplane": "cilium", "networkPolicy": "cilium"}}
    props.update(properties)
    return {"location": "westeurope", "identity": {"type": "SystemAssigned"}, "properties": props}


# ---- the swagger check: every managedCluster/agentPool body a test sends must validate -----------
def load_excerpt():
    if not os.path.exists(EXCERPT):
        return None
    with open(EXCERPT, encoding="utf-8") as handle:
        return json.load(handle)


def schema_errors(value, schema, definitions, path="$"):
    """Errors of `value` against a swagger schema (type/enum/pattern/items/properties; unknown $refs pass)."""
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        if not ref.startswith("#/definitions/") or name not in definitions:
            return []  # defined outside the excerpt: nothing to check against
        schema = definitions[name]
    kind, errors = schema.get("type"), []
    checks = {"string": str, "array": list, "object": dict, "boolean": bool}
    if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        return ["%s: expected integer, got %r" % (path, value)]
    if kind in checks and not isinstance(value, checks[kind]):
        return ["%s: expected %s, got %r" % (path, kind, value)]
    if "enum" in schema and value not in schema["enum"]:
        errors.append("%s: %r not in %s" % (path, value, schema["enum"]))
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        errors.append("%s: %r does not match %s" % (path, value, schema["pattern"]))
    for index, item in enumerate(value if kind == "array" else []):
        errors += schema_errors(item, schema.get("items", {}), definitions, "%s[%d]" % (path, index))
    for key, sub_schema in (schema.get("properties") or {}).items():
        if isinstance(value, dict) and key in value:
            errors += schema_errors(value[key], sub_schema, definitions, "%s.%s" % (path, key))
    return errors


def body_errors(excerpt, path, body):
    """Check one logged managedClusters/agentPools PUT against the parts the excerpt defines."""
    definitions, errors = excerpt["definitions"], []
    match = CLUSTER_PATH.search(path)
    put = excerpt["paths"][next(p for p in excerpt["paths"] if p.endswith("/managedClusters/{resourceName}"))]["put"]
    name_param = next(p for p in put["parameters"] if p.get("name") == "resourceName")
    if not re.search(name_param["pattern"], match.group("name")):
        errors.append("resourceName %r does not match %s" % (match.group("name"), name_param["pattern"]))
    props = (body or {}).get("properties") or {}
    pools = [props] if match.group("pool") else props.get("agentPoolProfiles") or []
    if "networkProfile" in props:
        errors += schema_errors(props["networkProfile"], {"$ref": "#/definitions/ContainerServiceNetworkProfile"},
                                definitions, "$.properties.networkProfile")
    for index, pool in enumerate(pools):
        if "podIPAllocationMode" in pool:
            errors += schema_errors(pool["podIPAllocationMode"], {"$ref": "#/definitions/PodIPAllocationMode"},
                                    definitions, "$.agentPoolProfiles[%d].podIPAllocationMode" % index)
    return errors


@pytest.fixture(autouse=True)
def swagger_guard(request):
    """After each test: every managedClusters/agentPools PUT it sent validates against the swagger excerpt."""
    if "emulator" not in request.fixturenames:
        yield
        return
    instance = request.getfixturevalue("emulator")
    excerpt, since = load_excerpt(), time.time()
    yield
    if excerpt is None or request.node.get_closest_marker("schema_invalid"):
        return
    for entry in instance.requests(since):
        if entry["method"] == "PUT" and CLUSTER_PATH.search(entry["path"]):
            errors = body_errors(excerpt, entry["path"], entry.get("body"))
            assert not errors, "request body does not validate against the swagger excerpt: %s" % errors
