# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network Contributor for a cluster's identity on the custom subnets it uses, as ``az aks create`` does.

What az does (azure-cli 2.91.0, ``acs/managed_cluster_decorator.py``: ``process_add_role_assignment_for_vnet_subnet``
and ``immediate_processing_after_request``; ``acs/_roleassignments.py``): with ``--vnet-subnet-id`` and without
``--skip-subnet-role-assignment`` it lists the subnet's role assignments (``$filter=atScope()``) and, when none
grants Network Contributor there, assigns it with ``principalType: ServicePrincipal`` - before the cluster PUT
for a user-assigned identity (its principal ID is known), right after the PUT for a system-assigned one (the
cluster then has ``identity.principalId``). az covers the node subnet only; AKS's docs
(``configure-azure-cni-dynamic-ip-allocation.md``, Prerequisites: "the cluster identity must have Network
Contributor permissions on the node and pod subnets") ask for both, so both are covered here.

On purpose unlike az: the lookup asks for this principal's assignments at or above the subnet
(``atScope() and assignedTo('{id}')``), so rights inherited from the VNet or resource group count; the
assignment's name is derived from (subnet, principal, role), so a retried PUT is the same assignment.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureError

NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
ROLE_NAME = "Network Contributor"
OPERATION = "subnet-role-assignment"
NEEDED = ("Microsoft.Authorization/roleAssignments/write, which Owner, User Access Administrator and Role Based "
          "Access Control Administrator grant")


def cluster_subnets(cluster):
    """The node and pod subnet IDs of every pool of a cluster body, in order, each once."""
    found, seen = [], set()
    for pool in ((cluster or {}).get("properties") or {}).get("agentPoolProfiles") or []:
        for key in ("vnetSubnetID", "podSubnetID"):
            subnet = pool.get(key)
            if subnet and subnet.lower() not in seen:
                seen.add(subnet.lower())
                found.append(subnet)
    return found


def cluster_principal(cluster):
    """The principal ID of a cluster's control-plane identity, or None while it has none."""
    identity = (cluster or {}).get("identity") or {}
    if identity.get("principalId"):
        return identity["principalId"]
    for value in (identity.get("userAssignedIdentities") or {}).values():
        if (value or {}).get("principalId"):
            return value["principalId"]
    return None


def assignment_name(scope, principal):
    import uuid  # here: only a grant names an assignment, and uuid's import starts the platform module

    return str(uuid.uuid5(uuid.NAMESPACE_URL, "%s|%s|%s" % (scope.lower(), principal.lower(), NETWORK_CONTRIBUTOR)))


class SubnetAccess(object):
    """Looks up and creates the Network Contributor assignments of one principal on subnets."""

    def __init__(self, az):
        self.az = az

    @property
    def api(self):
        return self.az.client("resources")

    def _fail(self, exc, msg, changed):
        self.az.fail_json(msg="%s: %s" % (msg, exc), error_code=exc.code, error_message=exc.message,
                          status_code=exc.status, changed=changed)

    def user_assigned_principal(self, identity_id):
        """The principal ID of a user-assigned identity (GET Microsoft.ManagedIdentity/userAssignedIdentities)."""
        try:
            identity = self.az.get(self.api.user_assigned_identities.get_by_id, identity_id)
        except AzureError as exc:
            self._fail(exc, "Reading the user-assigned identity %s failed" % identity_id, changed=False)
        if identity is None and self.az.check_mode:  # an earlier task would create it in a real run
            self.az.warn("Check mode: the user-assigned identity %s does not exist yet." % identity_id)
            return None
        if identity is None:
            self.az.fail_json(msg="The user-assigned identity %s does not exist: create it first (or use a "
                                  "system-assigned identity)." % identity_id)
        return identity["properties"]["principalId"]

    def missing(self, principal, subnets, changed=False):
        """The subnets on which `principal` holds no Network Contributor assignment at or above the subnet."""
        absent = []
        for subnet in subnets:
            query = {"$filter": "atScope() and assignedTo('%s')" % principal}
            try:
                found = self.az.list(self.api.role_assignments.list_for_scope, subnet, query=query)
            except AzureError as exc:
                self._fail(exc, "Reading the role assignments of subnet %s failed (the caller needs "
                                "Microsoft.Authorization/roleAssignments/read there)" % subnet, changed)
            if not any(_grants(item, principal, subnet) for item in found):
                absent.append(subnet)
        return absent

    def grant(self, principal, subnets, changed=False):
        """Assign Network Contributor to `principal` on each subnet; fails with what the caller needs on a 403."""
        for subnet in subnets:
            body = {"properties": {"roleDefinitionId": role_definition_id(subnet), "principalId": principal,
                                   "principalType": "ServicePrincipal"}}
            try:
                self.az.call(self.api.role_assignments.create, subnet, assignment_name(subnet, principal), body=body)
            except AzureError as exc:
                if exc.code == "RoleAssignmentExists":  # another name holds the same grant: what we wanted
                    continue
                if exc.status == 403:
                    self.az.fail_json(
                        msg="Cannot give the cluster's identity (principal %s) %s on subnet %s: the caller is not "
                            "allowed to (%s). Grant the caller %s on the subnet, its VNet or resource group, or set "
                            "skip_subnet_role_assignment: true and assign the role yourself."
                            % (principal, ROLE_NAME, subnet, exc.message, NEEDED),
                        error_code=exc.code, status_code=exc.status, changed=changed)
                self._fail(exc, "Giving principal %s %s on subnet %s failed" % (principal, ROLE_NAME, subnet), changed)
            changed = True
        return changed


class SubnetGrant(object):
    """The Network Contributor assignments a cluster's identity needs on its subnets, and making them.

    ``plan`` looks them up (reads only, also in check mode); ``run`` creates the missing ones. A new
    cluster with a system-assigned identity has no principal yet: ``run`` takes it from the created cluster.
    """

    OPERATION = OPERATION

    def __init__(self, access, principal, subnets, missing, who=None):
        self.access, self.principal, self.subnets, self.missing = access, principal, subnets, missing
        self.who = who or "(the system-assigned identity of the new cluster)"

    @classmethod
    def plan(cls, az, params, existing, after):
        subnets = [] if params.get("skip_subnet_role_assignment") else cluster_subnets(after)
        access = SubnetAccess(az)
        if not subnets:
            return cls(access, None, [], [])
        identity, who = params.get("identity") or {}, None
        if identity.get("type") == "UserAssigned":
            principal = access.user_assigned_principal(identity["user_assigned_identity"])
            who = "(the user-assigned identity %s)" % identity["user_assigned_identity"]
        else:
            principal = cluster_principal(existing)
        missing = access.missing(principal, subnets) if principal else list(subnets)
        return cls(access, principal, subnets, missing, who)

    def diff(self):
        return dict((subnet, dict(role=ROLE_NAME, principalId=self.principal or self.who)) for subnet in self.missing)

    def report(self, new_state):
        """One entry per subnet: ``present``, or ``new_state`` (planned / created) for the missing ones."""
        missing = set(s.lower() for s in self.missing)
        return [dict(scope=subnet, role=ROLE_NAME, role_definition_id=role_definition_id(subnet),
                     principal_id=self.principal, state=new_state if subnet.lower() in missing else "present")
                for subnet in self.subnets]

    def run(self, cluster=None, changed=False):
        """Create the missing assignments (for a new cluster, once ``cluster`` carries its identity)."""
        if not self.missing:
            return changed
        if self.principal is None:
            self.principal = cluster_principal(cluster)
            if self.principal is None:
                self.access.az.warn("The cluster has no managed identity yet; %s was not assigned on %s."
                                    % (ROLE_NAME, ", ".join(self.missing)))
                return changed
            self.missing = self.access.missing(self.principal, self.missing, changed=changed)
        return self.access.grant(self.principal, self.missing, changed=changed)


def role_definition_id(scope):
    subscription = scope.split("/")[2]
    return "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (subscription, NETWORK_CONTRIBUTOR)


def _grants(item, principal, subnet):
    props = item.get("properties") or {}
    scope = (props.get("scope") or "").lower().rstrip("/")
    return (str(props.get("principalId", "")).lower() == principal.lower()
            and str(props.get("roleDefinitionId", "")).lower().endswith("/" + NETWORK_CONTRIBUTOR)
            and (subnet.lower() == scope or subnet.lower().startswith(scope + "/")))


def plan_for_pool(az, cluster, pool, skip=False):
    """The SubnetGrant for one node pool's subnets on an existing cluster (aks_cilium_nodepool): the
    cluster's identity gets Network Contributor on the pool's node and pod subnets, as for the system pool.

    ``pool`` is the pool as it will be (ARM's keys, ``vnetSubnetID``/``podSubnetID``). Call ``.run()`` when
    not in check mode; ``.diff()`` and ``.report(state)`` describe it.
    """
    subnets = [] if skip else cluster_subnets({"properties": {"agentPoolProfiles": [pool]}})
    access = SubnetAccess(az)
    principal = cluster_principal(cluster)
    if not subnets or principal is None:  # a cluster without a managed identity: nothing to grant to
        return SubnetGrant(access, principal, subnets, [])
    return SubnetGrant(access, principal, subnets, access.missing(principal, subnets))
