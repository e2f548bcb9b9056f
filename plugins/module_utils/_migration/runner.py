# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Migration checks: the ARM facts (``_aks.migration``) joined with the cluster's own objects
(``_k8s.disruption``, ``_cilium.npm_analysis``), for aks_cilium_migration_info and for the gate
aks_cilium_cluster runs before a migration (one implementation of the blocker rules).

The layers stay apart: this package is the only place that imports both ``_aks`` and ``_cilium``.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

from ansible_collections.azcni.cilium.plugins.module_utils._aks import migration as arm
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster import Intent, desired_patch
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_fields import ipam_of
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_plan import plan
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureError
from ansible_collections.azcni.cilium.plugins.module_utils._cilium.images import agent_version

# The in-cluster layers (_k8s, _cilium, the kubeconfig parser) are imported by the functions that reach the
# cluster: aks_cilium_cluster imports this file for its gate, and a task with no migration step never calls it.

COLLECTIONS = {
    "pods": "/api/v1/pods", "nodes": "/api/v1/nodes", "namespaces": "/api/v1/namespaces",
    "services": "/api/v1/services", "budgets": "/apis/policy/v1/poddisruptionbudgets",
    "policies": "/apis/networking.k8s.io/v1/networkpolicies",
}
IDENTITIES = "/apis/cilium.io/v2/ciliumidentities"
AGENT = "/apis/apps/v1/namespaces/kube-system/daemonsets/cilium"
IDENTITY_WARNING = 0.8


class Unreachable(Exception):
    """The cluster's API could not be read; the message says why (never a credential)."""


def kube_client(az, params):
    """A K8sClient for the cluster: ``kubeconfig`` when given, else its credentials from Azure (in memory)."""
    from ansible_collections.azcni.cilium.plugins.module_utils._aks.credentials import DECODE_ERRORS, decode_credentials, parse
    from ansible_collections.azcni.cilium.plugins.module_utils._k8s.client import K8sClient
    from ansible_collections.azcni.cilium.plugins.module_utils._k8s.config import K8sConfigError, load_configuration

    kubeconfig = params.get("kubeconfig")
    if not kubeconfig:
        clusters = az.client("containerservice").managed_clusters
        operation = clusters.list_cluster_admin_credentials if params.get("admin_credentials") else \
            clusters.list_cluster_user_credentials
        try:
            kubeconfig = parse(decode_credentials(az.call(operation, params["resource_group"], params["name"])),
                               "cluster's kubeconfig")
        except AzureError as exc:
            raise Unreachable("reading the cluster's credentials from Azure failed: %s" % exc)
        except DECODE_ERRORS as exc:
            raise Unreachable("the cluster's credentials from Azure cannot be read: %s" % exc)
    try:
        return K8sClient(load_configuration({"kubeconfig": kubeconfig, "context": params.get("context")}))
    except K8sConfigError as exc:
        raise Unreachable(str(exc))


def read_cluster(client, with_policies):
    """The objects the checks need, one list per kind (a handful of GETs whatever the cluster size)."""
    from ansible_collections.azcni.cilium.plugins.module_utils._k8s.client import K8sApiError

    wanted = COLLECTIONS if with_policies else dict((k, COLLECTIONS[k]) for k in ("pods", "nodes", "budgets"))
    try:
        facts = dict((kind, client.list(path)[0]) for kind, path in wanted.items())
        try:
            facts["identities"] = client.list(IDENTITIES)[0]
        except K8sApiError as exc:
            if exc.status != 404:  # no Cilium yet: no CiliumIdentity kind
                raise
            facts["identities"] = None
        facts["agent"] = client.get(AGENT)
    except K8sApiError as exc:
        raise Unreachable("the Kubernetes API answered %s" % exc)
    except Exception as exc:  # urllib3 connection and TLS errors  pylint: disable=broad-except
        raise Unreachable("the Kubernetes API cannot be reached: %s" % exc)
    return facts


