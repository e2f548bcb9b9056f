"""An emulated Kubernetes API server per emulated AKS cluster (Azure CNI Powered by Cilium).

    handle = start_cluster(ca=CertAuthority(...), name="aks1", resource_group="rg", location="westeurope")
    handle.kubeconfig(admin=True)   # AKS-shaped kubeconfig: CA data + bearer token
    handle.update(node_pools=[{"name": "nodepool1", "count": 5}])
    handle.stop()

Each cluster serves HTTPS on its own loopback port; the real kubectl and the `kubernetes` Python
client both work against it. Controls (no auth, not logged):
    GET/DELETE /_emulator/requests          request log ({method, path, query, status, time, body?})
    POST/DELETE /_emulator/faults           fault rules (tests.emulator.faults; answers are v1 Status bodies)
    POST /_emulator/nodes {"count": N, "pool": name?}            scale a node pool (DaemonSets follow)
    POST /_emulator/stall {"selector": "k8s-app=cilium", "stalled": true}
                                            pods matching that are not Ready yet stay in CrashLoopBackOff
    POST /_emulator/settings {"pod_ready_delay": S, "bookmark_interval": S}
    POST /_emulator/watch {"action": "disconnect" | "expire" | "compact"}
                                            end open watches / send them 410 Gone / drop the watch history
    POST /_emulator/identities {"gc_delay": S}   seconds an unused CiliumIdentity lives (default 900)
"""

import base64
import secrets
import time

import yaml

from ..http import HTTPSServer
from . import acns, aks_seed, podnet, reimage
from .api import Api
from .cilium import CiliumAgent
from .cloud import ServiceLoadBalancers
from .controllers import Controllers, Settings
from .disruption import DisruptionController
from .resources import Registry
from .server import ApiServer
from .store import Store

DEFAULT_POOLS = [{"name": "nodepool1", "count": 3, "vmSize": "Standard_DS2_v2", "osSKU": "Ubuntu", "maxPods": 250,
                  "mode": "System"}]


