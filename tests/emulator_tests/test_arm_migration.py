"""Network migrations end to end in the emulator: legacy modes with NPM or Calico, reimaged nodes, drain failures."""

import time

import pytest

from tests.emulator.k8s.api import WriteOptions

from .conftest import cluster_body

USER = WriteOptions(manager="test")
NODE_SUBNET_NPM = {"networkPlugin": "azure", "networkDataplane": "azure", "networkPolicy": "azure"}
KUBENET_CALICO = {"networkPlugin": "kubenet", "networkPolicy": "calico", "podCidr": "10.244.0.0/16"}


def _error(call):
    from azure.core.exceptions import HttpResponseError  # pylint: disable=import-outside-toplevel
    with pytest.raises(HttpResponseError) as caught:
        call()
    return caught.value


def _handle(emulator, group, name):
    return emulator.arm.kube.handles[emulator.arm.cluster(group, name)["id"].lower()]


def _names(handle, key, namespace=None):
    return sorted(o["metadata"]["name"] for o in handle.store.objects(key, namespace))


def _settled(handle, check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with handle.store.lock:
            if check():
                return True
        time.sleep(0.05)
    return False


def _ds_ready(handle, namespace, name):
    ds = handle.store.get("apps/daemonsets", namespace, name)
    status = (ds or {}).get("status") or {}
    return ds is not None and status.get("desiredNumberScheduled", 0) > 0 and \
        status.get("numberReady") == status.get("desiredNumberScheduled")


def _create(sdk, group, name, network_profile, **props):
    return sdk.aks.managed_clusters.begin_create_or_update(group, name, cluster_body(network_profile, **props)).result()


def _workload_with_pdb(handle, name, replicas, pdb_spec):
    rtype = handle.api.registry.get
    labels = {"app": name}
    handle.api.create(rtype("apps", "v1", "deployments"), "default", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": "nginx"}]}}}},
        USER)
    handle.api.create(rtype("policy", "v1", "poddisruptionbudgets"), "default", {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name, "namespace": "default"},
        "spec": dict(pdb_spec, selector={"matchLabels": labels})}, USER)


def test_node_subnet_cluster_runs_npm_not_cilium(sdk, group, emulator):
    _create(sdk, group, "npm", NODE_SUBNET_NPM)
    handle = _handle(emulator, group, "npm")
    assert _settled(handle, lambda: _ds_ready(handle, "kube-system", "azure-npm"))
    assert handle.store.get("apps/daemonsets", "kube-system", "cilium") is None
    assert handle.store.get("apps/deployments", "kube-system", "cilium-operator") is None
    assert handle.api.registry.get("cilium.io", "v2", "ciliumnetworkpolicies") is None
    for node in handle.store.objects("/nodes"):
        labels = node["metadata"]["labels"]
        assert "kubernetes.azure.com/ebpf-dataplane" not in labels and "kubernetes.azure.com/azure-cni-overlay" not in labels
    ds = handle.store.get("apps/daemonsets", "kube-system", "azure-npm")
    assert ds["status"]["desiredNumberScheduled"] == 3
    assert _settled(handle, lambda: (handle.store.get("policy/poddisruptionbudgets", "kube-system", "coredns-pdb")
                                     .get("status") or {}).get("disruptionsAllowed") == 1)


def test_kubenet_calico_cluster_runs_the_tigera_install(sdk, group, emulator):
    _create(sdk, group, "calico", KUBENET_CALICO)
    handle = _handle(emulator, group, "calico")
    assert _settled(handle, lambda: _ds_ready(handle, "calico-system", "calico-node"))
    assert _names(handle, "apps/deployments", "calico-system") == ["calico-kube-controllers", "calico-typha"]
    assert _names(handle, "apps/deployments", "tigera-operator") == ["tigera-operator"]
    typha = handle.store.get("policy/poddisruptionbudgets", "calico-system", "calico-typha")
    assert typha["spec"]["maxUnavailable"] == 1
    assert _settled(handle, lambda: (handle.store.get("policy/poddisruptionbudgets", "calico-system", "calico-typha")
                                     .get("status") or {}).get("expectedPods") == 2)
    assert "kubernetes.azure.com/azure-cni-overlay" not in next(iter(handle.store.objects("/nodes")))["metadata"]["labels"]


