"""What a new AKS cluster with Azure CNI Powered by Cilium contains, and how it changes when scaled.

Nodes come from the agent pools (aks-<pool>-<8 digits>-vmss<6 base-36 digits>, AKS labels);
kube-system holds ds/cilium, deploy/cilium-operator, cilium-config, coredns and kube-dns; the
Cilium CRDs are registered (the project's own schemas, cilium_crds.py).
"""

import hashlib
import ipaddress

from . import acns, engines
from .api import CONTROLLER, WriteOptions, timestamp
from . import kube_system
from .cilium_crds import crd_documents
from .podnet import PodNetwork, allocation

NODE_OPTS = WriteOptions(manager="kubelet", track_fields=False)
MCR = "mcr.microsoft.com/containernetworking/cilium"
BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"

# Cilium version AKS installs per Kubernetes minor (AKS docs: minimum Cilium per AKS version)
CILIUM_VERSIONS = [((1, 36), "1.18.9"), ((1, 34), "1.18.6"), ((1, 32), "1.17.9"), ((1, 31), "1.16.16"), ((0, 0), "1.14.20")]


def cilium_version(kubernetes_version):
    minor = tuple(int(p) for p in kubernetes_version.split(".")[:2])
    return next(version for since, version in CILIUM_VERSIONS if minor >= since)


class ClusterInfo:
    """The ARM-side facts a cluster's contents derive from."""

    def __init__(self, name, resource_group, location, kubernetes_version, node_pools, network_profile, acns, addons=True,
                 addresses=None, owner=None):
        self.podnet = PodNetwork(dict(network_profile or {}), addresses, owner or "%s/%s" % (resource_group, name))
        self.name = name
        self.addons = addons  # the other kube-system add-ons (kube_system.py); off only for the scale tests
        self.resource_group = resource_group
        self.location = location
        self.kubernetes_version = kubernetes_version
        self.node_pools = [dict(p) for p in node_pools or [{"name": "nodepool1", "count": 3}]]
        self.network_profile = dict(network_profile or {})
        self.acns = dict(acns or {})
        digest = hashlib.sha256(("%s/%s" % (resource_group, name)).encode("utf-8")).hexdigest()
        self.pool_digits = "%08d" % (int(digest[:12], 16) % 100000000)
        self.instance_base = {}  # pool name -> first VMSS instance number (grows when nodes are reimaged)

    @property
    def node_resource_group(self):
        return "MC_%s_%s_%s" % (self.resource_group, self.name, self.location)

    @property
    def pod_cidr(self):
        return self.network_profile.get("podCidr") or "10.244.0.0/16"

    @property
    def dns_service_ip(self):
        return self.network_profile.get("dnsServiceIP") or "10.0.0.10"

    @property
    def network_profile(self):
        return self.podnet.network_profile

    @network_profile.setter
    def network_profile(self, value):
        self.podnet.network_profile = value

    @property
    def overlay(self):
        if not self.network_profile:
            return True  # a cluster started without a profile is AKS's default: overlay + Cilium
        return (self.network_profile.get("networkPluginMode") or "").lower() == "overlay"

    @property
    def cilium(self):
        return engines.dataplane(self) == "cilium"


# ---------------------------------------------------------------- nodes


def node_name(info, pool, index):
    if (pool.get("osType") or "Linux").lower() == "windows":
        return "%s%06d" % (pool["name"][:6], index)  # Windows computer names: <pool><6 digits>, at most 15 characters
    suffix = ""
    value = index
    for _unused in range(6):
        suffix = BASE36[value % 36] + suffix
        value //= 36
    return "aks-%s-%s-vmss%s" % (pool["name"], info.pool_digits, suffix)


