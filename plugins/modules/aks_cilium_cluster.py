#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aks_cilium_cluster
short_description: AKS cluster with Azure CNI Powered by Cilium, in overlay, VNet or node-subnet mode
version_added: 1.0.0
description:
  - Creates, updates or deletes an AKS managed cluster whose network is Azure CNI Powered by Cilium, with
    pod IPs from an overlay range (O(ipam_mode=overlay)), from a pod subnet of your VNet
    (O(ipam_mode=vnet), dynamic or Static Block pod IP allocation) or from the node subnet itself
    (O(ipam_mode=node_subnet), legacy Azure CNI). More node pools come with M(azcni.cilium.aks_cilium_nodepool).
  - The cluster always gets C(networkPlugin=azure), C(networkDataplane=cilium) and C(networkPolicy=cilium).
  - "Before any write the request is checked against the rules AKS would otherwise enforce only after a
    long-running operation has started. Each failure names its rule (returned in C(failed_rules)):
    C(linux-only), C(dataplane-policy-pairing), C(pool-name), C(max-pods-range) (10 to 250), C(max-pods-pool-capacity),
    C(autoscaler-bounds), C(cidr-syntax), C(pod-cidr-overlay-only), C(pod-subnet-vnet-only),
    C(vnet-subnets-required), C(subnet-id-format), C(vnet-subnets-different), C(vnet-subnets-same-vnet),
    C(service-dns-pair), C(service-cidr-size) (smaller than /12), C(dns-ip-in-service-cidr),
    C(dns-ip-not-first), C(reserved-ranges), C(pod-service-overlap), and, after reading the VNet of
    O(system_pool.vnet_subnet_id), C(subnets-exist), C(node-subnet-not-delegated), C(subnet-capacity), C(vnet-overlap)
    (an overlay pod CIDR in the VNet's address space) and C(service-cidr-subnet-overlap) (the service CIDR on a subnet);
    for O(system_pool.pod_ip_allocation_mode) also C(allocation-mode-needs-pod-subnet) and
    C(static-block-kubernetes-version) (1.28 or later)."
  - "A service CIDR inside the VNet's address space that misses every subnet is accepted, as AKS accepts it (for
    example the default 10.0.0.0/16 in a 10.0.0.0/8 VNet), with a warning naming C(service-cidr-in-vnet)."
  - Updates merge the options onto the cluster Azure returned and send the whole cluster back only when
    something differs, so settings the task does not mention are kept, never reset. An unchanged
    cluster sends no write request, unless the cluster or one of its node pools is left in
    C(provisioningState) C(Failed) or C(Canceled); then the cluster's own model is sent again (operation
    V(reconcile), as C(az aks update) with no changes does; AKS reconciles the pools with the cluster) and the
    task reports C(changed).
  - Changes AKS cannot make (service CIDR, DNS service IP, DNS prefix, location, turning overlay off,
    the data plane back to azure, the subnets, VM size, zones, max_pods or pod IP allocation mode of an
    existing pool, a Kubernetes downgrade) fail before the call with the reason.
  - The one-way migrations AKS allows run only with O(allow_migration=true), as separate operations in
    the order AKS requires. An NPM or Calico engine is uninstalled first (C(remove-policy)) when the IPAM mode moves
    to overlay, then the IPAM migration (kubenet, or node-subnet Azure CNI when O(ipam_mode=overlay) is asked for,
    to overlay), then the data plane migration (azure to cilium, together with network policy cilium), then any
    other change. AKS changes the data plane in place from any Azure CNI IPAM mode, so a node-subnet or pod-subnet
    cluster without O(ipam_mode) keeps its IPAM mode and gets one operation.
  - Before a migration's first write the checks of M(azcni.cilium.aks_cilium_migration_info) run (one
    implementation) - node auto-provisioning, Windows pools, Kubernetes and Cilium versions, kubenet's identity,
    PodDisruptionBudgets that would block the drain, the Cilium identity count. While one stands the task fails with
    C(blockers) and nothing is written; O(ignore_blockers) accepts named ones. The in-cluster checks read the
    cluster's API with its user credentials from Azure (in memory).
  - A cluster found in the middle of an operation (C(Creating), C(Updating), C(Deleting), ...) is waited for
    before it is compared.
  - On a custom VNet the cluster's identity gets the built-in C(Network Contributor) role on every subnet its
    pools use (node and pod subnets), as C(az aks create) does for the node subnet and as AKS's docs require
    for both. The identity's assignments at or above each subnet are looked up first; only missing ones are
    created. A user-assigned identity is granted before the cluster is created, a system-assigned one right
    after, once it exists. The caller needs C(Microsoft.Authorization/roleAssignments/write) on the subnets
    (Owner, User Access Administrator or Role Based Access Control Administrator), or O(skip_subnet_role_assignment=true).
