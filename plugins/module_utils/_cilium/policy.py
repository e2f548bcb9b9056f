# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine behind ``cilium_policy``: load, lint, compare, apply, prune.

* Loading (``_cilium.policy_input``) checks every object before anything is sent; what to apply, and how it
  compares with the live objects, is planned in ``_cilium.policy_plan``.
* Reading is one LIST per kind and namespace (or one cluster-wide LIST per kind), never a GET per
  object, so an unchanged set of 1,000 policies costs two or three requests and no writes.
* An object is unchanged when the server already holds everything we would apply, including a hash
  of the applied content in an annotation: a field removed from the input changes the hash, so the
  next apply drops it, and drift made by someone else shows as a missing value.
* Writes are server-side apply (own field manager, ``fieldValidation=Strict``) and deletes, run with
  bounded concurrency. Check mode sends the would-be applies as ``dryRun=All`` (validated by the
  server, never persisted) and predicts deletes from the LIST.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.azcni.cilium.plugins.module_utils._cilium import lint
from ansible_collections.azcni.cilium.plugins.module_utils._cilium.images import agent_version
from ansible_collections.azcni.cilium.plugins.module_utils._common import diff_paths
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.client import K8sApiError
from ansible_collections.azcni.cilium.plugins.module_utils._cilium.policy_input import (
    API_VERSIONS, PolicyInputError, build_policies, check_label_value, load_documents)
from ansible_collections.azcni.cilium.plugins.module_utils._cilium.policy_plan import clean, list_scopes, plan
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.resources import path

CILIUM_CONFIG = path("ConfigMap", "kube-system", "cilium-config")
LOCALDNS_LABEL = "kubernetes.azure.com/localdns-state"  # "enabled" on nodes running LocalDNS (AgentBaker)
MAX_WARNINGS = 20  # lint findings shown as task warnings; all of them are in the result

OUTCOMES = ("created", "updated", "unchanged", "deleted", "failed")


# --- execution -----------------------------------------------------------------------------------


class PolicyService(object):
    """Reads and writes policies through a K8sClient (see _k8s.client)."""

    def __init__(self, client, field_manager, force_conflicts=False, concurrency=8, check_mode=False):
        self.client = client
        self.field_manager = field_manager
        self.force_conflicts = force_conflicts
        self.concurrency = max(1, concurrency)
        self.check_mode = check_mode

    def fetch(self, scopes):
        """Every live object in the given scopes (LISTs run concurrently)."""
        def one(scope):
            kind, namespace = scope
            try:
                items, _version = self.client.list(path(kind, namespace))
            except K8sApiError as exc:
                if kind == lint.CNL and exc.status == 404:
                    return []  # no ContainerNetworkLog CRD: container network logs are off, so there are none
                raise
            for item in items:  # list items carry no kind; the collection says what they are
                item.setdefault("kind", kind)
                item.setdefault("apiVersion", API_VERSIONS[kind])
            return items

        return [item for items in self._map(one, scopes) for item in items]

    def dry_run(self, actions):
        """Every apply of ``actions`` sent as ``dryRun=All`` (validated by the server, never stored).

        Returns the failed results: the whole set is checked before its first real write.
        """
        applies = [a for a in actions if a.op == "apply"]
        saved, self.check_mode = self.check_mode, True
        try:
            return [r for r in self._map(self._run, applies) if r["outcome"] == "failed"]
        finally:
            self.check_mode = saved

    def missing_namespaces(self, policies):
        """The namespaces the policies name that do not exist (one GET per distinct namespace)."""
        namespaces = sorted({p.namespace for p in policies if p.namespace})
        found = self._map(lambda ns: self.client.get(path("Namespace", None, ns)) is not None, namespaces)
        return [ns for ns, present in zip(namespaces, found) if not present]

    def execute(self, actions):
        """Run the writes: applies first (new rules in place before old ones go), then deletes.

        Returns one result dict per action, in action order; failures are results, not exceptions.
        """
        results = [None] * len(actions)
        for op in ("apply", "delete"):
            indexed = [(i, a) for i, a in enumerate(actions) if a.op == op]
            for (index, _action), result in zip(indexed, self._map(self._run, [a for _i, a in indexed])):
                results[index] = result
        return [result or self._run(action) for result, action in zip(results, actions)]  # the rest are no-ops

    def _map(self, func, items):
        if len(items) <= 1 or self.concurrency == 1:
            return [func(item) for item in items]
        from concurrent.futures import ThreadPoolExecutor  # here: a one-policy task never starts threads

        self.client.set_pool_size(self.concurrency)
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(items))) as pool:
            return list(pool.map(func, items))

    def _run(self, action):
        policy = action.policy
        result = dict(policy.identity(), outcome=action.outcome)
        if policy.source:
            result["source"] = policy.source
        before, after = clean(action.live), {}
        try:
            if action.op == "apply":
                answer = self.client.apply(policy.path, action.desired, self.field_manager, force=self.force_conflicts,
                                           dry_run=self.check_mode, field_validation="Strict")
                after = clean(answer) or action.desired
            elif action.op == "delete":
                if not self.check_mode:
                    self.client.delete(policy.path)
            else:
                after = before
        except K8sApiError as error:
            result.update(outcome="failed", error=_error_message(error), status=error.status, reason=error.reason)
            return dict(result, before=before, after=before)
        if action.outcome == "updated":
            result["changed_paths"] = [p for p in diff_paths(before, after) if p]
        return dict(result, before=before, after=after)


