"""Structural-schema handling for custom resources: pruning, defaulting and validation.

Mirrors apiextensions-apiserver: unknown fields are pruned (and reported for fieldValidation),
defaults are applied, then the object is validated with the go-openapi rules, whose messages are
turned into field errors the way kubeOpenAPIResultToFieldErrors does ("spec.x: Invalid value:
...", "<nil>: Invalid value: \"\": \"spec\" must validate one and only one schema (oneOf)...").
"""

import copy
import datetime
import ipaddress
import json
import re

from . import errors

OBJECT_META_FIELDS = {
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
    "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers",
    "managedFields",
}
ROOT_FIELDS = {"apiVersion", "kind", "metadata"}


def child(path, name):
    return "%s.%s" % (path, name) if path else name


def index(path, i):
    return "%s[%d]" % (path, i)


# ---------------------------------------------------------------- pruning


def prune(obj, schema):
    """Remove fields the schema does not know (in place); return their paths ("spec.foo")."""
    unknown = []
    for key in list(obj):
        if key not in ROOT_FIELDS and key not in (schema.get("properties") or {}):
            if not schema.get("x-kubernetes-preserve-unknown-fields"):
                unknown.append(key)
                del obj[key]
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for key in list(meta):
            if key not in OBJECT_META_FIELDS:
                unknown.append("metadata." + key)
                del meta[key]
    for key, sub in (schema.get("properties") or {}).items():
        if key in obj and key not in ROOT_FIELDS:
            obj[key] = _prune_value(obj[key], sub, key, unknown)
            if obj[key] is _DROP:
                del obj[key]
    return unknown


_DROP = object()


def _prune_value(value, schema, path, unknown):
    if value is None:
        return value if schema.get("nullable") else _DROP
    if isinstance(value, dict) and (schema.get("type") == "object" or "properties" in schema):
        props = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields")
        embedded = schema.get("x-kubernetes-embedded-resource")
        for key in list(value):
            sub = props.get(key)
            if sub is None and isinstance(additional, dict):
                sub = additional
            if sub is None:
                if preserve or additional is True or (embedded and key in ROOT_FIELDS):
                    continue
                unknown.append(child(path, key))
                del value[key]
                continue
            pruned = _prune_value(value[key], sub, child(path, key), unknown)
            if pruned is _DROP:
                del value[key]
            else:
                value[key] = pruned
        return value
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        kept = []
        for i, item in enumerate(value):
            pruned = _prune_value(item, schema["items"], index(path, i), unknown)
            kept.append(None if pruned is _DROP else pruned)
        return kept
    return value


# ---------------------------------------------------------------- defaulting


def apply_defaults(value, schema):
    """Fill in `default`s of missing properties (in place), recursively."""
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                apply_defaults(value[key], sub)
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for key in value:
                if key not in props:
                    apply_defaults(value[key], additional)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(item, schema["items"])
    return value


# ---------------------------------------------------------------- validation


def validate(obj, schema):
    """Field errors of a whole custom resource against its openAPIV3Schema."""
    result = _Result()
    _validate(obj, schema, "", result)
    return result.errors


class _Result:

    def __init__(self):
        self.errors = []
        self.checks = 0

    def add(self, error):
        self.errors.append(error)


def _json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(value, wanted, int_or_string):
    if int_or_string:
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    actual = _json_type(value)
    if wanted == "number":
        return actual in ("integer", "number")
    if wanted == "integer":
        return actual == "integer" or (actual == "number" and float(value).is_integer())
    return actual == wanted


def _num(value):
    return str(int(value)) if float(value).is_integer() else repr(value)


