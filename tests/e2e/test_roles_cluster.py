# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Roles network + cluster through the shipped playbooks (overlay, VNet, destroy) against the emulator:
from nothing, re-run with zero writes, check mode, included from another role, destroyed."""

from __future__ import annotations

import os
import time
import uuid

import yaml

from tests.emulator.requestlog import writes

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = os.path.join(REPO, "playbooks")
INVENTORY = os.path.join(PLAYBOOKS, "inventory")
PROFILE_CHECK = "Check the cluster runs Azure CNI Powered by Cilium"
CREATE = "Create or update the cluster (Azure CNI Powered by Cilium)"


def settings(tmp_path, prefix):
    suffix = uuid.uuid4().hex[:8]
    return {"azcni_cluster_name": "%s-%s" % (prefix, suffix), "azcni_resource_group": "rg-%s-%s" % (prefix, suffix),
            "azcni_kubeconfig": str(tmp_path / "kubeconfig"), "azcni_system_pool": {"count": 2}}


def run(emulator, ansible, name, extra_vars, **kwargs):
    """Run one of the shipped playbooks with the example inventory; returns (result, ARM writes)."""
    started = time.time()
    result = ansible(os.path.join(PLAYBOOKS, name), extra_vars=extra_vars, inventory=INVENTORY, **kwargs)
    return result, writes(emulator.requests(since=started))


def resource_types(entries):
    return [entry["path"].rstrip("/").split("/")[-2].lower() for entry in entries]


def role_tasks(result, name):
    """Entries of a role's task: the callback names them ``<role> : <task name>``."""
    return [e for e in result.results if e["task"] == name or e["task"].endswith(" : " + name)]


def role_task(result, name):
    return role_tasks(result, name)[-1]["result"]


def assert_profile_checked(result, overlay=True):
    """The role's assert ran, passed, and looked at the fields the runbook checks."""
    check = role_tasks(result, PROFILE_CHECK)
    assert len(check) == 1 and check[0]["status"] == "ok", result
    checked = {item["item"]["key"]: item["item"]["value"] for item in check[0]["result"]["results"]}
    expected = {"networkDataplane": "cilium", "networkPlugin": "azure", "networkPolicy": "cilium"}
    if overlay:
        expected["networkPluginMode"] = "overlay"
    assert checked == expected


def test_overlay_playbook_check_create_rerun_include_and_destroy(emulator, ansible, tmp_path):
    extra = settings(tmp_path, "ovl")
    checked, sent = run(emulator, ansible, "overlay.yml", extra, check=True, diff=True)
    assert checked.rc == 0, checked.stdout
    assert sent == []
    assert role_task(checked, CREATE)["operations"] == ["create"]
    assert not os.path.exists(extra["azcni_kubeconfig"])  # nothing to fetch credentials from yet

    created, sent = run(emulator, ansible, "overlay.yml", extra)
    assert created.rc == 0, created.stdout
    assert "managedclusters" in resource_types(sent) and "resourcegroups" in resource_types(sent)
    assert "virtualnetworks" not in resource_types(sent)  # overlay: AKS owns the nodes' VNet
    assert_profile_checked(created)
    kubeconfig = yaml.safe_load(open(extra["azcni_kubeconfig"], encoding="utf-8"))
    assert kubeconfig["current-context"] == extra["azcni_cluster_name"]
    cluster = role_task(created, CREATE)["cluster"]
    assert cluster["networkProfile"]["podCidr"] == "192.168.0.0/16"

    rerun, sent = run(emulator, ansible, "overlay.yml", extra)
    assert rerun.rc == 0, rerun.stdout
    assert rerun.changed_tasks == [] and sent == []
    assert_profile_checked(rerun)

    # the same roles, included from a role of the user's own
    wrapper = tmp_path / "roles" / "platform" / "tasks"
    wrapper.mkdir(parents=True)
    (wrapper / "main.yml").write_text(yaml.safe_dump([
        {"name": "Network", "ansible.builtin.include_role": {"name": "azcni.cilium.network"},
         "vars": {"network_resource_group": extra["azcni_resource_group"], "network_location": "westeurope"}},
        {"name": "Cluster", "ansible.builtin.include_role": {"name": "azcni.cilium.cluster"},
         "vars": {"cluster_name": extra["azcni_cluster_name"], "cluster_resource_group": extra["azcni_resource_group"],
                  "cluster_location": "westeurope", "cluster_pod_cidr": "192.168.0.0/16",
                  "cluster_system_pool": {"count": 2}, "cluster_kubeconfig_path": extra["azcni_kubeconfig"]}},
    ], sort_keys=False))
    started = time.time()
    included = ansible("- hosts: localhost\n  connection: local\n  gather_facts: false\n  roles:\n    - platform\n",
                       env={"ANSIBLE_ROLES_PATH": str(tmp_path / "roles")})
    assert included.rc == 0, included.stdout
    assert included.changed_tasks == [] and writes(emulator.requests(since=started)) == []
    assert_profile_checked(included)

    destroyed, sent = run(emulator, ansible, "destroy.yml", dict(extra, azcni_destroy_resource_group=True))
    assert destroyed.rc == 0, destroyed.stdout
    assert [(e["method"], t) for e, t in zip(sent, resource_types(sent))] == [
        ("DELETE", "managedclusters"), ("DELETE", "resourcegroups")]
    gone, sent = run(emulator, ansible, "destroy.yml", dict(extra, azcni_destroy_resource_group=True))
    assert gone.rc == 0 and gone.changed_tasks == [] and sent == []


