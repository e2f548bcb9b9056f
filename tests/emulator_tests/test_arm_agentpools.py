"""managedClusters/agentPools: the LRO protocol, consistency with agentPoolProfiles, the pool rules, and what
the pools' nodes and pods look like in the cluster's Kubernetes API (labels, addresses, subnet exhaustion)."""

import ipaddress
import time

import pytest

from .conftest import cluster_body, unique, vnet_body

AKS_API = "?api-version=2026-08-01"
VNET_MODE = {"networkPlugin": "azure", "networkDataplane": "cilium", "networkPolicy": "cilium"}


def _error(call):
    from azure.core.exceptions import HttpResponseError  # pylint: disable=import-outside-toplevel
    with pytest.raises(HttpResponseError) as caught:
        call()
    return caught.value


def _pool_url(raw, sdk, group, name, pool):
    return "%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/%s/agentPools/%s%s" % (
        raw.base, sdk.subscription_id, group, name, pool, AKS_API)


def _handle(emulator, sdk, group, name):
    return emulator.arm.kube.handles[sdk.aks.managed_clusters.get(group, name).id.lower()]


def _nodes(handle, pool=None):
    nodes = handle.store.objects("/nodes")
    return sorted((n for n in nodes if pool is None or n["metadata"]["labels"]["agentpool"] == pool),
                  key=lambda n: n["metadata"]["name"])


def _ready(node):
    return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")


def _wait(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def _deploy(handle, name, replicas, pool):
    """A Deployment pinned to one pool, written straight into the cluster's API."""
    apps = handle.api.registry.get("apps", "v1", "deployments")
    from tests.emulator.k8s.api import CONTROLLER  # pylint: disable=import-outside-toplevel
    with handle.store.lock:
        handle.api.create(apps, "default", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"nodeSelector": {"agentpool": pool},
                                           "containers": [{"name": "c", "image": "nginx"}]}}}}, CONTROLLER)
    handle.controllers.kick()


def _pods(handle, app):
    return [p for p in handle.store.objects("/pods") if (p["metadata"].get("labels") or {}).get("app") == app]


@pytest.fixture
def two_pod_subnets(sdk, group):
    """A VNet with a node subnet and two pod subnets, and a VNet-mode cluster whose system pool uses the first."""
    vnet = sdk.network.virtual_networks.begin_create_or_update(group, "vnet", vnet_body(
        ("nodes", "10.10.0.0/24"), ("pods1", "10.10.16.0/20"), ("pods2", "10.10.32.0/20"), ("small", "10.10.48.0/26"),
        ("tiny", "10.10.49.0/27"))).result()
    subnets = {s.name: s.id for s in vnet.properties.subnets}
    sdk.aks.managed_clusters.begin_create_or_update(group, "multi", cluster_body(VNET_MODE, [
        {"name": "system", "count": 2, "mode": "System", "maxPods": 30, "vnetSubnetID": subnets["nodes"],
         "podSubnetID": subnets["pods1"]}])).result()
    return subnets


