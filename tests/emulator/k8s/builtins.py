"""Built-in kinds: the fields they know (for fieldValidation), their defaults and their validation.

Field trees name the known fields down to the level this project writes (object metadata, pod
templates, containers, workload specs); below that any field is accepted. A tree is a dict of
field -> subtree, a one-element list [subtree] for a list of objects, or None for "anything".
"""

from . import errors
from .selection import labels_match, selector_requirements
from .validation import validate_labels, validate_name

ANY = None

OBJECT_META = {key: ANY for key in (
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
    "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers",
    "managedFields")}

CONTAINER = {key: ANY for key in (
    "name", "image", "command", "args", "workingDir", "envFrom", "resources", "resizePolicy", "restartPolicy",
    "volumeMounts", "volumeDevices", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
    "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin", "stdinOnce",
    "tty")}
CONTAINER["ports"] = [{key: ANY for key in ("name", "hostPort", "containerPort", "protocol", "hostIP")}]
CONTAINER["env"] = [{"name": ANY, "value": ANY, "valueFrom": ANY}]

POD_SPEC = {key: ANY for key in (
    "volumes", "ephemeralContainers", "restartPolicy", "terminationGracePeriodSeconds", "activeDeadlineSeconds",
    "dnsPolicy", "nodeSelector", "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "nodeName",
    "hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace", "securityContext", "imagePullSecrets", "hostname",
    "subdomain", "affinity", "schedulerName", "tolerations", "hostAliases", "priorityClassName", "priority",
    "dnsConfig", "readinessGates", "runtimeClassName", "enableServiceLinks", "preemptionPolicy", "overhead",
    "topologySpreadConstraints", "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates", "resourceClaims",
    "resources")}
POD_SPEC["containers"] = [CONTAINER]
POD_SPEC["initContainers"] = [CONTAINER]

TEMPLATE = {"metadata": OBJECT_META, "spec": POD_SPEC}
SELECTOR = {"matchLabels": ANY, "matchExpressions": ANY}


def _top(**fields):
    tree = {"apiVersion": ANY, "kind": ANY, "metadata": OBJECT_META}
    tree.update(fields)
    return tree


FIELDS = {
    "Pod": _top(spec=POD_SPEC, status=ANY),
    "DaemonSet": _top(spec={"selector": SELECTOR, "template": TEMPLATE, "updateStrategy": {
        "type": ANY, "rollingUpdate": {"maxUnavailable": ANY, "maxSurge": ANY}},
        "minReadySeconds": ANY, "revisionHistoryLimit": ANY}, status=ANY),
    "Deployment": _top(spec={"replicas": ANY, "selector": SELECTOR, "template": TEMPLATE, "strategy": {
        "type": ANY, "rollingUpdate": {"maxUnavailable": ANY, "maxSurge": ANY}}, "minReadySeconds": ANY,
        "revisionHistoryLimit": ANY, "paused": ANY, "progressDeadlineSeconds": ANY}, status=ANY),
    "ReplicaSet": _top(spec={"replicas": ANY, "selector": SELECTOR, "template": TEMPLATE, "minReadySeconds": ANY},
                       status=ANY),
    "ConfigMap": _top(data=ANY, binaryData=ANY, immutable=ANY),
    "Secret": _top(data=ANY, stringData=ANY, type=ANY, immutable=ANY),
    "Namespace": _top(spec={"finalizers": ANY}, status=ANY),
    "ServiceAccount": _top(secrets=ANY, imagePullSecrets=ANY, automountServiceAccountToken=ANY),
    "Service": _top(spec={key: ANY for key in (
        "ports", "selector", "clusterIP", "clusterIPs", "type", "externalIPs", "sessionAffinity", "loadBalancerIP",
        "loadBalancerSourceRanges", "externalName", "externalTrafficPolicy", "healthCheckNodePort",
        "publishNotReadyAddresses", "sessionAffinityConfig", "ipFamilies", "ipFamilyPolicy", "allocateLoadBalancerNodePorts",
        "loadBalancerClass", "internalTrafficPolicy", "trafficDistribution")}, status=ANY),
}


def unknown_fields(kind, obj):
    """Paths of fields a built-in kind does not have ("spec.replica", "spec.template.spec.containers[0].imag")."""
    tree = FIELDS.get(kind)
    found = []
    if tree is not None:
        _walk(obj, tree, "", found)
    return found


def _walk(value, tree, path, found):
    if tree is ANY:
        return
    if isinstance(tree, list):
        if isinstance(value, list):
            for i, item in enumerate(value):
                _walk(item, tree[0], "%s[%d]" % (path, i), found)
        return
    if not isinstance(value, dict):
        return
    for key, sub in value.items():
        name = "%s.%s" % (path, key) if path else key
        if key not in tree:
            found.append(name)
        else:
            _walk(sub, tree[key], name, found)


