# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a network migration of an AKS cluster means on the ARM side: from, to, steps, blockers.

Pure functions over the cluster JSON Azure returned and the plan ``cluster_plan.plan`` made (one plan
for aks_cilium_cluster and aks_cilium_migration_info). Blockers and warnings are
``{id, message, object}``; each rule names its source in RULES.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_fields import network, pools, props, version_tuple

# AKS's Cilium per Kubernetes minor (AKS docs, azure-cni-powered-by-cilium, 2026-08): the version AKS
# installs is at least this; below 1.31 AKS lists none.
MIN_CILIUM = (((1, 36), "1.18.9"), ((1, 34), "1.18.6"), ((1, 32), "1.17.9"), ((1, 31), "1.16.16"))
MIN_OVERLAY_MIGRATION = (1, 27)

# id -> (blocker | warning, source). The one table the docs, the tests and ignore_blockers use.
RULES = {
    "node-auto-provisioning": ("blocker", "update-azure-cni: node auto-provisioning must be disabled for the data plane "
                                          "update"),
    "windows-pools": ("blocker", "azure-cni-powered-by-cilium: Linux node pools only; update-azure-cni: no Windows pools"),
    "kubernetes-version": ("blocker", "update-azure-cni: the overlay migration needs Kubernetes 1.27 or later"),
    "cilium-version": ("blocker", "azure-cni-powered-by-cilium: minimum Cilium per Kubernetes version (1.31 -> 1.16.16 "
                                  "and up); AKS installs no listed Cilium below Kubernetes 1.31"),
    "kubenet-identity": ("blocker", "update-azure-cni (kubenet) and Azure/AKS#5662: a kubenet cluster in its own VNet "
                                    "needs a user-assigned managed identity so AKS can detach the kubenet route table "
                                    "from the subnet (inferred scope: the managed VNet's route table is AKS's own)"),
    "policy-engine-removal": ("warning", "update-azure-cni / Azure/AKS#4006: the overlay migration refuses a cluster "
                                         "with NPM or Calico, so the engine is uninstalled first; pods run without "
                                         "network policy enforcement until the Cilium step"),
    "not-possible": ("blocker", "AKS refuses this change (see the message)"),
    "cluster-state": ("blocker", "AKS refuses operations while another one runs; a Failed cluster needs attention"),
    "pdb-no-disruptions": ("blocker", "AKS drain: eviction answers 429 while a PodDisruptionBudget allows 0 "
                                      "disruptions; the operation fails with UpgradeFailed (aka.ms/aks/debugdrainfailures)"),
    "pdb-unsatisfiable-drain": ("blocker", "AKS reimages every pool at once: a budget whose pods on one node exceed its "
                                           "allowed disruptions, with no surge node to take replacements, cannot drain"),
    "pdb-slow-drain": ("warning", "the drain evicts such pods only as fast as replacements become Ready"),
    "identity-limit": ("blocker", "azure-cni-powered-by-cilium: at most 65,535 Cilium identities"),
    "identity-count": ("warning", "azure-cni-powered-by-cilium: identity limit 65,535; more than 80% of it is used"),
    "cluster-unreachable": ("blocker", "the in-cluster checks (PDBs, identities, policies) need the cluster's API"),
}


def finding(rule_id, message, obj=None):
    return {"id": rule_id, "message": message, "object": obj}


def aks_cilium_version(kubernetes_version):
    """The (minimum) Cilium AKS runs with this Kubernetes version, or None below the table."""
    minor = version_tuple(kubernetes_version)[:2]
    return next((cilium for since, cilium in MIN_CILIUM if minor >= since), None)


def kubernetes_version(cluster):
    return props(cluster).get("currentKubernetesVersion") or props(cluster).get("kubernetesVersion")


def pools_view(cluster):
    return [{"name": p.get("name"), "mode": p.get("mode"), "os_type": p.get("osType") or "Linux",
             "count": p.get("count"), "max_surge": (p.get("upgradeSettings") or {}).get("maxSurge")}
            for p in pools(cluster)]


def state_view(cluster, ipam_mode, cilium_version=None):
    net = network(cluster)
    return {"ipam_mode": ipam_mode,
            "network_plugin": net.get("networkPlugin"),
            "network_plugin_mode": net.get("networkPluginMode"),
            "network_dataplane": net.get("networkDataplane") or "azure",
            "network_policy": net.get("networkPolicy") or "none",
            "kubernetes_version": kubernetes_version(cluster),
            "cilium_version": cilium_version,
            "node_pools": pools_view(cluster)}


