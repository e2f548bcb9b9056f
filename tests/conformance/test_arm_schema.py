"""The checks behind the tests: the swagger guard (conftest.swagger_guard) and the example shape comparison."""

import pytest

from tests.emulator_tests.conftest import body_errors, cluster_body, load_excerpt

from .test_arm_examples import shape_errors

PATH = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/%s"


@pytest.fixture(scope="module")
def excerpt():
    loaded = load_excerpt()
    assert loaded is not None, "the managedClusters swagger excerpt is missing from shared/reference/azure"
    return loaded


def test_the_bodies_the_tests_send_validate(excerpt):
    assert body_errors(excerpt, PATH % "demo", cluster_body()) == []
    pool = {"properties": {"podIPAllocationMode": "StaticBlock", "count": 1}}
    assert body_errors(excerpt, PATH % "demo" + "/agentPools/user", pool) == []


@pytest.mark.parametrize("network, fragment", [
    ({"networkPlugin": "Azure"}, "networkPlugin"),                      # enums are case-sensitive in the swagger
    ({"networkPluginMode": "Overlay"}, "networkPluginMode"),
    ({"networkDataplane": "ebpf"}, "networkDataplane"),
    ({"networkPolicy": "cilium", "podCidr": "10.244.0.0/16/8"}, "podCidr"),
    ({"dnsServiceIP": "10.0.0.300"}, "dnsServiceIP"),
    ({"podCidrs": "10.244.0.0/16"}, "podCidrs"),
    ({"outboundType": "nat"}, "outboundType"),
    ({"networkPluginMode": None}, "networkPluginMode"),
])
def test_the_guard_catches_what_the_swagger_rejects(excerpt, network, fragment):
    errors = body_errors(excerpt, PATH % "demo", cluster_body(network))
    assert errors and fragment in errors[0]


def test_the_guard_checks_the_cluster_name_and_pool_fields(excerpt):
    assert "resourceName" in body_errors(excerpt, PATH % "-bad-", cluster_body())[0]
    pool = {"properties": {"podIPAllocationMode": "Dynamic"}}
    assert "podIPAllocationMode" in body_errors(excerpt, PATH % "demo" + "/agentPools/user", pool)[0]


def test_shape_comparison():
    example = {"a": 1, "b": {"c": ["x"], "d": True}, "e": [{"f": 1.5}]}
    assert shape_errors(example, {"a": 2, "b": {"c": ["y", "z"], "d": False}, "e": [{"f": 3}], "extra": None}) == []
    assert shape_errors(example, {"a": "1", "b": {"c": [], "d": True}, "e": [{}]}) == [
        "$.a: '1' is not a number", "$.b.c: expected a list like ['x'], got []", "$.e[0].f: missing"]
    assert shape_errors({"d": True}, {"d": 1}) == ["$.d: 1 is not a bool"]
