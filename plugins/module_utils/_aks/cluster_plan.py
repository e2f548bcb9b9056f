# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operations from the cluster Azure has to the intent, in the order AKS requires (create, update,
the one-way IPAM and data plane migrations), and the reasons a change is impossible.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.azcni.cilium.plugins.module_utils._aks.cidr import contains, parse_network
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster import create_body, merge
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_fields import IMMUTABLE, find_pool, ipam_of, network, pools, props, version_tuple
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_views import diff_view
from ansible_collections.azcni.cilium.plugins.module_utils._common import diff_paths


@dataclass
class Step:
    operation: str  # create | update | remove-policy | migrate-ipam | migrate-dataplane
    patch: dict  # merged onto the cluster as it is when the step runs


@dataclass
class Plan:
    steps: list = field(default_factory=list)
    reasons: list = field(default_factory=list)
    after: dict | None = None  # the cluster once every step has run (prediction)

    @property
    def operations(self):
        return [step.operation for step in self.steps]


def _immutable_reasons(existing, after):
    reasons, seen = [], set()
    before_view, after_view = diff_view(existing), diff_view(after)
    for path in diff_paths(before_view, after_view):
        parts = path.split("[")[0].split(".")  # a list index (zones[1]) counts as the whole field
        if parts[0] == "agentPoolProfiles" and len(parts) >= 3:
            key, path = "pool." + parts[2], ".".join(parts[:3])
            old = before_view["agentPoolProfiles"].get(parts[1], {}).get(parts[2])
            new = after_view["agentPoolProfiles"].get(parts[1], {}).get(parts[2])
        else:
            key = path = ".".join(parts)
            old, new = _view_get(before_view, key), _view_get(after_view, key)
        if key in IMMUTABLE and path not in seen:
            seen.add(path)
            reasons.append("%s: %s -> %s: %s" % (path, old, new, IMMUTABLE[key]))
    return reasons


def _view_get(view, dotted):
    for part in dotted.split("."):
        view = view.get(part) if isinstance(view, dict) else None
    return view


def _version_reasons(existing, patch):
    wanted = props(patch).get("kubernetesVersion")
    current = props(existing).get("currentKubernetesVersion") or props(existing).get("kubernetesVersion")
    if not wanted or not current:
        return []
    want, have = version_tuple(wanted)[:2], version_tuple(current)[:2]
    if want < have:
        return ["kubernetesVersion: %s -> %s: AKS cannot downgrade Kubernetes" % (current, wanted)]
    if len(want) == 2 and len(have) == 2 and want[0] == have[0] and want[1] > have[1] + 1:
        return ["kubernetesVersion: %s -> %s: AKS upgrades one minor version at a time" % (current, wanted)]
    return []


def _pod_cidr_reasons(existing, after, migrating_ipam):
    old, new = network(existing).get("podCidr"), network(after).get("podCidr")
    if migrating_ipam or not old or not new or old == new:
        return []
    try:
        grows = contains(parse_network(new), parse_network(old))
    except ValueError:
        return []  # cidr-syntax reports it
    if not grows:
        return ["networkProfile.podCidr: %s -> %s: an overlay pod CIDR can only be expanded to a range that contains "
                "the current one" % (old, new)]
    return []


def _migration_reasons(existing, intent, ipam, dataplane):
    """Why the planned migrations cannot run as asked. What may stand in their way inside or around the
    cluster (Windows pools, node auto-provisioning, versions, PDBs...) is the migration gate's business
    (_aks.migration and the in-cluster checks), which an operator can accept one by one."""
    wanted = [name for name, needed in (("IPAM %s -> overlay" % ipam_of(existing), ipam),
                                        ("data plane %s -> cilium" % (network(existing).get("networkDataplane") or "azure"),
                                         dataplane)) if needed]
    if wanted and not intent.allow_migration:
        return ["the cluster needs a one-way migration (%s, as separate operations): set allow_migration: true "
                "to run it; every node pool is reimaged" % ", ".join(wanted)]
    return []


