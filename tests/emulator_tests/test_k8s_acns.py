"""How kube-system follows ACNS (tests/emulator/k8s/acns.py): config keys, Envoy, Hubble Relay, WireGuard keys, CRD."""

import time

from kubernetes import client

from tests.emulator.k8s.acns import RESTART_ANNOTATION, WG_KEY_ANNOTATION
from tests.emulator_tests.k8s_fixtures import api_client_for, k8s_ca, k8s_factory  # noqa: F401  pylint: disable=unused-import

# pylint: disable=redefined-outer-name
FULL = {"observability": True, "security": True, "network_policies": "L7", "transit_encryption": "WireGuard",
        "acceleration": "BpfVeth", "flow_logs": True}


def until(check, timeout=20.0):
    """Poll check() until it returns a truthy value (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


class View:
    def __init__(self, cluster, tmp_path):
        api = api_client_for(cluster, tmp_path)
        self.core, self.apps = client.CoreV1Api(api), client.AppsV1Api(api)
        self.custom, self.ext = client.CustomObjectsApi(api), client.ApiextensionsV1Api(api)

    def config(self):
        return self.core.read_namespaced_config_map("cilium-config", "kube-system").data

    def names(self, kind):
        lister = {"ds": self.apps.list_namespaced_daemon_set, "deploy": self.apps.list_namespaced_deployment,
                  "svc": self.core.list_namespaced_service}[kind]
        return {item.metadata.name for item in lister("kube-system").items}

    def keys(self):
        nodes = self.custom.list_cluster_custom_object("cilium.io", "v2", "ciliumnodes")["items"]
        return {n["metadata"]["name"]: (n["metadata"].get("annotations") or {}).get(WG_KEY_ANNOTATION) for n in nodes}

    def crds(self):
        return {c.metadata.name for c in self.ext.list_custom_resource_definition().items}


def test_everything_on_at_create(k8s_factory, tmp_path):
    view = View(k8s_factory(acns=FULL), tmp_path)
    config = view.config()
    assert {k: config[k] for k in ("enable-l7-proxy", "external-envoy-proxy", "enable-hubble", "enable-wireguard",
                                   "enable-host-legacy-routing", "enable-bpf-masquerade", "enable-standalone-dns-proxy")} == {
        "enable-l7-proxy": "true", "external-envoy-proxy": "true", "enable-hubble": "true", "enable-wireguard": "true",
        "enable-host-legacy-routing": "false", "enable-bpf-masquerade": "true", "enable-standalone-dns-proxy": "true"}
    envoy = view.apps.read_namespaced_daemon_set("cilium-envoy", "kube-system")
    assert envoy.status.number_ready == envoy.status.desired_number_scheduled == 3
    assert view.apps.read_namespaced_deployment("hubble-relay", "kube-system").status.ready_replicas == 1
    assert view.core.read_namespaced_service("hubble-relay", "kube-system").spec.ports[0].port == 443
    keys = view.keys()
    assert len(keys) == 3 and all(keys.values()) and len(set(keys.values())) == 3
    assert "containernetworklogs.acn.azure.com" in view.crds()


def test_fqdn_mode_runs_the_dns_proxy_but_no_envoy(k8s_factory, tmp_path):
    view = View(k8s_factory(acns={"observability": False, "security": True, "network_policies": "FQDN"}), tmp_path)
    config = view.config()
    assert (config["enable-l7-proxy"], config["external-envoy-proxy"], config["enable-standalone-dns-proxy"]) == (
        "true", "false", "true")
    assert "cilium-envoy" not in view.names("ds") and "hubble-relay" not in view.names("deploy")
    assert "enable-wireguard" not in config and config["enable-host-legacy-routing"] == "true"


def test_wireguard_rolls_the_agents_and_keys_follow_the_new_agents(k8s_factory, tmp_path):
    cluster = k8s_factory(pod_ready_delay=0.3)
    view = View(cluster, tmp_path)
    before = view.apps.read_namespaced_daemon_set("cilium", "kube-system")
    assert not any(view.keys().values())
    cluster.stall("k8s-app=cilium")  # the new agents do not come up until released
    cluster.update(acns={"security": True, "network_policies": "FQDN", "transit_encryption": "WireGuard"})
    after = view.apps.read_namespaced_daemon_set("cilium", "kube-system")
    assert after.metadata.generation == before.metadata.generation + 1
    assert after.spec.template.metadata.annotations[RESTART_ANNOTATION] != before.spec.template.metadata.annotations[
        RESTART_ANNOTATION]
    assert until(lambda: len(view.core.list_namespaced_pod("kube-system", label_selector="k8s-app=cilium").items) >= 3)
    cluster.wait_idle()
    assert not any(view.keys().values())  # an agent still running the old config publishes no key
    cluster.stall("k8s-app=cilium", stalled=False)
    assert until(lambda: all(view.keys().values())), view.keys()
    ds = view.apps.read_namespaced_daemon_set("cilium", "kube-system")
    assert ds.status.updated_number_scheduled == ds.status.desired_number_scheduled == 3
    cluster.update(acns={"security": True, "network_policies": "FQDN", "transit_encryption": "None"})
    assert "enable-wireguard" not in view.config()
    assert until(lambda: not any(view.keys().values())), view.keys()


def test_other_changes_do_not_restart_the_agents(k8s_factory, tmp_path):
    cluster = k8s_factory()
    view = View(cluster, tmp_path)
    generation = view.apps.read_namespaced_daemon_set("cilium", "kube-system").metadata.generation
    cluster.update(acns={"observability": True, "security": True, "network_policies": "L7", "flow_logs": True})
    assert view.apps.read_namespaced_daemon_set("cilium", "kube-system").metadata.generation == generation


def test_turning_features_off_removes_what_they_added(k8s_factory, tmp_path):
    cluster = k8s_factory(acns=FULL)
    view = View(cluster, tmp_path)
    view.custom.create_cluster_custom_object("acn.azure.com", "v1alpha1", "containernetworklogs", {
        "apiVersion": "acn.azure.com/v1alpha1", "kind": "ContainerNetworkLog", "metadata": {"name": "all"},
        "spec": {"includefilters": [{"name": "drops", "verdict": ["dropped"], "protocol": ["tcp", "dns"]}]}})
    cluster.update(acns={"observability": False, "security": False})
    config = view.config()
    assert (config["enable-l7-proxy"], config["enable-hubble"], config["external-envoy-proxy"],
            config["enable-host-legacy-routing"]) == ("false", "false", "false", "true")
    assert not [k for k in config if k.startswith("hubble-")]
    assert not {"enable-wireguard", "enable-bpf-masquerade", "enable-standalone-dns-proxy"} & set(config)
    assert "cilium-envoy" not in view.names("ds") and "hubble-relay" not in view.names("deploy") | view.names("svc")
    assert "containernetworklogs.acn.azure.com" not in view.crds()
    assert until(lambda: not any(view.keys().values()))


def test_the_flow_log_crd_validates_its_objects(k8s_factory, tmp_path):
    view = View(k8s_factory(acns={"observability": True, "flow_logs": True}), tmp_path)
    try:
        view.custom.create_cluster_custom_object("acn.azure.com", "v1alpha1", "containernetworklogs", {
            "apiVersion": "acn.azure.com/v1alpha1", "kind": "ContainerNetworkLog", "metadata": {"name": "bad"},
            "spec": {"includefilters": [{"name": "x", "protocol": ["icmp"]}]}})
    except client.ApiException as error:
        assert error.status == 422 and "icmp" in error.body
    else:
        raise AssertionError("an unknown protocol was accepted")
