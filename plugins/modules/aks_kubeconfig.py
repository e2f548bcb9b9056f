#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aks_kubeconfig
short_description: Merge an AKS cluster's credentials into a kubeconfig file, like az aks get-credentials
version_added: 1.0.0
description:
  - Fetches the user or admin credentials of an AKS cluster and merges them into a kubeconfig file the
    way C(az aks get-credentials) does. Other clusters, users and contexts in the file are kept; an
    entry with the same name is replaced when it is identical or with O(overwrite_existing=true),
    otherwise the task fails like az (V(A different object named ... already exists in your kubeconfig file)).
  - The file is written atomically (a temporary file in the same directory, then a rename) with mode
    0600, under an exclusive lock on a C(<path>.lock) sidecar file, so parallel forks writing the same
    file never corrupt it or lose each other's entries. An unchanged file is not rewritten.
  - The credentials are never printed or returned; the diff shows entry names only.
author:
  - azcni.cilium contributors (@azcni)
extends_documentation_fragment:
  - azcni.cilium.azure
  - azcni.cilium.attributes
options:
  name:
    description: Name of the managed cluster.
    type: str
    required: true
  resource_group:
    description: Resource group of the managed cluster.
    type: str
    required: true
  admin:
    description:
      - Fetch the cluster admin credentials (C(listClusterAdminCredential)) instead of the user ones.
      - As az does, the admin context is named C(<cluster>-admin) unless O(context) is given.
    type: bool
    default: false
  path:
    description: The kubeconfig file to merge into; created (with its directory) when missing.
    type: path
    default: ~/.kube/config
  context:
    description:
      - Name for the new context (and its cluster entry), like C(az aks get-credentials --context).
      - Used verbatim, also for admin credentials.
    type: str
  overwrite_existing:
    description:
      - Replace entries of the same name that differ (for example after credentials were rotated).
    type: bool
    default: false
  set_current_context:
    description:
      - Make the new context the current context, as az does.
      - With V(false) the current context is only set when the file has none.
    type: bool
    default: true
notes:
  - The user credentials of an Entra ID (AAD) enabled cluster need kubelogin to be used; this module
    writes them as Azure returns them.
seealso:
  - module: azcni.cilium.aks_cilium_cluster
"""

EXAMPLES = r"""
- name: Merge the admin credentials into ~/.kube/config
  azcni.cilium.aks_kubeconfig:
    name: aks-cilium
    resource_group: rg-aks-cilium
    admin: true

- name: Write user credentials to a project kubeconfig under a chosen context name
  azcni.cilium.aks_kubeconfig:
    name: aks-cilium
    resource_group: rg-aks-cilium
    path: "{{ playbook_dir }}/kubeconfig"
    context: cilium-dev
  register: kubeconfig

- name: Use it
  ansible.builtin.command: kubectl --kubeconfig {{ kubeconfig.path }} --context {{ kubeconfig.context }} get nodes
  changed_when: false
"""

RETURN = r"""
path:
  description: The kubeconfig file written (symbolic links resolved).
  returned: always
  type: str
  sample: /home/user/.kube/config
context:
  description: Name of the merged context.
  returned: always
  type: str
  sample: aks-cilium-admin
cluster:
  description: Name of the merged cluster entry.
  returned: always
  type: str
  sample: aks-cilium
user:
  description: Name of the merged user entry (a name, not a credential).
  returned: always
  type: str
  sample: clusterAdmin_rg-aks-cilium_aks-cilium
"""

from ansible_collections.azcni.cilium.plugins.module_utils._aks.credentials import run_kubeconfig
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureModule

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    resource_group=dict(type="str", required=True),
    admin=dict(type="bool", default=False),
    path=dict(type="path", default="~/.kube/config"),
    context=dict(type="str"),
    overwrite_existing=dict(type="bool", default=False),
    set_current_context=dict(type="bool", default=True),
)


def main():
    run_kubeconfig(AzureModule(ARGUMENT_SPEC, supports_check_mode=True))


if __name__ == "__main__":
    main()