author:
  - azcni.cilium contributors (@azcni)
extends_documentation_fragment:
  - azcni.cilium.azure
  - azcni.cilium.attributes
options:
  name:
    description:
      - Name of the managed cluster.
    type: str
    required: true
  resource_group:
    description:
      - Resource group of the cluster.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the cluster, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  location:
    description:
      - Azure region. Required to create the cluster; a different region than the cluster's fails.
    type: str
  tags:
    description:
      - Tags to set. Tags of the cluster not listed here are kept. Values are stored as text.
    type: dict
  dns_prefix:
    description:
      - DNS prefix of the API server FQDN. Fixed at creation; defaults to the cluster name (made valid).
    type: str
  kubernetes_version:
    description:
      - Kubernetes version, C(major.minor) or C(major.minor.patch). AKS's default version when omitted,
        and never reported as drift when omitted.
      - A newer version upgrades the control plane and every node pool, like C(az aks upgrade); AKS upgrades
        one minor version at a time and cannot downgrade.
    type: str
  sku_tier:
    description:
      - Pricing tier of the control plane. AKS's default (V(Free)) on create when omitted.
    type: str
    choices: [Free, Standard, Premium]
  identity:
    description:
      - Managed identity of the control plane. A system-assigned identity when omitted at creation.
    type: dict
    suboptions:
      type:
        description: Kind of identity.
        type: str
        choices: [SystemAssigned, UserAssigned]
        default: SystemAssigned
      user_assigned_identity:
        description: Resource ID of the user-assigned identity. Required with O(identity.type=UserAssigned).
        type: str
  ipam_mode:
    description:
      - V(overlay) gives pods IPs from O(pod_cidr), outside the VNet.
      - V(vnet) gives pods IPs from O(system_pool.pod_subnet_id) (dynamic pod IP allocation); it needs
        O(system_pool.vnet_subnet_id) and O(system_pool.pod_subnet_id).
      - V(node_subnet) gives pods IPs from the node subnet O(system_pool.vnet_subnet_id) (legacy Azure CNI,
        "Option 3" of the AKS Cilium doc); each node takes max_pods addresses of it. Without
        O(system_pool.vnet_subnet_id) AKS creates the VNet.
      - When omitted, an existing cluster keeps its mode (a kubenet cluster counts as V(overlay), the only
        mode it can migrate to); a new cluster uses V(vnet) when O(system_pool.pod_subnet_id) is given and
        V(overlay) otherwise.
    type: str
    choices: [overlay, vnet, node_subnet]
  pod_cidr:
    description:
      - Overlay pod address range, for example V(192.168.0.0/16). Only with O(ipam_mode=overlay); AKS's
        default V(10.244.0.0/16) when omitted.
      - On an existing overlay cluster it can only grow to a range containing the current one.
    type: str
  service_cidr:
    description:
      - Kubernetes service address range, smaller than /12. Give it together with O(dns_service_ip).
        AKS's default V(10.0.0.0/16) when omitted. Fixed at creation.
    type: str
  dns_service_ip:
    description:
      - IP of the cluster DNS service, inside O(service_cidr) and not its first address. AKS's default
        V(10.0.0.10) when omitted. Fixed at creation.
    type: str
  system_pool:
    description:
      - The system node pool. On an existing cluster it is the pool named O(system_pool.name), or the
        first pool in System mode when no name is given; other pools are left alone.
    type: dict
    suboptions:
      name:
        description: Pool name. V(nodepool1) at creation when omitted.
        type: str
      vm_size:
        description: VM size of the nodes. V(Standard_D4ds_v5) at creation when omitted. Fixed per pool.
        type: str
      count:
        description:
          - Number of nodes. V(3) at creation when omitted.
          - With the autoscaler on it is only the initial count; the autoscaler owns it afterwards.
        type: int
      enable_auto_scaling:
        description: Turn the cluster autoscaler on (needs O(system_pool.min_count) and O(system_pool.max_count)) or off.
        type: bool
      min_count:
        description: Autoscaler minimum node count.
        type: int
      max_count:
        description: Autoscaler maximum node count.
        type: int
      max_pods:
        description:
          - Maximum pods per node, 10 to 250. AKS's default (250 in overlay, 110 in VNet mode) when omitted.
            Fixed per pool.
        type: int
      os_sku:
        description: Linux OS SKU, for example V(Ubuntu) or V(AzureLinux). Windows is not supported by Cilium.
        type: str
      zones:
        description: Availability zones of the nodes, for example V(["1", "2", "3"]). Fixed per pool.
        type: list
        elements: str
      vnet_subnet_id:
        description:
          - Resource ID of the node subnet. Required with O(ipam_mode=vnet); optional with overlay
            (AKS creates a VNet when omitted). Fixed per pool.
        type: str
      pod_subnet_id:
        description:
          - Resource ID of the pod subnet, in the same VNet as the node subnet. Only with O(ipam_mode=vnet).
            Fixed per pool.
        type: str
      pod_ip_allocation_mode:
        description:
          - How the pod subnet hands out addresses, V(DynamicIndividual) (AKS's default, batches of 16 IPs per
            node) or V(StaticBlock) (/28 blocks per node, for large subnets; Kubernetes 1.28 or later). Fixed per
            pool, chosen at creation. Only with O(system_pool.pod_subnet_id).
        type: str
        choices: [DynamicIndividual, StaticBlock]
  advanced_networking:
    description:
      - Advanced Container Networking Services (ACNS), C(networkProfile.advancedNetworking). Options not mentioned
        keep the cluster's value (on create, off).
      - "Checked before any write (each failure names its rule): FQDN and L7 policies and WireGuard need
        O(advanced_networking.security)
        (C(acns-policies-need-security), C(acns-wireguard-needs-security)); FQDN/L7 need Kubernetes 1.29 or later
        (C(acns-fqdn-kubernetes-version)); L7 is limited to 1,000 nodes (C(acns-l7-node-limit)); C(bpfveth) needs
        Kubernetes 1.33 or later, Azure Linux 3.0 or Ubuntu 24.04 nodes and no Static Egress Gateway
        (C(acns-bpfveth-kubernetes-version), C(acns-bpfveth-node-os), C(acns-bpfveth-static-egress)); WireGuard needs
        UDP 51871 open between the nodes, checked on the node subnet's network security group when the VNet can be read
        (C(acns-wireguard-udp-51871))."
      - Turning WireGuard on restarts the Cilium agents; with O(wait) the task waits for that rollout and for every
        CiliumNode to publish its C(network.cilium.io/wg-pub-key), and returns RV(wireguard).
    type: dict
    suboptions:
      observability:
        description: Hubble (flow logs and network metrics; Hubble Relay runs in kube-system).
        type: bool
      security:
        description:
          - ACNS security (needs the Cilium data plane, which the cluster always has). Turned on by asking for
            O(advanced_networking.network_policies=fqdn), O(advanced_networking.network_policies=l7) or WireGuard unless
            given; turning it on without a policy mode gets AKS's default, C(fqdn); turning it off turns the policy mode off.
        type: bool
      network_policies:
        description:
          - C(security.advancedNetworkPolicies). C(fqdn) enforces FQDN policies (the DNS proxy); C(l7) also HTTP, gRPC and
            Kafka rules (the C(cilium-envoy) DaemonSet runs beside the agents); C(none) neither.
        type: str
        choices: [none, fqdn, l7]
      transit_encryption:
        description: C(security.transitEncryption.type). C(wireguard) encrypts pod traffic between nodes.
        type: str
        choices: [none, wireguard]
      acceleration:
        description: C(performance.accelerationMode). C(bpfveth) is eBPF host routing.
        type: str
        choices: [none, bpfveth]
  container_network_logs:
    description:
      - Container network (flow) logs, C(azureMonitorProfile.containerInsights.containerNetworkLogs). Needs ACNS
        observability and Kubernetes 1.33 or later (C(acns-flow-logs-need-observability),
        C(acns-flow-logs-kubernetes-version)). What is captured is then defined in the cluster by
        C(ContainerNetworkLog) objects (M(azcni.cilium.cilium_policy) applies them).
      - Not given keeps the cluster's value.
    type: bool
  allow_migration:
    description:
      - Allow the one-way migrations of an existing cluster (IPAM to overlay, data plane azure to cilium).
        They reimage every node pool and cannot be undone. Without it a cluster needing one fails before any write.
    type: bool
    default: false
  ignore_blockers:
    description:
      - Ids of migration blockers to accept (see M(azcni.cilium.aks_cilium_migration_info)), for example
        V(pdb-slow-drain) or V(node-auto-provisioning). Each accepted blocker is reported as a warning; AKS may
        still refuse the operation.
    type: list
    elements: str
    default: []
  skip_subnet_role_assignment:
    description:
      - Do not look up or create the C(Network Contributor) role assignments of the cluster's identity on its
        subnets (like C(az aks create --skip-subnet-role-assignment)), for callers who may not assign roles
        and grant the rights another way.
    type: bool
    default: false
  wait:
    description:
      - Wait for the last operation to finish. Intermediate operations of a migration are always waited for.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for each long-running operation, and for an operation already running on the
        cluster when the task starts.
    type: int
    default: 1800
