"""managedClusters through the real ContainerServiceClient: lifecycle, defaults, LRO protocol, migrations."""

import time

import pytest
import yaml

from .conftest import cluster_body, unique, vnet_body

AKS_API = "?api-version=2026-08-01"


def _error(call):
    from azure.core.exceptions import HttpResponseError  # pylint: disable=import-outside-toplevel
    with pytest.raises(HttpResponseError) as caught:
        call()
    return caught.value


def _url(raw, sdk, group, name, suffix=""):
    return "%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/%s%s%s" % (
        raw.base, sdk.subscription_id, group, name, suffix, AKS_API)


def _kubeconfig(credentials):
    return yaml.safe_load(credentials.kubeconfigs[0].value)  # the SDK already decoded the base64


def _lifecycle(sdk, group, name, body):
    clusters = sdk.aks.managed_clusters
    created = clusters.begin_create_or_update(group, name, body).result().as_dict()
    assert created["properties"]["provisioningState"] == "Succeeded"
    assert clusters.get(group, name).as_dict() == created

    body["tags"] = {"owner": "ci"}
    updated = clusters.begin_create_or_update(group, name, body).result()
    assert updated.tags == {"owner": "ci"} and updated.properties.provisioning_state == "Succeeded"
    patched = clusters.begin_update_tags(group, name, {"tags": {"owner": "ci", "tier": "dev"}}).result()
    assert patched.tags == {"owner": "ci", "tier": "dev"}

    user, admin = (_kubeconfig(clusters.list_cluster_user_credentials(group, name)),
                   _kubeconfig(clusters.list_cluster_admin_credentials(group, name)))
    assert user["users"][0]["name"] == "clusterUser_%s_%s" % (group, name)
    assert admin["users"][0]["name"] == "clusterAdmin_%s_%s" % (group, name)
    assert admin["current-context"] == name + "-admin"
    assert user["clusters"][0]["cluster"]["server"].startswith("https://")

    clusters.begin_delete(group, name).result()
    assert _error(lambda: clusters.get(group, name)).status_code == 404
    return created


def test_overlay_cilium_cluster_lifecycle(sdk, group):
    created = _lifecycle(sdk, group, "overlay", cluster_body())
    network = created["properties"]["networkProfile"]
    assert (network["networkPlugin"], network["networkPluginMode"], network["networkDataplane"],
            network["networkPolicy"]) == ("azure", "overlay", "cilium", "cilium")
    assert created["properties"]["agentPoolProfiles"][0]["maxPods"] == 250


def test_vnet_mode_cilium_cluster_lifecycle(sdk, group):
    vnet = sdk.network.virtual_networks.begin_create_or_update(
        group, "vnet", vnet_body(("nodes", "10.10.0.0/24"), ("pods", "10.10.16.0/20"))).result()
    nodes, pods = (s.id for s in vnet.properties.subnets)
    body = cluster_body({"networkPlugin": "azure", "networkDataplane": "cilium", "networkPolicy": "cilium",
                         "serviceCidr": "10.0.0.0/16", "dnsServiceIP": "10.0.0.10"},
                        [{"name": "system", "count": 3, "mode": "System", "vnetSubnetID": nodes, "podSubnetID": pods,
                          "podIPAllocationMode": "DynamicIndividual"}])
    created = _lifecycle(sdk, group, "vnetmode", body)
    pool = created["properties"]["agentPoolProfiles"][0]
    assert (pool["vnetSubnetID"], pool["podSubnetID"], pool["maxPods"]) == (nodes, pods, 110)
    assert "podCidr" not in created["properties"]["networkProfile"]


