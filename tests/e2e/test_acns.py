# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Advanced Container Networking Services end to end: aks_cilium_cluster's ACNS options, what the cluster then
runs (cilium_status, the real kubectl), cilium_policy's lint taking the policy mode from the cluster, flow-log
objects, the pre-flight rules, re-runs and check mode, judged by the emulators' request logs."""

from __future__ import annotations

import os
import time

import pytest
import yaml

from tests.e2e.arm import Arm
from tests.e2e.test_aks_cluster import make_cluster, overlay_args, playbook, run_logged, task, unique
from tests.emulator.requestlog import writes

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WG_KEY = "network.cilium.io/wg-pub-key"
L7_POLICY = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "l7-get", "namespace": "default"},
             "spec": {"endpointSelector": {"matchLabels": {"app": "api"}}, "ingress": [{"toPorts": [{
                 "ports": [{"port": "8080", "protocol": "TCP"}], "rules": {"http": [{"method": "GET", "path": "/"}]}}]}]}}
FQDN_POLICY = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
               "metadata": {"name": "fqdn-egress", "namespace": "default"},
               "spec": {"endpointSelector": {"matchLabels": {"app": "api"}}, "egress": [
                   {"toEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s-app": "kube-dns"}}],
                    "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}], "rules": {"dns": [{"matchPattern": "*.example.com"}]}}]},
                   {"toFQDNs": [{"matchPattern": "*.example.com"}]}]}}
FLOW_LOG = {"apiVersion": "acn.azure.com/v1alpha1", "kind": "ContainerNetworkLog", "metadata": {"name": "drops"},
            "spec": {"includefilters": [{"name": "dropped", "verdict": ["dropped"], "protocol": ["tcp", "udp"]}]}}
FULL = dict(observability=True, network_policies="l7", transit_encryption="wireguard")


def cluster_task(group, name, acns=None, **options):
    args = overlay_args(group, name, **options)
    if acns is not None:
        args["advanced_networking"] = acns
    return task("aks_cilium_cluster", args, name="cluster", register="cluster")


def handle_of(emulator, group, name):
    cluster = Arm(emulator).cluster(group, name)
    return emulator.arm.kube.handles[cluster["id"].lower()]


class Kube(object):
    """The cluster's Kubernetes side: a kubeconfig for the modules and kubectl, its request log."""

    def __init__(self, emulator, group, name, tmp_path):
        self.handle = handle_of(emulator, group, name)
        self.path = str(tmp_path / ("kubeconfig-" + name))
        with open(self.path, "w", encoding="utf-8") as out:
            out.write(self.handle.kubeconfig(admin=True))
        os.chmod(self.path, 0o600)

    def kubectl(self, *args):
        import subprocess  # pylint: disable=import-outside-toplevel
        done = subprocess.run(["kubectl", "--kubeconfig", self.path, "--request-timeout=60s"] + list(args),
                              capture_output=True, text=True, timeout=120, check=False,
                              env=dict(os.environ, KUBECACHEDIR=os.path.join(os.path.dirname(self.path), ".kcache")))
        assert done.returncode == 0, done.stderr
        return done.stdout

    def run(self, ansible, *tasks, **kwargs):
        """Run tasks; (result, the Kubernetes write requests they sent)."""
        since = time.time()
        result = ansible(playbook(*tasks), **kwargs)
        return result, writes([e for e in self.handle.requests() if e.get("time", 0) >= since])

    def status_task(self, **options):
        return task("cilium_status", dict(dict(kubeconfig=self.path, wait=True, wait_timeout=60), **options), name="status")

    def policy_task(self, definition, **options):
        return task("cilium_policy", dict(dict(kubeconfig=self.path, definition=definition, policy_set="acns"), **options),
                    name="policy")


