"""ACNS on managedClusters (tests/emulator/arm/acns.py): AKS's defaults, canonical spellings, backfill, off again.

The refusals themselves are in test_arm_rules.py's CASES, like every other rule.
"""

import pytest

from .conftest import cluster_body, unique

OVERLAY = {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium", "networkPolicy": "cilium"}


def put(raw, group, name, body):
    url = "%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/%s" \
          "?api-version=2026-08-01" % (raw.base, raw.sub, group, name)
    reply = raw.put(url, json=body)
    assert reply.status_code in (200, 201), reply.text
    return reply.json()


@pytest.fixture
def arm(raw, sdk, group):
    raw.sub = sdk.subscription_id
    return lambda name, body: put(raw, group, name, body)


def advanced(body):
    return body["properties"]["networkProfile"].get("advancedNetworking")


def test_enabled_alone_turns_on_observability_and_security_with_fqdn(arm):
    stored = advanced(arm(unique("acns"), cluster_body(dict(OVERLAY, advancedNetworking={"enabled": True}))))
    assert stored == {"enabled": True, "observability": {"enabled": True},
                      "security": {"enabled": True, "advancedNetworkPolicies": "FQDN"}}


def test_azure_dataplane_gets_observability_only(arm):
    network = {"networkPlugin": "azure", "networkPluginMode": "overlay", "advancedNetworking": {"enabled": True}}
    stored = advanced(arm(unique("acns"), cluster_body(network)))
    assert stored["observability"] == {"enabled": True} and stored["security"] == {"enabled": False}


def test_values_are_stored_in_their_canonical_spelling(arm):
    body = cluster_body(dict(OVERLAY, advancedNetworking={
        "enabled": True, "security": {"enabled": True, "advancedNetworkPolicies": "l7",
                                      "transitEncryption": {"type": "wireguard"}},
        "performance": {"accelerationMode": "None"}}),
        azureMonitorProfile={"containerInsights": {"enabled": True, "containerNetworkLogs": "enabled"}})
    stored = arm(unique("acns"), body)
    security = advanced(stored)["security"]
    assert (security["advancedNetworkPolicies"], security["transitEncryption"]["type"]) == ("L7", "WireGuard")
    assert stored["properties"]["azureMonitorProfile"]["containerInsights"]["containerNetworkLogs"] == "Enabled"


def test_a_put_without_the_profiles_keeps_them_and_explicit_values_turn_features_off(arm):
    name = unique("acns")
    on = cluster_body(dict(OVERLAY, advancedNetworking={
        "enabled": True, "security": {"enabled": True, "advancedNetworkPolicies": "L7", "transitEncryption": {"type": "WireGuard"}}}),
        azureMonitorProfile={"containerInsights": {"enabled": True, "containerNetworkLogs": "Enabled"}})
    first = arm(name, on)
    again = arm(name, cluster_body(dict(OVERLAY)))  # neither profile in the PUT: AKS backfills both
    assert advanced(again) == advanced(first)
    assert again["properties"]["azureMonitorProfile"] == first["properties"]["azureMonitorProfile"]
    off = cluster_body(dict(OVERLAY, advancedNetworking={
        "enabled": True, "observability": {"enabled": True},
        "security": {"enabled": True, "advancedNetworkPolicies": "FQDN", "transitEncryption": {"type": "None"}}}),
        azureMonitorProfile={"containerInsights": {"enabled": True, "containerNetworkLogs": "Disabled"}})
    stored = arm(name, off)
    assert advanced(stored)["security"] == {"enabled": True, "advancedNetworkPolicies": "FQDN",
                                            "transitEncryption": {"type": "None"}}
    assert stored["properties"]["azureMonitorProfile"]["containerInsights"]["containerNetworkLogs"] == "Disabled"
    disabled = arm(name, cluster_body(dict(OVERLAY, advancedNetworking={
        "enabled": False, "observability": {"enabled": False}, "security": {"enabled": False}})))
    assert advanced(disabled) == {"enabled": False, "observability": {"enabled": False}, "security": {"enabled": False}}


def test_bpfveth_on_a_supported_node_image(arm):
    network = dict(OVERLAY, advancedNetworking={"enabled": True, "performance": {"accelerationMode": "BpfVeth"}})
    pools = [{"name": "system", "count": 3, "mode": "System", "osType": "Linux", "osSKU": "AzureLinux"}]
    stored = arm(unique("bpf"), cluster_body(network, pools))
    assert advanced(stored)["performance"] == {"accelerationMode": "BpfVeth"}


def test_the_cluster_follows_what_arm_stored(emulator, arm):
    network = dict(OVERLAY, advancedNetworking={"enabled": True, "security": {
        "enabled": True, "advancedNetworkPolicies": "L7", "transitEncryption": {"type": "WireGuard"}}})
    stored = arm(unique("kube"), cluster_body(network))
    emulator.arm.finish_operations()
    handle = emulator.arm.kube.handles[stored["id"].lower()]
    assert handle.info.acns == {"enabled": True, "observability": True, "security": True, "network_policies": "L7",
                                "transit_encryption": "WireGuard", "acceleration": "None", "flow_logs": False}
    config = handle.store.get("/configmaps", "kube-system", "cilium-config")["data"]
    assert (config["external-envoy-proxy"], config["enable-wireguard"], config["enable-hubble"]) == ("true", "true", "true")


def test_nodes_of_a_pool_with_localdns_required_carry_its_label(emulator, arm):
    pools = [{"name": "system", "count": 2, "mode": "System", "osType": "Linux", "localDNSProfile": {"mode": "Required"}},
             {"name": "user", "count": 1, "mode": "User", "osType": "Linux"}]
    stored = arm(unique("ldns"), cluster_body(dict(OVERLAY), pools))
    emulator.arm.finish_operations()
    handle = emulator.arm.kube.handles[stored["id"].lower()]
    states = {n["metadata"]["labels"]["agentpool"] + "/" + n["metadata"]["labels"]["kubernetes.azure.com/localdns-state"]
              for n in handle.store.objects("/nodes")}
    assert states == {"system/enabled", "user/disabled"}