def test_agent_pool_lro_protocol(raw, sdk, group, two_pod_subnets):
    body = {"properties": {"count": 2, "mode": "User", "vmSize": "Standard_D4s_v5", "maxPods": 47,
                           "vnetSubnetID": two_pod_subnets["nodes"], "podSubnetID": two_pod_subnets["pods2"],
                           "podIPAllocationMode": "StaticBlock", "nodeLabels": {"tier": "web"}}}
    reply = raw.put(_pool_url(raw, sdk, group, "multi", "user"), json=body)
    assert reply.status_code == 201
    created = reply.json()
    assert created["type"] == "Microsoft.ContainerService/managedClusters/agentPools"
    assert created["properties"]["provisioningState"] == "Creating"
    assert "/operations/" in reply.headers["Azure-AsyncOperation"] and reply.headers["Retry-After"] == "1"
    assert raw.get(reply.headers["Azure-AsyncOperation"]).json()["status"] == "Succeeded"
    pool = raw.get(_pool_url(raw, sdk, group, "multi", "user")).json()
    assert pool["properties"]["provisioningState"] == "Succeeded"
    assert pool["properties"]["podIPAllocationMode"] == "StaticBlock" and pool["properties"]["nodeImageVersion"]

    # the same pool, as the managed cluster shows it
    profiles = sdk.aks.managed_clusters.get(group, "multi").as_dict()["properties"]["agentPoolProfiles"]
    assert [p["name"] for p in profiles] == ["system", "user"]
    assert profiles[1]["podSubnetID"] == two_pod_subnets["pods2"] and profiles[1]["count"] == 2

    update = raw.put(_pool_url(raw, sdk, group, "multi", "user"), json={"properties": dict(body["properties"], count=3)})
    assert update.status_code == 200 and update.json()["properties"]["provisioningState"] == "Updating"
    assert [p.count for p in sdk.aks.agent_pools.list(group, "multi")] == [2, 3]

    gone = raw.delete(_pool_url(raw, sdk, group, "multi", "user"))
    assert gone.status_code == 202 and "/operationresults/" in gone.headers["Location"]
    assert raw.get(gone.headers["Location"]).status_code == 204
    assert raw.get(_pool_url(raw, sdk, group, "multi", "user")).json()["error"]["code"] == "NotFound"
    assert raw.delete(_pool_url(raw, sdk, group, "multi", "user")).status_code == 204


def test_a_pool_operation_blocks_cluster_writes(emulator, sdk, group, two_pod_subnets):
    emulator.add_fault(method="PUT", path=r"/agentPools/slow$", provision_delay=3600)
    sdk.aks.agent_pools.begin_create_or_update(group, "multi", "slow", {"properties": {
        "count": 1, "mode": "User", "vnetSubnetID": two_pod_subnets["nodes"], "podSubnetID": two_pod_subnets["pods1"]}})
    error = _error(lambda: sdk.aks.managed_clusters.begin_create_or_update(group, "multi", cluster_body(VNET_MODE, [
        {"name": "system", "count": 2, "mode": "System", "maxPods": 30, "vnetSubnetID": two_pod_subnets["nodes"],
         "podSubnetID": two_pod_subnets["pods1"]}])))
    assert (error.status_code, error.error.code) == (409, "OperationNotAllowed")
    states = {p.name: p.provisioning_state for p in sdk.aks.agent_pools.list(group, "multi")}
    assert states == {"system": "Succeeded", "slow": "Creating"}
    emulator.arm.finish_operations()
    assert sdk.aks.agent_pools.get(group, "multi", "slow").provisioning_state == "Succeeded"


def test_pool_rules(sdk, group, two_pod_subnets):
    pools = sdk.aks.agent_pools
    static = {"count": 1, "mode": "User", "vnetSubnetID": two_pod_subnets["nodes"], "podSubnetID": two_pod_subnets["pods1"],
              "podIPAllocationMode": "StaticBlock"}
    mixed = _error(lambda: pools.begin_create_or_update(group, "multi", "mixed", {"properties": static}))
    assert mixed.error.code == "BadRequest" and "system" in mixed.message and "pods1" in mixed.message
    existing = _error(lambda: pools.begin_create_or_update(group, "multi", "system", {"properties": {
        "count": 2, "mode": "System", "podIPAllocationMode": "StaticBlock"}}))
    assert existing.error.code == "PropertyChangeNotAllowed"
    assert existing.error.target == "agentPoolProfiles[0].podIPAllocationMode"
    last = _error(lambda: pools.begin_delete(group, "multi", "system"))
    assert (last.status_code, last.error.code) == (400, "MustDefineAtLeastOneSystemPool")
    demote = _error(lambda: pools.begin_create_or_update(group, "multi", "system", {"properties": {"mode": "User"}}))
    assert demote.error.code == "MustDefineAtLeastOneSystemPool"
    full = _error(lambda: pools.begin_create_or_update(group, "multi", "big", {"properties": dict(
        static, podSubnetID=two_pod_subnets["small"], count=4)}))
    assert (full.error.code, full.error.target) == ("InsufficientSubnetSize", "agentPoolProfile.podSubnetID")
    assert "Pre-allocated IPs 64 exceeds IPs available 59" in full.message
    assert [p.name for p in pools.list(group, "multi")] == ["system"]  # nothing was written


