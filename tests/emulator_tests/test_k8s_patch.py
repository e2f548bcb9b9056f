"""Patch semantics: JSON merge, strategic merge, JSON patch, server-side apply, fieldValidation."""

import json

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.emulator_tests.k8s_fixtures import k8s_ca, k8s_cluster, k8s_factory, kube, raw_request  # noqa: F401  pylint: disable=unused-import

# pylint: disable=redefined-outer-name

DEPLOY = "/apis/apps/v1/namespaces/default/deployments"
CNP = "/apis/cilium.io/v2/namespaces/default/ciliumnetworkpolicies"


def deployment(name="web", containers=None):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": containers or [
                                      {"name": "web", "image": "nginx:1.25", "env": [{"name": "A", "value": "1"},
                                                                                     {"name": "B", "value": "2"}]},
                                      {"name": "side", "image": "busybox:1.36"}]}}}}


def cnp(name="p", port="80"):
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": name, "namespace": "default"},
            "spec": {"endpointSelector": {"matchLabels": {"app": "web"}},
                     "egress": [{"toPorts": [{"ports": [{"port": port, "protocol": "TCP"}]}]}]}}


def patch(cluster, path, body, content_type, query=""):
    return raw_request(cluster, "PATCH", path + query, body, content_type=content_type)


def containers(obj):
    return {c["name"]: c for c in obj["spec"]["template"]["spec"]["containers"]}


def test_json_merge_patch_replaces_lists_and_deletes_with_null(k8s_cluster):
    raw_request(k8s_cluster, "POST", DEPLOY, deployment())
    body = {"metadata": {"labels": {"a": "1"}},
            "spec": {"template": {"spec": {"containers": [{"name": "only", "image": "nginx:1.27"}]}}}}
    status, obj, _unused = patch(k8s_cluster, DEPLOY + "/web", body, "application/merge-patch+json")
    assert status == 200 and list(containers(obj)) == ["only"] and obj["metadata"]["labels"] == {"a": "1"}
    status, obj, _unused = patch(k8s_cluster, DEPLOY + "/web", {"metadata": {"labels": {"a": None}}}, "application/merge-patch+json")
    assert status == 200 and "a" not in (obj["metadata"].get("labels") or {})


def test_strategic_merge_merges_by_key_and_honours_directives(k8s_cluster):
    raw_request(k8s_cluster, "POST", DEPLOY, deployment())
    smp = "application/strategic-merge-patch+json"
    status, obj, _unused = patch(k8s_cluster, DEPLOY + "/web", {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "env": [{"name": "A", "value": "9"}, {"name": "C", "value": "3"}]}]}}}}, smp)
    assert status == 200 and set(containers(obj)) == {"web", "side"}
    assert containers(obj)["web"]["env"] == [{"name": "A", "value": "9"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}]
    assert containers(obj)["web"]["image"] == "nginx:1.25"
    # what `kubectl apply` sends when a container and an env var leave the manifest
    status, obj, _unused = patch(k8s_cluster, DEPLOY + "/web", {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}],
        "containers": [{"$setElementOrder/env": [{"name": "C"}, {"name": "A"}], "env": [{"$patch": "delete", "name": "B"}],
                        "name": "web"}, {"$patch": "delete", "name": "side"}]}}}}, smp)
    assert status == 200 and list(containers(obj)) == ["web"]
    assert [e["name"] for e in containers(obj)["web"]["env"]] == ["C", "A"]
    status, obj, _unused = patch(k8s_cluster, DEPLOY + "/web", {"metadata": {"finalizers": ["x/a"]}}, smp)
    status, obj, _unused = patch(k8s_cluster, DEPLOY + "/web", {"metadata": {"finalizers": ["x/b"]}}, smp)
    assert obj["metadata"]["finalizers"] == ["x/a", "x/b"]
    status, obj, _unused = patch(k8s_cluster, DEPLOY + "/web", {"metadata": {"$deleteFromPrimitiveList/finalizers": ["x/a"]}}, smp)
    assert obj["metadata"]["finalizers"] == ["x/b"]
    status, obj, _unused = patch(k8s_cluster, DEPLOY + "/web", {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}, smp)
    assert obj["spec"]["strategy"] == {"type": "Recreate"}


def test_strategic_merge_is_refused_for_custom_resources(k8s_cluster):
    raw_request(k8s_cluster, "POST", CNP, cnp())
    status, body, _unused = patch(k8s_cluster, CNP + "/p", {"spec": {}}, "application/strategic-merge-patch+json")
    assert status == 415 and body["reason"] == "UnsupportedMediaType"


