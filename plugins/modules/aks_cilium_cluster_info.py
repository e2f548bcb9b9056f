#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aks_cilium_cluster_info
short_description: Read AKS clusters, optionally with a JMESPath query like C(az aks show --query)
version_added: 1.0.0
description:
  - Returns one AKS managed cluster, every cluster of a resource group, or every cluster of the subscription,
    without credentials.
  - RV(clusters) holds them as ARM returns them, with most settings under C(properties).
  - O(query) extracts a value with JMESPath the way C(az aks show --query) and C(az aks list --query) do, so the
    same expressions work, for example C(networkProfile.networkDataplane).
author:
  - azcni.cilium contributors (@azcni)
extends_documentation_fragment:
  - azcni.cilium.azure
  - azcni.cilium.attributes.info_module
options:
  name:
    description:
      - Name of one cluster. Needs O(resource_group). When omitted, all clusters of O(resource_group) are
        returned, or of the subscription when that is omitted too.
    type: str
  resource_group:
    description:
      - Resource group of the clusters.
    type: str
  query:
    description:
      - A JMESPath expression, run on the clusters in the shape C(az aks show) prints them (not the shape of
        RV(clusters)). With O(name) it applies to the cluster, like C(az aks show --query), otherwise to the
        list of clusters, like C(az aks list --query). The result is in RV(query_result).
      - "In that shape, as in az's output, the fields under ARM's C(properties) sit next to C(id), C(name),
        C(location), C(tags), C(identity) and C(sku): C(networkProfile), C(agentPoolProfiles), C(provisioningState),
        C(kubernetesVersion), C(fqdn), ... Every cluster also has C(resourceGroup)."
      - "Keys are spelled as az prints them, which differs from ARM for acronyms: C(networkProfile.dnsServiceIp),
        C(agentPoolProfiles[].vnetSubnetId), C(agentPoolProfiles[].podSubnetId), C(agentPoolProfiles[].osSku),
        C(enableRbac), and camelCase for the autoscaler settings (C(autoScalerProfile.scanInterval)). Names inside
        maps (tags, node labels, add-on names, identity resource IDs) are kept as they are."
      - Fields Azure did not return are missing where az prints them as null; a path to such a field gives null either way.
      - Needs the C(jmespath) Python library.
    type: str
requirements:
  - jmespath (for O(query))
seealso:
  - module: azcni.cilium.aks_cilium_cluster
"""

EXAMPLES = r"""
- name: Which data plane does the cluster run? (az aks show --query networkProfile.networkDataplane)
  azcni.cilium.aks_cilium_cluster_info:
    name: aks-overlay
    resource_group: rg-aks-cilium
    query: networkProfile.networkDataplane
  register: dataplane

- name: Check it
  ansible.builtin.assert:
    that: dataplane.query_result == 'cilium'

- name: Names and IPAM modes of every cluster in the resource group (az aks list --query ...)
  azcni.cilium.aks_cilium_cluster_info:
    resource_group: rg-aks-cilium
    query: "[].{name: name, group: resourceGroup, mode: networkProfile.networkPluginMode}"
  register: modes

- name: The same field without a query, from the ARM-shaped clusters
  ansible.builtin.debug:
    msg: "{{ dataplane.clusters[0].properties.networkProfile.networkDataplane }}"
"""

RETURN = r"""
clusters:
  description:
    - The clusters found (none when O(name) does not exist), without credentials.
    - In ARM's shape, as the REST API returns them, not az's. Most settings are under C(properties) and keys are in
      ARM's spelling (C(properties.networkProfile.dnsServiceIP), C(properties.agentPoolProfiles[].vnetSubnetID)).
  returned: always
  type: list
  elements: dict
  sample:
    - name: aks-overlay
      id: /subscriptions/0000/resourceGroups/rg-aks-cilium/providers/Microsoft.ContainerService/managedClusters/aks-overlay
      location: westeurope
      properties:
        provisioningState: Succeeded
        networkProfile:
          networkPlugin: azure
          networkPluginMode: overlay
          networkDataplane: cilium
          networkPolicy: cilium
          dnsServiceIP: 10.0.0.10
query_result:
  description:
    - What O(query) selected from the cluster (with O(name)) or the list of clusters, both in the shape
      C(az aks show) prints them (see O(query)); null when nothing matched or the cluster does not exist.
  returned: when O(query) is given
  type: raw
  sample: cilium
"""

from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_info import run_info
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureModule

ARGUMENT_SPEC = dict(
    name=dict(type="str"),
    resource_group=dict(type="str"),
    query=dict(type="str"),
)


def main():
    run_info(AzureModule(ARGUMENT_SPEC, supports_check_mode=True, required_by=dict(name="resource_group")))


if __name__ == "__main__":
    main()