IPAM_REFUSALS = {
    ("overlay", "vnet"): "overlay cannot be turned off: an overlay cluster cannot go back to VNet (pod subnet) mode",
    ("vnet", "overlay"): "clusters using dynamic pod IP allocation (pod subnet) cannot migrate to overlay",
    ("kubenet", "vnet"): "kubenet clusters can only migrate to overlay",
    ("node-subnet", "vnet"): "a pod subnet cannot be added to existing node pools of a node-subnet Azure CNI cluster",
    ("none", "overlay"): "clusters with network plugin none (bring your own CNI) cannot migrate",
    ("none", "vnet"): "clusters with network plugin none (bring your own CNI) cannot migrate",
    ("overlay", "node-subnet"): "overlay cannot be turned off: an overlay cluster cannot go back to node-subnet mode",
    ("vnet", "node-subnet"): "the pod subnets of existing node pools cannot be removed",
    ("kubenet", "node-subnet"): "kubenet clusters can only migrate to overlay",
    ("none", "node-subnet"): "clusters with network plugin none (bring your own CNI) cannot migrate",
}


def plan(existing, patch, intent):
    """The steps from ``existing`` to the intent, or the reasons it cannot be done.

    Migrations run as separate operations in the order AKS requires: an NPM or Calico engine is
    uninstalled first when the IPAM mode moves to overlay, then IPAM (to overlay), then the data plane
    (azure -> cilium, with network policy cilium in the same request), then any other change.
    """
    if existing is None:
        body = create_body(intent, patch)
        return Plan(steps=[Step("create", body)], after=body)

    result = Plan()
    mode = intent.mode
    current_ipam = ipam_of(existing)
    migrate_ipam = current_ipam in ("kubenet", "node-subnet") and mode == "overlay"
    if current_ipam != mode and not migrate_ipam:
        why = IPAM_REFUSALS.get((current_ipam, mode), "AKS cannot make this change")
        result.reasons.append("ipam_mode: %s -> %s: %s" % (current_ipam, mode, why))
    dataplane = (network(existing).get("networkDataplane") or "azure").lower()
    migrate_dataplane = dataplane != "cilium"
    result.reasons.extend(_migration_reasons(existing, intent, migrate_ipam, migrate_dataplane))

    working = existing
    policy = (network(existing).get("networkPolicy") or "none").lower()
    if migrate_ipam and policy in ("azure", "calico"):
        # AKS refuses the overlay migration while NPM or Calico runs (Azure/AKS#4006): uninstall it first
        policy_patch = {"properties": {"networkProfile": {"networkPolicy": "none"}}}
        result.steps.append(Step("remove-policy", policy_patch))
        working = merge(working, policy_patch)
    if migrate_ipam:
        pod_cidr = intent.pod_cidr or network(existing).get("podCidr")
        if not pod_cidr:
            result.reasons.append("migration to overlay needs pod_cidr (the cluster has no pod CIDR to keep)")
        ipam_patch = {"properties": {"networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay",
                                                        "podCidr": pod_cidr}}}
        result.steps.append(Step("migrate-ipam", ipam_patch))
        working = merge(working, ipam_patch)
    if migrate_dataplane:
        dataplane_patch = {"properties": {"networkProfile": {"networkDataplane": "cilium", "networkPolicy": "cilium"}}}
        result.steps.append(Step("migrate-dataplane", dataplane_patch))
        working = merge(working, dataplane_patch)

    after = merge(working, patch)
    pool_name = intent.pool.get("name")
    if find_pool(existing, pool_name) is None:
        result.reasons.append("system_pool.name: node pool %s not found (the cluster has %s); this module manages the "
                              "existing system pool and cannot add or rename pools"
                              % (pool_name or "in System mode", ", ".join(p.get("name", "?") for p in pools(existing))))
    result.reasons.extend(_immutable_reasons(existing, after))
    for key in ("networkDataplane", "networkPolicy"):
        if (network(existing).get(key) or "").lower() == "cilium" and (network(after).get(key) or "").lower() != "cilium":
            result.reasons.append("networkProfile.%s: cilium -> %s: Cilium cannot be turned off once enabled"
                                  % (key, network(after).get(key)))
    result.reasons.extend(_version_reasons(existing, patch))
    result.reasons.extend(_pod_cidr_reasons(existing, after, migrate_ipam))
    if diff_paths(working, after):
        result.steps.append(Step("update", patch))
    result.after = after
    return result
