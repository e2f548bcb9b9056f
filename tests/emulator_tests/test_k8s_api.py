"""The emulated apiserver through the unmodified `kubernetes` client: discovery, CRUD, concurrency, errors."""

import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

from tests.emulator_tests.k8s_fixtures import k8s_ca, k8s_cluster, k8s_factory, kube, raw_request  # noqa: F401  pylint: disable=unused-import

# pylint: disable=redefined-outer-name


def status_of(exc):
    return json.loads(exc.body)


def test_requests_without_a_valid_token_get_401(k8s_cluster):
    status, body, _unused = raw_request(k8s_cluster, "GET", "/api/v1/namespaces", token=False)
    assert status == 401 and body["kind"] == "Status" and body["reason"] == "Unauthorized"
    status, _unused, _unused = raw_request(k8s_cluster, "GET", "/api/v1/namespaces", token="not-a-token")
    assert status == 401
    assert raw_request(k8s_cluster, "GET", "/api/v1/namespaces", token=k8s_cluster.user_token)[0] == 200


def test_discovery_describes_builtin_and_cilium_resources(kube):
    assert client.VersionApi(kube).get_code().git_version == "v1.33.2"
    groups = {g.name: g for g in client.ApisApi(kube).get_api_versions().groups}
    assert {"apps", "apiextensions.k8s.io", "cilium.io"} <= set(groups)
    assert groups["cilium.io"].preferred_version.group_version == "cilium.io/v2"
    core = {r.name: r for r in client.CoreV1Api(kube).get_api_resources().resources}
    assert core["pods"].short_names == ["po"] and core["pods"].namespaced and "all" in core["pods"].categories
    assert core["nodes"].namespaced is False and "watch" in core["nodes"].verbs
    assert "pods/status" in core
    cilium = {r.name: r for r in client.CustomObjectsApi(kube).get_api_resources("cilium.io", "v2").resources}
    assert cilium["ciliumnetworkpolicies"].short_names == ["cnp", "ciliumnp"] and cilium["ciliumnetworkpolicies"].namespaced
    assert cilium["ciliumclusterwidenetworkpolicies"].short_names == ["ccnp"]
    assert cilium["ciliumclusterwidenetworkpolicies"].namespaced is False
    assert cilium["ciliumnodes"].namespaced is False and cilium["ciliumendpoints"].short_names == ["cep", "ciliumep"]


