"""Microsoft.Network networkSecurityGroups: the rules a subnet's NSG holds (read by pre-flight checks).

A PUT stores securityRules as given (with ids and provisioningState) plus the six default rules Azure
adds to every NSG (AllowVnetInBound 65000 ... DenyAllOutBound 65500). A subnet refers to its NSG by
`properties.networkSecurityGroup.id`, as on Azure. Priorities 100-4096, unique per direction.
"""

from ..http import Response, json_response
from .network import etag
from . import ids
from .errors import bad_request, resource_not_found

PROVIDER = "Microsoft.Network"
NSG_TYPE = "Microsoft.Network/networkSecurityGroups"
DEFAULT_RULES = (
    ("AllowVnetInBound", 65000, "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork",
     "Allow inbound traffic from all VMs in VNET"),
    ("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "AzureLoadBalancer", "*",
     "Allow inbound traffic from azure load balancer"),
    ("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*", "Deny all inbound traffic"),
    ("AllowVnetOutBound", 65000, "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork",
     "Allow outbound traffic from all VMs to all VMs in VNET"),
    ("AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "Internet", "Allow outbound traffic from all VMs to Internet"),
    ("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*", "Deny all outbound traffic"),
)


def nsg_id(sub, rg, name):
    return "/subscriptions/%s/resourceGroups/%s/providers/%s/%s" % (sub, rg, NSG_TYPE, name)


def _rule(nsg, name, props, kind="securityRules"):
    return {"name": name, "id": "%s/%s/%s" % (nsg, kind, name), "etag": etag(),
            "type": "%s/%s" % (NSG_TYPE, kind), "properties": dict(props, provisioningState="Succeeded")}


def _default_rules(nsg):
    return [_rule(nsg, name, {"description": text, "protocol": "*", "sourcePortRange": "*", "destinationPortRange": "*",
                              "sourceAddressPrefix": source, "destinationAddressPrefix": target, "access": access,
                              "priority": priority, "direction": direction,
                              "sourcePortRanges": [], "destinationPortRanges": [], "sourceAddressPrefixes": [],
                              "destinationAddressPrefixes": []}, "defaultSecurityRules")
            for name, priority, direction, access, source, target, text in DEFAULT_RULES]


def _check_rules(rules):
    seen = {}
    for rule in rules:
        props = rule.get("properties") or {}
        priority, direction = props.get("priority"), props.get("direction")
        if not isinstance(priority, int) or not 100 <= priority <= 4096:
            raise bad_request("SecurityRuleInvalidPriority", "Security rule %s has invalid Priority %s. Value provided: %s "
                              "Allowed range 100-4096." % (rule.get("name"), priority, priority))
        if direction not in ("Inbound", "Outbound") or props.get("access") not in ("Allow", "Deny"):
            raise bad_request("InvalidRequestFormat", "Security rule %s needs direction Inbound|Outbound and access "
                              "Allow|Deny." % rule.get("name"))
        if (priority, direction) in seen:
            raise bad_request("SecurityRuleConflict", "Security rule %s conflicts with rule %s. Rules cannot have the "
                              "same Priority and Direction." % (rule.get("name"), seen[(priority, direction)]))
        seen[(priority, direction)] = rule.get("name")


def put_nsg(arm, request, sub, rg, name):
    arm.require_resource_group(sub, rg)
    body = arm.json_body(request)
    resource_id = nsg_id(sub, rg, name)
    old = arm.store.get(resource_id)
    rules = (body.get("properties") or {}).get("securityRules") or []
    _check_rules(rules)
    nsg = {"id": old["id"] if old else resource_id, "name": old["name"] if old else name, "type": NSG_TYPE,
           "location": body.get("location") or (old or {}).get("location"), "etag": etag(),
           "properties": {"securityRules": [_rule(resource_id, r["name"], r.get("properties") or {}) for r in rules],
                          "defaultSecurityRules": _default_rules(resource_id), "provisioningState": "Succeeded"}}
    if body.get("tags") is not None:
        nsg["tags"] = body["tags"]
    arm.store.put(resource_id, nsg)
    op = arm.start_operation(request, resource_id, "update" if old else "create", PROVIDER, nsg["location"])
    return json_response(200 if old else 201, nsg, arm.lro_headers(op, request))


def get_nsg(arm, request, sub, rg, name):
    del request
    arm.require_resource_group(sub, rg)
    nsg = arm.store.get(nsg_id(sub, rg, name))
    if nsg is None:
        raise resource_not_found(NSG_TYPE, name, rg)
    return json_response(200, nsg)


def list_nsgs(arm, request, sub, rg):
    del request
    arm.require_resource_group(sub, rg)
    return json_response(200, {"value": arm.store.children(ids.resource_group(sub, rg), "providers/" + NSG_TYPE)})


def delete_nsg(arm, request, sub, rg, name):
    arm.require_resource_group(sub, rg)
    nsg = arm.store.get(nsg_id(sub, rg, name))
    if nsg is None:
        return Response(204)

    def done(op):
        if op.status == "Succeeded":
            arm.store.delete(nsg["id"])

    op = arm.start_operation(request, nsg["id"], "delete", PROVIDER, nsg["location"], on_done=done)
    return Response(202, arm.lro_headers(op, request, location=True))


NSG = r"{rg}/providers/Microsoft\.Network/networkSecurityGroups/(?P<name>[^/]+)"
ROUTES = [
    ("GET", r"{rg}/providers/Microsoft\.Network/networkSecurityGroups", list_nsgs),
    ("PUT", NSG, put_nsg),
    ("GET", NSG, get_nsg),
    ("DELETE", NSG, delete_nsg),
]
