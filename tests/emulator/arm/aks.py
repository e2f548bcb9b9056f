"""Microsoft.ContainerService managedClusters and their credentials (agent pools: agentpools.py).

A PUT is normalized the way AKS does it (omitted fields backfilled from the existing cluster on
update, service defaults filled in on create), validated against rules.RULES, stored as
Creating/Updating and finished by a long-running operation.
"""

import base64
import copy
import hashlib
import uuid

from ..http import Response, json_response
from . import acns, ids, migration, naming, network, resources, rules
from .errors import ArmError, bad_request, resource_not_found

PROVIDER = "Microsoft.ContainerService"
TYPE = "Microsoft.ContainerService/ManagedClusters"
TYPE_PATH = "Microsoft.ContainerService/managedClusters"
READ_ONLY = ("provisioningState", "powerState", "fqdn", "azurePortalFQDN", "privateFQDN", "currentKubernetesVersion",
             "maxAgentPools", "resourceUID")
POOL_READ_ONLY = ("provisioningState", "powerState", "currentOrchestratorVersion", "nodeImageVersion", "eTag")
IPV6_POD_CIDR, IPV6_SERVICE_CIDR = "fd12:3456:789a::/64", "fd12:3456:789a:1::/108"
NODE_IMAGE = {"linux": "AKSUbuntu-2204gen2containerd-202510.03.0", "windows": "AKSWindows-2022-containerd-20348.3932.250710"}


def _short_hash(text):
    return hashlib.sha256(text.lower().encode("utf-8")).hexdigest()[:8]


def _location(text):
    return text.replace(" ", "").lower()


def _guid(*parts):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts).lower()))


def _backfill(new, old, read_only=()):
    """Keys absent from a PUT keep their stored value (AKS backfills); an explicit null clears one."""
    for key, value in (old or {}).items():
        if key not in new and key not in read_only:
            new[key] = copy.deepcopy(value)
    for key in [k for k, v in new.items() if v is None]:
        del new[key]
    return new


# ---- normalization ----------------------------------------------------------------------
def _cidr_pair(np, raw, single, many, default, ipv6_default):
    if np.get(many) and not np.get(single):
        np[single] = np[many][0]
    np.setdefault(single, default)
    if not np.get(many) or (single in raw and many not in raw):
        np[many] = [np[single]] + ([ipv6_default] if "IPv6" in np["ipFamilies"] else [])


LOAD_BALANCER_SKUS = {"standard": "Standard", "basic": "Basic"}


def normalize_network(raw, old_np, sub, node_rg):
    np = _backfill(copy.deepcopy(raw or {}), old_np)
    np.setdefault("networkPlugin", "kubenet")
    np.setdefault("networkDataplane", "azure")
    np.setdefault("networkPolicy", "cilium" if np["networkDataplane"].lower() == "cilium" else "none")
    np.setdefault("ipFamilies", ["IPv4"])
    if np["networkPlugin"].lower() == "kubenet" or (np.get("networkPluginMode") or "").lower() == "overlay":
        _cidr_pair(np, raw or {}, "podCidr", "podCidrs", "10.244.0.0/16", IPV6_POD_CIDR)
    else:
        np.pop("podCidr", None)  # pods take VNet addresses: AKS keeps no pod CIDR
        np.pop("podCidrs", None)
    _cidr_pair(np, raw or {}, "serviceCidr", "serviceCidrs", "10.0.0.0/16", IPV6_SERVICE_CIDR)
    np.setdefault("dnsServiceIP", "10.0.0.10")
    np.setdefault("outboundType", "loadBalancer")
    # ARM matches enum values in any case; AKS answers loadBalancerSku in its own spelling ("Standard" after a create)
    np["loadBalancerSku"] = LOAD_BALANCER_SKUS.get(str(np.get("loadBalancerSku") or "standard").lower(), np.get("loadBalancerSku"))
    if np["outboundType"].lower() == "loadbalancer":
        np["loadBalancerProfile"] = _load_balancer(np.get("loadBalancerProfile") or {}, sub, node_rg,
                                                   dual_stack="IPv6" in np["ipFamilies"])
    acns.normalize(np)
    return np


