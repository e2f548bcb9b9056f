"""The real kubectl against an emulated AKS Cilium cluster: reading, rollouts, policies, apply flavours, diff."""

import re
import time

from tests.emulator_tests.k8s_fixtures import k8s_ca, k8s_cluster, k8s_factory, kubectl  # noqa: F401  pylint: disable=unused-import

# pylint: disable=redefined-outer-name

POLICY = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: allow-dns
  namespace: default
spec:
  endpointSelector:
    matchLabels:
      app: web
  egress:
  - toEndpoints:
    - matchLabels:
        k8s:io.kubernetes.pod.namespace: kube-system
        k8s-app: kube-dns
    toPorts:
    - ports:
      - port: "53"
        protocol: UDP
"""
CLUSTERWIDE = """\
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: lockdown
spec:
  endpointSelector: {}
  ingressDeny:
  - fromEntities: [world]
  ingress:
  - fromEntities: [all]
"""


def rows(output):
    """Table output as a list of column lists (header first)."""
    return [line.split() for line in output.strip().splitlines()]


def test_get_pods_with_labels(kubectl):
    table = rows(kubectl("get", "po", "-n", "kube-system", "--show-labels").stdout)
    assert table[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "LABELS"]
    cilium = [r for r in table[1:] if re.fullmatch(r"cilium-[bcdfghjklmnpqrstvwxz2456789]{5}", r[0])]
    assert len(cilium) == 3 and len(table) == 1 + 3 * 4 + 2 * 4  # four DaemonSets on 3 nodes, four Deployments of 2
    assert all(r[1:4] == ["1/1", "Running", "0"] and "k8s-app=cilium" in r[5].split(",") for r in cilium)


def test_get_all_by_label(kubectl):
    output = kubectl("get", "all", "-n", "kube-system", "-l", "k8s-app=cilium").stdout
    assert len(re.findall(r"^pod/cilium-\w{5}\s+1/1\s+Running", output, re.M)) == 3
    assert re.search(r"^NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE$", output, re.M)
    assert re.search(r"^daemonset.apps/cilium\s+3\s+3\s+3\s+3\s+3\s+<none>\s", output, re.M)  # node affinity
    assert "deployment" not in output


def test_api_resources_lists_the_cilium_crds(kubectl):
    lines = [line.split() for line in kubectl("api-resources").stdout.splitlines() if "cilium" in line]
    by_name = {line[0]: line[1:] for line in lines}
    assert by_name["ciliumnetworkpolicies"] == ["cnp,ciliumnp", "cilium.io/v2", "true", "CiliumNetworkPolicy"]
    assert by_name["ciliumclusterwidenetworkpolicies"] == ["ccnp", "cilium.io/v2", "false", "CiliumClusterwideNetworkPolicy"]
    assert by_name["ciliumendpoints"][:2] == ["cep,ciliumep", "cilium.io/v2"]
    assert {"ciliumnodes", "ciliumidentities"} <= set(by_name)


def test_rollout_restart_and_status_of_the_cilium_daemonset(kubectl, k8s_cluster):
    before = {p["metadata"]["name"] for p in k8s_cluster.store.objects("/pods", "kube-system")}
    assert kubectl("rollout", "restart", "ds", "cilium", "-n", "kube-system").stdout.strip() == "daemonset.apps/cilium restarted"
    status = kubectl("rollout", "status", "ds/cilium", "-n", "kube-system", "--timeout=60s").stdout
    assert status.strip().splitlines()[-1] == 'daemon set "cilium" successfully rolled out'
    ds = kubectl.json("get", "ds", "cilium", "-n", "kube-system")
    assert "kubectl.kubernetes.io/restartedAt" in ds["spec"]["template"]["metadata"]["annotations"]
    assert ds["status"]["updatedNumberScheduled"] == ds["status"]["numberAvailable"] == 3
    after = {p["metadata"]["name"] for p in k8s_cluster.store.objects("/pods", "kube-system") if p["metadata"]["name"].count("-") == 1}
    assert len(after) == 3 and not after & before


def test_rollout_restart_of_the_operator_deployment(kubectl):
    assert kubectl("rollout", "restart", "deploy", "cilium-operator", "-n", "kube-system").stdout.strip() == \
        "deployment.apps/cilium-operator restarted"
    status = kubectl("rollout", "status", "deploy/cilium-operator", "-n", "kube-system", "--timeout=60s").stdout
    assert status.strip().splitlines()[-1] == 'deployment "cilium-operator" successfully rolled out'
    replica_sets = rows(kubectl("get", "rs", "-n", "kube-system", "-l", "name=cilium-operator").stdout)[1:]
    assert sorted(r[1:4] for r in replica_sets) == [["0", "0", "0"], ["2", "2", "2"]]
    kubectl("wait", "--for=condition=Available", "deploy/cilium-operator", "-n", "kube-system", "--timeout=30s")


def test_rollout_status_reports_a_stuck_rollout(kubectl, k8s_cluster):
    kubectl("patch", "deploy", "coredns", "-n", "kube-system", "-p", '{"spec":{"progressDeadlineSeconds":1}}')
    k8s_cluster.stall("k8s-app=kube-dns")
    kubectl("rollout", "restart", "deploy", "coredns", "-n", "kube-system")
    result = kubectl("rollout", "status", "deploy/coredns", "-n", "kube-system", "--timeout=30s", check=False)
    assert result.returncode == 1 and 'deployment "coredns" exceeded its progress deadline' in result.stderr
    stuck = [r for r in rows(kubectl("get", "po", "-n", "kube-system", "-l", "k8s-app=kube-dns").stdout)[1:] if r[2] != "Running"]
    assert stuck and {r[2] for r in stuck} == {"CrashLoopBackOff"}


def test_apply_a_policy_then_list_it(kubectl):
    path = kubectl.write("policy.yaml", POLICY)
    assert kubectl("apply", "-f", path).stdout.strip() == "ciliumnetworkpolicy.cilium.io/allow-dns created"
    assert kubectl("apply", "-f", path).stdout.strip() == "ciliumnetworkpolicy.cilium.io/allow-dns unchanged"
    changed = kubectl.write("changed.yaml", POLICY.replace('"53"', '"5353"'))
    assert kubectl("apply", "-f", changed).stdout.strip() == "ciliumnetworkpolicy.cilium.io/allow-dns configured"
    live = kubectl.json("get", "cnp", "allow-dns", "-n", "default")
    assert live["spec"]["egress"][0]["toPorts"][0]["ports"][0]["port"] == "5353" and live["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in live["metadata"]["annotations"]
    deadline = time.monotonic() + 10
    while True:
        table = rows(kubectl("get", "cnp", "-A").stdout)
        if table[1][-1] == "True" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert table[0] == ["NAMESPACE", "NAME", "AGE", "VALID"] and table[1][:2] == ["default", "allow-dns"] and table[1][3] == "True"


def test_clusterwide_policies(kubectl):
    empty = kubectl("get", "ccnp")
    assert empty.stdout == "" and empty.stderr.strip() == "No resources found"
    kubectl("apply", "-f", kubectl.write("ccnp.yaml", CLUSTERWIDE))
    table = rows(kubectl("get", "ccnp").stdout)
    assert table[0] == ["NAME", "VALID"] and table[1][0] == "lockdown"


def test_invalid_policies_are_refused_with_the_apiservers_words(kubectl):
    broken = kubectl.write("broken.yaml", POLICY.replace("protocol: UDP", "protocol: QUIC"))
    result = kubectl("apply", "-f", broken, check=False)
    assert result.returncode == 1
    assert ('The CiliumNetworkPolicy "allow-dns" is invalid: spec.egress[0].toPorts[0].ports[0].protocol: '
            'Unsupported value: "QUIC"') in result.stderr
    unknown = kubectl.write("unknown.yaml", POLICY.replace("  endpointSelector:", "  endpointSelectr: {}\n  endpointSelector:"))
    result = kubectl("apply", "-f", unknown, check=False)
    assert result.returncode == 1 and 'strict decoding error: unknown field "spec.endpointSelectr"' in result.stderr


def test_server_side_apply_and_conflicts(kubectl):
    path = kubectl.write("policy.yaml", POLICY)
    assert kubectl("apply", "--server-side", "-f", path).stdout.strip() == "ciliumnetworkpolicy.cilium.io/allow-dns serverside-applied"
    managed = kubectl.json("get", "cnp", "allow-dns", "-n", "default", "--show-managed-fields")["metadata"]["managedFields"]
    assert [(m["manager"], m["operation"]) for m in managed if m.get("subresource") != "status"] == [("kubectl", "Apply")]
    other = kubectl.write("other.yaml", POLICY.replace('"53"', '"5353"'))
    result = kubectl("apply", "--server-side", "--field-manager=team", "-f", other, check=False)
    assert result.returncode == 1 and 'Apply failed with 1 conflict: conflict with "kubectl": .spec.egress' in result.stderr
    assert kubectl("apply", "--server-side", "--field-manager=team", "--force-conflicts", "-f", other).returncode == 0
    assert kubectl.json("get", "cnp", "allow-dns", "-n", "default")["spec"]["egress"][0]["toPorts"][0]["ports"][0]["port"] == "5353"


def test_server_dry_run_changes_nothing(kubectl):
    path = kubectl.write("policy.yaml", POLICY)
    assert kubectl("apply", "--dry-run=server", "-f", path).stdout.strip() == \
        "ciliumnetworkpolicy.cilium.io/allow-dns created (server dry run)"
    assert kubectl("get", "cnp", "-n", "default", check=False).stderr.strip() == "No resources found in default namespace."
    kubectl("apply", "-f", path)
    before = kubectl.json("get", "cnp", "allow-dns", "-n", "default")["metadata"]["resourceVersion"]
    changed = kubectl.write("changed.yaml", POLICY.replace("app: web", "app: api"))
    assert kubectl("apply", "--dry-run=server", "-f", changed).stdout.strip() == \
        "ciliumnetworkpolicy.cilium.io/allow-dns configured (server dry run)"
    after = kubectl.json("get", "cnp", "allow-dns", "-n", "default")
    assert after["metadata"]["resourceVersion"] == before and after["spec"]["endpointSelector"]["matchLabels"] == {"app": "web"}


def test_diff_shows_pending_changes(kubectl):
    path = kubectl.write("policy.yaml", POLICY)
    kubectl("apply", "-f", path)
    assert kubectl("diff", "-f", path).returncode == 0
    result = kubectl("diff", "-f", kubectl.write("changed.yaml", POLICY.replace('"53"', '"5353"')), check=False)
    assert result.returncode == 1
    assert '-      - port: "53"' in result.stdout and '+      - port: "5353"' in result.stdout
    assert "-  generation: 1" in result.stdout and "+  generation: 2" in result.stdout
    result = kubectl("diff", "--server-side", "-f", kubectl.write("ds.yaml", POLICY.replace("allow-dns", "new-one")), check=False)
    assert result.returncode == 1 and "+  name: new-one" in result.stdout


def test_wide_output_and_builtin_apply(kubectl):
    nodes = rows(kubectl("get", "nodes", "-o", "wide").stdout)
    assert nodes[0][:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"] and nodes[1][1:3] == ["Ready", "agent"]
    deploy = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25", env: [{name: A, value: "1"}, {name: B, value: "2"}]}
      - {name: side, image: "busybox:1.36"}
"""
    kubectl("apply", "-f", kubectl.write("deploy.yaml", deploy))
    trimmed = deploy.replace('{name: B, value: "2"}', "").replace(', ]', "]").replace('      - {name: side, image: "busybox:1.36"}\n', "")
    assert kubectl("apply", "-f", kubectl.write("trimmed.yaml", trimmed)).stdout.strip() == "deployment.apps/web configured"
    live = kubectl.json("get", "deploy", "web", "-n", "default")
    assert [(c["name"], [e["name"] for e in c["env"]]) for c in live["spec"]["template"]["spec"]["containers"]] == [("web", ["A"])]
    kubectl("rollout", "status", "deploy/web", "-n", "default", "--timeout=30s")
    kubectl("scale", "deploy/web", "-n", "default", "--replicas=3")
    kubectl("rollout", "status", "deploy/web", "-n", "default", "--timeout=30s")
    assert rows(kubectl("get", "deploy", "web", "-n", "default").stdout)[1][1] == "3/3"