def test_dynamic_client_discovers_and_serves_custom_resources(kube):
    dyn = DynamicClient(kube)
    cnp = dyn.resources.get(api_version="cilium.io/v2", kind="CiliumNetworkPolicy")
    body = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "p1", "namespace": "default"},
            "spec": {"endpointSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"fromEntities": ["cluster"]}]}}
    created = cnp.create(body=body)
    assert created.metadata.generation == 1 and created.metadata.uid
    listed = cnp.get(namespace="default")
    assert [i.metadata.name for i in listed.items] == ["p1"] and listed.items[0].kind == "CiliumNetworkPolicy"
    ds = dyn.resources.get(api_version="apps/v1", kind="DaemonSet").get(name="cilium", namespace="kube-system")
    assert ds.spec.selector.matchLabels["k8s-app"] == "cilium"


def test_label_selectors_equality_and_set_based(kube):
    core = client.CoreV1Api(kube)

    def owners(selector):
        pods = core.list_namespaced_pod("kube-system", label_selector=selector).items
        return sorted(p.metadata.generate_name.rsplit("-", 2)[0] for p in pods)

    assert owners("k8s-app=cilium") == ["cilium"] * 3
    assert owners("k8s-app in (cilium, kube-dns)") == ["cilium"] * 3 + ["coredns"] * 2
    assert owners("k8s-app notin (cilium),!name") == (  # notin also matches pods without the key
        ["cloud-node"] * 3 + ["coredns"] * 2 + ["csi-azuredisk"] * 3 + ["csi-azurefile"] * 3 + ["konnectivity-agent"] * 2
        + ["metrics-server"] * 2)
    assert owners("io.cilium/app,name==cilium-operator") == ["cilium-operator"] * 2
    assert owners("k8s-app!=cilium,k8s-app") == ["cloud-node"] * 3 + ["coredns"] * 2 + ["metrics-server"] * 2
    with pytest.raises(ApiException) as err:
        core.list_namespaced_pod("kube-system", label_selector="k8s-app in cilium")
    assert err.value.status == 400


def test_field_selectors_for_pods_and_unknown_fields(kube):
    core = client.CoreV1Api(kube)
    node = core.list_node().items[0].metadata.name
    on_node = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=%s" % node).items
    assert on_node and all(p.spec.node_name == node for p in on_node)
    assert [p.metadata.name for p in core.list_namespaced_pod("kube-system", field_selector="metadata.name=%s"
                                                              % on_node[0].metadata.name).items] == [on_node[0].metadata.name]
    assert core.list_pod_for_all_namespaces(field_selector="metadata.namespace!=kube-system").items == []
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map("kube-system", field_selector="spec.nodeName=x")
    assert err.value.status == 400 and '"spec.nodeName" is not a known field selector' in status_of(err.value)["message"]


def test_pagination_with_limit_and_continue(kube, k8s_cluster):
    core = client.CoreV1Api(kube)
    for i in range(7):
        core.create_namespaced_config_map("default", {"metadata": {"name": "cm-%d" % i}})
    first = core.list_namespaced_config_map("default", limit=3)
    assert len(first.items) == 3 and first.metadata._continue and first.metadata.remaining_item_count == 5
    seen = [i.metadata.name for i in first.items]
    token = first.metadata._continue
    while token:
        page = core.list_namespaced_config_map("default", limit=3, _continue=token)
        assert page.metadata.resource_version == first.metadata.resource_version
        seen += [i.metadata.name for i in page.items]
        token = page.metadata._continue
    assert seen == sorted(["cm-%d" % i for i in range(7)] + ["kube-root-ca.crt"])
    status, body, _unused = raw_request(k8s_cluster, "GET", "/api/v1/configmaps?limit=2&continue=garbage")
    assert status == 400 and body["message"].startswith("continue key is not valid")


def test_stale_resource_version_is_a_conflict_with_the_apiservers_message(kube):
    core = client.CoreV1Api(kube)
    cm = core.create_namespaced_config_map("default", {"metadata": {"name": "cfg"}, "data": {"a": "1"}})
    cm.data["a"] = "2"
    updated = core.replace_namespaced_config_map("cfg", "default", cm)
    assert int(updated.metadata.resource_version) > int(cm.metadata.resource_version)
    cm.data["a"] = "3"
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("cfg", "default", cm)
    body = status_of(err.value)
    assert err.value.status == 409 and body["reason"] == "Conflict"
    assert body["message"] == ('Operation cannot be fulfilled on configmaps "cfg": the object has been modified; '
                               'please apply your changes to the latest version and try again')
    assert body["details"] == {"name": "cfg", "kind": "configmaps"}


def test_not_found_and_already_exists_statuses(kube):
    apps = client.AppsV1Api(kube)
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("nope", "kube-system")
    body = status_of(err.value)
    assert err.value.status == 404 and body["message"] == 'deployments.apps "nope" not found'
    assert body["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(kube).create_namespace({"metadata": {"name": "kube-system"}})
    assert err.value.status == 409 and status_of(err.value)["reason"] == "AlreadyExists"
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(kube).create_namespaced_config_map("missing-ns", {"metadata": {"name": "x"}})
    assert err.value.status == 404 and status_of(err.value)["message"] == 'namespaces "missing-ns" not found'


def test_generation_bumps_on_spec_changes_only(kube, k8s_cluster):
    apps = client.AppsV1Api(kube)
    before = apps.read_namespaced_deployment("coredns", "kube-system")
    labelled = apps.patch_namespaced_deployment("coredns", "kube-system", {"metadata": {"labels": {"team": "dns"}}})
    assert labelled.metadata.generation == before.metadata.generation
    scaled = apps.patch_namespaced_deployment("coredns", "kube-system", {"spec": {"replicas": 3}})
    assert scaled.metadata.generation == before.metadata.generation + 1
    assert k8s_cluster.wait_idle()
    settled = apps.read_namespaced_deployment("coredns", "kube-system")
    assert settled.metadata.generation == scaled.metadata.generation and settled.status.observed_generation == scaled.metadata.generation
    unchanged = apps.patch_namespaced_deployment("coredns", "kube-system", {"spec": {"replicas": 3}})
    assert unchanged.metadata.resource_version == settled.metadata.resource_version


def test_status_subresource_separates_spec_and_status(kube):
    co = client.CustomObjectsApi(kube)
    body = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "s1"},
            "spec": {"endpointSelector": {}, "egress": [{}]}, "status": {"conditions": [{"type": "Valid", "status": "False"}]}}
    created = co.create_namespaced_custom_object("cilium.io", "v2", "default", "ciliumnetworkpolicies", body)
    assert "status" not in created
    status = {"conditions": [{"type": "Valid", "status": "True", "message": "ok"}]}
    patched = co.patch_namespaced_custom_object_status("cilium.io", "v2", "default", "ciliumnetworkpolicies", "s1",
                                                       {"status": status, "spec": {"description": "ignored"}})
    assert patched["status"] == status and "description" not in patched["spec"]
    assert patched["metadata"]["generation"] == 1
    main = co.patch_namespaced_custom_object("cilium.io", "v2", "default", "ciliumnetworkpolicies", "s1",
                                             {"status": {"conditions": []}, "spec": {"description": "kept"}})
    assert main["status"] == status and main["spec"]["description"] == "kept" and main["metadata"]["generation"] == 2