def _load_balancer(profile, sub, node_rg, dual_stack):
    profile = copy.deepcopy(profile)
    if not (profile.get("outboundIPs") or profile.get("outboundIPPrefixes")):
        profile.setdefault("managedOutboundIPs", {"count": 1})
    managed = profile.get("managedOutboundIPs") or {}
    if dual_stack and "managedOutboundIPs" in profile:
        managed.setdefault("countIPv6", 1)  # dual-stack clusters get one IPv6 outbound IP by default
    ip_ids = [ip["id"] for ip in (profile.get("outboundIPs") or {}).get("publicIPs") or []]
    prefix = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/publicIPAddresses/" % (sub, node_rg)
    ip_ids += [prefix + _guid(node_rg, "ipv4", str(i)) for i in range(int(managed.get("count") or 0))]
    ip_ids += [prefix + _guid(node_rg, "ipv6", str(i)) + "-ipv6" for i in range(int(managed.get("countIPv6") or 0))]
    profile["effectiveOutboundIPs"] = [{"id": ip_id} for ip_id in ip_ids]
    profile.setdefault("allocatedOutboundPorts", 0)
    profile.setdefault("idleTimeoutInMinutes", 30)
    profile.setdefault("backendPoolType", "nodeIPConfiguration")
    return profile


def default_max_pods(np, pool):
    plugin, overlay = np["networkPlugin"].lower(), (np.get("networkPluginMode") or "").lower() == "overlay"
    if plugin == "kubenet":
        return 110
    if plugin == "azure" and not overlay:
        return 110 if pool.get("podSubnetID") else 30
    return 250


def normalize_pools(raw_pools, old_pools, np, version):
    old_by_name = {p["name"].lower(): p for p in old_pools or []}
    any_mode = any(p.get("mode") for p in raw_pools)
    pools = []
    for index, raw in enumerate(raw_pools):
        pool = copy.deepcopy(raw)
        for key in POOL_READ_ONLY:
            pool.pop(key, None)
        for key in ("vmSize", "osDiskSizeGB"):  # the az CLI sends "" / 0 for "AKS chooses" (az 2.91 request bodies)
            if pool.get(key) in ("", 0):
                del pool[key]
        _backfill(pool, old_by_name.get((raw.get("name") or "").lower()), POOL_READ_ONLY)
        linux = (pool.setdefault("osType", "Linux")).lower() == "linux"
        pool.setdefault("mode", "User" if any_mode or index else "System")
        pool.setdefault("count", 1)
        pool.setdefault("vmSize", "Standard_DS2_v2")
        pool.setdefault("osSKU", "Ubuntu" if linux else "Windows2022")
        pool.setdefault("type", "VirtualMachineScaleSets")
        pool.setdefault("maxPods", default_max_pods(np, pool))
        for key, value in (("osDiskSizeGB", 128), ("osDiskType", "Managed"), ("kubeletDiskType", "OS"),
                           ("enableAutoScaling", False), ("enableNodePublicIP", False), ("enableFIPS", False),
                           ("enableEncryptionAtHost", False), ("scaleDownMode", "Delete")):
            pool.setdefault(key, value)
        pool.setdefault("upgradeSettings", {"maxSurge": "10%"})
        if not pool.get("orchestratorVersion"):
            pool["orchestratorVersion"] = version
        pool["currentOrchestratorVersion"] = rules.resolve_version(pool["orchestratorVersion"]) or pool["orchestratorVersion"]
        pool["nodeImageVersion"] = NODE_IMAGE["linux" if linux else "windows"]
        pool["powerState"] = {"code": "Running"}
        pool["eTag"] = _guid(pool["name"], str(uuid.uuid4()))
        pools.append(pool)
    return pools


