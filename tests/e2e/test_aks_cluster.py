# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""aks_cilium_cluster and aks_cilium_cluster_info end to end: the real ansible-playbook against the ARM
emulator, judged by the emulator's request log (writes) and the clusters it stores."""

from __future__ import annotations

import json
import time
import uuid

from tests.e2e.arm import Arm
from tests.e2e.conftest import playbook
from tests.emulator.requestlog import writes

LOCATION = "westeurope"
SUBNETS = [{"name": "nodes", "address_prefix": "192.168.16.0/24"}, {"name": "pods", "address_prefix": "192.168.17.0/24"}]
CLUSTER_PATH = r"(?i)/providers/Microsoft\.ContainerService/managedClusters/%s$"


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def task(module, args, name=None, **extra):
    """One task of a playbook: ``module`` (short name in azcni.cilium) with ``args``; extra task keywords."""
    return dict(extra, name=name or module, module=module, args=args)


def run_logged(emulator, ansible, text, **kwargs):
    """Run a playbook; (result, the ARM write requests it sent)."""
    started = time.time()
    result = ansible(text, **kwargs)
    return result, writes(emulator.requests(since=started))


def kinds(entries):
    """``PUT managedclusters`` summaries of logged requests: method and resource type."""
    return ["%s %s" % (e["method"], e["path"].rstrip("/").split("/")[-2].lower()) for e in entries]


def group_task(group):
    return task("aks_network", dict(resource_group=group, location=LOCATION), name="group")


def vnet_task(group):
    return task("aks_network", dict(resource_group=group, location=LOCATION, vnet_name="vnet",
                                    address_prefixes=["192.168.16.0/22"], subnets=SUBNETS), name="network", register="network")


def overlay_args(group, name, **overrides):
    """The overlay topology of the product doc; an override of None drops that option."""
    args = dict(name=name, resource_group=group, location=LOCATION, ipam_mode="overlay", pod_cidr="192.168.0.0/16",
                system_pool=dict(name="system", count=3))
    args.update(overrides)
    return dict((key, value) for key, value in args.items() if value is not None)


def vnet_args(group, name, **overrides):
    args = dict(name=name, resource_group=group, location=LOCATION, ipam_mode="vnet", service_cidr="10.0.0.0/16",
                dns_service_ip="10.0.0.10",
                system_pool=dict(name="system", count=3, max_pods=250, vnet_subnet_id="{{ network.subnet_ids.nodes }}",
                                 pod_subnet_id="{{ network.subnet_ids.pods }}"))
    args.update(overrides)
    return args


# --- starting points made straight through ARM (as another tool would have left them) --------------
def make_group(emulator, group):
    Arm(emulator).create_group(group, LOCATION)


def make_cluster(emulator, group, name, network_profile, pool=None, wait=True):
    """Create a cluster straight through ARM; the stored cluster, or the running Operation when not waiting."""
    arm = Arm(emulator)
    arm.create_group(group, LOCATION)
    body = {"location": LOCATION, "identity": {"type": "SystemAssigned"},
            "properties": {"dnsPrefix": name, "networkProfile": network_profile,
                           "agentPoolProfiles": [dict({"name": "system", "mode": "System", "count": 3,
                                                       "vmSize": "Standard_D4ds_v5", "osType": "Linux"}, **(pool or {}))]}}
    return arm.create_cluster(group, name, body, wait=wait)


def stored(emulator, group, name):
    return Arm(emulator).cluster(group, name)


