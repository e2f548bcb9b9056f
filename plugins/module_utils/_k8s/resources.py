# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes resources this collection reads and writes, in one table, and their URL paths.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

from collections import namedtuple

Resource = namedtuple("Resource", "prefix plural namespaced")

KINDS = {
    "Pod": Resource("/api/v1", "pods", True),
    "ConfigMap": Resource("/api/v1", "configmaps", True),
    "Namespace": Resource("/api/v1", "namespaces", False),
    "Node": Resource("/api/v1", "nodes", False),
    "Service": Resource("/api/v1", "services", True),
    "NetworkPolicy": Resource("/apis/networking.k8s.io/v1", "networkpolicies", True),
    "DaemonSet": Resource("/apis/apps/v1", "daemonsets", True),
    "Deployment": Resource("/apis/apps/v1", "deployments", True),
    "ControllerRevision": Resource("/apis/apps/v1", "controllerrevisions", True),
    "CiliumNetworkPolicy": Resource("/apis/cilium.io/v2", "ciliumnetworkpolicies", True),
    "CiliumClusterwideNetworkPolicy": Resource("/apis/cilium.io/v2", "ciliumclusterwidenetworkpolicies", False),
    "CiliumNode": Resource("/apis/cilium.io/v2", "ciliumnodes", False),
    "ContainerNetworkLog": Resource("/apis/acn.azure.com/v1alpha1", "containernetworklogs", False),
    "CiliumIdentity": Resource("/apis/cilium.io/v2", "ciliumidentities", False),
}


def path(kind, namespace=None, name=None):
    """The URL path of a collection (no name) or of one object; all namespaces when namespace is None."""
    resource = KINDS[kind]
    parts = [resource.prefix]
    if resource.namespaced and namespace:
        parts.append("namespaces/%s" % namespace)
    parts.append(resource.plural)
    if name:
        parts.append(name)
    return "/".join(parts)


def namespaced(kind):
    return KINDS[kind].namespaced