def build_cluster(arm, sub, rg, name, body, old):
    """(cluster body as stored, the request's raw networkProfile)."""
    cluster_id = old["id"] if old else ids.cluster(sub, rg, name)
    location = body.get("location") or (old or {}).get("location")
    if not location:
        raise bad_request("LocationRequired", "The location property is required for this definition.")
    naming.check_resource_location(location, TYPE_PATH)
    if old and _location(location) != _location(old["location"]):
        raise ArmError(409, "InvalidResourceLocation",
                       "The resource '%s' already exists in location '%s' in resource group '%s'. A resource with the "
                       "same name cannot be created in location '%s'. Please select a new resource name."
                       % (name, old["location"], rg, location))
    raw = body.get("properties") or {}
    old_props = (old or {}).get("properties") or {}
    if not old and raw.get("dnsPrefix") is not None:
        naming.check_dns_prefix(raw["dnsPrefix"])
    props = _backfill({k: copy.deepcopy(v) for k, v in raw.items() if k not in READ_ONLY}, old_props, READ_ONLY)
    version = props.get("kubernetesVersion") or old_props.get("kubernetesVersion") or arm.settings.default_kubernetes_version
    props["kubernetesVersion"] = version
    props["currentKubernetesVersion"] = rules.resolve_version(version) or version
    if not props.get("dnsPrefix") and not props.get("fqdnSubdomain"):
        props["dnsPrefix"] = "%s-%s-%s" % (name[:10], rg[:16], sub[:6])
    # AKS keeps generated node resource group names within 80 characters (Azure/telescope#1056)
    props.setdefault("nodeResourceGroup", ("MC_%s_%s_%s" % (rg, name, _location(location)))[:80])
    prefix = "%s-%s" % (props.get("dnsPrefix") or props["fqdnSubdomain"], _short_hash(cluster_id))
    props["fqdn"] = "%s.hcp.%s.azmk8s.io" % (prefix, _location(location))
    props["azurePortalFQDN"] = "%s.portal.hcp.%s.azmk8s.io" % (prefix, _location(location))
    props["networkProfile"] = normalize_network(raw.get("networkProfile"), old_props.get("networkProfile"),
                                                sub, props["nodeResourceGroup"])
    acns.normalize_monitor(props)
    props["agentPoolProfiles"] = normalize_pools(props.get("agentPoolProfiles") or [], old_props.get("agentPoolProfiles"),
                                                 props["networkProfile"], version)
    props.setdefault("enableRBAC", True)
    props.setdefault("supportPlan", "KubernetesOfficial")
    props.setdefault("disableLocalAccounts", False)
    props.setdefault("addonProfiles", {})
    props["servicePrincipalProfile"] = {"clientId": (props.get("servicePrincipalProfile") or {}).get("clientId", "msi")}
    if props.get("windowsProfile"):
        props["windowsProfile"] = {k: v for k, v in props["windowsProfile"].items() if k != "adminPassword"}
    props.update(maxAgentPools=100, powerState={"code": "Running"}, resourceUID=_short_hash(cluster_id) * 3)
    cluster = {"id": cluster_id, "location": location, "name": old["name"] if old else name, "type": TYPE,
               "eTag": str(uuid.uuid4()), "sku": body.get("sku") or (old or {}).get("sku") or {"name": "Base", "tier": "Free"},
               "properties": props}
    tags = body["tags"] if "tags" in body else (old or {}).get("tags")
    if tags is not None:
        cluster["tags"] = tags
    identity = body.get("identity") or (old or {}).get("identity")
    if identity is None and props["servicePrincipalProfile"]["clientId"] == "msi":
        identity = {"type": "SystemAssigned"}
    if identity:
        cluster["identity"] = _identity(arm, cluster_id, identity)
        props.setdefault("identityProfile", {"kubeletidentity": {
            "resourceId": "/subscriptions/%s/resourcegroups/%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                          "%s-agentpool" % (sub, props["nodeResourceGroup"], name),
            "clientId": _guid(cluster_id, "kubelet", "client"), "objectId": _guid(cluster_id, "kubelet", "object")}})
    return cluster, copy.deepcopy(raw.get("networkProfile") or {})


def _identity(arm, cluster_id, identity):
    identity = copy.deepcopy(identity)
    if (identity.get("type") or "").lower() == "systemassigned":
        identity.update(principalId=_guid(cluster_id, "principal"), tenantId=arm.identity.tenant_id)
    for resource_id, value in (identity.get("userAssignedIdentities") or {}).items():
        value.update(clientId=_guid(resource_id, "client"), principalId=_guid(resource_id, "principal"))
    return identity


def _set_state(cluster, state, pools=True):
    cluster["properties"]["provisioningState"] = state
    if pools:
        for pool in cluster["properties"]["agentPoolProfiles"]:
            pool["provisioningState"] = state
    return cluster


# ---- the cluster's footprint in the VNet ----------------------------------------------------
def _node_ip_configs(cluster, pool):
    sub, props = cluster["id"].split("/")[2], cluster["properties"]
    vmss = "aks-%s-%s-vmss" % (pool["name"], _short_hash(cluster["id"]))
    base = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachineScaleSets/%s" % (
        sub, props["nodeResourceGroup"], vmss)
    return [{"id": "%s/virtualMachines/%d/networkInterfaces/%s/ipConfigurations/ipconfig1" % (base, i, vmss)}
            for i in range(int(pool.get("count") or 0))]


def _add_node_nics(configs):
    def change(props):
        props["ipConfigurations"] = props.get("ipConfigurations", []) + configs
    return change


def _drop_node_nics(node_rg_prefix):
    def change(props):
        props["ipConfigurations"] = [c for c in props.get("ipConfigurations", [])
                                     if not c["id"].lower().startswith(node_rg_prefix)]
    return change