def in_cluster_findings(cluster, facts):
    """(blockers, warnings) from the PodDisruptionBudgets and the Cilium identity count."""
    from ansible_collections.azcni.cilium.plugins.module_utils._cilium.npm_analysis import IDENTITY_LIMIT, Cluster, identity_estimate
    from ansible_collections.azcni.cilium.plugins.module_utils._k8s.disruption import drain_findings, surge_nodes

    surge = dict((p.get("name"), surge_nodes((p.get("upgradeSettings") or {}).get("maxSurge"), p.get("count")))
                 for p in (cluster.get("properties") or {}).get("agentPoolProfiles") or [])
    blockers, warnings = drain_findings(facts["budgets"], facts["pods"], facts["nodes"], surge)
    count = len(facts["identities"]) if facts.get("identities") is not None else \
        identity_estimate(Cluster(pods=facts["pods"]))
    what = "Cilium identities" if facts.get("identities") is not None else "Cilium identities (estimated from pod labels)"
    if count >= IDENTITY_LIMIT:
        blockers.append(arm.finding("identity-limit", "%d %s reach the limit of %d; exclude high-churn labels in "
                                                      "cilium-config first" % (count, what, IDENTITY_LIMIT)))
    elif count >= IDENTITY_WARNING * IDENTITY_LIMIT:
        warnings.append(arm.finding("identity-count", "%d %s, over %d%% of the limit of %d"
                                    % (count, what, int(IDENTITY_WARNING * 100), IDENTITY_LIMIT)))
    return blockers, warnings


def plan_for(params, cluster):
    """The plan aks_cilium_cluster would follow with allow_migration (its options, or the migration's defaults)."""
    options = dict(params, allow_migration=True)
    intent = Intent.from_params(options, cluster)
    return plan(cluster, desired_patch(intent, cluster), intent)


def assess(az, params, cluster, the_plan, with_policies=True):
    """The full report: current/target, steps, blockers, warnings and (with_policies) the policy findings."""
    current = arm.state_view(cluster, ipam_of(cluster))
    blockers, warnings = arm.arm_findings(cluster, the_plan, current)
    findings, suggested = [], []
    after = the_plan.after or cluster
    target_cilium = arm.aks_cilium_version(arm.kubernetes_version(after))
    needs_cluster = with_policies or any(s.operation in arm.MIGRATION_OPERATIONS for s in the_plan.steps)
    if needs_cluster:
        try:
            facts = read_cluster(kube_client(az, params), with_policies)
        except Unreachable as exc:
            blockers.append(arm.finding("cluster-unreachable", "the in-cluster checks could not run: %s" % exc,
                                        "managedCluster/%s" % cluster.get("name")))
        else:
            current["cilium_version"] = agent_version(facts.get("agent"))
            more_blockers, more_warnings = in_cluster_findings(cluster, facts)
            blockers += more_blockers
            warnings += more_warnings
            if with_policies:
                from ansible_collections.azcni.cilium.plugins.module_utils._cilium.npm_analysis import Cluster, analyze

                view = Cluster(pods=facts["pods"], namespaces=facts["namespaces"], nodes=facts["nodes"],
                               services=facts["services"],
                               pod_cidrs=[c for c in [(((after.get("properties") or {}).get("networkProfile") or {})
                                                       .get("podCidr"))] if c])
                findings, suggested = analyze(facts["policies"], view, current["cilium_version"] or target_cilium)
    target = arm.state_view(after, ipam_of(after), current["cilium_version"] if not target_cilium else target_cilium)
    return {"current": current, "target": target, "steps": arm.steps_view(the_plan, cluster), "blockers": blockers,
            "migration_warnings": warnings, "ready": not blockers, "network_policy_findings": findings,
            "suggested_policies": suggested}


def gate(az, params, cluster, the_plan):
    """aks_cilium_cluster's check before a migration: (standing blockers, accepted ones, warnings)."""
    report = assess(az, params, cluster, the_plan, with_policies=False)
    standing, accepted = arm.split_ignored(report["blockers"], params.get("ignore_blockers"))
    return standing, accepted, report["migration_warnings"]


def run_migration_info(az):
    params = az.params
    try:
        cluster = az.get(az.client("containerservice").managed_clusters.get, params["resource_group"], params["name"])
    except AzureError as exc:
        az.fail_azure(exc, "Reading cluster %s/%s failed" % (params["resource_group"], params["name"]))
    if cluster is None:
        az.fail_json(msg="Managed cluster %s not found in resource group %s" % (params["name"], params["resource_group"]))
    report = assess(az, params, cluster, plan_for(params, cluster))
    for item in report["migration_warnings"]:  # also as Ansible warnings, where people look for them
        az.warn("%s: %s" % (item["id"], item["message"]))
    az.exit_json(changed=False, **report)