class ClusterHandle:
    """A running emulated cluster (see module docstring)."""

    def __init__(self, ca, info, pod_ready_delay, port=0):
        self.info = info
        self.name = info.name
        self.resource_group = info.resource_group
        self.ca_pem = ca.ca_pem
        self.user_token = secrets.token_hex(32)
        self.admin_token = secrets.token_hex(32)
        self.settings = Settings(pod_ready_delay=pod_ready_delay)
        self.store = Store()
        self.api = Api(self.store, Registry(), info.network_profile.get("serviceCidr") or "10.0.0.0/16")
        self.apiserver = ApiServer(self.api, [self.user_token, self.admin_token], info.kubernetes_version, controls={
            "nodes": self._control_nodes, "stall": self._control_stall, "settings": self._control_settings,
            "watch": self._control_watch, "identities": self._control_identities}, admin_token=self.admin_token)
        aks_seed.seed(self.api, info)
        self.cilium = CiliumAgent(self.api, seed=info.name)
        load_balancers = ServiceLoadBalancers(self.api)
        disruption = DisruptionController(self.api)
        self.controllers = Controllers(self.api, self.settings,
                                       extra=[self.cilium, load_balancers, disruption, acns.WireGuardAgent(self.api)],
                                       root_ca=self.ca_pem)
        self.cilium.wake_at = self.controllers.at
        load_balancers.watch_services(self.controllers.kick)
        disruption.wake = self.controllers.kick
        self.controllers.kubelet.pod_addresses = podnet.kubelet_addresses(self.store, info)
        self._settle()
        self.controllers.start()
        self.server = HTTPSServer(self.apiserver.handle, ca.server_context(), port=port)
        self.server.start()
        self.server_url = self.server.url

    def _settle(self, passes=50):
        """Bring a new cluster's workloads to Ready at once, as a provisioned cluster would be."""
        delay, self.settings.pod_ready_delay = self.settings.pod_ready_delay, 0
        try:
            for _unused in range(passes):
                before = self.store.rv
                self.controllers.reconcile()
                if self.store.rv == before:
                    break
        finally:
            self.settings.pod_ready_delay = delay

    # ------------------------------------------------------------ credentials

    def kubeconfig(self, admin=False):
        """The kubeconfig AKS returns from listClusterUserCredential / listClusterAdminCredential."""
        user = "cluster%s_%s_%s" % ("Admin" if admin else "User", self.resource_group, self.name)
        context = self.name + "-admin" if admin else self.name
        config = {
            "apiVersion": "v1",
            "clusters": [{"cluster": {"certificate-authority-data": base64.b64encode(self.ca_pem.encode("ascii")).decode("ascii"),
                                      "server": self.server_url}, "name": self.name}],
            "contexts": [{"context": {"cluster": self.name, "user": user}, "name": context}],
            "current-context": context,
            "kind": "Config",
            "preferences": {},
            "users": [{"name": user, "user": {"token": self.admin_token if admin else self.user_token}}],
        }
        return yaml.safe_dump(config, default_flow_style=False, sort_keys=False)

    # ------------------------------------------------------------ ARM-side changes

    def update(self, node_pools=None, network_profile=None, acns=None):
        """Follow an ARM update: pool counts (nodes come and go), network profile, ACNS flags."""
        with self.store.lock:
            if node_pools is not None:
                self.info.node_pools = [dict(p) for p in node_pools]
                aks_seed.sync_nodes(self.api, self.info)
            if network_profile is not None:
                migrating = reimage.changed(self.info.network_profile, network_profile)
                engine_changed = reimage.changed(self.info.network_profile, network_profile, ("networkPolicy",))
                self.info.network_profile = dict(network_profile)
                if migrating:
                    reimage.apply(self.api, self.info)
                elif engine_changed:
                    reimage.swap_engines(self.api, self.info)
            if acns is not None:
                self.info.acns = dict(acns)
                aks_seed.sync_acns(self.api, self.info)
        self.controllers.kick()

    def begin_network_migration(self):
        """Cordon every node: the drain of a network migration has begun."""
        with self.store.lock:
            reimage.begin(self.api)
        self.controllers.kick()

    def drain_blocker(self):
        """The drain's first eviction a PodDisruptionBudget refuses, (node, pod, budget, unready pods), or None."""
        with self.store.lock:
            return reimage.blocker(self.api)

    def end_network_migration(self):
        with self.store.lock:
            reimage.end(self.api)
        self.controllers.kick()

    def scale_nodes(self, count, pool=None):
        pools = [dict(p) for p in self.info.node_pools]
        target = next((p for p in pools if p["name"] == pool), pools[0]) if pool else pools[0]
        target["count"] = int(count)
        self.update(node_pools=pools)

    def stall(self, selector, stalled=True):
        """Pods matching the label selector that are not Ready yet never become Ready (CrashLoopBackOff)."""
        self.settings.stall(selector, stalled)
        self.controllers.kick()

    def wait_idle(self, timeout=10.0):
        """Wait until the controllers have nothing left to do (all pods settled), for tests."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            current = self.store.rv
            if current == last:
                return True
            last = current
            time.sleep(max(self.settings.pod_ready_delay, 0.05) + 0.1)
        return False

    # ------------------------------------------------------------ request log and faults

    def requests(self, since=None):
        return self.apiserver.log.list(since)

    def clear_requests(self):
        self.apiserver.log.clear()

    def add_fault(self, **rule):
        return self.apiserver.faults.add(**rule)

    def clear_faults(self):
        self.apiserver.faults.clear()

    def stop(self):
        self.apiserver.stopping.set()
        self.controllers.stop()
        with self.store.lock:
            self.store.changed.notify_all()
        self.server.stop()

    # ------------------------------------------------------------ /_emulator controls

    def _control_nodes(self, body):
        self.scale_nodes(int(body["count"]), body.get("pool"))
        return {"nodes": self.store.count("/nodes")}

    def _control_stall(self, body):
        self.stall(body.get("selector") or "", bool(body.get("stalled", True)))
        return {"stalled": [str(r) for r in self.settings.stalled]}

    def _control_settings(self, body):
        if "pod_ready_delay" in body:
            self.settings.pod_ready_delay = float(body["pod_ready_delay"])
        if "bookmark_interval" in body:
            self.apiserver.bookmark_every = float(body["bookmark_interval"])
        return {"pod_ready_delay": self.settings.pod_ready_delay, "bookmark_interval": self.apiserver.bookmark_every}

    def _control_identities(self, body):
        if "gc_delay" in body:
            self.cilium.gc_delay = float(body["gc_delay"])
            self.controllers.kick()
        return {"gc_delay": self.cilium.gc_delay, "identities": self.store.count("cilium.io/ciliumidentities")}

    def _control_watch(self, body):
        action = body.get("action", "disconnect")
        if action not in ("disconnect", "expire", "compact"):
            raise ValueError("action must be disconnect, expire or compact")
        if action == "compact":
            self.store.compact()
        else:
            self.store.kick_watches(expire=action == "expire")
        return {"action": action, "resourceVersion": str(self.store.rv)}


def start_cluster(ca, name, resource_group, location="westeurope", kubernetes_version="1.33.2", node_pools=None,
                  network_profile=None, acns=None, pod_ready_delay=0.2, port=0, addons=True, addresses=None, owner=None):
    """Start one emulated AKS cluster's Kubernetes API (see ClusterHandle).

    addons=False leaves out the kube-system add-ons beside Cilium and coredns (kube_system.py).
    addresses (tests.emulator.arm.subnet_usage.SubnetAddresses) and owner (the cluster's ARM id) draw
    node and pod addresses from the pools' subnets.
    """
    if kubernetes_version.count(".") == 1:
        kubernetes_version += ".0"  # an ARM "1.33" runs some 1.33.x patch
    info = aks_seed.ClusterInfo(name, resource_group, location, kubernetes_version, node_pools or DEFAULT_POOLS,
                                network_profile, acns, addons, addresses, owner)
    return ClusterHandle(ca, info, pod_ready_delay, port)


__all__ = ["start_cluster", "ClusterHandle"]
