# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""With AKS's delays (scaled down, as scripts/main.sh runs the lab): every long-running kind of change passes
through its in-progress states while the playbook runs, and a second write meanwhile gets AKS's 409.

Each test runs ansible-playbook in a thread and samples the emulator's state from the test's side."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.e2e.arm import Arm, ArmError

LOCATION = "westeurope"
DELAY = 3.0  # seconds each AKS operation takes here (AKS takes minutes)


def playbook(module, args):
    return ("- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - name: step\n"
            "      azcni.cilium.%s: %s\n" % (module, json.dumps(args)))


def cluster_args(group, name, **overrides):
    args = dict(name=name, resource_group=group, location=LOCATION, ipam_mode="overlay", pod_cidr="192.168.0.0/16",
                system_pool=dict(name="system", count=3))
    args.update(overrides)
    return args


def while_running(run, sample, timeout=300):
    """Run ``run()`` in a thread; call ``sample()`` every 50 ms meanwhile. (result of run, distinct samples seen)."""
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.setdefault("result", run()), daemon=True)
    worker.start()
    seen, deadline = [], time.monotonic() + timeout
    while worker.is_alive() and time.monotonic() < deadline:
        value = sample()
        if not seen or seen[-1] != value:
            seen.append(value)
        time.sleep(0.05)
    worker.join(timeout=max(deadline - time.monotonic(), 1))
    value = sample()
    if seen[-1] != value:
        seen.append(value)
    return outcome.get("result"), seen


def state(emulator, group, name):
    cluster = emulator.arm.cluster(group, name)
    return cluster["properties"]["provisioningState"] if cluster else None


def conflict(emulator, group, name):
    """What a second write while an operation runs gets (a PUT of the stored cluster, as read)."""
    arm = Arm(emulator)
    current = arm.cluster(group, name)
    with pytest.raises(ArmError) as err:
        arm.create_cluster(group, name, current, wait=False)
    return err.value.status_code, err.value.code


@pytest.fixture
def slow_aks(emulator):
    emulator.arm.settings.provision_delay = DELAY  # restored after the test by emulator_isolation
    return emulator


def test_create_update_and_delete_show_their_states_and_a_second_write_gets_409(slow_aks, ansible):
    emulator, group, name = slow_aks, "e2e-slow", "slow-%d" % int(time.time() * 1000 % 1e8)
    Arm(emulator).create_group(group, LOCATION)
    conflicts = []

    def sample():
        current = state(emulator, group, name)
        if current in ("Creating", "Updating") and not conflicts:
            conflicts.append(conflict(emulator, group, name))
        return current

    created, seen = while_running(lambda: ansible(playbook("aks_cilium_cluster", cluster_args(group, name))), sample)
    assert created.rc == 0, created.stdout
    assert seen[-2:] == ["Creating", "Succeeded"]
    assert conflicts == [(409, "OperationNotAllowed")]
    assert created.task("step")["cluster"]["provisioningState"] == "Succeeded"

    conflicts.clear()
    updated, seen = while_running(lambda: ansible(playbook("aks_cilium_cluster", cluster_args(
        group, name, system_pool=dict(name="system", count=4)))), sample)
    assert updated.rc == 0, updated.stdout
    assert seen == ["Succeeded", "Updating", "Succeeded"] and conflicts == [(409, "OperationNotAllowed")]
    assert emulator.arm.cluster(group, name)["properties"]["agentPoolProfiles"][0]["count"] == 4

    deleted, seen = while_running(lambda: ansible(playbook("aks_cilium_cluster", dict(
        name=name, resource_group=group, state="absent"))), lambda: state(emulator, group, name))
    assert deleted.rc == 0, deleted.stdout
    assert seen == ["Succeeded", "Deleting", None]


def test_a_migration_stays_updating_until_the_new_dataplane_is_in_place(slow_aks, ansible):
    emulator, group, name = slow_aks, "e2e-slow", "mig-%d" % int(time.time() * 1000 % 1e8)
    arm = Arm(emulator)
    arm.create_group(group, LOCATION)
    emulator.arm.settings.provision_delay = 0.0
    arm.create_cluster(group, name, {
        "location": LOCATION, "identity": {"type": "SystemAssigned"},
        "properties": {"dnsPrefix": name, "networkProfile": {
            "networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "azure", "networkPolicy": "none",
            "podCidr": "192.168.0.0/16"},
            "agentPoolProfiles": [{"name": "system", "mode": "System", "count": 3, "vmSize": "Standard_D4ds_v5",
                                   "osType": "Linux"}]}})
    emulator.arm.settings.provision_delay = DELAY

    def sample():
        cluster = emulator.arm.cluster(group, name)["properties"]
        return cluster["provisioningState"], cluster["networkProfile"]["networkDataplane"]

    migrated, seen = while_running(lambda: ansible(playbook("aks_cilium_cluster", cluster_args(
        group, name, allow_migration=True))), sample)
    assert migrated.rc == 0, migrated.stdout
    assert migrated.task("step")["operations"] == ["migrate-dataplane"]
    assert seen[0] == ("Succeeded", "azure") and seen[-1] == ("Succeeded", "cilium")
    assert any(current == "Updating" for current, _unused in seen)


def test_a_rollout_restart_progresses_pod_by_pod(emulator, ansible, kube_cluster):
    kube_cluster.control("settings", pod_ready_delay=1.0)  # main.sh's default
    handle = emulator.arm.kube.handles[emulator.arm.cluster(kube_cluster.resource_group, kube_cluster.name)["id"].lower()]

    def sample():
        with handle.store.lock:
            status = handle.store.get("apps/daemonsets", "kube-system", "cilium")["status"]
            return status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0)

    args = dict(kubeconfig=kube_cluster.kubeconfig_path, targets=["agent"], wait_timeout=120)
    done, seen = while_running(lambda: ansible(playbook("cilium_restart", args)), sample)
    assert done.rc == 0, done.stdout
    assert seen[0] == (0, 3) or seen[0] == (3, 3)  # before the patch: the old template is the current one
    assert seen[-1] == (3, 3)
    # maxUnavailable 2 of 3: the agents are replaced in steps, never all at once, and availability dips meanwhile
    assert any(0 < updated < 3 for updated, _unused in seen), seen
    assert min(available for _unused, available in seen) >= 1, seen
    assert done.task("step")["rollouts"][0]["seconds"] >= 1.0
