"""Microsoft.Network virtualNetworks and subnets.

Subnets live inside their VNet's body (one source of truth) and are also served as child
resources. "In use" is what the Network RP itself can see: ipConfigurations (node NICs) and
serviceAssociationLinks (AKS pod subnets), both added by the AKS emulator.
"""

import ipaddress
import uuid

from ..http import Response, json_response
from . import ids, naming
from .errors import bad_request, child_not_found, resource_not_found

PROVIDER = "Microsoft.Network"
VNET_TYPE = "Microsoft.Network/virtualNetworks"
SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"
AKS_SERVICE = "Microsoft.ContainerService/managedClusters"
SAL_NAME = "AzureKubernetesService"
# actions the Network RP fills in for delegations it knows
DELEGATION_ACTIONS = {AKS_SERVICE.lower(): ["Microsoft.Network/virtualNetworks/subnets/join/action"]}
READ_ONLY_SUBNET_KEYS = ("ipConfigurations", "serviceAssociationLinks", "resourceNavigationLinks")


def etag():
    return 'W/"%s"' % uuid.uuid4()


def parse_prefix(text, resource_id):
    """ipaddress network for a CIDR string, or the Network RP's validation error."""
    try:
        if "/" not in str(text):
            raise ValueError(text)
        network = ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        raise bad_request("InvalidAddressPrefixFormat",
                          "Address prefix %s of resource %s is not formatted correctly. It should follow CIDR notation, "
                          "for example 10.0.0.0/24." % (text, resource_id)) from None
    if str(network) != str(text):
        raise bad_request("InvalidCIDRNotation",
                          "The address prefix %s in resource %s has an invalid CIDR notation. For the given prefix length, "
                          "the address prefix should be %s." % (text, resource_id, network))
    return network


def subnet_prefixes(subnet):
    props = subnet.get("properties") or {}
    if props.get("addressPrefixes"):
        return list(props["addressPrefixes"])
    return [props["addressPrefix"]] if props.get("addressPrefix") else []


def subnet_in_use_by(subnet):
    props = subnet.get("properties") or {}
    for key in ("ipConfigurations", "serviceAssociationLinks"):
        if props.get(key):
            return props[key][0]["id"]
    return None


def in_use_error(subnet):
    return bad_request("InUseSubnetCannotBeDeleted",
                       "Subnet %s is in use by %s and cannot be deleted. In order to delete the subnet, delete all the "
                       "resources within the subnet. See aka.ms/deletesubnet." % (subnet["name"], subnet_in_use_by(subnet)))


# ---- building bodies ------------------------------------------------------------------
def build_subnet(vnet_id, body, old):
    name = body.get("name")
    if not name:
        raise bad_request("InvalidRequestFormat", "Cannot parse the request: a subnet in the virtual network has no name.")
    naming.check_network_name(name)
    subnet_id = ids.subnet(vnet_id, name)
    props = dict(body.get("properties") or {})
    if not subnet_prefixes({"properties": props}):
        raise bad_request("NetcfgInvalidSubnet", "Subnet '%s' is not valid in virtual network '%s'."
                          % (name, vnet_id.rsplit("/", 1)[1]))
    for prefix in subnet_prefixes({"properties": props}):
        parse_prefix(prefix, subnet_id)
        naming.check_subnet_size(name, vnet_id.rsplit("/", 1)[1], prefix)
    old_props = (old or {}).get("properties") or {}
    for read_only in READ_ONLY_SUBNET_KEYS:
        props.pop(read_only, None)
        if old_props.get(read_only):
            props[read_only] = old_props[read_only]
    if old and subnet_in_use_by(old) and subnet_prefixes(old) != subnet_prefixes({"properties": props}):
        raise bad_request("InUseSubnetCannotBeUpdated", "Subnet %s is in use by %s and cannot be updated."
                          % (name, subnet_in_use_by(old)))
    props["delegations"] = [delegation(subnet_id, d) for d in props.get("delegations") or []]
    _require_sal_delegations(subnet_id, props)
    if props["delegations"]:
        props.setdefault("purpose", "")
    props.setdefault("privateEndpointNetworkPolicies", "Disabled")
    props.setdefault("privateLinkServiceNetworkPolicies", "Enabled")
    props["provisioningState"] = "Succeeded"
    return {"name": name, "id": subnet_id, "etag": etag(), "type": SUBNET_TYPE, "properties": props}


