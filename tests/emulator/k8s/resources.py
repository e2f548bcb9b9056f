"""What the apiserver serves: built-in resource types, plus the types that CRDs register.

A ResourceType says where a resource lives (group/version/plural), how discovery describes it,
which subresources it has and how its lists merge (strategic merge keys, server-side apply keys).
"""

import re
import threading

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
STATUS_VERBS = ["get", "patch", "update"]

# Lists inside a PodSpec that merge by key: (relative path) -> (SSA list-map keys, strategic merge key)
POD_SPEC_LISTS = {
    ("containers",): (["name"], "name"),
    ("initContainers",): (["name"], "name"),
    ("ephemeralContainers",): (["name"], "name"),
    ("volumes",): (["name"], "name"),
    ("imagePullSecrets",): (["name"], "name"),
    ("hostAliases",): (["ip"], "ip"),
    ("topologySpreadConstraints",): (["topologyKey", "whenUnsatisfiable"], "topologyKey"),
    ("resourceClaims",): (["name"], "name"),
}
CONTAINER_LISTS = {
    ("ports",): (["containerPort", "protocol"], "containerPort"),
    ("env",): (["name"], "name"),
    ("volumeMounts",): (["mountPath"], "mountPath"),
    ("volumeDevices",): (["devicePath"], "devicePath"),
    ("resizePolicy",): (["resourceName"], "resourceName"),
}
METADATA_LISTS = {
    ("metadata", "ownerReferences"): (["uid"], "uid"),
    ("metadata", "finalizers"): ("set", "set"),
}
CONDITIONS = (["type"], "type")


def _pod_lists(prefix):
    table = {}
    for path, meta in POD_SPEC_LISTS.items():
        table[prefix + path] = meta
    for container in ("containers", "initContainers", "ephemeralContainers"):
        for path, meta in CONTAINER_LISTS.items():
            table[prefix + (container,) + path] = meta
    return table


TEMPLATE = ("spec", "template", "spec")
STATUS_CONDITIONS = {("status", "conditions"): CONDITIONS}
KIND_LISTS = {
    "Pod": {**_pod_lists(("spec",)), **STATUS_CONDITIONS},
    "DaemonSet": {**_pod_lists(TEMPLATE), **STATUS_CONDITIONS},
    "Deployment": {**_pod_lists(TEMPLATE), **STATUS_CONDITIONS},
    "ReplicaSet": {**_pod_lists(TEMPLATE), **STATUS_CONDITIONS},
    "Service": {("spec", "ports"): (["port", "protocol"], "port")},
    "Node": {("status", "conditions"): CONDITIONS, ("status", "addresses"): (["type"], "type")},
    "Namespace": {("status", "conditions"): CONDITIONS},
    "CustomResourceDefinition": {("status", "conditions"): CONDITIONS},
}


class ResourceType:
    """One served resource (e.g. apps/v1 deployments)."""

    def __init__(self, group, version, plural, kind, namespaced=True, short_names=(), categories=(),
                 singular=None, status=False, generation=False, scale=False, crd=None, columns=None, schema=None,
                 selectable_fields=(), verbs=None):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.categories = list(categories)
        self.singular = singular or kind.lower()
        self.status = status
        self.generation = generation
        self.scale = scale
        self.crd = crd  # the CRD name for custom resources
        self.columns = columns  # additionalPrinterColumns (custom resources)
        self.schema = schema  # openAPIV3Schema (custom resources)
        self.selectable_fields = list(selectable_fields)
        self.verbs = list(verbs or VERBS)
        self._lists = KIND_LISTS.get(kind, {})

    @property
    def api_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def key(self):
        """Storage key: one per group+resource, whatever the version."""
        return "%s/%s" % (self.group, self.plural)

    @property
    def builtin(self):
        return self.crd is None

    def list_meta(self, fields):
        """(SSA keys or "set" or None for atomic, strategic merge key or "set" or None) for a list at `fields`."""
        fields = tuple(fields)
        meta = METADATA_LISTS.get(fields) or self._lists.get(fields)
        if meta:
            return meta
        if self.schema is not None:
            node = schema_at(self.schema, fields)
            if node:
                list_type = node.get("x-kubernetes-list-type")
                if list_type == "map":
                    return (list(node.get("x-kubernetes-list-map-keys") or []), None)
                if list_type == "set":
                    return ("set", None)
        return (None, None)

    def atomic_map(self, fields):
        if self.schema is None:
            return False
        node = schema_at(self.schema, tuple(fields))
        return bool(node) and node.get("x-kubernetes-map-type") == "atomic"

    def field_selectors(self):
        allowed = ["metadata.name", "metadata.namespace"]
        allowed += BUILTIN_FIELD_SELECTORS.get(self.kind, [])
        allowed += self.selectable_fields
        return allowed

    def discovery(self):
        entry = {"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
                 "kind": self.kind, "verbs": list(self.verbs)}
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        entries = [entry]
        if self.status:
            entries.append({"name": self.plural + "/status", "singularName": "", "namespaced": self.namespaced,
                            "kind": self.kind, "verbs": list(STATUS_VERBS)})
        if self.kind == "Pod" and self.builtin:
            entries.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]})
        if self.scale:
            entries.append({"name": self.plural + "/scale", "singularName": "", "namespaced": self.namespaced,
                            "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": list(STATUS_VERBS)})
        return entries


