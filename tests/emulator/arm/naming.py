"""Azure's naming, sizing, location and request-shape rules, as ARM and the resource providers enforce them.

Sources (looked up, not guessed, unless marked):
- Names: Learn "Naming rules and restrictions for Azure resources" (resource-name-rules.md) and the AKS
  swagger (managedClusters resourceName: ^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$, max 63;
  agent pool ^[a-z][a-z0-9]{0,11}$, checked by rules.bad_pool_name).
- Resource group: ARM answers InvalidResourceGroup "The provided resource group name '…' has these invalid
  characters: '…'. The name can only be a letter, digit, '-', '.', '(', ')' or '_'." (recorded in
  Azure/azure-cli#14481); 1-90 characters, not ending in '.'.
- Network RP names: InvalidResourceName "Resource name … is invalid. The name can be up to 80 characters
  long. It must begin with a word character, and it must end with a word character or with '_'. The name
  may contain word characters or '.', '-', '_'." (recorded). VNets are 2-64 characters (resource-name-rules).
- dnsPrefix: InvalidParameter "The value of parameter dnsPrefix is invalid. Error details: DNS prefix '…'
  is invalid. DNS prefix must contain between 1 and 54 characters. Please see https://aka.ms/aks-naming-rules
  for more details." target dnsPrefix (recorded, pulumi-azure-native#571); letters, digits, hyphens, start
  and end alphanumeric.
- Locations: LocationNotAvailableForResourceGroup / LocationNotAvailableForResourceType, 400, with the list
  of available regions (recorded); the subscription's locations come from GET /subscriptions/{id}/locations.
- Subnet sizes: Azure's smallest IPv4 subnet is /29 and IPv6 subnets are /64 (Virtual Network FAQ). The code
  for a smaller subnet is not documented: NetcfgInvalidSubnet, the Network RP's generic subnet error
  (best recollection).
- Request shape: a body whose field has the wrong JSON type is refused by the RP's deserializer with
  InvalidRequestContent "… Error converting value … Path '…'" (Json.NET's wording, as ARM RPs answer).
"""

import ipaddress
import re

from ..http import json_response
from .errors import bad_request

# ---- locations ----------------------------------------------------------------------------
# (name, display name, geography group) of public Azure regions the emulated subscription can use
LOCATIONS = [
    ("eastus", "East US", "US"), ("eastus2", "East US 2", "US"), ("centralus", "Central US", "US"),
    ("northcentralus", "North Central US", "US"), ("southcentralus", "South Central US", "US"),
    ("westcentralus", "West Central US", "US"), ("westus", "West US", "US"), ("westus2", "West US 2", "US"),
    ("westus3", "West US 3", "US"), ("canadacentral", "Canada Central", "Canada"),
    ("canadaeast", "Canada East", "Canada"), ("brazilsouth", "Brazil South", "South America"),
    ("northeurope", "North Europe", "Europe"), ("westeurope", "West Europe", "Europe"),
    ("uksouth", "UK South", "Europe"), ("ukwest", "UK West", "Europe"), ("francecentral", "France Central", "Europe"),
    ("germanywestcentral", "Germany West Central", "Europe"), ("swedencentral", "Sweden Central", "Europe"),
    ("switzerlandnorth", "Switzerland North", "Europe"), ("norwayeast", "Norway East", "Europe"),
    ("polandcentral", "Poland Central", "Europe"), ("italynorth", "Italy North", "Europe"),
    ("spaincentral", "Spain Central", "Europe"), ("uaenorth", "UAE North", "Middle East"),
    ("qatarcentral", "Qatar Central", "Middle East"), ("israelcentral", "Israel Central", "Middle East"),
    ("southafricanorth", "South Africa North", "Africa"), ("centralindia", "Central India", "Asia Pacific"),
    ("southindia", "South India", "Asia Pacific"), ("eastasia", "East Asia", "Asia Pacific"),
    ("southeastasia", "Southeast Asia", "Asia Pacific"), ("japaneast", "Japan East", "Asia Pacific"),
    ("japanwest", "Japan West", "Asia Pacific"), ("koreacentral", "Korea Central", "Asia Pacific"),
    ("australiaeast", "Australia East", "Asia Pacific"), ("australiasoutheast", "Australia Southeast", "Asia Pacific"),
    ("australiacentral", "Australia Central", "Asia Pacific"), ("mexicocentral", "Mexico Central", "Mexico"),
]
LOCATION_NAMES = [name for name, _display, _geo in LOCATIONS]


def normalize_location(text):
    """ARM accepts a region's name or display name, in any case and spacing."""
    return str(text).replace(" ", "").lower()


def location_body(sub, name, display, geography):
    return {"id": "/subscriptions/%s/locations/%s" % (sub, name), "name": name, "displayName": display,
            "regionalDisplayName": "(%s) %s" % (geography, display), "type": "Region",
            "metadata": {"regionType": "Physical", "regionCategory": "Recommended", "geographyGroup": geography}}


