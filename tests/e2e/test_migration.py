# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Migrations one cluster at a time: aks_cilium_migration_info's report, aks_cilium_cluster refusing while a
blocker stands (0 writes), then migrating in AKS's order once it is fixed; NPM and Calico clusters."""

from __future__ import annotations

import ipaddress
import json
import time
import uuid

import pytest

from tests.e2e.migration_clusters import Fleet, apply, deployment, pdb
from tests.emulator.requestlog import writes


def playbook(name, group, *tasks):
    lines = ["- hosts: localhost", "  connection: local", "  gather_facts: false", "  tasks:"]
    for module, args, register in tasks:
        if module.startswith("aks_"):
            args = dict(args, name=name, resource_group=group)
        lines += ["    - name: %s" % module, "      azcni.cilium.%s: %s" % (module, json.dumps(args)),
                  "      register: %s" % register, "      ignore_errors: true"]
    return "\n".join(lines) + "\n"


def run(emulator, ansible, text, **kwargs):
    started = time.time()
    result = ansible(text, **kwargs)
    return result, writes(emulator.requests(since=started))


def failed(result, task):
    return result.status(task) in ("failed", "ignored")  # the playbooks run with ignore_errors


def put_paths(entries):
    return [e["path"] for e in entries if e["method"] == "PUT"]


@pytest.fixture
def fleet(emulator, tmp_path):
    made = Fleet(emulator, str(tmp_path), "mig-" + uuid.uuid4().hex[:6])
    yield made
    made.arm.delete_group(made.group)


def node_names(kube):
    return set(n["metadata"]["name"] for n in json.loads(kube.kubectl("get", "nodes", "-o", "json").stdout)["items"])


def status_task(kube):
    return ("cilium_status", {"kubeconfig": kube.kubeconfig_path, "wait": True, "wait_timeout": 120}, "status")


