# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small helpers shared by every module: the module base, dependency errors, diff paths, backoff.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import random

from ansible.module_utils.basic import AnsibleModule, missing_required_lib


def require_lib(module, import_error, pip_name, import_traceback=None):
    """Fail with the usual 'missing required lib' message naming the pip package."""
    if import_error is not None:
        module.fail_json(msg=missing_required_lib(pip_name), exception=import_traceback)


def config_flag(value):
    """Whether a ConfigMap string value (e.g. ``cilium-config``'s ``enable-l7-proxy``) says "true"."""
    return str(value).strip().lower() == "true"


def diff_paths(before, after, prefix=""):
    """List the dotted paths at which two JSON-like values differ.

    Dicts are compared key by key, lists index by index, so a change deep in a node pool reads as
    ``agentPoolProfiles[0].count`` rather than as a whole new list.
    """
    if isinstance(before, dict) and isinstance(after, dict):
        paths = []
        for key in sorted(set(before) | set(after), key=str):
            child = "%s.%s" % (prefix, key) if prefix else str(key)
            if key not in before or key not in after:
                paths.append(child)
            else:
                paths.extend(diff_paths(before[key], after[key], child))
        return paths
    if isinstance(before, list) and isinstance(after, list):
        paths = []
        for index in range(max(len(before), len(after))):
            child = "%s[%d]" % (prefix, index)
            if index >= len(before) or index >= len(after):
                paths.append(child)
            else:
                paths.extend(diff_paths(before[index], after[index], child))
        return paths
    return [] if before == after else [prefix]


def backoff_delays(retries, base=0.5, cap=30.0):
    """Yield ``retries`` "full jitter" exponential backoff delays in seconds.

    Jitter keeps parallel forks (AWX slices, bulk applies) from retrying in lock step.
    """
    for attempt in range(retries):
        yield random.uniform(0, min(cap, base * (2 ** attempt)))  # nosec B311 - not for security


class ModuleBase(object):
    """An AnsibleModule with connection options merged in: the base of AzureModule and K8sModule.

    ``connection_args`` are the shared options (Azure or Kubernetes auth); ``requirement`` is
    (import_error, pip_name, traceback) for the SDK the subclass needs.
    """

    def __init__(self, connection_args, argument_spec, requirement, supports_check_mode=True, **kwargs):
        spec = dict(connection_args)
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, supports_check_mode=supports_check_mode, **kwargs)
        require_lib(self.module, *requirement)
        self.params = self.module.params

    @property
    def check_mode(self):
        return self.module.check_mode

    @property
    def diff_mode(self):
        return self.module._diff  # pylint: disable=protected-access

    def _shown(self, result):
        """One diff policy for every module: a result carries ``diff`` only under ``--diff``."""
        if not self.diff_mode:
            result.pop("diff", None)
        return result

    def fail_json(self, **kwargs):
        self.module.fail_json(**self._shown(kwargs))

    def exit_json(self, **kwargs):
        self.module.exit_json(**self._shown(kwargs))

    def warn(self, msg):
        self.module.warn(msg)
