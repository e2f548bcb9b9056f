# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Legacy AKS clusters (kubenet, node subnet, pod subnet; azure data plane; NPM or Calico) made straight
through ARM, as a fleet to migrate would have them, with a kubeconfig and kubectl for each."""

from __future__ import annotations

import os

import yaml

from tests.e2e.arm import Arm
from tests.e2e.conftest import KubeCluster, write_kubeconfig

LOCATION = "westeurope"
USER_IDENTITY = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks-id"
PROFILES = {
    "kubenet": {"networkPlugin": "kubenet", "podCidr": "10.244.0.0/16"},
    "node-subnet": {"networkPlugin": "azure"},
    "pod-subnet": {"networkPlugin": "azure"},
    "overlay": {"networkPlugin": "azure", "networkPluginMode": "overlay", "podCidr": "10.244.0.0/16"},
}


def legacy_body(subscription, group, mode, policy="none", pools=None, **properties):
    network = dict(PROFILES[mode], networkDataplane="azure", networkPolicy=policy)
    body = {"location": LOCATION, "identity": {"type": "SystemAssigned"},
            "properties": dict({"dnsPrefix": "legacy", "agentPoolProfiles": pools or [
                {"name": "system", "mode": "System", "count": 3, "vmSize": "Standard_D4ds_v5", "osType": "Linux"}],
                "networkProfile": network}, **properties)}
    if mode == "kubenet":  # what update-azure-cni asks of a kubenet cluster before its overlay migration
        body["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {USER_IDENTITY % (subscription, group): {}}}
    return body


class Fleet(object):
    """Makes legacy clusters in one resource group; kubeconfigs land under ``home``."""

    def __init__(self, emulator, home, group):
        self.emulator = emulator
        self.arm = Arm(emulator)
        self.subscription = emulator.env["AZURE_SUBSCRIPTION_ID"]
        self.group = group
        self.home = home
        self.arm.create_group(group, LOCATION)

    def pod_subnet_pools(self, name):
        """A VNet with a node and a pod subnet for one pod-subnet (dynamic IP) cluster; its pool list."""
        vnet = self.arm.create_network(self.group, "virtualNetworks", name + "-vnet", {
            "location": LOCATION, "properties": {"addressSpace": {"addressPrefixes": ["10.50.0.0/16"]}, "subnets": [
                {"name": "nodes", "properties": {"addressPrefix": "10.50.0.0/24"}},
                {"name": "pods", "properties": {"addressPrefix": "10.50.16.0/20"}}]}})
        ids = dict((s["name"], s["id"]) for s in vnet["properties"]["subnets"])
        return [{"name": "system", "mode": "System", "count": 3, "vmSize": "Standard_D4ds_v5", "osType": "Linux",
                 "vnetSubnetID": ids["nodes"], "podSubnetID": ids["pods"]}]

    def make(self, name, mode, policy="none", **properties):
        if mode == "pod-subnet" and "pools" not in properties:
            properties["pools"] = self.pod_subnet_pools(name)
        body = legacy_body(self.subscription, self.group, mode, policy, **properties)
        self.arm.create_cluster(self.group, name, body)
        return self.kube(name)

    def kube(self, name):
        home = os.path.join(self.home, "home-" + name)
        path = write_kubeconfig(home, self.arm.kubeconfig(self.group, name))
        return KubeCluster(name, self.group, path, self.emulator.ca_path, home)

    def network_profile(self, name):
        return self.emulator.arm.cluster(self.group, name)["properties"]["networkProfile"]


def apply(kube, *documents):
    """kubectl apply of YAML documents (as dicts)."""
    text = yaml.safe_dump_all(list(documents))
    path = os.path.join(kube.home, "apply.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return kube.kubectl("apply", "-f", path)


def deployment(name, replicas, port_name="http", port=8080, namespace="default"):
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": name, "image": "nginx", "ports": [{"name": port_name, "containerPort": port}]}]}}}}


def pdb(name, namespace="default", **spec):
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name, "namespace": namespace},
            "spec": dict(spec, selector={"matchLabels": {"app": name}})}
