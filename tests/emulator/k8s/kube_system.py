"""The AKS add-ons beside Cilium in kube-system, and the PodDisruptionBudgets AKS puts on them.

A new AKS cluster runs, besides cilium, cilium-operator and coredns: konnectivity-agent (the API server
tunnel), metrics-server, cloud-node-manager and the Azure Disk / Azure File CSI node drivers on every
node, and azure-cns on every node in the VNet (dynamic pod IP) modes. konnectivity-agent and metrics-server
carry PodDisruptionBudgets (minAvailable 1), as coredns does (aks_seed), which is what makes a node drain wait.
"""

from .api import CONTROLLER

ADDON_LABELS = {"addonmanager.kubernetes.io/mode": "Reconcile", "kubernetes.azure.com/managedby": "aks"}
LINUX = {"kubernetes.io/os": "linux"}
MCR = "mcr.microsoft.com"


def _workload(kind, name, labels, containers, replicas=None, extra_labels=None, **spec):
    template = {"metadata": {"labels": dict(labels)},
                "spec": dict({"containers": [{"name": c, "image": image} for c, image in containers],
                              "nodeSelector": dict(LINUX), "priorityClassName": "system-node-critical",
                              "serviceAccountName": name, "tolerations": [{"operator": "Exists"}]}, **spec)}
    body = {"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": name, "namespace": "kube-system",
                         "labels": dict(ADDON_LABELS, **dict(labels, **(extra_labels or {})))},
            "spec": {"selector": {"matchLabels": dict(labels)}, "template": template}}
    if kind == "Deployment":
        body["spec"]["replicas"] = replicas
        body["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    else:
        body["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
    return body


def _budget(name, labels):
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": "kube-system", "labels": dict(ADDON_LABELS)},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": dict(labels)}}}


def addons(info):
    """(plural, body) of every add-on workload and budget, in the order AKS creates them."""
    konnectivity, metrics = {"app": "konnectivity-agent"}, {"k8s-app": "metrics-server"}
    found = [
        ("deployments", _workload("Deployment", "konnectivity-agent", konnectivity, [
            ("konnectivity-agent", MCR + "/oss/v2/kubernetes/apiserver-network-proxy/agent:v0.30.3-2")], replicas=2,
            extra_labels={"component": "tunnel"})),
        ("deployments", _workload("Deployment", "metrics-server", metrics, [
            ("metrics-server", MCR + "/oss/v2/kubernetes/metrics-server:v0.7.2-5"),
            ("metrics-server-vpa", MCR + "/oss/v2/kubernetes/autoscaler/addon-resizer:v1.8.23-2")], replicas=2,
            priorityClassName="system-cluster-critical")),
        ("daemonsets", _workload("DaemonSet", "cloud-node-manager", {"k8s-app": "cloud-node-manager"}, [
            ("cloud-node-manager", MCR + "/oss/kubernetes/azure-cloud-node-manager:v%s" % _cloud_version(info))],
            hostNetwork=True)),
        ("daemonsets", _workload("DaemonSet", "csi-azuredisk-node", {"app": "csi-azuredisk-node"}, [
            ("liveness-probe", MCR + "/oss/v2/kubernetes-csi/livenessprobe:v2.15.0"),
            ("node-driver-registrar", MCR + "/oss/v2/kubernetes-csi/csi-node-driver-registrar:v2.13.0"),
            ("azuredisk", MCR + "/oss/v2/kubernetes-csi/azuredisk-csi:v1.31.5")], hostNetwork=True)),
        ("daemonsets", _workload("DaemonSet", "csi-azurefile-node", {"app": "csi-azurefile-node"}, [
            ("liveness-probe", MCR + "/oss/v2/kubernetes-csi/livenessprobe:v2.15.0"),
            ("node-driver-registrar", MCR + "/oss/v2/kubernetes-csi/csi-node-driver-registrar:v2.13.0"),
            ("azurefile", MCR + "/oss/v2/kubernetes-csi/azurefile-csi:v1.31.3")], hostNetwork=True)),
    ]
    if not info.overlay:
        found.append(("daemonsets", _workload("DaemonSet", "azure-cns", {"k8s-app": "azure-cns"}, [
            ("cns-container", MCR + "/containernetworking/azure-cns:v1.6.25")], hostNetwork=True)))
    found += [("poddisruptionbudgets", _budget("konnectivity-agent", konnectivity)),  # coredns-pdb: aks_seed
              ("poddisruptionbudgets", _budget("metrics-server-pdb", metrics))]
    return found


def _cloud_version(info):
    minor = info.kubernetes_version.split(".")[1]
    return "1.%s.%s" % (minor, 5)  # cloud-provider-azure releases one minor per Kubernetes minor


def seed_addons(api, info):
    groups = {"deployments": "apps", "daemonsets": "apps", "poddisruptionbudgets": "policy"}
    accounts = api.registry.get("", "v1", "serviceaccounts")
    for plural, body in addons(info):
        if plural != "poddisruptionbudgets":
            account = body["spec"]["template"]["spec"]["serviceAccountName"]
            api.create(accounts, "kube-system", {"metadata": {"name": account, "namespace": "kube-system"}}, CONTROLLER)
        api.create(api.registry.get(groups[plural], "v1", plural), "kube-system", body, CONTROLLER)
