#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cilium_policy
short_description: Apply, prune and lint CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies
version_added: "1.0.0"
description:
  - Manages C(CiliumNetworkPolicy) (namespaced) and C(CiliumClusterwideNetworkPolicy) (cluster-wide) objects of
    C(cilium.io/v2) on an AKS cluster with Azure CNI Powered by Cilium, from inline definitions or YAML files.
  - Before anything is sent, every policy is linted for what AKS does not enforce (L7 and FQDN rules without
    Advanced Container Networking Services security, L7 in a cluster-wide policy) and for what the Cilium agent
    rejects although the API server accepts it (exclusive L3 peer fields, C(icmps) with C(toPorts), DNS rules
    on ingress or off port 53, C(nodeSelector) in a namespaced policy, rules without a direction, empty policies).
  - Reads one LIST per kind and namespace and writes only the policies that differ, with server-side apply under
    its own field manager and C(fieldValidation=Strict), so a typo fails instead of being dropped. Applying an
    unchanged set sends no write request.
  - Many policies are applied in parallel (O(concurrency)); every policy gets an outcome.
  - Also applies C(ContainerNetworkLog) objects (C(acn.azure.com/v1alpha1), cluster-wide), which say what ACNS
    container network (flow) logs capture, with the same server-side apply, prune and diff. They need container
    network logs on (M(azcni.cilium.aks_cilium_cluster) O(azcni.cilium.aks_cilium_cluster#module:container_network_logs));
    without the CRD the task fails before any write.
author:
  - azcni.cilium contributors (@azcni)
extends_documentation_fragment:
  - azcni.cilium.k8s
  - azcni.cilium.attributes
options:
  definition:
    description:
      - One policy (a dictionary), a list of policies, or YAML text (several documents allowed).
      - Only C(CiliumNetworkPolicy) and C(CiliumClusterwideNetworkPolicy) of C(apiVersion cilium.io/v2) and
        C(ContainerNetworkLog) of C(apiVersion acn.azure.com/v1alpha1) are accepted; anything else fails the task
        before any request is sent.
      - Mutually exclusive with O(src).
    type: raw
  src:
    description:
      - A YAML file (several documents allowed, C(kind List) is unwrapped) or a directory.
      - For a directory, its C(*.yml) and C(*.yaml) files are read in name order; subdirectories are not read
        (like C(kubectl apply -f DIR)).
      - Mutually exclusive with O(definition).
    type: path
  namespace:
    description:
      - Namespace for C(CiliumNetworkPolicy) objects that do not set C(metadata.namespace).
      - A C(CiliumNetworkPolicy) with neither fails the task. Cluster-wide policies must not have a namespace.
    type: str
  state:
    description:
      - V(present) creates or updates the policies; V(absent) deletes them (those not found are unchanged).
    type: str
    choices: [present, absent]
    default: present
  prune:
    description:
      - With O(state=present), also delete the policies this module applied earlier for the same O(policy_set)
        that are not in the input.
      - Only objects carrying both the C(app.kubernetes.io/managed-by=azcni.cilium) label and the
        C(azcni.cilium/policy-set) label of this O(policy_set) are ever pruned; policies created any other way
        are never touched.
      - With an empty input (O(definition=[])) it removes the whole policy set.
      - Needs permission to list both kinds in all namespaces.
    type: bool
    default: false
  policy_set:
    description:
      - Name of the set the applied policies belong to, stored in the C(azcni.cilium/policy-set) label.
      - Give different sets different names so that pruning one never deletes the other's policies.
      - Must be a valid label value.
    type: str
    default: default
  field_manager:
    description:
      - Field manager name used for server-side apply.
    type: str
    default: azcni.cilium
  force_conflicts:
    description:
      - Take over fields that another field manager owns (for example a policy first created with
        C(kubectl create) or C(kubectl edit)). Without it such a policy fails with a conflict.
    type: bool
    default: false
  concurrency:
    description:
      - How many write requests run at the same time.
    type: int
    default: 8
  lint:
    description:
      - V(error) fails the task, before anything is sent, when a finding of severity C(error) is found.
      - V(warn) reports every finding as a warning and applies anyway. V(off) skips the lint.
      - Findings are returned in RV(lint) in every mode except V(off).
    type: str
    choices: [error, warn, "off"]
    default: error
  acns_security:
    description:
      - Which Advanced Container Networking Services policy mode the cluster enforces, for the lint.
      - V(auto) takes it from the cluster (C(kube-system/cilium-config), read only when some policy uses L7, FQDN
        or node peers, or a C(ContainerNetworkLog) is given); C(enable-l7-proxy=true) means FQDN policies (the DNS
        proxy), with C(external-envoy-proxy=true) also L7 policies (the C(cilium-envoy) DaemonSet), as
        M(azcni.cilium.cilium_status) reports them. When the ConfigMap cannot be read, the lint assumes neither.
      - An explicit value overrides what the cluster says.
      - V(none) means neither, V(fqdn) FQDN filtering only (C(--acns-advanced-networkpolicies FQDN)),
        V(l7) L7 and FQDN (C(--acns-advanced-networkpolicies L7)).
    type: str
    choices: [auto, none, fqdn, l7]
    default: auto
attributes:
  check_mode:
    details:
      - Creates and updates are sent as server-side dry runs (C(dryRun=All)), so the API server validates them
        and nothing is stored; deletions are predicted from the list.
notes:
  - An object counts as unchanged when the server already holds every value this module would apply, including
    the hash of the applied content kept in the C(azcni.cilium/applied-hash) annotation. Removing a field from
    the input therefore updates the policy, and fields other managers added are left alone.
  - Applies run before prune deletions, so replacement rules are in place before old ones are removed.
  - Lint checks (finding C(check) ids) are C(empty-policy), C(selector), C(node-selector-in-cnp), C(no-direction),
    C(l3-exclusive), C(to-services-with-to-ports), C(icmps-with-to-ports), C(node-selector-labels),
    C(requires-removed) (warning), C(l7-multiple-types), C(l7-without-proto), C(dns-on-ingress), C(dns-port),
    C(l7-not-tcp), C(l7-in-host-policy), C(l7-in-ccnp), C(l7-needs-acns), C(fqdn-needs-acns),
    C(dns-allow-localdns), C(cidr-selects-cluster) (warning) and, for C(ContainerNetworkLog) objects,
    C(flow-log-dns-needs-fqdn) (warning).
  - C(dns-allow-localdns) applies when a node carries C(kubernetes.azure.com/localdns-state=enabled) (LocalDNS, on by
    default in AKS Automatic); a policy allowing DNS to kube-dns must also allow port 53 to the C(host) entity
    (Cilium 1.17 and later, read from the agent's image) or to C(169.254.10.0/24) (Cilium 1.16).
    C(cidr-selects-cluster) flags CIDR rules covering a node's pod range or address, which on AKS select nothing.
    These read the nodes and the agent DaemonSet, only when some policy has a DNS allow rule or a CIDR rule.
seealso:
  - name: Azure CNI Powered by Cilium
    description: What AKS supports, with and without Advanced Container Networking Services.
    link: https://learn.microsoft.com/azure/aks/azure-cni-powered-by-cilium
  - name: Cilium policy language
    description: The CiliumNetworkPolicy rule reference.
    link: https://docs.cilium.io/en/stable/security/policy/language/
"""

EXAMPLES = r"""
- name: Apply every policy in a directory and remove the ones deleted from it
  azcni.cilium.cilium_policy:
    kubeconfig: "{{ kubeconfig_path }}"
    src: "{{ playbook_dir }}/files/policies"
    policy_set: baseline
    prune: true
  register: applied

- name: Show what happened
  ansible.builtin.debug:
    msg: "{{ applied.counts }}"

- name: Allow DNS to kube-dns from one namespace
  azcni.cilium.cilium_policy:
    kubeconfig: "{{ kubeconfig_path }}"
    namespace: shop
    definition:
      apiVersion: cilium.io/v2
      kind: CiliumNetworkPolicy
      metadata:
        name: allow-dns
      spec:
        endpointSelector: {}
        egress:
          - toEndpoints:
              - matchLabels:
                  k8s:io.kubernetes.pod.namespace: kube-system
                  k8s-app: kube-dns
            toPorts:
              - ports:
                  - port: "53"
                    protocol: ANY

- name: Apply an L7 policy on a cluster known to have ACNS L7 policies enabled
  azcni.cilium.cilium_policy:
    kubeconfig: "{{ kubeconfig_path }}"
    src: policies/l7/api-get-only.yaml
    acns_security: l7

- name: Remove a whole policy set
  azcni.cilium.cilium_policy:
    kubeconfig: "{{ kubeconfig_path }}"
    definition: []
    policy_set: canary
    prune: true

- name: Delete two policies
  azcni.cilium.cilium_policy:
    kubeconfig: "{{ kubeconfig_path }}"
    state: absent
    definition:
      - {apiVersion: cilium.io/v2, kind: CiliumNetworkPolicy, metadata: {name: allow-dns, namespace: shop}}
      - {apiVersion: cilium.io/v2, kind: CiliumClusterwideNetworkPolicy, metadata: {name: lockdown}}
"""

RETURN = r"""
policies:
  description: One entry per input policy (in input order), then one per pruned policy.
  returned: when the policies were listed
  type: list
  elements: dict
  contains:
    kind:
      description: C(CiliumNetworkPolicy) or C(CiliumClusterwideNetworkPolicy).
      type: str
      sample: CiliumNetworkPolicy
    namespace:
      description: Namespace, null for a cluster-wide policy.
      type: str
      sample: shop
    name:
      description: Policy name.
      type: str
      sample: allow-dns
    outcome:
      description:
        - V(created), V(updated), V(unchanged), V(deleted) or V(failed).
        - In check mode, what would have happened.
      type: str
      sample: created
    source:
      description: Where the policy came from (file and document index, or C(definition[i])); not set for pruned ones.
      type: str
      sample: files/policies/allow-dns.yaml#1
    changed_paths:
      description: For V(updated), the paths that changed.
      type: list
      elements: str
      returned: when outcome is updated
      sample: ["spec.egress[0].toPorts[0].ports[0].port"]
    error:
      description: The API server's message for a V(failed) policy.
      type: str
      returned: when outcome is failed
      sample: "conflict with \"kubectl-create\" ... (HTTP 409 Conflict)"
counts:
  description: How many policies had each outcome.
  returned: when the policies were listed
  type: dict
  sample: {created: 2, updated: 1, unchanged: 997, deleted: 1, failed: 0}
lint:
  description: Every lint finding, errors and warnings.
  returned: always, empty when O(lint=off) or O(state=absent)
  type: list
  elements: dict
  contains:
    policy:
      description: C(Kind/namespace/name), or C(Kind/name) for a cluster-wide policy.
      type: str
      sample: CiliumNetworkPolicy/shop/api-l7
    kind:
      description: Kind of the policy.
      type: str
    namespace:
      description: Namespace of the policy, null for a cluster-wide policy.
      type: str
    name:
      description: Name of the policy.
      type: str
    path:
      description: JSON path of the offending part inside the policy.
      type: str
      sample: specs[1].egress[0].toPorts[0].rules.http
    check:
      description: Id of the check (see the notes).
      type: str
      sample: l7-needs-acns
    severity:
      description: V(error) or V(warning).
      type: str
      sample: error
    message:
      description: What is wrong, for a human.
      type: str
      sample: AKS enforces L7 rules (http, kafka, l7proto) only with ACNS security (L7)
acns:
  description: What the lint assumed the cluster enforces, and where that came from.
  returned: when O(state=present) and O(lint) is not V(off)
  type: dict
  contains:
    network_policies:
      description: The ACNS policy mode, C(none), C(fqdn) or C(l7).
      type: str
    l7:
      description: L7 policies are enforced.
      type: bool
    fqdn:
      description: FQDN policies are enforced.
      type: bool
    node_selector_labels:
      description: C(fromNodes)/C(toNodes) are usable.
      type: bool
    localdns:
      description: Some node runs LocalDNS (false when the nodes were not read).
      type: bool
    cilium_version:
      description: The agent's Cilium version (major.minor), when the nodes and agent were read.
      type: str
    source:
      description: V(parameter), V(cluster), V(default) (ConfigMap missing) or V(not needed).
      type: str
  sample: {network_policies: l7, l7: true, fqdn: true, node_selector_labels: false, localdns: false,
           cilium_version: "1.17", source: cluster}
errors:
  description: Every problem found in the input when it could not be loaded (nothing was sent).
  returned: on input errors
  type: list
  elements: str
  sample: ["definition[2]: only CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy ..."]
"""

from ansible_collections.azcni.cilium.plugins.module_utils._cilium.policy import run_policy
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.module import K8sModule

ARGUMENT_SPEC = dict(
    definition=dict(type="raw"),
    src=dict(type="path"),
    namespace=dict(type="str"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    prune=dict(type="bool", default=False),
    policy_set=dict(type="str", default="default"),
    field_manager=dict(type="str", default="azcni.cilium"),
    force_conflicts=dict(type="bool", default=False),
    concurrency=dict(type="int", default=8),
    lint=dict(type="str", choices=["error", "warn", "off"], default="error"),
    acns_security=dict(type="str", choices=["auto", "none", "fqdn", "l7"], default="auto"),
)


def main():
    run_policy(K8sModule(ARGUMENT_SPEC, supports_check_mode=True, mutually_exclusive=[("definition", "src")]))


if __name__ == "__main__":
    main()
