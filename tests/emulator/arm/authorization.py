"""Microsoft.Authorization: built-in role definitions and role assignments at any scope.

Role assignments are extension resources: `{scope}/providers/Microsoft.Authorization/roleAssignments/{guid}`
where scope is the subscription, a resource group or any resource below it (a VNet, a subnet).
What ARM does (REST API 2022-04-01, "Role Assignments - List For Scope / Create / Delete", and the az
CLI's acs/_roleassignments.py, which relies on it):
- list: `$filter=atScope()` gives the assignments at or above the scope; `principalId eq '{id}'` and
  `assignedTo('{id}')` those of one principal at, above or below it; no filter all of them at, above
  or below; `atScope() and assignedTo('{id}')` combines both.
- create: a second assignment of the same role to the same principal at the same scope is a 409
  `RoleAssignmentExists`; re-sending the same assignment under its own name is accepted; changing
  one is refused. Without `principalType` the principal must exist in the tenant (`PrincipalNotFound`);
  with it the directory check is skipped (what the az CLI relies on for fresh identities).
- the caller needs `Microsoft.Authorization/roleAssignments/write` (or `/delete`) at or above the
  scope: Owner, User Access Administrator or RBAC Administrator. The lab's service principal is Owner
  of the subscription through an assignment it can see and remove, like a real one.
Only these writes are authorized against assignments; other ARM writes are not RBAC-checked here.
Error codes and messages marked "recollection" are from memory of real responses, not a document.
"""

import re
import time
import uuid

from ..http import Response, json_response
from . import ids, network, roles
from .errors import ArmError, bad_request, resource_group_not_found, resource_not_found

PROVIDER = "Microsoft.Authorization"
ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"
DEFINITION_TYPE = "Microsoft.Authorization/roleDefinitions"
SEEDED = "seeded"  # store meta key: the lab's caller has been made Owner of the subscription
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_FILTER_TERM = re.compile(r"^\s*(?:(atScope\(\))|principalId\s+eq\s+'([^']*)'|assignedTo\('([^']*)'\))\s*$",
                          re.IGNORECASE)


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime())


def _norm(scope):
    return (scope or "").rstrip("/").lower()


def _at_or_above(assignment_scope, scope):
    """True when assignment_scope is scope itself or one of its ancestors."""
    a, s = _norm(assignment_scope), _norm(scope)
    return a == s or a == "" or s.startswith(a + "/")


def caller_object_id(arm, client_id=None):
    """The object ID of the lab's service principal (the `oid` its tokens carry)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, client_id or arm.identity.client_id))


def _meta_key(arm):
    return "/subscriptions/%s/providers/%s" % (arm.subscription_id, PROVIDER)


def ensure_seeded(arm):
    """Make the lab's service principal Owner of the subscription, once per store (again after a reset)."""
    meta = arm.store.meta.get(_meta_key(arm).lower()) or {}
    if meta.get(SEEDED):
        return
    scope = "/subscriptions/" + arm.subscription_id
    name = str(uuid.uuid5(uuid.NAMESPACE_URL, scope + "/owner/" + arm.identity.client_id))
    body = _assignment_body(arm, scope, name, definition_id(arm, scope, roles.OWNER), caller_object_id(arm),
                            "ServicePrincipal", caller_object_id(arm))
    arm.store.put(body["id"], body)
    arm.store.meta_for(_meta_key(arm))[SEEDED] = True


# ---- principals the tenant knows ------------------------------------------------------------
def known_principals(arm):
    """{object id (lower case): principal type}: the lab's service principal and every managed identity."""
    found = {caller_object_id(arm): "ServicePrincipal"}
    for body in arm.store.all():
        identity = body.get("identity") or {}
        if identity.get("principalId"):
            found[identity["principalId"].lower()] = "ServicePrincipal"
        for value in (identity.get("userAssignedIdentities") or {}).values():
            if (value or {}).get("principalId"):
                found[value["principalId"].lower()] = "ServicePrincipal"
        props = body.get("properties") or {}
        for profile in (props.get("identityProfile") or {}).values():
            if (profile or {}).get("objectId"):
                found[profile["objectId"].lower()] = "ServicePrincipal"
        if body.get("type", "").lower() == "microsoft.managedidentity/userassignedidentities" and props.get("principalId"):
            found[props["principalId"].lower()] = "ServicePrincipal"
    found.update({k.lower(): v for k, v in getattr(arm, "extra_principals", {}).items()})
    return found


