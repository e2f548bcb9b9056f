# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs aks_cilium_nodepool on an AzureModule: read, check every rule, then at most one write.

Reads: the cluster (its pools are the agentPoolProfiles), the usage of the pool's VNet (one request
for every subnet of it) and, for a pod subnet, every cluster of the subscription (one list request),
to check the allocation mode of everyone sharing the subnet; the cluster identity's role assignments on the
pool's subnets. Writes: the missing Network Contributor assignments, then one agentPools PUT or DELETE.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

from ansible_collections.azcni.cilium.plugins.module_utils._azure.ids import subnet_parts
from ansible_collections.azcni.cilium.plugins.module_utils._aks.nodepool import (
    custom_subnets, facts_for, find_pool, impossible, merged_pool, pool_patch, pool_resource, put_body, subnet_usage,
    usage_facts, view)
from ansible_collections.azcni.cilium.plugins.module_utils._aks.nodepool_rules import check
from ansible_collections.azcni.cilium.plugins.module_utils._aks.role_assignment import plan_for_pool
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureError
from ansible_collections.azcni.cilium.plugins.module_utils._common import diff_paths

TERMINAL_STATES = ("succeeded", "failed", "canceled")
FAILED_STATES = ("failed", "canceled")


class NodePoolRunner(object):

    def __init__(self, az):
        self.az = az
        self.params = az.params
        self.rg, self.cluster_name, self.name = self.params["resource_group"], self.params["cluster_name"], self.params["name"]

    @property
    def pools(self):
        return self.az.client("containerservice").agent_pools

    def _azure(self, action, operation, *args, **kwargs):
        try:
            return operation(*args, **kwargs)
        except AzureError as exc:
            self.az.fail_azure(exc, "%s (pool %s of cluster %s/%s) failed" % (action, self.name, self.rg, self.cluster_name))

    def read_cluster(self):
        clusters = self.az.client("containerservice").managed_clusters
        return self._azure("Reading the cluster", self.az.get, clusters.get, self.rg, self.cluster_name)

    def read_usage(self, properties):
        """The usage of the VNet(s) of the pool's subnets (one request per VNet), or None when none is given."""
        vnets = {}
        for subnet_id in custom_subnets(properties):
            try:
                parts = subnet_parts(subnet_id)
            except ValueError:
                continue  # subnet-id-format reports it
            if parts["subscription"].lower() != str(self.az.subscription_id).lower():
                self.az.warn("%s is in another subscription; its capacity checks were skipped." % subnet_id)
                continue
            vnets[(parts["resource_group"].lower(), parts["vnet"].lower())] = (parts["resource_group"], parts["vnet"])
        if not vnets:
            return None
        network = self.az.client("network").virtual_networks
        usages = []
        for rg, vnet in vnets.values():
            try:
                usages.extend(self.az.list(network.list_usage, rg, vnet))
            except AzureError as exc:
                if exc.status != 404:
                    self.az.fail_azure(exc, "Reading the usage of VNet %s/%s failed" % (rg, vnet))
        return usages

    def other_clusters(self, properties):
        if not properties.get("podSubnetID"):
            return []
        clusters = self.az.client("containerservice").managed_clusters
        return self._azure("Listing the clusters that may share the pod subnet", self.az.list, clusters.list)

    def preflight(self, cluster, existing, merged, deleting=False):
        """Fail, naming the rules, unless every rule holds; the usage of the pool's subnets (None without subnets)."""
        others = self.other_clusters(merged) if not deleting else []
        facts = facts_for(self.name, cluster, existing, merged, deleting, others)
        failures = check(facts)
        usages = self.read_usage(merged) if not failures and not deleting else None
        if usages is not None:
            facts.subnets = usage_facts(usages)
            missing = [s for s in custom_subnets(merged) if s.rstrip("/").lower() not in facts.subnets]
            if missing and self.az.check_mode:
                self.az.warn("Check mode: %s not found (in a real run an earlier task would create it), so the checks "
                             "that need the subnets were skipped." % ", ".join(missing))
                facts.subnets = None
            failures = check(facts)
        if failures:
            self.az.fail_json(msg="Pre-flight checks failed, nothing was changed: " + " ".join(f[1] for f in failures),
                              failed_rules=[f[0] for f in failures])
        return usages

    def run(self):
        cluster = self.read_cluster()
        if cluster is None and not self.az.check_mode:
            self.az.fail_json(msg="Cluster %s/%s not found; create it first (aks_cilium_cluster)." % (self.rg, self.cluster_name))
        if cluster is None:
            self.az.warn("Check mode: cluster %s/%s does not exist yet (an earlier task would create it); the pool "
                         "is shown as it would be created and the checks that need the cluster were skipped."
                         % (self.rg, self.cluster_name))
        existing = find_pool(cluster, self.name)
        if self.params["state"] == "absent":
            return self.absent(cluster, existing)
        return self.present(cluster, existing)

    def _result(self, changed, operations, before, after):
        result = dict(changed=changed, operations=operations)
        if self.az.diff_mode:
            result["diff"] = dict(before=before, after=after)
        return result

    def absent(self, cluster, existing):
        result = self._result(existing is not None, ["delete"] if existing else [], view(existing), {})
        result.update(pool={}, subnet_usage=[])
        if existing is None:
            return result
        self.preflight(cluster, existing, existing, deleting=True)
        if self.az.check_mode:
            return result
        poller = self._azure("Deleting the pool", self.az.call, self.pools.begin_delete, self.rg, self.cluster_name,
                             existing["name"])
        self.az.accepted("delete of pool %s" % existing["name"])
        if self.params.get("wait", True):
            self._azure("Deleting the pool", self.az.wait, poller, what="deletion of pool %s" % self.name)
        return result

    def present(self, cluster, existing):
        patch = pool_patch(self.params, existing)
        merged = merged_pool(existing, patch)
        reasons = impossible(existing, merged)
        if reasons:
            self.az.fail_json(msg="Cannot apply the requested changes to pool %s of cluster %s/%s, nothing was changed: %s"
                                  % (self.name, self.rg, self.cluster_name, "; ".join(reasons)), reasons=reasons)
        usages = self.preflight(cluster, existing, merged)
        before, after = view(existing), view(merged)
        changes = diff_paths(before, after)
        operation = "create" if existing is None else "update"
        state = str((existing or {}).get("provisioningState") or "")
        reconcile = not changes and state.lower() in FAILED_STATES
        if reconcile:
            # AKS reconciles a failed pool when it is sent its own model again (what `az aks nodepool update`
            # with no changes does): the same model is not "converged" while the pool is Failed
            operation = "reconcile"
            self.az.warn("Pool %s of cluster %s/%s is in provisioningState %s: sending its model again to reconcile "
                         "it." % (self.name, self.rg, self.cluster_name, state))
        write = bool(changes) or reconcile
        grant = plan_for_pool(self.az, cluster, merged, skip=self.params.get("skip_subnet_role_assignment")) \
            if cluster is not None else None
        missing = bool(grant and grant.missing)
        result = self._result(write or missing, ([operation] if write else []) +
                              ([grant.OPERATION] if missing else []), before, after)
        if missing and "diff" in result:
            result["diff"]["after"] = dict(after, subnet_role_assignments=grant.diff())
        result["changes"] = changes
        result["subnet_role_assignments"] = grant.report("planned") if grant else []
        name = existing["name"] if existing else self.name
        if self.az.check_mode or not (write or missing):
            result["pool"] = pool_resource(cluster or {"id": ""}, name, existing if not changes else merged)
            result["subnet_usage"] = subnet_usage(usages, merged)
            return result
        if missing:  # the identity needs its rights on the subnets before nodes join them (az's order)
            if grant.run(cluster):
                self.az.accepted("role assignments of pool %s" % name)
            result["subnet_role_assignments"] = grant.report("created")
        if not write:
            result["pool"] = pool_resource(cluster, name, existing)
            result["subnet_usage"] = subnet_usage(usages, merged)
            return result
        poller = self._azure("Writing the pool", self.az.call, self.pools.begin_create_or_update, self.rg,
                             self.cluster_name, name, body=put_body(merged))
        self.az.accepted("%s of pool %s" % (operation, name))
        if self.params.get("wait", True):
            written = self._azure("Writing the pool", self.az.wait, poller, what="%s of pool %s" % (operation, name))
            usages = self.read_usage(merged)  # the new nodes now hold their addresses
        else:
            written = self._azure("Reading the pool", self.az.get, self.pools.get, self.rg, self.cluster_name, name)
        result["pool"] = written or pool_resource(cluster, name, merged)
        result["subnet_usage"] = subnet_usage(usages, merged)
        return result


def run_nodepool(az):
    az.exit_json(**NodePoolRunner(az).run())
