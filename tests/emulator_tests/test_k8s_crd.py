"""CRDs: registration at run time, structural-schema validation with the real Cilium CRDs, printer columns."""

import copy
import glob
import os

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.emulator.k8s import aks_seed
from tests.emulator_tests.k8s_fixtures import (REFERENCE, k8s_ca, k8s_cluster, k8s_factory, kube,  # noqa: F401  pylint: disable=unused-import
                                               raw_request)

# pylint: disable=redefined-outer-name

EXAMPLES = os.path.join(REFERENCE, "cilium", "examples")
needs_reference = pytest.mark.skipif(not aks_seed.reference_crds_present(), reason="no reference Cilium CRDs")
# What the 1.19-dev CRDs say about the examples, under kubectl's default fieldValidation=Strict:
# the auth example uses a field that no longer exists (`auth`), and fromRequires was removed.
STRICT_REJECTS = {
    "auth/auth.yaml": 'strict decoding error: unknown field "spec.egress[0].auth"',
    "l3/requires/requires.yaml": 'strict decoding error: unknown field "specs[0].ingress[0].fromRequires"',
}


def example_documents():
    found = []
    for path in sorted(glob.glob(os.path.join(EXAMPLES, "**", "*.yaml"), recursive=True)):
        with open(path, encoding="utf-8") as handle:
            for doc in yaml.safe_load_all(handle):
                if doc:
                    found.append((os.path.relpath(path, os.path.join(EXAMPLES, "policies")), doc))
    return found


def policy_path(doc):
    if doc["kind"] == "CiliumClusterwideNetworkPolicy":
        return "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies"
    return "/apis/cilium.io/v2/namespaces/%s/ciliumnetworkpolicies" % doc["metadata"].get("namespace", "default")