def _validate(value, schema, path, result):
    if value is None and schema.get("nullable"):
        return
    name = path
    wanted = schema.get("type")
    int_or_string = schema.get("x-kubernetes-int-or-string")
    if (wanted or int_or_string) and not _type_ok(value, wanted, int_or_string):
        type_name = "integer,string" if int_or_string else wanted
        result.add(errors.type_invalid(name or "<nil>", _json_type(value),
                                       '%s in body must be of type %s: "%s"' % (name, type_name, _json_type(value))))
        return
    result.checks += 1
    if isinstance(value, str):
        _validate_string(value, schema, name, result)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _validate_number(value, schema, name, result)
    if "enum" in schema and value not in schema["enum"]:
        allowed = [v if isinstance(v, str) else json.dumps(v) for v in schema["enum"]]
        result.add(errors.not_supported(name, value, allowed))
    if isinstance(value, dict):
        _validate_object(value, schema, path, result)
    elif isinstance(value, list):
        _validate_array(value, schema, path, result)
    _validate_combinators(value, schema, path, result)


def _validate_string(value, schema, name, result):
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        result.add(errors.too_long(name, schema["maxLength"]))
    if "minLength" in schema and len(value) < schema["minLength"]:
        result.add(errors.invalid(name, value, "%s in body should be at least %d chars long" % (name, schema["minLength"])))
    if "pattern" in schema and not _regex(schema["pattern"]).search(value):
        result.add(errors.invalid(name, value, "%s in body should match '%s'" % (name, schema["pattern"])))
    fmt = schema.get("format")
    if fmt and not _format_ok(fmt, value):
        result.add(errors.type_invalid(name, value, '%s in body must be of type %s: "%s"' % (name, fmt, value)))


def _validate_number(value, schema, name, result):
    if "maximum" in schema:
        exclusive = schema.get("exclusiveMaximum")
        if value > schema["maximum"] or (exclusive and value == schema["maximum"]):
            words = "less than" if exclusive else "less than or equal to"
            result.add(errors.invalid(name, value, "%s in body should be %s %s" % (name, words, _num(schema["maximum"]))))
    if "minimum" in schema:
        exclusive = schema.get("exclusiveMinimum")
        if value < schema["minimum"] or (exclusive and value == schema["minimum"]):
            words = "greater than" if exclusive else "greater than or equal to"
            result.add(errors.invalid(name, value, "%s in body should be %s %s" % (name, words, _num(schema["minimum"]))))
    fmt = schema.get("format")
    limits = {"int32": 2 ** 31, "int64": 2 ** 63}
    if fmt in limits and isinstance(value, int) and not -limits[fmt] <= value < limits[fmt]:
        result.add(errors.type_invalid(name, value, "%s in body must be of type %s" % (name, fmt)))


def _validate_object(value, schema, path, result):
    for key in schema.get("required") or []:
        if key not in value:
            result.add(errors.required(child(path, key)))
    props = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    for key in value:
        sub = props.get(key)
        if sub is None and isinstance(additional, dict):
            sub = additional
        if sub is not None and not (path == "" and key == "metadata"):
            _validate(value[key], sub, child(path, key), result)
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        result.add(errors.too_many(path, len(value), schema["maxProperties"]))
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        result.add(errors.invalid(path, len(value), "%s in body should have at least %d properties" % (path, schema["minProperties"])))


def _validate_array(value, schema, path, result):
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        result.add(errors.too_many(path, len(value), schema["maxItems"]))
    if "minItems" in schema and len(value) < schema["minItems"]:
        result.add(errors.invalid(path, len(value), "%s in body should have at least %d items" % (path, schema["minItems"])))
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            _validate(item, items, index(path, i), result)
    list_type = schema.get("x-kubernetes-list-type")
    if list_type in ("set", "map") or schema.get("uniqueItems"):
        keys = schema.get("x-kubernetes-list-map-keys") or []
        seen = []
        for i, item in enumerate(value):
            ident = {k: item.get(k) for k in keys} if list_type == "map" and isinstance(item, dict) else item
            if ident in seen:
                result.add(errors.duplicate(index(path, i), ident))
            else:
                seen.append(ident)


