# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the cluster pre-flight rules (``_aks.cluster_rules``) work on: AKS's defaults and limits, the
``Facts`` of the cluster-to-be, the ``Rule`` row, and the parsers the checks share.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ansible_collections.azcni.cilium.plugins.module_utils._aks.cidr import parse_network
from ansible_collections.azcni.cilium.plugins.module_utils._azure.ids import subnet_parts

# What AKS uses when the create request leaves these out (they are what the GET shows afterwards).
AKS_DEFAULT_SERVICE_CIDR = "10.0.0.0/16"
AKS_DEFAULT_DNS_SERVICE_IP = "10.0.0.10"
AKS_DEFAULT_POD_CIDR = "10.244.0.0/16"

MAX_PODS_MIN, MAX_PODS_MAX = 10, 250
POOL_NAME_MAX = 12  # Linux pools: lowercase letters and digits, starting with a letter
AZURE_RESERVED_IPS = 5  # Azure keeps five addresses of every subnet
POD_IPS_PER_NODE = 16  # dynamic pod IP allocation hands out IPs in batches of 16 per node
MIN_PODS_PER_POOL = 30  # AKS accepts max_pods below 30 only when the pool still has room for 30 pods
SERVICE_CIDR_MIN_PREFIX = 13  # "smaller than /12"
STATIC_BLOCK_MIN_VERSION = (1, 28)  # configure-azure-cni-static-block-allocation


@dataclass
class Facts:
    """The settings a cluster will have once the request succeeds: the user's options, else the
    existing cluster's values, else (on create) AKS's defaults, which ``defaults`` names."""

    ipam_mode: str = "overlay"
    pod_cidr: str | None = None
    service_cidr: str | None = None
    dns_service_ip: str | None = None
    network_dataplane: str | None = "cilium"
    network_policy: str | None = "cilium"
    pool_name: str | None = None  # the system pool this module manages
    max_pods: int | None = None
    node_count: int | None = None
    min_count: int | None = None  # autoscaler bounds, when the autoscaler is on
    max_count: int | None = None
    vnet_subnet_id: str | None = None
    pod_subnet_id: str | None = None
    # every node pool as {"name", "osType", "osSKU"}: the module's system pool and the cluster's others
    pools: list = field(default_factory=list)
    given: frozenset = frozenset()  # option names the user set (rules about the input itself)
    defaults: frozenset = frozenset()  # fields filled from AKS defaults, named as such in messages
    vnet: dict | None = None  # the raw VNet of vnet_subnet_id, once read from Azure
    pod_ip_allocation_mode: str | None = None  # the system pool's podIPAllocationMode
    pool_version: str | None = None  # the system pool's (or the cluster's) Kubernetes version, as text
    # ACNS (_aks.acns): the state asked for, the Kubernetes (major, minor) the cluster will run (None: left to
    # AKS), every agentPoolProfile after the change, Static Egress Gateway on, the node subnet's NSG and prefix
    acns: dict | None = None
    kubernetes_version: tuple | None = None
    acns_pools: list = field(default_factory=list)
    static_egress: bool = False
    node_nsg: dict | None = None
    node_subnet_prefix: str | None = None

    def label(self, name):
        text = "%s %s" % (name, getattr(self, name))
        return text + " (AKS default)" if name in self.defaults else text


@dataclass(frozen=True)
class Rule:
    rule_id: str
    check: object
    message: str
    needs_network: bool = False  # runs once the network reads are in the facts (a cluster's VNet, a pool's subnet usage)
    warning: bool = False  # reported in the result's warnings; never fails the task


def _net(text):
    """The network of a CIDR text, or None when absent or invalid (``cidr-syntax`` reports that)."""
    try:
        return parse_network(text) if text else None
    except ValueError:
        return None


def _ip(text):
    try:
        return ipaddress.ip_address(text) if text else None
    except ValueError:
        return None


def _subnet(resource_id):
    try:
        return subnet_parts(resource_id) if resource_id else None
    except ValueError:
        return None


def _vnet_key(parts):
    return tuple(parts[k].lower() for k in ("subscription", "resource_group", "vnet"))
