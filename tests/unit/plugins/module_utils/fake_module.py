# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Just enough of K8sModule for unit-testing a module runner without Ansible or a cluster."""

from __future__ import annotations

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._k8s.module import K8sModule


class Exited(Exception):
    """exit_json or fail_json ended the run; ``result`` holds what it reported."""

    def __init__(self, failed, result):
        super(Exited, self).__init__(result.get("msg"))
        self.failed = failed
        self.result = dict(result, failed=failed)


class _AnsibleModuleStub(object):
    """The part of AnsibleModule that ModuleBase uses; exit/fail raise Exited."""

    def __init__(self, check_mode, diff_mode):
        self.check_mode = check_mode
        self._diff = diff_mode
        self.warnings = []
        self.result = None

    def warn(self, msg):
        self.warnings.append(msg)

    def run_command(self, args, environ_update=None):  # what the kubeconfig's exec plugins would use
        raise AssertionError("no command may run in this test: %s" % (args,))

    def exit_json(self, **result):
        self.result = dict(result, failed=False)
        raise Exited(False, result)

    def fail_json(self, **result):
        self.result = dict(result, failed=True)
        raise Exited(True, result)


class FakeModule(K8sModule):
    """The real K8sModule (its fail_k8s, its diff policy) on a stub AnsibleModule and a given client.

    Parameters are ``defaults`` updated with ``params``.
    """

    def __init__(self, client, defaults, check_mode=False, diff_mode=False, **params):  # pylint: disable=super-init-not-called
        self.module = _AnsibleModuleStub(check_mode, diff_mode)
        self.params = dict(defaults, **params)
        self._client = client

    @property
    def warnings(self):
        return self.module.warnings

    @property
    def result(self):
        return self.module.result


def run(runner, module):
    """Run ``runner(module)`` to its exit; the result dict (with ``failed``)."""
    with pytest.raises(Exited):
        runner(module)
    return module.result
