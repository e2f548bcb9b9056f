"""What a new emulated AKS cluster with Azure CNI Powered by Cilium contains; kubeconfigs; ACNS and pool updates."""

import base64
import re
import time

import yaml
from kubernetes import client

from tests.emulator_tests.k8s_fixtures import (api_client_for, k8s_ca, k8s_cluster, k8s_factory, kube,  # noqa: F401  pylint: disable=unused-import
                                               raw_request)

# pylint: disable=redefined-outer-name


def test_kubeconfigs_are_shaped_like_aks(k8s_cluster):
    user = yaml.safe_load(k8s_cluster.kubeconfig(admin=False))
    admin = yaml.safe_load(k8s_cluster.kubeconfig(admin=True))
    assert user["current-context"] == "aks1" and admin["current-context"] == "aks1-admin"
    assert user["users"][0]["name"] == "clusterUser_rg1_aks1" and admin["users"][0]["name"] == "clusterAdmin_rg1_aks1"
    assert user["contexts"][0]["context"] == {"cluster": "aks1", "user": "clusterUser_rg1_aks1"}
    cluster = admin["clusters"][0]
    assert cluster["name"] == "aks1" and cluster["cluster"]["server"] == k8s_cluster.server_url
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]).decode() == k8s_cluster.ca_pem
    assert user["users"][0]["user"]["token"] == k8s_cluster.user_token != k8s_cluster.admin_token


def test_nodes_carry_aks_names_and_labels(kube):
    nodes = client.CoreV1Api(kube).list_node().items
    assert len(nodes) == 3
    for index, node in enumerate(sorted(nodes, key=lambda n: n.metadata.name)):
        assert re.fullmatch(r"aks-nodepool1-\d{8}-vmss00000%d" % index, node.metadata.name)
        labels = node.metadata.labels
        assert labels["kubernetes.azure.com/ebpf-dataplane"] == "cilium" and labels["agentpool"] == "nodepool1"
        assert labels["kubernetes.azure.com/mode"] == "system" and labels["kubernetes.io/os"] == "linux"
        assert labels["node.kubernetes.io/instance-type"] == "Standard_DS2_v2"
        assert labels["topology.kubernetes.io/region"] == "westeurope" and labels["kubernetes.azure.com/cluster"] == "MC_rg1_aks1_westeurope"
        assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"
        assert node.status.node_info.kubelet_version == "v1.33.2"


def test_kube_system_holds_aks_managed_cilium(kube):
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    ds = apps.read_namespaced_daemon_set("cilium", "kube-system")
    assert ds.metadata.labels["k8s-app"] == "cilium" and ds.spec.selector.match_labels == {"k8s-app": "cilium"}
    assert [c.name for c in ds.spec.template.spec.containers] == ["cilium-agent"]
    assert ds.spec.template.metadata.labels["kubernetes.azure.com/ebpf-dataplane"] == "cilium"
    assert ds.spec.update_strategy.rolling_update.max_unavailable == 2
    assert ds.spec.template.spec.containers[0].image.startswith("mcr.microsoft.com/containernetworking/cilium/cilium:v1.17.9")
    operator = apps.read_namespaced_deployment("cilium-operator", "kube-system")
    assert operator.spec.replicas == 2 and operator.metadata.labels["io.cilium/app"] == "operator"
    assert operator.metadata.labels["name"] == "cilium-operator" and operator.status.available_replicas == 2
    assert apps.read_namespaced_deployment("coredns", "kube-system").status.ready_replicas == 2
    dns = core.read_namespaced_service("kube-dns", "kube-system")
    assert dns.spec.cluster_ip == "10.0.0.10" and [(p.port, p.protocol) for p in dns.spec.ports] == [(53, "UDP"), (53, "TCP")]
    config = core.read_namespaced_config_map("cilium-config", "kube-system").data
    assert config["enable-l7-proxy"] == "false" and config["enable-hubble"] == "false"
    assert (config["ipam"], config["routing-mode"], config["kube-proxy-replacement"]) == ("delegated-plugin", "native", "true")
    assert config["identity-allocation-mode"] == "crd" and config["enable-node-selector-labels"] == "false"
    names = [p.metadata.name for p in core.list_namespaced_pod("kube-system").items]
    assert sum(1 for n in names if re.fullmatch(r"cilium-[bcdfghjklmnpqrstvwxz2456789]{5}", n)) == 3
    assert sum(1 for n in names if re.fullmatch(r"cilium-operator-[bcdfghjklmnpqrstvwxz2456789]{8,10}-[bcdfghjklmnpqrstvwxz2456789]{5}", n)) == 2


