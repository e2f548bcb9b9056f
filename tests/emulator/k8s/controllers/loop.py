"""The controllers' loop: one background thread per emulated cluster.

Event-driven: any write wakes the loop, which runs one pass (namespaces, garbage collection after a
deletion, the kubelet, then the DaemonSet, Deployment and ReplicaSet controllers and any extra reconcilers)
and then sleeps until the next write or the next timer (a pod due to become Ready, a progress deadline).
An idle cluster costs nothing.
"""

import heapq
import threading
import time
import traceback

from .common import controller_uid
from .daemonset import DaemonSetController
from .deployment import DeploymentController
from .garbage import GarbageCollector
from .kubelet import Kubelet
from .namespaces import Namespaces
from .replicaset import ReplicaSetController

WORKLOAD_KEYS = {"/pods", "/nodes", "/namespaces", "apps/daemonsets", "apps/deployments", "apps/replicasets",
                 "cilium.io/ciliumnetworkpolicies", "cilium.io/ciliumclusterwidenetworkpolicies"}


class Controllers:

    def __init__(self, api, settings, extra=(), root_ca=""):
        self.api = api
        self.extra = list(extra)  # more reconcilers (the Cilium agent/operator), run after the workloads
        self.store = api.store
        self.settings = settings
        self.types = {t.key: t for t in api.registry.all() if t.builtin}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._timers = []
        self._timer_lock = threading.Lock()
        self._deleted = False
        self._thread = None
        self.passes = 0
        self.namespaces = Namespaces(self, root_ca)
        self.garbage = GarbageCollector(self)
        self.kubelet = Kubelet(self, settings)
        self.daemonsets = DaemonSetController(self)
        self.deployments = DeploymentController(self)
        self.replicasets = ReplicaSetController(self)
        self.store.add_listener(self._on_change)

    def start(self):
        self._thread = threading.Thread(target=self._run, name="k8s-controllers", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)

    def kick(self):
        self._wake.set()

    def _on_change(self, key, event_type, obj, old):
        if event_type == "DELETED":
            self._deleted = True
        if key in WORKLOAD_KEYS or event_type == "DELETED":
            self._wake.set()

    def at(self, when):
        """Wake the loop at monotonic time `when`."""
        with self._timer_lock:
            heapq.heappush(self._timers, when)

    def _next_timer(self):
        """Seconds until the next timer (0 when one fell due during the last pass), None when none is set.

        A timer armed in a pass can fall due before the pass ends (a busy pass on a loaded machine);
        dropping it without a pass would leave e.g. a pod in ContainerCreating until some unrelated write.
        """
        now = time.monotonic()
        due = False
        with self._timer_lock:
            while self._timers and self._timers[0] <= now:
                heapq.heappop(self._timers)
                due = True
            if due:
                return 0.0
            return self._timers[0] - now if self._timers else None

    def _run(self):
        while not self._stop.is_set():
            delay = self._next_timer()
            woken = self._wake.wait(delay if delay is not None else 5.0)
            if self._stop.is_set():
                return
            if not woken and delay is None:
                continue  # nothing happened and nothing is due: stay idle (a write since then keeps the flag set)
            self._wake.clear()  # only now: the pass below sees every write made before this point
            try:
                self.reconcile()
            except Exception:  # pylint: disable=broad-exception-caught
                traceback.print_exc()  # a controller bug must show, not kill the loop
            self.passes += 1

    def reconcile(self):
        """One pass over everything; writes made here wake the loop again until nothing changes."""
        with self.store.lock:
            self.namespaces.reconcile()
            if self._deleted:
                self._deleted = False
                self.garbage.collect()
            self.kubelet.reconcile()
            nodes = list(self.store.objects("/nodes"))
            pods_by_owner = {}
            for pod in self.store.objects("/pods"):
                pods_by_owner.setdefault(controller_uid(pod), []).append(pod)
            for ds in list(self.store.objects("apps/daemonsets")):
                self.daemonsets.reconcile(ds, nodes, pods_by_owner.get(ds["metadata"]["uid"], []))
            for deploy in list(self.store.objects("apps/deployments")):
                self.deployments.reconcile(deploy, pods_by_owner)
            for rs in list(self.store.objects("apps/replicasets")):
                self.replicasets.reconcile(rs, nodes, pods_by_owner.get(rs["metadata"]["uid"], []))
            for reconciler in self.extra:
                reconciler.reconcile()
