"""Microsoft.ContainerService managedClusters/{name}/agentPools: the sub-resource API over agentPoolProfiles.

A pool is stored once, inside its cluster's agentPoolProfiles, so the two APIs can never disagree:
an agentPools PUT builds the cluster as it would be with that pool (AKS's defaults and backfill),
runs the same validation table, and starts its own long-running operation on the pool's id (which
blocks cluster operations too, as AKS does). Only the pool's provisioningState moves.

Wire shapes follow the 2026-08-01 examples (AgentPoolsCreate_Update / Get / Delete): PUT answers 201
(create) or 200 (update) with Azure-AsyncOperation; DELETE answers 202 with Location, 204 when absent.
"""

import copy

from ..http import Response, json_response
from . import aks, naming, rules
from .errors import bad_request, child_not_found

POOL_TYPE = "Microsoft.ContainerService/managedClusters/agentPools"


def pool_resource(cluster, pool):
    return {"id": "%s/agentPools/%s" % (cluster["id"], pool["name"]), "name": pool["name"], "type": POOL_TYPE,
            "properties": {k: v for k, v in pool.items() if k != "name"}}


def find(cluster, name):
    return next((p for p in cluster["properties"]["agentPoolProfiles"] if p["name"].lower() == name.lower()), None)


def _with_pools(arm, cluster, pools):
    """The cluster as AKS would store it with these agentPoolProfiles (defaults filled, old values backfilled)."""
    body = copy.deepcopy(cluster)
    body["properties"]["agentPoolProfiles"] = pools
    sub, rg = cluster["id"].split("/")[2], cluster["id"].split("/")[4]
    return aks.build_cluster(arm, sub, rg, cluster["name"], body, cluster)[0]


def _set_pool_state(cluster, name, state):
    for pool in cluster["properties"]["agentPoolProfiles"]:
        if pool["name"].lower() == name.lower():
            pool["provisioningState"] = state


def _finish_pool(arm, cluster_id, name):
    def done(op):
        cluster = arm.store.get(cluster_id)
        if cluster is None:
            return
        _set_pool_state(cluster, name, "Succeeded" if op.status == "Succeeded" else op.status)
        arm.store.put(cluster_id, cluster)
        if op.status == "Succeeded":
            arm.kube.sync(cluster)
    return done


def get_pool(arm, request, sub, rg, name, pool):
    del request
    cluster = aks.cluster_or_404(arm, sub, rg, name)
    found = find(cluster, pool)
    if found is None:
        raise child_not_found("%s/agentPools/%s" % (cluster["id"], pool))
    return json_response(200, pool_resource(cluster, found))


def list_pools(arm, request, sub, rg, name):
    del request
    cluster = aks.cluster_or_404(arm, sub, rg, name)
    return json_response(200, {"value": [pool_resource(cluster, p) for p in cluster["properties"]["agentPoolProfiles"]]})


def put_pool(arm, request, sub, rg, name, pool):
    cluster = aks.cluster_or_404(arm, sub, rg, name)
    body = arm.json_body(request, naming.POOL_SHAPE)
    if not isinstance(body.get("properties"), dict):
        raise bad_request("InvalidRequestContent", "The request content was invalid: 'properties' is required.")
    existing = find(cluster, pool)
    raw = dict(body["properties"], name=existing["name"] if existing else pool)
    pools = [raw if p is existing else p for p in cluster["properties"]["agentPoolProfiles"]]
    updated = _with_pools(arm, cluster, pools if existing else pools + [raw])
    rules.validate(rules.Change(arm.store, updated, cluster, {}, arm.ops.pending_for(cluster["id"])))
    # a pool operation moves only the pool's provisioningState: the cluster keeps its own (AKS reports both)
    updated["properties"]["provisioningState"] = cluster["properties"].get("provisioningState", "Succeeded")
    for item in updated["properties"]["agentPoolProfiles"]:
        old = find(cluster, item["name"])
        item["provisioningState"] = (old or {}).get("provisioningState", "Succeeded")
    _set_pool_state(updated, raw["name"], "Updating" if existing else "Creating")
    aks.release_subnets(arm, cluster)
    aks.claim_subnets(arm, updated)
    arm.store.put(updated["id"], updated)
    pool_id = "%s/agentPools/%s" % (cluster["id"], raw["name"])
    op = arm.start_operation(request, pool_id, "update" if existing else "create", aks.PROVIDER, cluster["location"],
                             on_done=_finish_pool(arm, cluster["id"], raw["name"]))
    return json_response(200 if existing else 201, pool_resource(updated, find(updated, pool)), arm.lro_headers(op, request))


def delete_pool(arm, request, sub, rg, name, pool):
    cluster = aks.cluster_or_404(arm, sub, rg, name)
    existing = find(cluster, pool)
    if existing is None:
        return Response(204)
    pool_id = "%s/agentPools/%s" % (cluster["id"], existing["name"])
    pending = arm.ops.pending_for(pool_id)
    if pending is not None and pending.kind == "delete":
        return Response(202, arm.lro_headers(pending, request, location=True))
    remaining = [p for p in cluster["properties"]["agentPoolProfiles"] if p is not existing]
    updated = _with_pools(arm, cluster, remaining)
    rules.validate(rules.Change(arm.store, updated, cluster, {}, arm.ops.pending_for(cluster["id"])))
    _set_pool_state(cluster, pool, "Deleting")
    arm.store.put(cluster["id"], cluster)

    def done(op):
        current = arm.store.get(cluster["id"])
        if current is None:
            return
        if op.status != "Succeeded":
            _set_pool_state(current, pool, "Failed")
            arm.store.put(current["id"], current)
            return
        aks.release_subnets(arm, current)
        current["properties"]["agentPoolProfiles"] = [p for p in current["properties"]["agentPoolProfiles"]
                                                      if p["name"].lower() != pool.lower()]
        aks.claim_subnets(arm, current)
        arm.store.put(current["id"], current)
        arm.kube.sync(current)

    op = arm.start_operation(request, pool_id, "delete", aks.PROVIDER, cluster["location"], on_done=done)
    return Response(202, arm.lro_headers(op, request, location=True))


ROUTES = [
    ("GET", aks.MC + r"/(?P<name>[^/]+)/agentPools", list_pools),
    ("PUT", aks.MC + r"/(?P<name>[^/]+)/agentPools/(?P<pool>[^/]+)", put_pool),
    ("GET", aks.MC + r"/(?P<name>[^/]+)/agentPools/(?P<pool>[^/]+)", get_pool),
    ("DELETE", aks.MC + r"/(?P<name>[^/]+)/agentPools/(?P<pool>[^/]+)", delete_pool),
]
