# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``cilium_policy`` would do: the objects it applies, how they compare with the live ones, the plan.

Pure (no requests); the engine in ``_cilium.policy`` reads the cluster and runs the plan.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import copy
import hashlib
import json

from ansible_collections.azcni.cilium.plugins.module_utils._cilium import lint
from ansible_collections.azcni.cilium.plugins.module_utils._cilium.policy_input import SERVER_METADATA, Policy
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.resources import namespaced

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "azcni.cilium"
SET_LABEL = "azcni.cilium/policy-set"
HASH_ANNOTATION = "azcni.cilium/applied-hash"
# More namespaces than this and one cluster-wide LIST is cheaper than one LIST per namespace.
MAX_NAMESPACE_LISTS = 8


# --- desired state and comparison ----------------------------------------------------------------


def content_hash(body):
    """Stable hash of what we apply; stored on the object so removed fields are noticed."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def desired_object(policy, policy_set):
    """The object to server-side apply: the input plus our ownership labels and content hash."""
    body = copy.deepcopy(policy.body)
    metadata = body["metadata"]
    metadata["labels"] = dict(metadata.get("labels") or {}, **{MANAGED_BY_LABEL: MANAGED_BY, SET_LABEL: policy_set})
    annotations = {k: v for k, v in (metadata.pop("annotations", None) or {}).items() if k != HASH_ANNOTATION}
    if annotations:
        metadata["annotations"] = annotations
    digest = content_hash(body)
    metadata["annotations"] = dict(annotations, **{HASH_ANNOTATION: digest})
    return body


def contains(live, desired):
    """True when ``live`` holds every value of ``desired`` (dicts by key; lists must match in length).

    Extra keys in ``live`` are fine: server defaults (e.g. ICMP ``family``), status, and fields other
    managers own. Lists are compared element by element because CNP lists are atomic. An empty dict
    only matches an empty dict: ``{}`` is a selector that means "everything".
    """
    if isinstance(desired, dict):
        if not desired:
            return live == {}
        return isinstance(live, dict) and all(k in live and contains(live[k], v) for k, v in desired.items())
    if isinstance(desired, list):
        return (isinstance(live, list) and len(live) == len(desired)
                and all(contains(a, b) for a, b in zip(live, desired)))
    return live == desired


def is_ours(obj, policy_set):
    """Whether a live object was applied by this module for ``policy_set``."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY_LABEL) == MANAGED_BY and labels.get(SET_LABEL) == policy_set


def clean(obj):
    """An object without server bookkeeping: what a diff should show."""
    if not obj:
        return {}
    result = {key: value for key, value in obj.items() if key != "status"}
    metadata = {key: value for key, value in (obj.get("metadata") or {}).items() if key not in SERVER_METADATA}
    result["metadata"] = metadata
    return result


def policy_from_live(obj):
    metadata = obj.get("metadata") or {}
    kind = obj.get("kind")
    return Policy(kind, metadata.get("namespace") if namespaced(kind) else None, metadata.get("name"), obj)


# --- planning ------------------------------------------------------------------------------------


def list_scopes(policies, prune):
    """The collections to LIST: (kind, namespace or None for all namespaces / cluster scope).

    Prune needs every object of the set, wherever it is: one cluster-wide LIST per kind. Otherwise a
    LIST per namespace that has policies, or one cluster-wide LIST when there are many namespaces.
    """
    if prune:
        return [(lint.CNP, None), (lint.CCNP, None), (lint.CNL, None)]
    scopes = []
    namespaces = sorted({p.namespace for p in policies if p.kind == lint.CNP})
    if len(namespaces) > MAX_NAMESPACE_LISTS:
        scopes.append((lint.CNP, None))
    else:
        scopes.extend((lint.CNP, namespace) for namespace in namespaces)
    for kind in (lint.CCNP, lint.CNL):
        if any(p.kind == kind for p in policies):
            scopes.append((kind, None))
    return scopes


class Action(object):
    """What to do with one policy: op is apply, delete or none; outcome is the expected result."""

    __slots__ = ("op", "outcome", "policy", "desired", "live")

    def __init__(self, op, outcome, policy, desired=None, live=None):
        self.op = op
        self.outcome = outcome
        self.policy = policy
        self.desired = desired
        self.live = live


def plan(policies, live_objects, state, policy_set, prune):
    """Actions for every input policy (in input order), then the prune deletions (sorted)."""
    live = {}
    for obj in live_objects:
        policy = policy_from_live(obj)
        live[policy.key] = obj
    actions = []
    for policy in policies:
        current = live.get(policy.key)
        if state == "absent":
            actions.append(Action("delete", "deleted", policy, live=current) if current
                           else Action("none", "unchanged", policy))
            continue
        desired = desired_object(policy, policy_set)
        if current is None:
            actions.append(Action("apply", "created", policy, desired))
        elif contains(current, desired):
            actions.append(Action("none", "unchanged", policy, desired, current))
        else:
            actions.append(Action("apply", "updated", policy, desired, current))
    if prune and state == "present":
        wanted = {p.key for p in policies}
        stale = [live[key] for key in sorted(live) if key not in wanted and is_ours(live[key], policy_set)]
        actions.extend(Action("delete", "deleted", policy_from_live(obj), live=obj) for obj in stale)
    return actions