notes:
  - Results never include credentials; use M(azcni.cilium.aks_kubeconfig) to fetch a kubeconfig.
  - The VNet checks read the VNet of O(system_pool.vnet_subnet_id) with the task's credentials; they are skipped,
    with a warning, when the VNet is in another subscription.
  - In check mode a VNet or subnet that does not exist yet (because the task that creates it, for example
    M(azcni.cilium.aks_network), ran in check mode too) skips the checks that need it, with a warning, and the
    task reports the planned creation. Outside check mode a missing VNet or subnet fails C(subnets-exist) before any write.
seealso:
  - module: azcni.cilium.aks_cilium_cluster_info
  - module: azcni.cilium.aks_network
  - module: azcni.cilium.aks_kubeconfig
  - name: Azure CNI Powered by Cilium
    description: How AKS runs Cilium as the network data plane.
    link: https://learn.microsoft.com/azure/aks/azure-cni-powered-by-cilium
"""

EXAMPLES = r"""
- name: Overlay cluster
  azcni.cilium.aks_cilium_cluster:
    name: aks-overlay
    resource_group: rg-aks-cilium
    location: westeurope
    ipam_mode: overlay
    pod_cidr: 192.168.0.0/16
    system_pool:
      vm_size: Standard_D4ds_v5
      count: 3