def list_locations(arm, request, sub):
    del request, sub
    return json_response(200, {"value": [location_body(arm.subscription_id, *row) for row in LOCATIONS]})


ROUTES = [("GET", r"/subscriptions/(?P<sub>[^/]+)/locations", list_locations)]


def check_group_location(location):
    if normalize_location(location) not in LOCATION_NAMES:
        raise bad_request("LocationNotAvailableForResourceGroup",
                          "The provided location '%s' is not available for resource group. List of available regions "
                          "is '%s'." % (location, ",".join(LOCATION_NAMES)))


def check_resource_location(location, resource_type):
    if normalize_location(location) not in LOCATION_NAMES:
        raise bad_request("LocationNotAvailableForResourceType",
                          "The provided location '%s' is not available for resource type '%s'. List of available "
                          "regions for the resource type is '%s'." % (location, resource_type, ",".join(LOCATION_NAMES)))


# ---- names --------------------------------------------------------------------------------
_GROUP_CHARS = re.compile(r"[\w\-.()]", re.UNICODE)
_NETWORK_NAME = re.compile(r"^\w([\w.\-]*[\w])?$", re.UNICODE)
_CLUSTER_NAME = re.compile(r"^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$")
_DNS_PREFIX = re.compile(r"^[a-zA-Z0-9]$|^[a-zA-Z0-9][-a-zA-Z0-9]{0,52}[a-zA-Z0-9]$")
AKS_NAMING = "Please see https://aka.ms/aks-naming-rules for more details."


def check_group_name(name):
    bad = "".join(sorted({c for c in name if not _GROUP_CHARS.fullmatch(c)}))
    if bad:
        raise bad_request("InvalidResourceGroup",
                          "The provided resource group name '%s' has these invalid characters: '%s'. The name can only "
                          "be a letter, digit, '-', '.', '(', ')' or '_'." % (name, bad))
    if not 1 <= len(name) <= 90 or name.endswith("."):
        # best recollection: the same code, worded for length and the trailing period
        raise bad_request("InvalidResourceGroup",
                          "The provided resource group name '%s' is invalid. The name must be 1-90 characters long and "
                          "cannot end with a period." % name)


def check_network_name(name, minimum=1, maximum=80):
    """VNets (2-64) and subnets (1-80), as the Network RP words it."""
    if not (minimum <= len(name) <= maximum and _NETWORK_NAME.match(name)):
        raise bad_request("InvalidResourceName",
                          "Resource name %s is invalid. The name can be up to %d characters long. It must begin with a "
                          "word character, and it must end with a word character or with '_'. The name may contain word "
                          "characters or '.', '-', '_'." % (name, maximum))


def check_vnet_name(name):
    check_network_name(name, minimum=2, maximum=64)


def check_cluster_name(name):
    if not _CLUSTER_NAME.match(name):
        raise bad_request("InvalidParameter",
                          "The value of parameter resourceName is invalid. Error details: Managed cluster name '%s' is "
                          "invalid. It must contain between 1 and 63 characters: letters, numbers, underscores and "
                          "hyphens, starting and ending with a letter or number. %s" % (name, AKS_NAMING),
                          target="resourceName")


def check_dns_prefix(prefix):
    if not _DNS_PREFIX.match(prefix):
        raise bad_request("InvalidParameter",
                          "The value of parameter dnsPrefix is invalid. Error details: DNS prefix '%s' is invalid. DNS "
                          "prefix must contain between 1 and 54 characters: letters, numbers and hyphens, starting and "
                          "ending with a letter or number. %s" % (prefix, AKS_NAMING), target="dnsPrefix")


# ---- sizes --------------------------------------------------------------------------------
SMALLEST_IPV4_SUBNET = 29
IPV6_SUBNET = 64


def check_subnet_size(subnet_name, vnet_name, prefix):
    network = ipaddress.ip_network(prefix, strict=False)
    if (network.version == 4 and network.prefixlen > SMALLEST_IPV4_SUBNET) or (
            network.version == 6 and network.prefixlen != IPV6_SUBNET):
        raise bad_request("NetcfgInvalidSubnet",
                          "Subnet '%s' is not valid in virtual network '%s'. The address prefix %s is not supported: the "
                          "smallest IPv4 subnet is /%d and IPv6 subnets must be /%d."
                          % (subnet_name, vnet_name, prefix, SMALLEST_IPV4_SUBNET, IPV6_SUBNET))


# ---- request shape (what the RP's typed deserializer refuses) --------------------------------
STR, INT, BOOL, ANY = "String", "Int32", "Boolean", "Object"
STR_MAP = {"*": STR}
DELEGATION = {"name": STR, "properties": {"serviceName": STR, "actions": [STR]}}
SUBNET = {"name": STR, "id": STR,
          "properties": {"addressPrefix": STR, "addressPrefixes": [STR], "delegations": [DELEGATION], "*": ANY}}
GROUP_SHAPE = {"location": STR, "tags": STR_MAP, "managedBy": STR, "*": ANY}
VNET_SHAPE = {"location": STR, "tags": STR_MAP, "properties": {
    "addressSpace": {"addressPrefixes": [STR]}, "subnets": [SUBNET], "*": ANY}, "*": ANY}