def node_object(info, pool, index, ordinal):
    name = node_name(info, pool, index)
    vm_size = pool.get("vmSize") or "Standard_DS2_v2"
    mode = (pool.get("mode") or "System").lower()
    os_sku = pool.get("osSKU") or "Ubuntu"
    os_type = (pool.get("osType") or "Linux").lower()
    address = info.podnet.node_ip(pool, name, str(ipaddress.ip_address("10.224.0.4") + ordinal))
    network = ipaddress.ip_network(info.pod_cidr, strict=False)
    pod_cidr = "%s/24" % ipaddress.ip_address(int(network.network_address) + 256 * (ordinal % max(network.num_addresses // 256, 1)))
    zones = pool.get("availabilityZones") or []
    zone = "%s-%s" % (info.location, zones[index % len(zones)]) if zones else "0"
    labels = {
        "agentpool": pool["name"],
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": vm_size,
        "beta.kubernetes.io/os": os_type,
        "failure-domain.beta.kubernetes.io/region": info.location,
        "failure-domain.beta.kubernetes.io/zone": zone,
        "kubernetes.azure.com/agentpool": pool["name"],
        # a label value holds at most 63 characters: long node resource group names are cut to fit
        "kubernetes.azure.com/cluster": info.node_resource_group[:63].rstrip("-_."),
        "kubernetes.azure.com/ebpf-dataplane": "cilium",
        # LocalDNS runs with agentPoolProfiles[].localDNSProfile.mode Required (Preferred only validates the
        # setup, per the localdns-custom doc); the node label as AgentBaker sets it
        "kubernetes.azure.com/localdns-state": "enabled" if (pool.get("localDNS") or "").lower() == "required" else "disabled",
        "kubernetes.azure.com/mode": mode,
        "kubernetes.azure.com/node-image-version": pool.get("nodeImageVersion") or "AKSUbuntu-2204gen2containerd-202506.02.0",
        "kubernetes.azure.com/nodepool-type": "VirtualMachineScaleSets",
        "kubernetes.azure.com/os-sku": os_sku,
        "kubernetes.azure.com/role": "agent",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": os_type,
        "kubernetes.io/role": "agent",
        "node-role.kubernetes.io/agent": "",
        "node.kubernetes.io/instance-type": vm_size,
        "storageprofile": "managed",
        "storagetier": "Premium_LRS",
        "topology.disk.csi.azure.com/zone": "",
        "topology.kubernetes.io/region": info.location,
        "topology.kubernetes.io/zone": zone,
    }
    if not info.cilium:
        del labels["kubernetes.azure.com/ebpf-dataplane"]
    labels.update(info.podnet.labels(pool))
    labels.update(pool.get("nodeLabels") or {})
    with_pod_cidr = allocation(pool, info.network_profile) in ("overlay", "kubenet")
    max_pods = str(pool.get("maxPods") or 250)
    capacity = {"cpu": "2", "ephemeral-storage": "129886128Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                "memory": "7097684Ki", "pods": max_pods}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels,
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                     "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
        "spec": dict({"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]} if with_pod_cidr else {},
                     **({"taints": _taints(pool)} if pool.get("nodeTaints") else {}),
                     providerID="azure:///subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/%s/providers/"
                                "Microsoft.Compute/virtualMachineScaleSets/aks-%s-%s-vmss/virtualMachines/%d"
                                % (info.node_resource_group.lower(), pool["name"], info.pool_digits, index)),
        "status": {
            "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}],
            "allocatable": dict(capacity, cpu="1900m", memory="5160788Ki"),
            "capacity": capacity,
            "conditions": [_node_condition(kind, "False", reason, message) for kind, reason, message in (
                ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))]
            + [_node_condition("Ready", "True", "KubeletReady", "kubelet is posting ready status")],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"architecture": "amd64", "bootID": "", "containerRuntimeVersion": "containerd://1.7.27-1",
                         "kernelVersion": "5.15.0-1089-azure", "kubeProxyVersion": "", "kubeletVersion": "v" + info.kubernetes_version,
                         "machineID": "", "operatingSystem": "linux", "osImage": "Ubuntu 22.04.5 LTS", "systemUUID": ""},
        },
    }


def _taints(pool):
    """nodeTaints "key=value:Effect" as Node taints."""
    taints = []
    for text in pool.get("nodeTaints") or []:
        key_value, _unused, effect = text.partition(":")
        key, _unused, value = key_value.partition("=")
        taints.append(dict({"key": key, "effect": effect}, **({"value": value} if value else {})))
    return taints


def _node_condition(kind, status, reason, message):
    now = timestamp()
    return {"type": kind, "status": status, "lastHeartbeatTime": now, "lastTransitionTime": now, "reason": reason,
            "message": message}


def sync_nodes(api, info):
    """Make the Node (and CiliumNode) objects match the pools' counts."""
    node_type = api.registry.get("", "v1", "nodes")
    cilium_node_type = api.registry.get("cilium.io", "v2", "ciliumnodes")
    wanted, ordinal = {}, 0
    for pool in info.node_pools:
        base = info.instance_base.get(pool["name"], 0)
        for index in range(base, base + int(pool.get("count", 0))):
            wanted[node_name(info, pool, index)] = (pool, index, ordinal)
            ordinal += 1
    existing = {n["metadata"]["name"]: n for n in api.store.objects(node_type.key)}
    for name, node in existing.items():
        if name not in wanted:
            api.remove(node_type, node)
            info.podnet.node_left(name)
            if cilium_node_type is not None:
                cilium_node = api.store.get(cilium_node_type.key, "", name)
                if cilium_node is not None:
                    api.remove(cilium_node_type, cilium_node)
    for name, (pool, index, ordinal) in wanted.items():
        if name in existing:
            continue
        node = node_object(info, pool, index, ordinal)
        not_ready = info.podnet.node_joined(pool, name)
        if not_ready:  # CNI has no addresses for it: the kubelet reports the network not ready
            node["status"]["conditions"][-1] = _node_condition("Ready", "False", "KubeletNotReady", not_ready)
        created, _unused = api.create(node_type, None, node, NODE_OPTS)  # the kubelet registers, then reports status
        api.write(node_type, created, dict(created, status=node["status"]), NODE_OPTS, "status")
        if cilium_node_type is not None:
            internal = node["status"]["addresses"][0]["address"]
            addresses = [{"type": "InternalIP", "ip": internal}]
            if node["spec"].get("podCIDR"):
                addresses.append({"type": "CiliumInternalIP", "ip": str(ipaddress.ip_network(node["spec"]["podCIDR"])[1])})
            api.create(cilium_node_type, None, {
                "apiVersion": "cilium.io/v2", "kind": "CiliumNode",
                "metadata": {"name": name, "labels": dict(node["metadata"]["labels"])},
                "spec": {"addresses": addresses, "ipam": {"podCIDRs": node["spec"].get("podCIDRs") or []}}}, NODE_OPTS)


# ---------------------------------------------------------------- kube-system


def cilium_config(info):
    """The cilium-config keys AKS sets (the ACNS ones come from acns.config_keys)."""
    minor = tuple(int(p) for p in info.kubernetes_version.split(".")[:2])
    data = {
        "agent-not-ready-taint-key": "node.cilium.io/agent-not-ready",
        "arping-refresh-period": "30s",
        "auto-direct-node-routes": "false",
        "bpf-lb-external-clusterip": "false",
        "bpf-lb-map-max": "65536",
        "bpf-lb-mode": "snat",
        "bpf-map-dynamic-size-ratio": "0.0025",
        "bpf-policy-map-max": "16384",
        "bpf-root": "/sys/fs/bpf",
        "cgroup-root": "/run/cilium/cgroupv2",
        "cilium-endpoint-gc-interval": "5m0s",
        "cluster-id": "0",
        "cluster-name": "default",
        "debug": "false",
        "disable-cnp-status-updates": "true",
        "disable-endpoint-crd": "false",
        "enable-auto-protect-node-port-range": "true",
        "enable-bgp-control-plane": "false",
        "enable-bpf-clock-probe": "true",
        "enable-cilium-endpoint-slice": "true" if minor >= (1, 32) else "false",
        "enable-endpoint-health-checking": "false",
        "enable-endpoint-routes": "true",
        "enable-health-check-nodeport": "true",
        "enable-health-checking": "true",
        "enable-ipv4": "true",
        "enable-ipv4-masquerade": "false",
        "enable-ipv6": "false",
        "enable-ipv6-masquerade": "false",
        "enable-k8s-networkpolicy": "true",
        "enable-k8s-terminating-endpoint": "true",
        "enable-l2-neigh-discovery": "true",
        "enable-local-node-route": "false",
        "enable-local-redirect-policy": "true",
        "enable-metrics": "true",
        "enable-node-selector-labels": "false",
        "enable-policy": "default",
        "enable-remote-node-identity": "true",
        "enable-session-affinity": "true",
        "enable-svc-source-range-check": "true",
        "enable-vtep": "false",
        "enable-well-known-identities": "false",
        "enable-xt-socket-fallback": "true",
        "identity-allocation-mode": "crd",
        "install-iptables-rules": "true",
        "install-no-conntrack-iptables-rules": "false",
        "ipam": "delegated-plugin",
        "kube-proxy-replacement": "true",
        "kube-proxy-replacement-healthz-bind-address": "0.0.0.0:10256",
        "local-router-ipv4": "169.254.23.0",
        "metrics": "+cilium_bpf_map_pressure",
        "monitor-aggregation": "medium",
        "monitor-aggregation-flags": "all",
        "monitor-aggregation-interval": "5s",
        "node-port-bind-protection": "true",
        "nodes-gc-interval": "5m0s",
        "operator-api-serve-addr": "127.0.0.1:9234",
        "operator-prometheus-serve-addr": ":9963",
        "preallocate-bpf-maps": "false",
        "procfs": "/host/proc",
        "prometheus-serve-addr": ":9962",
        "remove-cilium-node-taints": "true",
        "routing-mode": "native",
        "set-cilium-is-up-condition": "true",
        "set-cilium-node-taints": "true",
        "synchronize-k8s-nodes": "true",
        "tofqdns-dns-reject-response-code": "refused",
        "tofqdns-enable-dns-compression": "true",
        "tofqdns-endpoint-max-ip-per-hostname": "1000",
        "tofqdns-idle-connection-grace-period": "0s",
        "tofqdns-max-deferred-connection-deletes": "10000",
        "tofqdns-min-ttl": "0",
        "tofqdns-proxy-response-max-delay": "100ms",
        "unmanaged-pod-watcher-interval": "0",
    }
    data.update(acns.config_keys(info.acns))
    return data


AKS_LABELS = {"addonmanager.kubernetes.io/mode": "Reconcile", "kubernetes.azure.com/managedby": "aks"}
# what `kubectl get ds,deploy -n kube-system --show-labels` shows on cilium and cilium-operator: AKS installs
# Cilium with a Flux HelmRelease, not through the addon manager
CILIUM_LABELS = {"app.kubernetes.io/managed-by": "Helm", "helm.toolkit.fluxcd.io/name": "cilium-adapter-helmrelease",
                 "kubernetes.azure.com/managedby": "aks"}
# the agent goes where the node image says the eBPF dataplane is cilium (node affinity: its node selector is <none>)
CILIUM_NODES = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
    {"key": "kubernetes.azure.com/ebpf-dataplane", "operator": "In", "values": ["cilium"]},
    {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]}}}


