"""Microsoft.Resources: subscriptions (read-only) and resource groups.

Resource-group PUT/PATCH are synchronous; DELETE is long-running with only a Location header
(202, then 202 ... 200 on that URL), and deletes everything inside the group.
"""

from ..http import Response, json_response
from . import ids, naming
from .errors import ArmError, bad_request, resource_group_not_found

RG_TYPE = "Microsoft.Resources/resourceGroups"


def subscription_body(arm):
    return {"id": "/subscriptions/" + arm.subscription_id, "subscriptionId": arm.subscription_id,
            "tenantId": arm.identity.tenant_id, "displayName": "Emulator subscription", "state": "Enabled",
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                     "spendingLimit": "Off"},
            "authorizationSource": "RoleBased"}


def list_subscriptions(arm, request):
    del request
    return json_response(200, {"value": [subscription_body(arm)]})


def get_subscription(arm, request, sub):
    del request, sub  # the router already rejected other subscriptions
    return json_response(200, subscription_body(arm))


def build_group(sub, name, body, managed_by=None):
    if not body.get("location"):
        raise bad_request("LocationRequired", "The location property is required for this definition.")
    group = {"id": ids.resource_group(sub, name), "name": name, "type": RG_TYPE, "location": body["location"],
             "properties": {"provisioningState": "Succeeded"}}
    if body.get("tags") is not None:
        group["tags"] = body["tags"]
    if managed_by or body.get("managedBy"):
        group["managedBy"] = managed_by or body["managedBy"]
    return group


def put_group(arm, request, sub, rg):
    naming.check_group_name(rg)
    body = arm.json_body(request, naming.GROUP_SHAPE)
    old = arm.store.get(ids.resource_group(sub, rg))
    if body.get("location") and not old:
        naming.check_group_location(body["location"])
    if old and body.get("location") and old["location"].replace(" ", "").lower() != body["location"].replace(" ", "").lower():
        raise ArmError(409, "InvalidResourceGroupLocation",
                       "Invalid resource group location '%s'. The Resource group already exists in location '%s'."
                       % (body["location"], old["location"]))
    group = build_group(sub, old["name"] if old else rg, body)
    if old and old.get("managedBy"):
        group["managedBy"] = old["managedBy"]
    arm.store.put(group["id"], group)
    return json_response(200 if old else 201, group)


def patch_group(arm, request, sub, rg):
    group = arm.require_resource_group(sub, rg)
    body = arm.json_body(request, naming.TAGS_SHAPE)
    if "tags" in body:
        group["tags"] = body["tags"] or {}
    arm.store.put(group["id"], group)
    return json_response(200, group)


def get_group(arm, request, sub, rg):
    del request
    return json_response(200, arm.require_resource_group(sub, rg))


def head_group(arm, request, sub, rg):
    del request
    return Response(204 if arm.store.exists(ids.resource_group(sub, rg)) else 404)


def list_groups(arm, request, sub):
    del request
    groups = [body for body in arm.store.all() if body.get("type") == RG_TYPE
              and body["id"].lower().startswith("/subscriptions/%s/" % sub.lower())]
    return json_response(200, {"value": groups})


def delete_group(arm, request, sub, rg):
    group = arm.store.get(ids.resource_group(sub, rg))
    if group is None:
        raise resource_group_not_found(rg)
    group["properties"]["provisioningState"] = "Deleting"
    arm.store.put(group["id"], group)

    def done(op):
        if op.status != "Succeeded":
            return
        try:
            arm.delete_group_contents(group["id"])
        except ArmError as exc:  # e.g. a subnet still used by a cluster in another group
            op.status, op.error, op.error_status = "Failed", exc.body()["error"], exc.status
            group["properties"]["provisioningState"] = "Succeeded"
            arm.store.put(group["id"], group)
            return
        arm.store.delete(group["id"])

    op = arm.start_operation(request, group["id"], "delete", "Microsoft.Resources", group["location"], on_done=done)
    return Response(202, {"Location": arm.group_result_url(op, request), "Retry-After": str(arm.settings.retry_after)})


SUB = r"/subscriptions/(?P<sub>[^/]+)"
ROUTES = [
    ("GET", r"/subscriptions", list_subscriptions),
    ("GET", SUB, get_subscription),
    ("GET", SUB + r"/resourcegroups", list_groups),
    ("PUT", r"{rg}", put_group),
    ("PATCH", r"{rg}", patch_group),
    ("GET", r"{rg}", get_group),
    ("HEAD", r"{rg}", head_group),
    ("DELETE", r"{rg}", delete_group),
]
