#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cilium_restart
short_description: Rolling restart of the Cilium agent and operator, like C(kubectl rollout restart) and C(rollout status)
version_added: "1.0.0"
description:
  - Does what C(kubectl rollout restart daemonset/cilium) and C(kubectl rollout restart deployment/cilium-operator)
    do, then waits the way C(kubectl rollout status) does.
  - The restart is a strategic-merge patch setting the pod template annotation C(kubectl.kubernetes.io/restartedAt)
    to the current time (RFC 3339, local time, whole seconds), so the controllers replace every pod by their own
    rolling-update rules (C(maxUnavailable), C(maxSurge)).
  - A paused Deployment is refused with kubectl's reason, C(can't restart paused deployment (run rollout resume first)).
  - Waiting follows the workload with a watch (list, then watch from the server's C(resourceVersion), listing again
    after C(410 Gone) or a dropped connection); it never sleeps on a fixed interval, so it returns as soon as the
    API server reports the rollout complete.
  - A rollout is complete by C(kubectl rollout status)'s rules. Nothing counts before C(status.observedGeneration)
    reaches C(metadata.generation). A DaemonSet needs C(updatedNumberScheduled) and C(numberAvailable) to reach
    C(desiredNumberScheduled), and one without the C(RollingUpdate) strategy is an error. A Deployment fails on
    C(ProgressDeadlineExceeded) and otherwise needs C(updatedReplicas) to reach C(spec.replicas), no old replicas
    left (C(status.replicas) not above C(updatedReplicas)) and C(availableReplicas) to reach C(updatedReplicas).
  - A rollout that does not finish within O(wait_timeout) fails the task, naming the pods that are not ready and why
    (container waiting or terminated reasons, readiness, restarts).
  - A conflict (HTTP 409) on the patch is retried.
author:
  - azcni.cilium contributors (@azcni)
extends_documentation_fragment:
  - azcni.cilium.k8s
  - azcni.cilium.attributes
options:
  targets:
    description:
      - What to restart, in this order; each is waited for (with O(wait)) before the next is restarted.
      - V(agent) is the DaemonSet O(agent_daemonset), V(operator) the Deployment O(operator_deployment).
    type: list
    elements: str
    choices: [agent, operator]
    default: [agent, operator]
  namespace:
    description:
      - Namespace of the Cilium components.
    type: str
    default: kube-system
  agent_daemonset:
    description:
      - Name of the Cilium agent DaemonSet.
    type: str
    default: cilium
  operator_deployment:
    description:
      - Name of the Cilium operator Deployment.
    type: str
    default: cilium-operator
  wait:
    description:
      - Wait for each rollout to complete before restarting the next target and returning.
      - Without it, all targets are restarted at once and the task returns straight away.
    type: bool
    default: true
  wait_timeout:
    description:
      - How long to wait for each target's rollout, in seconds.
    type: int
    default: 300
attributes:
  check_mode:
    details: Nothing is sent; the task reports what would be restarted (and fails for a paused Deployment, as the
      restart would).
  diff_mode:
    details: Shows the C(restartedAt) annotation of each target's pod template before and after.
notes:
  - Restarting the same workload twice within one second fails with kubectl's message, because the annotation
    would not change.
  - On AKS the agent DaemonSet updates two nodes at a time (C(maxUnavailable=2)); allow O(wait_timeout) for the
    number of nodes.
  - Needs C(get), C(list), C(watch) and C(patch) on DaemonSets and Deployments, C(list) on pods (to explain a stall)
    and on ControllerRevisions (for the DaemonSet revision) in O(namespace).
seealso:
  - module: azcni.cilium.cilium_status
  - name: kubectl rollout
    description: The commands whose behaviour this module reproduces.
    link: https://kubernetes.io/docs/reference/kubectl/generated/kubectl_rollout/
"""

EXAMPLES = r"""
- name: Restart the Cilium agents, then the operator, waiting for each
  azcni.cilium.cilium_restart:
    kubeconfig: "{{ kubeconfig_path }}"
  register: restart