# ---- role definitions -------------------------------------------------------------------------
def _sub_of(scope):
    match = re.match(r"^/subscriptions/([^/]+)", scope or "", re.IGNORECASE)
    return match.group(1) if match else None


def definition_id(arm, scope, name):
    """Built-in definitions are served under the subscription of the scope they are read at."""
    del arm
    sub = _sub_of(scope)
    prefix = "/subscriptions/%s" % sub if sub else ""
    return "%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (prefix, name)


def _definition_body(arm, scope, row):
    name, role_name, description, actions, not_actions = row
    return {"properties": {"roleName": role_name, "type": "BuiltInRole", "description": description,
                           "assignableScopes": ["/"],
                           "permissions": [{"actions": list(actions), "notActions": list(not_actions),
                                            "dataActions": [], "notDataActions": []}],
                           "createdOn": "2015-02-02T21:55:09.8806423Z", "updatedOn": "2025-05-08T20:13:51.5294612Z",
                           "createdBy": None, "updatedBy": None},
            "id": definition_id(arm, scope, name), "type": DEFINITION_TYPE, "name": name}


def _definition_not_found(name):
    # recollection
    return bad_request("RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist."
                       % name.replace("-", ""))


def get_definition(arm, request, scope="", name="", sub=None):
    del request, sub
    row = roles.ROLES.get(name.lower())
    if row is None:
        raise ArmError(404, "RoleDefinitionDoesNotExist",
                       "The specified role definition with ID '%s' does not exist." % name.replace("-", ""))
    return json_response(200, _definition_body(arm, scope, row))


def list_definitions(arm, request, scope="", sub=None):
    del sub
    text = request.arg("$filter") or ""
    rows = roles.BUILT_IN_ROLES
    if text:
        match = re.match(r"^\s*(roleName|type)\s+eq\s+'([^']*)'\s*$", text, re.IGNORECASE)
        if not match:
            raise bad_request("UnsupportedQuery", "The filter '%s' is not supported." % text)  # recollection
        if match.group(1).lower() == "rolename":
            rows = [r for r in rows if r[1].lower() == match.group(2).lower()]
        else:
            rows = rows if match.group(2).lower() == "builtinrole" else []
    return json_response(200, {"value": [_definition_body(arm, scope, r) for r in rows]})


def _definition_guid(definition):
    match = re.search(r"/providers/Microsoft\.Authorization/roleDefinitions/([^/]+)$", definition or "", re.IGNORECASE)
    return match.group(1).lower() if match else None


# ---- role assignments -------------------------------------------------------------------------
def assignment_id(scope, name):
    return "%s/providers/%s/%s" % (scope.rstrip("/"), PROVIDER, "roleAssignments/" + name)


def _assignment_body(arm, scope, name, role_definition_id, principal_id, principal_type, caller, description=None,
                     condition=None, condition_version=None):
    del arm
    stamp = _now()
    return {"properties": {"roleDefinitionId": role_definition_id, "principalId": principal_id,
                           "principalType": principal_type, "scope": scope, "condition": condition,
                           "conditionVersion": condition_version, "createdOn": stamp, "updatedOn": stamp,
                           "createdBy": caller, "updatedBy": caller, "delegatedManagedIdentityResourceId": None,
                           "description": description},
            "id": assignment_id(scope, name), "type": ASSIGNMENT_TYPE, "name": name}


def all_assignments(arm):
    return [b for b in arm.store.all() if b.get("type") == ASSIGNMENT_TYPE]


def _parse_filter(text):
    """(at_scope_only, principal id or None) for the filters ARM accepts."""
    at_scope, principal = False, None
    for term in re.split(r"\s+and\s+", text or "", flags=re.IGNORECASE) if text else []:
        match = _FILTER_TERM.match(term)
        if not match:
            # recollection
            raise bad_request("UnsupportedQuery", "The filter '%s' is not supported. Supported filters are either "
                                                  "'atScope()' or 'principalId eq '{value}' or assignedTo('{value}')'."
                              % text)
        if match.group(1):
            at_scope = True
        else:
            principal = (match.group(2) if match.group(2) is not None else match.group(3)).lower()
    return at_scope, principal