# --- both modes from nothing, idempotency, delete ------------------------------------------------
def test_overlay_from_nothing_rerun_sends_no_writes_then_delete(emulator, ansible):
    group, name = unique("e2e-aks"), unique("ov")
    text = playbook(group_task(group), task("aks_cilium_cluster", overlay_args(group, name), name="cluster"))
    first, sent = run_logged(emulator, ansible, text)
    assert first.rc == 0, first.stdout
    result = first.task("cluster")
    assert result["changed"] and result["operations"] == ["create"]
    assert kinds(sent) == ["PUT resourcegroups", "PUT managedclusters"]
    network = result["cluster"]["networkProfile"]
    assert (network["networkPlugin"], network["networkPluginMode"], network["networkDataplane"], network["networkPolicy"],
            network["podCidr"]) == ("azure", "overlay", "cilium", "cilium", "192.168.0.0/16")
    assert result["cluster"]["provisioningState"] == "Succeeded" and result["cluster"]["fqdn"]
    assert "kubeconfig" not in json.dumps(result).lower()

    second, sent = run_logged(emulator, ansible, text)
    assert second.rc == 0, second.stdout
    assert second.changed_tasks == [] and sent == []
    assert second.task("cluster")["operations"] == []

    delete = playbook(task("aks_cilium_cluster", dict(name=name, resource_group=group, state="absent"), name="delete"))
    gone, sent = run_logged(emulator, ansible, delete)
    assert gone.rc == 0, gone.stdout
    assert gone.task("delete")["operations"] == ["delete"] and kinds(sent) == ["DELETE managedclusters"]
    again, sent = run_logged(emulator, ansible, delete)
    assert again.rc == 0 and again.changed_tasks == [] and sent == []


def test_vnet_mode_from_nothing_rerun_sends_no_writes(emulator, ansible):
    group, name = unique("e2e-aks"), unique("vn")
    text = playbook(vnet_task(group), task("aks_cilium_cluster", vnet_args(group, name), name="cluster"))
    first, sent = run_logged(emulator, ansible, text)
    assert first.rc == 0, first.stdout
    assert first.task("cluster")["operations"] == ["create", "subnet-role-assignment"]
    # Network Contributor for the cluster's identity on the node and pod subnets (test_subnet_role_assignment.py)
    assert kinds(sent) == ["PUT resourcegroups", "PUT virtualnetworks", "PUT managedclusters", "PUT roleassignments",
                           "PUT roleassignments"]
    cluster = first.task("cluster")["cluster"]
    assert "networkPluginMode" not in cluster["networkProfile"]
    assert cluster["networkProfile"]["networkDataplane"] == "cilium"
    pool = cluster["agentPoolProfiles"][0]
    assert pool["maxPods"] == 250
    assert pool["vnetSubnetID"].lower().endswith("/subnets/nodes") and pool["podSubnetID"].lower().endswith("/subnets/pods")

    second, sent = run_logged(emulator, ansible, text)
    assert second.rc == 0, second.stdout
    assert second.changed_tasks == [] and sent == []


def test_update_merges_and_keeps_what_the_task_does_not_mention(emulator, ansible):
    group, name = unique("e2e-aks"), unique("up")
    make_cluster(emulator, group, name, {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium",
                                         "networkPolicy": "cilium", "podCidr": "192.168.0.0/16",
                                         "loadBalancerProfile": {"managedOutboundIPs": {"count": 2}}},
                 pool={"availabilityZones": ["1", "2"]})
    text = playbook(task("aks_cilium_cluster", dict(name=name, resource_group=group, tags={"env": "e2e"},
                                                    system_pool=dict(count=4)), name="cluster"))
    done, sent = run_logged(emulator, ansible, text, diff=True)
    assert done.rc == 0, done.stdout
    result = done.task("cluster")
    assert result["operations"] == ["update"] and kinds(sent) == ["PUT managedclusters"]
    assert result["diff"]["before"]["agentPoolProfiles"] == {"system": {"count": 3}}
    assert result["diff"]["after"]["agentPoolProfiles"] == {"system": {"count": 4}}
    assert result["diff"]["after"]["tags"] == {"env": "e2e"}
    assert set(result["diff"]["after"]) == {"agentPoolProfiles", "tags"}
    after = stored(emulator, group, name)
    assert after["properties"]["networkProfile"]["loadBalancerProfile"]["managedOutboundIPs"] == {"count": 2}
    assert after["properties"]["agentPoolProfiles"][0]["availabilityZones"] == ["1", "2"]
    assert after["properties"]["dnsPrefix"] == name


