"""Where a cluster's node and pod addresses come from, per Azure CNI IPAM mode.

- overlay: nodes from the node subnet, pods from the node's podCIDR (the controllers' default);
- pod subnet, dynamic (DynamicIndividual): CNS reserves batches of 16 pod IPs per node in the pool's
  pod subnet, a first batch when the node starts and another whenever the node's pods use them up;
- pod subnet, Static Block: ceil((maxPods + 1) / 16) /28 blocks per node, reserved when the node starts
  (250 max pods -> 16 blocks, 255 usable: the recorded `kubectl get nnc` of a real cluster);
- node subnet (legacy Azure CNI): maxPods addresses per node, from the node subnet itself.

When a subnet is full AKS shows it the way a real cluster does: a Static Block or node-subnet node
that got no addresses stays NotReady with the CNI-not-initialized condition, a dynamic pod stays
ContainerCreating with the CNS error (both from recorded clusters and Azure/azure-container-networking#2999).
The reservations live in the ARM side's SubnetAddresses (shared by every cluster on a subnet); without
one (the Kubernetes emulator on its own) addresses are computed as before.
"""

import uuid

BATCH = 16
BLOCK = 16
NOT_READY_MESSAGE = ("container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
                     "message:Network plugin returns error: cni plugin not initialized")
SUBNET_FULL = ("Failed to allocate address for request {{SubnetName:{subnet} SubnetType:{kind} SecondaryIPCount:{count}}}. "
               "Subnet is full")
POD_NO_IP = ("Failed to create pod sandbox: plugin type=\"azure-vnet\" failed (add): failed to allocate pod IP address: "
             "Failed to get IP address from CNS: not enough IPs available for {pod}, waiting on Azure CNS to allocate more "
             "with NC Status: SubnetFull")


def allocation(pool, network_profile):
    """overlay | dynamic | static | node-subnet | kubenet, for a pool of a cluster with this network profile."""
    if pool.get("podSubnet"):
        return "static" if (pool.get("podIPAllocationMode") or "").lower() == "staticblock" else "dynamic"
    plugin = (network_profile.get("networkPlugin") or "").lower()
    if not plugin or (network_profile.get("networkPluginMode") or "").lower() == "overlay":
        return "overlay"  # a bare profile (the Kubernetes emulator alone) means AKS's usual overlay
    return "node-subnet" if plugin == "azure" else plugin


def blocks_per_node(max_pods):
    return -(-(int(max_pods) + 1) // BLOCK)


def _guid(*parts):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts).lower()))


