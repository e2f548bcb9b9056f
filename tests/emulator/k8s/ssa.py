"""Server-side apply and managedFields bookkeeping (a compact take on structured-merge-diff).

A field path is a tuple of fieldsV1 elements: "f:spec", 'k:{"name":"cilium-agent"}' (an item of a
list keyed by merge keys), 'v:"finalizer"' (a set member). Every write records who set which
fields; an apply that would change a field owned by another manager fails with the apiserver's
409 "Apply failed with N conflict(s)" unless forced, and fields an applier stops applying are
removed when nobody else owns them.
"""

import copy
import json

from .errors import ApiError

IDENTITY_META = ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
                 "deletionGracePeriodSeconds", "managedFields", "selfLink", "generateName")
MARK = object()  # value of a path that stands for a list item itself


def _dumps(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def flatten(obj, rtype, skip_status=False, only_status=False):
    """{path: value} for every owned-able field of an object (leaves, list items, set members)."""
    out = {}
    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            continue
        if (skip_status and key == "status") or (only_status and key not in ("status",)):
            continue
        if key == "metadata":
            value = {k: v for k, v in (value or {}).items() if k not in IDENTITY_META}
            if not value:
                continue
        _flatten(value, rtype, (key,), ("f:" + key,), out)
    return out


def _flatten(value, rtype, fields, path, out):
    if isinstance(value, dict):
        if not value or rtype.atomic_map(fields):
            out[path] = value
            return
        for key, sub in value.items():
            _flatten(sub, rtype, fields + (key,), path + ("f:" + key,), out)
    elif isinstance(value, list):
        keys = rtype.list_meta(fields)[0]
        if keys == "set" and all(not isinstance(v, (dict, list)) for v in value):
            for item in value:
                out[path + ("v:" + _dumps(item),)] = item
        elif isinstance(keys, list) and keys and all(isinstance(i, dict) and all(k in i for k in keys) for i in value):
            for item in value:
                item_path = path + ("k:" + _dumps({k: item[k] for k in keys}),)
                out[item_path] = MARK
                for key, sub in item.items():
                    _flatten(sub, rtype, fields + (key,), item_path + ("f:" + key,), out)
        else:
            out[path] = value
    else:
        out[path] = value


# ---------------------------------------------------------------- fieldsV1 encoding


def to_fields_v1(paths):
    root = {}
    members = set(paths)
    for path in sorted(paths):
        node = root
        for element in path:
            node = node.setdefault(element, {})
    _mark(root, (), members)
    return root


def _mark(node, prefix, members):
    for element, child in node.items():
        path = prefix + (element,)
        if child:
            _mark(child, path, members)
            if path in members:
                child["."] = {}


def from_fields_v1(tree, prefix=()):
    paths = set()
    for element, child in (tree or {}).items():
        if element == ".":
            paths.add(prefix)
            continue
        path = prefix + (element,)
        if not child:
            paths.add(path)
        else:
            paths |= from_fields_v1(child, path)
    return paths


def path_string(path):
    """fieldpath.Path.String(): .spec.template.spec.containers[name="cilium-agent"].image"""
    text = ""
    for element in path:
        kind, rest = element[:1], element[2:]
        if kind == "f":
            text += "." + rest
        elif kind == "k":
            text += "[%s]" % ",".join("%s=%s" % (k, json.dumps(v)) for k, v in sorted(json.loads(rest).items()))
        elif kind == "v":
            text += "[=%s]" % rest
        else:
            text += "[%s]" % rest
    return text


# ---------------------------------------------------------------- managers


class Entry:
    """One managedFields entry with its field set decoded."""

    def __init__(self, raw):
        self.raw = dict(raw)
        self.fields = from_fields_v1(raw.get("fieldsV1"))

    def same_manager(self, manager, operation, subresource):
        return (self.raw.get("manager") == manager and self.raw.get("operation") == operation
                and self.raw.get("subresource", "") == (subresource or ""))

    def describe(self):
        text = '"%s"' % self.raw.get("manager", "")
        if self.raw.get("subresource"):
            text += ' with subresource "%s"' % self.raw["subresource"]
        if self.raw.get("operation") == "Update":
            text += " using %s" % self.raw.get("apiVersion", "")
        return text

    def dump(self):
        raw = dict(self.raw)
        raw["fieldsType"] = "FieldsV1"
        raw["fieldsV1"] = to_fields_v1(self.fields)
        return raw


def load(obj):
    return [Entry(raw) for raw in ((obj or {}).get("metadata") or {}).get("managedFields") or [] if raw]


def dump(entries):
    return [entry.dump() for entry in entries if entry.fields]


def _own(entries, manager, operation, api_version, subresource, now):
    for entry in entries:
        if entry.same_manager(manager, operation, subresource):
            entry.raw["apiVersion"] = api_version
            entry.raw["time"] = now
            return entry
    raw = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": now}
    if subresource:
        raw["subresource"] = subresource
    entry = Entry(raw)
    entries.append(entry)
    return entry


def record_update(old, new, rtype, manager, api_version, now, subresource=""):
    """managedFields after a non-apply write of `new` over `old` (None on create) by `manager`."""
    entries = load(old)
    old_flat = flatten(old, rtype) if old else {}
    new_flat = flatten(new, rtype)
    changed = {p for p, v in new_flat.items() if p not in old_flat or (v is not MARK and old_flat[p] != v)}
    removed = set(old_flat) - set(new_flat)
    for entry in entries:
        entry.fields -= removed
        entry.fields -= changed
    if changed:
        entry = _own(entries, manager, "Update", api_version, subresource, now)
        entry.fields |= changed
    return dump(entries)


# ---------------------------------------------------------------- apply


def apply(live, config, rtype, manager, force, api_version, now, subresource=""):
    """Server-side apply of `config` onto `live` (None to create): (merged object, managedFields)."""
    entries = load(live)
    status_only = subresource == "status"
    applied = flatten(config, rtype, skip_status=rtype.status and not status_only, only_status=status_only)
    live_flat = flatten(live, rtype) if live else {}
    conflicts = []
    for entry in entries:
        if entry.same_manager(manager, "Apply", subresource):
            continue
        for path in sorted(entry.fields & set(applied)):
            value = applied[path]
            if value is MARK or path not in live_flat or live_flat[path] == value:
                continue
            conflicts.append((entry, path))
    if conflicts and not force:
        raise conflict_error(conflicts)
    for entry, path in conflicts:
        entry.fields.discard(path)
    merged = _merge(copy.deepcopy(live or {}), copy.deepcopy(config), rtype, ())
    own = _own(entries, manager, "Apply", api_version, subresource, now)
    previous = set(own.fields)
    own.fields = set(applied)
    others = set()
    for entry in entries:
        if entry is not own:
            others |= entry.fields
    for path in sorted(previous - set(applied) - others, key=len, reverse=True):
        _remove_path(merged, path)
    return merged, dump(entries)


def conflict_error(conflicts):
    causes = [{"type": "FieldManagerConflict", "message": "conflict with %s" % entry.describe(), "field": path_string(path)}
              for entry, path in conflicts]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = "Apply failed with 1 conflict: conflict with %s: %s" % (entry.describe(), path_string(path))
    else:
        by_manager = {}
        for entry, path in conflicts:
            by_manager.setdefault(entry.describe(), []).append(path_string(path))
        lines = []
        for manager in sorted(by_manager):
            lines.append("conflicts with %s:" % manager)
            lines.extend("- %s" % p for p in by_manager[manager])
        message = "Apply failed with %d conflicts: %s" % (len(conflicts), "\n".join(lines))
    return ApiError(409, "Conflict", message, {"causes": causes})


def _merge(live, config, rtype, fields):
    if not isinstance(live, dict) or not isinstance(config, dict) or (fields and rtype.atomic_map(fields)):
        return config
    result = dict(live)
    for key, value in config.items():
        sub_fields = fields + (key,)
        if isinstance(value, dict):
            result[key] = _merge(result.get(key), value, rtype, sub_fields)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(result[key], value, rtype, sub_fields)
        else:
            result[key] = value
    return result


def _merge_list(live, config, rtype, fields):
    keys = rtype.list_meta(fields)[0]
    if keys == "set":
        return list(live) + [v for v in config if v not in live]
    if not isinstance(keys, list) or not keys:
        return config
    result = list(live)
    for item in config:
        if not isinstance(item, dict):
            return config
        ident = {k: item.get(k) for k in keys}
        position = next((i for i, old in enumerate(result)
                         if isinstance(old, dict) and {k: old.get(k) for k in keys} == ident), None)
        if position is None:
            result.append(item)
        else:
            result[position] = _merge(result[position], item, rtype, fields)
    return result


def _remove_path(obj, path):
    """Delete the field, list item or set member that `path` names (if still there)."""
    node, parent, last = obj, None, None
    for element in path:
        parent, last = node, element
        kind, rest = element[:1], element[2:]
        if kind == "f" and isinstance(node, dict):
            node = node.get(rest)
        elif kind == "k" and isinstance(node, list):
            ident = json.loads(rest)
            node = next((i for i in node if isinstance(i, dict) and all(i.get(k) == v for k, v in ident.items())), None)
        elif kind == "v" and isinstance(node, list):
            value = json.loads(rest)
            node = value if value in node else None
        else:
            node = None
        if node is None:
            return
    kind, rest = last[:1], last[2:]
    if kind == "f":
        parent.pop(rest, None)
    elif kind in ("k", "v"):
        parent.remove(node)