def remove_fields(obj, paths):
    """Drop the given unknown-field paths from obj (fieldValidation Ignore/Warn)."""
    for path in paths:
        node, parts = obj, path.replace("]", "").replace("[", ".").split(".")
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.get(part)
            if node is None:
                break
        if isinstance(node, dict):
            node.pop(parts[-1], None)


# ---------------------------------------------------------------- defaults


def _image_pull_policy(image):
    tail = (image or "").rsplit("/", 1)[-1]
    if "@" in tail:
        return "IfNotPresent"
    return "Always" if ":" not in tail or tail.endswith(":latest") else "IfNotPresent"


def default_pod_spec(spec):
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    if spec.get("serviceAccountName") and not spec.get("serviceAccount"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if not isinstance(container, dict):
            continue
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("imagePullPolicy", _image_pull_policy(container.get("image")))
        container.setdefault("resources", {})
        for port in container.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")


def _rolling(strategy, kind):
    if kind == "DaemonSet":
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", 1)
            rolling.setdefault("maxSurge", 0)
    else:
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")


def apply_defaults(kind, obj):
    """The defaulting the apiserver does for the built-in kinds this emulator serves (in place)."""
    spec = obj.get("spec")
    if kind == "Pod" and isinstance(spec, dict):
        default_pod_spec(spec)
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("priority", 0)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    elif kind in ("DaemonSet", "Deployment", "ReplicaSet") and isinstance(spec, dict):
        template = spec.get("template")
        if isinstance(template, dict) and isinstance(template.get("spec"), dict):
            default_pod_spec(template["spec"])
        if kind == "Deployment":
            spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)
            _rolling(spec.setdefault("strategy", {}), kind)
        elif kind == "DaemonSet":
            spec.setdefault("revisionHistoryLimit", 10)
            _rolling(spec.setdefault("updateStrategy", {}), kind)
        else:
            spec.setdefault("replicas", 1)
    elif kind == "Service":
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] != "ExternalName":
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
    elif kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"].get("name", "")
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
    return obj


# ---------------------------------------------------------------- validation

DNS_LABEL_KINDS = ("Namespace", "Service")


def validate(kind, obj, old=None):
    """Field errors for a built-in object (the checks this project can trip over)."""
    found = validate_name(obj["metadata"].get("name"), dns_label=kind in DNS_LABEL_KINDS)
    found += validate_labels(obj["metadata"].get("labels"))
    spec = obj.get("spec") or {}
    if kind in ("DaemonSet", "Deployment", "ReplicaSet"):
        found += _validate_workload(kind, spec, (old or {}).get("spec"))
    elif kind == "Pod":
        found += _validate_containers(spec.get("containers"), "spec")
    elif kind == "ConfigMap":
        for key in (obj.get("data") or {}):
            if not key or not all(c.isalnum() or c in "-._" for c in key):
                found.append(errors.invalid("data", key, "a valid config key must consist of alphanumeric characters, "
                                                         "'-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                                                         "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"))
    return found


def _validate_containers(containers, path):
    found = []
    if not containers:
        return [errors.required(path + ".containers")]
    names = set()
    for i, container in enumerate(containers):
        where = "%s.containers[%d]" % (path, i)
        if not container.get("name"):
            found.append(errors.required(where + ".name"))
        elif container["name"] in names:
            found.append(errors.duplicate(where + ".name", container["name"]))
        names.add(container.get("name"))
        if not container.get("image"):
            found.append(errors.required(where + ".image"))
    return found


def _validate_workload(kind, spec, old_spec):
    found = []
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        found.append(errors.required("spec.selector"))
    elif not labels_match(selector_requirements(selector), labels):
        found.append(errors.invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`"))
    if old_spec is not None and old_spec.get("selector") != selector:
        found.append(errors.invalid("spec.selector", _selector_go(selector), "field is immutable"))
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        found.append(errors.invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
    found += _validate_containers((template.get("spec") or {}).get("containers"), "spec.template.spec")
    if kind == "Deployment":
        deadline, ready = spec.get("progressDeadlineSeconds"), spec.get("minReadySeconds") or 0
        if isinstance(deadline, int) and deadline <= ready:
            found.append(errors.invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"))
    return found


def _selector_go(selector):
    return "v1.LabelSelector{MatchLabels:%s, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}" % (
        errors.go_value((selector or {}).get("matchLabels") or {}))