# --- check mode and diff --------------------------------------------------------------------------
def test_check_mode_sends_no_writes_and_reports_the_diff(emulator, ansible):
    group, name = unique("e2e-aks"), unique("ck")
    make_group(emulator, group)
    text = playbook(task("aks_cilium_cluster", overlay_args(group, name), name="cluster"),
                    task("aks_cilium_cluster_info", dict(name=name, resource_group=group), name="info"))
    checked, sent = run_logged(emulator, ansible, text, check=True, diff=True)
    assert checked.rc == 0, checked.stdout
    assert sent == []
    result = checked.task("cluster")
    assert result["changed"] and result["operations"] == ["create"]
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["networkProfile"]["networkDataplane"] == "cilium"
    assert checked.task("info")["clusters"] == []  # nothing was created

    make_cluster(emulator, group, name, {"networkPlugin": "azure", "networkPluginMode": "overlay",
                                         "networkDataplane": "azure", "podCidr": "192.168.0.0/16"})
    migrate = playbook(task("aks_cilium_cluster", overlay_args(group, name, allow_migration=True), name="cluster"))
    checked, sent = run_logged(emulator, ansible, migrate, check=True, diff=True)
    assert checked.rc == 0, checked.stdout
    assert sent == []
    result = checked.task("cluster")
    assert result["operations"] == ["migrate-dataplane"]
    assert result["diff"] == {"before": {"networkProfile": {"networkDataplane": "azure", "networkPolicy": "none"}},
                              "after": {"networkProfile": {"networkDataplane": "cilium", "networkPolicy": "cilium"}}}
    assert stored(emulator, group, name)["properties"]["networkProfile"]["networkDataplane"] == "azure"


# --- every bad input fails before any write ---------------------------------------------------------
def bad_cases():
    ids = "{{ network.subnet_ids.nodes }}", "{{ network.subnet_ids.pods }}"

    def sibling(vnet, subnet):  # a subnet ID next to the node subnet's
        return "{{ network.subnet_ids.nodes | regex_replace('(?i)/virtualNetworks/vnet/subnets/nodes$', '/virtualNetworks/%s/subnets/%s') }}" % (
            vnet, subnet)
    return [
        ("max-pods-range", dict(system_pool=dict(max_pods=300))),
        ("max-pods-pool-capacity", dict(system_pool=dict(max_pods=10, count=2))),
        ("pool-name", dict(system_pool=dict(name="System"))),
        ("autoscaler-bounds", dict(system_pool=dict(enable_auto_scaling=True, min_count=3, max_count=2))),
        ("linux-only", dict(system_pool=dict(os_sku="Windows2022"))),
        ("cidr-syntax", dict(pod_cidr="192.168.0.1/16")),
        ("service-cidr-size", dict(service_cidr="10.0.0.0/11", dns_service_ip="10.0.0.10")),
        ("dns-ip-in-service-cidr", dict(service_cidr="10.0.0.0/16", dns_service_ip="10.1.0.10")),
        ("dns-ip-not-first", dict(service_cidr="10.0.0.0/16", dns_service_ip="10.0.0.1")),
        ("service-dns-pair", dict(service_cidr="10.0.0.0/16")),
        ("reserved-ranges", dict(pod_cidr="172.31.0.0/16")),
        ("pod-service-overlap", dict(pod_cidr="10.0.0.0/8")),
        ("pod-cidr-overlay-only", dict(ipam_mode="vnet", pod_cidr="192.168.0.0/16",
                                       system_pool=dict(vnet_subnet_id=ids[0], pod_subnet_id=ids[1]))),
        ("pod-subnet-vnet-only", dict(system_pool=dict(vnet_subnet_id=ids[0], pod_subnet_id=ids[1]))),
        ("vnet-subnets-required", dict(ipam_mode="vnet", pod_cidr=None, system_pool=dict(vnet_subnet_id=ids[0]))),
        ("subnet-id-format", dict(ipam_mode="vnet", pod_cidr=None, system_pool=dict(vnet_subnet_id="nodes", pod_subnet_id=ids[1]))),
        ("vnet-subnets-different", dict(ipam_mode="vnet", pod_cidr=None, system_pool=dict(vnet_subnet_id=ids[0], pod_subnet_id=ids[0]))),
        ("vnet-subnets-same-vnet", dict(ipam_mode="vnet", pod_cidr=None,
                                        system_pool=dict(vnet_subnet_id=ids[0], pod_subnet_id=sibling("other", "pods")))),
        ("subnets-exist", dict(ipam_mode="vnet", pod_cidr=None,
                               system_pool=dict(vnet_subnet_id=ids[0], pod_subnet_id=sibling("vnet", "missing")))),
        ("subnet-capacity", dict(ipam_mode="vnet", pod_cidr=None,
                                 system_pool=dict(count=20, vnet_subnet_id=ids[0], pod_subnet_id=ids[1]))),
        ("service-cidr-subnet-overlap", dict(ipam_mode="vnet", pod_cidr=None, service_cidr="192.168.16.0/24",
                                             dns_service_ip="192.168.16.10",
                                             system_pool=dict(vnet_subnet_id=ids[0], pod_subnet_id=ids[1]))),
        ("vnet-overlap", dict(system_pool=dict(vnet_subnet_id=ids[0]))),  # overlay pod CIDR 192.168.0.0/16 vs the VNet
    ]


