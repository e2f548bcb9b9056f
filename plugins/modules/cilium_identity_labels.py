#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cilium_identity_labels
short_description: Exclude labels from Cilium identities (the C(labels) key of cilium-config), then restart the agents
version_added: "1.1.0"
description:
  - Sets the C(labels) key of the C(cilium-config) ConfigMap, the one Cilium setting AKS lets users change
    ("label exclusion"), so that high-churn labels such as Spark's C(spark-app-selector) stop creating a new
    Cilium identity each (a cluster has at most 65,535).
  - Only that key is written (a JSON merge patch of C(data.labels)), so every other key, and anyone else's change
    to them at the same time, stays as it is.
  - The agents read the setting when they start, so the agent DaemonSet is then restarted like
    C(kubectl rollout restart daemonset/cilium) and waited for like C(kubectl rollout status) (the same engine as
    M(azcni.cilium.cilium_restart)).
  - Idempotent. When the key already has the wanted value, nothing is written; the agents are restarted only if one
    of them started before the key was last written (an earlier run was interrupted before its restart finished).
  - Existing endpoints keep their identities; pods get identities without the excluded labels when they are
    recreated. The operator then garbage-collects the identities no endpoint uses.
  - See RV(azcni.cilium.cilium_status#module:workload_findings) (with O(azcni.cilium.cilium_status#module:check_workloads))
    for the identity count and the label keys that create the most identities.
author:
  - azcni.cilium contributors (@azcni)
extends_documentation_fragment:
  - azcni.cilium.k8s
  - azcni.cilium.attributes
options:
  exclude:
    description:
      - Label keys to exclude from identities, for example V(spark-app-selector). Each becomes the pattern
        C(k8s:!<key>), with the dots escaped.
      - A pattern matches a key by prefix (Cilium's patterns are regular expressions anchored at the start), so
        V(spark-app) also excludes C(spark-app-name).
    type: list
    elements: str
    default: []
  patterns:
    description:
      - Further exclusion patterns, verbatim, as Cilium spells them, C([source:]!regexp), for example
        V(k8s:!controller-uid).
      - Inclusive patterns (without C(!)) are refused, since AKS supports only label exclusion and an inclusive
        pattern makes Cilium ignore every other label.
    type: list
    elements: str
    default: []
  namespace:
    description:
      - Namespace of the Cilium components.
    type: str
    default: kube-system
  config_map:
    description:
      - Name of the Cilium ConfigMap.
    type: str
    default: cilium-config
  agent_daemonset:
    description:
      - Name of the Cilium agent DaemonSet restarted after a change.
    type: str
    default: cilium
  restart:
    description:
      - Restart the agents after a change (or when one still runs an older setting).
      - With V(false) the setting takes effect only when the agents restart for another reason.
    type: bool
    default: true
  wait:
    description:
      - Wait for the agents' rollout to complete.
    type: bool
    default: true
  wait_timeout:
    description:
      - How long to wait for the rollout, in seconds.
    type: int
    default: 600
attributes:
  check_mode:
    details: Nothing is sent; the task reports the value it would write and whether it would restart the agents.
  diff_mode:
    details: Shows the C(labels) key before and after, and the agents that would be restarted.
notes:
  - With O(exclude) and O(patterns) both empty, the key is set to an empty value (Cilium's default label rules);
    the key itself is kept so that an interrupted restart is still detected on the next run.
  - On AKS the agent DaemonSet updates two nodes at a time; allow O(wait_timeout) for the number of nodes.
"""

EXAMPLES = r"""
- name: Keep Spark's per-application labels out of Cilium identities (the AKS docs' example)
  azcni.cilium.cilium_identity_labels:
    kubeconfig: ~/.kube/config
    exclude:
      - spark-app-name
      - spark-app-selector

- name: Exclude Job controller labels as a raw pattern, without restarting now
  azcni.cilium.cilium_identity_labels:
    patterns:
      - k8s:!job-name
    restart: false
"""

RETURN = r"""
labels:
  description: The C(labels) value after the task (what it would be in check mode).
  returned: always
  type: str
  sample: k8s:!spark-app-name k8s:!spark-app-selector
previous_labels:
  description: The C(labels) value before the task (null when the key was absent).
  returned: always
  type: str
  sample: null
written:
  description: Whether the ConfigMap was (or in check mode would be) written.
  returned: always
  type: bool
  sample: true
stale_agents:
  description: Agent pods that started before the key was last written (they run an older setting).
  returned: always
  type: list
  elements: str
  sample: []
rollout:
  description:
    - The restart of the agent DaemonSet, as M(azcni.cilium.cilium_restart) reports one entry of RV(azcni.cilium.cilium_restart#module:rollouts)
      (C(kind), C(name), C(restarted), C(restarted_at), C(seconds), C(message), C(status), ...); null when no restart was needed.
  returned: always
  type: dict
  sample: {"kind": "DaemonSet", "name": "cilium", "restarted": true, "seconds": 41.2,
           "message": "daemon set \"cilium\" successfully rolled out"}
"""

from ansible_collections.azcni.cilium.plugins.module_utils._cilium.identity_labels import run_identity_labels
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.module import K8sModule

ARGUMENT_SPEC = dict(
    exclude=dict(type="list", elements="str", default=[]),
    patterns=dict(type="list", elements="str", default=[]),
    namespace=dict(type="str", default="kube-system"),
    config_map=dict(type="str", default="cilium-config"),
    agent_daemonset=dict(type="str", default="cilium"),
    restart=dict(type="bool", default=True),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=600),
)


def main():
    run_identity_labels(K8sModule(ARGUMENT_SPEC, supports_check_mode=True))


if __name__ == "__main__":
    main()
