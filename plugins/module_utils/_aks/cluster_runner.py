# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The aks_cilium_cluster module: read the cluster (waiting out a running operation), plan, check, write.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import re
import time

from ansible_collections.azcni.cilium.plugins.module_utils._aks import acns
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster import Intent, desired_patch, facts_for, merge
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_plan import Step, plan
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_fields import provisioning_state, strip_read_only
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_rules import (
    VNET_RULE_IDS, check, failure, missing_subnets, node_subnet, warnings)
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cluster_views import changed_only, diff_view, summary
from ansible_collections.azcni.cilium.plugins.module_utils._aks.role_assignment import SubnetGrant
from ansible_collections.azcni.cilium.plugins.module_utils._azure import names
from ansible_collections.azcni.cilium.plugins.module_utils._azure.ids import parse as resource_id_parse
from ansible_collections.azcni.cilium.plugins.module_utils._azure.ids import subnet_parts
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureError
from ansible_collections.azcni.cilium.plugins.module_utils._common import diff_paths

TERMINAL_STATES = ("succeeded", "failed", "canceled")
FAILED_STATES = ("failed", "canceled")
MIGRATION_OPERATIONS = ("remove-policy", "migrate-ipam", "migrate-dataplane")
VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")


def failed_parts(cluster):
    """What of the cluster is left Failed or Canceled ("cluster in provisioningState Failed", "pool x in ...")."""
    if cluster is None:
        return []
    parts = ["cluster in provisioningState %s" % provisioning_state(cluster)] \
        if provisioning_state(cluster).lower() in FAILED_STATES else []
    for pool in (cluster.get("properties") or {}).get("agentPoolProfiles") or []:
        if str(pool.get("provisioningState") or "").lower() in FAILED_STATES:
            parts.append("pool %s in provisioningState %s" % (pool.get("name"), pool["provisioningState"]))
    return parts


