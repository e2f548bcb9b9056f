# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory plugin: the AKS clusters of some subscriptions as hosts."""

from __future__ import annotations

DOCUMENTATION = r"""
name: aks_clusters
short_description: AKS clusters as inventory hosts, with their network profile as host variables
version_added: 1.1.0
description:
  - Lists the managed clusters (C(Microsoft.ContainerService/managedClusters)) of one or more subscriptions,
    optionally only some resource groups, and makes each cluster a host.
  - Every host carries the cluster's network profile and pools as variables prefixed C(aks_)
    (C(aks_ipam_mode), C(aks_network_dataplane), C(aks_network_policy), C(aks_kubernetes_version),
    C(aks_node_pools), ...), so that O(keyed_groups) can make groups such as C(dataplane_azure) or
    C(ipam_kubenet).
  - Authentication is the same as the C(aks_*) modules' (options, C(AZURE_*) variables,
    C(~/.azure/credentials), the Azure CLI, a managed identity), so AWX's Microsoft Azure Resource
    Manager credential works unchanged.
  - Hosts get C(ansible_connection=local) and the controller's Python as C(ansible_python_interpreter) unless
    O(connection) says otherwise; the modules of this collection run on the controller and talk to Azure and to
    each cluster's API.
  - The inventory file's name must end in C(aks_clusters.yml) or C(aks_clusters.yaml).
author:
  - azcni.cilium contributors (@azcni)
extends_documentation_fragment:
  - azcni.cilium.azure
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; it must be C(azcni.cilium.aks_clusters).
    type: str
    required: true
    choices: [azcni.cilium.aks_clusters]
  subscriptions:
    description:
      - The subscriptions to list clusters in. Defaults to the one the credentials resolve to
        (O(subscription_id), E(AZURE_SUBSCRIPTION_ID), the profile or the Azure CLI's default).
    type: list
    elements: str
    default: []
  resource_groups:
    description: Only clusters in these resource groups (case-insensitive). Empty lists every group.
    type: list
    elements: str
    default: []
  include_names:
    description: Only clusters whose name matches one of these shell patterns (C(prod-*)). Empty matches all.
    type: list
    elements: str
    default: []
  exclude_names:
    description: Leave out clusters whose name matches one of these shell patterns.
    type: list
    elements: str
    default: []
  include_tags:
    description:
      - Only clusters carrying every one of these tags. A value of C(null) asks only for the tag to be present;
        otherwise the value must be equal.
    type: dict
    default: {}
  exclude_tags:
    description: Leave out clusters carrying any of these tags (C(null) value - any value; else that value).
    type: dict
    default: {}
  hostname:
    description:
      - V(name) names each host after its cluster; when two listed clusters share a name, both are named
        C(<resource group>_<name>) instead, with a warning.
      - V(resource_group_name) always uses C(<resource group>_<name>).
    type: str
    choices: [name, resource_group_name]
    default: name
  connection:
    description: The C(ansible_connection) every host gets.
    type: str
    default: local
requirements:
  - azure-identity
  - azure-mgmt-containerservice
"""

EXAMPLES = r"""
# fleet.aks_clusters.yml
plugin: azcni.cilium.aks_clusters
resource_groups: [platform-prod, platform-dev]
include_tags:
  cni-migration: wave-1
keyed_groups:
  - key: aks_network_dataplane
    prefix: dataplane          # dataplane_azure, dataplane_cilium
  - key: aks_ipam_mode
    prefix: ipam               # ipam_kubenet, ipam_node_subnet, ipam_overlay, ipam_vnet
  - key: aks_network_policy
    prefix: policy             # policy_azure, policy_calico, policy_cilium, policy_none
compose:
  needs_migration: aks_network_dataplane != 'cilium'
groups:
  kubenet_retirement: aks_ipam_mode == 'kubenet'
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/azcni-aks-inventory
cache_timeout: 600
"""

import fnmatch
import subprocess
import sys

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.azcni.cilium.plugins.module_utils._aks.inventory import host_vars
from ansible_collections.azcni.cilium.plugins.module_utils._azure.auth import (
    AzureAuthError, build_credential, cli_subscription, resolve_cloud, resolve_settings)
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureError, arm_api
from ansible_collections.azcni.cilium.plugins.module_utils._azure.transport import new_sender

