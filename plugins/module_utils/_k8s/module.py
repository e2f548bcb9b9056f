# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""K8sModule: an AnsibleModule with kubernetes.core's connection options and one lazily built client.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import re
import time

from ansible_collections.azcni.cilium.plugins.module_utils._common import ModuleBase
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.client import K8sClient
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.config import (
    K8S_AUTH_ARGS, K8S_IMPORT_ERROR, K8S_IMPORT_TRACEBACK, K8sConfigError, load_configuration)


TASK_SECONDS = 600  # the retry budget of a task without wait_timeout
TLS_OFF_WARNING = ("TLS verification of the Kubernetes API server is off (validate_certs: false or the kubeconfig's "
                   "insecure-skip-tls-verify): anyone on the path can read and change what this task sends.")


DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def common_problems(params):
    """The checks every waiting cilium_* module makes of its options before the first request."""
    problems = []
    if params.get("wait_timeout") is not None and params["wait_timeout"] <= 0:
        problems.append("wait_timeout must be a positive number of seconds, got %s" % params["wait_timeout"])
    if params.get("namespace") is not None and not DNS_LABEL.match(params["namespace"]):
        problems.append("namespace %r is not a valid namespace name (RFC 1123 label: lower-case letters, digits and "
                        "'-', at most 63 characters)" % params["namespace"])
    return problems


class K8sModule(ModuleBase):
    """AnsibleModule plus one lazily configured K8sClient."""

    def __init__(self, argument_spec, supports_check_mode=True, **kwargs):
        super(K8sModule, self).__init__(K8S_AUTH_ARGS, argument_spec, (K8S_IMPORT_ERROR, "kubernetes", K8S_IMPORT_TRACEBACK),
                                        supports_check_mode, **kwargs)
        self._client = None

    def fail_k8s(self, exc, msg, **kwargs):
        """Fail with ``msg`` followed by the API server's message, status and reason."""
        self.module.fail_json(msg="%s: %s" % (msg, exc), status=exc.status, reason=exc.reason, **kwargs)

    @property
    def client(self):
        if self._client is None:
            try:
                self._client = K8sClient(load_configuration(self.params, self.module.run_command), self.params.get("impersonate_user"))
            except K8sConfigError as exc:
                self.fail_json(msg=str(exc))
            # retries never outlast the task: its wait_timeout (plus a margin for the last answer), or a default
            self._client.deadline = time.monotonic() + (self.params.get("wait_timeout") or TASK_SECONDS) + 30
            if not self._client.cfg.verify_ssl:
                self.warn(TLS_OFF_WARNING)  # built once per task, so warned once per task
        return self._client