def delegation(subnet_id, body):
    """A delegation as the Network RP stores it (AKS uses this to delegate a pod subnet)."""
    props = dict(body.get("properties") or {})
    service = props.get("serviceName", "")
    name = body.get("name") or service.replace("/", ".")
    props["actions"] = props.get("actions") or DELEGATION_ACTIONS.get(service.lower(), [])
    props["provisioningState"] = "Succeeded"
    return {"name": name, "id": "%s/delegations/%s" % (subnet_id, name), "etag": etag(),
            "type": "Microsoft.Network/virtualNetworks/subnets/delegations", "properties": props}


def _require_sal_delegations(subnet_id, props):
    """A PUT may not drop the delegation a service association link depends on."""
    delegated = {d["properties"].get("serviceName", "").lower() for d in props["delegations"]}
    for link in props.get("serviceAssociationLinks") or []:
        service = link["properties"]["linkedResourceType"]
        if service.lower() not in delegated:
            raise bad_request("SubnetMissingRequiredDelegation",
                              "Subnet %s requires any of the following delegation(s) [%s] to reference service "
                              "association link %s." % (subnet_id, service, link["id"]))


def build_vnet(vnet_id, body, old):
    """The VNet body ARM stores for a PUT, after the Network RP's address checks."""
    location = body.get("location") or (old or {}).get("location")
    if not location:
        raise bad_request("LocationRequired", "The location property is required for this definition.")
    naming.check_resource_location(location, VNET_TYPE)
    props = dict(body.get("properties") or {})
    space = [parse_prefix(p, vnet_id) for p in ((props.get("addressSpace") or {}).get("addressPrefixes") or [])]
    old_subnets = {s["name"].lower(): s for s in ((old or {}).get("properties") or {}).get("subnets") or []}
    subnets = [build_subnet(vnet_id, s, old_subnets.get((s.get("name") or "").lower())) for s in props.get("subnets") or []]
    kept = {s["name"].lower() for s in subnets}
    for name, subnet in old_subnets.items():
        if name not in kept and subnet_in_use_by(subnet):
            raise in_use_error(subnet)  # a PUT without the subnet would delete it
    check_addresses(vnet_id.rsplit("/", 1)[1], space, subnets)
    props.update({"addressSpace": {"addressPrefixes": [str(p) for p in space]}, "subnets": subnets})
    props.setdefault("virtualNetworkPeerings", [])
    props.setdefault("enableDdosProtection", False)
    props["resourceGuid"] = ((old or {}).get("properties") or {}).get("resourceGuid") or str(uuid.uuid4())
    props["provisioningState"] = "Succeeded"
    vnet = {"name": vnet_id.rsplit("/", 1)[1], "id": vnet_id, "etag": etag(), "type": VNET_TYPE,
            "location": location, "properties": props}
    if body.get("tags") is not None:
        vnet["tags"] = body["tags"]
    return vnet


def check_addresses(vnet_name, space, subnets):
    seen = []
    for subnet in subnets:
        for prefix in subnet_prefixes(subnet):
            network = ipaddress.ip_network(prefix)
            if not any(network.version == s.version and network.subnet_of(s) for s in space):
                raise bad_request("NetcfgSubnetRangeOutsideVnet",
                                  "Subnet '%s' is not valid because its IP address range is outside the IP address range "
                                  "of virtual network '%s'." % (subnet["name"], vnet_name))
            if any(network.version == other.version and network.overlaps(other) for other in seen):
                raise bad_request("NetcfgSubnetRangesOverlap",
                                  "Subnet '%s' is not valid because its IP address range overlaps with that of an existing "
                                  "subnet in virtual network '%s'." % (subnet["name"], vnet_name))
            seen.append(network)


