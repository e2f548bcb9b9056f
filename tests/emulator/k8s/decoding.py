"""What the apiserver's typed JSON decoding refuses before any validation: wrong JSON types in the envelope.

Go's encoding/json answers `json: cannot unmarshal <json type> into Go struct field <Type>.<path> of type
<go type>`, which the apiserver returns as a 400 BadRequest Status. Custom resources decode as unstructured
objects, so past the envelope (apiVersion, kind, metadata) their types are the CRD schema's business.
"""

from . import errors

STRING, INT32, INT64, BOOL, INT_OR_STRING = "string", "int32", "int64", "bool", "intstr.IntOrString"
STRING_MAP, STRING_LIST, OBJECT_LIST = "map[string]string", "[]string", "[]object"
OBJECT_META = {"name": STRING, "generateName": STRING, "namespace": STRING, "uid": STRING, "resourceVersion": STRING,
               "creationTimestamp": STRING, "deletionTimestamp": STRING, "generation": INT64,
               "deletionGracePeriodSeconds": INT64, "labels": STRING_MAP, "annotations": STRING_MAP,
               "finalizers": STRING_LIST, "ownerReferences": OBJECT_LIST, "managedFields": OBJECT_LIST}
# the typed fields of built-in kinds that the emulator's validation and controllers read
SELECTOR = {"matchLabels": STRING_MAP, "matchExpressions": [{"key": STRING, "operator": STRING, "values": STRING_LIST}]}
CONTAINER = {"name": STRING, "image": STRING, "command": STRING_LIST, "args": STRING_LIST,
             "ports": [{"containerPort": INT32, "protocol": STRING, "name": STRING, "hostPort": INT32}],
             "env": [{"name": STRING, "value": STRING}], "readinessProbe": {}, "livenessProbe": {}, "resources": {}}
POD_SPEC = {"containers": [CONTAINER], "initContainers": [CONTAINER], "nodeSelector": STRING_MAP, "nodeName": STRING,
            "tolerations": [{}], "hostNetwork": BOOL, "serviceAccountName": STRING, "priorityClassName": STRING,
            "terminationGracePeriodSeconds": INT64}
ROLLING = {"type": STRING, "rollingUpdate": {"maxUnavailable": INT_OR_STRING, "maxSurge": INT_OR_STRING,
                                             "partition": INT32}}
WORKLOAD_SPEC = {"replicas": INT32, "selector": SELECTOR, "template": {"metadata": OBJECT_META, "spec": POD_SPEC},
                 "minReadySeconds": INT32, "progressDeadlineSeconds": INT32, "revisionHistoryLimit": INT32,
                 "paused": BOOL, "strategy": ROLLING, "updateStrategy": ROLLING}
KINDS = {
    "Deployment": {"spec": WORKLOAD_SPEC}, "DaemonSet": {"spec": WORKLOAD_SPEC}, "ReplicaSet": {"spec": WORKLOAD_SPEC},
    "Pod": {"spec": POD_SPEC}, "ConfigMap": {"data": STRING_MAP, "binaryData": STRING_MAP, "immutable": BOOL},
    "Secret": {"data": STRING_MAP, "stringData": STRING_MAP, "type": STRING, "immutable": BOOL},
    "Namespace": {"spec": {"finalizers": STRING_LIST}},
    "Service": {"spec": {"type": STRING, "selector": STRING_MAP, "clusterIP": STRING, "clusterIPs": STRING_LIST,
                         "ports": [{"port": INT32, "targetPort": INT_OR_STRING, "protocol": STRING, "name": STRING,
                                    "nodePort": INT32}]}},
    "Node": {"spec": {"podCIDR": STRING, "podCIDRs": STRING_LIST, "unschedulable": BOOL, "taints": [{}]}},
}


def _json_type(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _refuse(value, field, go_type):
    return errors.bad_request("json: cannot unmarshal %s into Go struct field %s of type %s"
                              % (_json_type(value), field, go_type))


def _fits(value, go_type):
    if value is None:
        return True
    if go_type == STRING:
        return isinstance(value, str)
    if go_type == BOOL:
        return isinstance(value, bool)
    if go_type in (INT32, INT64):
        bits = 31 if go_type == INT32 else 63
        return isinstance(value, int) and not isinstance(value, bool) and -2 ** bits <= value < 2 ** bits
    if go_type == INT_OR_STRING:
        return isinstance(value, str) or _fits(value, INT32)
    if go_type == STRING_MAP:
        return isinstance(value, dict) and all(isinstance(v, str) or v is None for v in value.values())
    if go_type == STRING_LIST:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def check_envelope(obj, kind):
    """Raise the decoding error for apiVersion/kind/metadata fields of the wrong JSON type."""
    for key in ("apiVersion", "kind"):
        if not _fits(obj.get(key), STRING):
            raise errors.bad_request("couldn't get version/kind; json parse error: json: cannot unmarshal %s into Go "
                                     "struct field .%s of type string" % (_json_type(obj[key]), key))
    meta = obj.get("metadata")
    if meta is None:
        return
    if not isinstance(meta, dict):
        raise _refuse(meta, "%s.metadata" % kind, "v1.ObjectMeta")
    check_fields(meta, OBJECT_META, "ObjectMeta.metadata")


def check_fields(value, shape, where):
    """Walk a struct shape ({field: type or sub-shape}, [item shape] for lists); unknown fields are not ours."""
    for key, wanted in shape.items():
        item, field = value.get(key), "%s.%s" % (where, key)
        if item is None:
            continue
        if isinstance(wanted, dict):
            if not isinstance(item, dict):
                raise _refuse(item, field, "struct")
            check_fields(item, wanted, field)
        elif isinstance(wanted, list):
            if not isinstance(item, list) or not all(isinstance(v, dict) for v in item):
                raise _refuse(item, field, "[]struct")
            for element in item:
                check_fields(element, wanted[0], field)
        elif not _fits(item, wanted):
            raise _refuse(item, field, wanted)


def check_builtin(obj, kind):
    """The typed decoding of a built-in kind's body (custom resources are unstructured)."""
    check_fields(obj, KINDS.get(kind, {}), kind)
