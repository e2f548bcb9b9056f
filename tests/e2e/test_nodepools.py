# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node pools with their own pod subnets, Static Block allocation and the three Azure CNI IPAM modes, end to end:
the real ansible-playbook and kubectl against the emulator."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import time
import uuid

import yaml

from tests.e2e.arm import Arm
from tests.e2e.conftest import playbook
from tests.emulator.requestlog import writes
from tests.kubectl import kubectl_path

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = os.path.join(REPO, "playbooks")
INVENTORY = os.path.join(PLAYBOOKS, "inventory")
LOCATION = "westeurope"
POOL_TASK = "Node pools (each checked before any write; unchanged pools send no write request)"
SUBNETS = [{"name": "nodes", "address_prefix": "10.50.0.0/22"}, {"name": "pods1", "address_prefix": "10.50.16.0/20"},
           {"name": "pods2", "address_prefix": "10.50.32.0/20"}, {"name": "small", "address_prefix": "10.50.48.0/26"}]


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def task(module, args, name=None, **extra):
    return dict(extra, name=name or module, module=module, args=args)


def run_logged(emulator, ansible, text, **kwargs):
    """Run a playbook; (result, every ARM request it sent, the writes among them). ``counts`` (a dict), when
    given, gets the number of requests of every kind (ARM, and the cloud metadata / Entra ID ones)."""
    counts = kwargs.pop("counts", None)
    started = time.time()
    result = ansible(text, **kwargs)
    every = emulator.requests(since=started)
    sent = [e for e in every if e["path"].lower().startswith("/subscriptions")]
    if counts is not None:
        counts.update(total=len(every), arm=len(sent), arm_writes=len(writes(sent)))
    return result, sent, writes(sent)


def kinds(entries, role_assignments=True):
    """``PUT managedclusters`` summaries; without the subnet role assignments aks_cilium_cluster adds for the
    cluster identity when asked not to count them (they are that feature's business, tested with it)."""
    found = ["%s %s" % (e["method"], e["path"].rstrip("/").split("/")[-2].lower()) for e in entries]
    return [k for k in found if role_assignments or k != "PUT roleassignments"]


def network_task(group, subnets=None, space="10.50.0.0/16", vnet="vnet"):
    return task("aks_network", dict(resource_group=group, location=LOCATION, vnet_name=vnet, address_prefixes=[space],
                                    subnets=subnets or SUBNETS), name="network", register="network")


def vnet_cluster(group, name, pods="pods1", max_pods=30):
    return task("aks_cilium_cluster", dict(
        name=name, resource_group=group, location=LOCATION, ipam_mode="vnet", service_cidr="10.0.0.0/16",
        dns_service_ip="10.0.0.10", system_pool=dict(name="system", count=2, max_pods=max_pods,
                                                     vnet_subnet_id="{{ network.subnet_ids.nodes }}",
                                                     pod_subnet_id="{{ network.subnet_ids.%s }}" % pods)), name="cluster")


def pool_task(group, cluster, name="user", label="pool", **args):
    values = dict(cluster_name=cluster, resource_group=group, name=name, count=2, max_pods=63,
                  vnet_subnet_id="{{ network.subnet_ids.nodes }}", pod_subnet_id="{{ network.subnet_ids.pods2 }}",
                  pod_ip_allocation_mode="StaticBlock")
    values.update(args)
    return task("aks_cilium_nodepool", dict((k, v) for k, v in values.items() if v is not None), name=label)