def test_every_bad_input_fails_with_its_rule_and_no_write(emulator, ansible):
    group, name = unique("e2e-aks"), unique("bad")
    cases = bad_cases()
    tasks = [vnet_task(group)]
    for index, (rule, overrides) in enumerate(cases):
        tasks.append(task("aks_cilium_cluster", overlay_args(group, name, **overrides), name="case %d %s" % (index, rule),
                          ignore_errors=True))
    done, sent = run_logged(emulator, ansible, playbook(*tasks))
    assert kinds(sent) == ["PUT resourcegroups", "PUT virtualnetworks"]  # the network task's, none from the cluster tasks
    for index, (rule, _overrides) in enumerate(cases):
        name_ = "case %d %s" % (index, rule)
        assert done.status(name_) == "ignored", (name_, done.task(name_))
        result = done.task(name_)
        assert rule in result.get("failed_rules", []), (name_, result["msg"])
        assert "[%s]" % rule in result["msg"]


def test_impossible_changes_fail_with_the_reason_and_no_write(emulator, ansible):
    group, name = unique("e2e-aks"), unique("imm")
    make_cluster(emulator, group, name, {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium",
                                         "networkPolicy": "cilium", "podCidr": "192.168.0.0/16"}, pool={"maxPods": 250})
    cases = [
        ("service CIDR", dict(service_cidr="10.1.0.0/16", dns_service_ip="10.1.0.10"), "the service CIDR is fixed at creation"),
        ("overlay off", dict(ipam_mode="vnet", pod_cidr=None), "overlay cannot be turned off"),
        ("max pods", dict(system_pool=dict(max_pods=110)), "max_pods of an existing node pool cannot change"),
        ("pod cidr shrink", dict(pod_cidr="192.168.0.0/17"), "can only be expanded"),
    ]
    tasks = [task("aks_cilium_cluster", overlay_args(group, name, **over), name=label, ignore_errors=True)
             for label, over, _reason in cases]
    done, sent = run_logged(emulator, ansible, playbook(*tasks))
    assert sent == []
    for label, _over, reason in cases:
        assert done.status(label) == "ignored"
        assert reason in done.task(label)["msg"], done.task(label)["msg"]


