# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cilium_restart module: the agent DaemonSet and the operator Deployment, restarted one after the
other and each waited for like ``kubectl rollout status``.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import re

from ansible_collections.azcni.cilium.plugins.module_utils._k8s.client import K8sApiError
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.module import common_problems
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.resources import KINDS, path
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.rollout import RESTARTED_AT, RolloutError, restart

# --- the cilium_restart module ------------------------------------------------------------------
TARGETS = dict(agent=("DaemonSet", "agent_daemonset"), operator=("Deployment", "operator_deployment"))
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def input_problems(params):
    """Every option problem, before anything is read or sent."""
    problems = common_problems(params)
    for target in params["targets"]:
        option = TARGETS[target][1]
        if not DNS_SUBDOMAIN.match(params[option] or ""):
            problems.append("%s %r is not a valid object name (RFC 1123 subdomain)" % (option, params[option]))
    return problems


def target_problems(client, params, targets):
    """Every target must exist (and a Deployment must not be paused) before the first restart is sent."""
    namespace = params["namespace"]
    if client.get(path("Namespace", None, namespace)) is None:
        return ["namespace %s does not exist" % namespace]
    problems = []
    for target in targets:
        kind, option = TARGETS[target]
        obj = client.get(path(kind, namespace, params[option]))
        if obj is None:
            found = '%s.apps "%s"' % (KINDS[kind].plural, params[option])
            problems.append("%s: %s not found in namespace %s" % (option, found, namespace))
        elif kind == "Deployment" and (obj.get("spec") or {}).get("paused"):
            problems.append('%s: deployments.apps "%s" can\'t restart paused deployment (run rollout resume first)'
                            % (option, params[option]))
    return problems


def run_restart(module):
    """Restart the targets one after the other, each waited for before the next; exit or fail."""
    params = module.params
    rollouts, before, after = [], {}, {}

    def finish(failure=None, **extra):
        changed = any(entry["restarted"] for entry in rollouts)
        result = dict(changed=changed, rollouts=rollouts, **extra)
        if module.diff_mode:
            result["diff"] = dict(before=before, after=after)
        if failure:
            module.fail_json(msg=failure, **result)
        module.exit_json(**result)

    targets = []
    for target in params["targets"]:
        if target not in targets:
            targets.append(target)
    problems = input_problems(params)
    if not problems:
        try:
            problems = target_problems(module.client, params, targets)
        except K8sApiError as exc:
            return finish("Could not read the restart targets in namespace %s; nothing was restarted: %s"
                          % (params["namespace"], exc))
    if problems:
        return finish("Nothing was restarted: " + "; ".join(problems), problems=problems)
    for target in targets:
        kind, option = TARGETS[target]
        name = params[option]
        try:
            entry = restart(module.client, kind, params["namespace"], name, wait=params["wait"],
                            timeout=params["wait_timeout"], check_mode=module.check_mode)
        except RolloutError as exc:
            if getattr(exc, "result", None):
                rollouts.append(dict(exc.result, target=target))
            named = '"%s"' % name in exc.message  # else name it the way kubectl does: daemonsets.apps "cilium" ...
            message = exc.message if named else '%s.apps "%s" %s' % (KINDS[kind].plural, name, exc.message)
            return finish(message, not_ready=exc.not_ready)
        except K8sApiError as exc:
            return finish("Could not restart %s.apps/%s in namespace %s: %s"
                          % (KINDS[kind].plural, name, params["namespace"], exc))
        rollouts.append(dict(entry, target=target))
        before["%s/%s" % (kind, name)] = {RESTARTED_AT: entry["previous_restarted_at"]}
        after["%s/%s" % (kind, name)] = {RESTARTED_AT: entry["restarted_at"]}
    return finish()
