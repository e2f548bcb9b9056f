# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cilium_policy end to end: the real ansible-playbook against an emulated AKS cluster, cross-checked
with the real kubectl and the API server's request log."""

from __future__ import annotations

import json
import os
import shutil

import yaml

from tests.emulator.requestlog import writes
from tests.e2e.conftest import playbook as e2e_playbook, task

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE_POLICIES = os.path.join(REPO, "playbooks", "files", "policies")
CNP, CCNP = "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"
SET_LABEL = "azcni.cilium/policy-set"


def cnp(name, port="443", namespace=None, **spec_extra):
    obj = {"apiVersion": "cilium.io/v2", "kind": CNP, "metadata": {"name": name}, "spec": dict({
        "endpointSelector": {"matchLabels": {"app": name}},
        "egress": [{"toEndpoints": [{"matchLabels": {"app": "backend"}}],
                    "toPorts": [{"ports": [{"port": port, "protocol": "TCP"}]}]}]}, **spec_extra)}
    if namespace:
        obj["metadata"]["namespace"] = namespace
    return obj


def ccnp(name):
    return {"apiVersion": "cilium.io/v2", "kind": CCNP, "metadata": {"name": name},
            "spec": {"endpointSelector": {}, "ingressDeny": [{"fromEntities": ["world"]}]}}


L7 = cnp("api-l7")
L7["spec"]["egress"][0]["toPorts"][0]["rules"] = {"http": [{"method": "GET", "path": "/v1/.*"}]}


def write_policies(directory, objs):
    os.makedirs(str(directory), exist_ok=True)
    for name in os.listdir(str(directory)):
        os.remove(os.path.join(str(directory), name))
    for obj in objs:
        path = os.path.join(str(directory), "%s-%s.yaml" % (obj["kind"].lower(), obj["metadata"]["name"]))
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(obj, handle)
    return str(directory)


def playbook(cluster, **args):
    """A one-task playbook calling cilium_policy with ``args`` against ``cluster``."""
    return e2e_playbook(task("policy", "cilium_policy", dict(dict(kubeconfig=cluster.kubeconfig_path), **args)))


def kubectl_policies(cluster):
    """(kind, namespace, name) -> object, as the real kubectl lists them (`get cnp -A`, `get ccnp`)."""
    found = {}
    for kind, args in ((CNP, ("get", "cnp", "-A", "-o", "json")), (CCNP, ("get", "ccnp", "-o", "json"))):
        for item in json.loads(cluster.kubectl(*args).stdout)["items"]:
            meta = item["metadata"]
            found[(kind, meta.get("namespace"), meta["name"])] = item
    return found


def reported(result, *outcomes):
    return sorted((p["kind"], p["namespace"], p["name"]) for p in result["policies"] if p["outcome"] in outcomes)


def apply(ansible, cluster, check=False, diff=False, **args):
    """Run the module with a clean request log; (task result, status, write requests, all requests)."""
    cluster.clear_requests()
    run = ansible(playbook(cluster, **args), check=check, diff=diff)
    requests = cluster.requests()
    return run.task("policy"), run.status("policy"), writes(requests), requests