# --- migrations ------------------------------------------------------------------------------------
def test_migration_azure_to_cilium_needs_permission_then_is_one_put(emulator, ansible):
    group, name = unique("e2e-aks"), unique("dp")
    make_cluster(emulator, group, name, {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "azure",
                                         "networkPolicy": "none", "podCidr": "192.168.0.0/16"})
    text = playbook(task("aks_cilium_cluster", overlay_args(group, name), name="refused", ignore_errors=True),
                    task("aks_cilium_cluster", overlay_args(group, name, allow_migration=True), name="migrate"),
                    task("aks_cilium_cluster", overlay_args(group, name, allow_migration=True), name="again"))
    done, sent = run_logged(emulator, ansible, text)
    assert done.rc == 0, done.stdout
    assert done.status("refused") == "ignored"
    assert "set allow_migration: true" in done.task("refused")["msg"]
    assert done.task("migrate")["operations"] == ["migrate-dataplane"]
    assert done.status("again") == "ok" and done.task("again")["operations"] == []
    assert kinds(sent) == ["PUT managedclusters"]  # the one migration; the refusal and the re-run wrote nothing
    body = sent[0]["body"]  # the whole cluster, both fields in the same request, no read-only fields
    network = body["properties"]["networkProfile"]
    assert (network["networkDataplane"], network["networkPolicy"], network["podCidr"]) == ("cilium", "cilium", "192.168.0.0/16")
    assert body["properties"]["agentPoolProfiles"][0]["name"] == "system" and body["identity"]["type"] == "SystemAssigned"
    assert "provisioningState" not in body["properties"] and "id" not in body
    network = stored(emulator, group, name)["properties"]["networkProfile"]
    assert (network["networkDataplane"], network["networkPolicy"]) == ("cilium", "cilium")


def test_migration_kubenet_to_overlay_then_cilium_in_separate_puts(emulator, ansible):
    group, name = unique("e2e-aks"), unique("kn")
    make_cluster(emulator, group, name, {"networkPlugin": "kubenet", "podCidr": "10.244.0.0/16"})
    text = playbook(task("aks_cilium_cluster", dict(name=name, resource_group=group, ipam_mode="overlay", allow_migration=True),
                         name="cluster"))
    done, sent = run_logged(emulator, ansible, text)
    assert done.rc == 0, done.stdout
    result = done.task("cluster")
    assert result["operations"] == ["migrate-ipam", "migrate-dataplane"]
    # the emulator, like AKS, refuses IPAM and dataplane in one request and cilium on kubenet: two PUTs, IPAM first
    assert kinds(sent) == ["PUT managedclusters", "PUT managedclusters"]
    first, second = [entry["body"]["properties"]["networkProfile"] for entry in sent]
    assert (first["networkPlugin"], first["networkPluginMode"], first["networkDataplane"]) == ("azure", "overlay", "azure")
    assert (second["networkPluginMode"], second["networkDataplane"], second["networkPolicy"]) == ("overlay", "cilium", "cilium")
    network = stored(emulator, group, name)["properties"]["networkProfile"]
    assert (network["networkPlugin"], network["networkPluginMode"], network["networkDataplane"], network["networkPolicy"],
            network["podCidr"]) == ("azure", "overlay", "cilium", "cilium", "10.244.0.0/16")


# --- operations already running, faults ---------------------------------------------------------------
def test_a_cluster_still_creating_is_waited_for(emulator, ansible):
    group, name = unique("e2e-aks"), unique("slow")
    emulator.add_fault(method="PUT", path=CLUSTER_PATH % name, provision_delay=15)  # ansible-playbook may take 5 s to start on a busy machine
    make_cluster(emulator, group, name, {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium",
                                         "networkPolicy": "cilium", "podCidr": "192.168.0.0/16"}, wait=False)
    assert stored(emulator, group, name)["properties"]["provisioningState"] == "Creating"
    started = time.time()
    done, sent = run_logged(emulator, ansible, playbook(task("aks_cilium_cluster", overlay_args(group, name), name="cluster")))
    assert done.rc == 0, done.stdout
    result = done.task("cluster")
    assert result["waited_for_pending_operation"] is True
    assert not result["changed"] and sent == []
    assert result["cluster"]["provisioningState"] == "Succeeded"
    assert time.time() - started < 60


