# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Advanced Container Networking Services (ACNS) for aks_cilium_cluster: state, intent, patch, pre-flight rules.

API 2026-08-01: ``networkProfile.advancedNetworking = {enabled, observability{enabled}, security{enabled,
advancedNetworkPolicies L7|FQDN|None, transitEncryption{type WireGuard|None}}, performance{accelerationMode
BpfVeth|None}}`` and ``azureMonitorProfile.containerInsights.containerNetworkLogs Enabled|Disabled``.

The module's options speak lower case (``network_policies: none|fqdn|l7``, ``transit_encryption:
none|wireguard``, ``acceleration: none|bpfveth``, ``container_network_logs: bool``); options not given keep
the cluster's value. Everything here is pure. Private to this collection.
"""

from __future__ import annotations

import ipaddress
import re

POLICY_API = {"none": "None", "fqdn": "FQDN", "l7": "L7"}
ENCRYPTION_API = {"none": "None", "wireguard": "WireGuard"}
ACCELERATION_API = {"none": "None", "bpfveth": "BpfVeth"}
OPTIONS = ("observability", "security", "network_policies", "transit_encryption", "acceleration")
WIREGUARD_PORT = 51871  # UDP, between every pair of nodes
L7_MAX_NODES = 1000
FQDN_MIN_VERSION = (1, 29)
BPFVETH_MIN_VERSION = (1, 33)
FLOW_LOGS_MIN_VERSION = (1, 33)


def _lower(value, default="none"):
    return (value or default).lower()


def _version(text):
    return tuple(int(part) for part in re.findall(r"\d+", text or ""))[:2]


def current(cluster):
    """The ACNS state of a raw ARM cluster (None: no cluster), in the module's spelling."""
    if cluster is None:
        return None
    properties = cluster.get("properties") or {}
    advanced = (properties.get("networkProfile") or {}).get("advancedNetworking") or {}
    enabled = bool(advanced.get("enabled"))
    security = advanced.get("security") or {}
    secure = enabled and bool(security.get("enabled"))
    logs = ((properties.get("azureMonitorProfile") or {}).get("containerInsights") or {}).get("containerNetworkLogs")
    return {
        "observability": enabled and bool((advanced.get("observability") or {}).get("enabled")),
        "security": secure,
        "network_policies": _lower(security.get("advancedNetworkPolicies"), "fqdn") if secure else "none",
        "transit_encryption": _lower((security.get("transitEncryption") or {}).get("type")) if enabled else "none",
        "acceleration": _lower((advanced.get("performance") or {}).get("accelerationMode")) if enabled else "none",
        "container_network_logs": _lower(logs, "disabled") == "enabled",
    }


NOTHING = {"observability": False, "security": False, "network_policies": "none", "transit_encryption": "none",
           "acceleration": "none", "container_network_logs": False}


def target(params, have):
    """The ACNS state asked for: the options given, else ``have`` (the cluster's, or all off on create).

    Asking for FQDN/L7 policies or WireGuard turns security on unless ``security`` is given; turning
    security on without a policy mode gets AKS's default, FQDN; turning it off drops the policy mode.
    """
    have = dict(have or NOTHING)
    wanted = dict((k, v) for k, v in (params.get("advanced_networking") or {}).items() if v is not None)
    result = dict(have)
    result.update((key, wanted[key]) for key in OPTIONS if key in wanted)
    if "security" not in wanted and (wanted.get("network_policies", "none") != "none"
                                     or wanted.get("transit_encryption", "none") != "none"):
        result["security"] = True
    if result["security"] and not have["security"] and "network_policies" not in wanted:
        result["network_policies"] = "fqdn"
    if not result["security"] and "network_policies" not in wanted:
        result["network_policies"] = "none"
    if params.get("container_network_logs") is not None:
        result["container_network_logs"] = bool(params["container_network_logs"])
    return result


def enabled(state):
    return bool(state["observability"] or state["security"] or state["acceleration"] != "none")


def patch(wanted, have):
    """(advancedNetworking body or None, azureMonitorProfile patch or None): what the PUT must carry."""
    have = have or NOTHING
    advanced = None
    if any(wanted[key] != have[key] for key in OPTIONS):
        advanced = {
            "enabled": enabled(wanted),
            "observability": {"enabled": bool(wanted["observability"])},
            "security": {"enabled": bool(wanted["security"]),
                         "advancedNetworkPolicies": POLICY_API[wanted["network_policies"]],
                         "transitEncryption": {"type": ENCRYPTION_API[wanted["transit_encryption"]]}},
            "performance": {"accelerationMode": ACCELERATION_API[wanted["acceleration"]]},
        }
    monitor = None
    if wanted["container_network_logs"] != have["container_network_logs"]:
        monitor = {"containerInsights": {"containerNetworkLogs": "Enabled" if wanted["container_network_logs"] else "Disabled"}}
    return advanced, monitor


