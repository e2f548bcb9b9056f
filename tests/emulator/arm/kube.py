"""Bridge from managedClusters to the Kubernetes API emulator (tests.emulator.k8s).

When the Kubernetes side is switched off (settings.kubernetes false) or there is no CA, clusters get a
placeholder kubeconfig whose server is the cluster's fqdn, as on a real cluster whose API is not reachable.
"""

import base64
import sys
import traceback
import uuid

from ..k8s import start_cluster
from . import acns, ids, network
from .subnet_usage import SubnetAddresses


def _subnet(store, subnet_id):
    """{id, name, vnet, resourceGroup, subscription, prefix} of a pool's subnet (None without one)."""
    found = network.find_subnet(store, subnet_id)[1] if store is not None and subnet_id else None
    if found is None:
        return None
    parts = ids.parse_subnet(subnet_id)
    return {"id": found["id"], "name": found["name"], "vnet": parts["vnet"], "resourceGroup": parts["rg"],
            "subscription": parts["sub"], "prefix": network.subnet_prefixes(found)[0]}


def spec(cluster, store=None):
    """What the Kubernetes side needs to know about a cluster (compared to decide on update())."""
    props = cluster["properties"]
    return {
        "node_pools": [{"name": p["name"], "count": p.get("count", 1), "vmSize": p.get("vmSize"), "osSKU": p.get("osSKU"),
                        "maxPods": p.get("maxPods"), "mode": p.get("mode"), "osType": p.get("osType"),
                        "localDNS": (p.get("localDNSProfile") or {}).get("mode"),
                        "nodeImageVersion": p.get("nodeImageVersion"), "nodeLabels": p.get("nodeLabels") or {},
                        "nodeTaints": p.get("nodeTaints") or [], "availabilityZones": p.get("availabilityZones") or [],
                        "vnetSubnet": _subnet(store, p.get("vnetSubnetID")), "podSubnet": _subnet(store, p.get("podSubnetID")),
                        "podIPAllocationMode": p.get("podIPAllocationMode")} for p in props["agentPoolProfiles"]],
        "network_profile": props["networkProfile"],
        "acns": acns.state(props),
    }


def placeholder_kubeconfig(cluster, admin, ca_pem):
    name, rg = cluster["name"], cluster["id"].split("/")[4]
    user = "cluster%s_%s_%s" % ("Admin" if admin else "User", rg, name)
    context = name + "-admin" if admin else name
    return "\n".join([
        "apiVersion: v1",
        "clusters:",
        "- cluster:",
        "    certificate-authority-data: " + base64.b64encode(ca_pem.encode("ascii")).decode("ascii"),
        "    server: https://%s:443" % cluster["properties"]["fqdn"],
        "  name: " + name,
        "contexts:",
        "- context:",
        "    cluster: " + name,
        "    user: " + user,
        "  name: " + context,
        "current-context: " + context,
        "kind: Config",
        "preferences: {}",
        "users:",
        "- name: " + user,
        "  user:",
        "    token: " + uuid.uuid4().hex,
        "",
    ])


class KubeBridge:

    def __init__(self, ca, settings, store=None):
        self.ca = ca
        self.settings = settings
        self.store = store  # ARM's, to resolve the pools' subnets
        self.addresses = SubnetAddresses()
        self.handles = {}
        self._specs = {}

    def sync(self, cluster):
        """Start the cluster's API server, or pass it changed pools / network profile / ACNS."""
        if not self.settings.kubernetes or self.ca is None:
            return
        key, wanted = cluster["id"].lower(), spec(cluster, self.store)
        try:
            if key not in self.handles:
                self.handles[key] = start_cluster(
                    ca=self.ca, name=cluster["name"], resource_group=cluster["id"].split("/")[4],
                    location=cluster["location"], kubernetes_version=cluster["properties"]["currentKubernetesVersion"],
                    pod_ready_delay=self.settings.pod_ready_delay, addresses=self.addresses,
                    owner=cluster["id"].lower(), **wanted)
            elif wanted != self._specs.get(key):
                self.handles[key].update(**wanted)
            self._specs[key] = wanted
        except Exception:  # pylint: disable=broad-exception-caught
            # a failing Kubernetes emulator must not take ARM down; the traceback shows in the test output
            traceback.print_exc(file=sys.stderr)

    def stop(self, cluster_id):
        handle = self.handles.pop(cluster_id.lower(), None)
        self._specs.pop(cluster_id.lower(), None)
        self.addresses.release(cluster_id.lower() + "/")
        if handle is not None:
            handle.stop()

    def stop_all(self):
        for key in list(self.handles):
            self.stop(key)

    def kubeconfig(self, cluster, admin):
        handle = self.handles.get(cluster["id"].lower())
        if handle is not None:
            return handle.kubeconfig(admin)
        return placeholder_kubeconfig(cluster, admin, self.ca.ca_pem if self.ca else "")
