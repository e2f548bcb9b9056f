"""CRDs: registration at run time, structural-schema validation with our Cilium CRDs, printer columns.

(tests/conformance compares those CRDs with the upstream ones and replays the upstream example policies.)
"""

import copy

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.emulator.k8s import cilium_crds
from tests.emulator_tests.k8s_fixtures import (k8s_ca, k8s_cluster, k8s_factory, kube,  # noqa: F401  pylint: disable=unused-import
                                               policy_path, raw_request)

# pylint: disable=redefined-outer-name


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


def test_policies_are_validated_strictly_by_our_own_crds(k8s_cluster):
    policy = valid_policy()
    policy["spec"]["egress"][0]["toPorts"][0]["ports"][0]["protocol"] = "QUIC"
    status, body, _unused = raw_request(k8s_cluster, "POST", policy_path(policy), policy)
    assert status == 422 and 'protocol: Unsupported value: "QUIC"' in body["message"]
    policy = valid_policy()
    policy["spec"]["egress"][0]["toPort"] = policy["spec"]["egress"][0].pop("toPorts")  # a typo kubectl sends as is
    status, body, _unused = raw_request(k8s_cluster, "POST", policy_path(policy) + "?fieldValidation=Strict", policy)
    assert status == 400 and body["message"] == 'strict decoding error: unknown field "spec.egress[0].toPort"'
    crd = raw_request(k8s_cluster, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/ciliumnetworkpolicies.cilium.io")[1]
    assert crd["spec"]["names"]["shortNames"] == ["cnp", "ciliumnp"]
    assert "x-kubernetes-preserve-unknown-fields" not in yaml.safe_dump(crd["spec"]["versions"][0]["schema"])


# `kubectl api-resources | grep cilium` on an AKS cluster (Cilium 1.17): name, short names, API version, namespaced
AKS_CILIUM_RESOURCES = [
    ("ciliumcidrgroups", "ccg", "cilium.io/v2alpha1", False),
    ("ciliumclusterwidenetworkpolicies", "ccnp", "cilium.io/v2", False),
    ("ciliumendpoints", "cep,ciliumep", "cilium.io/v2", True),
    ("ciliumexternalworkloads", "cew", "cilium.io/v2", False),
    ("ciliumidentities", "ciliumid", "cilium.io/v2", False),
    ("ciliuml2announcementpolicies", "l2announcement", "cilium.io/v2alpha1", False),
    ("ciliumloadbalancerippools", "ippools,ippool,lbippool,lbippools", "cilium.io/v2alpha1", False),
    ("ciliumnetworkpolicies", "cnp,ciliumnp", "cilium.io/v2", True),
    ("ciliumnodeconfigs", "", "cilium.io/v2", True),
    ("ciliumnodes", "cn,ciliumn", "cilium.io/v2", False),
    ("ciliumpodippools", "cpip", "cilium.io/v2alpha1", False),
]


def test_the_cluster_serves_the_cilium_kinds_aks_lists(kube):
    served = []
    for group_version in ("v2", "v2alpha1"):
        for resource in client.CustomObjectsApi(kube).get_api_resources("cilium.io", group_version).resources:
            if "/" not in resource.name:
                served.append((resource.name, ",".join(resource.short_names or []), "cilium.io/" + group_version,
                               resource.namespaced))
    assert sorted(served) == AKS_CILIUM_RESOURCES
    assert len(cilium_crds.crd_documents()) == 11


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
