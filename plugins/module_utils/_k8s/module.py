# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""K8sModule: an AnsibleModule with kubernetes.core's connection options and one lazily built client.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

from ansible_collections.azcni.cilium.plugins.module_utils._common import ModuleBase
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.client import K8sClient
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.config import (
    K8S_AUTH_ARGS, K8S_IMPORT_ERROR, K8S_IMPORT_TRACEBACK, K8sConfigError, load_configuration)


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
        return self._client
