#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""aks_cilium_migration_info: what migrating a cluster to Azure CNI Powered by Cilium involves."""

from __future__ import annotations

DOCUMENTATION = r"""
module: aks_cilium_migration_info
short_description: Pre-flight check of an AKS cluster's migration to Azure CNI Powered by Cilium
version_added: 1.1.0
description:
  - Reads one AKS cluster from Azure Resource Manager and, through its Kubernetes API, the objects a migration
    touches, and reports what migrating it to Azure CNI Powered by Cilium would involve. Nothing is changed.
  - RV(current) and RV(target) network setups; RV(steps), the AKS operations in the order AKS requires them (policy engine
    removal, IPAM to overlay, data plane to Cilium), each with the node pools it reimages. The plan is the one
    M(azcni.cilium.aks_cilium_cluster) follows with O(azcni.cilium.aks_cilium_cluster#module:allow_migration=true).
  - RV(blockers) and RV(migration_warnings), each C({id, message, object}) - node auto-provisioning on, Windows node pools,
    Kubernetes below the minimum of the migration, kubenet without a user-assigned identity, a policy engine that must
    go first, PodDisruptionBudgets that allow no disruption or cannot be satisfied while a node drains, the Cilium
    identity count near 65,535, no supported Cilium for the Kubernetes version. The same checks gate
    M(azcni.cilium.aks_cilium_cluster).
  - RV(network_policy_findings), the Kubernetes NetworkPolicies whose behaviour changes from NPM (or Calico) to Cilium,
    with the rule path and the reason (ipBlock over pod or node addresses, named ports, endPort before Cilium 1.17,
    the implicit egress to the local node, ingress rules that now also filter NodePort/LoadBalancer traffic of
    externalTrafficPolicy Cluster services), and RV(suggested_policies), CiliumNetworkPolicies that keep today's
    behaviour where one exists, ready for M(azcni.cilium.cilium_policy).
  - The Kubernetes API is reached with the cluster's user credentials from Azure (as C(az aks get-credentials) would
    fetch them, kept in memory), or with O(kubeconfig).
author:
  - azcni.cilium contributors (@azcni)
extends_documentation_fragment:
  - azcni.cilium.azure
  - azcni.cilium.attributes
  - azcni.cilium.attributes.info_module
options:
  name:
    description: The cluster's name.
    type: str
    required: true
  resource_group:
    description: The cluster's resource group.
    type: str
    required: true
  ipam_mode:
    description:
      - The IPAM mode to end in, as O(azcni.cilium.aks_cilium_cluster#module:ipam_mode). Omitted, kubenet clusters go
        to overlay and the others keep the mode AKS lets them keep.
    type: str
    choices: [overlay, vnet]
  pod_cidr:
    description: The overlay pod CIDR for a migration to overlay (default the cluster's own pod CIDR).
    type: str
  admin_credentials:
    description: Read the cluster with its admin credentials (C(listClusterAdminCredential)) instead of the user ones.
    type: bool
    default: false
  kubeconfig:
    description:
      - A kubeconfig file (path) or object (dict) to reach the cluster's API instead of the credentials from Azure.
    type: raw
  context:
    description: The kubeconfig context to use with O(kubeconfig).
    type: str
notes:
  - Read-only; runs in check mode.
seealso:
  - module: azcni.cilium.aks_cilium_cluster
  - module: azcni.cilium.cilium_policy
  - name: Update Azure CNI IPAM mode and data plane technology
    description: AKS's migration paths, their order and preconditions.
    link: https://learn.microsoft.com/azure/aks/update-azure-cni
  - name: Migrate from Network Policy Manager (NPM) to Cilium Network Policy
    description: The NetworkPolicy behaviours that change from NPM to Cilium.
    link: https://learn.microsoft.com/azure/aks/migrate-from-npm-to-cilium-network-policy
"""

EXAMPLES = r"""
- name: Check what migrating the cluster involves
  azcni.cilium.aks_cilium_migration_info:
    name: prod-weu
    resource_group: platform
  register: check

- name: Stop when something stands in the way
  ansible.builtin.assert:
    that: check.blockers | length == 0
    fail_msg: "{{ check.blockers | map(attribute='message') | join('; ') }}"

- name: Apply the CiliumNetworkPolicies that keep today's behaviour (once Cilium runs)
  azcni.cilium.cilium_policy:
    definition: "{{ check.suggested_policies }}"
    policy_set: npm-compat
"""

