#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aks_cilium_nodepool
short_description: A node pool of an AKS cluster on Azure CNI Powered by Cilium, with its own pod subnet
version_added: 1.1.0
description:
  - Creates, updates or deletes one node pool of an existing AKS cluster through the agentPools API. In VNet
    (dynamic pod IP) mode each pool can draw its pods' IPs from its own pod subnet (O(pod_subnet_id)), with
    dynamic allocation (batches of 16 IPs per node) or Static Block allocation (O(pod_ip_allocation_mode=StaticBlock),
    /28 blocks per node).
  - "Before any write the request is checked against these rules, each failure naming its rule (returned in
    C(failed_rules)): C(pool-name), C(max-pods-range) (10 to 250), C(autoscaler-bounds), C(subnet-id-format),
    C(node-pod-subnets-different), C(subnets-in-cluster-vnet) (the pool's subnets are in the VNet of the cluster's
    other pools), C(ipam-mode-fields) (no pod subnet on an overlay or node-subnet cluster; node and pod subnet
    required when the cluster uses pod subnets), C(allocation-mode-needs-pod-subnet), C(allocation-mode-new-pool-only)
    (Static Block only on a new pool), C(static-block-kubernetes-version) (1.28 or later), C(last-system-pool)
    and, after reading the subnets' usage and every cluster of the subscription, C(one-allocation-mode-per-subnet)
    (every pool and cluster sharing a pod subnet uses the same mode), C(subnets-exist), C(pod-subnet-capacity)
    (room for O(max_count) (or O(count)) nodes times C(ceil((max_pods + 1) / 16)) /28 blocks with Static Block,
    times O(max_pods) addresses with dynamic allocation, the shortfall stated) and C(node-subnet-capacity)."
  - Updates merge the options onto the pool Azure returned and send the whole pool back only when something
    differs; settings the task does not mention are kept. An unchanged pool sends no write request, unless its
    C(provisioningState) is C(Failed) or C(Canceled); then the pool's own model is sent again (operation
    V(reconcile), as C(az aks nodepool update) with no changes does), which makes AKS reconcile it, and the task
    reports C(changed) (in check mode too, without the write).
  - A failure after a write was stored (the pool PUT or DELETE accepted, subnet role assignments made) reports
    C(changed=true) with C(stored_operations) naming those writes.
  - Changes AKS cannot make on an existing pool (node or pod subnet, max_pods, VM size, zones, OS type,
    allocation mode) fail before the call with the reason; add a new pool instead.
author:
  - azcni.cilium contributors (@azcni)
extends_documentation_fragment:
  - azcni.cilium.azure
  - azcni.cilium.attributes
