# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""aks_network end to end: the real ansible-playbook against the ARM emulator, checked with its request log."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.e2e.arm import Arm
from tests.e2e.conftest import playbook as e2e_playbook, task
from tests.emulator.requestlog import writes

VNET_MODE_SUBNETS = [{"name": "nodes", "address_prefix": "192.168.16.0/24"}, {"name": "pods", "address_prefix": "192.168.17.0/24"}]


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def playbook(*tasks):
    """A playbook running aks_network once per ``tasks`` item (a dict of module args, or (name, args, extra))."""
    items = []
    for index, item in enumerate(tasks):
        name, args, extra = item if isinstance(item, tuple) else ("network %d" % index, item, {})
        items.append(task(name, "aks_network", args, **extra))
    return e2e_playbook(*items)


def network_args(resource_group, **overrides):
    args = dict(resource_group=resource_group, location="westeurope", vnet_name="vnet", address_prefixes=["192.168.16.0/22"],
                subnets=VNET_MODE_SUBNETS, tags={"env": "e2e"})
    args.update(overrides)
    return args


def run_logged(emulator, ansible, text, **kwargs):
    """Run a playbook; returns (result, the ARM write requests it sent)."""
    started = time.time()
    result = ansible(text, **kwargs)
    return result, writes(emulator.requests(since=started))


def kinds(entries):
    """``PUT virtualnetworks`` style summaries: method and the resource type (lower case) of each request."""
    return ["%s %s" % (entry["method"], entry["path"].rstrip("/").split("/")[-2].lower()) for entry in entries]


def test_network_from_nothing_then_rerun_sends_no_writes(emulator, ansible):
    group = unique("e2e-net")
    text = playbook(network_args(group))
    first, sent = run_logged(emulator, ansible, text)
    assert first.rc == 0, first.stdout
    result = first.task("network 0")
    assert result["changed"] is True
    # one PUT for the group, one for the VNet carrying both subnets
    assert kinds(sent) == ["PUT resourcegroups", "PUT virtualnetworks"]
    assert sorted(result["subnet_ids"]) == ["nodes", "pods"]
    assert result["subnet_ids"]["pods"].lower().endswith(
        ("/resourcegroups/%s/providers/microsoft.network/virtualnetworks/vnet/subnets/pods" % group).lower())
    assert result["subnets"]["nodes"]["address_prefix"] == "192.168.16.0/24"

    second, sent = run_logged(emulator, ansible, text)
    assert second.rc == 0, second.stdout
    assert second.changed_tasks == []
    assert sent == []
    assert second.task("network 0")["subnet_ids"] == result["subnet_ids"]


def test_check_mode_then_changes_to_an_existing_network(emulator, ansible):
    group = unique("e2e-net")
    checked, sent = run_logged(emulator, ansible, playbook(network_args(group)), check=True, diff=True)
    assert checked.rc == 0, checked.stdout
    assert sent == []
    result = checked.task("network 0")
    assert result["changed"] is True
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["vnet"]["subnets"] == {"nodes": {"address_prefix": "192.168.16.0/24"},
                                                          "pods": {"address_prefix": "192.168.17.0/24"}}
    assert set(result["subnet_ids"]) == {"nodes", "pods"}  # known before they exist, for the cluster role

    applied, _sent = run_logged(emulator, ansible, playbook(network_args(group)))
    assert applied.rc == 0, applied.stdout
    grown = network_args(group, subnets=VNET_MODE_SUBNETS + [{"name": "extra", "address_prefix": "192.168.18.0/24"}])
    checked, sent = run_logged(emulator, ansible, playbook(grown), check=True, diff=True)
    assert sent == []
    diff = checked.task("network 0")["diff"]
    assert "extra" not in diff["before"]["vnet"]["subnets"]
    assert diff["after"]["vnet"]["subnets"]["extra"] == {"address_prefix": "192.168.18.0/24"}

    # a subnet-only change sends one subnet PUT, nothing else
    result, sent = run_logged(emulator, ansible, playbook(grown))
    assert result.rc == 0, result.stdout
    assert kinds(sent) == ["PUT subnets"] and sent[0]["path"].endswith("/subnets/extra")

    # a new subnet overlapping one the task does not list fails before any write
    overlapping = network_args(group, subnets=[{"name": "other", "address_prefix": "192.168.17.128/25"}])
    result, sent = run_logged(emulator, ansible, playbook(overlapping))
    assert result.rc != 0
    assert sent == []
    assert "Subnet other (192.168.17.128/25) overlaps existing subnet pods (192.168.17.0/24)" in result.task("network 0")["msg"]


BAD_INPUTS = [
    ("subnet outside the VNet", dict(subnets=[{"name": "nodes", "address_prefix": "192.168.20.0/24"}]),
     "Subnet nodes (192.168.20.0/24) is not inside the VNet address space (192.168.16.0/22)"),
    ("overlapping subnets", dict(subnets=[{"name": "nodes", "address_prefix": "192.168.16.0/23"},
                                          {"name": "pods", "address_prefix": "192.168.17.0/24"}]),
     "subnet nodes (192.168.16.0/23) overlaps subnet pods (192.168.17.0/24)"),
    ("reserved range", dict(address_prefixes=["172.30.0.0/16"], subnets=[]),
     "VNet address prefix 172.30.0.0/16 overlaps the range 172.30.0.0/16, which Azure reserves"),
    ("invalid CIDR", dict(subnets=[{"name": "nodes", "address_prefix": "192.168.16.0/33"}]),
     "Invalid address prefix of subnet nodes: '192.168.16.0/33' is not a valid CIDR range"),
    ("host bits", dict(address_prefixes=["192.168.16.1/22"], subnets=[]),
     "'192.168.16.1/22' has host bits set; the network address is 192.168.16.0/22"),
]


