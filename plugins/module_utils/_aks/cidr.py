# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CIDR rules shared by the network and cluster modules.

Azure and AKS reject (or, worse, accept and then misroute) address ranges that overlap each other or
the ranges Azure keeps for itself. Checking them here lets a module fail before its first write,
with a message naming the rule.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import ipaddress

# Ranges AKS forbids for the VNet, pod and service CIDRs (concepts-network-cni-overview):
# link-local, two ranges the platform uses itself, and TEST-NET-1. Kept as text for messages.
RESERVED_RANGES = ("169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24")
_RESERVED_NETWORKS = tuple(ipaddress.ip_network(text) for text in RESERVED_RANGES)


def parse_network(text):
    """Parse ``a.b.c.d/n`` (or IPv6) into an ``ipaddress`` network.

    Raises ValueError with a message fit for the user. The prefix length is required (a bare
    address is almost always a typo) and host bits must be clear, as Azure requires.
    """
    if isinstance(text, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return text
    if not isinstance(text, str) or "/" not in text:
        raise ValueError("%r is not a CIDR range: expected an address and a prefix length, e.g. 10.0.0.0/16" % (text,))
    text = text.strip()
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError("%r is not a valid CIDR range" % (text,)) from None
    if loose.network_address != ipaddress.ip_interface(text).ip:
        raise ValueError("%r has host bits set; the network address is %s" % (text, loose))
    return loose


def overlaps(a, b):
    """True when two networks share at least one address (different IP versions never do)."""
    return a.version == b.version and a.overlaps(b)


def contains(outer, inner):
    """True when every address of ``inner`` lies in ``outer``."""
    return outer.version == inner.version and inner.subnet_of(outer)


def reserved_overlap(net):
    """The reserved range (as text) that ``net`` overlaps, or None."""
    for reserved in _RESERVED_NETWORKS:
        if overlaps(net, reserved):
            return str(reserved)
    return None
