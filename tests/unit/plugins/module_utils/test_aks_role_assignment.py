# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Network Contributor assignments of a cluster's identity on its subnets: lookup, creation, failures."""

from __future__ import annotations

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._aks import role_assignment
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureError

SUB = "/subscriptions/0000"
VNET = SUB + "/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet"
NODES, PODS = VNET + "/subnets/nodes", VNET + "/subnets/pods"
NC_ID = SUB + "/providers/Microsoft.Authorization/roleDefinitions/" + role_assignment.NETWORK_CONTRIBUTOR
PRINCIPAL = "11111111-2222-3333-4444-555555555555"


class Failed(Exception):
    pass


def assignment(scope, principal=PRINCIPAL, role=NC_ID):
    return {"properties": {"scope": scope, "principalId": principal, "roleDefinitionId": role}}


class FakeAz(object):
    """The AzureModule surface SubnetAccess uses; ``listed`` maps a scope to what ARM lists there."""

    def __init__(self, listed=None, put_error=None, identity=None, check_mode=False):
        self.listed, self.put_error, self.identity, self.check_mode = listed or {}, put_error, identity, check_mode
        self.log, self.warnings = [], []
        api = type("Api", (), {})()
        api.role_assignments = type("RA", (), {"list_for_scope": self._list, "create": self._create})()
        api.user_assigned_identities = type("UAI", (), {"get_by_id": staticmethod(lambda identity_id: self.identity)})()
        self.api = api

    def client(self, kind):
        assert kind == "resources"
        return self.api

    def _list(self, scope, query=None):
        self.log.append(("GET", scope, query["$filter"]))
        return self.listed.get(scope, [])

    def _create(self, scope, name, body=None):
        self.log.append(("PUT", scope, name, body))
        if self.put_error:
            raise self.put_error

    def list(self, operation, *args, **kwargs):
        return operation(*args, **kwargs)

    def get(self, operation, *args):
        return operation(*args)

    def call(self, operation, *args, **kwargs):
        return operation(*args, **kwargs)

    def warn(self, msg):
        self.warnings.append(msg)

    def fail_json(self, **kwargs):
        raise Failed(kwargs)