def _link_pod_subnet(subnet_id, users):
    """Delegate the pod subnet to AKS (unless it is) and link it to the clusters using it (none: unlink)."""
    def change(props):
        if not users:
            props.pop("serviceAssociationLinks", None)  # the delegation stays behind, as on Azure
            return
        delegations = props.setdefault("delegations", [])
        if not any(d["properties"].get("serviceName", "").lower() == network.AKS_SERVICE.lower() for d in delegations):
            delegations.append(network.delegation(subnet_id, {"name": "aks-delegation",
                                                              "properties": {"serviceName": network.AKS_SERVICE}}))
            props.setdefault("purpose", "")
        props["serviceAssociationLinks"] = [{
            "name": network.SAL_NAME, "id": "%s/serviceAssociationLinks/%s" % (subnet_id, network.SAL_NAME),
            "etag": network.etag(), "type": "Microsoft.Network/virtualNetworks/subnets/serviceAssociationLinks",
            "properties": {"linkedResourceType": network.AKS_SERVICE, "link": users[0], "allowDelete": False,
                           "locations": [], "provisioningState": "Succeeded", "enabledForArmDeployments": False}}]
    return change


def claim_subnets(arm, cluster):
    """What AKS does to the subnets it uses: node NICs in the node subnet, delegation + link on the pod subnet."""
    for pool in cluster["properties"]["agentPoolProfiles"]:
        if pool.get("vnetSubnetID"):
            network.update_subnet(arm.store, pool["vnetSubnetID"], _add_node_nics(_node_ip_configs(cluster, pool)))
        if pool.get("podSubnetID"):
            users = arm.store.meta_for(pool["podSubnetID"]).setdefault("pod_users", [])
            if cluster["id"] not in users:
                users.append(cluster["id"])
            network.update_subnet(arm.store, pool["podSubnetID"], _link_pod_subnet(pool["podSubnetID"], users))


def release_subnets(arm, cluster):
    sub, node_rg = cluster["id"].split("/")[2], cluster["properties"]["nodeResourceGroup"]
    node_rg_prefix = ("/subscriptions/%s/resourcegroups/%s/" % (sub, node_rg)).lower()
    for pool in cluster["properties"]["agentPoolProfiles"]:
        if pool.get("vnetSubnetID"):
            network.update_subnet(arm.store, pool["vnetSubnetID"], _drop_node_nics(node_rg_prefix))
        if pool.get("podSubnetID"):
            users = arm.store.meta_for(pool["podSubnetID"]).setdefault("pod_users", [])
            if cluster["id"] in users:
                users.remove(cluster["id"])
            network.update_subnet(arm.store, pool["podSubnetID"], _link_pod_subnet(pool["podSubnetID"], users))


# ---- handlers ----------------------------------------------------------------------------
def cluster_or_404(arm, sub, rg, name):
    arm.require_resource_group(sub, rg)
    cluster = arm.store.get(ids.cluster(sub, rg, name))
    if cluster is None:
        raise resource_not_found(TYPE_PATH, name, rg)
    return cluster


def _finish(arm, cluster_id):
    def done(op):
        cluster = arm.store.get(cluster_id)
        if cluster is None:
            return
        state = {"Succeeded": "Succeeded", "Canceled": "Canceled"}.get(op.status, "Failed")
        arm.store.put(cluster_id, _set_state(cluster, state))
        if op.status == "Succeeded":
            arm.kube.sync(cluster)
    return done


def _apply(arm, request, cluster, old, raw_np, kind, resource_id=None):
    """Validate, store as Creating/Updating, move the VNet footprint, start the operation."""
    rules.validate(rules.Change(arm.store, cluster, old, raw_np, arm.ops.pending_for(cluster["id"])))
    _set_state(cluster, "Creating" if kind == "create" else "Updating")
    if old:
        release_subnets(arm, old)
    claim_subnets(arm, cluster)
    arm.store.put(cluster["id"], cluster)
    op = arm.start_operation(request, resource_id or cluster["id"], kind, PROVIDER, cluster["location"],
                             on_done=_finish(arm, cluster["id"]))
    migration.shape(arm, op, old, cluster)
    return op


def put_cluster(arm, request, sub, rg, name):
    group = arm.require_resource_group(sub, rg)
    old = arm.store.get(ids.cluster(sub, rg, name))
    if old is None:
        naming.check_cluster_name(name)
    cluster, raw_np = build_cluster(arm, sub, group["name"], name, arm.json_body(request, naming.CLUSTER_SHAPE), old)
    op = _apply(arm, request, cluster, old, raw_np, "update" if old else "create")
    if not old:
        node_rg = resources.build_group(sub, cluster["properties"]["nodeResourceGroup"], {"location": cluster["location"]},
                                        managed_by=cluster["id"])
        arm.store.put(node_rg["id"], node_rg)
    return json_response(200 if old else 201, cluster, arm.lro_headers(op, request))