def test_vnet_playbook_create_rerun_check_and_destroy(emulator, ansible, tmp_path):
    extra = settings(tmp_path, "vnet")
    created, sent = run(emulator, ansible, "vnet.yml", extra)
    assert created.rc == 0, created.stdout
    assert resource_types(sent)[:2] == ["resourcegroups", "virtualnetworks"]
    assert_profile_checked(created, overlay=False)
    cluster = role_task(created, CREATE)["cluster"]
    pool = cluster["agentPoolProfiles"][0]
    assert pool["maxPods"] == 250
    assert pool["vnetSubnetID"].lower().endswith("/virtualnetworks/vnet-aks-cilium/subnets/nodes")
    assert pool["podSubnetID"].lower().endswith("/virtualnetworks/vnet-aks-cilium/subnets/pods")
    assert cluster["networkProfile"].get("networkPluginMode") in (None, "")

    rerun, sent = run(emulator, ansible, "vnet.yml", extra)
    assert rerun.rc == 0, rerun.stdout
    assert rerun.changed_tasks == [] and sent == []
    pods = role_task(rerun, "Resource group, VNet and subnets")["subnets"]["pods"]
    assert pods["delegations"] == ["Microsoft.ContainerService/managedClusters"]

    # check mode on the existing setup: nothing to change, the profile is still verified
    checked, sent = run(emulator, ansible, "vnet.yml", extra, check=True)
    assert checked.rc == 0 and checked.changed_tasks == [] and sent == []
    assert_profile_checked(checked, overlay=False)

    destroyed, sent = run(emulator, ansible, "destroy.yml", dict(extra, azcni_destroy_resource_group=True))
    assert destroyed.rc == 0, destroyed.stdout
    assert resource_types(sent) == ["managedclusters", "virtualnetworks", "resourcegroups"]


def test_vnet_playbook_check_mode_on_a_new_setup_plans_everything_and_writes_nothing(emulator, ansible, tmp_path):
    # nothing exists yet: in check mode the network role creates no VNet, so the cluster task cannot read
    # its subnets; it must still plan the create instead of failing [subnets-exist]
    extra = settings(tmp_path, "vchk")
    checked, sent = run(emulator, ansible, "vnet.yml", extra, check=True, diff=True)
    assert checked.rc == 0, checked.stdout
    assert sent == []
    assert role_task(checked, "Resource group, VNet and subnets")["changed"]
    cluster = role_task(checked, CREATE)
    # the new cluster's identity would get Network Contributor on both subnets once it exists
    assert cluster["changed"] and cluster["operations"] == ["create", "subnet-role-assignment"]
    assert cluster["diff"]["before"] == {}
    pool = cluster["diff"]["after"]["agentPoolProfiles"]["nodepool1"]
    assert pool["podSubnetID"].lower().endswith("/virtualnetworks/vnet-aks-cilium/subnets/pods")
    assert any("does not exist yet" in w and "subnets-exist" in w for w in cluster.get("warnings", [])), cluster
    assert not os.path.exists(extra["azcni_kubeconfig"])