REIMAGE_OPERATIONS = ("migrate-ipam", "migrate-dataplane")
MIGRATION_OPERATIONS = ("remove-policy",) + REIMAGE_OPERATIONS


def steps_view(the_plan, cluster):
    """The plan's operations as {operation, changes, reimages, description}."""
    pool_names = [p["name"] for p in pools_view(cluster)]
    described = {
        "remove-policy": "uninstall the %s network policy engine (networkPolicy none), which the overlay migration needs"
                         % (network(cluster).get("networkPolicy") or "none"),
        "migrate-ipam": "move the IPAM mode to Azure CNI Overlay; every node pool is reimaged",
        "migrate-dataplane": "switch the data plane to Cilium with network policy cilium; every node pool is reimaged",
        "update": "apply the other requested changes",
        "create": "create the cluster",
    }
    result = []
    for step in the_plan.steps:
        changes = ((step.patch or {}).get("properties") or {}).get("networkProfile") or {}
        result.append({"operation": step.operation, "changes": changes,
                       "reimages": pool_names if step.operation in REIMAGE_OPERATIONS else [],
                       "description": described.get(step.operation, step.operation)})
    return result


def arm_findings(cluster, the_plan, state):
    """(blockers, warnings) that the cluster's ARM facts and the plan show."""
    operations = the_plan.operations
    migrating = [op for op in operations if op in REIMAGE_OPERATIONS]
    blockers, warnings = [], []
    for reason in the_plan.reasons:
        blockers.append(finding("not-possible", reason))
    properties = props(cluster)
    provisioning = properties.get("provisioningState") or "Succeeded"
    if provisioning.lower() != "succeeded":
        blockers.append(finding("cluster-state", "the cluster is in provisioningState %s; AKS runs one operation at a time "
                                                 "and a failed cluster needs a successful update first" % provisioning,
                                "managedCluster/%s" % cluster.get("name")))
    if not migrating:
        return blockers, warnings
    if ((properties.get("nodeProvisioningProfile") or {}).get("mode") or "").lower() == "auto":
        blockers.append(finding("node-auto-provisioning", "node auto-provisioning is on (nodeProvisioningProfile.mode "
                                                          "Auto); set it to Manual before migrating",
                                "nodeProvisioningProfile"))
    for pool in pools_view(cluster):
        if pool["os_type"].lower() == "windows":
            blockers.append(finding("windows-pools", "node pool %s runs Windows; Azure CNI Powered by Cilium is Linux-only: "
                                                     "move its workloads and delete the pool first" % pool["name"],
                                    "agentPool/%s" % pool["name"]))
    version = version_tuple(state["kubernetes_version"])
    if "migrate-ipam" in operations and version and version[:2] < MIN_OVERLAY_MIGRATION:
        blockers.append(finding("kubernetes-version", "the overlay migration needs Kubernetes 1.27 or later; the cluster "
                                                      "runs %s" % state["kubernetes_version"], "kubernetesVersion"))
    if "migrate-dataplane" in operations and aks_cilium_version(state["kubernetes_version"]) is None:
        blockers.append(finding("cilium-version", "AKS lists no supported Cilium for Kubernetes %s (its table starts at "
                                                  "1.31 with Cilium 1.16.16); upgrade Kubernetes first"
                                % state["kubernetes_version"], "kubernetesVersion"))
    identity = (cluster.get("identity") or {}).get("type") or ""
    own_vnet = any(p.get("vnetSubnetID") for p in pools(cluster))
    if "migrate-ipam" in operations and (network(cluster).get("networkPlugin") or "").lower() == "kubenet" \
            and own_vnet and "userassigned" not in identity.lower().replace(",", "").replace(" ", ""):
        blockers.append(finding("kubenet-identity", "the kubenet cluster in your own VNet has identity %s; AKS needs a "
                                                    "user-assigned managed identity (with rights on the node subnet) to "
                                                    "detach the kubenet route table during the overlay migration"
                                % (identity or "none"), "identity"))
    if "remove-policy" in operations:
        warnings.append(finding("policy-engine-removal", "the %s engine is uninstalled before the overlay migration: "
                                                         "NetworkPolicies are not enforced until the Cilium step finishes"
                                % (network(cluster).get("networkPolicy") or ""), "networkProfile.networkPolicy"))
    return blockers, warnings


def split_ignored(blockers, ignore):
    """(standing blockers, accepted ones) for ignore_blockers ids."""
    ignore = set(ignore or [])
    return [b for b in blockers if b["id"] not in ignore], [b for b in blockers if b["id"] in ignore]