- name: VNet mode cluster (dynamic pod IP allocation)
  azcni.cilium.aks_cilium_cluster:
    name: aks-vnet
    resource_group: rg-aks-cilium
    location: westeurope
    ipam_mode: vnet
    service_cidr: 10.0.0.0/16
    dns_service_ip: 10.0.0.10
    system_pool:
      max_pods: 250
      vnet_subnet_id: "{{ network.subnet_ids.nodes }}"
      pod_subnet_id: "{{ network.subnet_ids.pods }}"
    advanced_networking:
      observability: true

- name: L7 policies and WireGuard on an existing cluster (waits for the agent rollout)
  azcni.cilium.aks_cilium_cluster:
    name: aks-overlay
    resource_group: rg-aks-cilium
    advanced_networking:
      network_policies: l7
      transit_encryption: wireguard
    container_network_logs: true

- name: Migrate an existing Azure CNI cluster to overlay and the Cilium data plane
  azcni.cilium.aks_cilium_cluster:
    name: aks-legacy
    resource_group: rg-aks-cilium
    ipam_mode: overlay
    pod_cidr: 192.168.0.0/16
    allow_migration: true

- name: Node-subnet cluster (legacy Azure CNI IPAM, pods on the node subnet) with Cilium
  azcni.cilium.aks_cilium_cluster:
    name: aks-nodesubnet
    resource_group: rg-aks-cilium
    location: westeurope
    ipam_mode: node_subnet
    system_pool:
      max_pods: 30
      vnet_subnet_id: "{{ network.subnet_ids.nodes }}"