@needs_reference
def test_every_example_policy_is_judged_as_the_real_crd_does(k8s_cluster):
    documents = example_documents()
    assert len(documents) >= 20
    for namespace in {d["metadata"].get("namespace") for _unused, d in documents} - {None}:
        raw_request(k8s_cluster, "POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
    outcomes = {}
    for name, doc in documents:
        status, body, _unused = raw_request(k8s_cluster, "POST", policy_path(doc) + "?fieldValidation=Strict", doc)
        outcomes.setdefault(name, []).append((status, body.get("message") if status >= 400 else None))
    rejected = {name: result[0][1] for name, result in outcomes.items() if result[0][0] != 201}
    assert rejected == STRICT_REJECTS
    assert all(status == 201 for name, result in outcomes.items() if name not in STRICT_REJECTS for status, _unused in result)


@needs_reference
def test_examples_with_removed_fields_are_pruned_under_the_default_validation(k8s_cluster):
    (_unused, doc), = [(n, d) for n, d in example_documents() if n == "l3/requires/requires.yaml"]
    status, body, headers = raw_request(k8s_cluster, "POST", policy_path(doc), doc)
    assert status == 201 and body["specs"][0]["ingress"] == [{}]
    assert 'unknown field \\"specs[0].ingress[0].fromRequires\\"' in headers["Warning"]


def valid_policy():
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "broken", "namespace": "default"},
            "spec": {"endpointSelector": {"matchLabels": {"app": "web"}},
                     "egress": [{"toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}], "toCIDR": ["10.0.0.0/8"]}]}}


def _set(path, value):
    def mutate(policy):
        node = policy
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return mutate


BROKEN = [
    ("protocol", _set(["spec", "egress", 0, "toPorts", 0, "ports", 0, "protocol"], "HTTP"),
     'spec.egress[0].toPorts[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "TCP", "UDP", "SCTP", "VRRP", "IGMP", "ANY"'),
    ("port", _set(["spec", "egress", 0, "toPorts", 0, "ports", 0, "port"], "-80"),
     'spec.egress[0].toPorts[0].ports[0].port: Invalid value: "-80": spec.egress[0].toPorts[0].ports[0].port in body should match'),
    ("cidr", _set(["spec", "egress", 0, "toCIDR", 0], "10.0.0.0/33"),
     'spec.egress[0].toCIDR[0]: Invalid value: "10.0.0.0/33": spec.egress[0].toCIDR[0] in body must be of type cidr: "10.0.0.0/33"'),
    ("entity", _set(["spec", "egress", 0, "toEntities"], ["galaxy"]),
     'spec.egress[0].toEntities[0]: Unsupported value: "galaxy": supported values: "all", "world", "cluster"'),
    ("selector type", _set(["spec", "endpointSelector"], "app=web"),
     'spec.endpointSelector: Invalid value: "string": spec.endpointSelector in body must be of type object: "string"'),
    ("end port type", _set(["spec", "egress", 0, "toPorts", 0, "ports", 0, "endPort"], "90"),
     'spec.egress[0].toPorts[0].ports[0].endPort: Invalid value: "string": spec.egress[0].toPorts[0].ports[0].endPort in body '
     'must be of type integer: "string"'),
    ("two selectors", _set(["spec", "nodeSelector"], {"matchLabels": {"a": "b"}}),
     '<nil>: Invalid value: "": "spec" must validate one and only one schema (oneOf). Found 2 valid alternatives'),
    ("no direction", lambda p: p["spec"].pop("egress"),
     '<nil>: Invalid value: "": "spec" must validate at least one schema (anyOf)'),
    ("too many ports", _set(["spec", "egress", 0, "toPorts", 0, "ports"], [{"port": str(p)} for p in range(1, 42)]),
     "spec.egress[0].toPorts[0].ports: Too many: 41: must have at most 40 items"),
]


@needs_reference
@pytest.mark.parametrize("case, mutate, message", BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_policies_are_rejected_with_422_naming_the_field(k8s_cluster, case, mutate, message):
    del case
    policy = copy.deepcopy(valid_policy())
    mutate(policy)
    status, body, _unused = raw_request(k8s_cluster, "POST", policy_path(policy), policy)
    assert status == 422 and body["reason"] == "Invalid"
    assert body["message"].startswith('CiliumNetworkPolicy.cilium.io "broken" is invalid: ')
    assert message in body["message"]
    assert raw_request(k8s_cluster, "POST", policy_path(policy), valid_policy())[0] == 201


def test_minimal_crds_serve_cilium_policies_without_the_reference(k8s_factory):
    cluster = k8s_factory(use_reference_crds=False)
    policy = valid_policy()
    policy["spec"]["egress"][0]["toPorts"][0]["ports"][0]["protocol"] = "HTTP"  # rule bodies are open here
    assert raw_request(cluster, "POST", policy_path(policy), policy)[0] == 201
    policy["metadata"]["name"] = "strict"
    policy["spec"]["bogus"] = 1
    status, body, _unused = raw_request(cluster, "POST", policy_path(policy) + "?fieldValidation=Strict", policy)
    assert status == 400 and body["message"] == 'strict decoding error: unknown field "spec.bogus"'
    crd = raw_request(cluster, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/ciliumnetworkpolicies.cilium.io")[1]
    assert crd["spec"]["names"]["shortNames"] == ["cnp", "ciliumnp"] and len(yaml.safe_dump(crd)) < 10000


WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
             "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                           "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                                                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                               "spec": {"type": "object", "required": ["size"], "properties": {
                                   "size": {"type": "integer", "minimum": 1, "maximum": 10},
                                   "color": {"type": "string", "default": "blue", "enum": ["blue", "red"]},
                                   "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"}}},
                               "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]}}


def test_creating_a_crd_registers_its_resource_and_deleting_it_removes_them(kube, k8s_cluster):
    ext = client.ApiextensionsV1Api(kube)
    crd = ext.create_custom_resource_definition(WIDGET_CRD)
    assert {c.type: c.status for c in crd.status.conditions}["Established"] == "True"
    resources = {r.name: r for r in client.CustomObjectsApi(kube).get_api_resources("example.com", "v1").resources}
    assert resources["widgets"].short_names == ["wd"] and "widgets/status" in resources
    co = client.CustomObjectsApi(kube)
    widget = co.create_namespaced_custom_object("example.com", "v1", "default", "widgets", {
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3}})
    assert widget["spec"] == {"size": 3, "color": "blue"}
    with pytest.raises(ApiException) as err:
        co.create_namespaced_custom_object("example.com", "v1", "default", "widgets", {
            "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w2"},
            "spec": {"size": 11, "tags": ["a", "a"]}})
    message = yaml.safe_load(err.value.body)["message"]
    assert err.value.status == 422 and message == (
        'Widget.example.com "w2" is invalid: [spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10, '
        'spec.tags[1]: Duplicate value: "a"]')
    status, table, _unused = raw_request(k8s_cluster, "GET", "/apis/example.com/v1/namespaces/default/widgets",
                                         headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    assert status == 200 and [c["name"] for c in table["columnDefinitions"]] == ["Name", "Size", "Age"]
    assert table["rows"][0]["cells"][:2] == ["w1", 3]
    ext.delete_custom_resource_definition("widgets.example.com")
    status, _unused, _unused = raw_request(k8s_cluster, "GET", "/apis/example.com/v1/namespaces/default/widgets")
    assert status == 404
    assert not list(k8s_cluster.store.objects("example.com/widgets"))
