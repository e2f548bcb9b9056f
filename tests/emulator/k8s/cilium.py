"""What the Cilium agent and operator write back to the apiserver, as far as clients can see it.

- every non-hostNetwork pod that is Running on a node with a ready agent gets a CiliumEndpoint (same
  name and namespace) carrying its identity; identities follow the pods' identity-relevant labels
  (identities.py: label filter, cilium-config `labels`, agent restarts, garbage collection);
- the operator marks each CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy Valid once it has
  a ready replica (the informational condition Cilium >= 1.16 sets).
"""

import time

from .api import CONTROLLER, WriteOptions, timestamp
from .controllers import fnv32a
from .identities import DEFAULT_GC_DELAY, AgentConfigs, Identities, identity_labels

AGENT = WriteOptions(manager="cilium-agent", track_fields=False, trusted=True)
OPERATOR = WriteOptions(manager="cilium-operator-generic", trusted=True)


class CiliumAgent:

    def __init__(self, api, seed=""):
        self.api = api
        self.store = api.store
        self.seed = seed
        self.configs = AgentConfigs(api.store)
        self.identities = None
        self.wake_at = None  # set by the cluster: arms a controller-loop timer (identity garbage collection)
        self._seen = {}  # pod uid -> (pod, namespace) resourceVersions its endpoint's identity was computed from
        self.gc_delay = DEFAULT_GC_DELAY

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
            if cep_type is not None and self.identities is not None:
                self._collect_identities(cep_type)
            for policy_type in (cnp_type, ccnp_type):
                if policy_type is not None:
                    self._validate_policies(policy_type)

    def _agents_ready(self):
        ds = self.store.get("apps/daemonsets", "kube-system", "cilium")
        return bool(ds) and (ds.get("status") or {}).get("numberReady", 0) > 0

    def _operator_ready(self):
        deploy = self.store.get("apps/deployments", "kube-system", "cilium-operator")
        return bool(deploy) and (deploy.get("status") or {}).get("availableReplicas", 0) > 0

    def _endpoints(self, cep_type, identity_type):
        if self.identities is None:
            self.identities = Identities(self.api, identity_type, AGENT, seed=self.seed)
        filters = self.configs.refresh()  # node -> the label filter its (ready) agent runs with
        known = self.identities.known()
        cluster_name = self.configs.cluster_name()
        namespaces = {ns["metadata"]["name"]: ns for ns in self.store.objects("/namespaces")}
        wanted = set()
        for pod in list(self.store.objects("/pods")):
            spec, status = pod.get("spec") or {}, pod.get("status") or {}
            if spec.get("hostNetwork") or status.get("phase") != "Running" or pod["metadata"].get("deletionTimestamp"):
                continue
            namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
            wanted.add((namespace, name))
            label_filter = filters.get(spec.get("nodeName"))
            ns = namespaces.get(namespace) or {"metadata": {}}
            signature = (pod["metadata"]["resourceVersion"], ns["metadata"].get("resourceVersion"))
            endpoint = self.store.get(cep_type.key, namespace, name)
            if label_filter is None or (endpoint is not None and self._seen.get(pod["metadata"]["uid"]) == signature):
                continue  # no agent on that node, or nothing that makes up the identity changed
            labels = identity_labels(pod, ns["metadata"].get("labels"), label_filter, cluster_name)
            number = self.identities.lease(labels, known)
            if number is None:
                continue  # identity range exhausted: the endpoint waits for an identity
            self._seen[pod["metadata"]["uid"]] = signature
            self._write_endpoint(cep_type, pod, endpoint, number, labels)
        for endpoint in list(self.store.objects(cep_type.key)):
            ident = (endpoint["metadata"]["namespace"], endpoint["metadata"]["name"])
            if ident not in wanted:
                self.api.remove(cep_type, endpoint, CONTROLLER)
        if len(self._seen) > len(wanted):
            current = {p["metadata"]["uid"] for p in self.store.objects("/pods")}
            self._seen = {uid: sig for uid, sig in self._seen.items() if uid in current}

    def _write_endpoint(self, cep_type, pod, endpoint, number, labels):
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        status = pod.get("status") or {}
        identity = {"id": number, "labels": sorted("%s=%s" % kv for kv in labels.items())}
        if endpoint is not None:
            if (endpoint.get("status") or {}).get("identity") != identity:
                new_status = dict(endpoint.get("status") or {}, identity=identity)
                self.api.write(cep_type, endpoint, dict(endpoint, status=new_status), AGENT, "status")
            return
        endpoint = {"apiVersion": "cilium.io/v2", "kind": "CiliumEndpoint",
                    "metadata": {"name": name, "namespace": namespace, "labels": dict(pod["metadata"].get("labels") or {}),
                                 "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": name,
                                                      "uid": pod["metadata"]["uid"], "blockOwnerDeletion": True}]}}
        created, _unused = self.api.create(cep_type, namespace, endpoint, AGENT)
        endpoint_status = {
            "id": fnv32a(pod["metadata"]["uid"].encode("ascii")) % 4000 + 1, "state": "ready", "encryption": {},
            "external-identifiers": {"container-id": "", "k8s-namespace": namespace, "k8s-pod-name": name,
                                     "pod-name": "%s/%s" % (namespace, name)},
            "identity": identity,
            "networking": {"addressing": [{"ipv4": status.get("podIP", "")}], "node": status.get("hostIP", "")},
        }
        self.api.write(cep_type, created, dict(created, status=endpoint_status), AGENT, "status")

    def _collect_identities(self, cep_type):
        """The operator's identity garbage collector: identities no endpoint uses go after gc_delay."""
        used = {((e.get("status") or {}).get("identity") or {}).get("id") for e in self.store.objects(cep_type.key)}
        self.identities.gc_delay = self.gc_delay
        due = self.identities.collect(used, OPERATOR)
        if due is not None and self.wake_at is not None:
            self.wake_at(time.monotonic() + due)

    def _validate_policies(self, policy_type):
        for policy in list(self.store.objects(policy_type.key)):
            conditions = (policy.get("status") or {}).get("conditions") or []
            if any(c.get("type") == "Valid" for c in conditions):
                continue
            status = dict(policy.get("status") or {})
            status["conditions"] = conditions + [{"type": "Valid", "status": "True", "lastTransitionTime": timestamp(),
                                                  "message": "Policy validation succeeded"}]
            self.api.write(policy_type, policy, dict(policy, status=status), OPERATOR, "status")