def az_view(state):
    """The state in az's spelling (as ``az aks show`` prints networkProfile.advancedNetworking)."""
    return {
        "enabled": enabled(state),
        "observability": {"enabled": bool(state["observability"])},
        "security": {"enabled": bool(state["security"]), "advancedNetworkPolicies": POLICY_API[state["network_policies"]],
                     "transitEncryption": {"type": ENCRYPTION_API[state["transit_encryption"]]}},
        "performance": {"accelerationMode": ACCELERATION_API[state["acceleration"]]},
        "containerNetworkLogs": "Enabled" if state["container_network_logs"] else "Disabled",
    }


# --- pre-flight rules ------------------------------------------------------------------------------

def _node_os_ok(pool, version):
    """eBPF host routing needs Azure Linux 3.0 or Ubuntu 24.04 node images.

    osSKU Ubuntu2404 and AzureLinux3 name them; plain AzureLinux is 3.0 from Kubernetes 1.32, plain
    Ubuntu is 24.04 from 1.35 (the AKS node image defaults).
    """
    sku = (pool.get("osSKU") or "Ubuntu").lower()
    minor = _version(pool.get("orchestratorVersion")) or version
    if sku in ("ubuntu2404", "azurelinux3"):
        return True
    if not minor:
        return True  # the version is left to AKS: so is this check
    return (sku == "azurelinux" and minor >= (1, 32)) or (sku == "ubuntu" and minor >= (1, 35))


def _nodes(pools):
    return sum(int((p.get("maxCount") if p.get("enableAutoScaling") else p.get("count")) or 0) for p in pools)


def _text(version):
    return ".".join(str(part) for part in version)


# Each check gets the Facts (``acns``: the state asked for, ``kubernetes_version``: (major, minor) or None when
# a create leaves it to AKS, ``acns_pools``: every agentPoolProfile after the change, ``static_egress``) and
# returns None when the rule holds, else a detail.
def _policies_need_security(facts):
    acns = facts.acns
    if acns and acns["network_policies"] != "none" and not acns["security"]:
        return "network_policies %s with security false" % acns["network_policies"]
    return None


def _wireguard_needs_security(facts):
    acns = facts.acns
    if acns and acns["transit_encryption"] == "wireguard" and not acns["security"]:
        return "transit_encryption wireguard with security false"
    return None


def _fqdn_version(facts):
    acns, version = facts.acns, facts.kubernetes_version
    if acns and acns["network_policies"] != "none" and version and version < FQDN_MIN_VERSION:
        return "network_policies %s on Kubernetes %s" % (acns["network_policies"], _text(version))
    return None


def _l7_node_limit(facts):
    acns = facts.acns
    if acns and acns["network_policies"] == "l7" and _nodes(facts.acns_pools) > L7_MAX_NODES:
        return "the node pools allow %d nodes" % _nodes(facts.acns_pools)
    return None


def _bpfveth_version(facts):
    acns, version = facts.acns, facts.kubernetes_version
    if acns and acns["acceleration"] == "bpfveth" and version and version < BPFVETH_MIN_VERSION:
        return "the cluster runs Kubernetes %s" % _text(version)
    return None


def _bpfveth_node_os(facts):
    acns = facts.acns
    if not acns or acns["acceleration"] != "bpfveth":
        return None
    bad = ["%s (%s)" % (p.get("name"), p.get("osSKU") or "Ubuntu") for p in facts.acns_pools
           if not _node_os_ok(p, facts.kubernetes_version)]
    return "node pools %s" % ", ".join(bad) if bad else None


def _bpfveth_static_egress(facts):
    acns = facts.acns
    if acns and acns["acceleration"] == "bpfveth" and facts.static_egress:
        return "the cluster has Static Egress Gateway enabled"
    return None


def _flow_logs_observability(facts):
    acns = facts.acns
    if acns and acns["container_network_logs"] and not acns["observability"]:
        return "container_network_logs true with observability false"
    return None


def _flow_logs_version(facts):
    acns, version = facts.acns, facts.kubernetes_version
    if acns and acns["container_network_logs"] and version and version < FLOW_LOGS_MIN_VERSION:
        return "the cluster runs Kubernetes %s" % _text(version)
    return None


def _wireguard_port(facts):
    acns = facts.acns
    if not acns or acns["transit_encryption"] != "wireguard" or not facts.node_nsg or not facts.node_subnet_prefix:
        return None
    space = (((facts.vnet or {}).get("properties") or {}).get("addressSpace") or {}).get("addressPrefixes") or []
    blocked = nsg_blocks_wireguard(facts.node_nsg, facts.node_subnet_prefix, space)
    if blocked:
        direction, rule, priority = blocked
        return "NSG %s rule %s (priority %s) denies it %s" % (facts.node_nsg.get("name"), rule, priority, direction.lower())
    return None


