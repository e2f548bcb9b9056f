#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aks_network
short_description: Resource group, virtual network and subnets for an AKS cluster
version_added: 1.0.0
description:
  - Creates or updates the network prerequisites of an AKS cluster with Azure CNI Powered by Cilium, that is
    a resource group, a virtual network and named subnets (for example a node subnet and a pod subnet
    for VNet mode).
  - Checks the address ranges before sending anything (valid CIDRs, every subnet inside the VNet,
    no overlaps (also with subnets of the VNet the task does not list), none of the ranges Azure
    reserves, 169.254.0.0/16, 172.30.0.0/16, 172.31.0.0/16 and 192.0.2.0/24).
  - Updates merge onto what Azure returned and only what differs is sent. The delegation and the
    service association link AKS adds to a pod subnet, IP configurations, service endpoints and any
    other setting the task does not mention are kept. An unchanged network sends no write request.
  - With O(state=absent) it deletes the listed subnets, or the whole VNet when no subnet is listed,
    and optionally the resource group. It refuses, naming the user, to delete a subnet that a
    cluster or another resource still uses.
author:
  - azcni.cilium contributors (@azcni)
extends_documentation_fragment:
  - azcni.cilium.azure
  - azcni.cilium.attributes
options:
  resource_group:
    description:
      - Name of the resource group.
    type: str
    required: true
  location:
    description:
      - Azure region, used to create the resource group and the VNet.
      - Defaults to the resource group's region when the group exists.
      - An existing VNet cannot move, so a different region fails the task.
    type: str
  tags:
    description:
      - Tags of the resource group (and of the VNet unless O(vnet_tags) is given).
      - Tags not listed here are kept. Values are stored as text.
    type: dict
  vnet_name:
    description:
      - Name of the virtual network. Without it only the resource group is managed.
    type: str
  address_prefixes:
    description:
      - Address space of the VNet, for example V(192.168.16.0/22). Required when O(vnet_name) is set and
        O(state=present).
    type: list
    elements: str
  vnet_tags:
    description:
      - Tags of the VNet. Defaults to O(tags). Tags not listed here are kept.
    type: dict
  subnets:
    description:
      - Subnets of the VNet, by name. Subnets of the VNet that are not listed are left alone.
      - With O(state=absent), the subnets to delete (only O(subnets[].name) is used).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Subnet name.
        type: str
        required: true
      address_prefix:
        description:
          - The subnet's range, inside O(address_prefixes). Required with O(state=present).
        type: str
      network_security_group:
        description:
          - Resource ID of a network security group to attach. Left as it is when omitted.
        type: str
      route_table:
        description:
          - Resource ID of a route table to attach. Left as it is when omitted.
        type: str
  delete_resource_group:
    description:
      - With O(state=absent), also delete the resource group and everything left in it.
      - Refused while the group still holds a managed cluster.
    type: bool
    default: false
  state:
    description:
      - V(present) creates or updates; V(absent) deletes the listed subnets, or the VNet when no subnet is
        listed, and the resource group with O(delete_resource_group=true).
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description:
      - Seconds to wait for each long-running Azure operation.
    type: int
    default: 1800
notes:
  - A subnet counts as in use when Azure records IP configurations or a service association link on
    it, or when a managed cluster of the same resource group uses it as node or pod subnet. A
    delegation alone does not block deletion (AKS leaves it behind after the cluster is deleted).
  - Changing the range of a subnet in use is refused before the call, as Azure would refuse it.
seealso:
  - module: azcni.cilium.aks_cilium_cluster
"""

EXAMPLES = r"""
- name: Network for a VNet-mode cluster (node subnet and pod subnet)
  azcni.cilium.aks_network:
    resource_group: rg-aks-cilium
    location: westeurope
    vnet_name: vnet-aks-cilium
    address_prefixes: [192.168.16.0/22]
    subnets:
      - name: nodes
        address_prefix: 192.168.16.0/24
      - name: pods
        address_prefix: 192.168.17.0/24
  register: network

- name: Use the subnet IDs it returns
  ansible.builtin.debug:
    msg: "{{ network.subnet_ids.pods }}"

- name: Delete the pod subnet (refused while a cluster uses it)
  azcni.cilium.aks_network:
    resource_group: rg-aks-cilium
    vnet_name: vnet-aks-cilium
    subnets:
      - name: pods
    state: absent

- name: Delete the VNet and the resource group
  azcni.cilium.aks_network:
    resource_group: rg-aks-cilium
    vnet_name: vnet-aks-cilium
    delete_resource_group: true
    state: absent
"""

RETURN = r"""
resource_group:
  description: The resource group (as it is, or would be in check mode, after the task).
  returned: when the resource group exists after the task
  type: dict
  sample: {"name": "rg-aks-cilium", "id": "/subscriptions/0000/resourceGroups/rg-aks-cilium", "location": "westeurope"}
vnet:
  description: The virtual network (as it is, or would be in check mode, after the task).
  returned: when O(vnet_name) is set and the VNet exists after the task
  type: dict
  sample: {"name": "vnet-aks-cilium", "id": "/subscriptions/0000/.../virtualNetworks/vnet-aks-cilium",
           "address_prefixes": ["192.168.16.0/22"]}
subnets:
  description:
    - Every subnet of the VNet by name, with its ID, range, and the delegations and service
      association links Azure reports.
    - With O(state=present), also its addresses as the Network RP's usage API reports them
      (C(usable_addresses), C(addresses_in_use) (node NICs and the pod IPs or /28 blocks AKS reserved),
      C(free_addresses)), so each pod subnet of a VNet with one pod subnet per node pool shows its room. A
      subnet the task creates (or would, in check mode) has its whole range less Azure's five addresses free.
  returned: when O(vnet_name) is set
  type: dict
  sample: {"pods": {"id": "/subscriptions/0000/.../subnets/pods", "address_prefix": "192.168.17.0/24",
                    "delegations": ["Microsoft.ContainerService/managedClusters"], "usable_addresses": 251,
                    "addresses_in_use": 48, "free_addresses": 203}}
subnet_ids:
  description:
    - Subnet name to resource ID, for the listed subnets (also in check mode, before they exist).
  returned: always
  type: dict
  sample: {"nodes": "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/nodes"}
"""


from ansible_collections.azcni.cilium.plugins.module_utils._aks.network_runner import run_network
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureModule

ARGUMENT_SPEC = dict(
    resource_group=dict(type="str", required=True),
    location=dict(type="str"),
    tags=dict(type="dict"),
    vnet_name=dict(type="str"),
    address_prefixes=dict(type="list", elements="str"),
    vnet_tags=dict(type="dict"),
    subnets=dict(type="list", elements="dict", default=[], options=dict(
        name=dict(type="str", required=True),
        address_prefix=dict(type="str"),
        network_security_group=dict(type="str"),
        route_table=dict(type="str"),
    )),
    delete_resource_group=dict(type="bool", default=False),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    wait_timeout=dict(type="int", default=1800),
)


def main():
    run_network(AzureModule(ARGUMENT_SPEC, supports_check_mode=True))


if __name__ == "__main__":
    main()
