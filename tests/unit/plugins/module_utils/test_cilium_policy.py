# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cilium_policy's engine: loading, comparison, planning, execution and the module flow (fake API)."""

from __future__ import annotations

import copy
import threading
import time

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._cilium import policy as cilium_policy
from ansible_collections.azcni.cilium.plugins.module_utils._cilium import policy_plan
from ansible_collections.azcni.cilium.plugins.module_utils._k8s import resources as k8s_resources
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.client import K8sApiError
from ansible_collections.azcni.cilium.tests.unit.plugins.module_utils.fake_module import Exited, FakeModule

CNP, CCNP = "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"


def policy_doc(name, namespace="ns", kind=CNP, spec=None):
    doc = {"apiVersion": "cilium.io/v2", "kind": kind, "metadata": {"name": name},
           "spec": spec or {"endpointSelector": {}, "ingress": [{"fromEndpoints": [{}]}]}}
    if namespace:
        doc["metadata"]["namespace"] = namespace
    return doc


def ccnp_doc(name, spec=None):
    return policy_doc(name, namespace=None, kind=CCNP, spec=spec)


# --- loading -----------------------------------------------------------------------------------


def test_load_definition_forms():
    one = policy_doc("a")
    assert cilium_policy.load_documents(definition=one) == [("definition", one)]
    assert [s for s, _d in cilium_policy.load_documents(definition=[one, None, one])] == ["definition[0]", "definition[2]"]
    text = "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: a}\n---\n---\nkind: X\n"
    assert [s for s, _d in cilium_policy.load_documents(definition=text)] == ["definition#0", "definition#2"]


def test_load_src_directory_reads_yaml_files_in_name_order(tmp_path):
    (tmp_path / "b.yaml").write_text("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: b}\n")
    (tmp_path / "a.yml").write_text("kind: List\nitems:\n- {metadata: {name: a1}}\n- {metadata: {name: a2}}\n")
    (tmp_path / "notes.txt").write_text("not: policy\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.yaml").write_text("metadata: {name: c}\n")
    docs = cilium_policy.load_documents(src=str(tmp_path))
    assert [d["metadata"]["name"] for _s, d in docs] == ["a1", "a2", "b"]
    assert docs[0][0] == "%s.items[0]" % (tmp_path / "a.yml")