def _container(name, image, **extra):
    container = {"name": name, "image": image}
    container.update(extra)
    return container


def cilium_daemonset(info):
    version = cilium_version(info.kubernetes_version)
    image = "%s/cilium:v%s-250915" % (MCR, version)
    labels = {"k8s-app": "cilium", "kubernetes.azure.com/ebpf-dataplane": "cilium"}
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "cilium", "namespace": "kube-system", "labels": dict(CILIUM_LABELS, **{"k8s-app": "cilium"})},
        "spec": {
            "selector": {"matchLabels": {"k8s-app": "cilium"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2, "maxSurge": 0}},
            "template": {
                "metadata": {"labels": labels,
                             "annotations": {acns.RESTART_ANNOTATION: acns.restart_checksum(cilium_config(info))}},
                "spec": {
                    "containers": [_container("cilium-agent", image, command=["cilium-agent"],
                                              args=["--config-dir=/tmp/cilium/config-map"],
                                              ports=[{"name": "peer-service", "containerPort": 4244, "hostPort": 4244}])],
                    "initContainers": [_container("mount-cgroup", image), _container("apply-sysctl-overwrites", image),
                                       _container("clean-cilium-state", image)],
                    "affinity": CILIUM_NODES,
                    "hostNetwork": True,
                    "priorityClassName": "system-node-critical",
                    "serviceAccountName": "cilium",
                    "tolerations": [{"operator": "Exists"}],
                },
            },
        },
    }