# ---- lookups used by the AKS emulator ---------------------------------------------------
def find_subnet(store, subnet_id):
    """(vnet body, subnet body) or (None, None)."""
    parts = ids.parse_subnet(subnet_id)
    if not parts:
        return None, None
    vnet = store.get(ids.vnet(parts["sub"], parts["rg"], parts["vnet"]))
    for subnet in ((vnet or {}).get("properties") or {}).get("subnets") or []:
        if subnet["name"].lower() == parts["subnet"].lower():
            return vnet, subnet
    return vnet, None


def update_subnet(store, subnet_id, change):
    """Apply change(subnet_properties) to a stored subnet (AKS adding/removing its links)."""
    vnet, subnet = find_subnet(store, subnet_id)
    if subnet is None:
        return
    change(subnet["properties"])
    for key in ("ipConfigurations", "serviceAssociationLinks"):
        if key in subnet["properties"] and not subnet["properties"][key]:
            del subnet["properties"][key]
    subnet["etag"] = etag()
    vnet["properties"]["subnets"] = [subnet if s["name"] == subnet["name"] else s for s in vnet["properties"]["subnets"]]
    store.put(vnet["id"], vnet)


# ---- handlers ---------------------------------------------------------------------------
def _vnet_or_404(arm, sub, rg, name):
    arm.require_resource_group(sub, rg)
    vnet = arm.store.get(ids.vnet(sub, rg, name))
    if vnet is None:
        raise resource_not_found(VNET_TYPE, name, rg)
    return vnet


def _set_state(body, state):
    body["properties"]["provisioningState"] = state
    return body


def _finish_vnet(arm, vnet_id):
    def done(op):
        vnet = arm.store.get(vnet_id)
        if vnet is not None:
            arm.store.put(vnet_id, _set_state(vnet, "Succeeded" if op.status == "Succeeded" else "Failed"))
    return done


def _finish_subnet(arm, subnet_id):
    def done(op):
        state = "Succeeded" if op.status == "Succeeded" else "Failed"
        update_subnet(arm.store, subnet_id, lambda props: props.update(provisioningState=state))
    return done


def put_vnet(arm, request, sub, rg, name):
    arm.require_resource_group(sub, rg)
    old = arm.store.get(ids.vnet(sub, rg, name))
    if old is None:
        naming.check_vnet_name(name)
    vnet_id = old["id"] if old else ids.vnet(sub, rg, name)
    vnet = _set_state(build_vnet(vnet_id, arm.json_body(request, naming.VNET_SHAPE), old), "Updating")
    arm.store.put(vnet_id, vnet)
    op = arm.start_operation(request, vnet_id, "update" if old else "create", PROVIDER, vnet["location"],
                             on_done=_finish_vnet(arm, vnet_id))
    return json_response(200 if old else 201, vnet, arm.lro_headers(op, request))


def get_vnet(arm, request, sub, rg, name):
    del request
    return json_response(200, _vnet_or_404(arm, sub, rg, name))


def list_vnets(arm, request, sub, rg):
    del request
    arm.require_resource_group(sub, rg)
    return json_response(200, {"value": arm.store.children(ids.resource_group(sub, rg), "providers/" + VNET_TYPE)})


def delete_vnet(arm, request, sub, rg, name):
    arm.require_resource_group(sub, rg)
    vnet = arm.store.get(ids.vnet(sub, rg, name))
    if vnet is None:
        return Response(204)
    for subnet in vnet["properties"]["subnets"]:
        if subnet_in_use_by(subnet):
            raise in_use_error(subnet)

    def done(op):
        if op.status == "Succeeded":
            arm.store.delete(vnet["id"])

    op = arm.start_operation(request, vnet["id"], "delete", PROVIDER, vnet["location"], on_done=done)
    return Response(202, arm.lro_headers(op, request, location=True))