AUTH_OPTIONS = ("auth_source", "profile", "subscription_id", "client_id", "secret", "tenant", "ad_user", "password",
                "cloud_environment", "cert_validation_mode", "disable_instance_discovery")


def _run_command(args):
    """run_command() for the Azure CLI subscription lookup (no AnsibleModule here)."""
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, "", str(exc)
    return done.returncode, done.stdout, done.stderr


def _tags_match(tags, wanted, every):
    tags = tags or {}
    hits = [key in tags and (value is None or str(tags[key]) == str(value)) for key, value in (wanted or {}).items()]
    return all(hits) if every else any(hits)


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "azcni.cilium.aks_clusters"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(("aks_clusters.yml", "aks_clusters.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        clusters = None
        if use_cache:
            try:
                clusters = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if clusters is None:
            clusters = self._fetch()
        if update_cache:
            self._cache[cache_key] = clusters
        self._populate(clusters)

    # --- reading Azure ------------------------------------------------------------------------------
    def _fetch(self):
        """Every managed cluster (raw ARM JSON) of the configured subscriptions, filtered; cacheable as is."""
        params = dict((name, self.get_option(name)) for name in AUTH_OPTIONS)
        groups = [g.lower() for g in self.get_option("resource_groups") or []]
        try:
            settings = resolve_settings(params)
            verify = settings.get("cert_validation_mode", "validate") != "ignore"
            sender = new_sender(verify)
            cloud = resolve_cloud(settings.get("cloud_environment"), verify, sender)
            credential = build_credential(settings, cloud, verify, sender)
            subscriptions = self.get_option("subscriptions") or [settings.get("subscription_id") or
                                                                 cli_subscription(_run_command)]
            if not all(subscriptions):
                raise AzureAuthError("No Azure subscription: set subscriptions or subscription_id (or AZURE_SUBSCRIPTION_ID).")
            clusters = []
            for subscription in subscriptions:
                api = arm_api(sender, credential, cloud, subscription).managed_clusters
                if groups:
                    for group in groups:
                        clusters.extend(api.list_by_resource_group(group))
                else:
                    clusters.extend(api.list())
        except AzureAuthError as exc:
            raise AnsibleError("aks_clusters: %s" % to_native(exc))
        except AzureError as exc:
            raise AnsibleError("aks_clusters: listing AKS clusters failed: %s" % exc)
        return [c for c in clusters if self._wanted(c, groups)]

    def _wanted(self, cluster, groups):
        name = cluster.get("name") or ""
        group = (cluster.get("id") or "").split("/")[4].lower() if cluster.get("id", "").count("/") > 4 else ""
        if groups and group not in groups:
            return False
        includes, excludes = self.get_option("include_names"), self.get_option("exclude_names")
        if includes and not any(fnmatch.fnmatchcase(name, pattern) for pattern in includes):
            return False
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in excludes or []):
            return False
        if self.get_option("include_tags") and not _tags_match(cluster.get("tags"), self.get_option("include_tags"), True):
            return False
        return not _tags_match(cluster.get("tags"), self.get_option("exclude_tags"), False)

    # --- the inventory ------------------------------------------------------------------------------
    def _hostnames(self, all_vars):
        names = [v["aks_cluster_name"] for v in all_vars]
        qualified = self.get_option("hostname") == "resource_group_name"
        result = []
        for host in all_vars:
            clash = names.count(host["aks_cluster_name"]) > 1
            if clash and not qualified:
                self.display.warning("aks_clusters: more than one cluster is named %s; naming them "
                                     "<resource group>_<name>" % host["aks_cluster_name"])
            result.append("%s_%s" % (host["aks_resource_group"], host["aks_cluster_name"]) if qualified or clash
                          else host["aks_cluster_name"])
        return result

    def _populate(self, clusters):
        strict = self.get_option("strict")
        all_vars = [host_vars(cluster) for cluster in clusters]
        connection = dict(ansible_connection=self.get_option("connection"))
        if connection["ansible_connection"] == "local":  # the modules need the controller's Python and its libraries
            connection["ansible_python_interpreter"] = sys.executable
        for hostname, variables in zip(self._hostnames(all_vars), all_vars):
            self.inventory.add_host(hostname)
            variables = dict(variables, **connection)
            for key, value in variables.items():
                self.inventory.set_variable(hostname, key, value)
            self._set_composite_vars(self.get_option("compose"), variables, hostname, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, hostname, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, hostname, strict=strict)
