"""The ARM emulator: routing, the front door's checks (token, api-version, subscription) and LROs."""

import re
import threading
import uuid
from dataclasses import dataclass

from ..faults import FaultInjector
from ..http import Response, json_response
from . import (agentpools, aks, authorization, ids, msi, naming, network, nsg, resources, rules, subnet_usage,
               versions)
from .errors import ArmError, bad_request, resource_group_not_found
from .identity import Identity
from .kube import KubeBridge
from .operations import Operations
from .state import Store

SUBSCRIPTION_ID = "0b1f6471-1bf0-4dda-aec3-111122223333"
TENANT_ID = "5e1c7a2d-0b4f-4c8e-9a3d-6f2b8c1e4d70"
CLIENT_ID = "9d6c1f0e-5a8b-4c3e-8f21-0a1b2c3d4e5f"
CLIENT_SECRET = "emulator-client-secret"
AKS_OPERATION_API_VERSION = "2016-03-30"  # what real AKS puts in its Azure-AsyncOperation URLs

FAULT_CODES = {429: ("SubscriptionRequestsThrottled", "Number of requests for subscription exceeded the limit. Please try "
                                                      "again later."),
               500: ("InternalServerError", "Encountered internal server error. Please try again."),
               502: ("BadGateway", "The gateway did not receive a response within the specified time period."),
               503: ("ServiceUnavailable", "The service is currently unavailable. Please try again later."),
               504: ("GatewayTimeout", "The gateway did not receive a response within the specified time period.")}


def arm_fault_body(status):
    code, message = FAULT_CODES.get(status, ("InjectedFault", "Injected fault (HTTP %d)." % status))
    return {"error": {"code": code, "message": message}}


@dataclass
class Settings:
    """Knobs tests may change at any time (emulator.arm.settings.provision_delay = 5)."""
    provision_delay: float = 0.0   # seconds an AKS operation takes; 0 = done by the client's first poll
    migration_delay: float = 0.0   # at least this long for a network migration (IPAM, data plane, policy engine)
    drain_timeout: float = 20.0    # how long a drain retries an eviction refused while a budget's pods are unready
    retry_after: int = 1           # Retry-After on LRO responses; never 0 (azure-core would then wait 30 s)
    pod_ready_delay: float = 0.0   # passed to the Kubernetes emulator
    kubernetes: bool = True        # start Kubernetes API servers for clusters (when tests.emulator.k8s exists)
    default_kubernetes_version: str = rules.DEFAULT_KUBERNETES_VERSION


def _operation_status(arm, request, sub, op_id, provider=None, location=None):
    del request, sub, provider, location
    op = arm.ops.get(op_id)
    if op is None:
        raise ArmError(404, "OperationNotFound", "The operation '%s' could not be found." % op_id)
    headers = {} if op.done else {"Retry-After": str(arm.retry_after())}
    return json_response(200, op.status_body(), headers)


def _operation_result(arm, request, sub, op_id, provider=None, location=None):
    """The Location URL: 202 while running, then the outcome."""
    del sub, provider, location
    op = arm.ops.get(op_id)
    if op is None:
        raise ArmError(404, "OperationNotFound", "The operation '%s' could not be found." % op_id)
    if not op.done:
        url = arm.base_url + request.path + "?api-version=" + (request.arg("api-version") or "")
        return Response(202, {"Location": url, "Retry-After": str(arm.retry_after())})
    if op.status != "Succeeded":
        return json_response(op.error_status, {"error": op.error})
    if op.kind == "delete":
        return Response(200 if op.provider == "Microsoft.Resources" else 204)
    body = arm.store.get(op.resource_id)
    return json_response(200, body) if body is not None else Response(204)


OPERATION_ROUTES = [
    ("GET", r"/subscriptions/(?P<sub>[^/]+)/providers/(?P<provider>[^/]+)/locations/(?P<location>[^/]+)/operations/"
            r"(?P<op_id>[^/]+)", _operation_status),
    ("GET", r"/subscriptions/(?P<sub>[^/]+)/providers/(?P<provider>[^/]+)/locations/(?P<location>[^/]+)/operationresults/"
            r"(?P<op_id>[^/]+)", _operation_result),
    ("GET", r"/subscriptions/(?P<sub>[^/]+)/operationresults/(?P<op_id>[^/]+)", _operation_result),
]
RG = r"/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)"


def _compile(routes):
    return [(method, re.compile(pattern.replace("{rg}", RG), re.IGNORECASE), handler) for method, pattern, handler in routes]