# (rule id, check, message, needs the VNet) rows; _aks.cluster_rules appends them to its RULES table.
# Sources: AKS docs container-network-security-* concepts, how-to-apply-wireguard, how-to-enable-ebpf-host-routing,
# how-to-configure-container-network-logs, azure-cni-powered-by-cilium (feature matrix); SDK 41.8.0 docstrings.
RULES = (
    ("acns-policies-need-security", _policies_need_security,
     "FQDN and L7 policies (advanced_networking.network_policies) need ACNS security; AKS blocks them without it", False),
    ("acns-wireguard-needs-security", _wireguard_needs_security,
     "WireGuard transit encryption is an ACNS security feature and needs advanced_networking.security", False),
    ("acns-fqdn-kubernetes-version", _fqdn_version, "FQDN (and L7) policies need Kubernetes 1.29 or later", False),
    ("acns-l7-node-limit", _l7_node_limit, "L7 policies are supported on clusters of up to 1,000 nodes", False),
    ("acns-bpfveth-kubernetes-version", _bpfveth_version,
     "eBPF host routing (acceleration bpfveth) needs Kubernetes 1.33 or later", False),
    ("acns-bpfveth-node-os", _bpfveth_node_os,
     "eBPF host routing needs Azure Linux 3.0 or Ubuntu 24.04 node images on every node pool", False),
    ("acns-bpfveth-static-egress", _bpfveth_static_egress,
     "eBPF host routing is not compatible with Static Egress Gateway", False),
    ("acns-flow-logs-need-observability", _flow_logs_observability,
     "container network logs need ACNS observability (advanced_networking.observability)", False),
    ("acns-flow-logs-kubernetes-version", _flow_logs_version, "container network logs need Kubernetes 1.33 or later",
     False),
    ("acns-wireguard-udp-51871", _wireguard_port,
     "WireGuard needs UDP 51871 open between the nodes; the node subnet's network security group blocks it", True),
)


# --- the node subnet's NSG and UDP 51871 --------------------------------------------------------------

def _prefixes(rule, side):
    props = rule.get("properties") or {}
    many = props.get("%sAddressPrefixes" % side) or []
    one = props.get("%sAddressPrefix" % side)
    return list(many) + ([one] if one else [])


def _ports(rule):
    props = rule.get("properties") or {}
    many = props.get("destinationPortRanges") or []
    one = props.get("destinationPortRange")
    return list(many) + ([one] if one else [])


def _port_matches(text, port):
    text = str(text).strip()
    if text in ("*", ""):
        return True
    if "-" in text:
        low, high = text.split("-", 1)
        return int(low) <= port <= int(high)
    return text.isdigit() and int(text) == port


def _address_matches(prefix, nodes, vnet_space):
    prefix = str(prefix).strip()
    if prefix in ("*", "Any", "any"):
        return True
    if prefix.lower() == "virtualnetwork":
        return any(nodes.subnet_of(space) for space in vnet_space if space.version == nodes.version)
    try:
        network = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return False  # other service tags (Internet, AzureLoadBalancer, ...) are not node-to-node traffic
    return network.version == nodes.version and network.overlaps(nodes)


def nsg_blocks_wireguard(nsg, node_prefix, vnet_prefixes):
    """(direction, rule name, priority) of the rule that denies node-to-node UDP 51871, or None.

    Azure evaluates an NSG's rules (its own and the six defaults) by priority, lowest first, per
    direction; the first rule whose protocol, addresses and ports match decides.
    """
    nodes = ipaddress.ip_network(node_prefix, strict=False)
    space = [ipaddress.ip_network(p, strict=False) for p in vnet_prefixes or []]
    props = nsg.get("properties") or {}
    rules = list(props.get("securityRules") or []) + list(props.get("defaultSecurityRules") or [])
    for direction in ("Inbound", "Outbound"):
        candidates = sorted((r for r in rules if (r.get("properties") or {}).get("direction") == direction),
                            key=lambda r: int((r.get("properties") or {}).get("priority") or 0))
        for rule in candidates:
            rule_props = rule.get("properties") or {}
            if str(rule_props.get("protocol") or "*").lower() not in ("*", "udp"):
                continue
            if not any(_port_matches(p, WIREGUARD_PORT) for p in _ports(rule)):
                continue
            if not (any(_address_matches(p, nodes, space) for p in _prefixes(rule, "source"))
                    and any(_address_matches(p, nodes, space) for p in _prefixes(rule, "destination"))):
                continue
            if (rule_props.get("access") or "").lower() == "deny":
                return direction, rule.get("name"), rule_props.get("priority")
            break
    return None
