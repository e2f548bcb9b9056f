# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""migrate_fleet.yml over the aks_clusters inventory plugin: ten legacy clusters of mixed modes, one blocked."""

from __future__ import annotations

import os
import re
import time
import uuid

import pytest

from tests.e2e.conftest import REPO
from tests.e2e.migration_clusters import Fleet, apply, deployment, pdb
from tests.emulator.requestlog import writes

PLAYBOOK = os.path.join(REPO, "playbooks", "migrate_fleet.yml")
# name -> (IPAM mode, policy engine)
MIXED = {"kube-a": ("kubenet", "none"), "kube-b": ("kubenet", "calico"), "kube-c": ("kubenet", "none"),
         "node-a": ("node-subnet", "none"), "node-b": ("node-subnet", "azure"), "node-c": ("node-subnet", "azure"),
         "over-a": ("overlay", "none"), "over-b": ("overlay", "azure"), "pods-a": ("pod-subnet", "none"),
         "blocked": ("node-subnet", "azure")}


def inventory(tmp_path, group):
    path = tmp_path / "fleet.aks_clusters.yml"
    path.write_text("plugin: azcni.cilium.aks_clusters\nresource_groups: [%s]\nkeyed_groups:\n"
                    "  - {key: aks_network_dataplane, prefix: dataplane}\n  - {key: aks_ipam_mode, prefix: ipam}\n" % group)
    return str(path)


def cluster_writes(entries, name):
    pattern = re.compile(r"(?i)/managedClusters/%s(/|$)" % re.escape(name))
    return [e for e in writes(entries) if pattern.search(e["path"])]


@pytest.fixture
def fleet(emulator, tmp_path):
    made = Fleet(emulator, str(tmp_path), "fleet-" + uuid.uuid4().hex[:6])
    yield made
    made.arm.delete_group(made.group)


def test_fleet_of_ten_migrates_nine_and_leaves_the_blocked_one_alone(emulator, ansible, fleet, tmp_path):
    emulator.arm.settings.migration_delay = 1.0  # each reimaging operation takes a while, as on AKS
    for name, (mode, policy) in sorted(MIXED.items()):
        kube = fleet.make(name, mode, policy=policy)
        if name == "blocked":
            apply(kube, deployment("web", 2), pdb("web", maxUnavailable=0))
    # kube-c was left half-way by an earlier run: its IPAM step is done, the data plane step is not
    half = fleet.emulator.arm.cluster(fleet.group, "kube-c")
    body = {"location": half["location"], "identity": half["identity"],
            "properties": {"dnsPrefix": half["properties"]["dnsPrefix"],
                           "agentPoolProfiles": half["properties"]["agentPoolProfiles"],
                           "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay",
                                              "podCidr": "10.244.0.0/16", "networkDataplane": "azure",
                                              "networkPolicy": "none"}}}
    for key in ("provisioningState", "powerState", "currentOrchestratorVersion", "nodeImageVersion", "eTag"):
        for pool in body["properties"]["agentPoolProfiles"]:
            pool.pop(key, None)
    fleet.arm.create_cluster(fleet.group, "kube-c", body)

    hosts = inventory(tmp_path, fleet.group)
    env = {"ANSIBLE_FORKS": "10", "HOME": str(tmp_path)}
    started = time.time()
    first = ansible(PLAYBOOK, inventory=hosts, env=env, timeout=900)
    entries = emulator.requests(since=started)
    table = first.task("Print the fleet summary table")["msg"]
    rows = dict((line.split("|")[1].strip(), [c.strip() for c in line.split("|")[2:-1]]) for line in table[2:])
    assert sorted(rows) == sorted(MIXED), first.stdout[-4000:]
    assert first.rc != 0 and "Not migrated: blocked" in first.stdout  # blocked clusters fail the run, after the table
    for name, (mode, _policy) in MIXED.items():
        profile = fleet.network_profile(name)
        if name == "blocked":
            assert rows[name][1] == "blocked" and "pdb-no-disruptions" in rows[name][3], rows[name]
            assert profile["networkDataplane"] == "azure" and cluster_writes(entries, name) == []
            continue
        assert rows[name][1] == "migrated", (name, rows[name])
        assert (profile["networkDataplane"], profile["networkPolicy"]) == ("cilium", "cilium"), name
        if mode == "kubenet":
            assert (profile["networkPlugin"], profile["networkPluginMode"]) == ("azure", "overlay"), name
    assert rows["kube-b"][0].startswith("kubenet/azure/calico -> overlay/cilium/cilium"), rows["kube-b"]
    assert len([e for e in cluster_writes(entries, "kube-c") if e["method"] == "PUT"]) == 1  # resumed: data plane only
    # forks: the migrations overlapped in time instead of running one cluster after the other
    spans = []
    for name in MIXED:
        times = [e["time"] for e in cluster_writes(entries, name)]
        if times:
            spans.append((min(times), max(times)))
    spans.sort()
    assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:])), spans

    again_started = time.time()
    again = ansible(PLAYBOOK, inventory=hosts, env=env, timeout=900)
    again_entries = emulator.requests(since=again_started)
    table = again.task("Print the fleet summary table")["msg"]
    results = dict((line.split("|")[1].strip(), line.split("|")[3].strip()) for line in table[2:])
    assert results == dict((name, "blocked" if name == "blocked" else "unchanged") for name in MIXED), table
    assert [e for e in writes(again_entries) if "managedClusters" in e["path"]] == []
