# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Identity label exclusions: the ``labels`` key of cilium-config, the one Cilium setting AKS lets users change.

``plan`` is pure: the value to store and whether the agents still run an older one.
``run_identity_labels`` patches only that key (a JSON merge patch of ``data.labels``, so every other
key stays as it is), then restarts the agent DaemonSet with the restart engine and waits like
``kubectl rollout status``. The agents load the setting when they start: an agent pod created
before the key was last written still runs the old one, so a re-run after an interrupted restart
restarts again, and a re-run after a complete one sends no write.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import re

from ansible_collections.azcni.cilium.plugins.module_utils._k8s.client import K8sApiError
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.readiness import selector_string
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.resources import path
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.rollout import RolloutError, restart

LABELS_KEY = "labels"
FIELD_MANAGER = "azcni.cilium"
REGEX_META = frozenset(".^$*+?()[]{}|\\")
KEY_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


class LabelsError(Exception):
    """Bad input, with a message naming the option."""


def exclusion_pattern(key):
    """``spark-app-name`` -> ``k8s:!spark-app-name``; dots are escaped (patterns are regular expressions)."""
    return "k8s:!" + "".join("\\" + char if char in REGEX_META else char for char in key)


def _check_pattern(pattern):
    source, sep, prefix = pattern.partition(":")
    if not sep:
        source, prefix = "", pattern
    if not prefix.startswith("!") or len(prefix) < 2:
        raise LabelsError("patterns: %r is not an exclusion ([source:]!regexp); AKS supports only label exclusion, "
                          "and an inclusive pattern would drop every other label from the identities" % pattern)
    if source and not re.match(r"^[a-z0-9-]+$", source):
        raise LabelsError("patterns: %r has an invalid label source %r" % (pattern, source))
    try:
        re.compile(prefix[1:])
    except re.error as exc:
        raise LabelsError("patterns: %r is not a valid regular expression: %s" % (pattern, exc))


def desired_value(exclude, patterns):
    """The ``labels`` value (space separated patterns, in the order given, without repeats); None for none."""
    items = []
    for key in exclude or []:
        if not isinstance(key, str) or not KEY_RE.match(key) or len(key) > 317:
            raise LabelsError("exclude: %r is not a Kubernetes label key" % (key,))
        items.append(exclusion_pattern(key))
    for pattern in patterns or []:
        if not isinstance(pattern, str) or not pattern or any(c.isspace() for c in pattern):
            raise LabelsError("patterns: %r must be one pattern without spaces" % (pattern,))
        _check_pattern(pattern)
        items.append(pattern)
    unique = []
    for item in items:
        if item not in unique:
            unique.append(item)
    return " ".join(unique) or None


def last_written(config_map, key=LABELS_KEY):
    """RFC 3339 time of the last write that set ``data.<key>`` (from managedFields), or None."""
    latest = None
    for entry in (config_map.get("metadata") or {}).get("managedFields") or []:
        fields = ((entry.get("fieldsV1") or {}).get("f:data") or {})
        if "f:" + key in fields and entry.get("time") and (latest is None or entry["time"] > latest):
            latest = entry["time"]
    return latest


def stale_agents(pods, written_at):
    """Agent pods created before the setting was written (they still run the old value)."""
    if not written_at:
        return []
    return sorted(p["metadata"]["name"] for p in pods
                  if (p.get("metadata") or {}).get("creationTimestamp", "") < written_at
                  and not p["metadata"].get("deletionTimestamp"))


def plan(current, wanted, pods, written_at):
    """(write, restart, stale pod names): write the key when it differs; restart when written or pods are stale."""
    write = current != wanted
    stale = [] if write else stale_agents(pods, written_at)
    return write, write or bool(stale), stale


def run_identity_labels(module):
    """The cilium_identity_labels module: write the key when it differs, restart stale agents, exit or fail."""
    params = module.params
    try:
        wanted = desired_value(params["exclude"], params["patterns"])
    except LabelsError as exc:
        module.fail_json(msg=str(exc))
    result = dict(changed=False, labels=None, previous_labels=None, written=False, stale_agents=[], rollout=None)
    try:
        _converge(module, wanted, result)
    except RolloutError as exc:
        rollout = getattr(exc, "result", None)
        result.update(rollout=rollout, changed=result["changed"] or bool(rollout and rollout.get("restarted")))
        module.fail_json(msg='daemonsets.apps "%s": %s' % (params["agent_daemonset"], exc.message), **result)
    except K8sApiError as exc:
        module.fail_k8s(exc, "Could not set the identity label exclusions in %s/%s"
                        % (params["namespace"], params["config_map"]), **result)
    module.exit_json(**result)


def _converge(module, wanted, result):
    params, client = module.params, module.client
    namespace, name = params["namespace"], params["config_map"]
    config_map = client.get(path("ConfigMap", namespace, name))
    if config_map is None:
        module.fail_json(msg='configmaps "%s" not found in namespace %s: is this an AKS cluster with Azure CNI Powered '
                             'by Cilium?' % (name, namespace), **result)
    daemonset = client.get(path("DaemonSet", namespace, params["agent_daemonset"]))
    if daemonset is None:
        module.fail_json(msg='daemonsets.apps "%s" not found in namespace %s' % (params["agent_daemonset"], namespace),
                         **result)
    current = (config_map.get("data") or {}).get(LABELS_KEY)
    # clearing keeps the key (empty): its managedFields time is what tells a later run the agents are stale
    value = "" if wanted is None and current is not None else wanted
    selector = selector_string((daemonset.get("spec") or {}).get("selector"))
    pods = client.list(path("Pod", namespace), label_selector=selector)[0] if selector else []
    write, restart_needed, stale = plan(current, value, pods, last_written(config_map))
    result.update(labels=value, previous_labels=current, written=write, stale_agents=stale)
    if module.diff_mode:
        header = "ConfigMap %s/%s" % (namespace, name)
        result["diff"] = dict(before={LABELS_KEY: current}, after={LABELS_KEY: value}, before_header=header,
                              after_header=header)
    if write:
        if not module.check_mode:
            client.patch(path("ConfigMap", namespace, name), {"data": {LABELS_KEY: value}}, patch_type="merge",
                         field_manager=FIELD_MANAGER)
        result["changed"] = True
    if restart_needed and params["restart"]:
        result["rollout"] = restart(client, "DaemonSet", namespace, params["agent_daemonset"], wait=params["wait"],
                                    timeout=params["wait_timeout"], check_mode=module.check_mode,
                                    field_manager=FIELD_MANAGER)
        result["changed"] = True
