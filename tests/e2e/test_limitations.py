# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The seed's limitations checked on live workloads (playbooks/limitations.yml, cilium_status
check_workloads) on emulated Cilium 1.16 and 1.18 clusters, and identity label exclusions
(cilium_identity_labels) with the agents' restart, cross-checked with the real kubectl."""

from __future__ import annotations

import json
import os
import time
import uuid

import yaml

from tests.e2e.arm import Arm
from tests.e2e.conftest import KubeCluster, cluster_body, write_kubeconfig
from tests.emulator.requestlog import writes

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK_TASK = "Read Cilium's status and check the workloads"
TABLE_TASK = "Print the findings as a table"
SHARED_IP = "20.61.1.10"
WORKLOADS = """
apiVersion: v1
kind: Service
metadata: {name: dns-tcp, namespace: default, annotations: {service.beta.kubernetes.io/azure-load-balancer-ipv4: %(ip)s}}
spec: {type: LoadBalancer, selector: {app: dns-tcp}, ports: [{port: 53, protocol: TCP}]}
---
apiVersion: v1
kind: Service
metadata: {name: dns-udp, namespace: default, annotations: {service.beta.kubernetes.io/azure-load-balancer-ipv4: %(ip)s}}
spec: {type: LoadBalancer, selector: {app: dns-udp}, ports: [{port: 53, protocol: UDP}]}
---
apiVersion: v1
kind: Pod
metadata: {name: node-exporter, namespace: default, labels: {app: node-exporter}}
spec: {hostNetwork: true, containers: [{name: exporter, image: prom/node-exporter}]}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: exporter-ingress, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: node-exporter}}
  ingress: [{fromEntities: [cluster]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-nodes, namespace: default}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress: [{from: [{ipBlock: {cidr: 10.224.0.0/16}}]}]
"""


def make_cluster(emulator, tmp_path, kubernetes_version):
    """An overlay + Cilium cluster of the given Kubernetes version, created through ARM like the product does."""
    arm = Arm(emulator)
    arm.create_group("e2e-limits")
    name = "aks-" + uuid.uuid4().hex[:8]
    body = cluster_body(node_count=3)
    body["properties"]["kubernetesVersion"] = kubernetes_version
    arm.create_cluster("e2e-limits", name, body)
    home = tmp_path / ("home-" + name)
    path = write_kubeconfig(home, arm.kubeconfig("e2e-limits", name))
    return KubeCluster(name, "e2e-limits", path, emulator.ca_path, str(home)), lambda: arm.delete_cluster(
        "e2e-limits", name, wait=False)


def apply(cluster, text, tmp_path):
    manifest = tmp_path / ("manifest-%s.yaml" % uuid.uuid4().hex[:6])
    manifest.write_text(text)
    cluster.kubectl("apply", "-f", str(manifest))