def _visible(assignment, scope, at_scope, principal):
    own = assignment["properties"]["scope"]
    if principal is not None and assignment["properties"]["principalId"].lower() != principal:
        return False
    if at_scope:
        return _at_or_above(own, scope)
    return _at_or_above(own, scope) or _norm(own).startswith(_norm(scope) + "/")


def list_assignments(arm, request, scope, sub=None):
    del sub
    ensure_seeded(arm)
    at_scope, principal = _parse_filter(request.arg("$filter"))
    found = [a for a in all_assignments(arm) if _visible(a, scope, at_scope, principal)]
    return json_response(200, {"value": found})


def _assignment_not_found(name):
    return ArmError(404, "RoleAssignmentNotFound", "The role assignment '%s' is not found." % name)  # recollection


def get_assignment(arm, request, scope, name, sub=None):
    del request, sub
    ensure_seeded(arm)
    body = arm.store.get(assignment_id(scope, name))
    if body is None:
        raise _assignment_not_found(name)
    return json_response(200, body)


def _require_scope(arm, scope):
    """The scope must exist: its resource group, and the resource itself below one (recollection)."""
    match = re.match(r"^/subscriptions/[^/]+/resourceGroups/([^/]+)(/.*)?$", scope, re.IGNORECASE)
    if not match:
        return
    group = match.group(1)
    if arm.store.get(ids.resource_group(arm.subscription_id, group)) is None:
        raise resource_group_not_found(group)
    if not match.group(2):
        return
    if ids.parse_subnet(scope):
        if network.find_subnet(arm.store, scope)[1] is None:
            raise ArmError(404, "NotFound", "Resource %s not found." % scope)
        return
    if arm.store.get(scope) is None:
        parts = scope.strip("/").split("/")
        raise resource_not_found("/".join(parts[5:-1]), parts[-1], group)


def _authorize(arm, request, scope, action, target):
    """403 unless the caller holds, at or above the scope, a role that grants `action`."""
    claims = arm.identity.check_bearer(request)
    caller = (claims.get("oid") or "").lower()
    for assignment in all_assignments(arm):
        props = assignment["properties"]
        if props["principalId"].lower() == caller and _at_or_above(props["scope"], scope) \
                and roles.grants(_definition_guid(props["roleDefinitionId"]), action):
            return caller
    raise ArmError(403, "AuthorizationFailed",
                   "The client '%s' with object id '%s' does not have authorization to perform action '%s' over "
                   "scope '%s' or the scope is invalid. If access was recently granted, please refresh your "
                   "credentials." % (claims.get("appid"), caller, action, target))