class PodNetwork:

    def __init__(self, network_profile, addresses=None, owner=""):
        self.network_profile = network_profile
        self.addresses = addresses
        self.owner = owner
        self._assigned = {}  # node name -> {pod uid: address}

    def _owner(self, node, kind):
        return "%s/%s/%s" % (self.owner, node, kind)

    # ---- nodes ----------------------------------------------------------------------------
    def labels(self, pool):
        """The network labels AKS puts on a pool's nodes."""
        labels = {}
        mode = allocation(pool, self.network_profile)
        if mode == "overlay":
            labels.update({"kubernetes.azure.com/azure-cni-overlay": "true", "kubernetes.azure.com/podnetwork-type": "overlay"})
        node_subnet, pod_subnet = pool.get("vnetSubnet"), pool.get("podSubnet")
        if node_subnet:
            labels.update({"kubernetes.azure.com/network-name": node_subnet["vnet"],
                           "kubernetes.azure.com/network-resourcegroup": node_subnet["resourceGroup"],
                           "kubernetes.azure.com/network-subnet": node_subnet["name"],
                           "kubernetes.azure.com/network-subscription": node_subnet["subscription"],
                           "kubernetes.azure.com/nodenetwork-vnetguid": _guid(node_subnet["id"].rsplit("/subnets/", 1)[0])})
        if pod_subnet:
            labels.update({"kubernetes.azure.com/podnetwork-type": "vnetblock" if mode == "static" else "vnet",
                           "kubernetes.azure.com/podnetwork-name": pod_subnet["vnet"],
                           "kubernetes.azure.com/podnetwork-resourcegroup": pod_subnet["resourceGroup"],
                           "kubernetes.azure.com/podnetwork-subnet": pod_subnet["name"],
                           "kubernetes.azure.com/podnetwork-subscription": pod_subnet["subscription"],
                           "kubernetes.azure.com/podnetwork-delegationguid": _guid(pod_subnet["id"], "delegation"),
                           "kubernetes.azure.com/podnetwork-max-pods": str(pool.get("maxPods") or 250)})
        return labels

    def node_ip(self, pool, node, fallback):
        subnet = pool.get("vnetSubnet")
        if self.addresses is None or not subnet:
            return fallback
        held = self.addresses.held(subnet["id"], self._owner(node, "nic")) or self.addresses.take(
            subnet["id"], subnet["prefix"], self._owner(node, "nic"), 1)
        return held[0] if held else fallback

    def node_joined(self, pool, node):
        """Reserve what the node needs at start; the NotReady message when its subnet cannot give it."""
        if self.addresses is None:
            return None
        mode, max_pods = allocation(pool, self.network_profile), int(pool.get("maxPods") or 30)
        if mode == "static":
            subnet, count, kind = pool["podSubnet"], blocks_per_node(max_pods), "AzVnetBlock"
        elif mode == "dynamic":
            subnet, count, kind = pool["podSubnet"], BATCH, "AzVnet"
        elif mode == "node-subnet" and pool.get("vnetSubnet"):
            subnet, count, kind = pool["vnetSubnet"], max_pods, "AzVnet"
        else:
            return None
        owner = self._owner(node, "pods")
        if self.addresses.held(subnet["id"], owner) or self.addresses.take(subnet["id"], subnet["prefix"], owner, count,
                                                                           block=mode == "static"):
            return None
        return NOT_READY_MESSAGE + " (" + SUBNET_FULL.format(subnet=subnet["name"], kind=kind, count=count) + ")"

    def node_left(self, node):
        self._assigned.pop(node, None)
        if self.addresses is not None:
            self.addresses.release(self._owner(node, ""))

    # ---- pods -----------------------------------------------------------------------------
    def pod_ip(self, pool, node, pod, live_uids):
        """(address, None), (None, error event message), or (None, None): not ours, the podCIDR default applies.

        live_uids() gives the uids of the node's pods, to take back the addresses of pods that are gone."""
        mode = allocation(pool, self.network_profile) if pool else "overlay"
        if self.addresses is None or mode not in ("dynamic", "static", "node-subnet"):
            return None, None
        subnet = pool["podSubnet"] if mode in ("dynamic", "static") else pool.get("vnetSubnet")
        if not subnet:
            return None, None
        owner, uid = self._owner(node, "pods"), pod["metadata"]["uid"]
        assigned = self._assigned.setdefault(node, {})
        if uid in assigned:
            return assigned[uid], None
        live = live_uids()
        for gone in [u for u in assigned if u not in live]:
            del assigned[gone]  # the pod was deleted: its address goes back to the node's pool
        held = self.addresses.held(subnet["id"], owner)
        if mode == "static":
            held = held[1:]  # the node keeps its first block's first address (250 max pods: 16 blocks, 255 usable)
        free = [a for a in held if a not in assigned.values()]
        if not free and mode == "dynamic":
            free = self.addresses.take(subnet["id"], subnet["prefix"], owner, BATCH)
        if not free:
            name = "%s/%s" % (pod["metadata"].get("namespace", "default"), pod["metadata"]["name"])
            return None, POD_NO_IP.format(pod=name)
        assigned[uid] = free[0]
        return free[0], None


def kubelet_addresses(store, info):
    """The kubelet's pod_addresses hook for one cluster: the pod's pool decides where its address comes from."""
    def addresses(pod, node):
        if info.podnet.addresses is None:
            return None, None
        name = node["metadata"]["name"]
        pool_name = (node["metadata"].get("labels") or {}).get("agentpool")
        pool = next((p for p in info.node_pools if p["name"] == pool_name), None)
        return info.podnet.pod_ip(pool, name, pod, lambda: {
            p["metadata"]["uid"] for p in store.objects("/pods") if (p.get("spec") or {}).get("nodeName") == name})
    return addresses