def test_l7_and_wireguard_then_fqdn(emulator, ansible, tmp_path):
    group, name = unique("e2e-acns"), unique("acns")
    create = playbook(task("aks_network", dict(resource_group=group, location="westeurope"), name="group"),
                      cluster_task(group, name, FULL, container_network_logs=True),
                      task("aks_cilium_cluster_info", dict(name=name, resource_group=group,
                                                           query="networkProfile.advancedNetworking"), name="info"))
    created, sent = run_logged(emulator, ansible, create)
    assert created.rc == 0, created.stdout
    assert [e["method"] for e in sent] == ["PUT", "PUT"]
    security = created.task("info")["query_result"]["security"]
    assert (security["advancedNetworkPolicies"], security["transitEncryption"]["type"]) == ("L7", "WireGuard")
    kube = Kube(emulator, group, name, tmp_path)

    # what the cluster runs: Envoy, Hubble Relay, a WireGuard key on every node
    status, k8s_writes = kube.run(ansible, kube.status_task())
    report = status.task("status")
    assert status.rc == 0 and report["healthy"], report["summary"]
    assert k8s_writes == []
    assert report["acns"] == dict(enabled=True, observability=True, security=True, network_policies="l7",
                                  transit_encryption="wireguard", acceleration="none")
    assert report["envoy"]["ready"] == report["envoy"]["desired"] == 3
    assert report["hubble_relay"]["ready"] == report["hubble_relay"]["replicas"] == 1
    assert report["encryption"] == dict(mode="wireguard", nodes=3, nodes_with_key=3, nodes_without_key=[])

    # an L7 policy and a flow-log object pass lint (the mode comes from the cluster) and are applied
    applied, k8s_writes = kube.run(ansible, kube.policy_task([L7_POLICY, FLOW_LOG]))
    assert applied.rc == 0, applied.stdout
    assert applied.task("policy")["acns"]["source"] == "cluster"
    assert [f["check"] for f in applied.task("policy")["lint"]] == []
    assert len(k8s_writes) == 2

    # the real kubectl agrees
    assert "cilium-envoy" in kube.kubectl("get", "ds", "cilium-envoy", "-n", "kube-system")
    nodes = yaml.safe_load(kube.kubectl("get", "ciliumnodes", "-o", "yaml"))["items"]
    assert len(nodes) == 3 and all(n["metadata"]["annotations"].get(WG_KEY) for n in nodes)
    assert "drops" in kube.kubectl("get", "containernetworklogs")

    # re-run: nothing to write
    again, sent = run_logged(emulator, ansible, playbook(cluster_task(group, name, FULL, container_network_logs=True)))
    assert again.rc == 0 and again.changed_tasks == [] and sent == [], again.stdout

    # check mode with a diff of the ACNS fields, no write
    fqdn = dict(FULL, network_policies="fqdn")
    checked, sent = run_logged(emulator, ansible, playbook(cluster_task(group, name, fqdn)), check=True, diff=True)
    assert checked.rc == 0 and sent == [], checked.stdout
    diff = checked.task("cluster")["diff"]
    assert diff["before"]["networkProfile"]["advancedNetworking"]["security"]["advancedNetworkPolicies"] == "L7"
    assert diff["after"]["networkProfile"]["advancedNetworking"]["security"]["advancedNetworkPolicies"] == "FQDN"

    # switch to FQDN: one PUT; the L7 policy now fails lint with no write, an FQDN policy passes
    started = time.time()
    kube.handle.clear_requests()
    switched, sent = run_logged(emulator, ansible, playbook(cluster_task(group, name, fqdn)))
    assert switched.rc == 0, switched.stdout
    assert [e["method"] for e in sent] == ["PUT"]
    arm_requests = list(emulator.requests(since=started))
    print("one ACNS change: %d ARM requests (%d writes), %d Kubernetes requests" % (
        len(arm_requests), len(sent), len(kube.handle.requests())))
    refused, k8s_writes = kube.run(ansible, kube.policy_task([L7_POLICY]))
    assert refused.rc != 0 and k8s_writes == []
    assert [f["check"] for f in refused.task("policy")["lint"]] == ["l7-needs-acns"]
    passed, k8s_writes = kube.run(ansible, kube.policy_task([FQDN_POLICY]))
    assert passed.rc == 0, passed.stdout
    assert passed.task("policy")["acns"]["network_policies"] == "fqdn"
    status, _writes = kube.run(ansible, kube.status_task())
    assert status.task("status")["acns"]["network_policies"] == "fqdn" and status.task("status")["envoy"] is None


