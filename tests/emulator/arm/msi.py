"""Microsoft.ManagedIdentity userAssignedIdentities: what a cluster with a user-assigned identity names,
and where az aks create / aks_cilium_cluster read its principal ID before the cluster exists.

Shape: swagger ManagedIdentity 2023-01-31 `Identity` (`properties.{tenantId, principalId, clientId}`,
read-only); PUT answers 201 on create and 200 on update, synchronously. The principal and client IDs are
the ones the AKS emulator reports for the same identity under a cluster's `identity.userAssignedIdentities`.
"""

import uuid

from ..http import Response, json_response
from . import ids
from .errors import bad_request, resource_not_found

TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"


def _guid(*parts):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts).lower()))


def identity_id(sub, rg, name):
    return "%s/providers/%s/%s" % (ids.resource_group(sub, rg), TYPE, name)


def put_identity(arm, request, sub, rg, name):
    group = arm.require_resource_group(sub, rg)
    resource_id = identity_id(sub, group["name"], name)
    old = arm.store.get(resource_id)
    body = arm.json_body(request)
    location = body.get("location") or (old or {}).get("location")
    if not location:
        raise bad_request("LocationRequired", "The location property is required for this definition.")
    identity = {"id": resource_id, "name": old["name"] if old else name, "type": TYPE, "location": location,
                "tags": body.get("tags") if "tags" in body else (old or {}).get("tags", {}),
                "properties": {"tenantId": arm.identity.tenant_id, "principalId": _guid(resource_id, "principal"),
                               "clientId": _guid(resource_id, "client")}}
    arm.store.put(resource_id, identity)
    return json_response(200 if old else 201, identity)


def get_identity(arm, request, sub, rg, name):
    del request
    arm.require_resource_group(sub, rg)
    identity = arm.store.get(identity_id(sub, rg, name))
    if identity is None:
        raise resource_not_found(TYPE, name, rg)
    return json_response(200, identity)


def list_identities(arm, request, sub, rg):
    del request
    arm.require_resource_group(sub, rg)
    return json_response(200, {"value": arm.store.children(ids.resource_group(sub, rg), "providers/" + TYPE)})


def delete_identity(arm, request, sub, rg, name):
    del request
    arm.require_resource_group(sub, rg)
    resource_id = identity_id(sub, rg, name)
    if not arm.store.exists(resource_id):
        return Response(204)
    arm.store.delete(resource_id)
    return Response(200)


UAI = r"{rg}/providers/Microsoft\.ManagedIdentity/userAssignedIdentities"
ROUTES = [
    ("GET", UAI, list_identities),
    ("PUT", UAI + r"/(?P<name>[^/]+)", put_identity),
    ("GET", UAI + r"/(?P<name>[^/]+)", get_identity),
    ("DELETE", UAI + r"/(?P<name>[^/]+)", delete_identity),
]
