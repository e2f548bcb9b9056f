# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The topology a real Azure CLI recording shows AKS accepting: VNet mode on VNet 10.0.0.0/8 with subnets
10.240.0.0/16 (nodes) and 10.40.0.0/13 (pods), no service CIDR given (AKS's 10.0.0.0/16 sits in the VNet's
address space, clear of its subnets). aks_cilium_cluster creates it, with a warning, as Azure does."""

from __future__ import annotations

import json
import time
import uuid

from tests.emulator.requestlog import writes

LOCATION = "westeurope"


def test_vnet_mode_with_the_default_service_cidr_inside_the_vnet_space_is_created_with_a_warning(emulator, ansible):
    group, name = "e2e-rec-" + uuid.uuid4().hex[:8], "rec-" + uuid.uuid4().hex[:8]
    network = dict(resource_group=group, location=LOCATION, vnet_name="vnet", address_prefixes=["10.0.0.0/8"],
                   subnets=[{"name": "nodes", "address_prefix": "10.240.0.0/16"},
                            {"name": "pods", "address_prefix": "10.40.0.0/13"}])
    cluster = dict(name=name, resource_group=group, location=LOCATION, ipam_mode="vnet",
                   system_pool=dict(name="system", count=3, vnet_subnet_id="{{ network.subnet_ids.nodes }}",
                                    pod_subnet_id="{{ network.subnet_ids.pods }}"))
    text = ("- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
            "    - name: network\n      azcni.cilium.aks_network: %s\n      register: network\n"
            "    - name: cluster\n      azcni.cilium.aks_cilium_cluster: %s\n" % (json.dumps(network), json.dumps(cluster)))
    done = ansible(text)
    assert done.rc == 0, done.stdout
    result = done.task("cluster")
    assert result["changed"] and result["operations"] == ["create", "subnet-role-assignment"]  # identity rights on the subnets
    assert result["cluster"]["provisioningState"] == "Succeeded"
    stored = emulator.arm.cluster(group, name)["properties"]["networkProfile"]
    assert (stored["serviceCidr"], stored["dnsServiceIP"]) == ("10.0.0.0/16", "10.0.0.10")
    [warning] = result["warnings"]
    assert warning.startswith("[service-cidr-in-vnet] ")
    assert "service_cidr 10.0.0.0/16 (AKS default) is inside VNet vnet address space 10.0.0.0/8" in warning
    started = time.time()
    again = ansible(text)  # and a re-run changes nothing, warning again about the same topology
    assert again.rc == 0 and not again.task("cluster")["changed"]
    [warning] = again.task("cluster")["warnings"]  # the cluster's own value now, no longer "AKS default"
    assert warning.startswith("[service-cidr-in-vnet] ") and "service_cidr 10.0.0.0/16 is inside VNet vnet" in warning
    assert writes(emulator.requests(since=started)) == []