def kubectl(kubectl_bin, kubeconfig, *args):
    home = os.path.dirname(kubeconfig)
    env = dict(os.environ, KUBECONFIG=kubeconfig, HOME=home, KUBECACHEDIR=os.path.join(home, "cache"))
    done = subprocess.run([kubectl_bin, "--request-timeout=60s"] + list(args), env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    return predicate()


# --- the multi-pool playbook: from nothing, re-run, what kubectl sees ----------------------------------------
def test_multi_pool_playbook_from_nothing_rerun_and_kubectl(emulator, ansible, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    extra = {"azcni_cluster_name": "multi-" + suffix, "azcni_resource_group": "rg-multi-" + suffix,
             "azcni_kubeconfig": str(tmp_path / "kubeconfig"), "azcni_system_pool": {"count": 2}}
    path = os.path.join(PLAYBOOKS, "vnet_multi_pool.yml")
    first_counts, again_counts = {}, {}
    first, sent, wrote = run_logged(emulator, ansible, path, extra_vars=extra, inventory=INVENTORY, counts=first_counts)
    assert first.rc == 0, first.stdout
    assert kinds(wrote, role_assignments=False) == ["PUT resourcegroups", "PUT virtualnetworks", "PUT managedclusters",
                                                    "PUT agentpools"]
    # Network Contributor for the cluster identity: node + first pod subnet (cluster), second pod subnet (pool)
    assert kinds(wrote).count("PUT roleassignments") == 3, kinds(wrote)
    pool_put = [w for w in wrote if "/agentPools/" in w["path"]][-1]["body"]["properties"]
    assert (pool_put["podIPAllocationMode"], pool_put["maxPods"], pool_put["mode"]) == ("StaticBlock", 63, "User")
    assert pool_put["podSubnetID"].endswith("/subnets/pods-user")

    again, sent, wrote = run_logged(emulator, ansible, path, extra_vars=extra, inventory=INVENTORY, counts=again_counts)
    assert again.rc == 0, again.stdout
    # aks_cilium_nodepool grants the cluster identity its rights on the user pool's subnets itself, so the
    # re-run finds every assignment in place: nothing is written, nothing is changed
    assert wrote == [], kinds(wrote)
    assert again.changed_tasks == [], again.changed_tasks
    print("vnet_multi_pool.yml requests: first run %s, re-run %s" % (first_counts, again_counts))

    kubeconfig = extra["azcni_kubeconfig"]
    nodes = kubectl(kubectl_path(), kubeconfig, "get", "nodes", "-L", "agentpool", "--no-headers")
    pools = sorted(line.split()[-1] for line in nodes.splitlines())
    assert pools == ["nodepool1", "nodepool1", "user", "user"], nodes
    ds = json.loads(kubectl(kubectl_path(), kubeconfig, "get", "ds", "cilium", "-n", "kube-system", "-o", "json"))
    assert wait_for(lambda: json.loads(kubectl(kubectl_path(), kubeconfig, "get", "ds", "cilium", "-n", "kube-system",
                                               "-o", "json"))["status"].get("numberReady") == 4)
    assert ds["status"]["desiredNumberScheduled"] == len(nodes.splitlines()) == 4

    manifest = tmp_path / "web.yaml"
    manifest.write_text(yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"nodeSelector": {"agentpool": "user"},
                                       "containers": [{"name": "web", "image": "nginx"}]}}}}))
    kubectl(kubectl_path(), kubeconfig, "apply", "-f", str(manifest))

    def running_ips():
        pods = json.loads(kubectl(kubectl_path(), kubeconfig, "get", "pods", "-l", "app=web", "-o", "json"))["items"]
        ips = [p["status"].get("podIP") for p in pods if p["status"].get("phase") == "Running"]
        return ips if len(ips) == 4 and all(ips) else None
    ips = wait_for(running_ips)
    assert ips, "the user pool's pods never ran"
    user_pods = ipaddress.ip_network("10.40.32.0/19")
    assert all(ipaddress.ip_address(ip) in user_pods for ip in ips), ips
    result = [e for e in first.results if e["task"].endswith(POOL_TASK)][-1]["result"]["results"][0]
    usage = {u["name"]: u for u in result["subnet_usage"]}
    assert usage["pods-user"]["in_use"] == 2 * 4 * 16  # 63 max pods: 4 /28 blocks on each of the 2 nodes
    assert usage["pods-user"]["free"] == usage["pods-user"]["limit"] - 128