def test_apply_reapply_change_prune_only_ours(ansible, kube_cluster, tmp_path):
    cluster = kube_cluster
    manual = tmp_path / "manual.yaml"
    manual.write_text(yaml.safe_dump(cnp("by-kubectl", namespace="default")))
    cluster.kubectl("apply", "-f", str(manual))
    src = write_policies(tmp_path / "policies", [cnp("web"), cnp("db", namespace="kube-system"), ccnp("no-world")])

    result, status, written, _all = apply(ansible, cluster, src=src, namespace="default", prune=True, policy_set="e2e")
    assert status == "changed", result
    assert result["counts"] == dict(created=3, updated=0, unchanged=0, deleted=0, failed=0)
    live = kubectl_policies(cluster)
    assert reported(result, "created") == sorted(k for k in live if k[2] != "by-kubectl")
    assert {live[k]["metadata"]["labels"][SET_LABEL] for k in reported(result, "created")} == {"e2e"}
    assert sorted((e["method"], e["query"].get("fieldValidation"), e["query"].get("fieldManager")) for e in written) == [
        ("PATCH", ["Strict"], ["azcni.cilium"])] * 3

    result, status, written, requests = apply(ansible, cluster, src=src, namespace="default", prune=True,
                                              policy_set="e2e")
    assert status == "ok" and result["counts"]["unchanged"] == 3
    assert written == []
    # one cluster-wide LIST per kind (prune needs all three; no flow-log CRD here: a 404), nothing per object
    assert sorted((e["method"], e["path"]) for e in requests) == [
        ("GET", "/apis/acn.azure.com/v1alpha1/containernetworklogs"),
        ("GET", "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies"), ("GET", "/apis/cilium.io/v2/ciliumnetworkpolicies")]

    # web changes port, db and the CCNP leave the directory, api arrives
    src = write_policies(tmp_path / "policies", [cnp("web", port="8443"), cnp("api")])
    result, status, written, _all = apply(ansible, cluster, src=src, namespace="default", prune=True, policy_set="e2e",
                                          diff=True)
    assert status == "changed"
    assert result["counts"] == dict(created=1, updated=1, unchanged=0, deleted=2, failed=0)
    assert reported(result, "deleted") == [(CCNP, None, "no-world"), (CNP, "kube-system", "db")]
    web = [p for p in result["policies"] if p["name"] == "web"][0]
    assert "spec.egress[0].toPorts[0].ports[0].port" in web["changed_paths"]
    assert sorted(e["method"] for e in written) == ["DELETE", "DELETE", "PATCH", "PATCH"]
    headers = sorted(d["before_header"] for d in result["diff"])
    assert headers == ["CiliumClusterwideNetworkPolicy/no-world (deleted)", "CiliumNetworkPolicy/default/api (created)",
                       "CiliumNetworkPolicy/default/web (updated)", "CiliumNetworkPolicy/kube-system/db (deleted)"]

    live = kubectl_policies(cluster)
    assert sorted(live) == [(CNP, "default", "api"), (CNP, "default", "by-kubectl"), (CNP, "default", "web")]
    assert live[(CNP, "default", "web")]["spec"]["egress"][0]["toPorts"][0]["ports"][0]["port"] == "8443"

    # an empty input with prune removes the whole set and still nothing else
    result, status, written, _all = apply(ansible, cluster, definition=[], prune=True, policy_set="e2e")
    assert result["counts"]["deleted"] == 2 and len(written) == 2
    assert sorted(kubectl_policies(cluster)) == [(CNP, "default", "by-kubectl")]


def test_two_policy_sets_do_not_prune_each_other(ansible, kube_cluster):
    cluster = kube_cluster
    apply(ansible, cluster, definition=[cnp("a")], namespace="default", prune=True, policy_set="team-a")
    result, _status, _w, _r = apply(ansible, cluster, definition=[cnp("b")], namespace="default", prune=True,
                                    policy_set="team-b")
    assert result["counts"]["deleted"] == 0
    assert sorted(k[2] for k in kubectl_policies(cluster)) == ["a", "b"]


def test_check_mode_predicts_and_writes_nothing(ansible, kube_cluster, tmp_path):
    cluster = kube_cluster
    src = write_policies(tmp_path / "policies", [cnp("keep"), cnp("edit"), cnp("gone")])
    apply(ansible, cluster, src=src, namespace="default", prune=True)
    before = kubectl_policies(cluster)

    src = write_policies(tmp_path / "policies", [cnp("keep"), cnp("edit", port="1"), cnp("new")])
    result, status, written, requests = apply(ansible, cluster, check=True, diff=True, src=src, namespace="default",
                                              prune=True)
    assert status == "changed"
    assert result["counts"] == dict(created=1, updated=1, unchanged=1, deleted=1, failed=0)
    assert written == []
    dry_runs = [e for e in requests if e["method"] != "GET"]
    assert sorted((e["method"], e["query"].get("dryRun")) for e in dry_runs) == [("PATCH", ["All"])] * 2
    assert len(result["diff"]) == 3
    after = kubectl_policies(cluster)
    assert sorted(after) == sorted(before)
    assert all(after[k]["metadata"]["resourceVersion"] == before[k]["metadata"]["resourceVersion"] for k in after)


