"""How an AKS cluster's kube-system follows its Advanced Container Networking Services (ACNS) state.

`info.acns` comes from ARM (tests.emulator.arm.acns.state): observability, security,
network_policies (L7|FQDN|None), transit_encryption (WireGuard|None), acceleration (BpfVeth|None),
flow_logs. What AKS then runs, with Cilium's own cilium-config key names (Cilium Helm chart
cilium-configmap.yaml; the ACNS manifests in Azure/azure-container-networking test/integration/manifests/cilium):

- security with FQDN or L7: `enable-l7-proxy` and `enable-standalone-dns-proxy` true (the DNS proxy FQDN
  rules need); with L7 also `external-envoy-proxy` true and the `cilium-envoy` DaemonSet beside the agents;
- observability: `enable-hubble` true plus the hubble-* keys, and Hubble Relay (Deployment + Service);
- WireGuard: `enable-wireguard` true; the agents restart (their pod template changes) and each agent,
  once running with it, publishes its key as the `network.cilium.io/wg-pub-key` CiliumNode annotation;
- BpfVeth (eBPF host routing): `enable-host-legacy-routing` false and `enable-bpf-masquerade` true; the agents
  restart too;
- flow logs: the ContainerNetworkLog CRD (acn.azure.com/v1alpha1, cluster scoped).

Turning a feature off removes what it added (a CRD removal deletes its objects, as on Kubernetes).
"""

import base64
import hashlib

from .api import CONTROLLER, WriteOptions

AKS_LABELS = {"addonmanager.kubernetes.io/mode": "Reconcile", "kubernetes.azure.com/managedby": "aks"}
MCR = "mcr.microsoft.com/containernetworking"
WG_KEY_ANNOTATION = "network.cilium.io/wg-pub-key"
# the agents' pod template carries a checksum of the datapath keys that need an agent restart
RESTART_ANNOTATION = "kubernetes.azure.com/cilium-datapath-checksum"
RESTART_KEYS = ("enable-wireguard", "enable-host-legacy-routing", "enable-bpf-masquerade")
AKS_OPERATOR = WriteOptions(manager="aks-operator")
AGENT = WriteOptions(manager="cilium-agent", track_fields=False, trusted=True)
HUBBLE_KEYS = {
    "hubble-disable-tls": "false", "hubble-listen-address": ":4244",
    "hubble-metrics": "flow:sourceEgressContext=pod;destinationIngressContext=pod tcp dns",
    "hubble-metrics-server": ":9965", "hubble-socket-path": "/var/run/cilium/hubble.sock",
    "hubble-tls-cert-file": "/var/lib/cilium/tls/hubble/server.crt",
    "hubble-tls-client-ca-files": "/var/lib/cilium/tls/hubble/client-ca.crt",
    "hubble-tls-key-file": "/var/lib/cilium/tls/hubble/server.key",
}
# keys present only while their feature is on
OPTIONAL_KEYS = tuple(HUBBLE_KEYS) + ("enable-standalone-dns-proxy", "enable-wireguard", "enable-bpf-masquerade")
CNL_CRD_NAME = "containernetworklogs.acn.azure.com"


def policy_mode(acns):
    if not acns.get("security"):
        return "None"
    return acns.get("network_policies") or "FQDN"  # AKS's default when security is on


def config_keys(acns):
    """The cilium-config keys ACNS decides."""
    mode = policy_mode(acns)
    keys = {
        "enable-l7-proxy": "true" if mode in ("FQDN", "L7") else "false",
        "external-envoy-proxy": "true" if mode == "L7" else "false",
        "enable-hubble": "true" if acns.get("observability") else "false",
        "enable-host-legacy-routing": "false" if acns.get("acceleration") == "BpfVeth" else "true",
    }
    if mode in ("FQDN", "L7"):
        keys["enable-standalone-dns-proxy"] = "true"
    if acns.get("observability"):
        keys.update(HUBBLE_KEYS)
    if acns.get("transit_encryption") == "WireGuard":
        keys["enable-wireguard"] = "true"
    if acns.get("acceleration") == "BpfVeth":
        keys["enable-bpf-masquerade"] = "true"
    return keys