# --- every pre-flight rule of the issue refuses with 0 writes ------------------------------------------------
def test_pool_rules_refuse_before_any_write(emulator, ansible):
    group, name = unique("e2e-pools"), unique("vnet")
    other_vnet = task("aks_network", dict(resource_group=group, location=LOCATION, vnet_name="other",
                                          address_prefixes=["10.60.0.0/16"],
                                          subnets=[{"name": "pods", "address_prefix": "10.60.0.0/20"}]),
                      name="other vnet", register="other")
    overlay = task("aks_cilium_cluster", dict(name=name + "o", resource_group=group, location=LOCATION, ipam_mode="overlay",
                                              system_pool=dict(name="system", count=1, max_pods=30)), name="overlay cluster")
    dynamic = pool_task(group, name, name="dyn", label="dynamic user pool", pod_ip_allocation_mode=None, count=1)
    setup = playbook(network_task(group), other_vnet, vnet_cluster(group, name), dynamic, overlay)
    done, _sent, _wrote = run_logged(emulator, ansible, setup)
    assert done.rc == 0, done.stdout
    cases = [
        ("one-allocation-mode-per-subnet", pool_task(group, name, label="mixed", pod_subnet_id="{{ network.subnet_ids.pods1 }}")),
        ("subnets-in-cluster-vnet", pool_task(group, name, label="other vnet pool",
                                              pod_subnet_id="{{ other.subnet_ids.pods }}")),
        ("pod-subnet-capacity", pool_task(group, name, label="too small", pod_subnet_id="{{ network.subnet_ids.small }}",
                                          enable_auto_scaling=True, min_count=1, max_count=3, count=None)),
        ("allocation-mode-new-pool-only", pool_task(group, name, name="dyn", label="static on existing", count=1)),
        ("last-system-pool", pool_task(group, name, name="system", label="last system", state="absent", count=None,
                                       max_pods=None, vnet_subnet_id=None, pod_subnet_id=None, pod_ip_allocation_mode=None)),
        ("ipam-mode-fields", pool_task(group, name + "o", label="pod subnet on overlay", vnet_subnet_id=None,
                                       pod_ip_allocation_mode=None)),
    ]
    tasks = [network_task(group), other_vnet]
    tasks += [dict(case, ignore_errors=True) for _rule, case in cases]
    done, _sent, wrote = run_logged(emulator, ansible, playbook(*tasks))
    assert wrote == [], kinds(wrote)
    for rule, case in cases:
        result = done.task(case["name"])
        assert done.status(case["name"]) == "ignored" and result["failed_rules"] == [rule], (case["name"], result.get("msg"))
        assert "[%s]" % rule in result["msg"]
    assert "blocks short" in done.task("too small")["msg"]


# --- node-subnet mode: the data plane alone, in one update; and a new node-subnet Cilium cluster ----------------
def test_node_subnet_cluster_gets_only_the_dataplane_change_and_a_new_one_can_be_created(emulator, ansible):
    group, legacy, fresh = unique("e2e-nsub"), unique("legacy"), unique("fresh")
    subnets = [{"name": "nodes", "address_prefix": "10.70.0.0/22"}]
    done, _sent, _wrote = run_logged(emulator, ansible, playbook(network_task(group, subnets, "10.70.0.0/16")))
    assert done.rc == 0, done.stdout
    node_subnet = done.task("network")["subnet_ids"]["nodes"]
    arm = Arm(emulator)
    arm.create_cluster(group, legacy, {
        "location": LOCATION, "identity": {"type": "SystemAssigned"},
        "properties": {"dnsPrefix": legacy, "networkProfile": {"networkPlugin": "azure", "networkPolicy": "none"},
                       "agentPoolProfiles": [{"name": "system", "mode": "System", "count": 2, "maxPods": 30,
                                              "vmSize": "Standard_D4ds_v5", "osType": "Linux",
                                              "vnetSubnetID": node_subnet}]}})
    migrate = task("aks_cilium_cluster", dict(name=legacy, resource_group=group, allow_migration=True), name="migrate")
    done, _sent, wrote = run_logged(emulator, ansible, playbook(migrate))
    assert done.rc == 0, done.stdout
    assert [op for op in done.task("migrate")["operations"] if op != "subnet-role-assignment"] == ["migrate-dataplane"]
    assert kinds(wrote, role_assignments=False) == ["PUT managedclusters"]  # one update: data plane + policy
    cluster_put = [e for e in wrote if "/managedclusters/" in e["path"].lower()][0]
    network = cluster_put["body"]["properties"]["networkProfile"]
    assert (network["networkDataplane"], network["networkPolicy"]) == ("cilium", "cilium")
    assert "networkPluginMode" not in network and "podCidr" not in network
    stored = arm.cluster(group, legacy)["properties"]["networkProfile"]
    assert (stored["networkPlugin"], stored.get("networkPluginMode"), stored["networkDataplane"]) == ("azure", None, "cilium")
    done, _sent, wrote = run_logged(emulator, ansible, playbook(migrate))
    assert done.rc == 0 and wrote == [] and not done.task("migrate")["changed"]

    create = task("aks_cilium_cluster", dict(
        name=fresh, resource_group=group, location=LOCATION, ipam_mode="node_subnet",
        system_pool=dict(name="system", count=2, max_pods=30, vnet_subnet_id=node_subnet)), name="create")
    done, _sent, wrote = run_logged(emulator, ansible, playbook(create))
    assert done.rc == 0, done.stdout
    assert "create" in done.task("create")["operations"]
    assert kinds(wrote, role_assignments=False) == ["PUT managedclusters"]
    network = arm.cluster(group, fresh)["properties"]["networkProfile"]
    assert (network["networkPlugin"], network.get("networkPluginMode"), network["networkDataplane"],
            network["networkPolicy"]) == ("azure", None, "cilium", "cilium")
    done, _sent, wrote = run_logged(emulator, ansible, playbook(create))
    assert done.rc == 0 and wrote == []


