# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Advanced Container Networking Services as the cluster runs it: read from cilium-config and the workloads.

Cilium's own cilium-config keys (Cilium Helm chart ``cilium-configmap.yaml``; the AKS manifests in
Azure/azure-container-networking ``test/integration/manifests/cilium``):

- ``enable-l7-proxy``: the agent's proxies (the DNS proxy FQDN rules need, and the L7 proxy); false without ACNS;
- ``external-envoy-proxy``: L7 rules go to the ``cilium-envoy`` DaemonSet (ACNS ``L7``);
- ``enable-hubble``: Hubble (ACNS observability; Hubble Relay runs beside it);
- ``enable-wireguard``: WireGuard transit encryption; each agent then publishes its key as the
  ``network.cilium.io/wg-pub-key`` annotation of its CiliumNode;
- ``enable-host-legacy-routing``: false means eBPF host routing (ACNS acceleration ``BpfVeth``).

Pure; private to this collection.
"""

from __future__ import annotations

from ansible_collections.azcni.cilium.plugins.module_utils._common import config_flag

ENVOY_DAEMONSET = "cilium-envoy"
RELAY_DEPLOYMENT = "hubble-relay"
WG_KEY_ANNOTATION = "network.cilium.io/wg-pub-key"
CILIUM_NODES = "/apis/cilium.io/v2/ciliumnodes"


def policy_mode(config):
    """none | fqdn | l7 from the ``data`` of cilium-config."""
    data = config or {}
    proxy = config_flag(data.get("enable-l7-proxy"))
    if proxy and config_flag(data.get("external-envoy-proxy")):
        return "l7"
    return "fqdn" if proxy or config_flag(data.get("enable-standalone-dns-proxy")) else "none"


def wireguard(config):
    return config_flag((config or {}).get("enable-wireguard"))


def state(config):
    """The ACNS state a cluster runs, in aks_cilium_cluster's spelling."""
    data = config or {}
    mode = policy_mode(data)
    encryption = "wireguard" if wireguard(data) else "none"
    # an absent key is Cilium's default: legacy host routing stays on where AKS has not turned it off
    acceleration = "bpfveth" if (data.get("enable-host-legacy-routing") or "true").lower() == "false" else "none"
    observability = config_flag(data.get("enable-hubble"))
    security = mode != "none" or encryption != "none"
    return dict(enabled=observability or security or acceleration != "none", observability=observability,
                security=security, network_policies=mode, transit_encryption=encryption, acceleration=acceleration)


def encryption(config, cilium_nodes):
    """``{mode, nodes, nodes_with_key, nodes_without_key}`` from the CiliumNode objects (None: not read)."""
    mode = "wireguard" if wireguard(config) else "none"
    nodes = cilium_nodes or []
    missing = sorted(((n.get("metadata") or {}).get("name") for n in nodes
                      if not ((n.get("metadata") or {}).get("annotations") or {}).get(WG_KEY_ANNOTATION)), key=str)
    return dict(mode=mode, nodes=len(nodes), nodes_with_key=len(nodes) - len(missing),
                nodes_without_key=missing if mode == "wireguard" else [])
