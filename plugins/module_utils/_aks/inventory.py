# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host variables the aks_clusters inventory plugin gives each cluster (pure, from ARM JSON).

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_fields import ipam_of, network, pools, props


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def host_vars(cluster):
    """``aks_*`` variables: identity of the cluster, its network profile and pools (values lower-cased for groups)."""
    parts = (cluster.get("id") or "").split("/")
    net, properties = network(cluster), props(cluster)
    return {
        "aks_cluster_id": cluster.get("id"),
        "aks_cluster_name": cluster.get("name"),
        "aks_resource_group": parts[4] if len(parts) > 4 else None,
        "aks_subscription_id": parts[2] if len(parts) > 2 else None,
        "aks_location": cluster.get("location"),
        "aks_tags": cluster.get("tags") or {},
        "aks_provisioning_state": properties.get("provisioningState"),
        "aks_kubernetes_version": properties.get("currentKubernetesVersion") or properties.get("kubernetesVersion"),
        "aks_ipam_mode": ipam_of(cluster).replace("-", "_"),
        "aks_network_plugin": _lower(net.get("networkPlugin")),
        "aks_network_plugin_mode": _lower(net.get("networkPluginMode")),
        "aks_network_dataplane": _lower(net.get("networkDataplane") or "azure"),
        "aks_network_policy": _lower(net.get("networkPolicy") or "none"),
        "aks_pod_cidr": net.get("podCidr"),
        "aks_service_cidr": net.get("serviceCidr"),
        "aks_node_provisioning_mode": _lower((properties.get("nodeProvisioningProfile") or {}).get("mode") or "manual"),
        "aks_node_pools": [{
            "name": pool.get("name"), "mode": pool.get("mode"), "os_type": pool.get("osType") or "Linux",
            "os_sku": pool.get("osSKU"), "count": pool.get("count"), "vm_size": pool.get("vmSize"),
            "max_pods": pool.get("maxPods"), "orchestrator_version": pool.get("orchestratorVersion"),
            "vnet_subnet_id": pool.get("vnetSubnetID"), "pod_subnet_id": pool.get("podSubnetID"),
        } for pool in pools(cluster)],
    }
