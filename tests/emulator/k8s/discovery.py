"""Discovery documents: /version, /api, /apis, group-version resource lists, and OpenAPI v3.

Legacy (unaggregated) discovery is what both kubectl and the Python client fall back to. The
OpenAPI v3 documents carry just what kubectl reads from them: for every resource a PATCH
operation tagged with its group-version-kind, the `fieldValidation` query parameter (so kubectl
validates on the server) and the patch media types.
"""

import hashlib
import json

# Strategic merge is served for built-in kinds but not advertised here: kubectl then computes its
# patches from its compiled-in types (exact merge keys) instead of from these skeleton schemas.
PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]


def version(kubernetes_version):
    major, minor = kubernetes_version.split(".")[:2]
    return {"major": major, "minor": minor, "gitVersion": "v" + kubernetes_version,
            "gitCommit": "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828", "gitTreeState": "clean",
            "buildDate": "2025-06-17T18:01:09Z", "goVersion": "go1.24.4", "compiler": "gc", "platform": "linux/amd64"}


def api_versions():
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "10.224.0.4:443"}]}


def _group_entry(registry, group):
    versions = [{"groupVersion": "%s/%s" % (group, v), "version": v} for v in registry.versions(group)]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def api_groups(registry):
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group_entry(registry, g) for g in registry.groups() if g]}


def api_group(registry, group):
    if group not in registry.groups() or not group:
        return None
    return dict(_group_entry(registry, group), kind="APIGroup", apiVersion="v1")


def resource_list(registry, group, version_name):
    types = [t for t in registry.all() if t.group == group and t.version == version_name]
    if not types:
        return None
    resources = []
    for rtype in sorted(types, key=lambda t: t.plural):
        resources.extend(rtype.discovery())
    group_version = "%s/%s" % (group, version_name) if group else version_name
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


# ---------------------------------------------------------------- OpenAPI v3


def _gv_path(group, version_name):
    return "apis/%s/%s" % (group, version_name) if group else "api/%s" % version_name


def openapi_root(registry):
    paths = {}
    for group in registry.groups():
        for version_name in registry.versions(group):
            doc = openapi_group_version(registry, group, version_name)
            digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode("utf-8")).hexdigest()[:32].upper()
            gv_path = _gv_path(group, version_name)
            paths[gv_path] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (gv_path, digest)}
    return {"paths": paths}


def _param(name):
    return {"name": name, "in": "query", "description": name, "schema": {"type": "string", "uniqueItems": True}}


def openapi_group_version(registry, group, version_name):
    types = [t for t in registry.all() if t.group == group and t.version == version_name]
    if not types:
        return None
    paths, schemas = {}, {}
    for rtype in sorted(types, key=lambda t: t.plural):
        gvk = {"group": group, "version": version_name, "kind": rtype.kind}
        base = "/" + _gv_path(group, version_name)
        collection = base + ("/namespaces/{namespace}/" if rtype.namespaced else "/") + rtype.plural
        ref = {"$ref": "#/components/schemas/%s" % _schema_name(rtype)}
        operation = {"x-kubernetes-group-version-kind": gvk, "responses": {"200": {"content": {"application/json": {"schema": ref}}}}}
        paths[collection + "/{name}"] = {
            "get": dict(operation, operationId="read" + rtype.kind, **{"x-kubernetes-action": "get"}),
            "put": dict(operation, operationId="replace" + rtype.kind, **{"x-kubernetes-action": "put"},
                        parameters=[_param(p) for p in ("dryRun", "fieldManager", "fieldValidation")]),
            "patch": dict(operation, operationId="patch" + rtype.kind, **{"x-kubernetes-action": "patch"},
                          parameters=[_param(p) for p in ("dryRun", "fieldManager", "fieldValidation", "force")],
                          requestBody={"content": {m: {"schema": {"type": "object"}} for m in PATCH_TYPES}, "required": True}),
            "delete": dict(operation, operationId="delete" + rtype.kind, **{"x-kubernetes-action": "delete"}),
        }
        paths[collection] = {
            "get": dict(operation, operationId="list" + rtype.kind, **{"x-kubernetes-action": "list"}),
            "post": dict(operation, operationId="create" + rtype.kind, **{"x-kubernetes-action": "post"},
                         parameters=[_param(p) for p in ("dryRun", "fieldManager", "fieldValidation")]),
        }
        schema = dict(rtype.schema) if rtype.schema else {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        schema["x-kubernetes-group-version-kind"] = [gvk]
        schemas[_schema_name(rtype)] = schema
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "unversioned"}, "paths": paths,
            "components": {"schemas": schemas}}


def _schema_name(rtype):
    group = ".".join(reversed(rtype.group.split("."))) if rtype.group else "core"
    return "%s.%s.%s" % (group, rtype.version, rtype.kind)