SUBNET_SHAPE = SUBNET
POOL = {"name": STR, "count": INT, "maxPods": INT, "vmSize": STR, "osType": STR, "osSKU": STR, "mode": STR,
        "vnetSubnetID": STR, "podSubnetID": STR, "orchestratorVersion": STR, "podIPAllocationMode": STR,
        "enableAutoScaling": BOOL, "minCount": INT, "maxCount": INT, "osDiskSizeGB": INT, "tags": STR_MAP,
        "nodeLabels": STR_MAP, "nodeTaints": [STR], "availabilityZones": [STR], "upgradeSettings": {"*": ANY}, "*": ANY}
NETWORK_PROFILE = {"networkPlugin": STR, "networkPluginMode": STR, "networkDataplane": STR, "networkPolicy": STR,
                   "podCidr": STR, "podCidrs": [STR], "serviceCidr": STR, "serviceCidrs": [STR], "dnsServiceIP": STR,
                   "ipFamilies": [STR], "outboundType": STR, "loadBalancerSku": STR,
                   "loadBalancerProfile": {"managedOutboundIPs": {"count": INT, "countIPv6": INT},
                                           "outboundIPs": {"publicIPs": [{"id": STR}]}, "*": ANY},
                   "advancedNetworking": {"enabled": BOOL, "observability": {"enabled": BOOL},
                                          "security": {"enabled": BOOL, "*": ANY}, "*": ANY}, "*": ANY}
CLUSTER_SHAPE = {"location": STR, "tags": STR_MAP, "sku": {"name": STR, "tier": STR},
                 "identity": {"type": STR, "userAssignedIdentities": {"*": {"*": ANY}}},
                 "properties": {"kubernetesVersion": STR, "dnsPrefix": STR, "fqdnSubdomain": STR,
                                "nodeResourceGroup": STR, "agentPoolProfiles": [POOL], "networkProfile": NETWORK_PROFILE,
                                "servicePrincipalProfile": {"clientId": STR, "*": ANY}, "windowsProfile": {"*": ANY},
                                "addonProfiles": {"*": {"*": ANY}}, "enableRBAC": BOOL, "disableLocalAccounts": BOOL,
                                "*": ANY}, "*": ANY}
POOL_SHAPE = {"properties": POOL, "*": ANY}
TAGS_SHAPE = {"tags": STR_MAP, "*": ANY}
_PYTHON = {STR: (str,), INT: (int,), BOOL: (bool,)}
MAX_DEPTH = 64


def _type_error(value, wanted, path):
    return bad_request("InvalidRequestContent",
                       "The request content was invalid and could not be deserialized: 'Error converting value %s to "
                       "type '%s'. Path '%s'.'." % (_short(value), wanted, path))


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_shape(value, shape, path="", depth=0):
    """Raise InvalidRequestContent where a field the service models has the wrong JSON type (null is absent)."""
    if value is None or shape == ANY:
        return
    if depth > MAX_DEPTH:
        raise bad_request("InvalidRequestContent", "The request content was invalid: nested too deeply at '%s'." % path)
    if isinstance(shape, list):
        if not isinstance(value, list):
            raise _type_error(value, "List", path)
        for index, item in enumerate(value):
            if item is None and shape[0] != ANY:
                raise _type_error(item, "Object" if isinstance(shape[0], dict) else "System." + str(shape[0]),
                                  "%s[%d]" % (path, index))
            check_shape(item, shape[0], "%s[%d]" % (path, index), depth + 1)
        return
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            raise _type_error(value, "Object", path)
        for key, item in value.items():
            sub = shape.get(key, shape.get("*"))
            if sub is None:
                continue
            check_shape(item, sub, "%s.%s" % (path, key) if path else key, depth + 1)
        return
    ok = isinstance(value, _PYTHON[shape]) and not (shape == INT and isinstance(value, bool))
    if not ok:
        raise _type_error(value, "System." + shape, path)


def subnet_without_ipv4(ch):
    """AKS puts node (and pod) IPs in IPv4 space: a subnet with IPv6 prefixes only cannot carry a cluster."""
    for ref in ch.subnet_refs():
        props = (ch.subnet(ref.id) or {}).get("properties") or {}
        prefixes = props.get("addressPrefixes") or [props.get("addressPrefix")]
        if not any(p and ipaddress.ip_network(p, strict=False).version == 4 for p in prefixes):
            return {"index": ref.index, "key": ref.key, "subnet": ref.id}
    return None


# rows for rules.RULES (name, status, code, subcode, message, target, check); the code is AKS's generic one
AKS_RULES = [
    ("subnet-ipv4", 400, "InvalidParameter", None,
     "The value of parameter agentPoolProfile.{key} is invalid. Subnet {subnet} has no IPv4 address prefix; AKS "
     "nodes and pods need IPv4 addresses. " + AKS_NAMING, "agentPoolProfiles[{index}].{key}", subnet_without_ipv4),
]