# --- the module: check mode with diff, idempotent updates, delete ------------------------------------------------
def test_nodepool_check_mode_update_and_delete(emulator, ansible):
    group, name = unique("e2e-pool"), unique("vnet")
    done, _sent, _wrote = run_logged(emulator, ansible, playbook(network_task(group), vnet_cluster(group, name)))
    assert done.rc == 0, done.stdout
    add = playbook(network_task(group), pool_task(group, name, node_labels={"tier": "web"}))
    checked, _sent, wrote = run_logged(emulator, ansible, add, check=True, diff=True)
    assert checked.rc == 0 and wrote == []
    result = checked.task("pool")
    # a new pool on a custom pod subnet: check mode plans the pool and the identity's rights on that subnet
    assert result["changed"] and result["operations"] == ["create", "subnet-role-assignment"]
    assert result["diff"]["after"]["podIPAllocationMode"] == "StaticBlock" and result["diff"]["before"] == {}

    done, _sent, wrote = run_logged(emulator, ansible, add)
    assert done.rc == 0, done.stdout
    assert kinds(wrote) == ["PUT roleassignments", "PUT agentpools"]  # the rights first, then the nodes join
    pool = done.task("pool")["pool"]
    assert pool["type"] == "Microsoft.ContainerService/managedClusters/agentPools"
    assert pool["properties"]["provisioningState"] == "Succeeded" and pool["properties"]["nodeLabels"] == {"tier": "web"}
    done, _sent, wrote = run_logged(emulator, ansible, add)
    assert done.rc == 0 and wrote == [] and not done.task("pool")["changed"]

    grow = playbook(network_task(group), pool_task(group, name, count=3, node_labels={"tier": "web"}))
    done, _sent, wrote = run_logged(emulator, ansible, grow, diff=True)
    assert done.task("pool")["changes"] == ["count"] and kinds(wrote) == ["PUT agentpools"]
    body = wrote[0]["body"]["properties"]
    assert body["count"] == 3 and body["nodeLabels"] == {"tier": "web"} and body["podIPAllocationMode"] == "StaticBlock"
    assert "provisioningState" not in body and "nodeImageVersion" not in body

    refused = playbook(network_task(group), pool_task(group, name, count=3, max_pods=31, node_labels={"tier": "web"}))
    done, _sent, wrote = run_logged(emulator, ansible, refused)
    assert done.rc != 0 and wrote == []
    assert "maxPods: 63 -> 31" in done.task("pool")["msg"]

    gone = playbook(task("aks_cilium_nodepool", dict(cluster_name=name, resource_group=group, name="user", state="absent"),
                         name="pool"))
    done, _sent, wrote = run_logged(emulator, ansible, gone)
    assert done.rc == 0 and kinds(wrote) == ["DELETE agentpools"]
    done, _sent, wrote = run_logged(emulator, ansible, gone)
    assert done.rc == 0 and wrote == [] and not done.task("pool")["changed"]