def patch_cluster(arm, request, sub, rg, name):
    """updateTags: only tags change, still a long-running operation."""
    cluster = cluster_or_404(arm, sub, rg, name)
    rules.validate(rules.Change(arm.store, cluster, cluster, {}, arm.ops.pending_for(cluster["id"])))
    cluster["tags"] = arm.json_body(request, naming.TAGS_SHAPE).get("tags") or {}
    arm.store.put(cluster["id"], _set_state(cluster, "Updating"))
    op = arm.start_operation(request, cluster["id"], "update", PROVIDER, cluster["location"],
                             on_done=_finish(arm, cluster["id"]))
    return json_response(200, cluster, arm.lro_headers(op, request))


def get_cluster(arm, request, sub, rg, name):
    del request
    return json_response(200, cluster_or_404(arm, sub, rg, name))


def list_clusters(arm, request, sub, rg=None):
    del request
    if rg:
        arm.require_resource_group(sub, rg)
        return json_response(200, {"value": arm.store.children(ids.resource_group(sub, rg), "providers/" + TYPE_PATH)})
    return json_response(200, {"value": [b for b in arm.store.all() if b.get("type") == TYPE]})


def delete_cluster(arm, request, sub, rg, name):
    arm.require_resource_group(sub, rg)
    cluster = arm.store.get(ids.cluster(sub, rg, name))
    if cluster is None:
        return Response(204)
    pending = arm.ops.pending_for(cluster["id"])
    if pending is not None and pending.kind == "delete" and pending.resource_id == cluster["id"]:
        return Response(202, arm.lro_headers(pending, request, location=True))
    if pending is not None:
        arm.ops.finish(pending, "Canceled", {"code": "AKSOperationPreemptedByDelete",
                                             "message": "This operation was preempted by a delete operation on the "
                                                        "managed cluster."})
        cluster = arm.store.get(cluster["id"])
    arm.store.put(cluster["id"], _set_state(cluster, "Deleting"))

    def done(op):
        current = arm.store.get(cluster["id"])
        if current is None:
            return
        if op.status != "Succeeded":
            arm.store.put(cluster["id"], _set_state(current, "Failed"))
            return
        arm.kube.stop(cluster["id"])
        release_subnets(arm, current)
        arm.store.delete(ids.resource_group(sub, current["properties"]["nodeResourceGroup"]))
        arm.store.delete(cluster["id"])

    op = arm.start_operation(request, cluster["id"], "delete", PROVIDER, cluster["location"], on_done=done)
    return Response(202, arm.lro_headers(op, request, location=True))


def _credentials(arm, sub, rg, name, admin):
    cluster = cluster_or_404(arm, sub, rg, name)
    if admin and cluster["properties"].get("disableLocalAccounts"):
        raise bad_request("BadRequest", "Getting static credential is not allowed because this cluster is set to disable "
                                        "local accounts.")
    kubeconfig = arm.kube.kubeconfig(cluster, admin)
    return json_response(200, {"kubeconfigs": [{"name": "clusterAdmin" if admin else "clusterUser",
                                                "value": base64.b64encode(kubeconfig.encode("utf-8")).decode("ascii")}]})


def user_credentials(arm, request, sub, rg, name):
    del request
    return _credentials(arm, sub, rg, name, admin=False)


def admin_credentials(arm, request, sub, rg, name):
    del request
    return _credentials(arm, sub, rg, name, admin=True)


MC = r"{rg}/providers/Microsoft\.ContainerService/managedClusters"
ROUTES = [
    ("GET", r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.ContainerService/managedClusters", list_clusters),
    ("GET", MC, list_clusters),
    ("PUT", MC + r"/(?P<name>[^/]+)", put_cluster),
    ("PATCH", MC + r"/(?P<name>[^/]+)", patch_cluster),
    ("GET", MC + r"/(?P<name>[^/]+)", get_cluster),
    ("DELETE", MC + r"/(?P<name>[^/]+)", delete_cluster),
    ("POST", MC + r"/(?P<name>[^/]+)/listClusterUserCredential", user_credentials),
    ("POST", MC + r"/(?P<name>[^/]+)/listClusterAdminCredential", admin_credentials),
]