BUILTIN_FIELD_SELECTORS = {
    "Pod": ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
            "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"],
    "Event": ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
              "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
              "reason", "reportingComponent", "source", "type"],
    "Secret": ["type"],
    "Namespace": ["status.phase"],
    "Node": ["spec.unschedulable"],
    "ReplicaSet": ["status.replicas"],
}


def schema_at(schema, fields):
    """The sub-schema at a field path (list items are stepped through implicitly)."""
    node = schema
    for name in fields:
        while node.get("type") == "array" and "items" in node:
            node = node["items"]
        props = node.get("properties")
        if props and name in props:
            node = props[name]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
    return node


def builtin_types():
    """The built-in resources an AKS cluster serves (the subset this project touches)."""
    return [
        ResourceType("", "v1", "namespaces", "Namespace", namespaced=False, short_names=["ns"], status=True),
        ResourceType("", "v1", "nodes", "Node", namespaced=False, short_names=["no"], status=True),
        ResourceType("", "v1", "pods", "Pod", short_names=["po"], categories=["all"], status=True),
        ResourceType("", "v1", "configmaps", "ConfigMap", short_names=["cm"]),
        ResourceType("", "v1", "services", "Service", short_names=["svc"], categories=["all"], status=True),
        ResourceType("", "v1", "events", "Event", short_names=["ev"]),
        ResourceType("", "v1", "secrets", "Secret"),
        ResourceType("", "v1", "serviceaccounts", "ServiceAccount", short_names=["sa"]),
        ResourceType("", "v1", "endpoints", "Endpoints", short_names=["ep"]),
        ResourceType("apps", "v1", "daemonsets", "DaemonSet", short_names=["ds"], categories=["all"],
                     status=True, generation=True),
        ResourceType("apps", "v1", "deployments", "Deployment", short_names=["deploy"], categories=["all"],
                     status=True, generation=True, scale=True),
        ResourceType("apps", "v1", "replicasets", "ReplicaSet", short_names=["rs"], categories=["all"],
                     status=True, generation=True, scale=True),
        ResourceType("apps", "v1", "controllerrevisions", "ControllerRevision"),
        ResourceType("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short_names=["pdb"], status=True,
                     generation=True),
        ResourceType("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short_names=["netpol"],
                     generation=True),
        ResourceType("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
                     namespaced=False, short_names=["crd", "crds"], status=True, generation=True),
        # review resources: answered on POST, never stored (kubectl auth can-i / whoami)
        ResourceType("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview",
                     namespaced=False, verbs=["create"]),
        ResourceType("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", namespaced=False,
                     verbs=["create"]),
    ]


REVIEW_KINDS = ("SelfSubjectAccessReview", "SelfSubjectReview")


class Registry:
    """Thread-safe map of served resource types; CRDs add and remove theirs at run time."""

    def __init__(self):
        self._lock = threading.Lock()
        self._types = {}  # (group, version, plural) -> ResourceType
        for rtype in builtin_types():
            self.add(rtype)

    def add(self, rtype):
        with self._lock:
            self._types[(rtype.group, rtype.version, rtype.plural)] = rtype

    def remove_crd(self, crd_name):
        with self._lock:
            for key in [k for k, t in self._types.items() if t.crd == crd_name]:
                del self._types[key]

    def get(self, group, version, plural):
        with self._lock:
            return self._types.get((group, version, plural))

    def all(self):
        with self._lock:
            return list(self._types.values())

    def by_kind(self, group, kind):
        with self._lock:
            for rtype in self._types.values():
                if rtype.group == group and rtype.kind == kind:
                    return rtype
        return None

    def versions(self, group):
        return sorted({t.version for t in self.all() if t.group == group}, key=_version_priority)

    def groups(self):
        groups = []
        for rtype in self.all():
            if rtype.group not in groups:
                groups.append(rtype.group)
        return groups


def _version_priority(version):
    """Kubernetes version ordering: GA before beta before alpha, higher first."""
    match = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", version)
    if not match:
        return (3, 0, 0, version)
    rank = {None: 0, "beta": 1, "alpha": 2}[match.group(2)]
    return (rank, -int(match.group(1)), -int(match.group(3) or 0), version)