def _validate_combinators(value, schema, path, result):
    label = json.dumps(path)
    if schema.get("anyOf"):
        results = [_sub(value, sub, path) for sub in schema["anyOf"]]
        if not any(not r.errors for r in results):
            result.add(errors.invalid("<nil>", "", "%s must validate at least one schema (anyOf)" % label))
            result.errors.extend(_best(results).errors)
    if schema.get("oneOf"):
        results = [_sub(value, sub, path) for sub in schema["oneOf"]]
        valid = sum(1 for r in results if not r.errors)
        if valid != 1:
            more = "Found none valid" if valid == 0 else "Found %d valid alternatives" % valid
            result.add(errors.invalid("<nil>", "", "%s must validate one and only one schema (oneOf). %s" % (label, more)))
            if valid == 0:
                result.errors.extend(_best(results).errors)
    if schema.get("allOf"):
        results = [_sub(value, sub, path) for sub in schema["allOf"]]
        for sub_result in results:
            result.errors.extend(sub_result.errors)
        failed = sum(1 for r in results if r.errors)
        if failed:
            more = ". None validated" if failed == len(results) else ""
            result.add(errors.invalid("<nil>", "", "%s must validate all the schemas (allOf)%s" % (label, more)))
    if isinstance(schema.get("not"), dict) and not _sub(value, schema["not"], path).errors:
        result.add(errors.invalid("<nil>", "", "%s must not validate the schema (not)" % label))


def _sub(value, schema, path):
    sub_result = _Result()
    _validate(value, schema, path, sub_result)
    return sub_result


def _best(results):
    """The failed alternative that got furthest (go-openapi keeps its errors)."""
    return max((r for r in results if r.errors), key=lambda r: (r.checks, -len(r.errors)))


_REGEX_CACHE = {}


def _regex(pattern):
    compiled = _REGEX_CACHE.get(pattern)
    if compiled is None:
        # RE2's Unicode class \PC ("not a control/other character") has no `re` spelling
        translated = pattern.replace(r"\PC", "[^\\x00-\\x1f\\x7f-\\x9f]").replace(r"\z", r"\Z")
        compiled = re.compile(translated)
        _REGEX_CACHE[pattern] = compiled
    return compiled


def _format_ok(fmt, value):
    try:
        if fmt == "cidr":
            if "/" not in value:
                return False
            address, prefix = value.split("/", 1)
            ipaddress.ip_address(address)
            return prefix.isdigit() and int(prefix) <= (32 if "." in address else 128)
        if fmt in ("ipv4", "ipv6", "ip"):
            parsed = ipaddress.ip_address(value)
            return fmt == "ip" or parsed.version == (4 if fmt == "ipv4" else 6)
        if fmt == "date-time":
            datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if fmt in ("hostname", "idn-hostname"):
            return 0 < len(value) <= 255 and all(0 < len(label) <= 63 for label in value.rstrip(".").split("."))
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- object metadata

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
                 "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
             "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def validate_name(name, dns_label=False):
    if not name:
        return [errors.required("metadata.name", "name or generateName is required")]
    if dns_label:
        if len(name) > 63:
            return [errors.invalid("metadata.name", name, "must be no more than 63 characters")]
        if not DNS1123_LABEL.match(name):
            return [errors.invalid("metadata.name", name, LABEL_MSG)]
        return []
    if len(name) > 253:
        return [errors.invalid("metadata.name", name, "must be no more than 253 characters")]
    if not DNS1123_SUBDOMAIN.match(name):
        return [errors.invalid("metadata.name", name, SUBDOMAIN_MSG)]
    return []


def validate_labels(labels, path="metadata.labels"):
    found = []
    for key, value in (labels or {}).items():
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            found.append(errors.invalid("%s" % path, value,
                                        "a valid label must be an empty string or consist of alphanumeric characters, "
                                        "'-', '_' or '.', and must start and end with an alphanumeric character "
                                        "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                                        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"))
        if not key or len(key.split("/")[-1]) > 63:
            found.append(errors.invalid(path, key, "name part must be no more than 63 characters"))
    return found