def cluster(principal=None, user_assigned=None):
    body = {"properties": {"agentPoolProfiles": [{"name": "a", "vnetSubnetID": NODES, "podSubnetID": PODS},
                                                 {"name": "b", "vnetSubnetID": NODES.upper(), "podSubnetID": PODS}]}}
    if principal:
        body["identity"] = {"type": "SystemAssigned", "principalId": principal}
    if user_assigned:
        body["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {user_assigned: {"principalId": PRINCIPAL}}}
    return body


def writes(az):
    return [entry for entry in az.log if entry[0] == "PUT"]


def test_subnets_of_every_pool_once_in_order():
    assert role_assignment.cluster_subnets(cluster()) == [NODES, PODS]
    assert role_assignment.cluster_subnets({"properties": {"agentPoolProfiles": [{"name": "a"}]}}) == []


def test_principal_of_system_and_user_assigned_identities():
    assert role_assignment.cluster_principal(cluster(principal="p1")) == "p1"
    assert role_assignment.cluster_principal(cluster(user_assigned="/x/uami")) == PRINCIPAL
    assert role_assignment.cluster_principal(cluster()) is None


def test_present_at_the_subnet_or_inherited_from_above_needs_no_write():
    az = FakeAz({NODES: [assignment(NODES)], PODS: [assignment(VNET)]})
    grant = role_assignment.SubnetGrant.plan(az, {}, cluster(principal=PRINCIPAL), cluster())
    assert grant.missing == [] and not grant.run()
    assert writes(az) == []
    assert [entry[2] for entry in az.log] == ["atScope() and assignedTo('%s')" % PRINCIPAL] * 2
    assert [item["state"] for item in grant.report("created")] == ["present", "present"]


@pytest.mark.parametrize("listed", [
    [assignment(NODES, principal="someone-else")],
    [assignment(NODES, role=SUB + "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7")],
    [assignment(VNET + "/subnets/other")],  # a sibling's assignment does not cover this subnet
], ids=["other-principal", "other-role", "other-scope"])
def test_anything_else_does_not_count(listed):
    az = FakeAz({NODES: listed})
    grant = role_assignment.SubnetGrant.plan(az, {}, cluster(principal=PRINCIPAL), cluster())
    assert grant.missing == [NODES, PODS]


def test_missing_ones_are_created_under_a_stable_name_with_the_principal_type():
    az = FakeAz({NODES: [assignment(NODES)]})
    grant = role_assignment.SubnetGrant.plan(az, {}, cluster(principal=PRINCIPAL), cluster())
    assert grant.diff() == {PODS: {"role": "Network Contributor", "principalId": PRINCIPAL}}
    assert grant.run() is True
    [(method, scope, name, body)] = writes(az)
    assert (method, scope, name) == ("PUT", PODS, role_assignment.assignment_name(PODS, PRINCIPAL))
    assert body == {"properties": {"roleDefinitionId": NC_ID, "principalId": PRINCIPAL, "principalType": "ServicePrincipal"}}
    assert role_assignment.assignment_name(PODS, PRINCIPAL) == role_assignment.assignment_name(PODS.upper(), PRINCIPAL)


def test_new_system_assigned_cluster_is_looked_up_and_granted_once_it_exists():
    az = FakeAz()
    grant = role_assignment.SubnetGrant.plan(az, {}, None, cluster())
    assert grant.principal is None and grant.missing == [NODES, PODS] and az.log == []
    assert "system-assigned identity of the new cluster" in grant.diff()[NODES]["principalId"]
    assert grant.run(cluster(principal=PRINCIPAL), changed=True)
    assert [entry[1] for entry in writes(az)] == [NODES, PODS]


def test_user_assigned_identity_is_read_for_its_principal():
    az = FakeAz(identity={"properties": {"principalId": PRINCIPAL}})
    params = {"identity": {"type": "UserAssigned", "user_assigned_identity": "/x/uami"}}
    assert role_assignment.SubnetGrant.plan(az, params, None, cluster()).principal == PRINCIPAL
    with pytest.raises(Failed) as failure:
        role_assignment.SubnetGrant.plan(FakeAz(), params, None, cluster())
    assert "does not exist" in failure.value.args[0]["msg"]
    checked = FakeAz(check_mode=True)
    assert role_assignment.SubnetGrant.plan(checked, params, None, cluster()).principal is None and checked.warnings


def test_skip_or_no_subnets_does_nothing():
    az = FakeAz()
    assert role_assignment.SubnetGrant.plan(az, {"skip_subnet_role_assignment": True}, None, cluster()).missing == []
    assert role_assignment.SubnetGrant.plan(az, {}, None, {"properties": {}}).report("planned") == []
    assert az.log == []


def test_forbidden_says_what_the_caller_must_be_granted_and_whether_anything_was_written():
    denied = AzureError("The client 'c' with object id 'o' does not have authorization to perform action "
                        "'Microsoft.Authorization/roleAssignments/write' over scope '%s'." % NODES,
                        code="AuthorizationFailed", status=403)
    grant = role_assignment.SubnetGrant.plan(FakeAz(put_error=denied), {}, cluster(principal=PRINCIPAL), cluster())
    with pytest.raises(Failed) as failure:
        grant.run(changed=True)
    result = failure.value.args[0]
    assert result["changed"] is True and result["error_code"] == "AuthorizationFailed"
    for needed in ("Microsoft.Authorization/roleAssignments/write", "Owner", "User Access Administrator",
                   "skip_subnet_role_assignment", NODES, PRINCIPAL):
        assert needed in result["msg"]


def test_an_existing_grant_under_another_name_is_what_was_wanted():
    exists = AzureError("The role assignment already exists.", code="RoleAssignmentExists", status=409)
    grant = role_assignment.SubnetGrant.plan(FakeAz(put_error=exists), {}, cluster(principal=PRINCIPAL), cluster())
    assert grant.run() is False


def test_a_pool_of_an_existing_cluster_gets_its_own_subnets():
    other_nodes, other_pods = VNET + "/subnets/nodes2", VNET + "/subnets/pods2"
    az = FakeAz({other_nodes: [assignment(other_nodes)]})
    pool = {"name": "user", "vnetSubnetID": other_nodes, "podSubnetID": other_pods}
    grant = role_assignment.plan_for_pool(az, cluster(principal=PRINCIPAL), pool)
    assert grant.missing == [other_pods] and grant.run()
    assert [entry[1] for entry in writes(az)] == [other_pods]
    assert role_assignment.plan_for_pool(FakeAz(), cluster(principal=PRINCIPAL), pool, skip=True).missing == []