def test_dry_run_all_never_persists(kube):
    core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
    made = core.create_namespaced_config_map("default", {"metadata": {"name": "dry"}}, dry_run="All")
    assert made.metadata.uid and made.metadata.name == "dry"
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("dry", "default")
    before = apps.read_namespaced_deployment("coredns", "kube-system")
    preview = apps.patch_namespaced_deployment("coredns", "kube-system", {"spec": {"replicas": 5}}, dry_run="All")
    assert preview.spec.replicas == 5 and preview.metadata.generation == before.metadata.generation + 1
    after = apps.read_namespaced_deployment("coredns", "kube-system")
    assert after.spec.replicas == 2 and after.metadata.resource_version == before.metadata.resource_version
    apps.delete_namespaced_deployment("coredns", "kube-system", dry_run="All")
    assert apps.read_namespaced_deployment("coredns", "kube-system").metadata.uid == before.metadata.uid
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("default", {"metadata": {"name": "Bad_Name"}}, dry_run="All")
    assert err.value.status == 422


def test_invalid_builtin_objects_get_422_with_field_paths(kube):
    apps = client.AppsV1Api(kube)
    deploy = {"metadata": {"name": "bad"}, "spec": {"selector": {"matchLabels": {"app": "a"}},
                                                    "template": {"metadata": {"labels": {"app": "b"}},
                                                                 "spec": {"containers": [{"name": "c"}]}}}}
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment("default", deploy)
    body = status_of(err.value)
    assert err.value.status == 422 and body["reason"] == "Invalid"
    assert body["message"].startswith('Deployment.apps "bad" is invalid: [')
    fields = {c["field"]: c["reason"] for c in body["details"]["causes"]}
    assert fields == {"spec.template.metadata.labels": "FieldValueInvalid",
                      "spec.template.spec.containers[0].image": "FieldValueRequired"}


def test_delete_collection_finalizers_and_namespace_deletion(kube, k8s_cluster):
    core = client.CoreV1Api(kube)
    core.create_namespace({"metadata": {"name": "team"}})
    for i in range(3):
        core.create_namespaced_config_map("team", {"metadata": {"name": "c%d" % i, "labels": {"drop": str(i % 2)}}})
    core.delete_collection_namespaced_config_map("team", label_selector="drop=1")
    assert k8s_cluster.wait_idle()  # the root-CA publisher adds kube-root-ca.crt to the new namespace in the background
    assert sorted(c.metadata.name for c in core.list_namespaced_config_map("team").items) == ["c0", "c2", "kube-root-ca.crt"]
    core.patch_namespaced_config_map("c0", "team", {"metadata": {"finalizers": ["example.com/hold"]}})
    core.delete_namespaced_config_map("c0", "team")
    held = core.read_namespaced_config_map("c0", "team")
    assert held.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("c0", "team", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("c0", "team")
    core.delete_namespace("team")
    assert k8s_cluster.wait_idle()
    with pytest.raises(ApiException) as err:
        core.read_namespace("team")
    assert err.value.status == 404
    assert k8s_cluster.store.count("/configmaps") == len(list(k8s_cluster.store.objects("/configmaps")))
    assert not list(k8s_cluster.store.objects("/configmaps", "team"))


def test_deleting_a_deployment_collects_its_replicasets_and_pods(kube, k8s_cluster):
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    apps.delete_namespaced_deployment("cilium-operator", "kube-system")
    assert k8s_cluster.wait_idle()
    assert not apps.list_namespaced_replica_set("kube-system", label_selector="name=cilium-operator").items
    assert not core.list_namespaced_pod("kube-system", label_selector="name=cilium-operator").items


def test_scale_subresource(kube):
    apps = client.AppsV1Api(kube)
    scale = apps.read_namespaced_deployment_scale("coredns", "kube-system")
    assert scale.spec.replicas == 2 and scale.status.selector == "k8s-app=kube-dns"
    apps.patch_namespaced_deployment_scale("coredns", "kube-system", {"spec": {"replicas": 4}})
    assert apps.read_namespaced_deployment("coredns", "kube-system").spec.replicas == 4