def operator_deployment(info):
    version = cilium_version(info.kubernetes_version)
    labels = {"io.cilium/app": "operator", "name": "cilium-operator"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "cilium-operator", "namespace": "kube-system", "labels": dict(CILIUM_LABELS, **labels)},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": dict(labels)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": dict(labels, **{"kubernetes.azure.com/ebpf-dataplane": "cilium"})},
                "spec": {
                    "containers": [_container("cilium-operator", "%s/operator-generic:v%s-250915" % (MCR, version),
                                              command=["cilium-operator-generic"],
                                              args=["--config-dir=/tmp/cilium/config-map"])],
                    "hostNetwork": True,
                    "priorityClassName": "system-cluster-critical",
                    "serviceAccountName": "cilium-operator",
                    "tolerations": [{"operator": "Exists"}],
                },
            },
        },
    }


def coredns_deployment():
    labels = {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "version": "v20"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system",
                     "labels": dict(AKS_LABELS, **{"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                                                   "version": "v20", "kubernetes.io/name": "CoreDNS"})},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "10%", "maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [_container("coredns", "mcr.microsoft.com/oss/v2/kubernetes/coredns:v1.12.1-1",
                                              args=["-conf", "/etc/coredns/Corefile"],
                                              ports=[{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                                     {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"}])],
                    "dnsPolicy": "Default",
                    "priorityClassName": "system-node-critical",
                    "serviceAccountName": "coredns",
                },
            },
        },
    }


def hubble_relay_deployment():
    labels = {"k8s-app": "hubble-relay"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "hubble-relay", "namespace": "kube-system", "labels": dict(AKS_LABELS, **labels)},
        "spec": {"replicas": 1, "selector": {"matchLabels": dict(labels)},
                 "template": {"metadata": {"labels": dict(labels)},
                              "spec": {"containers": [_container("hubble-relay", "%s/hubble-relay:v1.17.9" % MCR)],
                                       "serviceAccountName": "hubble-relay"}}},
    }


def _service(name, namespace, cluster_ip, ports, selector=None, labels=None):
    spec = {"clusterIP": cluster_ip, "clusterIPs": [cluster_ip], "ports": ports}
    if selector:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": spec}


def seed(api, info):
    """Create everything a fresh AKS Cilium cluster has."""
    def rtype(group, plural):
        return api.registry.get(group, "v1", plural)

    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        api.create(rtype("", "namespaces"), None, {"metadata": {"name": name}}, CONTROLLER)
    engines.sync(api, info, install_cilium)  # first: the Cilium CRDs, so that nodes get their CiliumNodes
    sync_nodes(api, info)
    service_cidr = ipaddress.ip_network(info.network_profile.get("serviceCidr") or "10.0.0.0/16", strict=False)
    api.create(rtype("", "services"), "default", _service(
        "kubernetes", "default", str(service_cidr.network_address + 1),
        [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443}],
        labels={"component": "apiserver", "provider": "kubernetes"}), CONTROLLER)
    api.create(rtype("", "services"), "kube-system", _service(
        "kube-dns", "kube-system", info.dns_service_ip,
        [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
         {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}],
        selector={"k8s-app": "kube-dns"},
        labels=dict(AKS_LABELS, **{"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                                   "kubernetes.io/name": "CoreDNS"})), CONTROLLER)
    for name in ("coredns", "hubble-relay"):
        api.create(rtype("", "serviceaccounts"), "kube-system", {"metadata": {"name": name, "namespace": "kube-system"}},
                   CONTROLLER)
    api.create(rtype("apps", "deployments"), "kube-system", coredns_deployment(), CONTROLLER)
    api.create(rtype("policy", "poddisruptionbudgets"), "kube-system", coredns_pdb(), CONTROLLER)
    if info.addons:
        kube_system.seed_addons(api, info)
    sync_acns(api, info)


def coredns_pdb():
    """AKS's coredns-pdb (minAvailable 1; `kubectl get pdb -A` on AKS lists it beside konnectivity-agent's)."""
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "coredns-pdb", "namespace": "kube-system", "labels": dict(AKS_LABELS)},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"k8s-app": "kube-dns"}}}}


def install_cilium(api, info):
    """The Cilium CRDs, cilium-config, the agent DaemonSet and the operator (what is missing of them)."""
    def missing(rtype, namespace, name):
        return api.store.get(rtype.key, namespace, name) is None

    crd_type = api.registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    for crd in crd_documents():
        if missing(crd_type, "", crd["metadata"]["name"]):
            api.create(crd_type, None, crd, CONTROLLER)
    sa_type = api.registry.get("", "v1", "serviceaccounts")
    for name in ("cilium", "cilium-operator"):
        if missing(sa_type, "kube-system", name):
            api.create(sa_type, "kube-system", {"metadata": {"name": name, "namespace": "kube-system"}}, CONTROLLER)
    cm_type = api.registry.get("", "v1", "configmaps")
    if missing(cm_type, "kube-system", "cilium-config"):
        api.create(cm_type, "kube-system", {
            "metadata": {"name": "cilium-config", "namespace": "kube-system", "labels": dict(AKS_LABELS)},
            "data": cilium_config(info)}, CONTROLLER)
    for group, plural, body in (("apps", "daemonsets", cilium_daemonset(info)),
                                ("apps", "deployments", operator_deployment(info))):
        rtype = api.registry.get(group, "v1", plural)
        if missing(rtype, "kube-system", body["metadata"]["name"]):
            api.create(rtype, "kube-system", body, CONTROLLER)


def sync_acns(api, info):
    """Apply the ACNS state (acns.py): cilium-config keys, agent rollout, Envoy, Hubble Relay, flow-log CRD."""
    acns.sync(api, info, hubble_relay_deployment())