def test_defaults_and_shape_of_a_created_cluster(sdk, group, raw):
    body = cluster_body({"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium"})
    del body["properties"]["kubernetesVersion"]
    reply = raw.put(_url(raw, sdk, group, "shape"), json=body)
    assert reply.status_code == 201
    assert reply.json()["properties"]["provisioningState"] == "Creating"
    assert "/providers/Microsoft.ContainerService/locations/westeurope/operations/" in reply.headers["Azure-AsyncOperation"]
    assert reply.headers["Retry-After"] == "1"
    operation = raw.get(reply.headers["Azure-AsyncOperation"]).json()
    assert operation["status"] == "Succeeded" and set(operation) >= {"name", "startTime", "endTime"}

    cluster = raw.get(_url(raw, sdk, group, "shape")).json()
    props, network = cluster["properties"], cluster["properties"]["networkProfile"]
    assert cluster["type"] == "Microsoft.ContainerService/ManagedClusters"
    assert "/resourcegroups/%s/" % group in cluster["id"]
    assert props["kubernetesVersion"] == props["currentKubernetesVersion"] == "1.33.2"
    assert props["fqdn"].startswith("demo-") and props["fqdn"].endswith(".hcp.westeurope.azmk8s.io")
    assert props["nodeResourceGroup"] == "MC_%s_shape_westeurope" % group
    assert network["networkPolicy"] == "cilium"  # filled in from the dataplane, like AKS
    assert (network["podCidr"], network["podCidrs"]) == ("10.244.0.0/16", ["10.244.0.0/16"])
    assert (network["serviceCidr"], network["serviceCidrs"], network["dnsServiceIP"]) == (
        "10.0.0.0/16", ["10.0.0.0/16"], "10.0.0.10")
    assert sdk.resources.resource_groups.get(props["nodeResourceGroup"]).managed_by == cluster["id"]

    plain = cluster_body({"networkPlugin": "azure", "networkPluginMode": "overlay"})
    plain_network = raw.put(_url(raw, sdk, group, "plain"), json=plain).json()["properties"]["networkProfile"]
    assert (plain_network["networkDataplane"], plain_network["networkPolicy"]) == ("azure", "none")


def test_missing_cluster_is_the_gateway_404(raw, sdk, group):
    reply = raw.get(_url(raw, sdk, group, "ghost"))
    assert reply.status_code == 404 and reply.headers["x-ms-failure-cause"] == "gateway"
    assert reply.json()["error"]["code"] == "ResourceNotFound"
    assert "Microsoft.ContainerService/managedClusters/ghost" in reply.json()["error"]["message"]
    assert raw.delete(_url(raw, sdk, group, "ghost")).status_code == 204


def test_update_is_200_updating_and_delete_is_202_with_both_headers(raw, sdk, group):
    url = _url(raw, sdk, group, "proto")
    assert raw.put(url, json=cluster_body()).status_code == 201
    update = raw.put(url, json=cluster_body())
    assert update.status_code == 200 and update.json()["properties"]["provisioningState"] == "Updating"
    raw.get(update.headers["Azure-AsyncOperation"])
    delete = raw.delete(url)
    assert delete.status_code == 202
    assert "/operationresults/" in delete.headers["Location"] and "/operations/" in delete.headers["Azure-AsyncOperation"]
    assert raw.get(delete.headers["Location"]).status_code == 204
    assert raw.get(url).status_code == 404


def test_operation_not_allowed_while_creating_then_delete_preempts(emulator, raw, sdk, group):
    # this create takes an hour: the cluster stays Creating until something ends it
    emulator.add_fault(method="PUT", path=r"/managedClusters/busy$", provision_delay=3600)
    url = _url(raw, sdk, group, "busy")
    create = raw.put(url, json=cluster_body())
    assert raw.get(create.headers["Azure-AsyncOperation"]).json()["status"] == "InProgress"
    assert raw.get(url).json()["properties"]["provisioningState"] == "Creating"
    busy = raw.put(url, json=cluster_body())
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "OperationNotAllowed"
    assert "Another operation (Creating) is in progress" in busy.json()["error"]["message"]
    delete = raw.delete(url)
    preempted = raw.get(create.headers["Azure-AsyncOperation"]).json()
    assert preempted["status"] == "Canceled" and preempted["error"]["code"] == "AKSOperationPreemptedByDelete"
    assert raw.get(delete.headers["Azure-AsyncOperation"]).json()["status"] == "Succeeded"


def test_finish_operations_ends_a_held_provisioning(emulator, sdk, group):
    emulator.add_fault(method="PUT", path=r"/managedClusters/held$", provision_delay=3600)
    poller = sdk.aks.managed_clusters.begin_create_or_update(group, "held", cluster_body())
    assert emulator.arm.cluster(group, "held")["properties"]["provisioningState"] == "Creating"
    emulator.arm.finish_operations()
    assert poller.result().properties.provisioning_state == "Succeeded"


