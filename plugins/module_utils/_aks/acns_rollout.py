# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""After aks_cilium_cluster turned WireGuard on: wait for the Cilium agent rollout AKS starts, then for every
CiliumNode to carry the ``network.cilium.io/wg-pub-key`` annotation its agent publishes once running with it.

Reads the cluster through its user credentials (listClusterUserCredential), like ``az aks get-credentials``;
the kubeconfig stays in memory. Private to this collection.
"""

from __future__ import annotations

import time

from ansible_collections.azcni.cilium.plugins.module_utils._aks.credentials import DECODE_ERRORS, cluster_credentials, parse
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.client import K8sApiError, K8sClient
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.config import K8sConfigError, load_configuration
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.rollout import RolloutError, wait_for_rollout

WG_KEY_ANNOTATION = "network.cilium.io/wg-pub-key"
CILIUM_NODES = "/apis/cilium.io/v2/ciliumnodes"
KEY_POLL_SECONDS = 1.0


class WireGuardWaitError(Exception):
    """The rollout or the keys did not finish in time, or the cluster could not be read; the message says which."""


def _missing_keys(nodes):
    return sorted((n.get("metadata") or {}).get("name") for n in nodes
                  if not ((n.get("metadata") or {}).get("annotations") or {}).get(WG_KEY_ANNOTATION))


def wait_for_wireguard(client, timeout, clock=time.monotonic, sleep=time.sleep):
    """{agent, nodes, nodes_with_key, waited} once the agents rolled out and every node has its key."""
    started = clock()
    deadline = started + timeout
    try:
        _ds, message = wait_for_rollout(client, "DaemonSet", "kube-system", "cilium", timeout, clock=clock, sleep=sleep)
        while True:
            nodes, _version = client.list(CILIUM_NODES)
            missing = _missing_keys(nodes)
            if not missing:
                return dict(agent=message, nodes=len(nodes), nodes_with_key=len(nodes), waited=round(clock() - started, 3))
            if clock() + KEY_POLL_SECONDS > deadline:
                raise WireGuardWaitError("Timed out after %d s waiting for the WireGuard keys: %d of %d nodes have none (%s)"
                                         % (timeout, len(missing), len(nodes), ", ".join(missing[:5])))
            sleep(KEY_POLL_SECONDS)
    except RolloutError as exc:
        raise WireGuardWaitError("Waiting for the Cilium agent rollout WireGuard starts: %s" % exc.message)
    except K8sApiError as exc:
        raise WireGuardWaitError("Reading the cluster's Cilium agents failed: %s" % exc)


CREDENTIAL_ERRORS = DECODE_ERRORS + (K8sConfigError,)  # a malformed kubeconfig, or one that cannot be loaded


def cluster_client(az, resource_group, name):
    """A K8sClient for the cluster, from its user credentials."""
    try:
        text = cluster_credentials(az, resource_group, name)
        return K8sClient(load_configuration(dict(kubeconfig=parse(text)), run_command=az.module.run_command))
    except CREDENTIAL_ERRORS as exc:
        raise WireGuardWaitError("Cannot use the cluster's user credentials: %s" % exc)
