# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Just enough of K8sModule for unit-testing a module runner without Ansible or a cluster."""

from __future__ import annotations

import pytest


class Exited(Exception):
    """exit_json or fail_json ended the run; ``result`` holds what it reported."""

    def __init__(self, failed, result):
        super(Exited, self).__init__(result.get("msg"))
        self.failed = failed
        self.result = dict(result, failed=failed)


class FakeModule(object):
    """Parameters are ``defaults`` updated with ``params``; exit/fail raise Exited."""

    def __init__(self, client, defaults, check_mode=False, diff_mode=False, **params):
        self.client = client
        self.params = dict(defaults, **params)
        self.check_mode = check_mode
        self.diff_mode = diff_mode
        self.warnings = []
        self.result = None

    def warn(self, msg):
        self.warnings.append(msg)

    def exit_json(self, **result):
        self.result = dict(result, failed=False)
        raise Exited(False, result)

    def fail_json(self, **result):
        self.result = dict(result, failed=True)
        raise Exited(True, result)

    def fail_k8s(self, exc, msg, **kwargs):
        self.fail_json(msg="%s: %s" % (msg, exc), **kwargs)


def run(runner, module):
    """Run ``runner(module)`` to its exit; the result dict (with ``failed``)."""
    with pytest.raises(Exited):
        runner(module)
    return module.result
