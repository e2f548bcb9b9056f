#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cilium_status
short_description: Report whether Cilium on an AKS cluster is healthy, like C(cilium status --wait)
version_added: "1.0.0"
description:
  - Reads the C(cilium) DaemonSet, the C(cilium-operator) Deployment and their pods, the C(cilium-config)
    ConfigMap and the Cilium API resources the API server serves, and reports them as data, with the
    errors and warnings C(cilium status) would show and a one-line summary.
  - Tells whether the cluster runs AKS-managed Cilium (Azure CNI Powered by Cilium) and whether the
    Advanced Container Networking Services features are on.
  - Makes the same handful of requests whatever the size of the cluster (pods are listed once per workload
    with its label selector, in pages of 500; nothing is requested per node), so it stays fast on
    1,000 nodes.
  - Unlike C(cilium status) it does not exec into the agent pods, so it needs only read access
    (C(get)/C(list)/C(watch) on DaemonSets, Deployments, pods and ConfigMaps in O(namespace)) and does not
    report the agents' internal controllers or endpoint health.
  - A missing operator Deployment is an error here, where C(cilium status) shows it as disabled, because
    without its operator an AKS Cilium cluster allocates no identities.
author:
  - azcni.cilium contributors (@azcni)
extends_documentation_fragment:
  - azcni.cilium.k8s
  - azcni.cilium.attributes.info_module