def drained_pods_rescheduled(emulator, group, name, timeout=20.0):
    """Wait until the pods a reimage moved are ready again: until then coredns-pdb blocks the next drain, as on AKS."""
    handle = emulator.arm.kube.handles[emulator.arm.cluster(group, name)["id"].lower()]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        budget = handle.store.get("policy/poddisruptionbudgets", "kube-system", "coredns-pdb") or {}
        if (budget.get("status") or {}).get("disruptionsAllowed", 0) > 0:
            return
        time.sleep(0.05)
    raise AssertionError("coredns did not become ready again in %.0fs" % timeout)


def test_allowed_migrations_in_order(sdk, group, emulator):
    """kubenet -> Azure CNI Overlay (IPAM first), then azure -> cilium dataplane with policy cilium in the same PUT."""
    clusters = sdk.aks.managed_clusters
    kubenet = cluster_body({"networkPlugin": "kubenet", "podCidr": "10.244.0.0/16"})
    clusters.begin_create_or_update(group, "mig", kubenet).result()

    overlay = cluster_body({"networkPlugin": "azure", "networkPluginMode": "overlay", "podCidr": "10.244.0.0/16"})
    network = clusters.begin_create_or_update(group, "mig", overlay).result().properties.network_profile
    assert (network.network_plugin, network.network_plugin_mode, network.network_dataplane) == ("azure", "overlay", "azure")
    drained_pods_rescheduled(emulator, group, "mig")

    cilium = cluster_body({"networkPlugin": "azure", "networkPluginMode": "overlay", "podCidr": "10.244.0.0/16",
                           "networkDataplane": "cilium", "networkPolicy": "cilium"})
    network = clusters.begin_create_or_update(group, "mig", cilium).result().properties.network_profile
    assert (network.network_dataplane, network.network_policy) == ("cilium", "cilium")

    expanded = cluster_body(dict(cilium["properties"]["networkProfile"], podCidr="10.240.0.0/12"))
    assert clusters.begin_create_or_update(group, "mig", expanded).result().properties.network_profile.pod_cidr == "10.240.0.0/12"


def test_acns_toggle_and_scale_are_plain_updates(sdk, group):
    clusters = sdk.aks.managed_clusters
    body = cluster_body()
    clusters.begin_create_or_update(group, "acns", body).result()
    body["properties"]["networkProfile"]["advancedNetworking"] = {"enabled": True}
    body["properties"]["agentPoolProfiles"][0]["count"] = 5
    cluster = clusters.begin_create_or_update(group, "acns", body).result().as_dict()["properties"]
    assert cluster["networkProfile"]["advancedNetworking"] == {"enabled": True, "observability": {"enabled": True},
                                                               "security": {"enabled": True,  # SDK: FQDN by default
                                                                            "advancedNetworkPolicies": "FQDN"}}
    assert cluster["agentPoolProfiles"][0]["count"] == 5


def test_agent_pools_are_views_of_the_cluster(sdk, group):
    clusters, pools = sdk.aks.managed_clusters, sdk.aks.agent_pools
    clusters.begin_create_or_update(group, "pools", cluster_body()).result()
    assert [p.name for p in pools.list(group, "pools")] == ["system"]
    user = pools.begin_create_or_update(group, "pools", "user", {"properties": {"count": 2, "mode": "User"}}).result()
    assert user.properties.provisioning_state == "Succeeded" and user.properties.max_pods == 250
    assert sorted(p["name"] for p in clusters.get(group, "pools").as_dict()["properties"]["agentPoolProfiles"]) == [
        "system", "user"]
    pools.begin_delete(group, "pools", "user").result()
    assert [p.name for p in pools.list(group, "pools")] == ["system"]
    last = _error(lambda: pools.begin_delete(group, "pools", "system"))
    assert last.error.code == "MustDefineAtLeastOneSystemPool"


def test_admin_credentials_refused_when_local_accounts_are_disabled(sdk, group):
    name = unique("local")
    sdk.aks.managed_clusters.begin_create_or_update(group, name, cluster_body(disableLocalAccounts=True)).result()
    error = _error(lambda: sdk.aks.managed_clusters.list_cluster_admin_credentials(group, name))
    assert error.error.code == "BadRequest"
    assert sdk.aks.managed_clusters.list_cluster_user_credentials(group, name).kubeconfigs