def test_lint_error_sends_no_write(ansible, kube_cluster):
    cluster = kube_cluster
    result, status, written, requests = apply(ansible, cluster, definition=[cnp("fine"), L7], namespace="default")
    assert status == "failed"
    assert result["msg"].startswith("Lint found 1 error(s); nothing was sent.")
    (finding,) = result["lint"]
    assert (finding["policy"], finding["path"], finding["check"]) == (
        "CiliumNetworkPolicy/default/api-l7", "spec.egress[0].toPorts[0].rules.http", "l7-needs-acns")
    assert result["acns"]["source"] == "cluster" and result["acns"]["l7"] is False
    assert written == []
    assert [(e["method"], e["path"]) for e in requests] == [
        ("GET", "/api/v1/namespaces/kube-system/configmaps/cilium-config")]
    assert kubectl_policies(cluster) == {}


def test_l7_policy_needs_the_l7_mode_not_just_acns_security(ansible, make_kube_cluster):
    cluster = make_kube_cluster(acns_security=True)  # AKS's default policy mode with security: FQDN
    result, status, _written, _requests = apply(ansible, cluster, definition=[L7], namespace="default")
    assert status == "failed" and [f["check"] for f in result["lint"]] == ["l7-needs-acns"], result
    assert (result["acns"]["network_policies"], result["acns"]["fqdn"]) == ("fqdn", True)
    result, status, _written, _requests = apply(ansible, cluster, definition=[L7], namespace="default", acns_security="l7")
    assert status == "changed", result
    assert result["acns"]["l7"] is True and result["acns"]["source"] == "parameter" and result["lint"] == []
    assert list(kubectl_policies(cluster)) == [(CNP, "default", "api-l7")]


def test_unknown_field_fails_strict_validation(ansible, kube_cluster):
    cluster = kube_cluster
    typo = cnp("typo")
    typo["spec"]["egress"][0]["toPort"] = typo["spec"]["egress"][0].pop("toPorts")
    result, status, written, _requests = apply(ansible, cluster, definition=[typo, cnp("fine")], namespace="default")
    assert status == "failed" and result["changed"] is False
    # all or nothing: the server-side dry run refuses the typo, so "fine" is not applied either
    assert len(result["errors"]) == 1 and "typo" in result["errors"][0] and "toPort" in result["errors"][0]
    assert result["msg"].startswith("1 of 2 policies would be refused; nothing was applied.")
    assert written == [] and list(kubectl_policies(cluster)) == []


def test_conflict_on_apply_is_retried(ansible, kube_cluster):
    cluster = kube_cluster
    cluster.add_fault(method="PATCH", path=r"/ciliumnetworkpolicies/retried$", status=409, count=2,
                      body={"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
                            "message": "Operation cannot be fulfilled: the object has been modified"})
    result, status, _written, requests = apply(ansible, cluster, definition=[cnp("retried")], namespace="default",
                                               force_conflicts=True)
    assert status == "changed", result
    patches = [e["status"] for e in requests if e["method"] == "PATCH"]
    # the dry run meets the two conflicts and is retried; then the real apply
    assert patches in ([409, 409, 201, 201], [409, 409, 200, 201], [409, 409, 201, 200], [409, 409, 200, 200])
    assert list(kubectl_policies(cluster)) == [(CNP, "default", "retried")]


def test_conflict_without_force_is_reported_per_policy(ansible, kube_cluster):
    cluster = kube_cluster
    cluster.add_fault(method="PATCH", path=r"/ciliumnetworkpolicies/contested$", status=409, count=1,
                      body={"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
                            "message": 'Apply failed with 1 conflict: conflict with "kubectl-edit": .spec.egress'})
    result, status, _written, _requests = apply(ansible, cluster, definition=[cnp("contested"), cnp("other")],
                                                namespace="default")
    assert status == "failed" and result["changed"] is False
    # the conflict shows in the dry run: the set is all or nothing, so "other" is not applied either
    assert result["msg"].startswith("1 of 2 policies would be refused; nothing was applied. "
                                    "CiliumNetworkPolicy/default/contested (definition[0]): Apply failed")
    assert list(kubectl_policies(cluster)) == []