def test_json_patch_operations_and_failures(k8s_cluster):
    raw_request(k8s_cluster, "POST", DEPLOY, deployment())
    ops = [{"op": "test", "path": "/spec/replicas", "value": 1},
           {"op": "replace", "path": "/spec/replicas", "value": 2},
           {"op": "add", "path": "/metadata/labels", "value": {"a/b": "c"}},
           {"op": "remove", "path": "/spec/template/spec/containers/1"},
           {"op": "copy", "from": "/metadata/labels", "path": "/metadata/annotations"},
           {"op": "move", "from": "/metadata/annotations/a~1b", "path": "/metadata/annotations/moved"}]
    status, obj, _unused = patch(k8s_cluster, DEPLOY + "/web", ops, "application/json-patch+json")
    assert status == 200 and obj["spec"]["replicas"] == 2 and list(containers(obj)) == ["web"]
    assert obj["metadata"]["labels"] == {"a/b": "c"} and obj["metadata"]["annotations"] == {"moved": "c"}
    status, body, _unused = patch(k8s_cluster, DEPLOY + "/web", [{"op": "test", "path": "/spec/replicas", "value": 7}],
                                  "application/json-patch+json")
    assert status == 422 and "test failed" in body["message"]
    status, body, _unused = patch(k8s_cluster, DEPLOY + "/web", [{"op": "remove", "path": "/spec/nothing/here"}],
                                  "application/json-patch+json")
    assert status == 422 and "missing" in body["message"]


def test_field_validation_strict_warn_and_ignore(k8s_cluster):
    body = deployment("fv")
    body["spec"]["replica"] = 3
    body["spec"]["template"]["spec"]["containers"][0]["imag"] = "x"
    status, err, _unused = raw_request(k8s_cluster, "POST", DEPLOY + "?fieldValidation=Strict", body)
    assert status == 400 and err["reason"] == "BadRequest"
    assert err["message"] == ('strict decoding error: unknown field "spec.template.spec.containers[0].imag", '
                              'unknown field "spec.replica"')
    status, obj, headers = raw_request(k8s_cluster, "POST", DEPLOY + "?fieldValidation=Warn", body)
    assert status == 201 and "replica" not in obj["spec"]
    assert headers["Warning"] == ('299 - "unknown field \\"spec.template.spec.containers[0].imag\\"", '
                                  '299 - "unknown field \\"spec.replica\\""')
    policy = cnp("fv")
    policy["spec"]["foo"] = 1
    status, err, _unused = raw_request(k8s_cluster, "POST", CNP + "?fieldValidation=Strict", policy)
    assert status == 400 and err["message"] == 'strict decoding error: unknown field "spec.foo"'
    status, obj, headers = raw_request(k8s_cluster, "POST", CNP + "?fieldValidation=Ignore", policy)
    assert status == 201 and "foo" not in obj["spec"] and "Warning" not in headers


def test_server_side_apply_creates_owns_and_conflicts(k8s_cluster):
    apply = "application/apply-patch+yaml"
    status, obj, _unused = patch(k8s_cluster, CNP + "/ssa", yaml.safe_dump(cnp("ssa")).encode(), apply, "?fieldManager=ops")
    assert status == 201
    managed = obj["metadata"]["managedFields"]
    assert [(m["manager"], m["operation"]) for m in managed] == [("ops", "Apply")]
    assert managed[0]["fieldsV1"]["f:spec"]["f:endpointSelector"] == {}
    # another manager changes a field ops owns: conflict, worded like the apiserver
    other = cnp("ssa", port="8080")
    status, err, _unused = patch(k8s_cluster, CNP + "/ssa", json.dumps(other).encode(), apply, "?fieldManager=team")
    assert status == 409 and err["reason"] == "Conflict"
    assert err["message"] == 'Apply failed with 1 conflict: conflict with "ops": .spec.egress'
    assert err["details"]["causes"] == [{"type": "FieldManagerConflict", "message": 'conflict with "ops"', "field": ".spec.egress"}]
    # the same value is shared ownership, not a conflict
    status, obj, _unused = patch(k8s_cluster, CNP + "/ssa", json.dumps(cnp("ssa")).encode(), apply, "?fieldManager=team")
    assert status == 200 and {"ops", "team"} <= {m["manager"] for m in obj["metadata"]["managedFields"]}
    # force takes the field over
    status, obj, _unused = patch(k8s_cluster, CNP + "/ssa", json.dumps(other).encode(), apply, "?fieldManager=team&force=true")
    assert status == 200 and obj["spec"]["egress"][0]["toPorts"][0]["ports"][0]["port"] == "8080"
    owners = {m["manager"]: m["fieldsV1"] for m in obj["metadata"]["managedFields"]}
    assert "f:egress" in owners["team"]["f:spec"] and "f:egress" not in owners["ops"].get("f:spec", {})