def test_pdb_status_follows_the_disruption_controller(sdk, group, emulator):
    _create(sdk, group, "pdb", NODE_SUBNET_NPM)
    handle = _handle(emulator, group, "pdb")
    _workload_with_pdb(handle, "web", 2, {"maxUnavailable": 0})
    _workload_with_pdb(handle, "api", 3, {"minAvailable": "50%"})

    def status(name):
        return (handle.store.get("policy/poddisruptionbudgets", "default", name) or {}).get("status") or {}
    assert _settled(handle, lambda: status("web").get("currentHealthy") == 2 and status("api").get("currentHealthy") == 3)
    assert (status("web")["expectedPods"], status("web")["desiredHealthy"], status("web")["disruptionsAllowed"]) == (2, 2, 0)
    assert (status("api")["expectedPods"], status("api")["desiredHealthy"], status("api")["disruptionsAllowed"]) == (3, 2, 1)
    assert status("web")["conditions"][0]["reason"] == "InsufficientPods"


def test_dataplane_migration_reimages_every_node(sdk, group, emulator):
    _create(sdk, group, "mig", NODE_SUBNET_NPM)
    handle = _handle(emulator, group, "mig")
    assert _settled(handle, lambda: _ds_ready(handle, "kube-system", "azure-npm"))
    before = _names(handle, "/nodes")
    emulator.arm.settings.migration_delay = 1.5
    poller = sdk.aks.managed_clusters.begin_create_or_update(group, "mig", cluster_body(
        dict(NODE_SUBNET_NPM, networkDataplane="cilium", networkPolicy="cilium")))
    assert emulator.arm.cluster(group, "mig")["properties"]["provisioningState"] == "Updating"
    assert all(n["spec"].get("unschedulable") for n in handle.store.objects("/nodes"))  # the drain has begun
    started = time.monotonic()
    assert poller.result().properties.network_profile.network_dataplane == "cilium"
    assert time.monotonic() - started >= 1.0
    after = _names(handle, "/nodes")
    assert len(after) == 3 and not set(after) & set(before)
    assert _settled(handle, lambda: _ds_ready(handle, "kube-system", "cilium")
                    and handle.store.get("apps/daemonsets", "kube-system", "azure-npm") is None)
    assert not [p for p in handle.store.objects("/pods", "kube-system") if p["metadata"]["name"].startswith("azure-npm")]
    assert all(n["metadata"]["labels"]["kubernetes.azure.com/ebpf-dataplane"] == "cilium"
               for n in handle.store.objects("/nodes"))
    assert _settled(handle, lambda: sorted({p["spec"].get("nodeName") for p in handle.store.objects("/pods", "kube-system")
                                            if p["metadata"]["name"].startswith("coredns")}) <= after
                    and len([p for p in handle.store.objects("/pods", "kube-system")
                             if p["metadata"]["name"].startswith("coredns")]) == 2)


def test_a_pdb_that_allows_no_disruption_fails_the_migration_like_aks(sdk, group, emulator):
    _create(sdk, group, "blocked", NODE_SUBNET_NPM)
    handle = _handle(emulator, group, "blocked")
    _workload_with_pdb(handle, "web", 2, {"maxUnavailable": 0})
    assert _settled(handle, lambda: ((handle.store.get("policy/poddisruptionbudgets", "default", "web").get("status") or {})
                                     .get("currentHealthy") == 2))
    before = _names(handle, "/nodes")
    error = _error(lambda: sdk.aks.managed_clusters.begin_create_or_update(group, "blocked", cluster_body(
        dict(NODE_SUBNET_NPM, networkDataplane="cilium", networkPolicy="cilium"))).result())
    assert error.error.code == "UpgradeFailed"
    assert "failed with Too Many Requests error" in error.message and "blocked by pdb web" in error.message
    assert "Cannot evict pod as it would violate the pod's disruption budget" in error.message
    assert emulator.arm.cluster(group, "blocked")["properties"]["provisioningState"] == "Failed"
    assert _names(handle, "/nodes") == before
    assert not any(n["spec"].get("unschedulable") for n in handle.store.objects("/nodes"))
    assert handle.store.get("apps/daemonsets", "kube-system", "azure-npm") is not None
    assert handle.store.get("apps/daemonsets", "kube-system", "cilium") is None


