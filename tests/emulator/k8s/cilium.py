"""What the Cilium agent and operator write back to the apiserver, as far as clients can see it.

- every non-hostNetwork pod that is Running gets a CiliumEndpoint (same name and namespace), and
  each distinct set of pod labels a CiliumIdentity (ids from 10000 up, like CRD identity allocation);
- the operator marks each CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy Valid once it has
  a ready replica (the informational condition Cilium >= 1.16 sets).
"""

from .api import CONTROLLER, WriteOptions, timestamp
from .controllers import fnv32a

AGENT = WriteOptions(manager="cilium-agent", track_fields=False, trusted=True)
OPERATOR = WriteOptions(manager="cilium-operator-generic", trusted=True)
FIRST_IDENTITY = 10000


def security_labels(pod):
    namespace = pod["metadata"].get("namespace", "default")
    labels = {"k8s:" + key: value for key, value in (pod["metadata"].get("labels") or {}).items()
              if key not in ("pod-template-hash", "controller-revision-hash", "pod-template-generation")}
    labels["k8s:io.kubernetes.pod.namespace"] = namespace
    labels["k8s:io.cilium.k8s.policy.serviceaccount"] = (pod.get("spec") or {}).get("serviceAccountName", "default")
    labels["k8s:io.cilium.k8s.policy.cluster"] = "default"
    return labels


class CiliumAgent:

    def __init__(self, api):
        self.api = api
        self.store = api.store

    def _types(self):
        registry = self.api.registry
        return (registry.get("cilium.io", "v2", "ciliumendpoints"), registry.get("cilium.io", "v2", "ciliumidentities"),
                registry.get("cilium.io", "v2", "ciliumnetworkpolicies"),
                registry.get("cilium.io", "v2", "ciliumclusterwidenetworkpolicies"))

    def reconcile(self):
        cep_type, identity_type, cnp_type, ccnp_type = self._types()
        if cep_type is not None and identity_type is not None and self._agents_ready():
            self._endpoints(cep_type, identity_type)
        if self._operator_ready():
            for policy_type in (cnp_type, ccnp_type):
                if policy_type is not None:
                    self._validate_policies(policy_type)

    def _agents_ready(self):
        ds = self.store.get("apps/daemonsets", "kube-system", "cilium")
        return bool(ds) and (ds.get("status") or {}).get("numberReady", 0) > 0

    def _operator_ready(self):
        deploy = self.store.get("apps/deployments", "kube-system", "cilium-operator")
        return bool(deploy) and (deploy.get("status") or {}).get("availableReplicas", 0) > 0

    def _identities(self, identity_type):
        known = {}
        for identity in self.store.objects(identity_type.key):
            known[tuple(sorted((identity.get("security-labels") or {}).items()))] = identity
        return known

    def _identity(self, identity_type, known, labels):
        key = tuple(sorted(labels.items()))
        if key in known:
            return int(known[key]["metadata"]["name"])
        number = max([int(i["metadata"]["name"]) for i in known.values()] + [FIRST_IDENTITY - 1]) + 1
        namespace = labels["k8s:io.kubernetes.pod.namespace"]
        identity = {"apiVersion": "cilium.io/v2", "kind": "CiliumIdentity",
                    "metadata": {"name": str(number), "labels": {
                        "io.kubernetes.pod.namespace": namespace,
                        "io.cilium.k8s.policy.serviceaccount": labels["k8s:io.cilium.k8s.policy.serviceaccount"],
                        "io.cilium.k8s.policy.cluster": "default"}},
                    "security-labels": dict(labels)}
        created, _unused = self.api.create(identity_type, None, identity, AGENT)
        known[key] = created
        return number

    def _endpoints(self, cep_type, identity_type):
        known = self._identities(identity_type)
        wanted = set()
        for pod in list(self.store.objects("/pods")):
            spec, status = pod.get("spec") or {}, pod.get("status") or {}
            if spec.get("hostNetwork") or status.get("phase") != "Running" or pod["metadata"].get("deletionTimestamp"):
                continue
            namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
            wanted.add((namespace, name))
            if self.store.get(cep_type.key, namespace, name) is not None:
                continue
            labels = security_labels(pod)
            number = self._identity(identity_type, known, labels)
            endpoint = {"apiVersion": "cilium.io/v2", "kind": "CiliumEndpoint",
                        "metadata": {"name": name, "namespace": namespace, "labels": dict(pod["metadata"].get("labels") or {}),
                                     "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": name,
                                                          "uid": pod["metadata"]["uid"], "blockOwnerDeletion": True}]}}
            created, _unused = self.api.create(cep_type, namespace, endpoint, AGENT)
            endpoint_status = {
                "id": fnv32a(pod["metadata"]["uid"].encode("ascii")) % 4000 + 1, "state": "ready", "encryption": {},
                "external-identifiers": {"container-id": "", "k8s-namespace": namespace, "k8s-pod-name": name,
                                         "pod-name": "%s/%s" % (namespace, name)},
                "identity": {"id": number, "labels": sorted("%s=%s" % kv for kv in labels.items())},
                "networking": {"addressing": [{"ipv4": status.get("podIP", "")}], "node": status.get("hostIP", "")},
            }
            self.api.write(cep_type, created, dict(created, status=endpoint_status), AGENT, "status")
        for endpoint in list(self.store.objects(cep_type.key)):
            ident = (endpoint["metadata"]["namespace"], endpoint["metadata"]["name"])
            if ident not in wanted:
                self.api.remove(cep_type, endpoint, CONTROLLER)

    def _validate_policies(self, policy_type):
        for policy in list(self.store.objects(policy_type.key)):
            conditions = (policy.get("status") or {}).get("conditions") or []
            if any(c.get("type") == "Valid" for c in conditions):
                continue
            status = dict(policy.get("status") or {})
            status["conditions"] = conditions + [{"type": "Valid", "status": "True", "lastTransitionTime": timestamp(),
                                                  "message": "Policy validation succeeded"}]
            self.api.write(policy_type, policy, dict(policy, status=status), OPERATOR, "status")