options:
  namespace:
    description:
      - Namespace of the Cilium components.
    type: str
    default: kube-system
  agent_daemonset:
    description:
      - Name of the Cilium agent DaemonSet. Its pods are found with its own label selector.
    type: str
    default: cilium
  operator_deployment:
    description:
      - Name of the Cilium operator Deployment. Its pods are found with its own label selector.
    type: str
    default: cilium-operator
  config_map:
    description:
      - Name of the Cilium ConfigMap.
    type: str
    default: cilium-config
  wait:
    description:
      - Wait until Cilium is healthy (no errors, and no warnings unless O(ignore_warnings)), at most
        O(wait_timeout) seconds.
      - The report is collected again whenever the API server reports a change to the DaemonSet or the
        Deployment (a watch from the server's own C(resourceVersion)), not on a fixed interval.
      - Like C(cilium status --wait), waiting stops early when an agent container is in C(CrashLoopBackOff).
    type: bool
    default: false
  wait_timeout:
    description:
      - How long O(wait) waits, in seconds.
    type: int
    default: 300
  ignore_warnings:
    description:
      - Count Cilium as healthy when there are warnings but no errors (C(cilium status --ignore-warnings)).
    type: bool
    default: false
  fail_on_unhealthy:
    description:
      - Fail the task when Cilium is not healthy (after waiting, with O(wait)). The report is returned either way.
    type: bool
    default: false
  check_workloads:
    description:
      - Also check the cluster's own workloads against the known limitations of Azure CNI Powered by Cilium that
        apply to the Cilium version it runs, and return them in RV(workload_findings).
      - Reads nodes, NetworkPolicies, CiliumNetworkPolicies, CiliumClusterwideNetworkPolicies, Services, pods and
        CiliumIdentities of all namespaces in pages of 500 (each page dropped once folded in), so it needs
        C(list) on those cluster-wide; off by default to keep the plain status cheap.
      - "The checks: Services or host ports sharing an address:port across TCP/UDP (Cilium 1.16 or earlier),
        hostNetwork pods selected by a policy, C(ipBlock) / CIDR rules covering pod or node addresses, the identity
        count against 65,535 with the label keys that create the most identities, C(internalTrafficPolicy: Local)
        (before 1.13), ingress policy on pods behind a Service (before 1.17), Windows nodes."
    type: bool
    default: false
    version_added: "1.1.0"
notes:
  - "Errors and warnings use C(cilium status)'s wording where it has one, for example
    C(cilium: 1 pods of DaemonSet cilium are not ready)."
  - "The ACNS state (RV(acns)) is read from Cilium's own cilium-config keys: C(enable-hubble) (observability),
    C(enable-l7-proxy) (FQDN policies, through the DNS proxy) with C(external-envoy-proxy) (L7 policies, through the
    C(cilium-envoy) DaemonSet), C(enable-wireguard) (transit encryption) and C(enable-host-legacy-routing=false)
    (eBPF host routing). A feature that is on needs its workload: the C(cilium-envoy) DaemonSet for L7, the
    C(hubble-relay) Deployment for observability, a C(network.cilium.io/wg-pub-key) annotation on every
    CiliumNode for WireGuard; otherwise the report is unhealthy."
  - The cluster is taken to be AKS-managed when the workloads carry the AKS labels
    C(kubernetes.azure.com/ebpf-dataplane=cilium) or C(kubernetes.azure.com/managedby=aks); RV(aks_evidence)
    lists which.
seealso:
  - module: azcni.cilium.cilium_restart
  - name: cilium status (cilium-cli)
    description: The command whose checks this module reproduces.
    link: https://docs.cilium.io/en/stable/network/kubernetes/troubleshooting/
"""

EXAMPLES = r"""
- name: Report Cilium status
  azcni.cilium.cilium_status:
    kubeconfig: "{{ kubeconfig_path }}"
  register: cilium

- name: Show the summary
  ansible.builtin.debug:
    msg: "{{ cilium.summary }}"

- name: Wait up to 5 minutes for Cilium to be healthy, fail otherwise
  azcni.cilium.cilium_status:
    kubeconfig: "{{ kubeconfig_path }}"
    wait: true
    wait_timeout: 300
    fail_on_unhealthy: true

- name: Agents that are not ready, and why
  ansible.builtin.debug:
    msg: "{{ cilium.agent_pods | rejectattr('ready') | map(attribute='reasons') | list }}"
"""

RETURN = r"""
healthy:
  description: No errors, and no warnings unless O(ignore_warnings).
  returned: always
  type: bool
  sample: true
summary:
  description: One line for a human.
  returned: always
  type: str
  sample: "Cilium 1.17.9 OK (0 errors, 0 warnings): DaemonSet cilium 3/3 ready, Deployment cilium-operator 2/2 ready;
    AKS-managed, ACNS observability off, security off"
errors:
  description: "What makes Cilium unhealthy, each as C(<component>[ <pod>]: <message>)."
  returned: always
  type: list
  elements: str
  sample: ["cilium: 1 pods of DaemonSet cilium are not ready",
           "cilium cilium-x7k2p: container cilium-agent is in CrashLoopBackOff, exited with code 1: level=fatal msg=..."]
cilium_warnings:
  description:
    - Lesser problems (a pending pod, pods ready but not yet available), same form as RV(errors).
    - C(cilium status) calls these warnings; the name differs because Ansible reserves C(warnings) in results.
  returned: always
  type: list
  elements: str
  sample: ["cilium cilium-x7k2p: pod is pending"]
version:
  description: The Cilium version, from the tag of the agent image in the DaemonSet's pod template.
  returned: always
  type: str
  sample: "1.17.9"
agent:
  description: The agent DaemonSet.
  returned: always
  type: dict
  contains:
    name:
      description: DaemonSet name.
      type: str
      sample: cilium
    present:
      description: Whether it exists. When false only RV(agent.name), RV(agent.phases) and RV(agent.images) are returned.
      type: bool
      sample: true
    desired:
      description: C(status.desiredNumberScheduled), the nodes that should run an agent.
      type: int
      sample: 3
    current:
      description: C(status.currentNumberScheduled).
      type: int
      sample: 3
    ready:
      description: C(status.numberReady).
      type: int
      sample: 3
    available:
      description: C(status.numberAvailable).
      type: int
      sample: 3
    unavailable:
      description: C(status.numberUnavailable).
      type: int
      sample: 0
    updated:
      description: C(status.updatedNumberScheduled), agents running the current pod template.
      type: int
      sample: 3
    misscheduled:
      description: C(status.numberMisscheduled).
      type: int
      sample: 0
    generation:
      description: C(metadata.generation).
      type: int
      sample: 2
    observed_generation:
      description: C(status.observedGeneration); behind RV(agent.generation) while the controller has not seen a change.
      type: int
      sample: 2
    rollout:
      description: What C(kubectl rollout status) would print.
      type: str
      sample: daemon set "cilium" successfully rolled out
    image:
      description: The agent image of the pod template.
      type: str
      sample: mcr.microsoft.com/oss/cilium/cilium:1.17.9
    version:
      description: The version in that image's tag.
      type: str
      sample: "1.17.9"
    update_strategy:
      description: C(RollingUpdate) or C(OnDelete).
      type: str
      sample: RollingUpdate
    max_unavailable:
      description: C(rollingUpdate.maxUnavailable) (a number or a percentage).
      type: raw
      sample: 2
    max_surge:
      description: C(rollingUpdate.maxSurge).
      type: raw
      sample: 0
    phases:
      description: Number of agent pods per phase.
      type: dict
      sample: {"Running": 3}
    images:
      description: Number of agent pod containers per image, as running (two entries during an upgrade).
      type: dict
      sample: {"mcr.microsoft.com/oss/cilium/cilium:1.17.9": 3}
operator:
  description: The operator Deployment, with the same keys as RV(agent) except the DaemonSet counters.
  returned: always
  type: dict
  contains:
    name:
      description: Deployment name.
      type: str
      sample: cilium-operator
    present:
      description: Whether it exists.
      type: bool
      sample: true
    replicas:
      description: C(spec.replicas).
      type: int
      sample: 2
    current:
      description: C(status.replicas).
      type: int
      sample: 2
    ready:
      description: C(status.readyReplicas).
      type: int
      sample: 2
    available:
      description: C(status.availableReplicas).
      type: int
      sample: 2
    unavailable:
      description: C(status.unavailableReplicas).
      type: int
      sample: 0
    updated:
      description: C(status.updatedReplicas).
      type: int
      sample: 2
    generation:
      description: C(metadata.generation).
      type: int
      sample: 1
    observed_generation:
      description: C(status.observedGeneration).
      type: int
      sample: 1
    conditions:
      description: C(status.conditions) (type, status, reason, message).
      type: list
      elements: dict
      sample: [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "..."}]
    rollout:
      description: What C(kubectl rollout status) would print.
      type: str
      sample: deployment "cilium-operator" successfully rolled out
    image:
      description: The operator image of the pod template.
      type: str
      sample: mcr.microsoft.com/oss/cilium/operator-generic:1.17.9
    version:
      description: The version in that image's tag.
      type: str
      sample: "1.17.9"
    update_strategy:
      description: C(RollingUpdate) or C(Recreate).
      type: str
      sample: RollingUpdate
    max_unavailable:
      description: C(rollingUpdate.maxUnavailable).
      type: raw
      sample: 1
    max_surge:
      description: C(rollingUpdate.maxSurge).
      type: raw
      sample: 1
    phases:
      description: Number of operator pods per phase.
      type: dict
      sample: {"Running": 2}
    images:
      description: Number of operator pod containers per image.
      type: dict
      sample: {"mcr.microsoft.com/oss/cilium/operator-generic:1.17.9": 2}