- name: How long each took
  ansible.builtin.debug:
    msg: "{{ restart.rollouts | map(attribute='seconds') | list }}"

- name: Restart only the operator, give it 2 minutes
  azcni.cilium.cilium_restart:
    kubeconfig: "{{ kubeconfig_path }}"
    targets: [operator]
    wait_timeout: 120

- name: See what would be restarted
  azcni.cilium.cilium_restart:
    kubeconfig: "{{ kubeconfig_path }}"
  check_mode: true
"""

RETURN = r"""
rollouts:
  description: One entry per target, in the order they were restarted; on failure the failing target is the last.
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: V(agent) or V(operator).
      type: str
      sample: agent
    kind:
      description: C(DaemonSet) or C(Deployment).
      type: str
      sample: DaemonSet
    name:
      description: Name of the workload.
      type: str
      sample: cilium
    namespace:
      description: Its namespace.
      type: str
      sample: kube-system
    restarted:
      description: Whether it was restarted (in check mode, whether it would be).
      type: bool
      sample: true
    restarted_at:
      description: The C(kubectl.kubernetes.io/restartedAt) value set.
      type: str
      sample: "2025-06-01T10:15:00Z"
    previous_restarted_at:
      description: The value before (null if never restarted that way).
      type: str
      sample: null
    old_revision:
      description:
        - The revision before the restart. Deployment, C(deployment.kubernetes.io/revision); DaemonSet, the newest
          ControllerRevision it owns, or its C(deprecated.daemonset.template.generation) annotation.
      type: str
      sample: "1"
    new_revision:
      description: The revision after the restart (null in check mode).
      type: str
      sample: "2"
    seconds:
      description: Seconds from the patch to the end of the rollout (to the patch's answer without O(wait)).
      type: float
      sample: 41.2
    message:
      description: The last C(kubectl rollout status) message, or why it failed.
      type: str
      sample: daemon set "cilium" successfully rolled out
    status:
      description:
        - The status counters at the end. DaemonSet, C(desired), C(current), C(updated), C(ready), C(available),
          C(unavailable), C(misscheduled); Deployment, C(replicas) (spec), C(current), C(updated), C(ready),
          C(available), C(unavailable); both, C(generation) and C(observed_generation).
      type: dict
      sample: {"desired": 3, "current": 3, "updated": 3, "ready": 3, "available": 3, "unavailable": 0,
               "misscheduled": 0, "generation": 2, "observed_generation": 2}
    not_ready:
      description: For a failed wait, the target's pods that are not ready (same as RV(not_ready)).
      type: list
      elements: dict
      returned: when the wait failed
      sample: []
not_ready:
  description: When a rollout did not finish, its pods that are not ready and why.
  returned: on failure of a wait
  type: list
  elements: dict
  contains:
    name:
      description: Pod name.
      type: str
      sample: cilium-x7k2p
    node:
      description: Node it runs on.
      type: str
      sample: aks-nodepool1-12345678-vmss000001
    phase:
      description: C(status.phase).
      type: str
      sample: Running
    ready:
      description: Always false here.
      type: bool
      sample: false
    restarts:
      description: Container restarts.
      type: int
      sample: 4
    reasons:
      description: Why it is not ready.
      type: list
      elements: str
      sample: ["container cilium-agent waiting: CrashLoopBackOff (back-off 1m20s restarting failed container)"]
"""

from ansible_collections.azcni.cilium.plugins.module_utils._cilium.restart import run_restart
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.module import K8sModule

ARGUMENT_SPEC = dict(
    targets=dict(type="list", elements="str", choices=["agent", "operator"], default=["agent", "operator"]),
    namespace=dict(type="str", default="kube-system"),
    agent_daemonset=dict(type="str", default="cilium"),
    operator_deployment=dict(type="str", default="cilium-operator"),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=300),
)


def main():
    run_restart(K8sModule(ARGUMENT_SPEC, supports_check_mode=True))


if __name__ == "__main__":
    main()
