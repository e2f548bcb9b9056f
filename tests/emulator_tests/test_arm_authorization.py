"""Microsoft.Authorization: built-in role definitions, role assignments at any scope, list filters,
conflicts, principals that must exist, the caller's own rights; AKS versions and upgrade profiles."""

import uuid

import pytest

from tests.emulator.arm import authorization, roles
from tests.emulator.arm.identity import AUDIENCE

from .conftest import cluster_body, unique, vnet_body

API = "?api-version=2022-04-01"
AKS_API = "?api-version=2026-08-01"
NETWORK_CONTRIBUTOR = roles.NETWORK_CONTRIBUTOR


def _scopes(sdk, group):
    sub = "/subscriptions/" + sdk.subscription_id
    rg = sub + "/resourceGroups/" + group
    vnet = rg + "/providers/Microsoft.Network/virtualNetworks/vnet"
    return {"subscription": sub, "group": rg, "vnet": vnet, "subnet": vnet + "/subnets/nodes"}


@pytest.fixture
def scopes(sdk, group):
    sdk.network.virtual_networks.begin_create_or_update(group, "vnet", vnet_body(("nodes", "10.10.0.0/24"))).result()
    return _scopes(sdk, group)


def _assign(raw, scope, principal, role=NETWORK_CONTRIBUTOR, name=None, principal_type="ServicePrincipal", sub=None):
    name = name or str(uuid.uuid4())
    props = {"roleDefinitionId": "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s"
                                 % (sub or scope.split("/")[2], role), "principalId": principal}
    if principal_type:
        props["principalType"] = principal_type
    return raw.put("%s%s/providers/Microsoft.Authorization/roleAssignments/%s%s" % (raw.base, scope, name, API),
                   json={"properties": props})


def _list(raw, scope, flt=None):
    params = {"api-version": "2022-04-01"}
    if flt:
        params["$filter"] = flt
    reply = raw.get("%s%s/providers/Microsoft.Authorization/roleAssignments" % (raw.base, scope), params=params)
    assert reply.status_code == 200, reply.text
    return [(a["properties"]["scope"], a["properties"]["principalId"]) for a in reply.json()["value"]]


def test_built_in_role_definitions_by_id_and_by_name(raw, sdk, scopes):
    by_id = raw.get("%s/providers/Microsoft.Authorization/roleDefinitions/%s%s" % (raw.base, NETWORK_CONTRIBUTOR, API))
    assert by_id.status_code == 200
    body = by_id.json()
    assert body["properties"]["roleName"] == "Network Contributor" and body["properties"]["type"] == "BuiltInRole"
    assert "Microsoft.Network/*" in body["properties"]["permissions"][0]["actions"]
    named = raw.get("%s%s/providers/Microsoft.Authorization/roleDefinitions" % (raw.base, scopes["subnet"]),
                    params={"api-version": "2022-04-01", "$filter": "roleName eq 'Network Contributor'"}).json()["value"]
    assert [d["id"] for d in named] == ["/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s"
                                        % (sdk.subscription_id, NETWORK_CONTRIBUTOR)]
    assert raw.get("%s/providers/Microsoft.Authorization/roleDefinitions/%s%s"
                   % (raw.base, uuid.uuid4(), API)).json()["error"]["code"] == "RoleDefinitionDoesNotExist"


def test_assignments_at_every_scope_and_the_list_filters(raw, sdk, scopes, emulator):
    principal = authorization.caller_object_id(emulator.arm)
    other = str(uuid.uuid4())
    emulator.arm.extra_principals = {other: "ServicePrincipal"}
    try:
        for kind in ("group", "vnet", "subnet"):
            reply = _assign(raw, scopes[kind], other, principal_type=None)
            assert reply.status_code == 201, reply.text
            assert reply.json()["properties"]["scope"] == scopes[kind]
        at_subnet = _list(raw, scopes["subnet"], "atScope()")
        # at or above: the three of `other` plus the caller's own Owner at the subscription
        assert sorted(at_subnet) == sorted([(scopes["group"], other), (scopes["vnet"], other), (scopes["subnet"], other),
                                            (scopes["subscription"], principal)])
        assert sorted(_list(raw, scopes["vnet"], "atScope()")) == sorted(
            [(scopes["group"], other), (scopes["vnet"], other), (scopes["subscription"], principal)])
        # principalId eq: that principal's, at, above or below
        assert len(_list(raw, scopes["group"], "principalId eq '%s'" % other)) == 3
        assert sorted(_list(raw, scopes["vnet"], "atScope() and assignedTo('%s')" % other)) == sorted(
            [(scopes["group"], other), (scopes["vnet"], other)])
        # no filter: at, above and below
        assert len([item for item in _list(raw, scopes["group"]) if item[1] == other]) == 3
        bad = raw.get("%s%s/providers/Microsoft.Authorization/roleAssignments" % (raw.base, scopes["group"]),
                      params={"api-version": "2022-04-01", "$filter": "roleName eq 'x'"})
        assert bad.status_code == 400
    finally:
        emulator.arm.extra_principals = {}


