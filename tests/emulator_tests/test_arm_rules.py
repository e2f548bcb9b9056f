"""Every AKS validation rule (tests/emulator/arm/rules.py) rejected with its code, through the real SDK."""

import copy
from types import SimpleNamespace

import pytest

from tests.emulator.arm import rules

from .conftest import cluster_body, unique, vnet_body

OVERLAY = {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium", "networkPolicy": "cilium"}
VNET_MODE = {"networkPlugin": "azure", "networkDataplane": "cilium", "networkPolicy": "cilium"}
SYSTEM = {"name": "system", "count": 3, "mode": "System"}
ACNS, BPF = {"enabled": True}, {"accelerationMode": "BpfVeth"}
LOGS = {"containerInsights": {"enabled": True, "containerNetworkLogs": "Enabled"}}


@pytest.fixture(scope="module")
def net(sdk):
    """A resource group with subnets for every case, and existing clusters the update cases change."""
    group = unique("rules")
    sdk.resources.resource_groups.create_or_update(group, {"location": "westeurope"})
    body = vnet_body(("nodes", "10.10.0.0/24"), ("pods", "10.10.16.0/20"), ("tiny", "10.10.1.0/29"),
                     ("sql", "10.10.2.0/24"))
    body["properties"]["subnets"][3]["properties"]["delegations"] = [
        {"name": "sql", "properties": {"serviceName": "Microsoft.Sql/managedInstances"}}]
    subnets = {s.name: s.id for s in sdk.network.virtual_networks.begin_create_or_update(group, "vnet", body).result()
               .properties.subnets}
    other = sdk.network.virtual_networks.begin_create_or_update(
        group, "vnet2", vnet_body(("nodes2", "10.20.0.0/24"), space="10.20.0.0/16")).result().properties.subnets[0].id
    dual = vnet_body(("v6only", "fd00:30::/64"), space="10.30.0.0/16")
    dual["properties"]["addressSpace"]["addressPrefixes"].append("fd00:30::/48")
    v6only = sdk.network.virtual_networks.begin_create_or_update(group, "vnet3", dual).result().properties.subnets[0].id
    net = SimpleNamespace(group=group, other_vnet_subnet=other, v6only=v6only, missing=subnets["nodes"][:-5] + "ghost",
                          **subnets)
    net.bases = {
        "overlay": cluster_body(OVERLAY),
        "kubenet": cluster_body({"networkPlugin": "kubenet", "podCidr": "10.244.0.0/16"}),
        "azure-policy": cluster_body({"networkPlugin": "azure", "networkPolicy": "azure"}),
        "vnet-azure": cluster_body({"networkPlugin": "azure"}, [dict(SYSTEM, vnetSubnetID=net.nodes, podSubnetID=net.pods)]),
    }
    for name, base in net.bases.items():
        sdk.aks.managed_clusters.begin_create_or_update(group, name, base).result()
    yield net
    sdk.resources.resource_groups.begin_delete(group).result()


def pools(*items):
    return [dict(SYSTEM, **item) for item in items] if items else None


def change(base, network=None, pool=None, **properties):
    """Update existing cluster `base`: its body with networkProfile keys / the first pool's keys changed."""
    def build(net):
        body = copy.deepcopy(net.bases[base])
        body["properties"]["networkProfile"].update(network or {})
        body["properties"]["agentPoolProfiles"][0].update(pool or {})
        body["properties"].update(properties)
        return body
    return base, build


def create(network=None, pool_list=None, **properties):
    """Create a new cluster (pool_list may need the subnet ids: then it is a function of `net`)."""
    return None, lambda net: cluster_body(network or OVERLAY, pool_list(net) if callable(pool_list) else pool_list,
                                          **properties)


# rule name -> (the request: create(...) a new cluster or change(base, ...) an existing one, the expected error target)
CASES = {
    "another-operation-in-progress": (None, None),
    "immutable-cluster-field": (change("overlay", {"serviceCidr": "10.1.0.0/16", "dnsServiceIP": "10.1.0.10"}),
                                "networkProfile.serviceCidr"),
    "immutable-pool-field": (change("overlay", pool={"maxPods": 100}), "agentPoolProfiles[0].maxPods"),
    "cilium-cannot-be-disabled": (change("overlay", {"networkDataplane": "azure", "networkPolicy": "none"}),
                                  "networkProfile.networkDataplane"),
    "plugin-change": (change("kubenet", {"networkPlugin": "azure"}), "networkProfile.networkPlugin"),
    "overlay-cannot-be-disabled": (change("overlay", {"networkPluginMode": None}), "networkProfile.networkPluginMode"),
    "ipam-and-dataplane-together": (change("kubenet", {"networkPlugin": "azure", "networkPluginMode": "overlay",
                                                       "networkDataplane": "cilium", "networkPolicy": "cilium"}),
                                    "networkProfile.networkDataplane"),
    "overlay-migration-blocked": (change("vnet-azure", {"networkPluginMode": "overlay"}), "networkProfile.networkPluginMode"),
    "overlay-migration-with-network-policy": (change("azure-policy", {"networkPluginMode": "overlay",
                                                                      "podCidr": "10.244.0.0/16"}),
                                              "networkProfile.networkPluginMode"),
    "migration-with-node-auto-provisioning": (change("kubenet", {"networkPlugin": "azure", "networkPluginMode": "overlay"},
                                                     nodeProvisioningProfile={"mode": "Auto"}),
                                              "nodeProvisioningProfile.mode"),
    "policy-change": (change("overlay", {"networkPolicy": "azure"}), "networkProfile.networkPolicy"),
    "pod-cidr-change": (change("overlay", {"podCidr": "10.100.0.0/16"}), "networkProfile.podCidr"),
    "kubernetes-version": (create(kubernetesVersion="1.20.0"), "kubernetesVersion"),
    "pool-name": (create(pool_list=pools({"name": "Sys_1"})), "agentPoolProfiles[0].name"),
    "system-pool-required": (create(pool_list=pools({"mode": "User"})), "agentPoolProfiles"),
    "max-pods-range": (create(pool_list=pools({"maxPods": 300})), "agentPoolProfiles[0].maxPods"),
    "system-pool-capacity": (create(pool_list=pools({"maxPods": 10, "count": 1})), "agentPoolProfiles[0].maxPods"),
    "cidr-format": (create(dict(OVERLAY, podCidr="10.244.0.1/16")), "networkProfile.podCidr"),
    "overlay-needs-azure": (create({"networkPlugin": "kubenet", "networkPluginMode": "overlay"}),
                            "networkProfile.networkPluginMode"),
    "cilium-needs-azure": (create({"networkPlugin": "kubenet", "networkDataplane": "cilium", "networkPolicy": "cilium"}),
                           "networkProfile.networkDataplane"),
    "cilium-policy-needs-cilium-dataplane": (create({"networkPlugin": "azure", "networkPluginMode": "overlay",
                                                     "networkPolicy": "cilium"}), "networkProfile.networkPolicy"),
    "cilium-dataplane-needs-cilium-policy": (create(dict(OVERLAY, networkPolicy="calico")), "networkProfile.networkPolicy"),
    "windows-with-cilium": (create(pool_list=pools({}, {"name": "win", "osType": "Windows", "mode": "User"})),
                            "agentPoolProfiles[1].osType"),
    "acns-security-needs-cilium": (create({"networkPlugin": "azure", "networkPluginMode": "overlay",
                                           "advancedNetworking": {"enabled": True, "security": {"enabled": True}}}),
                                   "networkProfile.advancedNetworking.security.enabled"),
    "pod-cidr-needs-overlay": (create(dict(VNET_MODE, podCidr="10.244.0.0/16")), "networkProfile.podCidr"),
    "pod-subnet-needs-vnet-mode": (create(OVERLAY, lambda n: pools({"vnetSubnetID": n.nodes, "podSubnetID": n.pods})),
                                   "agentPoolProfiles[0].podSubnetID"),
    "pod-subnet-needs-node-subnet": (create(VNET_MODE, lambda n: pools({"podSubnetID": n.pods})),
                                     "agentPoolProfiles[0].vnetSubnetID"),
    "pod-subnet-all-or-none": (create(VNET_MODE, lambda n: pools({"vnetSubnetID": n.nodes, "podSubnetID": n.pods},
                                                                 {"name": "user", "mode": "User", "vnetSubnetID": n.nodes})),
                               "agentPoolProfiles"),
    "subnet-id-format": (create(OVERLAY, pools({"vnetSubnetID": "subnet-nodes"})), "agentPoolProfiles[0].vnetSubnetID"),
    "subnet-exists": (create(OVERLAY, lambda n: pools({"vnetSubnetID": n.missing})), None),
    "distinct-node-and-pod-subnet": (create(VNET_MODE, lambda n: pools({"vnetSubnetID": n.pods, "podSubnetID": n.pods})),
                                     "agentPoolProfiles[0].podSubnetID"),
    "one-vnet": (create(OVERLAY, lambda n: pools({"vnetSubnetID": n.nodes},
                                                 {"name": "user", "mode": "User", "vnetSubnetID": n.other_vnet_subnet})),
                 "agentPoolProfiles"),
    "node-subnet-not-delegated": (create(OVERLAY, lambda n: pools({"vnetSubnetID": n.sql})), None),
    "pod-subnet-free": (create(VNET_MODE, lambda n: pools({"vnetSubnetID": n.nodes, "podSubnetID": n.sql})), None),
    "subnet-size": (create(OVERLAY, lambda n: pools({"vnetSubnetID": n.tiny})), "agentPoolProfile.vnetSubnetID"),
    "service-and-dns-together": (create(dict(OVERLAY, serviceCidr="10.1.0.0/16")), "networkProfile.dnsServiceIP"),
    "dns-in-service-cidr": (create(dict(OVERLAY, serviceCidr="10.0.0.0/16", dnsServiceIP="10.1.0.10")),
                            "networkProfile.dnsServiceIP"),
    "dns-not-first-address": (create(dict(OVERLAY, serviceCidr="10.0.0.0/16", dnsServiceIP="10.0.0.1")),
                              "networkProfile.dnsServiceIP"),
    "service-cidr-size": (create(dict(OVERLAY, serviceCidr="10.0.0.0/11", dnsServiceIP="10.0.0.10")),
                          "networkProfile.serviceCidr"),
    "reserved-ranges": (create(dict(OVERLAY, podCidr="172.30.0.0/16")), "networkProfile.podCidr"),
    "pod-service-overlap": (create(dict(OVERLAY, podCidr="10.0.0.0/16")), "networkProfile.podCidr"),
    "service-subnet-overlap": (create(dict(OVERLAY, serviceCidr="10.10.0.0/20", dnsServiceIP="10.10.0.10"),
                                      lambda n: pools({"vnetSubnetID": n.nodes})), "networkProfile.serviceCIDR"),
    "cidr-vnet-overlap": (create(dict(OVERLAY, podCidr="10.10.128.0/17"), lambda n: pools({"vnetSubnetID": n.nodes})),
                          "networkProfile.podCIDR"),
    "subnet-ipv4": (create(OVERLAY, lambda n: pools({"vnetSubnetID": n.v6only})), "agentPoolProfiles[0].vnetSubnetID"),
    # -- Advanced Container Networking Services (tests/emulator/arm/acns.py) --
    "acns-enum": (create(dict(OVERLAY, advancedNetworking=dict(ACNS, security={"enabled": True, "advancedNetworkPolicies": "L4"}))),
                  "networkProfile.advancedNetworking.security.advancedNetworkPolicies"),
    "acns-features-need-acns": (create(dict(OVERLAY, advancedNetworking={"enabled": False, "performance": BPF})),
                                "networkProfile.advancedNetworking.performance.accelerationMode"),
    "acns-feature-needs-cilium": (create({"networkPlugin": "azure", "networkPluginMode": "overlay",
                                          "advancedNetworking": dict(ACNS, performance=BPF)}),
                                  "networkProfile.advancedNetworking.performance.accelerationMode"),
    "acns-policies-need-security": (create(dict(OVERLAY, advancedNetworking=dict(
        ACNS, security={"enabled": False, "advancedNetworkPolicies": "L7"}))),
        "networkProfile.advancedNetworking.security.advancedNetworkPolicies"),
    "acns-encryption-needs-security": (create(dict(OVERLAY, advancedNetworking=dict(
        ACNS, security={"enabled": False, "transitEncryption": {"type": "WireGuard"}}))),
        "networkProfile.advancedNetworking.security.transitEncryption.type"),
    "acns-acceleration-kubernetes-version": (create(dict(OVERLAY, advancedNetworking=dict(ACNS, performance=BPF)),
                                                    pools({"osSKU": "AzureLinux"}), kubernetesVersion="1.32"),
                                             "networkProfile.advancedNetworking.performance.accelerationMode"),
    "acns-acceleration-node-os": (create(dict(OVERLAY, advancedNetworking=dict(ACNS, performance=BPF))),
                                  "agentPoolProfiles[0].osSKU"),
    "acns-acceleration-static-egress": (create(dict(OVERLAY, advancedNetworking=dict(ACNS, performance=BPF),
                                                    staticEgressGatewayProfile={"enabled": True}), pools({"osSKU": "AzureLinux"})),
                                        "networkProfile.advancedNetworking.performance.accelerationMode"),
    "acns-logs-need-observability": (create(dict(OVERLAY, advancedNetworking=dict(ACNS, observability={"enabled": False})),
                                            azureMonitorProfile=LOGS), "azureMonitorProfile.containerInsights.containerNetworkLogs"),
    "acns-logs-kubernetes-version": (create(dict(OVERLAY, advancedNetworking=ACNS), azureMonitorProfile=LOGS,
                                            kubernetesVersion="1.32"),
                                     "azureMonitorProfile.containerInsights.containerNetworkLogs"),
    "allocation-mode-needs-pod-subnet": (create(OVERLAY, pools({"podIPAllocationMode": "StaticBlock"})),
                                         "agentPoolProfiles[0].podIPAllocationMode"),
    "allocation-mode-immutable": (change("vnet-azure", pool={"podIPAllocationMode": "StaticBlock"}),
                                  "agentPoolProfiles[0].podIPAllocationMode"),
    "one-allocation-mode-per-subnet": (create(VNET_MODE, lambda n: pools({"vnetSubnetID": n.nodes, "podSubnetID": n.pods,
                                                                          "podIPAllocationMode": "StaticBlock"})),
                                       "agentPoolProfiles[0].podIPAllocationMode"),
}
SCHEMA_INVALID = {"overlay-cannot-be-disabled"}  # sends networkPluginMode: null on purpose


def test_every_rule_has_a_case():
    assert sorted(CASES) == sorted(rule.name for rule in rules.RULES)


@pytest.mark.parametrize("rule", [
    pytest.param(rule.name, marks=[pytest.mark.schema_invalid] if rule.name in SCHEMA_INVALID else [])
    for rule in rules.RULES if CASES[rule.name][0] is not None])
def test_rule_is_rejected_with_its_code(sdk, net, rule):
    from azure.core.exceptions import HttpResponseError  # pylint: disable=import-outside-toplevel
    (base, build), target = CASES[rule]
    expected = next(r for r in rules.RULES if r.name == rule)
    name = base or unique("bad")
    with pytest.raises(HttpResponseError) as caught:
        sdk.aks.managed_clusters.begin_create_or_update(net.group, name, build(net))
    error = caught.value
    assert (error.status_code, error.error.code) == (expected.status, expected.code), error.message
    assert error.error.target == target
    raw_error = error.response.json()["error"]
    assert raw_error.get("subcode") == expected.subcode
    if base is None:  # a rejected create leaves nothing behind
        assert name not in [c.name for c in sdk.aks.managed_clusters.list_by_resource_group(net.group)]
    else:  # a rejected update leaves the cluster as it was
        assert sdk.aks.managed_clusters.get(net.group, base).properties.provisioning_state == "Succeeded"


def test_another_operation_in_progress_is_409(emulator, sdk, net):
    from azure.core.exceptions import HttpResponseError  # pylint: disable=import-outside-toplevel
    emulator.add_fault(method="PUT", path=r"/managedClusters/slow$", provision_delay=3600)
    sdk.aks.managed_clusters.begin_create_or_update(net.group, "slow", cluster_body())
    with pytest.raises(HttpResponseError) as caught:
        sdk.aks.managed_clusters.begin_create_or_update(net.group, "slow", cluster_body())
    assert (caught.value.status_code, caught.value.error.code) == (409, "OperationNotAllowed")
    emulator.arm.finish_operations()
    assert sdk.aks.managed_clusters.get(net.group, "slow").properties.provisioning_state == "Succeeded"


def test_agent_pool_put_runs_the_same_rules(sdk, net):
    from azure.core.exceptions import HttpResponseError  # pylint: disable=import-outside-toplevel
    with pytest.raises(HttpResponseError) as caught:
        sdk.aks.agent_pools.begin_create_or_update(net.group, "overlay", "win",
                                                   {"properties": {"osType": "Windows", "mode": "User", "count": 1}})
    assert caught.value.error.code == "BadRequest" and caught.value.error.target == "agentPoolProfiles[1].osType"