agent_pods:
  description: Every agent pod, sorted by node.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Pod name.
      type: str
      sample: cilium-x7k2p
    node:
      description: The node it runs on (null while unscheduled).
      type: str
      sample: aks-nodepool1-12345678-vmss000000
    phase:
      description: C(status.phase).
      type: str
      sample: Running
    ready:
      description: The pod's C(Ready) condition.
      type: bool
      sample: true
    restarts:
      description: Container restarts, summed over the pod's containers.
      type: int
      sample: 0
    reasons:
      description: "Why the pod is not ready (empty when it is), for example
        C(container cilium-agent waiting: CrashLoopBackOff (back-off 5m0s ...))."
      type: list
      elements: str
      sample: []
    image:
      description: The agent container's image.
      type: str
      sample: mcr.microsoft.com/oss/cilium/cilium:1.17.9
    version:
      description: The version in that image's tag.
      type: str
      sample: "1.17.9"
operator_pods:
  description: Every operator pod, with the same keys as RV(agent_pods).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "cilium-operator-5d9c8-abcde", "node": "aks-nodepool1-0", "phase": "Running", "ready": true,
            "restarts": 0, "reasons": [], "image": "mcr.microsoft.com/oss/cilium/operator-generic:1.17.9",
            "version": "1.17.9"}]
crds:
  description: The Cilium resources the API server serves (API group C(cilium.io), all versions), sorted.
  returned: always
  type: list
  elements: str
  sample: ["ciliumclusterwidenetworkpolicies.cilium.io", "ciliumendpoints.cilium.io", "ciliumnetworkpolicies.cilium.io"]
config:
  description:
    - The C(cilium-config) settings that matter on AKS (C(ipam), C(routing-mode), C(kube-proxy-replacement),
      C(enable-l7-proxy), C(enable-hubble), C(enable-policy), C(identity-allocation-mode), C(tofqdns-*), ...),
      as the ConfigMap has them (strings).
  returned: always
  type: dict
  sample: {"ipam": "delegated-plugin", "routing-mode": "native", "kube-proxy-replacement": "true",
           "enable-l7-proxy": "false", "enable-hubble": "false"}
aks_managed:
  description: Whether this is AKS-managed Cilium (Azure CNI Powered by Cilium) rather than a bring-your-own install.
  returned: always
  type: bool
  sample: true
aks_evidence:
  description: The labels that show the AKS management.
  returned: always
  type: list
  elements: str
  sample: ["DaemonSet cilium runs only on nodes labelled kubernetes.azure.com/ebpf-dataplane=cilium"]