def test_same_role_twice_is_role_assignment_exists_and_the_same_put_is_accepted(raw, scopes):
    principal = str(uuid.uuid4())
    name = str(uuid.uuid4())
    first = _assign(raw, scopes["subnet"], principal, name=name)
    assert first.status_code == 201
    again = _assign(raw, scopes["subnet"], principal, name=name)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    second = _assign(raw, scopes["subnet"], principal)
    assert (second.status_code, second.json()["error"]["code"]) == (409, "RoleAssignmentExists")
    changed = _assign(raw, scopes["subnet"], principal, role=roles.READER, name=name)
    assert (changed.status_code, changed.json()["error"]["code"]) == (400, "RoleAssignmentUpdateNotPermitted")
    url = "%s%s/providers/Microsoft.Authorization/roleAssignments/%s%s" % (raw.base, scopes["subnet"], name, API)
    assert raw.get(url).status_code == 200
    assert raw.delete(url).status_code == 200
    assert raw.delete(url).status_code == 204
    assert raw.get(url).json()["error"]["code"] == "RoleAssignmentNotFound"


def test_principal_must_exist_unless_its_type_is_given(raw, scopes):
    unknown = str(uuid.uuid4())
    reply = _assign(raw, scopes["subnet"], unknown, principal_type=None)
    assert (reply.status_code, reply.json()["error"]["code"]) == (400, "PrincipalNotFound")
    assert unknown.replace("-", "") in reply.json()["error"]["message"]
    assert _assign(raw, scopes["subnet"], unknown).status_code == 201


def test_cluster_identities_are_principals(raw, sdk, scopes):
    group = scopes["group"].rsplit("/", 1)[1]
    cluster = sdk.aks.managed_clusters.begin_create_or_update(group, unique("c"), cluster_body()).result()
    for principal in (cluster.identity.principal_id, cluster.identity_profile["kubeletidentity"].object_id):
        assert _assign(raw, scopes["subnet"], principal, principal_type=None).status_code == 201


def test_scope_must_exist_and_name_must_be_a_guid(raw, scopes):
    principal = str(uuid.uuid4())
    missing = scopes["vnet"] + "/subnets/nope"
    assert _assign(raw, missing, principal).status_code == 404
    assert _assign(raw, scopes["subscription"] + "/resourceGroups/nope", principal).json()["error"]["code"] == \
        "ResourceGroupNotFound"
    assert _assign(raw, scopes["subnet"], principal, name="not-a-guid").status_code == 400


def test_caller_without_rights_gets_authorization_failed(raw, scopes, emulator):
    # a second app of the tenant, known as a principal but holding no role
    outsider = str(uuid.uuid4())
    token = emulator.arm.identity.issue(AUDIENCE, outsider)
    headers = {"Authorization": "Bearer " + token}
    url = "%s%s/providers/Microsoft.Authorization/roleAssignments/%s%s" % (raw.base, scopes["subnet"], uuid.uuid4(), API)
    body = {"properties": {"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/" + NETWORK_CONTRIBUTOR,
                           "principalId": str(uuid.uuid4()), "principalType": "ServicePrincipal"}}
    denied = raw.put(url, json=body, headers=headers)
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "AuthorizationFailed")
    assert "Microsoft.Authorization/roleAssignments/write" in denied.json()["error"]["message"]
    # Contributor at the group is not enough (it excludes Microsoft.Authorization/*/Write) ...
    outsider_oid = str(uuid.uuid5(uuid.NAMESPACE_URL, outsider))
    assert _assign(raw, scopes["group"], outsider_oid, role=roles.CONTRIBUTOR).status_code == 201
    assert raw.put(url, json=body, headers=headers).status_code == 403
    # ... User Access Administrator at the VNet is
    assert _assign(raw, scopes["vnet"], outsider_oid, role=roles.USER_ACCESS_ADMINISTRATOR).status_code == 201
    assert raw.put(url, json=body, headers=headers).status_code == 201