def restart_checksum(config):
    text = ",".join("%s=%s" % (key, config.get(key, "")) for key in RESTART_KEYS)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def envoy_daemonset(cilium_ds):
    """cilium-envoy: one Envoy per node, scheduled where the agents run (AKS L7 policy)."""
    labels = {"k8s-app": "cilium-envoy", "app.kubernetes.io/name": "cilium-envoy", "app.kubernetes.io/part-of": "cilium"}
    agent_spec = cilium_ds["spec"]["template"]["spec"]
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "cilium-envoy", "namespace": "kube-system", "labels": dict(AKS_LABELS, **labels)},
        "spec": {
            "selector": {"matchLabels": {"k8s-app": "cilium-envoy"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}},
            "template": {
                "metadata": {"labels": dict(labels, **{"kubernetes.azure.com/ebpf-dataplane": "cilium"})},
                "spec": {
                    "containers": [{"name": "cilium-envoy", "image": "%s/cilium-envoy:v1.34.10-251105" % MCR,
                                    "command": ["/usr/bin/cilium-envoy-starter"],
                                    "ports": [{"name": "envoy-metrics", "containerPort": 9964, "hostPort": 9964}]}],
                    "hostNetwork": True,
                    "nodeSelector": dict(agent_spec.get("nodeSelector") or {}),
                    "priorityClassName": "system-node-critical",
                    "serviceAccountName": "cilium-envoy",
                    "tolerations": [{"operator": "Exists"}],
                },
            },
        },
    }


def relay_service():
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "hubble-relay", "namespace": "kube-system",
                         "labels": dict(AKS_LABELS, **{"k8s-app": "hubble-relay"})},
            "spec": {"selector": {"k8s-app": "hubble-relay"},
                     "ports": [{"name": "grpc", "port": 443, "protocol": "TCP", "targetPort": 4245}]}}