# --- every documented rule refuses before any write -----------------------------------------------
PREFLIGHT = {
    "acns-policies-need-security": dict(acns=dict(security=False, network_policies="l7")),
    "acns-wireguard-needs-security": dict(acns=dict(security=False, transit_encryption="wireguard")),
    "acns-fqdn-kubernetes-version": dict(acns=dict(network_policies="fqdn"), kubernetes_version="1.28"),
    "acns-l7-node-limit": dict(acns=dict(network_policies="l7"),
                               system_pool=dict(name="system", enable_auto_scaling=True, min_count=3, max_count=1001)),
    "acns-bpfveth-kubernetes-version": dict(acns=dict(acceleration="bpfveth"), kubernetes_version="1.32",
                                            system_pool=dict(name="system", count=3, os_sku="AzureLinux")),
    "acns-bpfveth-node-os": dict(acns=dict(acceleration="bpfveth"), kubernetes_version="1.33",
                                 system_pool=dict(name="system", count=3, os_sku="Ubuntu")),
    "acns-flow-logs-need-observability": dict(acns=dict(observability=False), container_network_logs=True),
    "acns-flow-logs-kubernetes-version": dict(acns=dict(observability=True), container_network_logs=True,
                                              kubernetes_version="1.32"),
}


@pytest.mark.parametrize("rule", sorted(PREFLIGHT))
def test_preflight_rule_refuses_before_any_write(emulator, ansible, rule):
    group, name = unique("e2e-acns"), unique("bad")
    options = dict(PREFLIGHT[rule])
    refused, sent = run_logged(emulator, ansible, playbook(cluster_task(group, name, options.pop("acns"), **options)))
    assert refused.rc != 0 and sent == [], refused.stdout
    result = refused.task("cluster")
    assert rule in result["failed_rules"], result["msg"]
    assert "[%s]" % rule in result["msg"]


def test_bpfveth_refused_with_static_egress_gateway(emulator, ansible):
    group, name = unique("e2e-acns"), unique("seg")
    make_cluster(emulator, group, name, {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium",
                                         "networkPolicy": "cilium", "podCidr": "192.168.0.0/16",
                                         "staticEgressGatewayProfile": {"enabled": True}}, pool={"osSKU": "AzureLinux"})
    refused, sent = run_logged(emulator, ansible, playbook(task("aks_cilium_cluster", dict(
        name=name, resource_group=group, advanced_networking=dict(acceleration="bpfveth")), name="cluster")))
    assert refused.rc != 0 and sent == [], refused.stdout
    assert refused.task("cluster")["failed_rules"] == ["acns-bpfveth-static-egress"]


def test_wireguard_refused_when_the_node_subnet_nsg_blocks_udp_51871(emulator, ansible):
    group, name = unique("e2e-acns"), unique("nsg")
    arm = Arm(emulator)
    arm.create_group(group)
    rule = {"name": "deny-udp", "properties": {"protocol": "Udp", "sourcePortRange": "*", "destinationPortRange": "50000-52000",
                                               "sourceAddressPrefix": "VirtualNetwork", "destinationAddressPrefix": "*",
                                               "access": "Deny", "priority": 300, "direction": "Inbound"}}
    nsg = arm.create_network(group, "networkSecurityGroups", "nodes-nsg",
                             {"location": "westeurope", "properties": {"securityRules": [rule]}})
    vnet = arm.create_network(group, "virtualNetworks", "vnet", {"location": "westeurope", "properties": {
        "addressSpace": {"addressPrefixes": ["192.168.16.0/22"]},
        "subnets": [{"name": "nodes", "properties": {"addressPrefix": "192.168.16.0/24", "networkSecurityGroup": {"id": nsg["id"]}}},
                    {"name": "pods", "properties": {"addressPrefix": "192.168.17.0/24"}}]}})
    ids = dict((s["name"], s["id"]) for s in vnet["properties"]["subnets"])
    args = dict(name=name, resource_group=group, location="westeurope", ipam_mode="vnet",
                system_pool=dict(name="system", count=3, vnet_subnet_id=ids["nodes"], pod_subnet_id=ids["pods"]),
                advanced_networking=dict(transit_encryption="wireguard"))
    refused, sent = run_logged(emulator, ansible, playbook(task("aks_cilium_cluster", args, name="cluster")))
    assert refused.rc != 0 and sent == [], refused.stdout
    result = refused.task("cluster")
    assert result.get("failed_rules") == ["acns-wireguard-udp-51871"], result.get("msg")
    assert result["failed_rules"] == ["acns-wireguard-udp-51871"] and "deny-udp" in result["msg"]
    args["advanced_networking"] = dict(transit_encryption="none")  # without WireGuard the same NSG is fine
    done, sent = run_logged(emulator, ansible, playbook(task("aks_cilium_cluster", args, name="cluster")))
    assert done.rc == 0, done.stdout
    assert [e["method"] for e in sent if "/managedClusters/" in e["path"]] == ["PUT"]  # (+ the subnet role assignments)


