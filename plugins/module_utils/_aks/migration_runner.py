# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Migration checks for aks_cilium_migration_info and for the gate aks_cilium_cluster runs before a migration (one
implementation of the blocker rules): the ARM facts (``_aks.migration``) joined with what the cluster's own objects
say.

The in-cluster checks belong to the Cilium layer; the module hands them in as ``in_cluster``
(``_cilium.migration_checks.cluster_checks``), so this layer never imports that one. What they are given: the
kubeconfig found here, the context, the node pools, the pod ranges and the Cilium the cluster gets.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

from ansible_collections.azcni.cilium.plugins.module_utils._aks import migration as arm
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster import Intent, desired_patch
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_fields import ipam_of, network
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_plan import plan
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureError


class NoCredentials(Exception):
    """The cluster's credentials could not be read from Azure; the message says why (never a credential)."""


def cluster_kubeconfig(az, params):
    """The kubeconfig for the in-cluster checks: ``kubeconfig`` when given, else the cluster's credentials from
    Azure, kept in memory."""
    if params.get("kubeconfig"):
        return params["kubeconfig"]
    from ansible_collections.azcni.cilium.plugins.module_utils._aks.credentials import DECODE_ERRORS, cluster_credentials, parse

    try:
        return parse(cluster_credentials(az, params["resource_group"], params["name"], admin=params.get("admin_credentials")),
                     "cluster's kubeconfig")
    except AzureError as exc:
        raise NoCredentials("reading the cluster's credentials from Azure failed: %s" % exc)
    except DECODE_ERRORS as exc:
        raise NoCredentials("the cluster's credentials from Azure cannot be read: %s" % exc)


def in_cluster_report(az, params, cluster, after, target_cilium, in_cluster, with_policies):
    """What ``in_cluster`` says of the cluster, or {unreachable: why} when it could not be asked."""
    try:
        kubeconfig = cluster_kubeconfig(az, params)
    except NoCredentials as exc:
        return {"unreachable": str(exc)}
    pod_cidr = network(after).get("podCidr")
    return in_cluster(kubeconfig, context=params.get("context"), pools=arm.pools_view(cluster),
                      pod_cidrs=[pod_cidr] if pod_cidr else [],
                      cilium_version=target_cilium, with_policies=with_policies, run_command=az.module.run_command)


def plan_for(params, cluster):
    """The plan aks_cilium_cluster would follow with allow_migration (its options, or the migration's defaults)."""
    options = dict(params, allow_migration=True)
    intent = Intent.from_params(options, cluster)
    return plan(cluster, desired_patch(intent, cluster), intent)


def assess(az, params, cluster, the_plan, in_cluster, with_policies=True):
    """The full report: current/target, steps, blockers, warnings and (with_policies) the policy findings."""
    current = arm.state_view(cluster, ipam_of(cluster))
    blockers, warnings = arm.arm_findings(cluster, the_plan, current)
    findings, suggested = [], []
    after = the_plan.after or cluster
    target_cilium = arm.aks_cilium_version(arm.kubernetes_version(after))
    if with_policies or any(s.operation in arm.MIGRATION_OPERATIONS for s in the_plan.steps):
        seen = in_cluster_report(az, params, cluster, after, target_cilium, in_cluster, with_policies)
        if "unreachable" in seen:
            blockers.append(arm.finding("cluster-unreachable", "the in-cluster checks could not run: %s"
                                        % seen["unreachable"], "managedCluster/%s" % cluster.get("name")))
        else:
            current["cilium_version"] = seen["cilium_version"]
            blockers += seen["blockers"]
            warnings += seen["warnings"]
            findings, suggested = seen["findings"], seen["suggested"]
    target = arm.state_view(after, ipam_of(after), current["cilium_version"] if not target_cilium else target_cilium)
    return {"current": current, "target": target, "steps": arm.steps_view(the_plan, cluster), "blockers": blockers,
            "migration_warnings": warnings, "ready": not blockers, "network_policy_findings": findings,
            "suggested_policies": suggested}


def gate(az, params, cluster, the_plan, in_cluster):
    """aks_cilium_cluster's check before a migration: (standing blockers, accepted ones, warnings)."""
    report = assess(az, params, cluster, the_plan, in_cluster, with_policies=False)
    standing, accepted = arm.split_ignored(report["blockers"], params.get("ignore_blockers"))
    return standing, accepted, report["migration_warnings"]


def run_migration_info(az, in_cluster):
    params = az.params
    try:
        cluster = az.get(az.client("containerservice").managed_clusters.get, params["resource_group"], params["name"])
    except AzureError as exc:
        az.fail_azure(exc, "Reading cluster %s/%s failed" % (params["resource_group"], params["name"]))
    if cluster is None:
        az.fail_json(msg="Managed cluster %s not found in resource group %s" % (params["name"], params["resource_group"]))
    report = assess(az, params, cluster, plan_for(params, cluster), in_cluster)
    for item in report["migration_warnings"]:  # also as Ansible warnings, where people look for them
        az.warn("%s: %s" % (item["id"], item["message"]))
    az.exit_json(changed=False, **report)