def until(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def limitations(ansible, cluster):
    run = ansible(os.path.join(REPO, "playbooks", "limitations.yml"), extra_vars={"azcni_kubeconfig": cluster.kubeconfig_path})
    assert run.rc == 0, run.stdout
    return run.task(CHECK_TASK), run.task(TABLE_TASK)["msg"]


def identity_count(cluster):
    """What the real kubectl lists."""
    return len(cluster.kubectl("get", "ciliumidentities", "-o", "name").stdout.split())


def test_limitations_on_cilium_116_and_118(emulator, ansible, tmp_path):
    old, delete_old = make_cluster(emulator, tmp_path, "1.31")
    new, delete_new = make_cluster(emulator, tmp_path, "1.34")
    try:
        for cluster in (old, new):
            apply(cluster, WORKLOADS % {"ip": SHARED_IP}, tmp_path)
            until(lambda c=cluster: json.loads(c.kubectl("get", "pod", "node-exporter", "-o", "json").stdout)
                  ["status"].get("phase") == "Running")

        status, table = limitations(ansible, old)
        assert status["version"].startswith("1.16.")
        findings = status["workload_findings"]
        by_id = {}
        for finding in findings:
            by_id.setdefault(finding["id"], []).append(finding)
            assert set(finding) >= {"id", "severity", "message", "object"}
        ports = by_id["service-port-protocols"]
        assert len(ports) == 1 and ports[0]["object"] == "Service default/dns-tcp"
        assert "Service default/dns-udp" in ports[0]["message"] and "%s:53" % SHARED_IP in ports[0]["message"]
        hostnet = [f for f in by_id["hostnetwork-policy"] if f["object"] == "CiliumNetworkPolicy default/exporter-ingress"]
        assert len(hostnet) == 1 and "default/node-exporter" in hostnet[0]["message"]
        cidr = [f for f in by_id["cidr-pod-node"] if f["object"] == "NetworkPolicy default/allow-nodes"]
        assert len(cidr) == 1 and "10.224.0.0/16" in cidr[0]["message"] and "node aks-" in cidr[0]["message"]
        identities = by_id["identity-limit"]
        assert len(identities) == 1 and identities[0]["count"] == identity_count(old) > 0
        # the table: a header, then one line per finding naming its object
        assert table[0].startswith("Cilium 1.16.") and table[1].split()[:3] == ["SEVERITY", "ID", "OBJECT"]
        assert any("service-port-protocols" in line and "Service default/dns-tcp" in line for line in table[2:])
        assert len(table) == 2 + len(findings)

        status, table = limitations(ansible, new)
        assert status["version"].startswith("1.18.")
        ids = [f["id"] for f in status["workload_findings"]]
        assert "service-port-protocols" not in ids  # lifted in Cilium 1.17
        assert "hostnetwork-policy" in ids and "cidr-pod-node" in ids
        assert [f["count"] for f in status["workload_findings"] if f["id"] == "identity-limit"] == [identity_count(new)]
        assert not any("service-port-protocols" in line for line in table)
    finally:
        delete_old()
        delete_new()


def identity_labels_playbook(cluster, **args):
    args = dict(dict(kubeconfig=cluster.kubeconfig_path, wait_timeout=120), **args)
    return ("- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - name: labels\n"
            "      azcni.cilium.cilium_identity_labels: %s\n" % json.dumps(args))


def cilium_config(cluster):
    return json.loads(cluster.kubectl("get", "configmap", "cilium-config", "-n", "kube-system", "-o", "json").stdout)["data"]


def agent_pods(cluster):
    out = cluster.kubectl("get", "pods", "-n", "kube-system", "-l", "k8s-app=cilium", "-o", "json").stdout
    return {p["metadata"]["uid"] for p in json.loads(out)["items"]}


SPARK_POD = """
apiVersion: v1
kind: Pod
metadata: {name: spark-exec-%(i)d, namespace: default, labels: {spark-role: executor, spark-app-selector: spark-%(i)d}}
spec: {containers: [{name: executor, image: apache/spark}]}
"""


def test_label_exclusion_changes_one_key_restarts_the_agents_and_converges(ansible, kube_cluster, tmp_path):
    cluster = kube_cluster
    cluster.control("identities", gc_delay=0.5)
    apply(cluster, "---".join(SPARK_POD % {"i": i} for i in range(5)), tmp_path)
    until(lambda: identity_count(cluster) >= 5 + 1)
    before_count = identity_count(cluster)
    before, agents = cilium_config(cluster), agent_pods(cluster)

    checked = ansible(identity_labels_playbook(cluster, exclude=["spark-app-selector"]), check=True, diff=True)
    assert checked.status("labels") == "changed"
    assert cilium_config(cluster) == before and agent_pods(cluster) == agents

    cluster.clear_requests()
    run = ansible(identity_labels_playbook(cluster, exclude=["spark-app-selector"]), diff=True)
    result = run.task("labels")
    assert run.status("labels") == "changed", result
    after = cilium_config(cluster)
    assert after.pop("labels") == "k8s:!spark-app-selector" == result["labels"]
    assert after == before  # 0 other keys changed
    assert result["rollout"]["restarted"] and not agents & agent_pods(cluster)  # every agent replaced
    sent = [(w["method"], w["path"]) for w in writes(cluster.requests())]
    assert sent == [("PATCH", "/api/v1/namespaces/kube-system/configmaps/cilium-config"),
                    ("PATCH", "/apis/apps/v1/namespaces/kube-system/daemonsets/cilium")]

    cluster.clear_requests()
    again = ansible(identity_labels_playbook(cluster, exclude=["spark-app-selector"]))
    assert again.status("labels") == "ok" and writes(cluster.requests()) == []

    # the pods pick the new setting up when recreated: one identity for all executors, the rest collected
    cluster.kubectl("delete", "pod", "-l", "spark-role=executor")
    apply(cluster, "---".join(SPARK_POD % {"i": i} for i in range(5)), tmp_path)
    until(lambda: identity_count(cluster) == before_count - 4, timeout=60)
    status = ansible("- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - name: s\n"
                     "      azcni.cilium.cilium_status: %s\n" % json.dumps(
                         {"kubeconfig": cluster.kubeconfig_path, "check_workloads": True})).task("s")
    found = [f for f in status["workload_findings"] if f["id"] == "identity-limit"]
    assert found[0]["count"] == identity_count(cluster) == before_count - 4
    assert yaml.safe_dump(found)  # plain data
