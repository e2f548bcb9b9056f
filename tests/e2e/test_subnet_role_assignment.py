# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""aks_cilium_cluster on a custom VNet gives the cluster's identity Network Contributor on its subnets, as
`az aks create` does: judged by the role assignments the lab stores and the requests it logged."""

from __future__ import annotations

import time

import requests

from tests.e2e.test_aks_cluster import (LOCATION, kinds, make_cluster, overlay_args, playbook, run_logged, task, unique,
                                        vnet_args, vnet_task)
from tests.emulator.arm import authorization, roles

NC = roles.NETWORK_CONTRIBUTOR


def subnet_ids(emulator, group):
    vnet = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/virtualNetworks/vnet" % (
        emulator.env["AZURE_SUBSCRIPTION_ID"], group)
    return vnet + "/subnets/nodes", vnet + "/subnets/pods"


def network_contributors(emulator, scope):
    """[principal ID] of the Network Contributor assignments stored at exactly `scope`."""
    return [a["properties"]["principalId"] for a in authorization.assignments_at(emulator.arm, scope)
            if a["properties"]["roleDefinitionId"].lower().endswith(NC)]


def principal_of(emulator, group, name):
    return emulator.arm.cluster(group, name)["identity"]["principalId"]


def role_writes(sent):
    return [e for e in sent if "/roleassignments/" in e["path"].lower()]


def test_vnet_cluster_gets_network_contributor_on_node_and_pod_subnet_and_rerun_writes_nothing(emulator, ansible):
    group, name = unique("e2e-ra"), unique("vn")
    text = playbook(vnet_task(group), task("aks_cilium_cluster", vnet_args(group, name), name="cluster"))
    first, sent = run_logged(emulator, ansible, text)
    assert first.rc == 0, first.stdout
    result = first.task("cluster")
    assert result["changed"] and result["operations"] == ["create", "subnet-role-assignment"]
    # the cluster first (its system-assigned identity exists once it does), then the two assignments
    assert kinds(sent) == ["PUT resourcegroups", "PUT virtualnetworks", "PUT managedclusters", "PUT roleassignments",
                           "PUT roleassignments"]
    principal = principal_of(emulator, group, name)
    nodes, pods = subnet_ids(emulator, group)
    assert network_contributors(emulator, nodes) == [principal]
    assert network_contributors(emulator, pods) == [principal]
    for write in role_writes(sent):
        assert write["body"]["properties"]["principalType"] == "ServicePrincipal"
    assert [(a["scope"].lower(), a["state"]) for a in result["subnet_role_assignments"]] == [
        (nodes.lower(), "created"), (pods.lower(), "created")]

    second, sent = run_logged(emulator, ansible, text)
    assert second.rc == 0, second.stdout
    assert second.changed_tasks == [] and sent == []
    assert [a["state"] for a in second.task("cluster")["subnet_role_assignments"]] == ["present", "present"]


def test_skip_subnet_role_assignment_creates_none(emulator, ansible):
    group, name = unique("e2e-ra"), unique("sk")
    text = playbook(vnet_task(group), task("aks_cilium_cluster", vnet_args(group, name, skip_subnet_role_assignment=True),
                                           name="cluster"))
    done, sent = run_logged(emulator, ansible, text)
    assert done.rc == 0, done.stdout
    assert done.task("cluster")["operations"] == ["create"] and role_writes(sent) == []
    assert [e for e in emulator.requests() if "roleassignments" in e["path"].lower() and group in e["path"]] == []
    for scope in subnet_ids(emulator, group):
        assert network_contributors(emulator, scope) == []


def test_check_mode_shows_the_assignments_and_writes_nothing(emulator, ansible):
    group, name = unique("e2e-ra"), unique("ck")
    network = playbook(vnet_task(group))
    assert ansible(network).rc == 0
    text = playbook(vnet_task(group), task("aks_cilium_cluster", vnet_args(group, name), name="cluster"))
    checked, sent = run_logged(emulator, ansible, text, check=True, diff=True)
    assert checked.rc == 0, checked.stdout
    assert sent == []
    result = checked.task("cluster")
    assert result["operations"] == ["create", "subnet-role-assignment"]
    nodes, pods = subnet_ids(emulator, group)
    planned = result["diff"]["after"]["subnetRoleAssignments"]
    assert sorted(k.lower() for k in planned) == sorted([nodes.lower(), pods.lower()])
    assert all(v["role"] == "Network Contributor" for v in planned.values())
    assert [a["state"] for a in result["subnet_role_assignments"]] == ["planned", "planned"]
    assert "+++ after" in checked.stdout and "subnetRoleAssignments" in checked.stdout


def test_existing_cluster_without_the_assignment_gets_it_and_only_it(emulator, ansible):
    group, name = unique("e2e-ra"), unique("ex")
    assert ansible(playbook(vnet_task(group))).rc == 0
    nodes, pods = subnet_ids(emulator, group)
    make_cluster(emulator, group, name, {"networkPlugin": "azure", "networkDataplane": "cilium", "networkPolicy": "cilium"},
                 pool={"vnetSubnetID": nodes, "podSubnetID": pods, "maxPods": 250})
    principal = principal_of(emulator, group, name)
    authorization.add_assignment(emulator.arm, nodes, NC, principal)  # one of the two is there already
    text = playbook(task("aks_cilium_cluster", vnet_args(group, name, system_pool=dict(
        name="system", count=3, max_pods=250, vnet_subnet_id=nodes, pod_subnet_id=pods)), name="cluster"))
    checked, sent = run_logged(emulator, ansible, text, check=True, diff=True)
    assert checked.rc == 0, checked.stdout
    assert sent == [] and checked.task("cluster")["changed"]
    assert list(checked.task("cluster")["diff"]["after"]["subnetRoleAssignments"]) == [pods]
    done, sent = run_logged(emulator, ansible, text)
    assert done.rc == 0, done.stdout
    assert kinds(sent) == ["PUT roleassignments"] and sent[0]["path"].lower().startswith(pods.lower())
    assert done.task("cluster")["operations"] == ["subnet-role-assignment"]
    assert network_contributors(emulator, pods) == [principal]


def test_rights_inherited_from_the_vnet_count_as_present(emulator, ansible):
    group, name = unique("e2e-ra"), unique("in")
    assert ansible(playbook(vnet_task(group))).rc == 0
    nodes, pods = subnet_ids(emulator, group)
    make_cluster(emulator, group, name, {"networkPlugin": "azure", "networkDataplane": "cilium", "networkPolicy": "cilium"},
                 pool={"vnetSubnetID": nodes, "podSubnetID": pods, "maxPods": 250})
    authorization.add_assignment(emulator.arm, nodes.rsplit("/subnets/", 1)[0], NC, principal_of(emulator, group, name))
    text = playbook(task("aks_cilium_cluster", vnet_args(group, name, system_pool=dict(
        name="system", count=3, max_pods=250, vnet_subnet_id=nodes, pod_subnet_id=pods)), name="cluster"))
    done, sent = run_logged(emulator, ansible, text)
    assert done.rc == 0, done.stdout
    assert sent == [] and not done.task("cluster")["changed"]


def test_user_assigned_identity_is_granted_before_the_cluster_is_created(emulator, ansible):
    group, name = unique("e2e-ra"), unique("ua")
    assert ansible(playbook(vnet_task(group))).rc == 0
    sub = emulator.env["AZURE_SUBSCRIPTION_ID"]
    identity_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami" % (
        sub, group)
    token = emulator.credential().get_token(emulator.client_kwargs()["credential_scopes"][0]).token
    created = requests.put(emulator.url + identity_id, params={"api-version": "2023-01-31"}, json={"location": LOCATION},
                           headers={"Authorization": "Bearer " + token}, verify=emulator.ca_path, timeout=30)
    assert created.status_code == 201, created.text
    principal = created.json()["properties"]["principalId"]
    args = vnet_args(group, name, identity=dict(type="UserAssigned", user_assigned_identity=identity_id))
    done, sent = run_logged(emulator, ansible, playbook(vnet_task(group), task("aks_cilium_cluster", args, name="cluster")))
    assert done.rc == 0, done.stdout
    assert kinds(sent) == ["PUT roleassignments", "PUT roleassignments", "PUT managedclusters"]
    assert done.task("cluster")["operations"] == ["subnet-role-assignment", "create"]
    for scope in subnet_ids(emulator, group):
        assert network_contributors(emulator, scope) == [principal]


def test_missing_permission_fails_with_what_the_caller_needs(emulator, ansible):
    group, name = unique("e2e-ra"), unique("np")
    assert ansible(playbook(vnet_task(group))).rc == 0
    nodes, pods = subnet_ids(emulator, group)
    make_cluster(emulator, group, name, {"networkPlugin": "azure", "networkDataplane": "cilium", "networkPolicy": "cilium"},
                 pool={"vnetSubnetID": nodes, "podSubnetID": pods, "maxPods": 250})
    caller = authorization.caller_object_id(emulator.arm)
    subscription = "/subscriptions/" + emulator.env["AZURE_SUBSCRIPTION_ID"]
    owner = authorization.remove_assignments(emulator.arm, caller, roles.OWNER)
    authorization.add_assignment(emulator.arm, subscription, roles.CONTRIBUTOR, caller)
    try:
        text = playbook(task("aks_cilium_cluster", vnet_args(group, name, system_pool=dict(
            name="system", count=3, max_pods=250, vnet_subnet_id=nodes, pod_subnet_id=pods)), name="cluster"))
        started = time.time()
        done = ansible(text)
        assert done.rc != 0
        failed = done.task("cluster")
        assert done.status("cluster") == "failed" and failed["changed"] is False
        message = failed["msg"]
        for needed in ("Microsoft.Authorization/roleAssignments/write", nodes, "Owner", "User Access Administrator",
                       "skip_subnet_role_assignment", principal_of(emulator, group, name)):
            assert needed.lower() in message.lower(), message
        assert [e for e in emulator.writes(since=started) if e["status"] < 400] == []
    finally:
        authorization.remove_assignments(emulator.arm, caller, roles.CONTRIBUTOR)
        for body in owner:
            authorization.add_assignment(emulator.arm, body["properties"]["scope"], roles.OWNER, caller)


def test_overlay_cluster_needs_no_subnet_rights(emulator, ansible):
    group, name = unique("e2e-ra"), unique("ov")
    text = playbook(task("aks_network", dict(resource_group=group, location=LOCATION), name="group"),
                    task("aks_cilium_cluster", overlay_args(group, name), name="cluster"))
    started = time.time()
    done = ansible(text)
    assert done.rc == 0, done.stdout
    assert "subnet_role_assignments" not in done.task("cluster") or done.task("cluster")["subnet_role_assignments"] == []
    assert [e for e in emulator.requests(since=started) if "Microsoft.Authorization" in e["path"]] == []
