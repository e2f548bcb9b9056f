"""The three PATCH formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

Strategic merge knows list merge keys from the resource type (containers by name, ports by
containerPort, ...) and the directives kubectl sends: $patch (replace/delete/merge), $retainKeys,
$setElementOrder/<list> and $deleteFromPrimitiveList/<list>.
"""

import copy

from .errors import ApiError, bad_request


def invalid_patch(message):
    """JSON patch application errors come back as a bare 422 (NewGenericServerResponse)."""
    return ApiError(422, "Invalid", message)


# ---------------------------------------------------------------- JSON merge patch


def merge_patch(original, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = merge_patch(result.get(key), value)
        else:
            result[key] = copy.deepcopy(value)
    return result


# ---------------------------------------------------------------- JSON patch


def _unescape(token):
    return token.replace("~1", "/").replace("~0", "~")


def _tokens(pointer):
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise bad_request('json patch path must start with "/": %s' % pointer)
    return [_unescape(t) for t in pointer[1:].split("/")]


def _container(doc, tokens, op, pointer):
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise invalid_patch("%s operation does not apply: doc is missing path: %s: missing value" % (op, pointer))
    return node


def _get(doc, pointer, op):
    tokens = _tokens(pointer)
    if not tokens:
        return doc
    node = _container(doc, tokens, op, pointer)
    last = tokens[-1]
    if isinstance(node, dict) and last in node:
        return node[last]
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        return node[int(last)]
    raise invalid_patch("%s operation does not apply: doc is missing path: %s: missing value" % (op, pointer))


def _add(doc, pointer, value, op="add"):
    tokens = _tokens(pointer)
    if not tokens:
        return value
    node = _container(doc, tokens, op, pointer)
    last = tokens[-1]
    if isinstance(node, dict):
        node[last] = value
    elif isinstance(node, list):
        if last == "-":
            node.append(value)
        elif last.isdigit() and int(last) <= len(node):
            node.insert(int(last), value)
        else:
            raise invalid_patch("%s operation does not apply: doc is missing path: %s: missing value" % (op, pointer))
    else:
        raise invalid_patch("%s operation does not apply: doc is missing path: %s: missing value" % (op, pointer))
    return doc


def _remove(doc, pointer, op="remove"):
    tokens = _tokens(pointer)
    node = _container(doc, tokens, op, pointer)
    last = tokens[-1] if tokens else ""
    if isinstance(node, dict) and last in node:
        return node.pop(last)
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        return node.pop(int(last))
    raise invalid_patch("%s operation does not apply: doc is missing path: %s: missing value" % (op, pointer))


def json_patch(original, operations):
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(original)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation:
            raise bad_request("Unexpected kind: missing op")
        op, path = operation["op"], operation.get("path", "")
        if op == "add":
            doc = _add(doc, path, copy.deepcopy(operation.get("value")))
        elif op == "remove":
            _remove(doc, path)
        elif op == "replace":
            _remove(doc, path, "replace")
            doc = _add(doc, path, copy.deepcopy(operation.get("value")), "replace")
        elif op == "move":
            value = _remove(doc, operation.get("from", ""), "move")
            doc = _add(doc, path, value, "move")
        elif op == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, operation.get("from", ""), "copy")), "copy")
        elif op == "test":
            if _get(doc, path, "test") != operation.get("value"):
                raise invalid_patch("testing value %s failed: test failed" % path)
        else:
            raise bad_request("Unexpected kind: %s" % op)
    return doc


# ---------------------------------------------------------------- strategic merge patch

DIRECTIVE = "$patch"
RETAIN = "$retainKeys"
ORDER = "$setElementOrder/"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_DELETE = object()


def strategic_merge(original, patch, rtype):
    """Apply a strategic merge patch for resource type rtype (merge keys from rtype.list_meta)."""
    if not isinstance(patch, dict):
        raise bad_request("unable to unmarshal patch: expected an object")
    result = _merge_map(original if isinstance(original, dict) else {}, patch, (), rtype)
    return {} if result is _DELETE else result


def _merge_map(original, patch, fields, rtype):
    directive = patch.get(DIRECTIVE)
    if directive == "delete":
        return _DELETE
    if directive == "replace":
        return _strip(patch)
    if directive not in (None, "merge"):
        raise bad_request("Unknown patch type: %s in map: %s" % (directive, patch))
    result = dict(original)
    if RETAIN in patch:
        keep = set(patch[RETAIN] or [])
        result = {k: v for k, v in result.items() if k in keep}
    orders = {}
    for key, value in patch.items():
        if key in (DIRECTIVE, RETAIN):
            continue
        if key.startswith(ORDER):
            orders[key[len(ORDER):]] = value
            continue
        if key.startswith(DELETE_PRIMITIVE):
            name = key[len(DELETE_PRIMITIVE):]
            result[name] = [v for v in result.get(name) or [] if v not in value]
            continue
        sub_fields = fields + (key,)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = _merge_map(result.get(key) if isinstance(result.get(key), dict) else {}, value, sub_fields, rtype)
            if merged is _DELETE:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key) if isinstance(result.get(key), list) else [], value, sub_fields, rtype)
        else:
            result[key] = copy.deepcopy(value)
    for name, order in orders.items():
        if isinstance(result.get(name), list):
            result[name] = _reorder(result[name], order, rtype.list_meta(fields + (name,))[1])
    return result


def _strip(value):
    """A value with its $-directives removed (for $patch: replace)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _merge_list(original, patch, fields, rtype):
    merge_key = rtype.list_meta(fields)[1]
    if merge_key is None:
        return [_strip(v) for v in patch]
    if merge_key == "set":
        result = list(original)
        for value in patch:
            if value not in result:
                result.append(copy.deepcopy(value))
        return result
    if any(isinstance(item, dict) and item.get(DIRECTIVE) == "replace" for item in patch):
        return [_strip(item) for item in patch if not (isinstance(item, dict) and DIRECTIVE in item)]
    result = [copy.deepcopy(item) for item in original]
    for item in patch:
        if not isinstance(item, dict):
            raise bad_request("unable to find api field in struct for the merge key %s" % merge_key)
        if merge_key not in item:
            raise bad_request("map: %s does not contain declared merge key: %s" % (item, merge_key))
        position = next((i for i, existing in enumerate(result)
                         if isinstance(existing, dict) and existing.get(merge_key) == item[merge_key]), None)
        if item.get(DIRECTIVE) == "delete":
            if position is not None:
                del result[position]
            continue
        if position is None:
            result.append(_strip(item))
        else:
            merged = _merge_map(result[position], item, fields, rtype)
            if merged is _DELETE:
                del result[position]
            else:
                result[position] = merged
    return result


def _reorder(items, order, merge_key):
    def ident(value):
        return value.get(merge_key) if isinstance(value, dict) and merge_key not in (None, "set") else value

    wanted = [ident(o) for o in order]
    ranked = [item for w in wanted for item in items if ident(item) == w]
    rest = [item for item in items if ident(item) not in wanted]
    return ranked + rest