def _subnet_or_404(vnet, sub, rg, vnet_name, name):
    for subnet in vnet["properties"]["subnets"]:
        if subnet["name"].lower() == name.lower():
            return subnet
    raise child_not_found(ids.subnet(ids.vnet(sub, rg, vnet_name), name))


def get_subnet(arm, request, sub, rg, vnet, name):
    del request
    return json_response(200, _subnet_or_404(_vnet_or_404(arm, sub, rg, vnet), sub, rg, vnet, name))


def list_subnets(arm, request, sub, rg, vnet):
    del request
    return json_response(200, {"value": _vnet_or_404(arm, sub, rg, vnet)["properties"]["subnets"]})


def put_subnet(arm, request, sub, rg, vnet, name):
    vnet_body = _vnet_or_404(arm, sub, rg, vnet)
    subnets = vnet_body["properties"]["subnets"]
    old = next((s for s in subnets if s["name"].lower() == name.lower()), None)
    body = dict(arm.json_body(request, naming.SUBNET_SHAPE), name=old["name"] if old else name)
    subnet = _set_state(build_subnet(vnet_body["id"], body, old), "Updating")
    subnets = [subnet if s is old else s for s in subnets] if old else subnets + [subnet]
    space = [ipaddress.ip_network(p) for p in vnet_body["properties"]["addressSpace"]["addressPrefixes"]]
    check_addresses(vnet_body["name"], space, subnets)
    vnet_body["properties"]["subnets"] = subnets
    arm.store.put(vnet_body["id"], vnet_body)
    op = arm.start_operation(request, subnet["id"], "update" if old else "create", PROVIDER, vnet_body["location"],
                             on_done=_finish_subnet(arm, subnet["id"]))
    return json_response(200 if old else 201, subnet, arm.lro_headers(op, request))


def delete_subnet(arm, request, sub, rg, vnet, name):
    vnet_body = _vnet_or_404(arm, sub, rg, vnet)
    subnet = next((s for s in vnet_body["properties"]["subnets"] if s["name"].lower() == name.lower()), None)
    if subnet is None:
        return Response(204)
    if subnet_in_use_by(subnet):
        raise in_use_error(subnet)

    def done(op):
        current = arm.store.get(vnet_body["id"])
        if op.status == "Succeeded" and current:
            current["properties"]["subnets"] = [s for s in current["properties"]["subnets"] if s["id"] != subnet["id"]]
            arm.store.put(current["id"], current)

    op = arm.start_operation(request, subnet["id"], "delete", PROVIDER, vnet_body["location"], on_done=done)
    return Response(202, arm.lro_headers(op, request, location=True))


ROUTES = [
    ("GET", r"{rg}/providers/Microsoft\.Network/virtualNetworks", list_vnets),
    ("PUT", r"{rg}/providers/Microsoft\.Network/virtualNetworks/(?P<name>[^/]+)", put_vnet),
    ("GET", r"{rg}/providers/Microsoft\.Network/virtualNetworks/(?P<name>[^/]+)", get_vnet),
    ("DELETE", r"{rg}/providers/Microsoft\.Network/virtualNetworks/(?P<name>[^/]+)", delete_vnet),
    ("GET", r"{rg}/providers/Microsoft\.Network/virtualNetworks/(?P<vnet>[^/]+)/subnets", list_subnets),
    ("PUT", r"{rg}/providers/Microsoft\.Network/virtualNetworks/(?P<vnet>[^/]+)/subnets/(?P<name>[^/]+)", put_subnet),
    ("GET", r"{rg}/providers/Microsoft\.Network/virtualNetworks/(?P<vnet>[^/]+)/subnets/(?P<name>[^/]+)", get_subnet),
    ("DELETE", r"{rg}/providers/Microsoft\.Network/virtualNetworks/(?P<vnet>[^/]+)/subnets/(?P<name>[^/]+)", delete_subnet),
]
