"""The apiserver's error objects: metav1.Status bodies and field-level validation errors.

Messages follow k8s.io/apimachinery (api/errors, util/validation/field) word for word, because
clients and tests match on them.
"""

import json


class ApiError(Exception):
    """An error answered as a metav1.Status with `code`."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason}
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def qualified(group, resource):
    """schema.GroupResource.String(): "deployments.apps", "pods"."""
    return "%s.%s" % (resource, group) if group else resource


def _details(group, resource, name):
    details = {"name": name, "kind": resource}
    if group:
        details["group"] = group
    if not name:
        details.pop("name")
    return details


def not_found(group, resource, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (qualified(group, resource), name),
                    _details(group, resource, name))


def already_exists(group, resource, name):
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (qualified(group, resource), name),
                    _details(group, resource, name))


MODIFIED = "the object has been modified; please apply your changes to the latest version and try again"


def conflict(group, resource, name, why=MODIFIED):
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": %s' % (qualified(group, resource), name, why),
                    _details(group, resource, name))


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def expired(message):
    return ApiError(410, "Expired", message)


def method_not_supported(group, resource, action):
    return ApiError(405, "MethodNotAllowed", '%s is not supported on resources of kind "%s"' % (action, qualified(group, resource)),
                    {"group": group, "kind": resource} if group else {"kind": resource})


def unsupported_media_type(content_type, accepted):
    return ApiError(415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: " + ", ".join(accepted))


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def too_many_requests(retry_after=1):
    return ApiError(429, "TooManyRequests", "Too many requests, please try again later.",
                    {"retryAfterSeconds": retry_after}, {"Retry-After": str(retry_after)})


def request_entity_too_large(limit):
    # apiserver's limitedReadBody: NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", limit))
    return ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is %d" % limit)


def internal_error(message):
    return ApiError(500, "InternalError", "Internal error occurred: %s" % message, {"causes": [{"message": message}]})


def go_value(value):
    """How field.Error prints a bad value (Go's %q / %v / %#v)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        if all(isinstance(v, str) for v in value.values()):
            return "map[string]string{%s}" % ", ".join("%s:%s" % (json.dumps(k), json.dumps(v)) for k, v in sorted(value.items()))
        return "map[string]interface {}{%s}" % ", ".join("%s:%s" % (json.dumps(k), go_value(v)) for k, v in sorted(value.items()))
    if isinstance(value, list):
        return "[]interface {}{%s}" % ", ".join(go_value(v) for v in value)
    return str(value)


_OMIT = object()

TYPE_WORDS = {
    "FieldValueRequired": "Required value", "FieldValueInvalid": "Invalid value", "FieldValueTypeInvalid": "Invalid value",
    "FieldValueNotSupported": "Unsupported value", "FieldValueDuplicate": "Duplicate value", "FieldValueForbidden": "Forbidden",
    "FieldValueTooLong": "Too long", "FieldValueTooMany": "Too many", "FieldValueNotFound": "Not found",
    "InternalError": "Internal error",
}


class FieldError:
    """util/validation/field.Error."""

    def __init__(self, kind, field, value=_OMIT, detail=""):
        self.kind = kind
        self.field = field
        self.value = value
        self.detail = detail

    def body(self):
        words = TYPE_WORDS[self.kind]
        if self.kind in ("FieldValueRequired", "FieldValueForbidden", "FieldValueTooLong", "InternalError") or self.value is _OMIT:
            text = words
        else:
            text = "%s: %s" % (words, go_value(self.value))
        if self.detail:
            text += ": " + self.detail
        return text

    def __str__(self):
        return "%s: %s" % (self.field, self.body())


def required(field, detail=""):
    return FieldError("FieldValueRequired", field, detail=detail)


def invalid(field, value, detail=""):
    return FieldError("FieldValueInvalid", field, value, detail)


def type_invalid(field, value, detail):
    return FieldError("FieldValueTypeInvalid", field, value, detail)


def not_supported(field, value, allowed):
    return FieldError("FieldValueNotSupported", field, value, "supported values: " + ", ".join(json.dumps(v) for v in allowed))


def duplicate(field, value):
    return FieldError("FieldValueDuplicate", field, value)


def forbidden(field, detail):
    return FieldError("FieldValueForbidden", field, detail=detail)


def too_long(field, maximum):
    return FieldError("FieldValueTooLong", field, "", "may not be more than %d bytes" % maximum)


def too_many(field, actual, maximum):
    return FieldError("FieldValueTooMany", field, actual, "must have at most %d items" % maximum)


def invalid_object(group, kind, name, field_errors):
    """errors.NewInvalid: 422 with one cause per field error, deduplicated like ToAggregate."""
    seen, unique = set(), []
    for err in field_errors:
        text = str(err)
        if text not in seen:
            seen.add(text)
            unique.append(err)
    qualified_kind = "%s.%s" % (kind, group) if group else kind
    messages = [str(err) for err in unique]
    summary = messages[0] if len(messages) == 1 else "[%s]" % ", ".join(messages)
    details = {"name": name, "kind": kind,
               "causes": [{"reason": err.kind, "message": err.body(), "field": err.field} for err in field_errors]}
    if group:
        details["group"] = group
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (qualified_kind, name, summary), details)
