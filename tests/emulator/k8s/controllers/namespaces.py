"""The namespace controller (a terminating namespace empties, then goes) and what the service-account and
root-CA publisher controllers put in every live namespace."""

import copy

from ..api import CONTROLLER
from .common import Controller


class Namespaces(Controller):

    def __init__(self, loop, root_ca):
        super().__init__(loop)
        self.root_ca = root_ca

    def reconcile(self):
        for ns in list(self.store.objects("/namespaces")):
            if not ns["metadata"].get("deletionTimestamp"):
                self._defaults(ns["metadata"]["name"])
                continue
            name = ns["metadata"]["name"]
            for rtype in self.api.registry.all():
                if rtype.namespaced:
                    for obj in list(self.store.objects(rtype.key, name)):
                        self.api.remove(rtype, obj)
            final = copy.deepcopy(ns)
            final["metadata"]["resourceVersion"] = str(self.store.bump())
            self.store.remove("/namespaces", final)

    def _defaults(self, namespace):
        """What the service-account and root-CA publisher controllers put in every namespace."""
        if self.store.get("/serviceaccounts", namespace, "default") is None:
            self.api.create(self.types["/serviceaccounts"], namespace,
                            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": namespace}},
                            CONTROLLER)
        if self.store.get("/configmaps", namespace, "kube-root-ca.crt") is None:
            self.api.create(self.types["/configmaps"], namespace, {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "kube-root-ca.crt", "namespace": namespace,
                             "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify "
                                                                          "the kube-apiserver when using internal endpoints "
                                                                          "such as the internal service IP or kubernetes.default.svc. "
                                                                          "No other usage is guaranteed across distributions of "
                                                                          "Kubernetes clusters."}},
                "data": {"ca.crt": self.root_ca}}, CONTROLLER)
