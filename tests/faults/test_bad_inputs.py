# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad inputs: each is refused before any write, with a message naming the option or file, ``changed`` false.

All Azure cases run as the tasks of one playbook, all Kubernetes cases as the tasks of another; the writes
of each case are those the emulators logged while its task ran. Every case names its own VNet or cluster,
so one that slipped through cannot change what the others see. Nothing written means nothing to converge:
a re-run meets the same state and is refused the same way.
"""

from __future__ import annotations

import copy

import pytest

from tests.e2e.conftest import arm_clients
from tests.faults.conftest import count, message_of, run_batch

RG = "faults-bad"
NET = dict(resource_group=RG, location="westeurope", vnet_name="vnet", address_prefixes=["10.60.0.0/16"],
           subnets=[{"name": "nodes", "address_prefix": "10.60.0.0/24"}, {"name": "pods", "address_prefix": "10.60.16.0/20"}])
CLUSTER = dict(name="badcluster", resource_group=RG, location="westeurope", ipam_mode="overlay",
               system_pool={"count": 3, "vm_size": "Standard_D4ds_v5"}, wait_timeout=60)
SUBNET_ID = "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/%s/providers/Microsoft.Network/" \
            "virtualNetworks/vnet/subnets/%s"


def net(**changes):
    args = copy.deepcopy(NET)
    args.update(changes)
    return args


def subnets(*items):
    return net(subnets=[{"name": name, "address_prefix": prefix} for name, prefix in items])


def cluster(pool=None, **changes):
    args = copy.deepcopy(CLUSTER)
    args.update(changes)
    if pool:
        args["system_pool"] = dict(args["system_pool"], **pool)
    return args


# (case id, module, args, fragments the failure message must contain (case-insensitive))
AZURE_CASES = [
    # -- aks_network: argument spec ---------------------------------------------------------
    ("net-no-group", "aks_network", {k: v for k, v in NET.items() if k != "resource_group"}, ["resource_group"]),
    ("net-bad-state", "aks_network", net(state="gone"), ["state"]),
    ("net-timeout-text", "aks_network", net(wait_timeout="soon"), ["wait_timeout"]),
    ("net-timeout-negative", "aks_network", net(wait_timeout=-1), ["wait_timeout"]),
    ("net-timeout-zero", "aks_network", net(wait_timeout=0), ["wait_timeout"]),
    ("net-subnets-number", "aks_network", net(subnets=5), ["subnets"]),
    ("net-subnet-no-name", "aks_network", net(subnets=[{"address_prefix": "10.60.0.0/24"}]), ["name"]),
    ("net-subnet-unknown-key", "aks_network", net(subnets=[{"name": "a", "address_prefix": "10.60.0.0/24", "cidr": "x"}]),
     ["cidr"]),
    ("net-tags-not-dict", "aks_network", net(tags=["env", "prod"]), ["tags"]),
    ("net-unknown-option", "aks_network", net(vnet_size=5), ["vnet_size"]),
    # -- aks_network: CIDRs -------------------------------------------------------------------
    ("net-prefix-33", "aks_network", net(address_prefixes=["10.60.0.0/33"]), ["10.60.0.0/33"]),
    ("net-prefix-banana", "aks_network", net(address_prefixes=["banana"]), ["banana"]),
    ("net-prefix-host-bits", "aks_network", net(address_prefixes=["10.60.0.1/16"]), ["10.60.0.1/16"]),
    ("net-prefix-reserved-169", "aks_network", net(address_prefixes=["169.254.0.0/16"], subnets=[]), ["169.254.0.0/16"]),
    ("net-prefix-reserved-172-30", "aks_network", net(address_prefixes=["172.30.0.0/16"], subnets=[]), ["172.30.0.0/16"]),
    ("net-prefix-reserved-192-0-2", "aks_network", net(address_prefixes=["192.0.2.0/24"], subnets=[]), ["192.0.2.0/24"]),
    ("net-prefixes-overlap", "aks_network", net(address_prefixes=["10.60.0.0/16", "10.60.128.0/17"]), ["overlap"]),
    ("net-subnet-outside", "aks_network", subnets(("nodes", "10.61.0.0/24")), ["nodes"]),
    ("net-subnet-overlap", "aks_network", subnets(("a", "10.60.0.0/24"), ("b", "10.60.0.128/25")), ["overlap"]),
    ("net-subnet-twice", "aks_network", subnets(("a", "10.60.0.0/24"), ("a", "10.60.1.0/24")), ["twice"]),
    ("net-subnet-no-prefix", "aks_network", net(subnets=[{"name": "a"}]), ["address_prefix"]),
    ("net-subnet-bad-prefix", "aks_network", subnets(("a", "10.60.0.0/24/8")), ["10.60.0.0/24/8"]),
    ("net-subnet-host-bits", "aks_network", subnets(("a", "10.60.0.7/24")), ["10.60.0.7/24"]),
    ("net-prefix-reserved-172-31", "aks_network", net(address_prefixes=["172.31.0.0/16"], subnets=[]), ["172.31.0.0/16"]),
    ("net-subnet-nsg-not-id", "aks_network", net(subnets=[{"name": "a", "address_prefix": "10.60.0.0/24",
                                                           "network_security_group": "my-nsg"}]), ["network_security_group"]),
    ("net-subnet-rt-wrong-type", "aks_network", net(subnets=[{
        "name": "a", "address_prefix": "10.60.0.0/24",
        "route_table": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/networkSecurityGroups/z"}]),
     ["route_table"]),
    # -- aks_network: Azure's naming and sizing rules ----------------------------------------------
    ("net-group-300", "aks_network", net(resource_group="g" * 300), ["resource_group"]),
    ("net-group-91", "aks_network", net(resource_group="g" * 91), ["resource_group"]),
    ("net-group-dot-end", "aks_network", net(resource_group="group."), ["resource_group"]),
    ("net-group-space", "aks_network", net(resource_group="my group"), ["resource_group"]),
    ("net-group-slash", "aks_network", net(resource_group="a/b"), ["resource_group"]),
    ("net-group-star", "aks_network", net(resource_group="rg*"), ["resource_group"]),
    ("net-vnet-100", "aks_network", net(vnet_name="v" * 100), ["vnet_name"]),
    ("net-vnet-65", "aks_network", net(vnet_name="v" * 65), ["vnet_name"]),
    ("net-vnet-1", "aks_network", net(vnet_name="v"), ["vnet_name"]),
    ("net-vnet-dash-start", "aks_network", net(vnet_name="-vnet"), ["vnet_name"]),
    ("net-vnet-dot-end", "aks_network", net(vnet_name="vnet."), ["vnet_name"]),
    ("net-vnet-space", "aks_network", net(vnet_name="my vnet"), ["vnet_name"]),
    ("net-subnet-space", "aks_network", subnets(("my subnet", "10.60.0.0/24")), ["my subnet"]),
    ("net-subnet-81", "aks_network", subnets(("s" * 81, "10.60.0.0/24")), ["subnets"]),
    ("net-subnet-dash-end", "aks_network", subnets(("nodes-", "10.60.0.0/24")), ["nodes-"]),
    ("net-subnet-slash-30", "aks_network", subnets(("tiny", "10.60.0.0/30")), ["tiny", "/29"]),
    ("net-subnet-slash-32", "aks_network", subnets(("tiny", "10.60.0.0/32")), ["tiny", "/29"]),
    ("net-location-mars", "aks_network", net(location="mars-north"), ["location", "mars-north"]),
    ("net-location-typo", "aks_network", net(location="westeuroep"), ["location", "westeuroep"]),
    ("net-ipv6-only", "aks_network", net(address_prefixes=["fd00:60::/48"], subnets=[
        {"name": "nodes", "address_prefix": "fd00:60::/64"}]), ["address_prefixes", "IPv4"]),
    # -- aks_cilium_cluster: argument spec -------------------------------------------------------
    ("cl-no-name", "aks_cilium_cluster", {k: v for k, v in CLUSTER.items() if k != "name"}, ["name"]),
    ("cl-bad-ipam", "aks_cilium_cluster", cluster(ipam_mode="kubenet"), ["ipam_mode"]),
    ("cl-bad-sku", "aks_cilium_cluster", cluster(sku_tier="Gold"), ["sku_tier"]),
    ("cl-count-text", "aks_cilium_cluster", cluster({"count": "three"}), ["count"]),
    ("cl-identity-type", "aks_cilium_cluster", cluster(identity={"type": "Magic"}), ["type"]),
    ("cl-timeout-text", "aks_cilium_cluster", cluster(wait_timeout="later"), ["wait_timeout"]),
    ("cl-timeout-negative", "aks_cilium_cluster", cluster(wait_timeout=-5), ["wait_timeout"]),
    ("cl-pool-unknown", "aks_cilium_cluster", cluster({"colour": "red"}), ["colour"]),
    ("cl-tags-list", "aks_cilium_cluster", cluster(tags=["a"]), ["tags"]),
    ("cl-count-negative", "aks_cilium_cluster", cluster({"count": -1}), ["count"]),
    # -- aks_cilium_cluster: pre-flight rules ---------------------------------------------------
    ("cl-vnet-without-subnets", "aks_cilium_cluster", cluster(ipam_mode="vnet"), ["pod_subnet_id"]),
    ("cl-overlay-with-pod-subnet", "aks_cilium_cluster",
     cluster({"pod_subnet_id": SUBNET_ID % (RG, "pods"), "vnet_subnet_id": SUBNET_ID % (RG, "nodes")}), ["pod_subnet_id"]),
    ("cl-subnet-not-id", "aks_cilium_cluster", cluster({"vnet_subnet_id": "nodes"}), ["vnet_subnet_id"]),
    ("cl-pod-cidr-bad", "aks_cilium_cluster", cluster(pod_cidr="10.244.0.0/33"), ["pod_cidr"]),
    ("cl-pod-cidr-host-bits", "aks_cilium_cluster", cluster(pod_cidr="10.244.0.1/16"), ["pod_cidr"]),
    ("cl-service-cidr-alone", "aks_cilium_cluster", cluster(service_cidr="10.2.0.0/16"), ["dns_service_ip"]),
    ("cl-dns-alone", "aks_cilium_cluster", cluster(dns_service_ip="10.2.0.10"), ["service_cidr"]),
    ("cl-dns-outside", "aks_cilium_cluster", cluster(service_cidr="10.2.0.0/16", dns_service_ip="10.3.0.10"),
     ["dns_service_ip"]),
    ("cl-dns-first", "aks_cilium_cluster", cluster(service_cidr="10.2.0.0/16", dns_service_ip="10.2.0.1"),
     ["dns_service_ip"]),
    ("cl-service-too-big", "aks_cilium_cluster", cluster(service_cidr="10.0.0.0/11", dns_service_ip="10.0.0.10"),
     ["service_cidr"]),
    ("cl-pod-reserved", "aks_cilium_cluster", cluster(pod_cidr="172.30.0.0/16"), ["pod_cidr"]),
    ("cl-pod-service-overlap", "aks_cilium_cluster", cluster(pod_cidr="10.2.0.0/16", service_cidr="10.2.0.0/16",
                                                             dns_service_ip="10.2.0.10"), ["pod_cidr"]),
    ("cl-max-pods-low", "aks_cilium_cluster", cluster({"max_pods": 5}), ["max_pods"]),
    ("cl-max-pods-high", "aks_cilium_cluster", cluster({"max_pods": 251}), ["max_pods"]),
    ("cl-count-zero", "aks_cilium_cluster", cluster({"count": 0}), ["count"]),
    ("cl-system-capacity", "aks_cilium_cluster", cluster({"count": 1, "max_pods": 10}), ["max_pods"]),
    ("cl-autoscale-no-min", "aks_cilium_cluster", cluster({"enable_auto_scaling": True}), ["min_count"]),
    ("cl-autoscale-min-max", "aks_cilium_cluster", cluster({"enable_auto_scaling": True, "min_count": 5, "max_count": 2}),
     ["min_count"]),
    ("cl-version-bad", "aks_cilium_cluster", cluster(kubernetes_version="one.two"), ["kubernetes_version"]),
    # -- aks_cilium_cluster: Azure's naming rules ------------------------------------------------
    ("cl-name-300", "aks_cilium_cluster", cluster(name="c" * 300), ["name"]),
    ("cl-name-64", "aks_cilium_cluster", cluster(name="c" * 64), ["name"]),
    ("cl-name-bad-start", "aks_cilium_cluster", cluster(name="-bad.name"), ["name"]),
    ("cl-name-dot", "aks_cilium_cluster", cluster(name="bad.name"), ["name"]),
    ("cl-name-underscore-end", "aks_cilium_cluster", cluster(name="bad_"), ["name"]),
    ("cl-name-space", "aks_cilium_cluster", cluster(name="my cluster"), ["name"]),
    ("cl-group-300", "aks_cilium_cluster", cluster(resource_group="g" * 300), ["resource_group"]),
    ("cl-group-space", "aks_cilium_cluster", cluster(resource_group="my group"), ["resource_group"]),
    ("cl-dns-prefix-dash", "aks_cilium_cluster", cluster(dns_prefix="-x"), ["dns_prefix"]),
    ("cl-dns-prefix-55", "aks_cilium_cluster", cluster(dns_prefix="d" * 55), ["dns_prefix"]),
    ("cl-dns-prefix-dot", "aks_cilium_cluster", cluster(dns_prefix="a.b"), ["dns_prefix"]),
    ("cl-dns-prefix-underscore", "aks_cilium_cluster", cluster(dns_prefix="a_b"), ["dns_prefix"]),
    ("cl-pool-upper", "aks_cilium_cluster", cluster({"name": "System"}), ["name"]),
    ("cl-pool-13", "aks_cilium_cluster", cluster({"name": "p" * 13}), ["name"]),
    ("cl-pool-digit-start", "aks_cilium_cluster", cluster({"name": "1pool"}), ["name"]),
    ("cl-pool-dash", "aks_cilium_cluster", cluster({"name": "sys-pool"}), ["name"]),
    ("cl-location-mars", "aks_cilium_cluster", cluster(location="mars-north"), ["location", "mars-north"]),
    ("cl-location-typo", "aks_cilium_cluster", cluster(location="eastus9"), ["location", "eastus9"]),
    # -- aks_kubeconfig / aks_cilium_cluster_info -------------------------------------------------
    ("kc-no-name", "aks_kubeconfig", {"resource_group": RG}, ["name"]),
    ("kc-admin-text", "aks_kubeconfig", {"name": "x", "resource_group": RG, "admin": "maybe"}, ["admin"]),
    ("kc-name-300", "aks_kubeconfig", {"name": "k" * 300, "resource_group": RG}, ["name"]),
    ("kc-group-space", "aks_kubeconfig", {"name": "k", "resource_group": "a b"}, ["resource_group"]),
    ("info-bad-query", "aks_cilium_cluster_info", {"resource_group": RG, "query": "[?"}, ["query"]),
    ("info-name-no-group", "aks_cilium_cluster_info", {"name": "x"}, ["resource_group"]),
]


def own_names(index, module, args):
    """Give a case its own VNet / cluster name unless the name is what the case is about."""
    args = copy.deepcopy(args)
    if module == "aks_network" and args.get("vnet_name") == NET["vnet_name"]:
        args["vnet_name"] = "vnet%d" % index
    if module == "aks_cilium_cluster" and args.get("name") == CLUSTER["name"]:
        args["name"] = "bad%d" % index
    return args


@pytest.fixture(scope="module")
def azure_batch(emulator, run_playbook):
    _clusters, resources = arm_clients(emulator)
    resources.resource_groups.create_or_update(RG, {"location": "westeurope"})
    tasks = [(case, "azcni.cilium." + module, own_names(index, module, args))
             for index, (case, module, args, _fragments) in enumerate(AZURE_CASES)]
    return run_batch(run_playbook, emulator, tasks)


def _assert_refused(batch, case, fragments):
    result = batch.task(case)
    assert batch.result.status(case) == "ignored", (case, result)  # the task failed (ignore_errors kept the play going)
    assert batch.writes(case) == [], (case, batch.writes(case))
    assert result.get("changed") is False, (case, result.get("changed"))
    message = message_of(result).lower()
    missing = [fragment for fragment in fragments if fragment.lower() not in message]
    assert not missing, "%s: the message does not name %s: %s" % (case, missing, message_of(result))


@pytest.mark.parametrize("case, fragments", [(c[0], c[3]) for c in AZURE_CASES], ids=[c[0] for c in AZURE_CASES])
def test_azure_bad_input_is_refused_before_any_write(azure_batch, case, fragments):
    _assert_refused(azure_batch, case, fragments)
    count("refused before write")