def test_kubectl_create_sends_protobuf_that_the_server_reads(kubectl):
    kubectl("create", "namespace", "demo")
    kubectl("create", "configmap", "settings", "-n", "demo", "--from-literal=mode=strict", "--from-literal=level=3")
    kubectl("create", "secret", "generic", "token", "-n", "demo", "--from-literal=key=s3cr3t")
    kubectl("create", "serviceaccount", "bot", "-n", "demo")
    kubectl("create", "deployment", "web", "-n", "demo", "--image=nginx:1.25", "--replicas=2", "--port=80")
    kubectl("create", "service", "nodeport", "web", "-n", "demo", "--tcp=80:8080")
    assert kubectl.json("get", "ns", "demo")["status"]["phase"] == "Active"
    assert kubectl.json("get", "cm", "settings", "-n", "demo")["data"] == {"mode": "strict", "level": "3"}
    assert kubectl.json("get", "secret", "token", "-n", "demo")["data"] == {"key": "czNjcjN0"}
    spec = kubectl.json("get", "deploy", "web", "-n", "demo")["spec"]
    assert spec["replicas"] == 2 and spec["selector"] == {"matchLabels": {"app": "web"}}
    assert spec["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    service = kubectl.json("get", "svc", "web", "-n", "demo")["spec"]
    assert service["type"] == "NodePort" and service["ports"][0]["targetPort"] == 8080 and service["ports"][0]["nodePort"] >= 30000
    kubectl("rollout", "status", "deploy/web", "-n", "demo", "--timeout=30s")
    assert "bot" in kubectl("get", "sa", "-n", "demo").stdout


def test_auth_can_i_and_whoami(kubectl):
    assert kubectl("auth", "can-i", "patch", "daemonsets", "-n", "kube-system").stdout.strip() == "yes"
    assert "masterclient" in kubectl("auth", "whoami").stdout
