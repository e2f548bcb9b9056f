"""Decoding of the protobuf request bodies kubectl sends for `kubectl create <kind>` of built-in kinds.

kubectl's typed clients (create namespace / configmap / secret / serviceaccount / deployment / service,
auth can-i / whoami) post `application/vnd.kubernetes.protobuf`: the 4-byte magic "k8s\\0" and a
runtime.Unknown envelope (typeMeta, raw) around the object. This reads the protobuf wire format with field tables for just
those kinds (field numbers from k8s.io/api generated.proto) and returns the JSON form. Other kinds
get 415, as from a server that does not speak protobuf for them.
"""

import base64
import datetime

MAGIC = b"k8s\x00"
STRING, INT, BOOL, BYTES, TIME, INT_OR_STRING, QUANTITY = "string", "int", "bool", "bytes", "time", "intorstring", "quantity"


def _map(value_type):
    return ("map", value_type)


def _rep(item_type):
    return ("rep", item_type)


OBJECT_META = {1: ("name", STRING), 2: ("generateName", STRING), 3: ("namespace", STRING), 6: ("resourceVersion", STRING),
               8: ("creationTimestamp", TIME), 11: ("labels", _map(STRING)), 12: ("annotations", _map(STRING)),
               14: ("finalizers", _rep(STRING))}
LABEL_SELECTOR = {1: ("matchLabels", _map(STRING)),
                  2: ("matchExpressions", _rep({1: ("key", STRING), 2: ("operator", STRING), 3: ("values", _rep(STRING))}))}
CONTAINER = {1: ("name", STRING), 2: ("image", STRING), 3: ("command", _rep(STRING)), 4: ("args", _rep(STRING)),
             5: ("workingDir", STRING),
             6: ("ports", _rep({1: ("name", STRING), 2: ("hostPort", INT), 3: ("containerPort", INT), 4: ("protocol", STRING),
                                5: ("hostIP", STRING)})),
             7: ("env", _rep({1: ("name", STRING), 2: ("value", STRING)})),
             8: ("resources", {1: ("limits", _map(QUANTITY)), 2: ("requests", _map(QUANTITY))}),
             13: ("terminationMessagePath", STRING), 14: ("imagePullPolicy", STRING), 20: ("terminationMessagePolicy", STRING)}
POD_SPEC = {2: ("containers", _rep(CONTAINER)), 3: ("restartPolicy", STRING), 6: ("dnsPolicy", STRING),
            7: ("nodeSelector", _map(STRING)), 8: ("serviceAccountName", STRING), 11: ("hostNetwork", BOOL)}
ROLLING_UPDATE = {1: ("maxUnavailable", INT_OR_STRING), 2: ("maxSurge", INT_OR_STRING)}
KINDS = {
    "Namespace": {1: ("metadata", OBJECT_META), 2: ("spec", {1: ("finalizers", _rep(STRING))})},
    "ConfigMap": {1: ("metadata", OBJECT_META), 2: ("data", _map(STRING)), 3: ("binaryData", _map(BYTES)), 4: ("immutable", BOOL)},
    "Secret": {1: ("metadata", OBJECT_META), 2: ("data", _map(BYTES)), 3: ("type", STRING), 4: ("stringData", _map(STRING)),
               5: ("immutable", BOOL)},
    "ServiceAccount": {1: ("metadata", OBJECT_META), 3: ("imagePullSecrets", _rep({1: ("name", STRING)})),
                       4: ("automountServiceAccountToken", BOOL)},
    "Deployment": {1: ("metadata", OBJECT_META), 2: ("spec", {
        1: ("replicas", INT), 2: ("selector", LABEL_SELECTOR),
        3: ("template", {1: ("metadata", OBJECT_META), 2: ("spec", POD_SPEC)}),
        4: ("strategy", {1: ("type", STRING), 2: ("rollingUpdate", ROLLING_UPDATE)}),
        5: ("minReadySeconds", INT), 6: ("revisionHistoryLimit", INT), 7: ("paused", BOOL),
        9: ("progressDeadlineSeconds", INT)})},
}
KINDS["Service"] = {1: ("metadata", OBJECT_META), 2: ("spec", {
    1: ("ports", _rep({1: ("name", STRING), 2: ("protocol", STRING), 3: ("port", INT), 4: ("targetPort", INT_OR_STRING),
                       5: ("nodePort", INT)})),
    2: ("selector", _map(STRING)), 3: ("clusterIP", STRING), 4: ("type", STRING)})}
