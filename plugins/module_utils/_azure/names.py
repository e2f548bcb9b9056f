# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure's naming, sizing and location rules, checked before any request (Learn: "Naming rules and
restrictions for Azure resources"; the AKS API's resourceName and dnsPrefix patterns; the Virtual
Network FAQ for subnet sizes). Each check returns a problem naming the option, or None.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import ipaddress
import re

_GROUP = re.compile(r"^[-\w.()]{1,90}$", re.UNICODE)
_NETWORK = re.compile(r"^\w([-\w.]*\w)?$", re.UNICODE)  # begins with a word character, ends with one (or '_')
_CLUSTER = re.compile(r"^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$")
_DNS_PREFIX = re.compile(r"^[a-zA-Z0-9]$|^[a-zA-Z0-9][-a-zA-Z0-9]{0,52}[a-zA-Z0-9]$")
SMALLEST_IPV4_SUBNET = 29  # Azure keeps 5 addresses of every subnet; /29 is the smallest it creates
IPV6_SUBNET = 64


def resource_group(option, name):
    if not name or not _GROUP.match(name) or name.endswith("."):
        return ("%s %r is not a valid resource group name: 1-90 letters, digits, '-', '_', '.', '(' and ')', not "
                "ending with '.'" % (option, name))
    return None


def network_name(option, name, minimum=1, maximum=80):
    if not name or not minimum <= len(name) <= maximum or not _NETWORK.match(name):
        return ("%s %r is not a valid name: %d-%d letters, digits, '_', '.' and '-', starting with a letter, digit or "
                "'_' and ending with a letter, digit or '_'" % (option, name, minimum, maximum))
    return None


def vnet_name(option, name):
    return network_name(option, name, minimum=2, maximum=64)


def cluster_name(option, name):
    if not name or not _CLUSTER.match(name):
        return ("%s %r is not a valid AKS cluster name: 1-63 letters, digits, '-' and '_', starting and ending with a "
                "letter or digit" % (option, name))
    return None


def dns_prefix(option, prefix):
    if prefix is not None and not _DNS_PREFIX.match(prefix):
        return ("%s %r is not a valid DNS prefix: 1-54 letters, digits and '-', starting and ending with a letter or "
                "digit" % (option, prefix))
    return None


def subnet_size(option, prefix):
    """A subnet range Azure would refuse for its size (IPv4 smaller than /29, IPv6 other than /64)."""
    try:
        network = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return None  # the CIDR checks report it
    if network.version == 4 and network.prefixlen > SMALLEST_IPV4_SUBNET:
        return "%s %s is smaller than /%d, the smallest subnet Azure creates" % (option, prefix, SMALLEST_IPV4_SUBNET)
    if network.version == 6 and network.prefixlen != IPV6_SUBNET:
        return "%s %s: Azure IPv6 subnets are /%d" % (option, prefix, IPV6_SUBNET)
    return None


def has_ipv4(prefixes):
    out = []
    for prefix in prefixes or []:
        try:
            out.append(ipaddress.ip_network(prefix, strict=False).version == 4)
        except ValueError:
            out.append(True)  # reported by the CIDR checks
    return any(out) or not out


def normalize_location(location):
    return str(location).replace(" ", "").lower()


def location_problem(option, location, available):
    """``available``: the subscription's locations as GET /subscriptions/{id}/locations lists them."""
    names = [item.get("name") for item in available or [] if item.get("name")]
    displays = {normalize_location(item.get("displayName") or ""): item.get("name") for item in available or []}
    wanted = normalize_location(location)
    if names and wanted not in names and wanted not in displays:
        return "%s %r is not a location of this subscription; it has: %s" % (option, location, ", ".join(sorted(names)))
    return None