def test_roles_grant_actions_like_arm():
    assert roles.grants(roles.OWNER, "Microsoft.Authorization/roleAssignments/write")
    assert not roles.grants(roles.CONTRIBUTOR, "Microsoft.Authorization/roleAssignments/write")
    assert roles.grants(roles.CONTRIBUTOR, "Microsoft.Network/virtualNetworks/subnets/join/action")
    assert roles.grants(roles.NETWORK_CONTRIBUTOR, "Microsoft.Network/virtualNetworks/subnets/join/action")
    assert not roles.grants(roles.NETWORK_CONTRIBUTOR, "Microsoft.Compute/virtualMachines/write")
    assert roles.grants(roles.READER, "Microsoft.Network/virtualNetworks/read")
    assert not roles.grants(roles.READER, "Microsoft.Network/virtualNetworks/write")


def test_kubernetes_versions_and_upgrade_profiles(raw, sdk, group):
    # the SDK reads the same document (`values` is a Mapping method on its models, hence raw JSON here)
    sdk.aks.managed_clusters.list_kubernetes_versions("westeurope")
    listed = raw.get("%s/subscriptions/%s/providers/Microsoft.ContainerService/locations/westeurope/kubernetesVersions%s"
                     % (raw.base, sdk.subscription_id, AKS_API)).json()["values"]
    by_minor = {v["version"]: v for v in listed}
    assert by_minor["1.33"]["isDefault"] is True and "isDefault" not in by_minor["1.34"]
    assert by_minor["1.33"]["patchVersions"]["1.33.1"]["upgrades"] == ["1.33.2", "1.34.0", "1.34.1"]
    assert by_minor["1.34"]["patchVersions"]["1.34.1"]["upgrades"] == []
    assert "AKSLongTermSupport" in by_minor["1.31"]["capabilities"]["supportPlan"]
    name = unique("c")
    body = cluster_body(kubernetesVersion="1.32.6")
    sdk.aks.managed_clusters.begin_create_or_update(group, name, body).result()
    profile = sdk.aks.managed_clusters.get_upgrade_profile(group, name)
    assert profile.control_plane_profile.kubernetes_version == "1.32.6"
    assert [u.kubernetes_version for u in profile.control_plane_profile.upgrades] == ["1.32.7", "1.33.1", "1.33.2"]
    pool = sdk.aks.agent_pools.get_upgrade_profile(group, name, "system")
    assert pool.kubernetes_version == "1.32.6" and [u.kubernetes_version for u in pool.upgrades] == []


def test_blank_vm_size_gets_the_server_default(sdk, group):
    body = cluster_body(pools=[{"name": "nodepool1", "count": 1, "vmSize": "", "mode": "System", "osType": "Linux",
                                "orchestratorVersion": ""}])
    cluster = sdk.aks.managed_clusters.begin_create_or_update(group, unique("c"), body).result()
    pool = cluster.agent_pool_profiles[0]
    assert pool.vm_size == "Standard_DS2_v2" and pool.current_orchestrator_version == "1.33.2"


def test_user_assigned_identity_is_a_principal_with_the_ids_the_cluster_reports(raw, sdk, scopes):
    group = scopes["group"].rsplit("/", 1)[1]
    url = "%s%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami?api-version=2023-01-31" % (
        raw.base, scopes["group"])
    created = raw.put(url, json={"location": "westeurope"})
    assert created.status_code == 201 and raw.put(url, json={"location": "westeurope"}).status_code == 200
    identity = created.json()
    assert raw.get(url).json() == identity
    body = cluster_body()
    body["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {identity["id"]: {}}}
    cluster = sdk.aks.managed_clusters.begin_create_or_update(group, unique("c"), body).result()
    reported = cluster.identity.user_assigned_identities[identity["id"]]
    assert (reported.principal_id, reported.client_id) == (identity["properties"]["principalId"],
                                                           identity["properties"]["clientId"])
    assert _assign(raw, scopes["subnet"], identity["properties"]["principalId"], principal_type=None).status_code == 201
    assert raw.delete(url).status_code == 200 and raw.get(url).status_code == 404