def test_cilium_runtime_objects_exist(kube, k8s_cluster):
    co = client.CustomObjectsApi(kube)
    nodes = co.list_cluster_custom_object("cilium.io", "v2", "ciliumnodes")["items"]
    assert len(nodes) == 3 and {a["type"] for a in nodes[0]["spec"]["addresses"]} == {"InternalIP", "CiliumInternalIP"}
    endpoints = co.list_namespaced_custom_object("cilium.io", "v2", "kube-system", "ciliumendpoints")["items"]
    assert sorted(e["metadata"]["name"].rsplit("-", 2)[0] for e in endpoints) == [  # the pods not on the host network
        "coredns", "coredns", "konnectivity-agent", "konnectivity-agent", "metrics-server", "metrics-server"]
    assert endpoints[0]["status"]["state"] == "ready" and 256 <= endpoints[0]["status"]["identity"]["id"] <= 65535
    raw_request(k8s_cluster, "POST", "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies", {
        "apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy", "metadata": {"name": "c"},
        "spec": {"endpointSelector": {}, "ingress": [{"fromEntities": ["cluster"]}]}})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        policy = co.get_cluster_custom_object("cilium.io", "v2", "ciliumclusterwidenetworkpolicies", "c")
        if (policy.get("status") or {}).get("conditions"):
            break
        time.sleep(0.05)
    assert policy["status"]["conditions"][0]["type"] == "Valid" and policy["status"]["conditions"][0]["status"] == "True"


def test_acns_toggles_cilium_config_and_hubble_relay(kube, k8s_cluster):
    core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
    k8s_cluster.update(acns={"observability": True, "security": True})
    config = core.read_namespaced_config_map("cilium-config", "kube-system").data
    assert config["enable-l7-proxy"] == "true" and config["enable-hubble"] == "true" and config["hubble-listen-address"] == ":4244"
    assert apps.read_namespaced_deployment("hubble-relay", "kube-system").spec.replicas == 1
    k8s_cluster.update(acns={"observability": False, "security": False})
    config = core.read_namespaced_config_map("cilium-config", "kube-system").data
    assert config["enable-l7-proxy"] == "false" and "hubble-listen-address" not in config
    assert not apps.list_namespaced_deployment("kube-system", field_selector="metadata.name=hubble-relay").items


def test_cluster_options_follow_the_arm_profile(k8s_factory, tmp_path):
    cluster = k8s_factory(kubernetes_version="1.31.5", acns={"observability": True},
                          node_pools=[{"name": "sys", "count": 1, "vmSize": "Standard_D4s_v5", "mode": "System"},
                                      {"name": "work", "count": 2, "vmSize": "Standard_D8s_v5", "mode": "User"}],
                          network_profile={"podCidr": "192.168.0.0/16", "dnsServiceIP": "10.2.0.10", "serviceCidr": "10.2.0.0/16"})
    core = client.CoreV1Api(api_client_for(cluster, tmp_path))
    nodes = {n.metadata.name: n for n in core.list_node().items}
    assert sorted(n.rsplit("-", 2)[0] for n in nodes) == ["aks-sys", "aks-work", "aks-work"]
    work = [n for name, n in nodes.items() if "-work-" in name]
    assert {n.metadata.labels["kubernetes.azure.com/mode"] for n in work} == {"user"}
    assert all(n.spec.pod_cidr.startswith("192.168.") for n in nodes.values())
    assert core.read_namespaced_service("kube-dns", "kube-system").spec.cluster_ip == "10.2.0.10"
    assert core.read_namespaced_service("kubernetes", "default").spec.cluster_ip == "10.2.0.1"
    ds = client.AppsV1Api(core.api_client).read_namespaced_daemon_set("cilium", "kube-system")
    assert ":v1.16.16" in ds.spec.template.spec.containers[0].image and ds.status.desired_number_scheduled == 3
    assert core.read_namespaced_config_map("cilium-config", "kube-system").data["enable-cilium-endpoint-slice"] == "false"
    assert client.VersionApi(core.api_client).get_code().git_version == "v1.31.5"