def put_assignment(arm, request, scope, name, sub=None):
    del sub
    ensure_seeded(arm)
    if not _GUID.match(name):
        raise bad_request("InvalidRoleAssignmentId", "The role assignment ID '%s' is not valid. The role assignment ID "
                                                     "must be a GUID." % name)  # recollection
    _require_scope(arm, scope)
    caller = _authorize(arm, request, scope, "Microsoft.Authorization/roleAssignments/write", assignment_id(scope, name))
    props = arm.json_body(request).get("properties") or {}
    role = _definition_guid(props.get("roleDefinitionId"))
    if role is None or role not in roles.ROLES:
        raise _definition_not_found(role or str(props.get("roleDefinitionId")))
    principal = (props.get("principalId") or "").strip()
    if not _GUID.match(principal):
        raise bad_request("InvalidPrincipalId", "A valid principal ID must be provided for role assignment.")
    known = known_principals(arm)
    principal_type = props.get("principalType")
    if principal_type is None:
        if principal.lower() not in known:
            raise bad_request(
                "PrincipalNotFound",
                "Principal %s does not exist in the directory %s. Check that you have the correct principal ID. If you "
                "are creating this principal and then immediately assigning a role, this error might be related to a "
                "replication delay. In this case, set the role assignment principalType property to a value, such as "
                "ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype"
                % (principal.replace("-", ""), arm.identity.tenant_id))
        principal_type = known[principal.lower()]
    elif principal.lower() in known and known[principal.lower()].lower() != principal_type.lower():
        raise bad_request("UnmatchedPrincipalType", "The PrincipalId '%s' has type '%s' , which is different from "
                                                    "specified PrincipalType '%s'."
                          % (principal.replace("-", ""), known[principal.lower()], principal_type))  # recollection
    existing = arm.store.get(assignment_id(scope, name))
    if existing is not None:
        old = existing["properties"]
        if _definition_guid(old["roleDefinitionId"]) == role and old["principalId"].lower() == principal.lower():
            return json_response(201, existing)
        raise bad_request("RoleAssignmentUpdateNotPermitted",
                          "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
    for other in all_assignments(arm):
        o = other["properties"]
        if _norm(o["scope"]) == _norm(scope) and o["principalId"].lower() == principal.lower() \
                and _definition_guid(o["roleDefinitionId"]) == role and not o.get("condition"):
            raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists. The ID of the existing role "
                                                        "assignment is %s." % other["name"].replace("-", ""))
    body = _assignment_body(arm, scope, name, props["roleDefinitionId"], principal, principal_type, caller,
                            props.get("description"), props.get("condition"), props.get("conditionVersion"))
    arm.store.put(body["id"], body)
    return json_response(201, body)


def delete_assignment(arm, request, scope, name, sub=None):
    del sub
    ensure_seeded(arm)
    body = arm.store.get(assignment_id(scope, name))
    if body is None:
        return Response(204)
    _authorize(arm, request, scope, "Microsoft.Authorization/roleAssignments/delete", body["id"])
    arm.store.delete(body["id"])
    return json_response(200, body)


SCOPE = r"(?P<scope>/subscriptions/(?P<sub>[^/]+)(?:/.+?)?)"
RA = r"/providers/Microsoft\.Authorization/roleAssignments"
RD = r"/providers/Microsoft\.Authorization/roleDefinitions"
ROUTES = [
    ("GET", SCOPE + RA, list_assignments),
    ("GET", SCOPE + RA + r"/(?P<name>[^/]+)", get_assignment),
    ("PUT", SCOPE + RA + r"/(?P<name>[^/]+)", put_assignment),
    ("DELETE", SCOPE + RA + r"/(?P<name>[^/]+)", delete_assignment),
    ("GET", SCOPE + RD, list_definitions),
    ("GET", SCOPE + RD + r"/(?P<name>[^/]+)", get_definition),
    ("GET", RD, list_definitions),
    ("GET", RD + r"/(?P<name>[^/]+)", get_definition),
]


# ---- for tests and the lab's controls: rights set up as an administrator would (under the lab's lock) --
def add_assignment(arm, scope, role, principal_id):
    """Store an assignment of the built-in `role` (GUID) to `principal_id` at `scope`; returns its body."""
    with arm.lock:
        ensure_seeded(arm)
        name = str(uuid.uuid5(uuid.NAMESPACE_URL, "%s/%s/%s" % (_norm(scope), role, principal_id.lower())))
        body = _assignment_body(arm, scope, name, definition_id(arm, scope, role), principal_id, "ServicePrincipal",
                                caller_object_id(arm))
        arm.store.put(body["id"], body)
        arm.store.save()
        return body


def remove_assignments(arm, principal_id, role=None):
    """Delete the principal's assignments (of `role` only, when given); returns what was removed."""
    with arm.lock:
        ensure_seeded(arm)
        removed = [a for a in all_assignments(arm) if a["properties"]["principalId"].lower() == principal_id.lower()
                   and (role is None or _definition_guid(a["properties"]["roleDefinitionId"]) == role)]
        for body in removed:
            arm.store.delete(body["id"])
        arm.store.save()
        return removed


def assignments_at(arm, scope):
    """The assignments stored at exactly `scope`."""
    with arm.lock:
        return [a for a in all_assignments(arm) if _norm(a["properties"]["scope"]) == _norm(scope)]
