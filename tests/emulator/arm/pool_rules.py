"""AKS's pod IP allocation rules for agent pools (rows appended to rules.RULES).

Sources: the SDK docstring of AgentPool.pod_ip_allocation_mode ("must be used together with
podSubnetID"; DynamicIndividual is the default); Learn, configure-azure-cni-static-block-allocation
(new pools only; a pod subnet shared by pools and clusters uses one allocation mode). AKS's exact codes
for these two are not documented: InvalidParameter / BadRequest + a descriptive subcode, like the rest
of the table. Rows: (name, status, code, subcode, message, target, check).
"""

CLUSTER_TYPE = "microsoft.containerservice/managedclusters"
DYNAMIC, STATIC = "DynamicIndividual", "StaticBlock"


def allocation_mode(pool):
    """The effective podIPAllocationMode of a pool with a pod subnet (None without one)."""
    if not pool.get("podSubnetID"):
        return None
    return STATIC if (pool.get("podIPAllocationMode") or "").lower() == STATIC.lower() else DYNAMIC


def mode_without_pod_subnet(ch):
    for index, pool in enumerate(ch.pools):
        if pool.get("podIPAllocationMode") and not pool.get("podSubnetID"):
            return {"index": index, "name": pool["name"]}
    return None


def mode_changed(ch):
    for index, pool in enumerate(ch.pools):
        old = ch.old_pools.get(pool["name"].lower())
        if old is not None and allocation_mode(old) != allocation_mode(pool) and old.get("podSubnetID"):
            return {"index": index, "name": pool["name"], "before": allocation_mode(old), "after": allocation_mode(pool)}
    return None


def _pools_on_subnet(ch, subnet_id):
    """(cluster name, pool) of every pool of every other cluster that draws pods from subnet_id."""
    own = ch.cluster["id"].lower()
    for body in ch.store.all():
        if (body.get("type") or "").lower() != CLUSTER_TYPE or body["id"].lower() == own:
            continue
        for pool in body["properties"].get("agentPoolProfiles") or []:
            if (pool.get("podSubnetID") or "").lower() == subnet_id.lower():
                yield body["name"], pool


def mixed_modes_on_subnet(ch):
    for index, pool in enumerate(ch.pools):
        mode = allocation_mode(pool)
        if mode is None:
            continue
        others = [(ch.cluster["name"], p) for p in ch.pools if p is not pool]
        others += list(_pools_on_subnet(ch, pool["podSubnetID"]))
        for cluster_name, other in others:
            if (other.get("podSubnetID") or "").lower() == pool["podSubnetID"].lower() and allocation_mode(other) != mode:
                return {"index": index, "name": pool["name"], "mode": mode, "other": "%s/%s" % (cluster_name, other["name"]),
                        "other_mode": allocation_mode(other), "subnet": pool["podSubnetID"].rsplit("/", 1)[-1]}
    return None


ROWS = [
    ("allocation-mode-needs-pod-subnet", 400, "InvalidParameter", None,
     "Agent pool '{name}' sets podIPAllocationMode without podSubnetID; the allocation mode applies to a pod subnet.",
     "agentPoolProfiles[{index}].podIPAllocationMode", mode_without_pod_subnet),
    ("allocation-mode-immutable", 400, "PropertyChangeNotAllowed", None,
     "Changing property 'podIPAllocationMode' is not allowed: agent pool '{name}' uses {before}; static block "
     "allocation can only be chosen for a new node pool.", "agentPoolProfiles[{index}].podIPAllocationMode", mode_changed),
    ("one-allocation-mode-per-subnet", 400, "BadRequest", "PodSubnetAllocationModeConflict",
     "Agent pool '{name}' asks for {mode} on pod subnet {subnet}, which agent pool {other} uses with {other_mode}. All "
     "node pools and clusters sharing a pod subnet must use the same podIPAllocationMode.",
     "agentPoolProfiles[{index}].podIPAllocationMode", mixed_modes_on_subnet),
]