options:
  cluster_name:
    description: Name of the managed cluster. It must exist (see M(azcni.cilium.aks_cilium_cluster)).
    type: str
    required: true
  resource_group:
    description: Resource group of the cluster.
    type: str
    required: true
  name:
    description: Name of the pool (lowercase letters and digits, at most 12, starting with a letter).
    type: str
    required: true
  state:
    description: V(present) creates or updates the pool, V(absent) deletes it (never the cluster's last System pool).
    type: str
    choices: [present, absent]
    default: present
  mode:
    description: V(System) or V(User). V(User) for a new pool when omitted.
    type: str
    choices: [System, User]
  vm_size:
    description: VM size of the nodes. V(Standard_D4ds_v5) for a new pool when omitted. Fixed per pool.
    type: str
  count:
    description:
      - Number of nodes. V(3) for a new pool when omitted.
      - With the autoscaler on it is only the initial count; the autoscaler owns it afterwards.
    type: int
  enable_auto_scaling:
    description: Turn the cluster autoscaler on (needs O(min_count) and O(max_count)) or off.
    type: bool
  min_count:
    description: Autoscaler lower bound (0 or more for User pools, 1 or more for System pools).
    type: int
  max_count:
    description: Autoscaler upper bound. The subnets must have room for this many nodes.
    type: int
  max_pods:
    description:
      - Maximum pods per node, 10 to 250. AKS's default for the cluster's mode when omitted. Fixed per pool.
      - With Static Block each node holds C(ceil((max_pods + 1) / 16)) /28 blocks, so V(63) (C(16 x 4 - 1)) wastes nothing.
    type: int
  os_sku:
    description: Linux OS SKU, for example V(Ubuntu) or V(AzureLinux). AKS's default when omitted.
    type: str
  zones:
    description: Availability zones of the nodes. Fixed per pool.
    type: list
    elements: str
  node_labels:
    description: Kubernetes labels of the nodes (the whole set; labels not listed are removed from the pool).
    type: dict
  node_taints:
    description: Kubernetes taints of the nodes, as C(key=value:Effect) (the whole list).
    type: list
    elements: str
  vnet_subnet_id:
    description: Resource ID of the node subnet, in the VNet of the cluster's other pools. Fixed per pool.
    type: str
  pod_subnet_id:
    description:
      - Resource ID of the pod subnet (clusters in VNet mode only, where every pool needs one). Fixed per pool.
      - A pod subnet may be shared by pools and clusters that use the same O(pod_ip_allocation_mode).
    type: str
  pod_ip_allocation_mode:
    description:
      - V(DynamicIndividual) (AKS's default with a pod subnet) or V(StaticBlock) (new pools only, Kubernetes 1.28 or later).
    type: str
    choices: [DynamicIndividual, StaticBlock]
  orchestrator_version:
    description: Kubernetes version of the pool's nodes (C(major.minor) or C(major.minor.patch)); the control plane's when omitted.
    type: str
  skip_subnet_role_assignment:
    description:
      - Do not look up or create the C(Network Contributor) role assignments of the cluster's identity on the
        pool's node and pod subnets (as O(azcni.cilium.aks_cilium_cluster#module:skip_subnet_role_assignment) does
        for the cluster's own pools).
    type: bool
    default: false
  wait:
    description: Wait for the operation to finish.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the operation.
    type: int
    default: 1800
attributes:
  check_mode:
    support: full
    details: Reads only; reports what would change. A cluster that does not exist yet skips the checks that need it, with a warning.
  diff_mode:
    support: full
notes:
  - Azure CNI Powered by Cilium runs on Linux pools only, so the module creates Linux pools.
  - The capacity rules use the Network RP's usage of the subnets (C(virtualNetworks/usages)); addresses held by nodes
    the pool already has are in that figure, so only the nodes it may add are counted.
seealso:
  - module: azcni.cilium.aks_cilium_cluster
  - module: azcni.cilium.aks_network
  - name: Static Block allocation
    description: Azure CNI Pod Subnet - Static Block Allocation.
    link: https://learn.microsoft.com/azure/aks/configure-azure-cni-static-block-allocation
"""

EXAMPLES = r"""
- name: A user pool whose pods take /28 blocks of their own pod subnet
  azcni.cilium.aks_cilium_nodepool:
    cluster_name: aks-cilium
    resource_group: rg-aks-cilium
    name: web
    vm_size: Standard_D4ds_v5
    enable_auto_scaling: true
    min_count: 2
    max_count: 10
    max_pods: 63
    vnet_subnet_id: "{{ network.subnet_ids.nodes }}"
    pod_subnet_id: "{{ network.subnet_ids['pods-web'] }}"
    pod_ip_allocation_mode: StaticBlock
    node_labels: {workload: web}
    node_taints: ["workload=web:NoSchedule"]

- name: Delete the pool
  azcni.cilium.aks_cilium_nodepool:
    cluster_name: aks-cilium
    resource_group: rg-aks-cilium
    name: web
    state: absent
"""

RETURN = r"""
pool:
  description:
    - The pool as the agentPools API shows it (C(id), C(name), C(type), C(properties)); in check mode, as it
      would be. Empty after O(state=absent).
  returned: always
  type: dict
  sample: {name: web, type: Microsoft.ContainerService/managedClusters/agentPools,
           properties: {count: 2, mode: User, maxPods: 63, podIPAllocationMode: StaticBlock, provisioningState: Succeeded}}
subnet_role_assignments:
  description:
    - The C(Network Contributor) role assignment of the cluster's identity on each of the pool's custom subnets,
      granted before the pool is written (as for the cluster's own pools), with its C(state) V(present),
      V(created) or V(planned) (check mode). Empty with O(skip_subnet_role_assignment=true).
  returned: when O(state=present)
  type: list
  elements: dict
  sample: [{scope: /subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pods-web,
            role: Network Contributor, principal_id: 1b2c3d4e-0000-4000-8000-000000000000, state: present,
            role_definition_id: /subscriptions/0000/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7}]
subnet_usage:
  description: Usage of the pool's node and pod subnets after the task, as the Network RP reports it.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Subnet resource ID.
      type: str
    name:
      description: Subnet name.
      type: str
    role:
      description: V(node) or V(pod).
      type: str
    limit:
      description: Usable addresses (Azure keeps five of every subnet).
      type: int
    in_use:
      description: Addresses in use (node NICs, reserved pod IPs and blocks).
      type: int
    free:
      description: Addresses left.
      type: int
operations:
  description: The operation performed (planned, in check mode), V(create), V(update), V(reconcile) (a Failed or
    Canceled pool sent its own model again) or V(delete); empty when none.
  returned: always
  type: list
  elements: str
stored_operations:
  description: On a failure, the writes Azure had accepted before it (the task then reports C(changed=true)).
  returned: on failure, when a write was stored
  type: list
  elements: str
  sample: ["update of pool user1"]
changes:
  description: The pool fields that change.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [count, nodeLabels.workload]
diff:
  description: Before and after values of the pool's fields.
  returned: with --diff
  type: dict
failed_rules:
  description: Ids of the pre-flight rules the request broke.
  returned: when a pre-flight check fails
  type: list
  elements: str
  sample: [one-allocation-mode-per-subnet]
reasons:
  description: Why the requested changes cannot be made.
  returned: when a change is impossible
  type: list
  elements: str
"""

from ansible_collections.azcni.cilium.plugins.module_utils._aks.nodepool_runner import run_nodepool
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureModule

ARGUMENT_SPEC = dict(
    cluster_name=dict(type="str", required=True),
    resource_group=dict(type="str", required=True),
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    mode=dict(type="str", choices=["System", "User"]),
    vm_size=dict(type="str"),
    count=dict(type="int"),
    enable_auto_scaling=dict(type="bool"),
    min_count=dict(type="int"),
    max_count=dict(type="int"),
    max_pods=dict(type="int"),
    os_sku=dict(type="str"),
    zones=dict(type="list", elements="str"),
    node_labels=dict(type="dict"),
    node_taints=dict(type="list", elements="str"),
    vnet_subnet_id=dict(type="str"),
    pod_subnet_id=dict(type="str"),
    pod_ip_allocation_mode=dict(type="str", choices=["DynamicIndividual", "StaticBlock"]),
    orchestrator_version=dict(type="str"),
    skip_subnet_role_assignment=dict(type="bool", default=False),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=1800),
)


def main():
    run_nodepool(AzureModule(ARGUMENT_SPEC, supports_check_mode=True,
                             required_if=[("enable_auto_scaling", True, ["min_count", "max_count"])]))


if __name__ == "__main__":
    main()