def test_kubenet_calico_to_overlay_cilium_in_aks_order(sdk, group, emulator):
    clusters = sdk.aks.managed_clusters
    _create(sdk, group, "kc", KUBENET_CALICO)
    handle = _handle(emulator, group, "kc")
    overlay = {"networkPlugin": "azure", "networkPluginMode": "overlay", "podCidr": "10.244.0.0/16"}
    error = _error(lambda: clusters.begin_create_or_update(group, "kc", cluster_body(
        dict(overlay, networkPolicy="calico"))).result())
    assert error.error.code == "ValidationError"
    assert "Cannot update cluster to Azure CNI Overlay while using network policies" in error.message

    before = _names(handle, "/nodes")
    clusters.begin_create_or_update(group, "kc", cluster_body(dict(KUBENET_CALICO, networkPolicy="none"))).result()
    assert _settled(handle, lambda: handle.store.get("/namespaces", "", "calico-system") is None)
    assert _names(handle, "/nodes") == before  # uninstalling the engine alone reimages nothing
    clusters.begin_create_or_update(group, "kc", cluster_body(dict(overlay, networkPolicy="none"))).result()
    assert all(n["metadata"]["labels"].get("kubernetes.azure.com/azure-cni-overlay") == "true"
               for n in handle.store.objects("/nodes"))
    mid = _names(handle, "/nodes")
    # the reimage moved coredns: until its pods are ready again, coredns-pdb blocks the next drain (as on AKS)
    assert _settled(handle, lambda: (handle.store.get("policy/poddisruptionbudgets", "kube-system", "coredns-pdb")
                                     .get("status") or {}).get("disruptionsAllowed", 0) > 0)
    clusters.begin_create_or_update(group, "kc", cluster_body(
        dict(overlay, networkDataplane="cilium", networkPolicy="cilium"))).result()
    assert not set(_names(handle, "/nodes")) & set(mid)
    assert _settled(handle, lambda: _ds_ready(handle, "kube-system", "cilium"))


def test_node_auto_provisioning_and_windows_pools_can_be_present(sdk, group, emulator):
    pools = [{"name": "system", "count": 2, "vmSize": "Standard_D2s_v3", "mode": "System", "osType": "Linux"},
             {"name": "win", "count": 1, "vmSize": "Standard_D4s_v3", "mode": "User", "osType": "Windows"}]
    _create(sdk, group, "mixed", NODE_SUBNET_NPM, pools=pools, nodeProvisioningProfile={"mode": "Auto"})
    assert emulator.arm.cluster(group, "mixed")["properties"]["nodeProvisioningProfile"] == {"mode": "Auto"}
    handle = _handle(emulator, group, "mixed")
    windows = [n for n in handle.store.objects("/nodes") if n["metadata"]["labels"]["kubernetes.io/os"] == "windows"]
    assert [n["metadata"]["name"] for n in windows] == ["win000000"]
    assert _settled(handle, lambda: _ds_ready(handle, "kube-system", "azure-npm"))
    assert handle.store.get("apps/daemonsets", "kube-system", "azure-npm")["status"]["desiredNumberScheduled"] == 2
    error = _error(lambda: sdk.aks.managed_clusters.begin_create_or_update(group, "mixed", cluster_body(
        dict(NODE_SUBNET_NPM, networkDataplane="cilium", networkPolicy="cilium"), pools=pools,
        nodeProvisioningProfile={"mode": "Auto"})).result())
    assert error.error.code == "BadRequest" and "node auto-provisioning" in error.message


def test_a_budget_fixed_while_the_drain_retries_lets_the_migration_finish(sdk, group, emulator):
    """AKS retries refused evictions until its drain timeout: the budgets count as they are when the operation ends."""
    _create(sdk, group, "retry", NODE_SUBNET_NPM)
    handle = _handle(emulator, group, "retry")
    _workload_with_pdb(handle, "web", 2, {"maxUnavailable": 0})
    # the Deployment's pods are created and scheduled by the controllers, not by the create call
    assert _settled(handle, lambda: handle.drain_blocker() is not None)
    emulator.arm.settings.migration_delay = 1.5
    poller = sdk.aks.managed_clusters.begin_create_or_update(group, "retry", cluster_body(
        dict(NODE_SUBNET_NPM, networkDataplane="cilium", networkPolicy="cilium")))
    assert handle.drain_blocker() is not None  # refused now...
    pdb = handle.store.get("policy/poddisruptionbudgets", "default", "web")
    fixed = dict(pdb, spec=dict(pdb["spec"], maxUnavailable=1))
    handle.api.write(handle.api.registry.get("policy", "v1", "poddisruptionbudgets"), pdb, fixed, USER)
    assert poller.result().properties.network_profile.network_dataplane == "cilium"  # ...fine by the end
    assert emulator.arm.cluster(group, "retry")["properties"]["provisioningState"] == "Succeeded"
