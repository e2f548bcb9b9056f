"""A network migration on the Kubernetes side: every node pool reimaged at once (AKS: update-azure-cni).

`begin` cordons every node (the drain starts); `blocker` is the first eviction a PodDisruptionBudget
refuses; `end` makes the nodes schedulable again (a failed drain). `apply` is the finished
operation: each pool's nodes are replaced by new VMSS instances carrying the new profile's labels,
the pods of the old nodes go (pod GC) and their controllers reschedule them onto the new ones, the
old policy engine is uninstalled and the Cilium agents start on the new nodes.
"""

from . import aks_seed, engines
from .api import CONTROLLER
from .disruption import drain_blocker

REIMAGE_KEYS = ("networkPlugin", "networkPluginMode", "networkDataplane")  # a policy change alone reimages nothing


def changed(old_profile, new_profile, keys=REIMAGE_KEYS):
    def value(profile, key):
        return ((profile or {}).get(key) or "").lower()
    return any(value(old_profile, key) != value(new_profile, key) for key in keys)


def _set_unschedulable(api, unschedulable):
    node_type = api.registry.get("", "v1", "nodes")
    for node in list(api.store.objects(node_type.key)):
        if bool((node.get("spec") or {}).get("unschedulable")) == unschedulable:
            continue
        spec = dict(node.get("spec") or {})
        if unschedulable:
            spec["unschedulable"] = True
        else:
            spec.pop("unschedulable", None)
        api.write(node_type, node, dict(node, spec=spec), CONTROLLER)


def begin(api):
    """Cordon every node."""
    _set_unschedulable(api, True)


def blocker(api):
    """drain_blocker() for every node (None: the drain can proceed)."""
    return drain_blocker(api.store, sorted(n["metadata"]["name"] for n in api.store.objects("/nodes")))


def end(api):
    _set_unschedulable(api, False)


def apply(api, info):
    """Replace every node by a new instance and swap the engines (info.network_profile is the new profile)."""
    for pool in info.node_pools:
        info.instance_base[pool["name"]] = info.instance_base.get(pool["name"], 0) + int(pool.get("count", 0))
    swap_engines(api, info)
    aks_seed.sync_nodes(api, info)


def swap_engines(api, info):
    """Install what the profile's data plane / policy engine needs, uninstall the engine it no longer has."""
    engines.sync(api, info, aks_seed.install_cilium)
    aks_seed.sync_acns(api, info)
