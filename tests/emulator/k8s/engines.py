"""What the network data plane and the policy engine of an AKS cluster run, per network profile.

- `networkDataplane: cilium`: the Cilium CRDs, cilium-config, ds/cilium and deploy/cilium-operator
  (kube-system); Cilium enforces policy itself;
- `networkDataplane: azure` with `networkPolicy: azure`: Azure Network Policy Manager, ds/azure-npm
  (kube-system, Linux nodes);
- `networkPolicy: calico`: Calico as AKS installs it through the Tigera operator: namespaces
  tigera-operator and calico-system, ds/calico-node, deploy/calico-typha (with its
  PodDisruptionBudget, maxUnavailable 1) and deploy/calico-kube-controllers;
- `networkPolicy: none`: nothing.

`sync` installs what the profile needs and removes an engine the profile no longer has (AKS
uninstalls NPM or Calico when the cluster moves to Cilium); Cilium is never removed.
"""

from .api import CONTROLLER

NPM_IMAGE = "mcr.microsoft.com/containernetworking/azure-npm:v1.6.33"
CALICO_VERSION = "v3.29.5"
TIGERA_NAMESPACES = ("calico-system", "tigera-operator")
AKS_LABELS = {"addonmanager.kubernetes.io/mode": "Reconcile", "kubernetes.azure.com/managedby": "aks"}
LINUX = {"kubernetes.io/os": "linux"}


def dataplane(info):
    return (info.network_profile.get("networkDataplane") or "cilium").lower()


def policy(info):
    default = "cilium" if dataplane(info) == "cilium" else "none"
    return (info.network_profile.get("networkPolicy") or default).lower()


def _rtype(api, group, plural):
    return api.registry.get(group, "v1", plural)


def _workload(kind, name, namespace, labels, image, replicas=None, host_network=True, extra_spec=None):
    pod_spec = {"containers": [{"name": name, "image": image}], "hostNetwork": host_network,
                "nodeSelector": dict(LINUX), "priorityClassName": "system-node-critical",
                "serviceAccountName": name, "tolerations": [{"operator": "Exists"}]}
    pod_spec.update(extra_spec or {})
    spec = {"selector": {"matchLabels": dict(labels)},
            "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": name, "namespace": namespace, "labels": dict(AKS_LABELS, **labels)}, "spec": spec}


def npm_objects():
    labels = {"k8s-app": "azure-npm"}
    ds = _workload("DaemonSet", "azure-npm", "kube-system", labels, NPM_IMAGE)
    ds["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"name": "metrics", "containerPort": 10091}]
    return [("", "serviceaccounts", "kube-system", {"metadata": {"name": "azure-npm", "namespace": "kube-system"}}),
            ("", "configmaps", "kube-system", {"metadata": {"name": "azure-npm-config", "namespace": "kube-system",
                                                            "labels": dict(AKS_LABELS)},
                                               "data": {"azure-npm.json": '{"ResyncPeriodInMinutes": 15}'}}),
            ("apps", "daemonsets", "kube-system", ds)]


def calico_objects(node_count):
    node = _workload("DaemonSet", "calico-node", "calico-system", {"k8s-app": "calico-node"},
                     "mcr.microsoft.com/oss/calico/node:" + CALICO_VERSION)
    # the Tigera operator runs typha on a few nodes (one per node, hostNetwork); 2 from 3 nodes on
    typha = _workload("Deployment", "calico-typha", "calico-system", {"k8s-app": "calico-typha"},
                      "mcr.microsoft.com/oss/calico/typha:" + CALICO_VERSION, replicas=1 if node_count < 3 else 2)
    controllers = _workload("Deployment", "calico-kube-controllers", "calico-system",
                            {"k8s-app": "calico-kube-controllers"},
                            "mcr.microsoft.com/oss/calico/kube-controllers:" + CALICO_VERSION, replicas=1,
                            host_network=False)
    operator = _workload("Deployment", "tigera-operator", "tigera-operator", {"k8s-app": "tigera-operator"},
                         "mcr.microsoft.com/oss/tigera/operator:v1.36.7", replicas=1)
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
           "metadata": {"name": "calico-typha", "namespace": "calico-system"},
           "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"k8s-app": "calico-typha"}}}}
    objects = [("", "namespaces", None, {"metadata": {"name": name, "labels": {"name": name}}})
               for name in TIGERA_NAMESPACES]
    for ns, name in (("tigera-operator", "tigera-operator"), ("calico-system", "calico-node"),
                     ("calico-system", "calico-typha"), ("calico-system", "calico-kube-controllers")):
        objects.append(("", "serviceaccounts", ns, {"metadata": {"name": name, "namespace": ns}}))
    objects += [("apps", "deployments", "tigera-operator", operator), ("apps", "daemonsets", "calico-system", node),
                ("apps", "deployments", "calico-system", typha), ("apps", "deployments", "calico-system", controllers),
                ("policy", "poddisruptionbudgets", "calico-system", pdb)]
    return objects


def _create_missing(api, objects):
    for group, plural, namespace, body in objects:
        rtype = _rtype(api, group, plural)
        if api.store.get(rtype.key, namespace or "", body["metadata"]["name"]) is None:
            api.create(rtype, namespace, body, CONTROLLER)


def _remove_npm(api):
    for group, plural, namespace, body in npm_objects():
        rtype = _rtype(api, group, plural)
        current = api.store.get(rtype.key, namespace, body["metadata"]["name"])
        if current is not None:
            api.remove(rtype, current)


def _remove_calico(api):
    """Deleting the Tigera namespaces: the namespace controller removes everything in them."""
    rtype = _rtype(api, "", "namespaces")
    for name in TIGERA_NAMESPACES:
        if api.store.get(rtype.key, "", name) is not None:
            api.delete(rtype, None, name, CONTROLLER)


def sync(api, info, install_cilium):
    """Make the engines running match info.network_profile; install_cilium(api, info) installs Cilium."""
    wanted_policy = policy(info)
    if dataplane(info) == "cilium":
        install_cilium(api, info)
    if wanted_policy == "azure" and dataplane(info) != "cilium":
        _create_missing(api, npm_objects())
    else:
        _remove_npm(api)
    if wanted_policy == "calico":
        _create_missing(api, calico_objects(sum(int(p.get("count", 0)) for p in info.node_pools)))
    else:
        _remove_calico(api)
