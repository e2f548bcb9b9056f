"""Label selectors (equality- and set-based) and field selectors, parsed like apimachinery does."""

import re

from .errors import bad_request

_KEY = r"[A-Za-z0-9./_-]+"
_VALUE = r"[A-Za-z0-9._-]*"
_SET = re.compile(r"^\s*(%s)\s+(in|notin)\s+\(([^)]*)\)\s*$" % _KEY)
_CMP = re.compile(r"^\s*(%s)\s*(==|!=|=)\s*(%s)\s*$" % (_KEY, _VALUE))
_EXISTS = re.compile(r"^\s*(!?)\s*(%s)\s*$" % _KEY)


def _split_top(text):
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def parse_labels(text):
    """A list of (key, op, values) requirements; op in =, !=, in, notin, exists, !exists."""
    requirements = []
    for part in _split_top(text or ""):
        match = _SET.match(part)
        if match:
            values = [v.strip() for v in match.group(3).split(",") if v.strip()]
            requirements.append((match.group(1), match.group(2), values))
            continue
        match = _CMP.match(part)
        if match:
            op = "!=" if match.group(2) == "!=" else "="
            requirements.append((match.group(1), op, [match.group(3)]))
            continue
        match = _EXISTS.match(part)
        if match:
            requirements.append((match.group(2), "!exists" if match.group(1) else "exists", []))
            continue
        raise bad_request("unable to parse requirement: found '%s', expected: identifier" % part.strip())
    return requirements


def labels_match(requirements, labels):
    labels = labels or {}
    for key, op, values in requirements:
        present = key in labels
        if op == "=" and (not present or labels[key] != values[0]):
            return False
        if op == "!=" and present and labels[key] == values[0]:
            return False
        if op == "in" and (not present or labels[key] not in values):
            return False
        if op == "notin" and present and labels[key] in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
    return True


def selector_requirements(selector):
    """A metav1.LabelSelector (matchLabels + matchExpressions) as requirements."""
    selector = selector or {}
    requirements = [(k, "=", [v]) for k, v in sorted((selector.get("matchLabels") or {}).items())]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expr in selector.get("matchExpressions") or []:
        requirements.append((expr["key"], ops[expr["operator"]], list(expr.get("values") or [])))
    return requirements


def selector_string(selector):
    """The form kubectl prints for a LabelSelector ("k8s-app=cilium")."""
    parts = []
    for key, op, values in selector_requirements(selector):
        if op in ("=", "!="):
            parts.append("%s%s%s" % (key, op, values[0]))
        elif op in ("in", "notin"):
            parts.append("%s %s (%s)" % (key, op, ",".join(values)))
        else:
            parts.append(key if op == "exists" else "!" + key)
    return ",".join(parts)


def parse_fields(text, allowed):
    """A list of (path, op, value); path must be one of `allowed` (dotted paths)."""
    requirements = []
    for part in _split_top(text or ""):
        match = re.match(r"^\s*([A-Za-z0-9._-]+)\s*(==|!=|=)\s*(.*?)\s*$", part)
        if not match:
            raise bad_request("invalid selector: '%s'; can't understand '%s'" % (text, part))
        path = match.group(1)
        if path not in allowed:
            raise bad_request('"%s" is not a known field selector: only %s' % (path, ", ".join('"%s"' % a for a in allowed)))
        requirements.append((path, "!=" if match.group(2) == "!=" else "=", match.group(3)))
    return requirements


def field_value(obj, path):
    node = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def fields_match(requirements, obj):
    for path, op, value in requirements:
        actual = field_value(obj, path)
        if (op == "=") != (actual == value):
            return False
    return True
