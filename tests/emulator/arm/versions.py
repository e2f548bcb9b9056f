"""What AKS says about Kubernetes versions: `locations/{location}/kubernetesVersions` (az aks get-versions)
and the upgrade profiles of a cluster and of its pools (az aks get-upgrades, az aks nodepool get-upgrades).

Shapes: swagger 2026-08-01 `KubernetesVersionListResult`, `ManagedClusterUpgradeProfile` and
`AgentPoolUpgradeProfile` (azure-mgmt-containerservice 41.8.0 models). The rules AKS applies: a version
can move to a newer patch of its minor or to any patch of the next minor, never skip a minor
(Learn, "Supported Kubernetes versions in AKS"); a pool cannot run newer than its control plane.
The versions are the lab's table (rules.KUBERNETES_VERSIONS); 1.31 is a long-term-support version
(Learn, "Azure CNI Powered by Cilium", the version table marks 1.31 as LTS).
"""

from ..http import json_response
from . import aks, ids, rules
from .errors import child_not_found, resource_not_found

LTS_MINORS = ("1.31",)
SUPPORT_PLANS = ["KubernetesOfficial"]


def _key(version):
    return tuple(int(part) for part in version.split("."))


def _minor(version):
    return version.rsplit(".", 1)[0]


def upgrades_from(version, ceiling=None):
    """Versions AKS lets `version` move to (newest last), capped at `ceiling` when given."""
    current = _key(version)
    next_minor = (current[0], current[1] + 1)
    found = [v for v in rules.KUBERNETES_VERSIONS
             if _key(v) > current and _key(v)[:2] in (current[:2], next_minor)
             and (ceiling is None or _key(v) <= _key(ceiling))]
    return sorted(found, key=_key)


def _plans(minor):
    return SUPPORT_PLANS + (["AKSLongTermSupport"] if minor in LTS_MINORS else [])


def list_versions(arm, request, sub, location):
    del request, sub, location  # one table for every region of the lab
    default_minor = _minor(arm.settings.default_kubernetes_version)
    values = []
    for minor in sorted({_minor(v) for v in rules.KUBERNETES_VERSIONS}, key=_key, reverse=True):
        patches = {v: {"upgrades": upgrades_from(v)} for v in rules.KUBERNETES_VERSIONS if _minor(v) == minor}
        entry = {"version": minor, "capabilities": {"supportPlan": _plans(minor)}, "patchVersions": patches}
        if minor == default_minor:
            entry["isDefault"] = True
        values.append(entry)
    return json_response(200, {"values": values})


def _cluster(arm, sub, rg, name):
    arm.require_resource_group(sub, rg)
    cluster = arm.store.get(ids.cluster(sub, rg, name))
    if cluster is None:
        raise resource_not_found(aks.TYPE_PATH, name, rg)
    return cluster


def _upgrade_list(versions):
    return [{"kubernetesVersion": v} for v in versions]


def cluster_upgrade_profile(arm, request, sub, rg, name):
    del request
    cluster = _cluster(arm, sub, rg, name)
    props = cluster["properties"]
    control = props["currentKubernetesVersion"]
    pools = [{"name": p["name"], "osType": p.get("osType", "Linux"),
              "kubernetesVersion": p.get("currentOrchestratorVersion") or p["orchestratorVersion"],
              "upgrades": _upgrade_list(upgrades_from(p.get("currentOrchestratorVersion") or p["orchestratorVersion"],
                                                      ceiling=control))}
             for p in props["agentPoolProfiles"]]
    return json_response(200, {
        "id": cluster["id"] + "/upgradeprofiles/default", "name": "default",
        "type": "Microsoft.ContainerService/managedClusters/upgradeprofiles",
        "properties": {"controlPlaneProfile": {"kubernetesVersion": control, "osType": "Linux",
                                               "upgrades": _upgrade_list(upgrades_from(control))},
                       "agentPoolProfiles": pools}})


def pool_upgrade_profile(arm, request, sub, rg, name, pool):
    del request
    cluster = _cluster(arm, sub, rg, name)
    found = next((p for p in cluster["properties"]["agentPoolProfiles"] if p["name"].lower() == pool.lower()), None)
    if found is None:
        raise child_not_found("%s/agentPools/%s" % (cluster["id"], pool))
    version = found.get("currentOrchestratorVersion") or found["orchestratorVersion"]
    control = cluster["properties"]["currentKubernetesVersion"]
    return json_response(200, {
        "id": "%s/agentPools/%s/upgradeProfiles/default" % (cluster["id"], found["name"]), "name": "default",
        "type": "Microsoft.ContainerService/managedClusters/agentPools/upgradeProfiles",
        "properties": {"kubernetesVersion": version, "osType": found.get("osType", "Linux"),
                       "upgrades": _upgrade_list(upgrades_from(version, ceiling=control)),
                       "latestNodeImageVersion": found.get("nodeImageVersion")}})


ROUTES = [
    ("GET", r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.ContainerService/locations/(?P<location>[^/]+)/"
            r"kubernetesVersions", list_versions),
    ("GET", aks.MC + r"/(?P<name>[^/]+)/upgradeProfiles/default", cluster_upgrade_profile),
    ("GET", aks.MC + r"/(?P<name>[^/]+)/agentPools/(?P<pool>[^/]+)/upgradeProfiles/default", pool_upgrade_profile),
]
