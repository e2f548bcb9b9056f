"""The emulators never crash on input: random, mutated, malformed and oversized bodies get proper errors.

Every answer to a fuzzed request must be a success or a client error in the service's own envelope: ARM's
{"error": {"code", "message"}} or a Kubernetes v1 Status whose code is the HTTP status. A 5xx (the HTTP
layer's answer to an exception in an emulator) fails the test with the request that caused it.
Seeds are fixed, so a failure replays.
"""

import copy
import json
import random

import pytest
import requests

from tests.emulator.k8s.server import MAX_REQUEST_BODY

from .conftest import cluster_body, unique, vnet_body
from .k8s_fixtures import k8s_ca, k8s_cluster, k8s_factory  # noqa: F401  pylint: disable=unused-import

ROUNDS = 150  # per target list; ~1,500 requests in all, a few seconds
KEYS = ["location", "properties", "name", "tags", "id", "type", "addressSpace", "addressPrefixes", "addressPrefix",
        "subnets", "delegations", "serviceName", "agentPoolProfiles", "networkProfile", "count", "maxPods", "mode",
        "vnetSubnetID", "podSubnetID", "osType", "dnsPrefix", "kubernetesVersion", "networkPlugin", "podCidr",
        "serviceCidr", "dnsServiceIP", "identity", "sku", "metadata", "spec", "apiVersion", "kind", "namespace",
        "labels", "annotations", "endpointSelector", "ingress", "egress", "toPorts", "ports", "port", "protocol",
        "matchLabels", "matchExpressions", "data", "replicas", "template", "containers", "resourceVersion",
        "managedFields", "finalizers", "ownerReferences", "uid", "generateName", "selector", "op", "path", "value"]
STRINGS = ["", "a", "-", "10.0.0.0/8", "fd00::/64", "westeurope", "cilium", "azure", "overlay", "System", "Linux",
           "v1", "cilium.io/v2", "CiliumNetworkPolicy", "ConfigMap", "kube-system", "default", "80", "TCP", "ANY",
           "\u00e9\u4e2d", "x" * 300, "/subscriptions/x/resourceGroups/y", "null", "1e309", "{}", "../..", "%00"]


