# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The in-cluster half of the migration checks: what the cluster's own objects say about a migration to Azure CNI
Powered by Cilium (PodDisruptionBudgets against the drain, the Cilium identity count, the agent's version and the
NetworkPolicies whose meaning changes from NPM to Cilium).

The ARM half (``_aks.migration_runner``) finds the kubeconfig and calls ``cluster_checks`` through the callable the
module hands it, so neither layer imports the other. A cluster whose API cannot be read comes back as data
(``{"unreachable": why}``), never as an exception, and the reason never carries a credential.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

from ansible_collections.azcni.cilium.plugins.module_utils._cilium.images import agent_version
from ansible_collections.azcni.cilium.plugins.module_utils._cilium.npm_analysis import (
    IDENTITY_LIMIT, Cluster, analyze, identity_estimate)
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.client import K8sApiError, K8sClient
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.config import K8sConfigError, load_configuration
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.disruption import drain_findings, surge_nodes

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


def cluster_checks(kubeconfig, context=None, pools=(), pod_cidrs=(), cilium_version=None, with_policies=True,
                   run_command=None):
    """What the cluster's objects say: {cilium_version, blockers, warnings, findings, suggested}, or
    {unreachable: why} when its API cannot be read.

    ``pools``: the node pools as {name, count, max_surge} (the surge nodes each gets for the drain); ``pod_cidrs``:
    the pod ranges after the migration; ``cilium_version``: the Cilium the cluster gets, which the policy analysis
    uses while no agent runs yet. Without ``with_policies`` only the drain and identity checks run.
    ``run_command`` (AnsibleModule's) runs the kubeconfig's exec credential plugin (kubelogin on Entra ID clusters).
    """
    try:
        facts = read_cluster(kube_client(kubeconfig, context, run_command), with_policies)
    except Unreachable as exc:
        return {"unreachable": str(exc)}
    running = agent_version(facts.get("agent"))
    blockers, warnings = drain_and_identity_findings(pools, facts)
    findings, suggested = [], []
    if with_policies:
        view = Cluster(pods=facts["pods"], namespaces=facts["namespaces"], nodes=facts["nodes"],
                       services=facts["services"], pod_cidrs=pod_cidrs)
        findings, suggested = analyze(facts["policies"], view, running or cilium_version)
    return {"cilium_version": running, "blockers": blockers, "warnings": warnings, "findings": findings,
            "suggested": suggested}


def kube_client(kubeconfig, context, run_command=None):
    """A K8sClient for a kubeconfig (a path or its parsed content) and an optional context."""
    try:
        return K8sClient(load_configuration({"kubeconfig": kubeconfig, "context": context}, run_command))
    except K8sConfigError as exc:
        raise Unreachable(str(exc))


def read_cluster(client, with_policies):
    """The objects the checks need, one list per kind (a handful of GETs whatever the cluster size)."""
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


def drain_and_identity_findings(pools, facts):
    """(blockers, warnings) from the PodDisruptionBudgets and the Cilium identity count."""
    surge = dict((p.get("name"), surge_nodes(p.get("max_surge"), p.get("count"))) for p in pools)
    blockers, warnings = drain_findings(facts["budgets"], facts["pods"], facts["nodes"], surge)
    counted = facts.get("identities") is not None
    count = len(facts["identities"]) if counted else identity_estimate(Cluster(pods=facts["pods"]))
    what = "Cilium identities" if counted else "Cilium identities (estimated from pod labels)"
    if count >= IDENTITY_LIMIT:
        blockers.append({"id": "identity-limit", "message": "%d %s reach the limit of %d; exclude high-churn labels "
                                                            "in cilium-config first" % (count, what, IDENTITY_LIMIT),
                         "object": None})
    elif count >= IDENTITY_WARNING * IDENTITY_LIMIT:
        warnings.append({"id": "identity-count", "message": "%d %s, over %d%% of the limit of %d"
                                                            % (count, what, int(IDENTITY_WARNING * 100), IDENTITY_LIMIT),
                         "object": None})
    return blockers, warnings
