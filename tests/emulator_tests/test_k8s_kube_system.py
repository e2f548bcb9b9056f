"""kube-system as on a real AKS cluster: Cilium installed by Helm (the seed's labels, no node selector), the other
add-ons in every mode and azure-cns in the VNet modes, and the PodDisruptionBudgets that hold a drain back."""

import time

from kubernetes import client

from tests.emulator_tests.k8s_fixtures import (api_client_for, k8s_ca, k8s_cluster, k8s_factory, kube,  # noqa: F401  pylint: disable=unused-import
                                               raw_request)

# pylint: disable=redefined-outer-name

HELM = {"app.kubernetes.io/managed-by": "Helm", "helm.toolkit.fluxcd.io/name": "cilium-adapter-helmrelease",
        "kubernetes.azure.com/managedby": "aks"}


def test_cilium_carries_the_seeds_labels_and_schedules_by_affinity(kube):
    apps = client.AppsV1Api(kube)
    ds = apps.read_namespaced_daemon_set("cilium", "kube-system")
    operator = apps.read_namespaced_deployment("cilium-operator", "kube-system")
    assert ds.metadata.labels == dict(HELM, **{"k8s-app": "cilium"})
    assert operator.metadata.labels == dict(HELM, **{"io.cilium/app": "operator", "name": "cilium-operator"})
    assert ds.spec.template.spec.node_selector is None
    terms = ds.spec.template.spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_terms
    assert [(e.key, e.operator, e.values) for e in terms[0].match_expressions] == [
        ("kubernetes.azure.com/ebpf-dataplane", "In", ["cilium"]), ("kubernetes.io/os", "In", ["linux"])]
    assert ds.status.desired_number_scheduled == 3 == ds.status.number_ready


def test_the_agent_stays_off_nodes_the_affinity_excludes(kube, k8s_cluster):
    core = client.CoreV1Api(kube)
    node = sorted(n.metadata.name for n in core.list_node().items)[0]
    core.patch_node(node, {"metadata": {"labels": {"kubernetes.azure.com/ebpf-dataplane": "azure"}}})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        on_node = [p for p in core.list_namespaced_pod("kube-system", label_selector="k8s-app=cilium").items
                   if p.spec.node_name == node and not p.metadata.deletion_timestamp]
        if not on_node:
            break
        time.sleep(0.1)
    assert not on_node
    assert client.AppsV1Api(kube).read_namespaced_daemon_set("cilium", "kube-system").status.desired_number_scheduled == 2
    k8s_cluster.wait_idle()


def workloads(kube):
    apps = client.AppsV1Api(kube)
    return ({d.metadata.name: d for d in apps.list_namespaced_daemon_set("kube-system").items},
            {d.metadata.name: d for d in apps.list_namespaced_deployment("kube-system").items})


def test_overlay_clusters_run_the_aks_add_ons(kube, k8s_cluster):
    k8s_cluster.wait_idle()
    daemonsets, deployments = workloads(kube)
    assert sorted(daemonsets) == ["cilium", "cloud-node-manager", "csi-azuredisk-node", "csi-azurefile-node"]
    assert sorted(deployments) == ["cilium-operator", "coredns", "konnectivity-agent", "metrics-server"]
    assert all(d.status.number_ready == 3 for d in daemonsets.values())
    assert all(d.status.ready_replicas == 2 for d in deployments.values())
    assert daemonsets["cloud-node-manager"].metadata.labels["kubernetes.azure.com/managedby"] == "aks"


def test_vnet_clusters_also_run_azure_cns(k8s_factory, tmp_path):
    cluster = k8s_factory(network_profile={"networkPlugin": "azure", "networkDataplane": "cilium", "networkPolicy": "cilium"})
    daemonsets, _unused = workloads(api_client_for(cluster, tmp_path))
    assert "azure-cns" in daemonsets and daemonsets["azure-cns"].spec.template.spec.host_network is True


def test_pod_disruption_budgets_count_healthy_pods_and_block_when_one_is_down(kube, k8s_cluster):
    k8s_cluster.wait_idle()
    policy = client.PolicyV1Api(kube)
    budgets = {b.metadata.name: b for b in policy.list_namespaced_pod_disruption_budget("kube-system").items}
    assert sorted(budgets) == ["coredns-pdb", "konnectivity-agent", "metrics-server-pdb"]
    coredns = budgets["coredns-pdb"]
    assert coredns.spec.min_available == 1 and coredns.spec.selector.match_labels == {"k8s-app": "kube-dns"}
    assert (coredns.status.current_healthy, coredns.status.desired_healthy, coredns.status.disruptions_allowed,
            coredns.status.expected_pods) == (2, 1, 1, 2)
    assert [(c.type, c.status, c.reason) for c in coredns.status.conditions] == [("DisruptionAllowed", "True", "SufficientPods")]
    k8s_cluster.stall("k8s-app=kube-dns")  # a new coredns pod never becomes ready
    core = client.CoreV1Api(kube)
    victim = core.list_namespaced_pod("kube-system", label_selector="k8s-app=kube-dns").items[0]
    core.delete_namespaced_pod(victim.metadata.name, "kube-system")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = policy.read_namespaced_pod_disruption_budget("coredns-pdb", "kube-system").status
        if status.disruptions_allowed == 0 and status.expected_pods == 2:
            break
        time.sleep(0.1)
    assert (status.current_healthy, status.disruptions_allowed) == (1, 0)
    assert [(c.status, c.reason) for c in status.conditions] == [("False", "InsufficientPods")]