def _filter_schema():
    endpoints = {"type": "object", "properties": {
        "namespacedPod": {"type": "array", "items": {"type": "string"}},
        "ip": {"type": "array", "items": {"type": "string"}},
        "labelSelector": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    return {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string"},
        "from": endpoints, "to": endpoints,
        "protocol": {"type": "array", "items": {"type": "string", "enum": ["tcp", "udp", "dns"]}},
        "verdict": {"type": "array", "items": {"type": "string", "enum": ["forwarded", "dropped"]}}}}


def container_network_log_crd():
    """The ContainerNetworkLog CRD (shape from the AKS container network logs docs' CRD template)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": CNL_CRD_NAME, "labels": dict(AKS_LABELS)},
        "spec": {
            "group": "acn.azure.com", "scope": "Cluster",
            "names": {"kind": "ContainerNetworkLog", "listKind": "ContainerNetworkLogList",
                      "plural": "containernetworklogs", "singular": "containernetworklog"},
            "versions": [{
                "name": "v1alpha1", "served": True, "storage": True, "subresources": {"status": {}},
                "additionalPrinterColumns": [{"jsonPath": ".metadata.creationTimestamp", "name": "Age", "type": "date"}],
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
                    "spec": {"type": "object", "required": ["includefilters"], "properties": {
                        "includefilters": {"type": "array", "minItems": 1, "items": _filter_schema()}}},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}},
            }],
        },
    }


def _types(api):
    registry = api.registry
    return (registry.get("", "v1", "configmaps"), registry.get("apps", "v1", "daemonsets"),
            registry.get("apps", "v1", "deployments"), registry.get("", "v1", "services"),
            registry.get("", "v1", "serviceaccounts"), registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions"))


def _ensure(api, rtype, namespace, name, body):
    """Create `body` unless it exists (None body: delete it if it exists)."""
    current = api.store.get(rtype.key, namespace or "", name)
    if body is not None and current is None:
        api.create(rtype, namespace, body, CONTROLLER)
    elif body is None and current is not None:
        api.remove(rtype, current)


def _sync_config(api, cm_type, acns):
    current = api.store.get(cm_type.key, "kube-system", "cilium-config")
    if current is None:
        return None
    data = {k: v for k, v in (current.get("data") or {}).items() if k not in OPTIONAL_KEYS}
    data.update(config_keys(acns))
    if data != current.get("data"):
        new = dict(current, data=data)
        new["metadata"] = dict(current["metadata"])
        api.write(cm_type, current, new, AKS_OPERATOR)
    return data


def _sync_agent_template(api, ds_type, config):
    """Roll the agents when a datapath key they only read at start changed (WireGuard, host routing)."""
    ds = api.store.get(ds_type.key, "kube-system", "cilium")
    if ds is None or config is None:
        return ds
    wanted = restart_checksum(config)
    annotations = (ds["spec"]["template"].get("metadata") or {}).get("annotations") or {}
    if annotations.get(RESTART_ANNOTATION) != wanted:
        new = dict(ds, spec=dict(ds["spec"]))
        template = dict(ds["spec"]["template"])
        template["metadata"] = dict(template.get("metadata") or {}, annotations=dict(annotations, **{RESTART_ANNOTATION: wanted}))
        new["spec"]["template"] = template
        ds = api.write(ds_type, ds, new, AKS_OPERATOR) or ds
    return ds


def sync(api, info, relay_deployment):
    """Make kube-system match info.acns (relay_deployment: the hubble-relay Deployment body)."""
    cm_type, ds_type, deploy_type, svc_type, sa_type, crd_type = _types(api)
    acns = info.acns
    config = _sync_config(api, cm_type, acns)
    agents = _sync_agent_template(api, ds_type, config)
    l7 = policy_mode(acns) == "L7" and agents is not None
    _ensure(api, sa_type, "kube-system", "cilium-envoy",
            {"metadata": {"name": "cilium-envoy", "namespace": "kube-system"}} if l7 else None)
    _ensure(api, ds_type, "kube-system", "cilium-envoy", envoy_daemonset(agents) if l7 else None)
    observability = bool(acns.get("observability"))
    _ensure(api, deploy_type, "kube-system", "hubble-relay", relay_deployment if observability else None)
    _ensure(api, svc_type, "kube-system", "hubble-relay", relay_service() if observability else None)
    _ensure(api, crd_type, None, CNL_CRD_NAME, container_network_log_crd() if acns.get("flow_logs") else None)


def wireguard_key(node_name, pod_uid):
    """A WireGuard public key (32 bytes, base64) per agent start."""
    return base64.b64encode(hashlib.sha256(("%s/%s" % (node_name, pod_uid)).encode("utf-8")).digest()).decode("ascii")


class WireGuardAgent:
    """What each Cilium agent does at start with enable-wireguard: publish its key on its CiliumNode.

    An agent reads cilium-config when it starts, so a node's annotation follows only once the agent
    pod of the current DaemonSet generation on that node is Ready; until then the node keeps what
    its previous agent left (no key after WireGuard was turned on, the old key after it was turned off).
    """

    def __init__(self, api):
        self.api = api
        self.store = api.store

    def reconcile(self):
        node_type = self.api.registry.get("cilium.io", "v2", "ciliumnodes")
        config = self.store.get("/configmaps", "kube-system", "cilium-config")
        ds = self.store.get("apps/daemonsets", "kube-system", "cilium")
        if node_type is None or config is None or ds is None:
            return
        enabled = (config.get("data") or {}).get("enable-wireguard") == "true"
        current = self._current_agents(ds)
        for node in list(self.store.objects(node_type.key)):
            name = node["metadata"]["name"]
            annotations = dict(node["metadata"].get("annotations") or {})
            if name not in current:
                continue
            if enabled and WG_KEY_ANNOTATION not in annotations:
                annotations[WG_KEY_ANNOTATION] = wireguard_key(name, current[name])
            elif not enabled and WG_KEY_ANNOTATION in annotations:
                del annotations[WG_KEY_ANNOTATION]
            else:
                continue
            new = dict(node, metadata=dict(node["metadata"], annotations=annotations))
            self.api.write(node_type, node, new, AGENT)

    def _current_agents(self, ds):
        """node name -> uid of its Ready agent pod of the DaemonSet's current generation."""
        generation = str(ds["metadata"].get("generation", 1))
        found = {}
        for pod in self.store.objects("/pods"):
            meta, spec = pod["metadata"], pod.get("spec") or {}
            labels = meta.get("labels") or {}
            if (meta.get("namespace") != "kube-system" or labels.get("k8s-app") != "cilium" or meta.get("deletionTimestamp")
                    or labels.get("pod-template-generation") != generation or not spec.get("nodeName")):
                continue
            conditions = {c.get("type"): c.get("status") for c in (pod.get("status") or {}).get("conditions") or []}
            if conditions.get("Ready") == "True":
                found[spec["nodeName"]] = meta["uid"]
        return found
