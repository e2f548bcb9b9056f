"""Azure built-in role definitions the AKS flows use, by their real IDs.

Facts from Microsoft's generated reference "Azure built-in roles" (MicrosoftDocs/azure-docs,
articles/role-based-access-control/built-in-roles/{privileged,general,networking,identity}.md,
ms.date 2026-07-01): name (GUID), roleName, description, actions, notActions. dataActions and
notDataActions are empty for every row here. assignableScopes is ["/"] for all of them.
"""

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
MANAGED_IDENTITY_OPERATOR = "f1a07417-d97a-45cb-824c-7a7467783830"

# (name, roleName, description, actions, notActions)
BUILT_IN_ROLES = [
    (OWNER, "Owner", "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
     ["*"], []),
    (CONTRIBUTOR, "Contributor",
     "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage "
     "assignments in Azure Blueprints, or share image galleries.",
     ["*"],
     ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action",
      "Microsoft.Blueprint/blueprintAssignments/write", "Microsoft.Blueprint/blueprintAssignments/delete",
      "Microsoft.Compute/galleries/share/action", "Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete",
      "Microsoft.Resources/deploymentStacks/manageDenySetting/action", "Microsoft.Subscription/cancel/action",
      "Microsoft.Subscription/enable/action"]),
    (READER, "Reader", "View all resources, but does not allow you to make any changes.", ["*/read"], []),
    (USER_ACCESS_ADMINISTRATOR, "User Access Administrator", "Lets you manage user access to Azure resources.",
     ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"], []),
    (RBAC_ADMINISTRATOR, "Role Based Access Control Administrator",
     "Manage access to Azure resources by assigning roles using Azure RBAC. This role does not allow you to manage "
     "access using other ways, such as Azure Policy.",
     ["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete", "*/read",
      "Microsoft.Support/*"], []),
    (NETWORK_CONTRIBUTOR, "Network Contributor", "Lets you manage networks, but not access to them.",
     ["Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Network/*",
      "Microsoft.ResourceHealth/availabilityStatuses/read", "Microsoft.Resources/deployments/*",
      "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"], []),
    (MANAGED_IDENTITY_OPERATOR, "Managed Identity Operator", "Read and Assign User Assigned Identity",
     ["Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
      "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.Authorization/*/read",
      "Microsoft.Insights/alertRules/*", "Microsoft.Resources/subscriptions/resourceGroups/read",
      "Microsoft.Resources/deployments/*", "Microsoft.Support/*"], []),
]
ROLES = {row[0]: row for row in BUILT_IN_ROLES}


def _matches(pattern, action):
    """ARM action patterns: case-insensitive, '*' matches any run of characters (segments included)."""
    parts = pattern.lower().split("*")
    action = action.lower()
    if len(parts) == 1:
        return action == parts[0]
    if not action.startswith(parts[0]) or not action.endswith(parts[-1]):
        return False
    position = len(parts[0])
    for middle in parts[1:-1]:
        found = action.find(middle, position)
        if found < 0:
            return False
        position = found + len(middle)
    return position <= len(action) - len(parts[-1])


def grants(role_name, action):
    """Whether the built-in role `role_name` (a GUID) allows `action`."""
    row = ROLES.get((role_name or "").lower())
    if row is None:
        return False
    actions, not_actions = row[3], row[4]
    return any(_matches(a, action) for a in actions) and not any(_matches(n, action) for n in not_actions)
