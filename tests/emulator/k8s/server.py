"""HTTP front of one emulated cluster's apiserver: auth, routing, query options, content negotiation.

`ApiServer.handle(Request) -> Response` is wrapped with the shared fault injection and request
log (tests.emulator.faults.with_controls); injected faults answer with Kubernetes Status bodies.
"""

import json
import threading

import yaml

from .. import faults as faultlib
from ..http import Response
from ..requestlog import RequestLog
from . import discovery, errors, patch as patches, protobuf, tables
from .api import WriteOptions
from .errors import ApiError
from .resources import REVIEW_KINDS
from .selection import selector_string

PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}
NOT_FOUND = "the server could not find the requested resource"
RETURNS_OBJECT_ON_DELETE = ("Pod", "Service")
MAX_REQUEST_BODY = 3 * 1024 * 1024  # kube-apiserver --max-request-body-bytes default (3 MiB)


def _json(status, obj, headers=None):
    merged = {"Content-Type": "application/json", "Cache-Control": "no-cache, private"}
    merged.update(headers or {})
    return Response(status, merged, json.dumps(obj).encode("utf-8"))


def _error(exc):
    return _json(exc.code, exc.status(), exc.headers)


def _not_found():
    return _json(404, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": NOT_FOUND, "reason": "NotFound", "details": {}, "code": 404})


class Route:
    """A parsed resource URL."""

    def __init__(self, rtype, namespace, name, subresource, watch):
        self.rtype = rtype
        self.namespace = namespace
        self.name = name
        self.subresource = subresource
        self.watch = watch


class ApiServer:

    def __init__(self, api, tokens, kubernetes_version, controls=None, admin_token=None):
        self.api = api
        self.admin_token = admin_token
        self.registry = api.registry
        self.tokens = set(tokens)
        self.kubernetes_version = kubernetes_version
        self.controls = controls or {}
        self.faults = faultlib.FaultInjector(default_body=self._fault_body)
        self.log = RequestLog()
        self.stopping = threading.Event()
        self.bookmark_every = 5.0  # seconds of quiet before a watch that allows bookmarks gets one
        self._local = threading.local()
        self._inner = faultlib.with_controls(self._app, self.faults, self.log)

    def handle(self, request):
        self._local.request = request
        return self._inner(request)

    # ------------------------------------------------------------ faults

    def _fault_body(self, status):
        """The Status an injected fault answers with, worded as the apiserver would for that URL."""
        request = getattr(self._local, "request", None)
        route = None
        try:
            route = self._route(request.path.rstrip("/").strip("/").split("/")) if request is not None else None
        except ApiError:
            route = None
        group = route.rtype.group if route else ""
        resource = route.rtype.plural if route else ""
        name = (route.name or "") if route else ""
        if status == 409:
            return errors.conflict(group, resource, name).status()
        if status == 429:
            return errors.too_many_requests().status()
        if status == 410:
            return errors.expired("too old resource version").status()
        if status == 404:
            return errors.not_found(group, resource, name).status()
        if status == 500:
            return errors.internal_error("injected fault").status()
        reason = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 422: "Invalid", 503: "ServiceUnavailable",
                  504: "Timeout"}.get(status, "InternalError")
        return ApiError(status, reason, "injected fault: %d" % status).status()

    # ------------------------------------------------------------ dispatch

    def _app(self, request):
        try:
            if request.path.startswith("/_emulator/"):
                return self._control(request)
            return self._serve(request)
        except ApiError as exc:
            return _error(exc)

    def _control(self, request):
        name = request.path[len("/_emulator/"):]
        action = self.controls.get(name)
        if action is None:
            return _not_found()
        try:
            result = action(request.json() or {})
        except (ValueError, TypeError, KeyError) as exc:
            return _json(400, {"error": str(exc)})
        return _json(200, result if result is not None else {})

    def _serve(self, request):
        path = request.path.rstrip("/") or "/"
        if path in ("/healthz", "/livez", "/readyz"):
            return Response(200, {"Content-Type": "text/plain; charset=utf-8"}, b"ok")
        auth = request.headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or auth[len("Bearer "):].strip() not in self.tokens:
            return _error(errors.unauthorized())
        if request.oversized or len(request.body) > MAX_REQUEST_BODY:
            return _error(errors.request_entity_too_large(MAX_REQUEST_BODY))
        if path == "/version":
            return _json(200, discovery.version(self.kubernetes_version))
        if path == "/api":
            return _json(200, discovery.api_versions())
        if path == "/apis":
            return _json(200, discovery.api_groups(self.registry))
        if path == "/openapi/v3":
            return _json(200, discovery.openapi_root(self.registry))
        if path.startswith("/openapi/v3/"):
            parts = path[len("/openapi/v3/"):].split("/")
            group, version = ("", parts[1]) if parts[0] == "api" and len(parts) == 2 else (
                (parts[1], parts[2]) if parts[0] == "apis" and len(parts) == 3 else (None, None))
            doc = discovery.openapi_group_version(self.registry, group, version) if version else None
            return _json(200, doc) if doc else _not_found()
        parts = path.strip("/").split("/")
        if parts[0] == "apis" and len(parts) == 2:
            doc = discovery.api_group(self.registry, parts[1])
            return _json(200, doc) if doc else _not_found()
        if (parts[0] == "api" and len(parts) == 2) or (parts[0] == "apis" and len(parts) == 3):
            group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
            doc = discovery.resource_list(self.registry, group, version)
            return _json(200, doc) if doc else _not_found()
        route = self._route(parts)
        if route is None:
            return _not_found()
        return self._resource(request, route)

    def _route(self, parts):
        if len(parts) < 3 or parts[0] not in ("api", "apis"):
            return None
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        else:
            if len(parts) < 4:
                return None
            group, version, rest = parts[1], parts[2], parts[3:]
        watch = False
        if rest and rest[0] == "watch":
            watch, rest = True, rest[1:]
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces" and self.registry.get(group, version, rest[2]):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            return None
        rtype = self.registry.get(group, version, rest[0])
        if rtype is None:
            return None
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else ""
        known = (subresource == "status" and rtype.status) or (subresource == "scale" and rtype.scale) or (
            subresource == "log" and rtype.builtin and rtype.kind == "Pod")
        if subresource and not known:
            return None
        return Route(rtype, namespace, name, subresource, watch)

    # ------------------------------------------------------------ resources

    def _resource(self, request, route):
        method = request.method
        if route.name is None:
            if method == "GET":
                if route.watch or request.arg("watch") in ("true", "1"):
                    return self._watch(request, route)
                return self._list(request, route)
            if method == "POST":
                return self._create(request, route)
            if method == "DELETE":
                return self._delete_collection(request, route)
            raise errors.method_not_supported(route.rtype.group, route.rtype.plural, method.lower())
        if route.subresource == "scale":
            return self._scale(request, route)
        if route.subresource == "log":
            return self._log(request, route)
        if method == "GET":
            if route.watch:
                return self._watch(request, route)
            obj = self.api.get(route.rtype, route.namespace, route.name)
            return self._respond(request, route, 200, obj)
        if method == "PUT":
            obj, warnings = self.api.update(route.rtype, route.namespace, route.name, self._body(request),
                                            self._options(request), route.subresource)
            return self._respond(request, route, 200, obj, warnings)
        if method == "PATCH":
            content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip()
            patch_type = PATCH_TYPES.get(content_type)
            if patch_type is None:
                raise errors.unsupported_media_type(content_type, list(PATCH_TYPES))
            created = not self.api.exists(route.rtype, route.namespace, route.name)
            options = self._options(request)
            if patch_type == "apply":
                options.manager = request.arg("fieldManager") or ""  # apply names its manager explicitly
            obj, warnings = self.api.patch(route.rtype, route.namespace, route.name, patch_type, self._body(request),
                                           options, route.subresource)
            return self._respond(request, route, 201 if created else 200, obj, warnings)
        if method == "DELETE":
            return self._delete(request, route)
        raise errors.method_not_supported(route.rtype.group, route.rtype.plural, method.lower())

    def _respond(self, request, route, status, obj, warnings=()):
        headers = {}
        if warnings:
            headers["Warning"] = ", ".join('299 - %s' % json.dumps(w) for w in warnings)
        if self._wants_table(request):
            meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
            return _json(status, tables.to_table(route.rtype, [obj], meta, request.arg("includeObject", "Metadata")), headers)
        return _json(status, obj, headers)

    @staticmethod
    def _wants_table(request):
        accept = request.headers.get("Accept") or ""
        return "as=Table" in accept

    def _list(self, request, route):
        limit = request.arg("limit")
        items, meta = self.api.list(route.rtype, route.namespace, request.arg("labelSelector"), request.arg("fieldSelector"),
                                    int(limit) if limit and limit.isdigit() else 0, request.arg("continue"))
        if self._wants_table(request):
            return _json(200, tables.to_table(route.rtype, items, meta, request.arg("includeObject", "Metadata")))
        if route.rtype.builtin:
            items = [{k: v for k, v in item.items() if k not in ("kind", "apiVersion")} for item in items]
        return _json(200, {"kind": route.rtype.kind + "List", "apiVersion": route.rtype.api_version,
                           "metadata": meta, "items": items})

    def _watch(self, request, route):
        field_selector = request.arg("fieldSelector")
        if route.name:
            field_selector = ",".join(filter(None, [field_selector, "metadata.name=%s" % route.name]))
        timeout = request.arg("timeoutSeconds")
        stream = self.api.watch(
            route.rtype, route.namespace, request.arg("resourceVersion"), request.arg("labelSelector"), field_selector,
            timeout=float(timeout) if timeout else None,
            bookmarks=request.arg("allowWatchBookmarks") in ("true", "1"),
            send_initial=request.arg("sendInitialEvents") in ("true", "1"),
            stopped=self.stopping.is_set, bookmark_every=self.bookmark_every)
        if self._wants_table(request):
            stream = self._table_events(route, stream)
        # headers go out at once (clients wait for them); events follow as chunks
        return Response(200, {"Content-Type": "application/json", "Cache-Control": "no-cache, private"}, stream)

    @staticmethod
    def _table_events(route, stream):
        for line in stream:
            event = json.loads(line)
            obj = event["object"]
            if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
                event["object"] = tables.to_table(route.rtype, [obj], meta)
            yield (json.dumps(event) + "\n").encode("utf-8")

    def _create(self, request, route):
        if route.rtype.kind in REVIEW_KINDS:
            return self._review(request, route)
        obj, warnings = self.api.create(route.rtype, route.namespace, self._body(request), self._options(request))
        return self._respond(request, route, 201, obj, warnings)

    def _review(self, request, route):
        """Every token of an emulated cluster is a cluster admin (AKS local accounts, no Entra RBAC)."""
        body = self._body(request)
        admin = (request.headers.get("Authorization") or "").endswith(self.admin_token or "\0")
        review = {"kind": route.rtype.kind, "apiVersion": route.rtype.api_version,
                  "metadata": {"creationTimestamp": None}, "spec": body.get("spec") or {}}
        if route.rtype.kind == "SelfSubjectReview":
            review.pop("spec")
            review["status"] = {"userInfo": {"username": "masterclient" if admin else "clusterUser",
                                             "groups": ["system:masters", "system:authenticated"]}}
        else:
            review["status"] = {"allowed": True, "reason": "emulated cluster: every user is a cluster admin"}
        return _json(201, review)

    def _delete(self, request, route):
        options = self._delete_options(request)
        obj, gone = self.api.delete(route.rtype, route.namespace, route.name, options,
                                    self._delete_body(request).get("preconditions"))
        if not gone or route.rtype.kind in RETURNS_OBJECT_ON_DELETE or not route.rtype.builtin:
            return _json(200 if gone else 202, obj)
        details = {"name": route.name, "kind": route.rtype.plural, "uid": obj["metadata"].get("uid")}
        if route.rtype.group:
            details["group"] = route.rtype.group
        return _json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})

    def _delete_collection(self, request, route):
        items = self.api.delete_collection(route.rtype, route.namespace, request.arg("labelSelector"),
                                           request.arg("fieldSelector"), self._delete_options(request))
        return _json(200, {"kind": route.rtype.kind + "List", "apiVersion": route.rtype.api_version,
                           "metadata": {"resourceVersion": str(self.api.store.rv)}, "items": items})

    def _scale(self, request, route):
        rtype = route.rtype
        obj = self.api.get(rtype, route.namespace, route.name)
        scale = _scale_of(obj)
        if request.method == "GET":
            return _json(200, scale)
        if request.method not in ("PUT", "PATCH"):
            raise errors.method_not_supported(rtype.group, rtype.plural + "/scale", request.method.lower())
        body = self._body(request)
        if request.method == "PATCH":
            content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip()
            kind = PATCH_TYPES.get(content_type)
            body = patches.json_patch(scale, body) if kind == "json" else patches.merge_patch(scale, body)
        replicas = (body.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int):
            raise errors.invalid_object("autoscaling", "Scale", route.name, [errors.required("spec.replicas")])
        updated = dict(obj, spec=dict(obj.get("spec") or {}, replicas=replicas))
        updated["metadata"] = dict(obj["metadata"])
        wanted_rv = (body.get("metadata") or {}).get("resourceVersion")
        if wanted_rv:
            updated["metadata"]["resourceVersion"] = wanted_rv
        result, _unused = self.api.update(rtype, route.namespace, route.name, updated, self._options(request))
        return _json(200, _scale_of(result))

    def _log(self, request, route):
        """Container logs: a few plausible lines (a crash-looping container ends with its fatal error)."""
        if request.method != "GET":
            raise errors.method_not_supported("", "pods/log", request.method.lower())
        pod = self.api.get(route.rtype, route.namespace, route.name)
        containers = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
        container = request.arg("container") or (containers[0] if containers else "")
        if container not in containers:
            raise errors.bad_request('container %s is not valid for pod %s' % (container, route.name))
        started = (pod.get("status") or {}).get("startTime") or pod["metadata"].get("creationTimestamp", "")
        lines = ['time="%s" level=info msg="Starting %s" pod=%s/%s' % (started, container, route.namespace, route.name),
                 'time="%s" level=info msg="Configuration loaded" subsys=daemon' % started]
        state = next((s.get("state") or {} for s in (pod.get("status") or {}).get("containerStatuses") or []
                      if s.get("name") == container), {})
        if (state.get("waiting") or {}).get("reason") == "CrashLoopBackOff":
            lines.append('time="%s" level=fatal msg="Error while initializing daemon: emulated failure" subsys=daemon' % started)
        elif "running" in state:
            lines.append('time="%s" level=info msg="Daemon initialization completed" subsys=daemon' % started)
        tail = request.arg("tailLines")
        if tail and tail.isdigit():
            lines = lines[-int(tail):] if int(tail) else []
        return Response(200, {"Content-Type": "text/plain"}, "".join(line + "\n" for line in lines).encode("utf-8"))

    # ------------------------------------------------------------ request decoding

    @staticmethod
    def _body(request, required=True):
        if not request.body:
            if required:
                raise errors.bad_request("the body of the request is empty")
            return None
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type == "application/vnd.kubernetes.protobuf":
            try:
                return protobuf.decode(request.body)
            except ValueError as exc:  # kinds kubectl never creates from protobuf, or garbage
                raise errors.unsupported_media_type(content_type, ["application/json", "application/yaml"]) from exc
        try:
            return json.loads(request.body.decode("utf-8"))
        except ValueError:
            pass
        try:
            return yaml.safe_load(request.body.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise errors.bad_request("couldn't get version/kind; json parse error: %s" % exc) from exc

    @staticmethod
    def _manager(request):
        manager = request.arg("fieldManager")
        if manager:
            return manager
        agent = request.headers.get("User-Agent") or "unknown"
        return agent.split("/")[0] or "unknown"

    def _options(self, request):
        dry_run = request.query.get("dryRun") or []
        if any(value != "All" for value in dry_run):
            raise errors.bad_request("dryRun: Unsupported value: %s: supported values: \"All\"" % json.dumps(dry_run[0]))
        validation = request.arg("fieldValidation") or "Warn"
        if validation not in ("Strict", "Warn", "Ignore"):
            raise errors.bad_request('fieldValidation: Unsupported value: "%s": supported values: "Ignore", "Strict", "Warn"'
                                     % validation)
        force = request.arg("force") in ("true", "1")
        return WriteOptions(dry_run=bool(dry_run), manager=self._manager(request), validation=validation, force=force)

    def _delete_body(self, request):
        """The DeleteOptions a DELETE may carry, refused as the typed decoder would when its shape is wrong."""
        body = self._body(request, required=False) or {}
        preconditions = body.get("preconditions") if isinstance(body, dict) else None
        for value, go_type in ((body, "v1.DeleteOptions"), (preconditions, "v1.Preconditions")):
            if value is not None and not isinstance(value, dict):
                raise errors.bad_request("json: cannot unmarshal %s into Go value of type %s"
                                         % (type(value).__name__, go_type))
        dry_run, propagation = body.get("dryRun"), body.get("propagationPolicy")
        if not (dry_run is None or (isinstance(dry_run, list) and all(isinstance(v, str) for v in dry_run))) or not (
                propagation is None or isinstance(propagation, str)):
            raise errors.bad_request("json: cannot unmarshal DeleteOptions: dryRun must be a list of strings and "
                                     "propagationPolicy a string")
        return body

    def _delete_options(self, request):
        body = self._delete_body(request)
        dry_run = list(request.query.get("dryRun") or []) + list(body.get("dryRun") or [])
        propagation = request.arg("propagationPolicy") or body.get("propagationPolicy") or ""
        return WriteOptions(dry_run=bool(dry_run), manager=self._manager(request), propagation=propagation)


def _scale_of(obj):
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    meta = obj["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta},
            "spec": {"replicas": spec.get("replicas", 0)},
            "status": {"replicas": status.get("replicas", 0), "selector": selector_string(spec.get("selector"))}}