def test_pools_nodes_labels_and_pod_addresses(emulator, sdk, group, two_pod_subnets):
    sdk.aks.agent_pools.begin_create_or_update(group, "multi", "user", {"properties": {
        "count": 2, "mode": "User", "maxPods": 47, "vnetSubnetID": two_pod_subnets["nodes"],
        "podSubnetID": two_pod_subnets["pods2"], "podIPAllocationMode": "StaticBlock", "nodeLabels": {"tier": "web"},
        "nodeTaints": ["dedicated=web:NoSchedule"]}}).result()
    handle = _handle(emulator, sdk, group, "multi")
    system, user = _nodes(handle, "system"), _nodes(handle, "user")
    assert len(system) == 2 and len(user) == 2
    labels = user[0]["metadata"]["labels"]
    assert labels["kubernetes.azure.com/mode"] == "user" and labels["tier"] == "web"
    assert (labels["kubernetes.azure.com/podnetwork-type"], labels["kubernetes.azure.com/podnetwork-subnet"]) == (
        "vnetblock", "pods2")
    assert system[0]["metadata"]["labels"]["kubernetes.azure.com/podnetwork-type"] == "vnet"
    assert "kubernetes.azure.com/azure-cni-overlay" not in labels and "podCIDR" not in user[0]["spec"]
    assert user[0]["spec"]["taints"] == [{"key": "dedicated", "value": "web", "effect": "NoSchedule"}]
    node_subnet = ipaddress.ip_network("10.10.0.0/24")
    assert all(ipaddress.ip_address(n["status"]["addresses"][0]["address"]) in node_subnet for n in system + user)
    # the cilium agent runs on every node of both pools
    assert _wait(lambda: (handle.store.get("apps/daemonsets", "kube-system", "cilium")["status"]
                          .get("desiredNumberScheduled")) == 4)

    _deploy(handle, "web", 6, "user")
    running = _wait(lambda: [p for p in _pods(handle, "web") if p["status"].get("podIP")] if len(
        [p for p in _pods(handle, "web") if p["status"].get("podIP")]) == 6 else None)
    assert running, "the user pool's pods got no addresses"
    assert all(ipaddress.ip_address(p["status"]["podIP"]) in ipaddress.ip_network("10.10.32.0/20") for p in running)
    assert len({p["status"]["podIP"] for p in running}) == 6

    usage = {u.id.rsplit("/", 1)[-1]: (u.current_value, u.limit)
             for u in sdk.network.virtual_networks.list_usage(group, "vnet")}
    # 47 max pods -> 3 /28 blocks per Static Block node; the system pool's 2 nodes hold one batch of 16 each
    assert usage["pods2"] == (2 * 3 * 16, 4096 - 5) and usage["pods1"][0] >= 2 * 16
    assert usage["nodes"][0] == 4 and usage["nodes"][1] == 251


def test_static_block_exhaustion_leaves_nodes_not_ready(emulator, sdk, group, two_pod_subnets):
    # /26 = 4 /28 blocks, of which the first and last hold Azure's reserved addresses: 2 blocks, one node's worth
    sdk.aks.managed_clusters.begin_create_or_update(group, "small", cluster_body(VNET_MODE, [
        {"name": "system", "count": 2, "mode": "System", "maxPods": 30, "vnetSubnetID": two_pod_subnets["nodes"],
         "podSubnetID": two_pod_subnets["small"], "podIPAllocationMode": "StaticBlock"}])).result()
    nodes = _nodes(_handle(emulator, sdk, group, "small"))
    assert [_ready(n)["status"] for n in nodes] == ["True", "False"]
    assert "NetworkPluginNotReady" in _ready(nodes[1])["message"] and "Subnet is full" in _ready(nodes[1])["message"]