- name: Move an existing Azure CNI cluster (node subnet or pod subnet) to the Cilium data plane, IPAM unchanged
  azcni.cilium.aks_cilium_cluster:
    name: aks-legacy
    resource_group: rg-aks-cilium
    allow_migration: true

- name: Delete the cluster
  azcni.cilium.aks_cilium_cluster:
    name: aks-overlay
    resource_group: rg-aks-cilium
    state: absent
"""

RETURN = r"""
cluster:
  description:
    - The main fields of the cluster after the task (in check mode, as it would be), without credentials.
    - C(id), C(name), C(location), C(tags), C(sku), C(identity) and, lifted out of ARM's C(properties) as
      C(az aks show) prints them, C(provisioningState), C(powerState), C(kubernetesVersion),
      C(currentKubernetesVersion), C(dnsPrefix), C(fqdn), C(nodeResourceGroup), C(networkProfile) and
      C(agentPoolProfiles). Keys keep ARM's spelling, for example C(networkProfile.dnsServiceIP) and
      C(agentPoolProfiles[].vnetSubnetID).
    - Empty after O(state=absent).
  returned: always
  type: dict
  contains:
    id:
      description: Resource ID.
      type: str
      sample: /subscriptions/0000/resourceGroups/rg-aks-cilium/providers/Microsoft.ContainerService/managedClusters/aks-overlay
    provisioningState:
      description: Provisioning state.
      type: str
      sample: Succeeded
    fqdn:
      description: FQDN of the API server.
      type: str
      sample: aks-overlay-1a2b3c4d.hcp.westeurope.azmk8s.io
    kubernetesVersion:
      description: Kubernetes version.
      type: str
      sample: "1.33"
    networkProfile:
      description: The network profile as Azure returned it.
      type: dict
      sample: {networkPlugin: azure, networkPluginMode: overlay, networkDataplane: cilium, networkPolicy: cilium,
               podCidr: 192.168.0.0/16, serviceCidr: 10.0.0.0/16, dnsServiceIP: 10.0.0.10}
    agentPoolProfiles:
      description: Node pools (name, count, vmSize, maxPods, subnets, versions, states).
      type: list
      elements: dict
operations:
  description:
    - Operations performed (planned, in check mode), in order. V(subnet-role-assignment) when role assignments
      of the cluster identity on its subnets are created (see RV(subnet_role_assignments)).
  returned: always
  type: list
  elements: str
  sample: [migrate-ipam, migrate-dataplane]
changes:
  description: Dotted paths of the cluster fields that change.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [networkProfile.networkDataplane, networkProfile.networkPolicy]
diff:
  description: Before and after values of the network profile, pool and cluster fields that change.
  returned: always
  type: dict
  sample: {before: {networkProfile: {networkDataplane: azure}}, after: {networkProfile: {networkDataplane: cilium}}}
subnet_role_assignments:
  description:
    - The C(Network Contributor) role assignment of the cluster's identity on each subnet its pools use, with
      its C(state) V(present) (found, also when inherited from the VNet or resource group), V(created), or
      V(planned) (check mode). C(principal_id) is null in check mode for a new system-assigned identity.
    - Empty in overlay mode and with O(skip_subnet_role_assignment=true).
  returned: when O(state=present)
  type: list
  elements: dict
  sample: [{scope: /subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/nodes,
            role: Network Contributor, principal_id: 1b2c3d4e-0000-4000-8000-000000000000, state: created,
            role_definition_id: /subscriptions/0000/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7}]