acns:
  description:
    - Advanced Container Networking Services as the cluster runs them, in M(azcni.cilium.aks_cilium_cluster)'s spelling.
  returned: always
  type: dict
  contains:
    enabled:
      description: Some ACNS feature is on.
      type: bool
      sample: true
    observability:
      description: Hubble is enabled.
      type: bool
      sample: true
    security:
      description: FQDN/L7 policies or transit encryption are on.
      type: bool
      sample: true
    network_policies:
      description: C(none), C(fqdn) or C(l7).
      type: str
      sample: l7
    transit_encryption:
      description: C(none) or C(wireguard).
      type: str
      sample: wireguard
    acceleration:
      description: C(none) or C(bpfveth) (eBPF host routing).
      type: str
      sample: none
envoy:
  description:
    - The C(cilium-envoy) DaemonSet L7 policies need (same fields as RV(agent)); null unless L7 policies are on.
  returned: always
  type: dict
  sample: {name: cilium-envoy, present: true, desired: 3, ready: 3, available: 3, updated: 3}
hubble_relay:
  description: The C(hubble-relay) Deployment (same fields as RV(operator)); null unless observability is on.
  returned: always
  type: dict
  sample: {name: hubble-relay, present: true, replicas: 1, ready: 1, available: 1}
encryption:
  description: Transit encryption coverage.
  returned: always
  type: dict
  contains:
    mode:
      description: C(wireguard) or C(none).
      type: str
    nodes:
      description: CiliumNode objects (0 when WireGuard is off; they are then not read).
      type: int
    nodes_with_key:
      description: CiliumNodes carrying the C(network.cilium.io/wg-pub-key) annotation.
      type: int
    nodes_without_key:
      description: Names of the CiliumNodes without one, with WireGuard on.
      type: list
      elements: str
  sample: {mode: wireguard, nodes: 3, nodes_with_key: 3, nodes_without_key: []}
waited:
  description: Seconds the task spent collecting (and, with O(wait), waiting).
  returned: always
  type: float
  sample: 0.21
workload_findings:
  version_added: "1.1.0"
  description:
    - With O(check_workloads), one entry per affected object for each limitation that applies to the cluster's
      Cilium version (all of them when the version is unknown), errors first. At most 100 per limitation; the
      rest are counted in a last entry whose C(object) is C((N more)).
  returned: when O(check_workloads=true)
  type: list
  elements: dict
  contains:
    id:
      description: The limitation, for example C(service-port-protocols), C(hostnetwork-policy), C(cidr-pod-node),
        C(identity-limit), C(internal-traffic-policy-local), C(service-loopback-policy), C(windows-nodes).
      type: str
      sample: service-port-protocols
    severity:
      description: C(error), C(warning) or C(info). The identity count is C(info) below 50% of the limit,
        C(warning) from 50% and C(error) from 90%.
      type: str
      sample: warning
    object:
      description: The object affected, as C(<Kind> <namespace>/<name>) (C(<Kind> <name>) when cluster-scoped).
      type: str
      sample: Service default/dns-tcp
    message:
      description: What was found, naming the other objects involved, and why it matters.
      type: str
      sample: "20.61.1.10:53 is shared across TCP/UDP by Service default/dns-tcp, Service default/dns-udp: on
        Cilium 1.16.16 only one of them gets the traffic"
    source:
      description: Where the limitation is documented.
      type: str
      sample: "AKS docs, Azure CNI Powered by Cilium, Limitations"
    related:
      description: Other objects involved (the other Services, the hostNetwork pods selected).
      type: list
      elements: str
      returned: for service-port-protocols and hostnetwork-policy
      sample: ["Service default/dns-udp"]
    count:
      description: The number of CiliumIdentities.
      type: int
      returned: for identity-limit
      sample: 412
    top_labels:
      description: The label keys that split identities the most, C({key, values, identities}), where
        C(identities) is how many fewer identities there would be without that key.
      type: list
      elements: dict
      returned: for identity-limit
      sample: [{"key": "spark-app-selector", "values": 400, "identities": 399}]
timed_out:
  description: Whether O(wait) ran out of time before Cilium became healthy.
  returned: always
  type: bool
  sample: false
"""

from ansible_collections.azcni.cilium.plugins.module_utils._cilium.status import run_status
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.module import K8sModule

ARGUMENT_SPEC = dict(
    namespace=dict(type="str", default="kube-system"),
    agent_daemonset=dict(type="str", default="cilium"),
    operator_deployment=dict(type="str", default="cilium-operator"),
    config_map=dict(type="str", default="cilium-config"),
    wait=dict(type="bool", default=False),
    wait_timeout=dict(type="int", default=300),
    ignore_warnings=dict(type="bool", default=False),
    fail_on_unhealthy=dict(type="bool", default=False),
    check_workloads=dict(type="bool", default=False),
)


def main():
    run_status(K8sModule(ARGUMENT_SPEC, supports_check_mode=True))


if __name__ == "__main__":
    main()