def random_value(rnd, depth=0):
    kind = rnd.randrange(9 if depth < 5 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rnd.choice([True, False])
    if kind == 2:
        return rnd.choice([0, -1, 1, 3, 250, 2 ** 31, 2 ** 63, -(2 ** 70)])
    if kind == 3:
        return rnd.choice([0.5, -1.5, 1e300])
    if kind in (4, 5):
        return rnd.choice(STRINGS)
    if kind in (6, 7):
        return {rnd.choice(KEYS): random_value(rnd, depth + 1) for _unused in range(rnd.randrange(5))}
    return [random_value(rnd, depth + 1) for _unused in range(rnd.randrange(4))]


def mutate(rnd, body):
    """A valid body with one subtree replaced by something random."""
    body = copy.deepcopy(body)
    node, key = None, None
    current = body
    for _unused in range(rnd.randrange(1, 6)):
        if isinstance(current, dict) and current:
            node, key = current, rnd.choice(list(current))
        elif isinstance(current, list) and current:
            node, key = current, rnd.randrange(len(current))
        else:
            break
        current = node[key]
    if node is None:
        return random_value(rnd)
    node[key] = random_value(rnd)
    return body


def payloads(rnd, valid):
    """(bytes, content type) to send: mutated valid bodies, random JSON, broken bytes."""
    choice = rnd.randrange(10)
    if choice < 5:
        return json.dumps(mutate(rnd, valid)).encode(), "application/json"
    if choice < 8:
        return json.dumps(random_value(rnd)).encode(), "application/json"
    garbage = [b"{", b"\xff\xfe\x00garbage", b"[1, 2", b"null", b'"str"', b"{\"a\": NaN}", b"\x00" * 10,
               b"- a: &x [*x]", "{\"k\": \"\\ud800\"}".encode()]
    return rnd.choice(garbage), rnd.choice(["application/json", "application/yaml", "text/plain"])


def arm_error_shape(reply):
    error = reply.json()["error"]
    return isinstance(error["code"], str) and error["code"] and isinstance(error["message"], str)


def k8s_status_shape(reply):
    status = reply.json()
    return status["kind"] == "Status" and status["code"] == reply.status_code and status["status"] == "Failure"


def check(reply, shape, what):
    assert reply.status_code < 500, "%s -> %d %s" % (what, reply.status_code, reply.text[:500])
    if reply.status_code >= 400:
        assert shape(reply), "%s -> %d, not the service's error envelope: %s" % (what, reply.status_code, reply.text[:300])


@pytest.fixture
def arm_targets(emulator, raw, sdk):
    emulator.arm.settings.kubernetes = False  # clusters a fuzzed body happens to create need no API server
    group = unique("fuzz")
    base = "%s/subscriptions/%s/resourceGroups/%s" % (raw.base, sdk.subscription_id, group)
    assert raw.put(base + "?api-version=2025-04-01", json={"location": "westeurope"}).status_code == 201
    vnet = base + "/providers/Microsoft.Network/virtualNetworks/vnet"
    assert raw.put(vnet + "?api-version=2026-03-01", json=vnet_body(("nodes", "10.10.0.0/24"))).status_code == 201
    mc = base + "/providers/Microsoft.ContainerService/managedClusters/"
    assert raw.put(mc + "fixed?api-version=2026-08-01", json=cluster_body()).status_code == 201
    emulator.arm.finish_operations()
    pool = {"properties": {"count": 1, "mode": "User", "vmSize": "Standard_D2s_v3"}}
    yield [
        ("PUT", base + "2?api-version=2025-04-01", {"location": "westeurope", "tags": {"a": "b"}}),
        ("PATCH", base + "?api-version=2025-04-01", {"tags": {"a": "b"}}),
        ("PUT", vnet + "2?api-version=2026-03-01", vnet_body(("a", "10.20.0.0/24"), space="10.20.0.0/16")),
        ("PUT", vnet + "/subnets/s?api-version=2026-03-01", {"properties": {"addressPrefix": "10.10.1.0/29"}}),
        ("PUT", mc + "fz?api-version=2026-08-01", cluster_body()),
        ("PUT", mc + "fixed?api-version=2026-08-01", cluster_body()),
        ("PATCH", mc + "fixed?api-version=2026-08-01", {"tags": {"a": "b"}}),
        ("PUT", mc + "fixed/agentPools/user?api-version=2026-08-01", pool),
        ("POST", mc + "fixed/listClusterUserCredential?api-version=2026-08-01", {}),
    ]
    emulator.arm.finish_operations()
    raw.delete(base + "?api-version=2025-04-01")


@pytest.mark.schema_invalid
def test_arm_answers_every_fuzzed_body_with_an_arm_error(emulator, raw, arm_targets):
    rnd = random.Random(15)
    for round_number in range(ROUNDS):
        for method, url, valid in arm_targets:
            data, content_type = payloads(rnd, valid)
            reply = raw.request(method, url, data=data, headers={"Content-Type": content_type}, timeout=30)
            check(reply, arm_error_shape, "round %d: %s %s %r" % (round_number, method, url, data[:300]))
            if round_number % 10 == 0:
                emulator.arm.finish_operations()  # let later rounds reach resources rather than 409s
        emulator.arm.finish_operations()


def test_arm_refuses_an_oversized_body_without_reading_it(raw, sdk):
    url = "%s/subscriptions/%s/resourceGroups/%s?api-version=2025-04-01" % (raw.base, sdk.subscription_id, unique("big"))
    reply = raw.put(url, data=b"{" + b" " * (17 * 1024 * 1024) + b"}", headers={"Content-Type": "application/json"})
    assert reply.status_code == 413 and arm_error_shape(reply)


@pytest.fixture
def k8s_session(k8s_cluster, k8s_ca):  # noqa: F811  pylint: disable=redefined-outer-name
    session = requests.Session()
    session.trust_env = False
    session.verify = k8s_ca.ca_pem_path
    session.headers["Authorization"] = "Bearer " + k8s_cluster.admin_token
    session.base = k8s_cluster.server_url
    yield session
    session.close()


CNP = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "p", "namespace": "default"},
       "spec": {"endpointSelector": {"matchLabels": {"app": "a"}},
                "ingress": [{"toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}]}]}}
CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}, "data": {"a": "b"}}
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default"},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}},
                       "template": {"metadata": {"labels": {"app": "d"}},
                                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json",
               "application/apply-patch+yaml"]


def test_kubernetes_answers_every_fuzzed_body_with_a_status(k8s_session):
    session, rnd = k8s_session, random.Random(1123)
    cnps = "/apis/cilium.io/v2/namespaces/default/ciliumnetworkpolicies"
    targets = [("POST", cnps, CNP), ("PUT", cnps + "/p", CNP), ("POST", "/api/v1/namespaces/default/configmaps", CONFIGMAP),
               ("PUT", "/api/v1/namespaces/default/configmaps/c", CONFIGMAP),
               ("POST", "/apis/apps/v1/namespaces/default/deployments", DEPLOYMENT),
               ("POST", "/api/v1/namespaces", {"metadata": {"name": "n"}}),
               ("DELETE", cnps + "/p", {"propagationPolicy": "Background"})]
    patchable = [(cnps + "/p", CNP), ("/api/v1/namespaces/default/configmaps/c", CONFIGMAP),
                 ("/apis/apps/v1/namespaces/default/deployments/d", DEPLOYMENT)]
    assert session.post(session.base + cnps, json=CNP).status_code == 201
    for round_number in range(ROUNDS):
        for method, path, valid in targets:
            data, content_type = payloads(rnd, valid)
            reply = session.request(method, session.base + path, data=data, headers={"Content-Type": content_type},
                                    timeout=30)
            check(reply, k8s_status_shape, "round %d: %s %s %r" % (round_number, method, path, data[:300]))
        for path, valid in patchable:
            content_type = rnd.choice(PATCH_TYPES)
            data = json.dumps(random_value(rnd) if rnd.random() < 0.5 else mutate(rnd, valid)).encode()
            query = "?fieldManager=fuzz&force=true" if content_type.startswith("application/apply") else ""
            reply = session.patch(session.base + path + query, data=data, headers={"Content-Type": content_type},
                                  timeout=30)
            check(reply, k8s_status_shape, "round %d: PATCH %s (%s) %r" % (round_number, path, content_type, data[:300]))


@pytest.mark.parametrize("size", [MAX_REQUEST_BODY + 1, 17 * 1024 * 1024])
def test_kubernetes_refuses_bodies_over_the_apiserver_limit(k8s_session, size):
    session = k8s_session
    policy = copy.deepcopy(CNP)
    policy["metadata"]["annotations"] = {"pad": "x" * (size - len(json.dumps(CNP)) - 40)}
    data = json.dumps(policy).encode()
    data += b" " * max(0, size - len(data))
    assert len(data) >= size
    url = session.base + "/apis/cilium.io/v2/namespaces/default/ciliumnetworkpolicies"
    reply = session.post(url, data=data, headers={"Content-Type": "application/json"})
    assert reply.status_code == 413 and k8s_status_shape(reply)
    assert reply.json()["reason"] == "RequestEntityTooLarge"
    assert reply.json()["message"] == "Request entity too large: limit is 3145728"
    assert session.get(url + "/p").status_code == 404  # nothing was stored


def test_kubernetes_accepts_a_body_just_under_the_limit(k8s_session):
    session = k8s_session
    config = copy.deepcopy(CONFIGMAP)
    config["data"] = {"big": "x" * (900 * 1024)}  # under etcd's 1.5 MiB object limit as well
    reply = session.post(session.base + "/api/v1/namespaces/default/configmaps", json=config)
    assert reply.status_code == 201, reply.text[:300]
