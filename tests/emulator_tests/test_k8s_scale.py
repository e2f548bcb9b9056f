"""A 5,000-node cluster stays responsive: paged pod lists well under a second per page."""

import json
import time

import pytest
from kubernetes import client

from tests.emulator.k8s import start_cluster
from tests.emulator_tests.k8s_fixtures import api_client_for, k8s_ca  # noqa: F401  pylint: disable=unused-import

# pylint: disable=redefined-outer-name

NODES = 5000


@pytest.fixture(scope="module")
def big_cluster(k8s_ca):
    started = time.monotonic()
    # without the other per-node add-ons (four more DaemonSets would make this 25,000 pods): this is about the API
    handle = start_cluster(ca=k8s_ca, name="big", resource_group="rg", node_pools=[{"name": "nodepool1", "count": NODES}],
                           addons=False)
    handle.startup_seconds = time.monotonic() - started
    yield handle
    handle.stop()


def test_five_thousand_nodes_start_with_a_ready_daemonset(big_cluster):
    assert big_cluster.startup_seconds < 30
    ds = big_cluster.store.get("apps/daemonsets", "kube-system", "cilium")["status"]
    assert ds["desiredNumberScheduled"] == ds["numberReady"] == ds["numberAvailable"] == NODES
    assert big_cluster.store.get("/nodes", "", "aks-nodepool1-%s-vmss0003uv" % big_cluster.info.pool_digits) is not None


def test_listing_pods_in_pages_of_500(big_cluster, tmp_path):
    core = client.CoreV1Api(api_client_for(big_cluster, tmp_path))
    token, names, slowest = None, [], 0.0
    while True:
        started = time.monotonic()
        page = core.list_pod_for_all_namespaces(limit=500, _continue=token, _preload_content=False)
        slowest = max(slowest, time.monotonic() - started)
        body = json.loads(page.data)
        names += [item["metadata"]["name"] for item in body["items"]]
        token = body["metadata"].get("continue")
        if not token:
            break
    assert len(names) == len(set(names)) == NODES + 4
    assert slowest < 1.0, "slowest page took %.2fs" % slowest


def test_selectors_and_watches_stay_fast(big_cluster, tmp_path):
    core = client.CoreV1Api(api_client_for(big_cluster, tmp_path))
    node = "aks-nodepool1-%s-vmss000f00" % big_cluster.info.pool_digits
    started = time.monotonic()
    on_node = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=" + node, _preload_content=False)
    cilium = core.list_namespaced_pod("kube-system", label_selector="k8s-app=cilium", limit=500, _preload_content=False)
    assert time.monotonic() - started < 2.0
    assert on_node.status == 200 and cilium.status == 200
    started = time.monotonic()
    nodes = core.list_node(limit=500)
    assert len(nodes.items) == 500 and time.monotonic() - started < 1.0