def test_bad_input_fails_with_its_message_and_no_writes(emulator, ansible):
    group = unique("e2e-net")
    tasks = [(name, network_args(group, **change), {"ignore_errors": True}) for name, change, _message in BAD_INPUTS]
    result, sent = run_logged(emulator, ansible, playbook(*tasks))
    assert sent == []
    for name, _change, message in BAD_INPUTS:
        assert result.status(name) == "ignored", name  # failed, with ignore_errors
        assert message in result.task(name)["msg"], (name, result.task(name)["msg"])


@pytest.fixture
def cluster_on_pod_subnet(emulator, ansible):
    """A VNet-mode network and a cluster (created straight through ARM) using its subnets."""
    group = unique("e2e-net")
    created = ansible(playbook(network_args(group)))
    assert created.rc == 0, created.stdout
    subnet_ids = created.task("network 0")["subnet_ids"]
    arm = Arm(emulator)
    body = {"location": "westeurope", "identity": {"type": "SystemAssigned"}, "properties": {
        "dnsPrefix": "e2e", "agentPoolProfiles": [{
            "name": "system", "mode": "System", "count": 1, "vmSize": "Standard_D4ds_v5", "osType": "Linux", "maxPods": 250,
            "vnetSubnetID": subnet_ids["nodes"], "podSubnetID": subnet_ids["pods"]}],
        "networkProfile": {"networkPlugin": "azure", "networkDataplane": "cilium", "networkPolicy": "cilium"}}}
    arm.create_cluster(group, "aks-vnet", body)
    return group, arm


def test_aks_delegation_is_kept_and_used_subnets_are_not_deleted(emulator, ansible, cluster_on_pod_subnet):
    group, arm = cluster_on_pod_subnet
    # a re-run after AKS delegated the pod subnet and linked it: nothing to do
    rerun, sent = run_logged(emulator, ansible, playbook(network_args(group)))
    assert rerun.rc == 0 and rerun.changed_tasks == [] and sent == []
    pods = rerun.task("network 0")["subnets"]["pods"]
    assert pods["delegations"] == ["Microsoft.ContainerService/managedClusters"]
    assert pods["service_association_links"] == ["AzureKubernetesService"]

    # a VNet-level change re-sends every subnet: AKS's delegation and link must survive it
    retagged, sent = run_logged(emulator, ansible, playbook(network_args(group, tags={"env": "e2e", "owner": "net"})))
    assert retagged.rc == 0, retagged.stdout
    assert kinds(sent) == ["PUT resourcegroups", "PUT virtualnetworks"]  # tags of both
    pods = retagged.task("network 0")["subnets"]["pods"]
    assert pods["delegations"] == ["Microsoft.ContainerService/managedClusters"]
    assert pods["service_association_links"] == ["AzureKubernetesService"]

    # deleting what the cluster uses is refused with the reason, before any write
    refusals = [
        ("pod subnet", dict(resource_group=group, vnet_name="vnet", subnets=[{"name": "pods"}], state="absent"),
         ["subnet pods", "aks-vnet"]),
        ("whole vnet", dict(resource_group=group, vnet_name="vnet", state="absent"), ["subnet nodes", "subnet pods", "aks-vnet"]),
        ("resource group", dict(resource_group=group, delete_resource_group=True, state="absent"),
         ["resource group %s" % group, "aks-vnet"]),
    ]
    refused, sent = run_logged(emulator, ansible, playbook(*[(n, a, {"ignore_errors": True}) for n, a, _w in refusals]))
    assert sent == []
    for name, _args, words in refusals:
        assert refused.status(name) == "ignored", name
        message = refused.task(name)["msg"]
        assert message.startswith("Refusing to delete"), message
        for word in words:
            assert word in message, (name, message)

    # once the cluster is gone the same request deletes the VNet and the group
    arm.delete_cluster(group, "aks-vnet")
    deleted, sent = run_logged(emulator, ansible, playbook(
        dict(resource_group=group, vnet_name="vnet", delete_resource_group=True, state="absent")))
    assert deleted.rc == 0, deleted.stdout
    assert kinds(sent) == ["DELETE virtualnetworks", "DELETE resourcegroups"]
    again, sent = run_logged(emulator, ansible, playbook(
        dict(resource_group=group, vnet_name="vnet", delete_resource_group=True, state="absent")))
    assert again.rc == 0 and again.changed_tasks == [] and sent == []


def test_throttling_is_retried_and_a_failed_operation_is_reported(emulator, ansible):
    group = unique("e2e-net")
    emulator.add_fault(method="PUT", path=r"/virtualNetworks/vnet$", status=429, headers={"Retry-After": "1"})
    throttled, sent = run_logged(emulator, ansible, playbook(network_args(group)))
    assert throttled.rc == 0, throttled.stdout
    assert kinds(sent) == ["PUT resourcegroups", "PUT virtualnetworks", "PUT virtualnetworks"]
    assert [e["status"] for e in sent][1] == 429

    emulator.add_fault(method="PUT", path=r"/subnets/extra$", lro="Failed",
                       error={"code": "NetcfgSubnetProvisioningFailed", "message": "Subnet extra failed to provision"})
    grown = network_args(group, subnets=VNET_MODE_SUBNETS + [{"name": "extra", "address_prefix": "192.168.18.0/24"}])
    failed = ansible(playbook(grown))
    assert failed.rc != 0
    message = failed.task("network 0")["msg"]
    assert message == "Cannot create or update subnet extra: NetcfgSubnetProvisioningFailed: Subnet extra failed to provision"