def test_load_src_errors(tmp_path):
    with pytest.raises(cilium_policy.PolicyInputError, match="does not exist"):
        cilium_policy.load_documents(src=str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [unclosed\n")
    with pytest.raises(cilium_policy.PolicyInputError, match="bad.yaml: not valid YAML"):
        cilium_policy.load_documents(src=str(bad))


def test_build_policies_defaults_namespace_and_strips_server_fields():
    doc = policy_doc("a", namespace=None)
    doc["metadata"].update(resourceVersion="7", uid="u", managedFields=[{}], labels={"team": "x"})
    doc["status"] = {"conditions": []}
    (policy,) = cilium_policy.build_policies([("f.yaml", doc)], default_namespace="shop")
    assert (policy.kind, policy.namespace, policy.name, policy.source) == (CNP, "shop", "a", "f.yaml")
    assert policy.body["metadata"] == {"name": "a", "namespace": "shop", "labels": {"team": "x"}}
    assert "status" not in policy.body
    assert policy.path == "/apis/cilium.io/v2/namespaces/shop/ciliumnetworkpolicies/a"
    assert "namespace" not in doc["metadata"]  # the input is not modified


def test_build_policies_reports_every_problem_at_once():
    docs = [
        ("d[0]", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
        ("d[1]", {"apiVersion": "cilium.io/v2alpha1", "kind": CNP, "metadata": {"name": "x"}}),
        ("d[2]", policy_doc("no-ns", namespace=None)),
        ("d[3]", dict(ccnp_doc("wide"), metadata={"name": "wide", "namespace": "ns"})),
        ("d[4]", {"apiVersion": "cilium.io/v2", "kind": CNP, "metadata": {}}),
        ("d[5]", "just text"),
        ("d[6]", policy_doc("dup")),
        ("d[7]", policy_doc("dup")),
    ]
    with pytest.raises(cilium_policy.PolicyInputError) as caught:
        cilium_policy.build_policies(docs)
    errors = caught.value.errors
    assert len(errors) == 7
    assert errors[0].startswith("d[0]: only CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy of apiVersion "
                                "cilium.io/v2") and "'ConfigMap'" in errors[0]
    assert "'cilium.io/v2alpha1'" in errors[1]
    assert "no metadata.namespace" in errors[2]
    assert "cluster-scoped but sets metadata.namespace" in errors[3]
    assert "without metadata.name" in errors[4]
    assert "expected a mapping" in errors[5]
    assert errors[6] == "d[7]: CiliumNetworkPolicy/ns/dup is also defined in d[6]"


def test_same_name_in_other_namespace_or_kind_is_not_a_duplicate():
    docs = [("a", policy_doc("x", "n1")), ("b", policy_doc("x", "n2")), ("c", ccnp_doc("x"))]
    assert len(cilium_policy.build_policies(docs)) == 3


@pytest.mark.parametrize("value,ok", [("default", True), ("team-a.v2", True), ("a" * 63, True), ("a" * 64, False),
                                      ("-a", False), ("a b", False), ("", False)])
def test_policy_set_must_be_a_label_value(value, ok):
    if ok:
        cilium_policy.check_label_value(value, "policy_set")
    else:
        with pytest.raises(cilium_policy.PolicyInputError, match="policy_set must be a valid label value"):
            cilium_policy.check_label_value(value, "policy_set")


# --- desired state and comparison ----------------------------------------------------------------


def make_policy(doc, namespace=None):
    return cilium_policy.build_policies([("t", doc)], namespace)[0]


def test_desired_object_marks_ownership_and_hashes_content():
    doc = policy_doc("a")
    doc["metadata"]["annotations"] = {"note": "x", policy_plan.HASH_ANNOTATION: "stale"}
    desired = policy_plan.desired_object(make_policy(doc), "baseline")
    meta = desired["metadata"]
    assert meta["labels"] == {policy_plan.MANAGED_BY_LABEL: "azcni.cilium", policy_plan.SET_LABEL: "baseline"}
    assert meta["annotations"]["note"] == "x"
    digest = meta["annotations"][policy_plan.HASH_ANNOTATION]
    assert len(digest) == 32 and digest != "stale"
    # same content, same hash; one field fewer, another hash; another set, another hash
    assert policy_plan.desired_object(make_policy(doc), "baseline") == desired
    smaller = copy.deepcopy(doc)
    del smaller["metadata"]["annotations"]["note"]
    assert policy_plan.desired_object(make_policy(smaller), "baseline")["metadata"]["annotations"][policy_plan.HASH_ANNOTATION] != digest
    assert policy_plan.desired_object(make_policy(doc), "other")["metadata"]["annotations"][policy_plan.HASH_ANNOTATION] != digest


@pytest.mark.parametrize("live,desired,expected", [
    ({"a": 1, "extra": 2}, {"a": 1}, True),
    ({"a": {"b": [1, {"c": 1, "family": "IPv4"}]}}, {"a": {"b": [1, {"c": 1}]}}, True),  # server defaults
    ({"a": [1, 2]}, {"a": [1]}, False),  # atomic lists: a removed rule is a change
    ({"a": 1}, {"a": 1, "b": None}, False),
    ({"a": "53"}, {"a": 53}, False),
    ({"sel": {"matchLabels": {"a": "b"}}}, {"sel": {}}, False),  # {} selects everything: not a subset match
    ({"sel": {}}, {"sel": {}}, True),
    (None, {"a": 1}, False),
])
def test_contains(live, desired, expected):
    assert policy_plan.contains(live, desired) is expected


def server_copy(desired, **metadata):
    """What the API server would hold after applying ``desired``."""
    obj = copy.deepcopy(desired)
    obj["metadata"].update(dict(resourceVersion="1", uid="u", generation=1, managedFields=[{"manager": "m"}]), **metadata)
    obj["status"] = {"conditions": [{"type": "Valid", "status": "True"}]}
    return obj


def test_plan_classifies_each_policy():
    same, changed, new = (make_policy(policy_doc(n)) for n in ("same", "changed", "new"))
    live_same = server_copy(policy_plan.desired_object(same, "s"))
    live_changed = server_copy(policy_plan.desired_object(changed, "s"))
    live_changed["spec"]["ingress"][0]["fromEndpoints"] = [{"matchLabels": {"edited": "by-hand"}}]
    actions = policy_plan.plan([same, changed, new], [live_same, live_changed], "present", "s", prune=False)
    assert [(a.op, a.outcome, a.policy.name) for a in actions] == [
        ("none", "unchanged", "same"), ("apply", "updated", "changed"), ("apply", "created", "new")]


def test_plan_sees_removed_field_through_the_hash():
    full = policy_doc("a")
    full["spec"]["description"] = "old"
    live = server_copy(policy_plan.desired_object(make_policy(full), "s"))
    trimmed = make_policy(policy_doc("a"))  # description removed from the input
    (action,) = policy_plan.plan([trimmed], [live], "present", "s", prune=False)
    assert action.outcome == "updated"


def test_plan_prunes_only_this_sets_own_policies():
    keep = make_policy(policy_doc("keep"))
    ours_stale = server_copy(policy_plan.desired_object(make_policy(policy_doc("stale", "other-ns")), "s"))
    other_set = server_copy(policy_plan.desired_object(make_policy(policy_doc("theirs")), "t"))
    by_kubectl = server_copy(make_policy(policy_doc("manual")).body)
    wide_stale = server_copy(policy_plan.desired_object(make_policy(ccnp_doc("wide")), "s"))
    lives = [ours_stale, other_set, by_kubectl, wide_stale]
    actions = policy_plan.plan([keep], lives, "present", "s", prune=True)
    assert [(a.op, a.policy.ref) for a in actions] == [
        ("apply", "CiliumNetworkPolicy/ns/keep"),
        ("delete", "CiliumClusterwideNetworkPolicy/wide"),
        ("delete", "CiliumNetworkPolicy/other-ns/stale"),
    ]
    assert [a.op for a in policy_plan.plan([keep], lives, "present", "s", prune=False)] == ["apply"]


def test_plan_absent_deletes_only_what_exists():
    there, gone = make_policy(policy_doc("there")), make_policy(policy_doc("gone"))
    live = server_copy(there.body)
    actions = policy_plan.plan([there, gone], [live], "absent", "s", prune=True)
    assert [(a.op, a.outcome) for a in actions] == [("delete", "deleted"), ("none", "unchanged")]


def test_list_scopes():
    few = [make_policy(policy_doc("a", "n%d" % (i % 3))) for i in range(10)]
    assert policy_plan.list_scopes(few, prune=False) == [(CNP, "n0"), (CNP, "n1"), (CNP, "n2")]
    many = [make_policy(policy_doc("a", "n%d" % i)) for i in range(policy_plan.MAX_NAMESPACE_LISTS + 1)]
    assert policy_plan.list_scopes(many + [make_policy(ccnp_doc("w"))], prune=False) == [(CNP, None), (CCNP, None)]
    assert policy_plan.list_scopes([make_policy(ccnp_doc("w"))], prune=False) == [(CCNP, None)]
    assert policy_plan.list_scopes([], prune=True) == [(CNP, None), (CCNP, None), ("ContainerNetworkLog", None)]


def test_collection_paths():
    assert k8s_resources.path(CNP, "a") == "/apis/cilium.io/v2/namespaces/a/ciliumnetworkpolicies"
    assert k8s_resources.path(CNP) == "/apis/cilium.io/v2/ciliumnetworkpolicies"
    assert k8s_resources.path(CCNP, "ignored", "w") == "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies/w"


# --- a fake API server -------------------------------------------------------------------------


class FakeClient(object):
    """Just enough of K8sClient: objects by path, a request log, injected errors, concurrency probe."""

    def __init__(self, objects=(), delay=0.0):
        self.objects = {}
        for obj in objects:
            self.objects[policy_plan.policy_from_live(dict(obj)).path] = copy.deepcopy(obj)
        self.log = []
        self.errors = {}  # path -> K8sApiError raised by apply/delete of that path (dry runs too)
        self.write_errors = {}  # path -> K8sApiError raised by a real (not dry-run) apply of that path
        self.missing_namespaces = set()
        self.delay = delay
        self.pool_size = None
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()

    def _enter(self, entry):
        with self.lock:
            self.log.append(entry)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        time.sleep(self.delay)
        with self.lock:
            self.active -= 1

    def set_pool_size(self, size):
        self.pool_size = size

    def get(self, path, query=None):
        self._enter(("GET", path, False))
        if path.startswith("/api/v1/namespaces/") and path.count("/") == 4:  # every namespace exists unless listed
            name = path.rsplit("/", 1)[1]
            return None if name in self.missing_namespaces else {"metadata": {"name": name}}
        return copy.deepcopy(self.objects.get(path))

    def list(self, path, label_selector=None, field_selector=None, limit=500):
        self._enter(("LIST", path, False))
        prefix = path + "/"
        cluster_wide = "/namespaces/" not in path
        plural = path.rsplit("/", 1)[1]
        items = [copy.deepcopy(o) for p, o in sorted(self.objects.items())
                 if p.startswith(prefix) or (cluster_wide and p.rsplit("/", 2)[1] == plural)]
        for item in items:
            item.pop("kind", None)  # like a real list
        return items, "1"

    def apply(self, path, obj, field_manager, force=False, dry_run=False, field_validation="Strict"):
        self._enter(("APPLY", path, dry_run, field_manager, force, field_validation))
        if path in self.errors or (path in self.write_errors and not dry_run):
            raise self.errors.get(path) or self.write_errors[path]
        stored = server_copy(obj)
        if not dry_run:
            self.objects[path] = stored
        return copy.deepcopy(stored)

    def delete(self, path, dry_run=False, propagation_policy=None):
        self._enter(("DELETE", path, dry_run))
        if path in self.errors:
            raise self.errors[path]
        return self.objects.pop(path, None)

    def writes(self):
        return [e for e in self.log if e[0] in ("APPLY", "DELETE") and not e[2]]


def conflict():
    return K8sApiError(409, "Conflict", 'Apply failed with 1 conflict: conflict with "kubectl-create"')


def test_service_applies_with_ssa_strict_and_its_field_manager():
    client = FakeClient()
    service = cilium_policy.PolicyService(client, "mgr", force_conflicts=True, concurrency=1)
    policy = make_policy(policy_doc("a"))
    (result,) = service.execute(policy_plan.plan([policy], [], "present", "s", False))
    assert client.log == [("APPLY", policy.path, False, "mgr", True, "Strict")]
    assert result["outcome"] == "created" and result["before"] == {}
    assert result["after"]["metadata"]["labels"][policy_plan.SET_LABEL] == "s"
    assert "managedFields" not in result["after"]["metadata"] and "status" not in result["after"]


def test_service_check_mode_dry_runs_applies_and_sends_no_delete():
    ours = server_copy(policy_plan.desired_object(make_policy(policy_doc("old")), "s"))
    client = FakeClient([ours])
    service = cilium_policy.PolicyService(client, "mgr", check_mode=True)
    live = service.fetch(policy_plan.list_scopes([], prune=True))
    actions = policy_plan.plan([make_policy(policy_doc("new"))], live, "present", "s", True)
    results = service.execute(actions)
    assert [r["outcome"] for r in results] == ["created", "deleted"]
    assert client.writes() == []
    assert [e[:3] for e in client.log if e[0] != "LIST"] == [
        ("APPLY", "/apis/cilium.io/v2/namespaces/ns/ciliumnetworkpolicies/new", True)]
    assert len(client.objects) == 1


def test_service_reports_failures_per_policy_and_continues():
    good, bad = make_policy(policy_doc("good")), make_policy(policy_doc("bad"))
    client = FakeClient()
    client.errors[bad.path] = conflict()
    results = cilium_policy.PolicyService(client, "mgr", concurrency=4).execute(policy_plan.plan([bad, good], [], "present", "s", False))
    assert [r["outcome"] for r in results] == ["failed", "created"]
    assert results[0]["error"].endswith("(HTTP 409 Conflict)") and results[0]["status"] == 409
    assert good.path in client.objects


def test_service_runs_applies_before_deletes_with_bounded_concurrency():
    stale = [server_copy(policy_plan.desired_object(make_policy(policy_doc("old%d" % i)), "s")) for i in range(6)]
    for obj in stale:
        obj["kind"] = CNP
    client = FakeClient(stale, delay=0.02)
    new = [make_policy(policy_doc("new%d" % i)) for i in range(12)]
    service = cilium_policy.PolicyService(client, "mgr", concurrency=3)
    results = service.execute(policy_plan.plan(new, stale, "present", "s", prune=True))
    verbs = [e[0] for e in client.log]
    assert verbs == ["APPLY"] * 12 + ["DELETE"] * 6
    assert client.max_active == 3 and client.pool_size == 3
    assert [r["outcome"] for r in results] == ["created"] * 12 + ["deleted"] * 6


def test_summary_and_diffs():
    results = [
        dict(kind=CNP, namespace="ns", name="a", outcome="created", before={}, after={"x": 1}),
        dict(kind=CNP, namespace="ns", name="b", outcome="unchanged", before={"x": 1}, after={"x": 1}),
        dict(kind=CCNP, namespace=None, name="c", outcome="deleted", before={"x": 2}, after={}),
        dict(kind=CNP, namespace="ns", name="d", outcome="failed", error="boom", before={}, after={}),
    ]
    counts, changed, public = cilium_policy.summarize(results)
    assert counts == dict(created=1, updated=0, unchanged=1, deleted=1, failed=1)
    assert changed is True and all("before" not in p for p in public)
    diff = cilium_policy.diffs(results)
    assert [d["before_header"] for d in diff] == ["CiliumNetworkPolicy/ns/a (created)",
                                                  "CiliumClusterwideNetworkPolicy/c (deleted)"]
    assert diff[1]["before"] == {"x": 2} and diff[1]["after"] == {}
    assert cilium_policy.summarize(results[1:2])[1] is False


# --- the module flow -----------------------------------------------------------------------------


POLICY_DEFAULTS = dict(definition=None, src=None, namespace=None, state="present", prune=False,
                       policy_set="default", field_manager="azcni.cilium", force_conflicts=False, concurrency=4,
                       lint="error", acns_security="auto")


def run(client, **params):
    module = FakeModule(client, POLICY_DEFAULTS, **params)
    with pytest.raises(Exited) as caught:
        cilium_policy.run_policy(module)
    caught.value.module = module
    return caught.value


L7_SPEC = {"endpointSelector": {}, "ingress": [{"toPorts": [
    {"ports": [{"port": "80", "protocol": "TCP"}], "rules": {"http": [{"method": "GET"}]}}]}]}


def test_module_apply_then_reapply_sends_no_write():
    client = FakeClient()
    docs = [policy_doc("p%d" % i, "ns%d" % (i % 2)) for i in range(10)] + [ccnp_doc("wide")]
    first = run(client, definition=docs)
    assert not first.failed and first.result["changed"] is True
    assert first.result["counts"]["created"] == 11
    assert first.result["acns"]["source"] == "not needed"
    client.log.clear()
    second = run(client, definition=docs)
    assert second.result["changed"] is False and second.result["counts"]["unchanged"] == 11
    assert [e[0] for e in client.log] == ["LIST", "LIST", "LIST"]


def test_module_input_error_fails_before_any_request():
    client = FakeClient()
    outcome = run(client, definition=[policy_doc("a"), {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}])
    assert outcome.failed and outcome.result["msg"].startswith("Invalid policy input: definition[1]: only")
    assert client.log == []


def test_module_empty_input_needs_prune():
    outcome = run(FakeClient(), definition=[])
    assert outcome.failed and "No policies given" in outcome.result["msg"]
    assert not run(FakeClient(), definition=[], prune=True).failed


def test_module_lint_error_sends_nothing_but_reads_cilium_config():
    client = FakeClient()
    client.objects[cilium_policy.CILIUM_CONFIG] = {"data": {"enable-l7-proxy": "false"}}
    outcome = run(client, definition=[policy_doc("l7", spec=L7_SPEC)])
    assert outcome.failed and outcome.result["msg"].startswith("Lint found 1 error(s); nothing was sent.")
    assert [f["check"] for f in outcome.result["lint"]] == ["l7-needs-acns"]
    assert outcome.result["acns"] == dict(network_policies="none", l7=False, fqdn=False, node_selector_labels=False,
                                          localdns=False, cilium_version=None, source="cluster")
    assert client.log == [("GET", cilium_policy.CILIUM_CONFIG, False)]


def test_module_lint_follows_the_cluster_and_the_parameter():
    client = FakeClient()
    client.objects[cilium_policy.CILIUM_CONFIG] = {"data": {"enable-l7-proxy": "true", "external-envoy-proxy": "true"}}
    assert not run(client, definition=[policy_doc("l7", spec=L7_SPEC)]).failed
    client.objects[cilium_policy.CILIUM_CONFIG] = {"data": {"enable-l7-proxy": "true"}}  # FQDN only: no Envoy
    assert [f["check"] for f in run(client, definition=[policy_doc("l7", spec=L7_SPEC)]).result["lint"]] == ["l7-needs-acns"]
    assert run(FakeClient(), definition=[policy_doc("l7", spec=L7_SPEC)], acns_security="l7").result["acns"][
        "source"] == "parameter"
    missing = run(FakeClient(), definition=[policy_doc("l7", spec=L7_SPEC)])
    assert missing.failed and missing.result["acns"]["source"] == "default"


def test_module_unreadable_cilium_config_warns_and_assumes_no_acns():
    class Forbidden(FakeClient):
        def get(self, path, query=None):
            raise K8sApiError(403, "Forbidden", "configmaps is forbidden")
    outcome = run(Forbidden(), definition=[policy_doc("l7", spec=L7_SPEC)])
    assert outcome.failed and outcome.result["acns"]["source"] == "default"
    assert outcome.module.warnings[0].startswith("Could not read kube-system/cilium-config (configmaps is forbidden")


def test_module_lint_warn_applies_and_warns():
    client = FakeClient()
    outcome = run(client, definition=[policy_doc("l7", spec=L7_SPEC)], lint="warn", acns_security="none")
    assert not outcome.failed and outcome.result["counts"]["created"] == 1
    assert outcome.module.warnings == [
        "CiliumNetworkPolicy/ns/l7: spec.ingress[0].toPorts[0].rules.http: AKS enforces L7 rules (http, kafka, "
        "l7proto) only with ACNS security (L7) [l7-needs-acns]"]


def test_module_lint_off_and_absent_skip_the_lint():
    for params in (dict(lint="off"), dict(state="absent")):
        outcome = run(FakeClient(), definition=[policy_doc("l7", spec=L7_SPEC)], **params)
        assert not outcome.failed and outcome.result["lint"] == [] and "acns" not in outcome.result


def test_module_many_warnings_are_capped():
    docs = [policy_doc("r%d" % i, spec={"endpointSelector": {}, "ingress": [{"fromRequires": [{}]}]})
            for i in range(cilium_policy.MAX_WARNINGS + 5)]
    outcome = run(FakeClient(), definition=docs)
    assert len(outcome.result["lint"]) == cilium_policy.MAX_WARNINGS + 5
    assert len(outcome.module.warnings) == cilium_policy.MAX_WARNINGS + 1
    assert outcome.module.warnings[-1] == "... and 5 more lint findings (see the lint result)"


def test_module_failure_reports_every_outcome():
    client = FakeClient()
    client.write_errors[make_policy(policy_doc("b")).path] = conflict()  # passes the dry run, fails for real
    outcome = run(client, definition=[policy_doc("a"), policy_doc("b")])
    assert outcome.failed
    assert outcome.result["msg"].startswith("1 of 2 policies failed after retries (1 applied; run the task again to "
                                            "complete the set); first: CiliumNetworkPolicy/ns/b")
    assert outcome.result["changed"] is True
    assert outcome.result["applied"] == ["CiliumNetworkPolicy/ns/a (definition[0])"]
    assert outcome.result["not_applied"] == ["CiliumNetworkPolicy/ns/b (definition[1])"]
    assert outcome.result["counts"]["created"] == 1 and outcome.result["changed"] is True


def test_module_list_error_fails_cleanly():
    class Forbidden(FakeClient):
        def list(self, path, label_selector=None, field_selector=None, limit=500):
            raise K8sApiError(403, "Forbidden", "cannot list")
    outcome = run(Forbidden(), definition=[policy_doc("a")])
    assert outcome.failed and outcome.result["msg"] == "Could not list the Cilium policies: cannot list (403 Forbidden)"


def test_module_diff_mode_update_and_prune():
    client = FakeClient()
    run(client, definition=[policy_doc("a"), policy_doc("b")], prune=True)
    edited = policy_doc("a", spec={"endpointSelector": {}, "egress": [{"toEntities": ["world"]}]})
    outcome = run(client, definition=[edited], prune=True, diff_mode=True)
    result = outcome.result
    assert [(p["name"], p["outcome"]) for p in result["policies"]] == [("a", "updated"), ("b", "deleted")]
    assert "spec.egress" in result["policies"][0]["changed_paths"]
    assert "spec.ingress" in result["policies"][0]["changed_paths"]
    assert [d["before_header"] for d in result["diff"]] == ["CiliumNetworkPolicy/ns/a (updated)",
                                                            "CiliumNetworkPolicy/ns/b (deleted)"]
    assert result["diff"][1]["after"] == {}
    assert sorted(client.objects) == [make_policy(policy_doc("a")).path]