def test_turning_wireguard_on_waits_for_the_agent_rollout(emulator, ansible, tmp_path):
    group, name = unique("e2e-acns"), unique("wg")
    created, _sent = run_logged(emulator, ansible, playbook(
        task("aks_network", dict(resource_group=group, location="westeurope"), name="group"), cluster_task(group, name)))
    assert created.rc == 0, created.stdout
    kube = Kube(emulator, group, name, tmp_path)
    kube.handle.settings.pod_ready_delay = 0.5  # the new agents take a while to become ready
    generation = kube.handle.store.get("apps/daemonsets", "kube-system", "cilium")["metadata"]["generation"]
    started = time.time()
    kube.handle.clear_requests()
    turned, sent = run_logged(emulator, ansible, playbook(cluster_task(group, name, dict(transit_encryption="wireguard"))))
    assert turned.rc == 0, turned.stdout
    result = turned.task("cluster")
    assert [e["method"] for e in sent] == ["PUT"]
    assert result["wireguard"]["nodes"] == result["wireguard"]["nodes_with_key"] == 3
    assert "successfully rolled out" in result["wireguard"]["agent"]
    ds = kube.handle.store.get("apps/daemonsets", "kube-system", "cilium")
    assert ds["metadata"]["generation"] == generation + 1 and ds["status"]["updatedNumberScheduled"] == 3
    assert result["wireguard"]["waited"] > 0.5, "the rollout was over before the task looked: the test proves nothing"
    k8s = kube.handle.requests()
    arm = emulator.requests(since=started)
    print("WireGuard on: %d ARM requests (%d writes), %d Kubernetes requests (%d writes), waited %.1f s" % (
        len(arm), len(sent), len(k8s), len(writes(k8s)), result["wireguard"]["waited"]))
    assert writes(k8s) == []
    again, sent = run_logged(emulator, ansible, playbook(cluster_task(group, name, dict(transit_encryption="wireguard"))))
    assert again.rc == 0 and sent == [] and "wireguard" not in again.task("cluster"), again.stdout


def test_the_acns_playbook_turns_on_l7_and_wireguard_and_reports_the_coverage(emulator, ansible, tmp_path):
    group, name = unique("e2e-acns"), unique("pb")
    created, _sent = run_logged(emulator, ansible, playbook(
        task("aks_network", dict(resource_group=group, location="westeurope"), name="group"), cluster_task(group, name)))
    assert created.rc == 0, created.stdout
    variables = dict(azcni_cluster_name=name, azcni_resource_group=group, azcni_kubeconfig=str(tmp_path / "kubeconfig"))
    done = ansible(os.path.join(REPO, "playbooks", "acns.yml"), extra_vars=variables)
    assert done.rc == 0, done.stdout
    assert done.task("Turn on ACNS on the cluster (waits for the agent rollout WireGuard starts)")["wireguard"]["nodes_with_key"] == 3
    assert "WireGuard keys: 3 of 3 nodes" in done.stdout and "network policies l7" in done.stdout
    again, sent = run_logged(emulator, ansible, os.path.join(REPO, "playbooks", "acns.yml"), extra_vars=variables)
    assert again.rc == 0 and sent == [], again.stdout
