# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``cilium_status`` with ``wait``: watch what decides health and wake the status engine when it changes.

Watched from the resourceVersions the first collection saw; no fixed sleeps (see ``_cilium.status``).

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import contextlib
import queue
import threading

from ansible_collections.azcni.cilium.plugins.module_utils._cilium import acns
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.resources import path
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.watch import ChangeWatch


def _version(obj):
    return ((obj or {}).get("metadata") or {}).get("resourceVersion")


def _pump(changes, signals, stop):
    """Forward "something changed" from one watch to ``signals`` (runs in a thread)."""
    try:
        for _change in changes:
            if stop.is_set():
                return
            signals.put(True)
    except Exception as exc:  # handed to the waiting thread, which raises it
        signals.put(exc)


def _next_change(signals, timeout):
    """Block until at least one change (True), or ``timeout`` passes (False); a burst counts once."""
    try:
        signal = signals.get(timeout=timeout)
    except queue.Empty:
        return False
    while True:
        if isinstance(signal, Exception):
            raise signal
        try:
            signal = signals.get_nowait()
        except queue.Empty:
            return True


def _watches(client, snapshot, clock):
    """(ChangeWatch, starting version) for what decides health: the two workloads and the agent pods."""
    namespace = snapshot["namespace"]
    watches = []
    for kind, key in (("DaemonSet", "agent"), ("Deployment", "operator")):
        watch = ChangeWatch(client, path(kind, namespace), field_selector="metadata.name=%s" % snapshot[key + "_name"],
                            clock=clock)
        watches.append((watch, _version(snapshot[key])))
    if snapshot["agent_selector"]:
        watches.append((ChangeWatch(client, path("Pod", namespace), label_selector=snapshot["agent_selector"], clock=clock),
                        snapshot["agent_pods_version"]))
    for kind, key, name in (("DaemonSet", "envoy", acns.ENVOY_DAEMONSET), ("Deployment", "hubble_relay", acns.RELAY_DEPLOYMENT)):
        if snapshot.get(key) is not None:
            watches.append((ChangeWatch(client, path(kind, namespace), field_selector="metadata.name=%s" % name, clock=clock),
                            _version(snapshot[key])))
    if snapshot.get("cilium_nodes") is not None:  # WireGuard keys appearing
        watches.append((ChangeWatch(client, path("CiliumNode"), clock=clock), snapshot["cilium_nodes_version"]))
    return watches


@contextlib.contextmanager
def wait_for_change(client, snapshot, deadline, clock):
    """Yields ``changed()``: blocks until something watched changed (True) or ``deadline`` passed (False)."""
    signals, stop = queue.Queue(), threading.Event()
    watches = _watches(client, snapshot, clock)
    client.set_pool_size(4 + len(watches))  # the streaming watches besides the collections
    for watch, version in watches:
        threading.Thread(target=_pump, args=(watch.events(deadline, version), signals, stop), daemon=True).start()

    def changed():
        remaining = deadline - clock()
        return remaining > 0 and _next_change(signals, remaining)

    try:
        yield changed
    finally:
        stop.set()