def test_example_playbook_applies_the_example_set(ansible, kube_cluster, tmp_path):
    cluster = kube_cluster
    shutil.copytree(EXAMPLE_POLICIES, str(tmp_path / "policies"))
    path = os.path.join(REPO, "playbooks", "apply_policies.yml")
    extra = dict(azcni_kubeconfig=cluster.kubeconfig_path, azcni_policies_dir=str(tmp_path / "policies"))
    cluster.clear_requests()
    run = ansible(path, extra_vars=extra)
    assert run.rc == 0, run.stdout
    result = run.task("azcni.cilium.cilium_policies : Apply the Cilium policy set")
    assert result["counts"]["created"] == 3
    assert sorted(kubectl_policies(cluster)) == [(CNP, "default", "allow-dns"), (CNP, "default", "allow-same-namespace"),
                                                 (CNP, "default", "default-deny")]
    os.remove(str(tmp_path / "policies" / "30-allow-same-namespace.yaml"))
    cluster.clear_requests()
    run = ansible(path, extra_vars=extra)
    assert run.rc == 0, run.stdout
    assert [(e["method"], e["path"].rsplit("/", 1)[1]) for e in writes(cluster.requests())] == [
        ("DELETE", "allow-same-namespace")]
    assert sorted(k[2] for k in kubectl_policies(cluster)) == ["allow-dns", "default-deny"]


def test_policy_owned_by_kubectl_needs_force_conflicts(ansible, kube_cluster, tmp_path):
    cluster = kube_cluster
    manual = tmp_path / "shared.yaml"
    manual.write_text(yaml.safe_dump(cnp("shared", namespace="default")))
    cluster.kubectl("create", "-f", str(manual))
    wanted = cnp("shared", port="8080")

    result, status, written, _requests = apply(ansible, cluster, definition=[wanted], namespace="default")
    assert status == "failed" and written == [] and result["changed"] is False
    (error,) = result["errors"]  # refused by the server-side dry run, before any write
    assert "HTTP 409" in error and "kubectl-create" in error
    assert kubectl_policies(cluster)[(CNP, "default", "shared")]["spec"]["egress"][0]["toPorts"][0]["ports"][0][
        "port"] == "443"

    result, status, _written, _requests = apply(ansible, cluster, definition=[wanted], namespace="default",
                                                force_conflicts=True)
    assert status == "changed" and result["policies"][0]["outcome"] == "updated"
    live = kubectl_policies(cluster)[(CNP, "default", "shared")]
    assert live["spec"]["egress"][0]["toPorts"][0]["ports"][0]["port"] == "8080"
    assert live["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "azcni.cilium"


def test_role_included_from_another_role(ansible, kube_cluster, tmp_path):
    cluster = kube_cluster
    tasks = tmp_path / "roles" / "wrapper" / "tasks"
    tasks.mkdir(parents=True)
    tasks.joinpath("main.yml").write_text(
        "- name: Baseline policies\n"
        "  ansible.builtin.include_role:\n    name: azcni.cilium.cilium_policies\n"
        "  vars:\n    cilium_policies_src: %s\n    cilium_policies_kubeconfig: %s\n    cilium_policies_namespace: kube-public\n"
        % (EXAMPLE_POLICIES, cluster.kubeconfig_path))
    play = str(tmp_path / "site.yml")
    with open(play, "w", encoding="utf-8") as handle:
        handle.write("- hosts: localhost\n  connection: local\n  gather_facts: false\n  roles:\n    - wrapper\n"
                     "  post_tasks:\n    - name: Registered result\n      ansible.builtin.assert:\n        that:\n"
                     "          - cilium_policies_result.counts.created + cilium_policies_result.counts.unchanged == 3\n")
    run = ansible(play)
    assert run.rc == 0 and run.failed_tasks == [], run.stdout
    assert sorted(k for k in kubectl_policies(cluster)) == [(CNP, "kube-public", n) for n in (
        "allow-dns", "allow-same-namespace", "default-deny")]
    cluster.clear_requests()
    run = ansible(play)
    assert run.rc == 0 and writes(cluster.requests()) == []