KINDS["SelfSubjectAccessReview"] = {1: ("metadata", OBJECT_META), 2: ("spec", {
    1: ("resourceAttributes", {1: ("namespace", STRING), 2: ("verb", STRING), 3: ("group", STRING), 4: ("version", STRING),
                               5: ("resource", STRING), 6: ("subresource", STRING), 7: ("name", STRING)}),
    2: ("nonResourceAttributes", {1: ("path", STRING), 2: ("verb", STRING)})})}
KINDS["SelfSubjectReview"] = {1: ("metadata", OBJECT_META)}
# optional pointers in the Go types: a zero here was set on purpose (other zeros are Go's unset values)
KEEP_ZERO = {"replicas", "revisionHistoryLimit", "progressDeadlineSeconds", "automountServiceAccountToken", "immutable",
             "port", "containerPort"}
UNKNOWN = {1: ("typeMeta", {1: ("apiVersion", STRING), 2: ("kind", STRING)}), 2: ("raw", BYTES)}


class ProtobufError(ValueError):
    pass


def _varint(data, pos):
    result, shift = 0, 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data):
    """(field number, value) pairs; value is an int (varint) or bytes (length-delimited)."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = int.from_bytes(data[pos:pos + size], "little"), pos + size
        else:
            raise ProtobufError("unsupported wire type %d" % wire)
        yield number, value


def _scalar(kind, value):
    if kind == STRING:
        return value.decode("utf-8")
    if kind == BYTES:
        return base64.b64encode(value).decode("ascii")
    if kind == BOOL:
        return bool(value)
    if kind == INT:
        return value - (1 << 64) if value >= 1 << 63 else value
    if kind == TIME:
        seconds = dict(_fields(value)).get(1, 0)
        if not seconds:
            return None
        return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == QUANTITY:
        return dict(_fields(value)).get(1, b"").decode("utf-8")
    if kind == INT_OR_STRING:
        parts = dict(_fields(value))
        return parts.get(3, b"").decode("utf-8") if parts.get(1) == 1 else parts.get(2, 0)
    return _message(value, kind)


def _message(data, schema):
    obj = {}
    for number, value in _fields(data):
        if number not in schema:
            continue
        name, kind = schema[number]
        if isinstance(kind, tuple) and kind[0] == "map":
            entry = dict(_fields(value))
            obj.setdefault(name, {})[entry.get(1, b"").decode("utf-8")] = _scalar(kind[1], entry.get(2, b""))
        elif isinstance(kind, tuple) and kind[0] == "rep":
            obj.setdefault(name, []).append(_scalar(kind[1], value))
        else:
            decoded = _scalar(kind, value)
            if decoded in (None, "") or (decoded in (0, False) and kind in (INT, BOOL) and name not in KEEP_ZERO):
                continue  # Go writes unset fields as empty values
            obj[name] = decoded
    return obj


def decode(body):
    """The JSON form of a protobuf-encoded object; ProtobufError for what this cannot read."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf magic number")
    envelope = _message(body[len(MAGIC):], UNKNOWN)
    type_meta = envelope.get("typeMeta") or {}
    schema = KINDS.get(type_meta.get("kind"))
    if schema is None:
        raise ProtobufError("no protobuf support for kind %s" % type_meta.get("kind"))
    obj = {"apiVersion": type_meta.get("apiVersion", ""), "kind": type_meta["kind"]}
    obj.update(_message(base64.b64decode(envelope.get("raw", "")), schema))
    return obj
