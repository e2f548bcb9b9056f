"""networkSecurityGroups (tests/emulator/arm/nsg.py) through the real Network SDK: rules, defaults, refusals."""

import pytest

from .conftest import vnet_body

RULE = {"name": "deny-wireguard", "properties": {
    "protocol": "Udp", "sourcePortRange": "*", "destinationPortRange": "51871", "sourceAddressPrefix": "VirtualNetwork",
    "destinationAddressPrefix": "*", "access": "Deny", "priority": 200, "direction": "Inbound"}}


def test_an_nsg_keeps_its_rules_beside_azures_defaults_and_a_subnet_points_at_it(sdk, group):
    nsg = sdk.network.network_security_groups.begin_create_or_update(
        group, "nodes-nsg", {"location": "westeurope", "properties": {"securityRules": [RULE]}}).result()
    assert [(r.name, r.priority, r.access, r.destination_port_range) for r in nsg.security_rules] == [
        ("deny-wireguard", 200, "Deny", "51871")]
    assert [(r.name, r.priority) for r in nsg.default_security_rules if r.direction == "Inbound"] == [
        ("AllowVnetInBound", 65000), ("AllowAzureLoadBalancerInBound", 65001), ("DenyAllInBound", 65500)]
    body = vnet_body(("nodes", "10.10.0.0/24"))
    body["properties"]["subnets"][0]["properties"]["networkSecurityGroup"] = {"id": nsg.id}
    vnet = sdk.network.virtual_networks.begin_create_or_update(group, "vnet", body).result()
    assert vnet.subnets[0].network_security_group.id == nsg.id
    assert sdk.network.network_security_groups.get(group, "nodes-nsg").security_rules[0].protocol == "Udp"
    sdk.network.virtual_networks.begin_delete(group, "vnet").result()
    sdk.network.network_security_groups.begin_delete(group, "nodes-nsg").result()
    assert "nodes-nsg" not in [n.name for n in sdk.network.network_security_groups.list(group)]


@pytest.mark.parametrize("change, code", [({"priority": 50}, "SecurityRuleInvalidPriority"),
                                          ({"access": "Maybe"}, "InvalidRequestFormat")])
def test_bad_rules_are_refused(sdk, group, change, code):
    from azure.core.exceptions import HttpResponseError  # pylint: disable=import-outside-toplevel
    rule = {"name": "bad", "properties": dict(RULE["properties"], **change)}
    with pytest.raises(HttpResponseError) as caught:
        sdk.network.network_security_groups.begin_create_or_update(
            group, "bad", {"location": "westeurope", "properties": {"securityRules": [rule]}}).result()
    assert caught.value.error.code == code


def test_two_rules_may_not_share_a_priority(sdk, group):
    from azure.core.exceptions import HttpResponseError  # pylint: disable=import-outside-toplevel
    with pytest.raises(HttpResponseError) as caught:
        sdk.network.network_security_groups.begin_create_or_update(group, "dup", {"location": "westeurope", "properties": {
            "securityRules": [RULE, dict(RULE, name="again")]}}).result()
    assert caught.value.error.code == "SecurityRuleConflict"