waited_for_pending_operation:
  description: Whether the task first waited for an operation that was already running on the cluster.
  returned: when O(state=present)
  type: bool
wireguard:
  description:
    - After the task turned WireGuard on (with O(wait)), the Cilium agent rollout it waited for and the nodes
      publishing a WireGuard key.
  returned: when the task turned WireGuard on
  type: dict
  contains:
    agent:
      description: The last rollout status of the agent DaemonSet, as C(kubectl rollout status) prints it.
      type: str
    nodes:
      description: CiliumNode objects.
      type: int
    nodes_with_key:
      description: CiliumNodes with the C(network.cilium.io/wg-pub-key) annotation (all of them, or the task fails).
      type: int
    waited:
      description: Seconds spent waiting.
      type: float
  sample: {agent: 'daemon set "cilium" successfully rolled out', nodes: 3, nodes_with_key: 3, waited: 4.2}
failed_rules:
  description: Ids of the pre-flight rules the request broke.
  returned: when a pre-flight check fails
  type: list
  elements: str
  sample: [service-cidr-size]
blockers:
  description: The migration blockers that stand (C({id, message, object})), when the task refused to migrate.
  returned: when a blocker stands
  type: list
  elements: dict
  sample: [{id: pdb-no-disruptions, object: poddisruptionbudget/default/web, message: "PodDisruptionBudget ..."}]
reasons:
  description: Why the requested changes cannot be made.
  returned: when a change is impossible
  type: list
  elements: str
"""


from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_runner import run_cluster
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureModule

POOL_SPEC = dict(
    name=dict(type="str"),
    vm_size=dict(type="str"),
    count=dict(type="int"),
    enable_auto_scaling=dict(type="bool"),
    min_count=dict(type="int"),
    max_count=dict(type="int"),
    max_pods=dict(type="int"),
    os_sku=dict(type="str"),
    zones=dict(type="list", elements="str"),
    vnet_subnet_id=dict(type="str"),
    pod_subnet_id=dict(type="str"),
    pod_ip_allocation_mode=dict(type="str", choices=["DynamicIndividual", "StaticBlock"]),
)

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    resource_group=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    location=dict(type="str"),
    tags=dict(type="dict"),
    dns_prefix=dict(type="str"),
    kubernetes_version=dict(type="str"),
    sku_tier=dict(type="str", choices=["Free", "Standard", "Premium"]),
    identity=dict(type="dict", options=dict(
        type=dict(type="str", choices=["SystemAssigned", "UserAssigned"], default="SystemAssigned"),
        user_assigned_identity=dict(type="str"),
    ), required_if=[("type", "UserAssigned", ["user_assigned_identity"])]),
    ipam_mode=dict(type="str", choices=["overlay", "vnet", "node_subnet"]),
    pod_cidr=dict(type="str"),
    service_cidr=dict(type="str"),
    dns_service_ip=dict(type="str"),
    system_pool=dict(type="dict", options=POOL_SPEC,
                     required_if=[("enable_auto_scaling", True, ["min_count", "max_count"])]),
    advanced_networking=dict(type="dict", options=dict(
        observability=dict(type="bool"),
        security=dict(type="bool"),
        network_policies=dict(type="str", choices=["none", "fqdn", "l7"]),
        transit_encryption=dict(type="str", choices=["none", "wireguard"]),
        acceleration=dict(type="str", choices=["none", "bpfveth"]),
    )),
    container_network_logs=dict(type="bool"),
    allow_migration=dict(type="bool", default=False),
    ignore_blockers=dict(type="list", elements="str", default=[]),
    skip_subnet_role_assignment=dict(type="bool", default=False),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=1800),
)


def main():
    def in_cluster(*args, **kwargs):
        # imported only when a migration is planned: a task that migrates nothing loads neither _cilium nor _k8s
        from ansible_collections.azcni.cilium.plugins.module_utils._cilium.migration_checks import cluster_checks

        return cluster_checks(*args, **kwargs)

    run_cluster(AzureModule(ARGUMENT_SPEC, supports_check_mode=True), in_cluster=in_cluster)


if __name__ == "__main__":
    main()