class ArmEmulator:
    """Azure Resource Manager + Entra ID for one subscription, in memory.

    `handle(Request) -> Response` is the server callable (wrap it with faults.with_controls).
    """

    def __init__(self, ca=None, faults=None, state_file=None, subscription_id=SUBSCRIPTION_ID, tenant_id=TENANT_ID,
                 client_id=CLIENT_ID, client_secret=CLIENT_SECRET, settings=None):
        self.subscription_id = subscription_id
        self.settings = settings or Settings()
        self.identity = Identity(tenant_id, client_id, client_secret)
        self.faults = faults if faults is not None else FaultInjector(default_body=arm_fault_body)
        self.store = Store(state_file)
        self.ops = Operations()
        self.kube = KubeBridge(ca, self.settings, self.store)
        self.lock = threading.RLock()
        self.base_url = None
        self._identity_routes = _compile([
            ("GET", r"/metadata/endpoints", lambda arm, req: arm.identity.metadata(req)),
            # the OIDC issuer of workload identity tokens (an AKS cluster's, in real life)
            ("GET", r"/oidc/(?P<name>[^/]+)/\.well-known/openid-configuration",
             lambda arm, req, name: arm.identity.issuer_discovery(req, name)),
            ("GET", r"/oidc/(?P<name>[^/]+)/openid/v1/jwks", lambda arm, req, name: arm.identity.issuer_keys(req, name)),
            ("GET", r"/common/discovery/instance", lambda arm, req: arm.identity.instance_discovery(req)),
            ("GET", r"/(?P<tenant>[^/]+)(/v2\.0)?/\.well-known/openid-configuration",
             lambda arm, req, tenant: arm.identity.openid_configuration(req, tenant)),
            ("POST", r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token", lambda arm, req, tenant: arm.identity.token(req, tenant)),
        ])
        self._arm_routes = _compile(OPERATION_ROUTES + resources.ROUTES + naming.ROUTES + network.ROUTES + nsg.ROUTES
                                    + subnet_usage.ROUTES + aks.ROUTES + agentpools.ROUTES + versions.ROUTES
                                    + authorization.ROUTES + msi.ROUTES)

    def bind(self, base_url):
        """Called once the server knows its URL; finishes what a saved state left in flight."""
        self.base_url = base_url
        self.identity.base_url = base_url
        with self.lock:
            self._recover()

    # ---- request handling ---------------------------------------------------------------
    def handle(self, request):
        with self.lock:
            self.ops.tick()
            try:
                response = self._route(request)
            except ArmError as exc:
                response = exc.response()
            self.store.save()
        if request.path.lower().startswith("/subscriptions"):
            response.headers.update(self._arm_headers(request))
        return response

    def _route(self, request):
        if request.oversized:
            # assumption: the front door's wording is not documented; the status is HTTP's
            raise ArmError(413, "RequestEntityTooLarge", "The request content is larger than the service accepts.")
        path = request.path.rstrip("/") or "/"
        for routes, front_door in ((self._identity_routes, False), (self._arm_routes, True)):
            matched = [(method, pattern.fullmatch(path), handler) for method, pattern, handler in routes]
            matched = [(method, match, handler) for method, match, handler in matched if match]
            if not matched:
                continue
            if front_door:
                self._front_door(request, matched[0][1].groupdict().get("sub"))
            for method, match, handler in matched:
                if method == request.method:
                    return handler(self, request, **match.groupdict())
            raise ArmError(405, "MethodNotAllowed", "The requested resource does not support http method '%s'."
                           % request.method)
        if path.lower().startswith("/subscriptions"):
            self._front_door(request, None)
            raise ArmError(404, "InvalidResourceType", "The resource type could not be found for path '%s'." % path)
        return json_response(404, {"error": {"code": "NotFound", "message": "No such endpoint: %s" % path}})

    def _front_door(self, request, sub):
        self.identity.check_bearer(request)
        if not request.arg("api-version"):
            raise bad_request("MissingApiVersionParameter",
                              "The api-version query parameter (?api-version=) is required for all requests.")
        if sub is not None and sub.lower() != self.subscription_id.lower():
            raise ArmError(404, "SubscriptionNotFound", "The subscription '%s' could not be found." % sub)

    @staticmethod
    def _arm_headers(request):
        request_id = str(uuid.uuid4())
        kind = {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}.get(request.method, "writes")
        return {"x-ms-request-id": request_id,
                "x-ms-correlation-request-id": request.headers.get("x-ms-client-request-id") or request_id,
                "x-ms-ratelimit-remaining-subscription-" + kind: "11999" if kind == "reads" else "1199"}

    # ---- helpers for the resource modules -------------------------------------------------
    @staticmethod
    def json_body(request, shape=None):
        """The request's JSON object; with a naming.*_SHAPE, fields of the wrong JSON type are refused."""
        try:
            body = request.json()
        except ValueError as exc:
            raise bad_request("InvalidRequestContent",
                              "The request content was invalid and could not be deserialized: '%s'." % exc) from None
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise bad_request("InvalidRequestContent", "The request content was invalid: a JSON object is required.")
        if shape is not None:
            naming.check_shape(body, shape)
        return body

    def require_resource_group(self, sub, rg):
        group = self.store.get(ids.resource_group(sub, rg))
        if group is None:
            raise resource_group_not_found(rg)
        return group

    def retry_after(self):
        return max(1, int(self.settings.retry_after))

    def start_operation(self, request, resource_id, kind, provider, location, on_done=None):
        """Start an LRO; fault rules (lro=..., provision_delay=...) for this request shape its outcome."""
        # the global delay is for AKS provisioning; resource groups and VNets finish by the first poll
        duration = self.settings.provision_delay if provider == aks.PROVIDER else 0.0
        planned = None
        rule = self.faults.operation_rule(request.method, request.path)
        if rule is not None:
            if rule.get("provision_delay") is not None:
                duration = float(rule["provision_delay"])
            if rule.get("lro"):
                error = rule.get("error") or {"code": "InternalOperationError",
                                              "message": "Injected fault: the operation ended %s." % rule["lro"]}
                planned = {"status": rule["lro"], "error": error, "error_status": rule.get("status")}
        return self.ops.start(resource_id, kind, provider, location.replace(" ", "").lower(), duration,
                              on_done or (lambda op: None), planned)

    def lro_headers(self, op, request, location=False):
        """Azure-AsyncOperation (+ Location) URLs of an operation, the way its resource provider spells them."""
        api_version = request.arg("api-version") or ""
        status_version = AKS_OPERATION_API_VERSION if op.provider == aks.PROVIDER else api_version
        base = "%s/subscriptions/%s/providers/%s/locations/%s" % (self.base_url, self.subscription_id, op.provider,
                                                                  op.location)
        headers = {"Azure-AsyncOperation": "%s/operations/%s?api-version=%s" % (base, op.id, status_version),
                   "Retry-After": str(self.retry_after())}
        if location:
            headers["Location"] = "%s/operationresults/%s?api-version=%s" % (base, op.id, api_version)
        return headers

    def group_result_url(self, op, request):
        return "%s/subscriptions/%s/operationresults/%s?api-version=%s" % (
            self.base_url, self.subscription_id, op.id, request.arg("api-version") or "")

    def delete_group_contents(self, group_id):
        """Resource-group delete: clusters first (they hold subnets), then everything else."""
        for cluster in [b for b in self.store.below(group_id) if b.get("type") == aks.TYPE]:
            self.kube.stop(cluster["id"])
            aks.release_subnets(self, cluster)
            node_rg = ids.resource_group(self.subscription_id, cluster["properties"]["nodeResourceGroup"])
            for body in self.store.below(node_rg):
                self.store.delete(body["id"])
            self.store.delete(node_rg)
            self.store.delete(cluster["id"])
        for body in self.store.below(group_id):
            for subnet in (body.get("properties") or {}).get("subnets") or []:
                if network.subnet_in_use_by(subnet):
                    raise network.in_use_error(subnet)
        for body in self.store.below(group_id):
            self.store.delete(body["id"])

    # ---- in-process access for tests --------------------------------------------------------
    def resource(self, resource_id):
        with self.lock:
            return self.store.get(resource_id)

    def cluster(self, resource_group, name):
        return self.resource(ids.cluster(self.subscription_id, resource_group, name))

    def subnet(self, resource_group, vnet, name):
        with self.lock:
            return network.find_subnet(self.store, ids.subnet(ids.vnet(self.subscription_id, resource_group, vnet), name))[1]

    def finish_operations(self):
        """Complete every pending long-running operation now."""
        with self.lock:
            self.ops.finish_all()
            self.store.save()

    def pending_operations(self):
        with self.lock:
            return list(self.ops.pending())

    def reset(self):
        """Forget every resource and operation (the identity and settings stay)."""
        with self.lock:
            self.kube.stop_all()
            for body in self.store.all():
                self.store.delete(body["id"])
            self.store.meta.clear()
            self.ops = Operations()

    def close(self):
        with self.lock:
            self.kube.stop_all()
            self.store.save()

    def _recover(self):
        """A saved state may hold resources caught mid-operation: settle them as if they had finished."""
        for body in self.store.all():
            props = body.get("properties") or {}
            if props.get("provisioningState") == "Deleting":
                self.store.delete(body["id"])
                continue
            for item in [props] + [s["properties"] for s in props.get("subnets") or []] + props.get("agentPoolProfiles", []):
                if item.get("provisioningState") in ("Creating", "Updating", "Deleting"):
                    item["provisioningState"] = "Succeeded"
            self.store.put(body["id"], body)
        for body in self.store.all():
            if body.get("type") == aks.TYPE:
                self.kube.sync(body)