class ClusterRunner(object):
    """Runs aks_cilium_cluster on an AzureModule."""

    def __init__(self, az, sleep=time.sleep, clock=time.monotonic, gate=None):
        self.az = az
        # gate(az, params, cluster, plan) -> (standing blockers, accepted blockers, warnings): the migration
        # checks, which need the cluster's own objects (see migration_gate)
        self.gate = gate
        self.params = az.params
        self.rg = self.params["resource_group"]
        self.name = self.params["name"]
        self._sleep, self._clock = sleep, clock
        self.waited = False
        self.grant = None  # the subnet role assignments still to make once the cluster's identity exists

    @property
    def clusters(self):
        return self.az.client("containerservice").managed_clusters

    def _azure(self, action, operation, *args, **kwargs):
        try:
            return operation(*args, **kwargs)
        except AzureError as exc:
            self.az.fail_azure(exc, "%s %s/%s failed" % (action, self.rg, self.name))

    def get_settled(self):
        """GET the cluster; while an operation runs on it (Creating, Updating, Deleting...) wait for it."""
        timeout = self.params.get("wait_timeout") or 1800
        deadline, delay = self._clock() + timeout, 1.0
        while True:
            cluster = self._azure("Reading cluster", self.az.get, self.clusters.get, self.rg, self.name)
            state = provisioning_state(cluster)
            if cluster is None or state.lower() in TERMINAL_STATES:
                return cluster
            if self._clock() + delay > deadline:
                self.az.fail_json(msg="Timed out after %d s waiting for cluster %s/%s to leave provisioningState %s; "
                                      "run the task again to keep waiting." % (timeout, self.rg, self.name, state))
            self.waited = True
            self._sleep(delay)
            delay = min(delay * 2, 5.0)

    def option_problem(self):
        """Values AKS refuses whatever the cluster: a system pool without nodes, a version that is no version."""
        pool, version = self.params.get("system_pool") or {}, self.params.get("kubernetes_version")
        if pool.get("count") is not None and pool["count"] < 1:
            return "system_pool.count must be at least 1 (a system pool needs a node), got %d" % pool["count"]
        if version and not VERSION.match(version):
            return "kubernetes_version %r is not a version: give MAJOR.MINOR or MAJOR.MINOR.PATCH" % version
        return None

    def run(self):
        self.az.check_names([names.resource_group("resource_group", self.rg), names.cluster_name("name", self.name),
                             names.dns_prefix("dns_prefix", self.params.get("dns_prefix")), self.option_problem()])
        existing = self.get_settled()
        if existing is None and self.params["state"] == "present":
            self.az.check_names([], self.params.get("location"))  # a new cluster's region must be the subscription's
        if self.params["state"] == "absent":
            return self.absent(existing)
        return self.present(existing)

    def absent(self, existing):
        result = dict(changed=existing is not None, operations=["delete"] if existing else [], cluster={},
                      diff=dict(before=diff_view(existing), after={}))
        if existing is None or self.az.check_mode:
            return result
        poller = self._azure("Deleting cluster", self.az.call, self.clusters.begin_delete, self.rg, self.name)
        self.az.accepted("delete of cluster %s" % self.name)
        if self.params.get("wait", True):
            self._azure("Deleting cluster", self.az.wait, poller, what="deletion of cluster %s" % self.name)
        return result

    def preflight(self, intent, final, existing=None):
        facts = facts_for(intent, final, existing)
        failures = check(facts)
        if not failures and facts.vnet_subnet_id:
            failures = self.check_vnet(facts)
        if failures:
            self.az.fail_json(msg="Pre-flight checks failed, nothing was changed: " + " ".join(f[1] for f in failures),
                              failed_rules=[f[0] for f in failures])

    def check_vnet(self, facts):
        """The failures of the VNet rules, on the VNet of the node subnet as Azure has it.

        In check mode a VNet or subnet that does not exist yet skips these rules: an earlier task of
        the same play (aks_network) would create it in a real run, and did not in check mode.
        """
        parts = subnet_parts(facts.vnet_subnet_id)
        if parts["subscription"].lower() != str(self.az.subscription_id).lower():
            self.az.warn("The VNet of %s is in another subscription; its overlap checks were skipped." % facts.vnet_subnet_id)
            return []
        network_client = self.az.client("network")
        facts.vnet = self._azure("Reading VNet %s" % parts["vnet"], self.az.get, network_client.virtual_networks.get,
                                 parts["resource_group"], parts["vnet"])
        if facts.vnet is None:
            absent = "VNet %s not found in resource group %s" % (parts["vnet"], parts["resource_group"])
        elif missing_subnets(facts):
            absent = "VNet %s has no %s" % (parts["vnet"], " and no ".join(missing_subnets(facts)))
        else:
            self.read_node_nsg(facts)
            for _rule_id, message in warnings(facts):
                self.az.warn(message)
            return check(facts)
        if self.az.check_mode:
            self.az.warn("Check mode: %s. It does not exist yet (in a real run an earlier task would create it), so the "
                         "checks that need it were skipped: %s." % (absent, ", ".join(VNET_RULE_IDS)))
            return []
        return check(facts) if facts.vnet is not None else [failure("subnets-exist", absent)]

    def read_node_nsg(self, facts):
        """With WireGuard asked for: the node subnet's network security group (for acns-wireguard-udp-51871)."""
        if not facts.acns or facts.acns["transit_encryption"] != "wireguard":
            return
        properties = (node_subnet(facts) or {}).get("properties") or {}
        facts.node_subnet_prefix = properties.get("addressPrefix") or (properties.get("addressPrefixes") or [None])[0]
        nsg_id = (properties.get("networkSecurityGroup") or {}).get("id")
        parts = resource_id_parse(nsg_id)
        if not parts.get("name"):
            return
        try:
            facts.node_nsg = self.az.get(self.az.client("network").network_security_groups.get,
                                         parts["resource_group"], parts["name"])
        except AzureError as exc:
            self.az.warn("Could not read network security group %s (%s); the UDP 51871 check for WireGuard was "
                         "skipped." % (nsg_id, exc))

    def present(self, existing):
        params = self.params
        if existing is None and not params.get("location"):
            self.az.fail_json(msg="location is required to create cluster %s/%s" % (self.rg, self.name))
        intent = Intent.from_params(params, existing)
        patch = desired_patch(intent, existing)
        the_plan = plan(existing, patch, intent)
        failed = failed_parts(existing)
        if failed and not the_plan.steps and not the_plan.reasons:
            # AKS reconciles a failed cluster, and its failed pools with it, when it is sent its own model again
            # (what `az aks update` with no changes does): the same model is not "converged" while they are Failed
            the_plan.steps.append(Step("reconcile", {}))
            self.az.warn("Cluster %s/%s: %s; sending its model again to reconcile it."
                         % (self.rg, self.name, ", ".join(failed)))
        if the_plan.reasons:  # what AKS cannot do at all comes before how the request is written
            self.az.fail_json(msg="Cannot apply the requested changes to cluster %s/%s, nothing was changed: %s"
                                  % (self.rg, self.name, "; ".join(the_plan.reasons)), reasons=the_plan.reasons)
        self.preflight(intent, the_plan.after, existing)
        self.check_migration(existing, the_plan)
        before, after = changed_only(diff_view(existing), diff_view(the_plan.after))
        grant = SubnetGrant.plan(self.az, params, existing, the_plan.after)
        operations = list(the_plan.operations)
        if grant.missing:  # a known identity is granted first (as az does), a new system-assigned one once it exists
            operations = [grant.OPERATION] + operations if grant.principal else operations + [grant.OPERATION]
            after = dict(after, subnetRoleAssignments=grant.diff())
        result = dict(changed=bool(the_plan.steps or grant.missing), operations=operations,
                      changes=diff_paths(diff_view(existing), diff_view(the_plan.after)),
                      diff=dict(before=before, after=after), waited_for_pending_operation=self.waited,
                      subnet_role_assignments=grant.report("planned"))
        if self.az.check_mode or not result["changed"]:
            result["cluster"] = summary(the_plan.after)
            return result
        if grant.principal:
            grant.run()
        else:
            self.grant = grant
        current = existing
        for index, step in enumerate(the_plan.steps):
            last = index == len(the_plan.steps) - 1
            current = self.put(step, current, wait=params.get("wait", True) or not last)
        result["cluster"] = summary(current)
        result["subnet_role_assignments"] = grant.report("created")
        if params.get("wait", True) and self.turns_on_wireguard(intent, existing):
            result["wireguard"] = self.wait_for_wireguard()
        return result

    @staticmethod
    def turns_on_wireguard(intent, existing):
        before = acns.current(existing) or acns.NOTHING
        return intent.acns(existing)["transit_encryption"] == "wireguard" != before["transit_encryption"]

    def wait_for_wireguard(self):
        """Turning WireGuard on restarts the Cilium agents: wait for that rollout and for every node's key."""
        # the Kubernetes layer is imported only here: a task that does not turn WireGuard on never loads it
        from ansible_collections.azcni.cilium.plugins.module_utils._aks import acns_rollout

        timeout = self.params.get("wait_timeout") or 1800
        try:
            client = acns_rollout.cluster_client(self.az, self.rg, self.name)
            return acns_rollout.wait_for_wireguard(client, timeout, clock=self._clock, sleep=self._sleep)
        except acns_rollout.WireGuardWaitError as exc:
            self.az.fail_json(msg="Cluster %s/%s was updated, but %s" % (self.rg, self.name, exc), changed=True)

    def check_migration(self, existing, the_plan):
        """Before a migration's first write: refuse while a blocker stands that ignore_blockers does not accept."""
        if self.gate is None or not any(step.operation in MIGRATION_OPERATIONS for step in the_plan.steps):
            return
        standing, accepted, warnings = self.gate(self.az, self.params, existing, the_plan)
        for item in accepted:
            self.az.warn("Blocker %s accepted by ignore_blockers: %s" % (item["id"], item["message"]))
        for item in warnings:
            self.az.warn("Migration: %s" % item["message"])
        if standing:
            self.az.fail_json(msg="Cannot migrate cluster %s/%s yet, nothing was changed: %s. Fix them, or accept one "
                                  "with ignore_blockers: [id]." % (self.rg, self.name, "; ".join(
                                      "%s: %s" % (b["id"], b["message"]) for b in standing)),
                              blockers=standing, operations=the_plan.operations)

    def put(self, step, current, wait):
        body = step.patch if step.operation == "create" else strip_read_only(merge(current, step.patch))
        what = "%s of cluster %s" % (step.operation, self.name)
        poller = self._azure("Operation %s on cluster" % step.operation, self.az.call,
                             self.clusters.begin_create_or_update, self.rg, self.name, body=body)
        self.az.accepted(what)
        if self.grant is not None and step.operation == "create":
            # right after the PUT, as az does: the new cluster has its identity, and AKS sees the rights sooner
            created = self._azure("Reading cluster", self.az.get, self.clusters.get, self.rg, self.name)
            self.grant.run(created, changed=True)
            self.grant = None
        if not wait:
            return self._azure("Reading cluster", self.az.get, self.clusters.get, self.rg, self.name) or body
        return self._azure("Operation %s on cluster" % step.operation, self.az.wait, poller, what=what) or body


def migration_gate(in_cluster):
    """The gate before a migration's first write, joining the module's in-cluster checks (``in_cluster``, see
    ``migration_runner``). It loads the migration checks only when asked: most tasks migrate nothing."""
    def gate(az, params, cluster, the_plan):
        from ansible_collections.azcni.cilium.plugins.module_utils._aks import migration_runner

        return migration_runner.gate(az, params, cluster, the_plan, in_cluster)
    return gate


def run_cluster(az, in_cluster=None):
    az.exit_json(**ClusterRunner(az, gate=migration_gate(in_cluster) if in_cluster else None).run())