def test_throttling_and_server_errors_are_retried(emulator, ansible):
    group, name = unique("e2e-aks"), unique("flt")
    make_group(emulator, group)
    emulator.add_fault(method="GET", path=CLUSTER_PATH % name, status=429, headers={"Retry-After": "1"})
    emulator.add_fault(method="PUT", path=CLUSTER_PATH % name, status=503, headers={"Retry-After": "1"})
    started = time.time()
    done, sent = run_logged(emulator, ansible, playbook(task("aks_cilium_cluster", overlay_args(group, name), name="cluster")))
    assert done.rc == 0, done.stdout
    assert done.task("cluster")["operations"] == ["create"]
    statuses = [(e["method"], e["status"]) for e in emulator.requests(since=started) if name in e["path"]]
    assert ("GET", 429) in statuses and ("PUT", 503) in statuses
    assert [e["status"] for e in sent if e["method"] == "PUT"][-1] in (200, 201)


def test_a_failed_long_running_operation_is_reported_clearly(emulator, ansible):
    group, name = unique("e2e-aks"), unique("lro")
    make_group(emulator, group)
    emulator.add_fault(method="PUT", path=CLUSTER_PATH % name, lro="Failed",
                       error={"code": "VMExtensionProvisioningError", "message": "Node bootstrap failed"})
    done = ansible(playbook(task("aks_cilium_cluster", overlay_args(group, name), name="cluster")))
    assert done.rc != 0
    msg = done.task("cluster")["msg"]
    assert "Operation create on cluster %s/%s failed" % (group, name) in msg
    assert "VMExtensionProvisioningError" in msg and "Node bootstrap failed" in msg


def test_persistent_server_errors_fail_with_the_status(emulator, ansible):
    group, name = unique("e2e-aks"), unique("err")
    emulator.add_fault(method="GET", path=CLUSTER_PATH % name, status=503, headers={"Retry-After": "1"}, count=-1)
    try:
        done, sent = run_logged(emulator, ansible, playbook(task("aks_cilium_cluster", overlay_args(group, name), name="cluster")))
    finally:
        emulator.clear_faults()
    assert done.rc != 0 and sent == []
    msg = done.task("cluster")["msg"]
    assert "Reading cluster %s/%s failed" % (group, name) in msg


# --- info ------------------------------------------------------------------------------------------
def test_info_reads_one_or_all_clusters_with_a_query(emulator, ansible):
    group, name = unique("e2e-aks"), unique("inf")
    make_cluster(emulator, group, name, {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium",
                                         "networkPolicy": "cilium", "podCidr": "192.168.0.0/16"})
    text = playbook(
        task("aks_cilium_cluster_info", dict(name=name, resource_group=group, query="networkProfile.networkDataplane"),
             name="one"),
        task("aks_cilium_cluster_info", dict(resource_group=group, query="[].{name: name, group: resourceGroup, ip: networkProfile.dnsServiceIp}"),
             name="all"),
        task("aks_cilium_cluster_info", dict(name="nope", resource_group=group), name="missing"))
    done, sent = run_logged(emulator, ansible, text, check=True)
    assert done.rc == 0, done.stdout
    assert sent == []
    assert done.task("one")["query_result"] == "cilium"
    assert done.task("one")["clusters"][0]["properties"]["networkProfile"]["networkPluginMode"] == "overlay"
    assert done.task("all")["query_result"] == [{"name": name, "group": group, "ip": "10.0.0.10"}]  # az's spelling
    assert done.task("missing")["clusters"] == []


def test_info_bad_query_fails_before_any_request(emulator, ansible):
    started = time.time()
    done = ansible(playbook(task("aks_cilium_cluster_info", dict(resource_group="rg", query="networkProfile.["), name="info")))
    assert done.rc != 0 and "Invalid query 'networkProfile.['" in done.task("info")["msg"]
    assert [e for e in emulator.requests(since=started) if "managedClusters" in e["path"]] == []