def _error_message(error):
    return "%s (HTTP %s %s)" % (error.message, error.status, error.reason)


def summarize(results):
    """counts per outcome, changed flag, and the public per-policy list (without before/after)."""
    counts = dict((outcome, 0) for outcome in OUTCOMES)
    for result in results:
        counts[result["outcome"]] += 1
    policies = [{k: v for k, v in r.items() if k not in ("before", "after")} for r in results]
    changed = any(r["outcome"] in ("created", "updated", "deleted") for r in results)
    return counts, changed, policies


def diffs(results):
    """Ansible diff entries, one per created, updated or deleted policy."""
    entries = []
    for result in results:
        if result["outcome"] in ("created", "updated", "deleted"):
            label = "%s (%s)" % (lint.policy_ref(result["kind"], result["namespace"], result["name"]), result["outcome"])
            entries.append(dict(before=result["before"], after=result["after"], before_header=label,
                                after_header=label))
    return entries


# --- the module ------------------------------------------------------------------------------------


def _report(context, source):
    """The ``acns`` result: what the lint assumed the cluster runs, and where that came from."""
    return dict(network_policies=lint.network_policies(context), l7=context.l7, fqdn=context.fqdn,
                node_selector_labels=context.node_selector_labels, localdns=context.localdns,
                cilium_version=".".join(str(p) for p in context.cilium_version) if context.cilium_version else None,
                source=source)


def cluster_facts(module):
    """LocalDNS, the Cilium version and the pod/node ranges, for the checks that need them (two reads)."""
    nodes, _version = module.client.list(path("Node"))
    localdns = any((_labels(n).get(LOCALDNS_LABEL) or "").lower() == "enabled" for n in nodes)
    ranges = []
    for node in nodes:
        name = (node.get("metadata") or {}).get("name")
        for cidr in (node.get("spec") or {}).get("podCIDRs") or []:
            ranges.append(("pods of %s (%s)" % (name, cidr), ipaddress.ip_network(cidr, strict=False)))
        for address in (node.get("status") or {}).get("addresses") or []:
            if address.get("type") == "InternalIP":
                ranges.append(("node %s (%s)" % (name, address.get("address")), ipaddress.ip_network(address["address"])))
    found = agent_version(module.client.get(path("DaemonSet", "kube-system", "cilium")))
    version = tuple(int(part) for part in found.split(".")[:2]) if found else None
    return dict(localdns=localdns, cilium_version=version, cluster_ranges=tuple(ranges))


def _labels(obj):
    return (obj.get("metadata") or {}).get("labels") or {}


def lint_context(module, policies):
    """(LintContext, acns report) from the cluster, or from the acns_security option when it is not ``auto``.

    Reads only what some policy's verdict depends on (``lint.uses_cluster_features``): cilium-config for the ACNS
    policy mode, the nodes and the agent DaemonSet for LocalDNS, the Cilium version and the pod and node ranges.
    """
    setting = module.params["acns_security"]
    needs = lint.uses_cluster_features(p.body for p in policies)
    cluster = {}
    if "nodes" in needs:
        try:
            cluster = cluster_facts(module)
        except K8sApiError as error:
            module.warn("Could not read the nodes and the Cilium agent (%s); the LocalDNS and CIDR checks were "
                        "skipped." % error)
    if setting != "auto":
        return lint.context_from_setting(setting, **cluster), _report(lint.context_from_setting(setting, **cluster),
                                                                      "parameter")
    if "config" not in needs:
        context = lint.NO_ACNS._replace(**cluster)
        return context, _report(context, "not needed")
    try:
        config = module.client.get(CILIUM_CONFIG)
    except K8sApiError as error:
        module.warn("Could not read kube-system/cilium-config (%s); linting as if ACNS security is off. "
                    "Set acns_security to say what the cluster enforces." % error)
        config = None
    if config is None:
        context = lint.NO_ACNS._replace(**cluster)
        return context, _report(context, "default")
    context = lint.context_from_cilium_config(config.get("data"), **cluster)
    return context, _report(context, "cluster")


