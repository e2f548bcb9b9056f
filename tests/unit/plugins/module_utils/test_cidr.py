# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CIDR rules: parsing, reserved ranges, overlap and containment, subnet IDs."""

from __future__ import annotations

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._aks.cidr import (
    RESERVED_RANGES,
    contains,
    overlaps,
    parse_network,
    reserved_overlap,
)

net = parse_network


@pytest.mark.parametrize("text, expected", [
    ("192.168.16.0/22", "192.168.16.0/22"),
    (" 10.0.0.0/8 ", "10.0.0.0/8"),
    ("fd00::/64", "fd00::/64"),
])
def test_parse_network_accepts_cidrs(text, expected):
    assert str(parse_network(text)) == expected


@pytest.mark.parametrize("text, message", [
    ("192.168.16.1/22", "host bits set; the network address is 192.168.16.0/22"),
    ("10.0.0.0", "expected an address and a prefix length"),
    ("10.0.0.0/33", "not a valid CIDR range"),
    ("300.0.0.0/8", "not a valid CIDR range"),
    ("", "expected an address and a prefix length"),
    (None, "expected an address and a prefix length"),
    (42, "expected an address and a prefix length"),
])
def test_parse_network_rejects_with_message(text, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        parse_network(text)


def test_parse_network_passes_networks_through():
    network = parse_network("10.1.0.0/16")
    assert parse_network(network) is network


@pytest.mark.parametrize("text, reserved", [
    ("169.254.10.0/24", "169.254.0.0/16"),
    ("172.16.0.0/12", "172.30.0.0/16"),      # a supernet of a reserved range overlaps it too
    ("172.31.255.0/24", "172.31.0.0/16"),
    ("192.0.2.128/25", "192.0.2.0/24"),
    ("192.168.0.0/16", None),
    ("10.0.0.0/8", None),
    ("fd00::/8", None),
])
def test_reserved_overlap(text, reserved):
    assert reserved_overlap(net(text)) == reserved


def test_reserved_ranges_are_the_documented_four():
    assert set(RESERVED_RANGES) == {"169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24"}


@pytest.mark.parametrize("a, b, expected", [
    ("192.168.16.0/24", "192.168.17.0/24", False),   # neighbours
    ("192.168.16.0/22", "192.168.17.0/24", True),    # containment is overlap
    ("192.168.0.0/16", "192.168.16.0/22", True),
    ("10.0.0.0/16", "fd00::/64", False),             # different IP versions never overlap
])
def test_overlaps(a, b, expected):
    assert overlaps(net(a), net(b)) is expected
    assert overlaps(net(b), net(a)) is expected


@pytest.mark.parametrize("outer, inner, expected", [
    ("192.168.16.0/22", "192.168.17.0/24", True),
    ("192.168.16.0/22", "192.168.16.0/22", True),
    ("192.168.16.0/22", "192.168.20.0/24", False),
    ("192.168.17.0/24", "192.168.16.0/22", False),   # bigger range is not inside a smaller one
    ("10.0.0.0/8", "fd00::/64", False),
])
def test_contains(outer, inner, expected):
    assert contains(net(outer), net(inner)) is expected