def test_npm_node_subnet_cluster_blocked_by_a_pdb_then_migrated(emulator, ansible, fleet):
    kube = fleet.make("npm", "node-subnet", policy="azure")
    apply(kube, deployment("web", 2), deployment("api", 2, port_name="api", port=9000), pdb("web", maxUnavailable=0))
    pods = json.loads(kube.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
    deadline = time.monotonic() + 60
    while not all(p.get("status", {}).get("podIP") for p in pods):
        assert time.monotonic() < deadline, "web pods got no addresses"
        time.sleep(0.3)
        pods = json.loads(kube.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
    block = str(ipaddress.ip_network(pods[0]["status"]["podIP"] + "/24", strict=False))
    apply(kube,
          {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "from-pods", "namespace": "default"},
           "spec": {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"],
                    "ingress": [{"from": [{"ipBlock": {"cidr": block}}], "ports": [{"port": 9000}]}]}},
          {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "named", "namespace": "default"},
           "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "api"}}}], "ports": [{"port": "http"}]}]}})

    info, sent = run(emulator, ansible, playbook("npm", fleet.group, ("aks_cilium_migration_info", {}, "check")))
    report = info.task("aks_cilium_migration_info")
    assert sent == [] and "current" in report, report
    assert report["current"]["network_policy"] == "azure" and report["target"]["network_dataplane"] == "cilium"
    assert [b["id"] for b in report["blockers"]] == ["pdb-no-disruptions"], report["blockers"]
    assert report["blockers"][0]["object"] == "poddisruptionbudget/default/web"
    found = dict((f["id"], f) for f in report["network_policy_findings"])
    assert found["ipblock-cluster-address"]["path"] == "spec.ingress[0].from[0].ipBlock"
    assert found["named-port"]["path"] == "spec.ingress[0].ports[0].port"
    suggested = dict((p["metadata"]["name"], p) for p in report["suggested_policies"])
    assert found["ipblock-cluster-address"]["suggested_policy"] in suggested
    named = suggested[found["named-port"]["suggested_policy"]]
    assert named["kind"] == "CiliumNetworkPolicy" and named["spec"]["ingress"][0]["toPorts"] == [
        {"ports": [{"port": "8080", "protocol": "TCP"}]}]

    refused, sent = run(emulator, ansible, playbook("npm", fleet.group, ("aks_cilium_cluster", {"allow_migration": True},
                                                                         "migrate")))
    result = refused.task("aks_cilium_cluster")
    assert failed(refused, "aks_cilium_cluster") and "pdb-no-disruptions" in result["msg"] and sent == []
    assert fleet.network_profile("npm")["networkDataplane"] == "azure"

    apply(kube, pdb("web", maxUnavailable=1))
    before = node_names(kube)
    done, sent = run(emulator, ansible, playbook("npm", fleet.group, ("aks_cilium_cluster", {"allow_migration": True},
                                                                      "migrate"), status_task(kube)))
    migrated = done.task("aks_cilium_cluster")
    assert done.status("aks_cilium_cluster") == "changed", migrated
    assert migrated["operations"][-1] == "migrate-dataplane" and len(put_paths(sent)) == len(migrated["operations"])
    profile = fleet.network_profile("npm")
    assert (profile["networkDataplane"], profile["networkPolicy"]) == ("cilium", "cilium")
    assert kube.kubectl("get", "pods", "-n", "kube-system", "-l", "k8s-app=azure-npm", "-o", "name").stdout.strip() == ""
    after = node_names(kube)
    assert after and not after & before  # every node was reimaged (replaced)
    health = done.task("cilium_status")
    assert health["healthy"], health["summary"]


def test_kubenet_calico_cluster_goes_to_overlay_and_cilium_in_aks_order(emulator, ansible, fleet):
    kube = fleet.make("calico", "kubenet", policy="calico")
    apply(kube, deployment("web", 1), pdb("web", minAvailable=1))

    info, _sent = run(emulator, ansible, playbook("calico", fleet.group, ("aks_cilium_migration_info", {}, "check")))
    report = info.task("aks_cilium_migration_info")
    assert [s["operation"] for s in report["steps"]] == ["remove-policy", "migrate-ipam", "migrate-dataplane"]
    assert report["steps"][1]["reimages"] == ["system"] and report["steps"][0]["reimages"] == []
    assert [b["id"] for b in report["blockers"]] == ["pdb-no-disruptions"]
    assert "policy-engine-removal" in [w["id"] for w in report["migration_warnings"]]
    assert report["target"]["ipam_mode"] == "overlay"

    refused, sent = run(emulator, ansible, playbook("calico", fleet.group, ("aks_cilium_cluster", {"allow_migration": True},
                                                                            "migrate")))
    assert failed(refused, "aks_cilium_cluster") and sent == [], refused.task("aks_cilium_cluster")

    apply(kube, deployment("web", 2))
    done, sent = run(emulator, ansible, playbook("calico", fleet.group, ("aks_cilium_cluster", {"allow_migration": True},
                                                                         "migrate"), status_task(kube)))
    migrated = done.task("aks_cilium_cluster")
    assert migrated.get("operations") == ["remove-policy", "migrate-ipam", "migrate-dataplane"], migrated
    assert len(put_paths(sent)) == 3
    profile = fleet.network_profile("calico")
    assert (profile["networkPlugin"], profile["networkPluginMode"], profile["networkDataplane"],
            profile["networkPolicy"]) == ("azure", "overlay", "cilium", "cilium")
    assert kube.kubectl("get", "namespace", "calico-system", check=False).returncode != 0
    assert done.task("cilium_status").get("healthy"), done.task("cilium_status")

    again, sent = run(emulator, ansible, playbook("calico", fleet.group, ("aks_cilium_cluster", {"allow_migration": True},
                                                                          "migrate")))
    assert not again.task("aks_cilium_cluster")["changed"] and sent == []


def test_ignore_blockers_accepts_a_named_blocker(emulator, ansible, fleet):
    fleet.make("nap", "overlay", nodeProvisioningProfile={"mode": "Auto"})
    info, _sent = run(emulator, ansible, playbook("nap", fleet.group, ("aks_cilium_migration_info", {}, "check")))
    assert [b["id"] for b in info.task("aks_cilium_migration_info")["blockers"]] == ["node-auto-provisioning"]
    # accepted by the operator: AKS itself then refuses, and the module says so (one PUT, refused)
    tried, sent = run(emulator, ansible, playbook("nap", fleet.group, (
        "aks_cilium_cluster", {"allow_migration": True, "ignore_blockers": ["node-auto-provisioning"]}, "migrate")))
    result = tried.task("aks_cilium_cluster")
    assert failed(tried, "aks_cilium_cluster") and "node auto-provisioning" in result["msg"].lower(), result
    assert len(put_paths(sent)) == 1