def flow_logs_available(module, policies):
    """Fail before any write when ContainerNetworkLog objects are given but the cluster has no such CRD."""
    if not any(p.kind == lint.CNL for p in policies):
        return
    try:
        served = module.client.get("/apis/%s" % lint.CNL_API_VERSION)
    except K8sApiError as exc:
        module.fail_k8s(exc, "Could not check for the ContainerNetworkLog API", changed=False)
    if served is None:
        module.fail_json(msg="The cluster serves no %s objects (%s): container network logs are off. Turn them on "
                             "with azcni.cilium.aks_cilium_cluster container_network_logs: true; nothing was sent."
                         % (lint.CNL, lint.CNL_API_VERSION), changed=False)


def _where(result):
    ref = lint.policy_ref(result["kind"], result["namespace"], result["name"])
    return "%s (%s)" % (ref, result["source"]) if result.get("source") else ref


def run_policy(module):
    """The whole cilium_policy task on a K8sModule."""
    params = module.params
    policies = []
    if params["concurrency"] < 1:
        module.fail_json(msg="concurrency must be at least 1, got %d" % params["concurrency"], changed=False)
    if not params["field_manager"]:
        module.fail_json(msg="field_manager must not be empty", changed=False)
    try:
        check_label_value(params["policy_set"], "policy_set")
        policies = build_policies(load_documents(params["definition"], params["src"]), params["namespace"])
    except PolicyInputError as exc:
        module.fail_json(msg="Invalid policy input: %s" % exc, errors=exc.errors, changed=False)
    if not policies and not params["prune"]:
        module.fail_json(msg="No policies given: set definition or src (an empty input is only useful with "
                             "prune=true, to remove a whole policy set).")

    findings, acns = [], None
    if params["state"] == "present":
        flow_logs_available(module, policies)
    if params["state"] == "present" and params["lint"] != "off":
        context, acns = lint_context(module, policies)
        findings = lint.lint_policies([p.body for p in policies], context)
        blocking = lint.errors(findings) if params["lint"] == "error" else []
        if blocking:
            module.fail_json(msg="Lint found %d error(s); nothing was sent. First: %s"
                             % (len(blocking), lint.format_finding(blocking[0])), lint=findings, acns=acns,
                             changed=False)
        for finding in findings[:MAX_WARNINGS]:
            module.warn(lint.format_finding(finding))
        if len(findings) > MAX_WARNINGS:
            module.warn("... and %d more lint findings (see the lint result)" % (len(findings) - MAX_WARNINGS))

    service = PolicyService(module.client, params["field_manager"], params["force_conflicts"], params["concurrency"],
                            module.check_mode)
    live, actions, refused = [], [], []
    try:
        live = service.fetch(list_scopes(policies, params["prune"]))
    except K8sApiError as exc:
        module.fail_k8s(exc, "Could not list the Cilium policies", changed=False)
    actions = plan(policies, live, params["state"], params["policy_set"], params["prune"])
    try:
        # a policy to create needs its namespace (one GET per namespace of new policies only: an unchanged set
        # costs no request more)
        created = [a.policy for a in actions if a.outcome == "created"]
        missing = set(service.missing_namespaces(created))
        refused = ["%s: namespace %s does not exist" % (p.source or p.ref, p.namespace)
                   for p in created if p.namespace in missing]
        if not refused and not module.check_mode:
            # all or nothing: every apply passes the server's own validation before the first real write
            refused = ["%s: %s" % (_where(r), r["error"]) for r in service.dry_run(actions)]
    except K8sApiError as exc:
        module.fail_k8s(exc, "Could not check the policies before applying them; nothing was applied", changed=False)
    if refused:
        module.fail_json(msg="%d of %d policies would be refused; nothing was applied. %s"
                         % (len(refused), len(policies), "; ".join(refused[:10])), errors=refused, changed=False,
                         lint=findings)
    results = service.execute(actions)
    counts, changed, outcomes = summarize(results)
    answer = dict(changed=changed, policies=outcomes, counts=counts, lint=findings)
    if acns is not None:
        answer["acns"] = acns
    if module.diff_mode:
        answer["diff"] = diffs(results)
    if counts["failed"]:
        failed = [r for r in outcomes if r["outcome"] == "failed"]
        answer["applied"] = [_where(r) for r in outcomes if r["outcome"] in ("created", "updated", "deleted")]
        answer["not_applied"] = [_where(r) for r in failed]
        module.fail_json(msg="%d of %d policies failed after retries (%d applied; run the task again to complete the "
                             "set); first: %s: %s" % (len(failed), len(outcomes), len(answer["applied"]),
                                                      _where(failed[0]), failed[0]["error"]), **answer)
    module.exit_json(**answer)