def test_dynamic_exhaustion_leaves_pods_container_creating(emulator, sdk, group, two_pod_subnets):
    # /27: 27 usable addresses; one node's first batch of 16 fits, a second batch does not
    sdk.aks.managed_clusters.begin_create_or_update(group, "tiny", cluster_body(VNET_MODE, [
        {"name": "system", "count": 1, "mode": "System", "maxPods": 30, "vnetSubnetID": two_pod_subnets["nodes"],
         "podSubnetID": two_pod_subnets["tiny"]}])).result()
    handle = _handle(emulator, sdk, group, "tiny")
    _deploy(handle, "many", 20, "system")
    addressed = _wait(lambda: len([p for p in _pods(handle, "many") if p["status"].get("podIP")]) >= 1 and len(
        [e for e in handle.store.objects("/events") if e["reason"] == "FailedCreatePodSandBox"]) > 0)
    assert addressed
    pods = _pods(handle, "many")
    with_ip = [p for p in pods if p["status"].get("podIP")]
    used_by_system = len([p for p in handle.store.objects("/pods") if p["spec"].get("nodeName") and not
                          p["spec"].get("hostNetwork") and p["status"].get("podIP")])
    assert used_by_system == 16 and len(with_ip) < 20
    waiting = [p for p in pods if not p["status"].get("podIP")]
    assert waiting and all(p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ContainerCreating"
                           for p in waiting)
    event = next(e for e in handle.store.objects("/events") if e["reason"] == "FailedCreatePodSandBox")
    assert event["type"] == "Warning" and "SubnetFull" in event["message"]


def test_node_subnet_cilium_cluster(emulator, sdk, group):
    vnet = sdk.network.virtual_networks.begin_create_or_update(group, "legacy", vnet_body(("nodes", "10.30.0.0/22"),
                                                                                          space="10.30.0.0/16")).result()
    nodes_id = vnet.properties.subnets[0].id
    created = sdk.aks.managed_clusters.begin_create_or_update(group, "legacy", cluster_body(
        dict(VNET_MODE, serviceCidr="10.0.0.0/16", dnsServiceIP="10.0.0.10"),
        [{"name": "system", "count": 2, "mode": "System", "vnetSubnetID": nodes_id}])).result().as_dict()["properties"]
    network = created["networkProfile"]
    assert (network["networkPlugin"], network.get("networkPluginMode"), network["networkDataplane"]) == (
        "azure", None, "cilium")
    handle = _handle(emulator, sdk, group, "legacy")
    node = _nodes(handle)[0]
    assert "kubernetes.azure.com/podnetwork-type" not in node["metadata"]["labels"] and "podCIDR" not in node["spec"]
    _deploy(handle, "app", 2, "system")
    pods = _wait(lambda: [p for p in _pods(handle, "app") if p["status"].get("podIP")] if len(
        [p for p in _pods(handle, "app") if p["status"].get("podIP")]) == 2 else None)
    assert pods and all(ipaddress.ip_address(p["status"]["podIP"]) in ipaddress.ip_network("10.30.0.0/22") for p in pods)
    usage = {u.id.rsplit("/", 1)[-1]: u.current_value for u in sdk.network.virtual_networks.list_usage(group, "legacy")}
    assert usage["nodes"] == 2 + 2 * 30  # each node's NIC and its 30 pre-allocated pod addresses


def test_usage_of_a_missing_vnet_is_404(sdk, group):
    assert _error(lambda: list(sdk.network.virtual_networks.list_usage(group, unique("ghost")))).status_code == 404