def test_server_side_apply_removes_fields_the_applier_drops(k8s_cluster):
    apply = "application/apply-patch+yaml"
    first = cnp("drop")
    first["metadata"]["labels"] = {"a": "1", "b": "2"}
    first["spec"]["description"] = "temporary"
    patch(k8s_cluster, CNP + "/drop", json.dumps(first).encode(), apply, "?fieldManager=ops")
    second = cnp("drop")
    second["metadata"]["labels"] = {"a": "1"}
    status, obj, _unused = patch(k8s_cluster, CNP + "/drop", json.dumps(second).encode(), apply, "?fieldManager=ops")
    assert status == 200 and obj["metadata"]["labels"] == {"a": "1"} and "description" not in obj["spec"]


def test_server_side_apply_conflicts_with_an_update_manager(k8s_cluster):
    raw_request(k8s_cluster, "POST", DEPLOY + "?fieldManager=kubectl-client-side-apply", deployment("upd"))
    applied = deployment("upd")
    applied["spec"]["replicas"] = 3
    status, err, _unused = patch(k8s_cluster, DEPLOY + "/upd", json.dumps(applied).encode(), "application/apply-patch+yaml",
                                 "?fieldManager=ops")
    assert status == 409
    assert err["message"] == 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas'
    applied["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"
    status, err, _unused = patch(k8s_cluster, DEPLOY + "/upd", json.dumps(applied).encode(), "application/apply-patch+yaml",
                                 "?fieldManager=ops")
    assert status == 409 and err["message"] == (
        'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:\n'
        '- .spec.replicas\n- .spec.template.spec.containers[name="web"].image')


def test_server_side_apply_rejects_unknown_fields_and_needs_a_manager(k8s_cluster):
    policy = cnp("unk")
    policy["spec"]["bogus"] = True
    status, err, _unused = patch(k8s_cluster, CNP + "/unk", json.dumps(policy).encode(), "application/apply-patch+yaml", "?fieldManager=x")
    assert status == 400 and err["message"].endswith(".spec.bogus: field not declared in schema")
    status, err, _unused = patch(k8s_cluster, CNP + "/unk", json.dumps(cnp("unk")).encode(), "application/apply-patch+yaml")
    assert status == 400 and "fieldManager" in err["message"]


def test_typed_client_patches_use_strategic_merge(kube):
    apps = client.AppsV1Api(kube)
    apps.create_namespaced_deployment("default", deployment("typed"))
    patched = apps.patch_namespaced_deployment("typed", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "side", "image": "busybox:1.37"}]}}}})
    assert [(c.name, c.image) for c in patched.spec.template.spec.containers] == [("web", "nginx:1.25"), ("side", "busybox:1.37")]
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment("typed", "default", [{"op": "replace", "path": "/spec/nope/x", "value": 1}])
    assert err.value.status == 422


def test_clients_may_rewrite_managed_fields(k8s_cluster):
    raw_request(k8s_cluster, "POST", DEPLOY + "?fieldManager=creator", deployment("mf"))
    status, obj, _unused = patch(k8s_cluster, DEPLOY + "/mf", {"metadata": {"managedFields": [{}]}}, "application/merge-patch+json")
    assert status == 200 and "managedFields" not in obj["metadata"]
    status, obj, _unused = patch(k8s_cluster, DEPLOY + "/mf", {"spec": {"replicas": 2}}, "application/merge-patch+json",
                                 "?fieldManager=scaler")
    # the Deployment controller may have written in between (its own entries); the client's rewrite
    # removed "creator", and the next patch records "scaler" as owner of what it set
    entries = {m["manager"]: m for m in obj["metadata"]["managedFields"]}
    assert "creator" not in entries
    assert list(entries["scaler"]["fieldsV1"]["f:spec"]) == ["f:replicas"]