RETURN = r"""
current:
  description: The cluster's network setup now.
  returned: always
  type: dict
  contains:
    ipam_mode:
      description: C(overlay), C(vnet) (pod subnet), C(node-subnet), C(kubenet) or C(none).
      type: str
    network_plugin:
      description: networkProfile.networkPlugin.
      type: str
    network_plugin_mode:
      description: networkProfile.networkPluginMode.
      type: str
    network_dataplane:
      description: networkProfile.networkDataplane.
      type: str
    network_policy:
      description: networkProfile.networkPolicy.
      type: str
    kubernetes_version:
      description: The Kubernetes version the cluster runs.
      type: str
    cilium_version:
      description: The Cilium version the agents run (from their image), or null without Cilium.
      type: str
    node_pools:
      description: The pools (name, mode, os_type, count, max_surge).
      type: list
      elements: dict
  sample:
    ipam_mode: kubenet
    network_plugin: kubenet
    network_plugin_mode: null
    network_dataplane: azure
    network_policy: calico
    kubernetes_version: 1.33.2
    cilium_version: null
    node_pools: [{name: system, mode: System, os_type: Linux, count: 3, max_surge: 10%}]
target:
  description: The same keys once every step has run; cilium_version is what AKS installs for the Kubernetes version.
  returned: always
  type: dict
steps:
  description: The AKS operations, in order; each is a separate update.
  returned: always
  type: list
  elements: dict
  contains:
    operation:
      description: C(remove-policy), C(migrate-ipam), C(migrate-dataplane) or C(update).
      type: str
    changes:
      description: The networkProfile fields the operation sets.
      type: dict
    reimages:
      description: The node pools the operation reimages (every pool for IPAM and data plane changes).
      type: list
      elements: str
    description:
      description: What the operation does.
      type: str
  sample:
    - {operation: remove-policy, changes: {networkPolicy: none}, reimages: [], description: "uninstall the calico ..."}
    - {operation: migrate-ipam, changes: {networkPlugin: azure, networkPluginMode: overlay, podCidr: 10.244.0.0/16},
       reimages: [system], description: "move the IPAM mode to Azure CNI Overlay; every node pool is reimaged"}
blockers:
  description: What must be fixed (or accepted with ignore_blockers of aks_cilium_cluster) before migrating.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The rule, e.g. C(pdb-no-disruptions), C(windows-pools), C(node-auto-provisioning).
      type: str
    message:
      description: What stands in the way and how to fix it.
      type: str
    object:
      description: The object concerned, e.g. C(poddisruptionbudget/default/web), or null.
      type: str
  sample: [{id: pdb-no-disruptions, object: poddisruptionbudget/default/web,
            message: "PodDisruptionBudget default/web (maxUnavailable 0) allows 0 disruptions ..."}]
migration_warnings:
  description:
    - What the migration does that deserves attention, same shape as blockers (also printed as warnings; the key
      C(warnings) of a result is Ansible's own, a list of strings).
  returned: always
  type: list
  elements: dict
ready:
  description: True when no blocker stands and there is something to do or nothing is needed.
  returned: always
  type: bool
network_policy_findings:
  description: Kubernetes NetworkPolicies whose behaviour changes under Cilium.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: C(ipblock-cluster-address), C(named-port), C(end-port), C(local-node-egress) or
        C(ingress-external-traffic).
      type: str
    policy:
      description: namespace/name of the NetworkPolicy.
      type: str
    path:
      description: The rule, e.g. C(spec.ingress[0].from[1].ipBlock).
      type: str
    reason:
      description: What changes and why.
      type: str
    suggested_policy:
      description: The name of the CiliumNetworkPolicy in suggested_policies that keeps the behaviour, or null.
      type: str
suggested_policies:
  description: CiliumNetworkPolicies (labelled C(azcni.cilium/migration=npm-compat)) for M(azcni.cilium.cilium_policy).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.azcni.cilium.plugins.module_utils._aks.migration_runner import run_migration_info
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureModule
from ansible_collections.azcni.cilium.plugins.module_utils._cilium.migration_checks import cluster_checks

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    resource_group=dict(type="str", required=True),
    ipam_mode=dict(type="str", choices=["overlay", "vnet"]),
    pod_cidr=dict(type="str"),
    admin_credentials=dict(type="bool", default=False),
    kubeconfig=dict(type="raw"),
    context=dict(type="str"),
)


def main():
    run_migration_info(AzureModule(ARGUMENT_SPEC, supports_check_mode=True), in_cluster=cluster_checks)


if __name__ == "__main__":
    main()
