"""The generic registry: every verb on every resource, over the Store.

This is the apiserver's request pipeline without HTTP: decode checks, defaulting, status/spec
reset for subresources, generation bumps, validation (built-in rules or the CRD schema),
optimistic concurrency, managedFields, dry runs, finalizers, and the watch stream. Controllers
use the same entry points as clients, so their writes show up in watches and resourceVersions.
"""

import base64
import copy
import datetime
import ipaddress
import json
import random
import time
import uuid
from dataclasses import dataclass

from . import builtins, decoding, errors, patch as patches, selection, ssa, validation
from .errors import ApiError
from .resources import ResourceType

NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
TERMINATING_NS = "unable to create new content in namespace %s because it is being terminated"


def random_suffix(length=5):
    return "".join(random.choice(NAME_ALPHABET) for _unused in range(length))


def timestamp(when=None):
    moment = datetime.datetime.fromtimestamp(time.time() if when is None else when, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return None


@dataclass
class WriteOptions:
    dry_run: bool = False
    manager: str = ""
    validation: str = "Warn"  # fieldValidation: Strict | Warn | Ignore
    force: bool = False
    propagation: str = ""
    track_fields: bool = True  # managedFields bookkeeping (the kubelet's pod status writes skip it)
    trusted: bool = False  # the emulator's own writes: well-formed by construction, skip decode checks and validation


CONTROLLER = WriteOptions(manager="kube-controller-manager", trusted=True)
KUBELET = WriteOptions(manager="kubelet", track_fields=False, trusted=True)
POD_CREATE = WriteOptions(manager="kube-controller-manager", track_fields=False, trusted=True)


class Api:

    def __init__(self, store, registry, service_cidr="10.0.0.0/16"):
        self.store = store
        self.registry = registry
        self.service_cidr = ipaddress.ip_network(service_cidr, strict=False)
        self.warnings = []  # per-call scratch (guarded by store.lock)

    # ------------------------------------------------------------ reads

    def get(self, rtype, namespace, name):
        obj = self.store.get(rtype.key, self._ns(rtype, namespace), name)
        if obj is None:
            raise errors.not_found(rtype.group, rtype.plural, name)
        return self.present(rtype, obj)

    def exists(self, rtype, namespace, name):
        return self.store.get(rtype.key, self._ns(rtype, namespace), name) is not None

    def present(self, rtype, obj):
        """The object as served at rtype's version."""
        if obj.get("apiVersion") != rtype.api_version:
            obj = dict(obj, apiVersion=rtype.api_version)
        return obj

    def list(self, rtype, namespace=None, label_selector=None, field_selector=None, limit=0, continue_token=None):
        """(items, list metadata) with paging like the apiserver (continue tokens, remainingItemCount)."""
        label_req = selection.parse_labels(label_selector)
        field_req = selection.parse_fields(field_selector, rtype.field_selectors())
        namespace = self._ns(rtype, namespace) if namespace else None
        with self.store.lock:
            list_rv = self.store.rv
        start = None
        if continue_token:
            list_rv, start = _decode_continue(continue_token)
        table = rtype.key
        items, more, remaining = [], False, 0
        for ident in self.store.keys(table, namespace, start_after=start):
            obj = self.store.get(table, *ident)
            if obj is None or not self._matches(obj, label_req, field_req):
                continue
            if limit and len(items) >= limit:
                more = True
                if label_req or field_req:
                    break
                remaining += 1
                continue
            items.append(self.present(rtype, obj))
        meta = {"resourceVersion": str(list_rv)}
        if more:
            last = items[-1]["metadata"]
            meta["continue"] = _encode_continue(list_rv, (last.get("namespace", ""), last["name"]))
            if not (label_req or field_req):
                meta["remainingItemCount"] = remaining
        return items, meta

    @staticmethod
    def _matches(obj, label_req, field_req):
        if label_req and not selection.labels_match(label_req, obj["metadata"].get("labels")):
            return False
        return not field_req or selection.fields_match(field_req, obj)

    # ------------------------------------------------------------ writes

    def create(self, rtype, namespace, body, opts):
        obj = body if opts.trusted else self._decode(rtype, body)
        meta = obj.setdefault("metadata", {})
        namespace = self._ns(rtype, namespace or meta.get("namespace"))
        if rtype.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        with self.store.lock:
            self.warnings = []
            if rtype.namespaced:
                self._check_namespace(namespace)
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = self._generate_name(rtype, namespace, meta["generateName"])
            if meta.get("name") and self.store.get(rtype.key, namespace, meta["name"]) is not None:
                raise errors.already_exists(rtype.group, rtype.plural, meta["name"])
            obj = self._commit(rtype, None, obj, opts)
            return obj, self.warnings

    def update(self, rtype, namespace, name, body, opts, subresource=""):
        obj = self._decode(rtype, body)
        meta = obj.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request("the name of the object (%s) does not match the name on the URL (%s)" % (meta["name"], name))
        meta["name"] = name
        namespace = self._ns(rtype, namespace)
        if rtype.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = namespace
        with self.store.lock:
            self.warnings = []
            old = self.store.get(rtype.key, namespace, name)
            if old is None:
                raise errors.not_found(rtype.group, rtype.plural, name)
            wanted_rv = meta.get("resourceVersion")
            if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rtype.group, rtype.plural, name)
            obj = self._commit(rtype, old, obj, opts, subresource)
            return obj, self.warnings

    def patch(self, rtype, namespace, name, patch_type, body, opts, subresource=""):
        namespace = self._ns(rtype, namespace)
        with self.store.lock:
            self.warnings = []
            old = self.store.get(rtype.key, namespace, name)
            if patch_type == "apply":
                obj = self._apply(rtype, namespace, name, old, body, opts, subresource)
                return obj, self.warnings
            if old is None:
                raise errors.not_found(rtype.group, rtype.plural, name)
            current = copy.deepcopy(self.present(rtype, old))
            if patch_type == "json":
                merged = patches.json_patch(current, body)
            elif patch_type == "merge":
                merged = patches.merge_patch(current, _as_object(body))
            elif patch_type == "strategic":
                if not rtype.builtin:
                    raise errors.unsupported_media_type("application/strategic-merge-patch+json", [
                        "application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"])
                merged = patches.strategic_merge(current, _as_object(body), rtype)
            else:
                raise errors.unsupported_media_type(patch_type, [])
            if not isinstance(merged, dict):
                raise errors.bad_request("the patched object is not a JSON object")
            _typed(rtype, merged)
            meta = merged.setdefault("metadata", {})
            if meta.get("name") != name:
                raise errors.bad_request("metadata.name: Invalid value: %s: field is immutable" % json.dumps(meta.get("name")))
            wanted_rv = meta.get("resourceVersion")
            if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rtype.group, rtype.plural, name)
            obj = self._commit(rtype, old, merged, opts, subresource)
            return obj, self.warnings

    def _apply(self, rtype, namespace, name, old, body, opts, subresource):
        config = _as_object(body)
        if not opts.manager:
            raise errors.bad_request("PATCH, application/apply-patch+yaml requires fieldManager to be set")
        _typed(rtype, config)
        meta = config.get("metadata") or {}
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request("the name of the object (%s) does not match the name on the URL (%s)" % (meta["name"], name))
        for key in ("apiVersion", "kind"):
            if not config.get(key):
                raise errors.bad_request("invalid object type: /, Kind=")
        unknown = self._unknown_fields(rtype, config)
        if unknown:
            raise errors.bad_request("failed to create typed patch object (%s, Kind=%s): .%s: field not declared in schema"
                                     % (rtype.api_version, rtype.kind, unknown[0]))
        if old is None:
            if subresource:
                raise errors.not_found(rtype.group, rtype.plural, name)
            if rtype.namespaced:
                self._check_namespace(namespace)
        live = self.present(rtype, old) if old else None
        merged, managed = ssa.apply(live, config, rtype, opts.manager, opts.force, rtype.api_version, timestamp(), subresource)
        merged.setdefault("metadata", {})["name"] = name
        if rtype.namespaced:
            merged["metadata"]["namespace"] = namespace
        merged["metadata"]["managedFields"] = managed
        merged["metadata"].pop("resourceVersion", None)
        return self._commit(rtype, old, merged, opts, subresource, managed_fields=managed)

    def delete(self, rtype, namespace, name, opts, preconditions=None):
        namespace = self._ns(rtype, namespace)
        with self.store.lock:
            old = self.store.get(rtype.key, namespace, name)
            if old is None:
                raise errors.not_found(rtype.group, rtype.plural, name)
            preconditions = preconditions or {}
            if preconditions.get("uid") and preconditions["uid"] != old["metadata"].get("uid"):
                raise errors.conflict(rtype.group, rtype.plural, name, "Precondition failed: UID in precondition: %s, UID in object meta: %s"
                                      % (preconditions["uid"], old["metadata"].get("uid")))
            if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rtype.group, rtype.plural, name)
            if old["metadata"].get("finalizers") or rtype.kind == "Namespace":
                return self._mark_deleting(rtype, old, opts), False
            if opts.dry_run:
                return old, True
            final = copy.deepcopy(old)
            final["metadata"]["resourceVersion"] = str(self.store.bump())
            self.store.remove(rtype.key, final)
            self._after_delete(rtype, final, opts)
            return final, True

    def _mark_deleting(self, rtype, old, opts):
        if old["metadata"].get("deletionTimestamp"):
            return old
        obj = copy.deepcopy(old)
        obj["metadata"]["deletionTimestamp"] = timestamp()
        obj["metadata"]["deletionGracePeriodSeconds"] = 0
        if rtype.kind == "Namespace":
            obj.setdefault("status", {})["phase"] = "Terminating"
        if opts.dry_run:
            return obj
        return self._store(rtype, old, obj)

    def _after_delete(self, rtype, obj, opts):
        if rtype.kind == "CustomResourceDefinition":
            self.registry.remove_crd(obj["metadata"]["name"])
            names = obj["spec"]["names"]
            self.store.drop_resource("%s/%s" % (obj["spec"]["group"], names["plural"]))
        if opts.propagation == "Orphan":
            self.orphan_dependents(obj["metadata"]["uid"])

    def orphan_dependents(self, uid):
        for rtype in self.registry.all():
            for obj in list(self.store.objects(rtype.key)):
                refs = obj["metadata"].get("ownerReferences") or []
                if any(ref.get("uid") == uid for ref in refs):
                    new = copy.deepcopy(obj)
                    new["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                    self._store(rtype, obj, new)

    def delete_collection(self, rtype, namespace, label_selector, field_selector, opts):
        items, _unused = self.list(rtype, namespace, label_selector, field_selector)
        deleted = []
        for item in items:
            try:
                deleted.append(self.delete(rtype, item["metadata"].get("namespace"), item["metadata"]["name"], opts)[0])
            except ApiError as exc:
                if exc.code != 404:
                    raise
        return deleted

    # ------------------------------------------------------------ the pipeline

    def _commit(self, rtype, old, obj, opts, subresource="", managed_fields=None):
        """Finish a create (old None) or update, validate, and store it unless dry run."""
        meta = obj["metadata"]
        obj["apiVersion"] = rtype.api_version
        obj["kind"] = rtype.kind
        if not opts.trusted:
            self._handle_unknown_fields(rtype, obj, opts)
        if old is None:
            for key in ("uid", "resourceVersion", "generation", "deletionTimestamp", "deletionGracePeriodSeconds"):
                meta.pop(key, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = timestamp()
            if rtype.status:
                obj.pop("status", None)
            if rtype.generation:
                meta["generation"] = 1
        else:
            old_meta = old["metadata"]
            for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace"):
                if key in old_meta:
                    meta[key] = old_meta[key]
                else:
                    meta.pop(key, None)
            self._reset_for_subresource(rtype, old, obj, subresource)
            if rtype.generation:
                meta["generation"] = old_meta.get("generation", 1) + (1 if _spec_changed(rtype, old, obj) else 0)
        self._defaults(rtype, obj)
        if old is None and rtype.builtin and rtype.kind == "Service":
            self._allocate_service(obj)
        if not opts.trusted:
            self._validate(rtype, old, obj)
        if rtype.kind == "CustomResourceDefinition":
            _crd_status(obj, old)
        incoming = meta.get("managedFields")
        if managed_fields is not None:
            meta["managedFields"] = managed_fields
        elif old is not None and incoming is not None and incoming != old["metadata"].get("managedFields", []):
            # a client that rewrites managedFields itself (kubectl's client-side-apply upgrade; [{}] resets) is taken at its word
            meta["managedFields"] = [entry for entry in incoming if entry]
        elif opts.track_fields and opts.manager:
            meta.pop("managedFields", None)
            meta["managedFields"] = ssa.record_update(old, obj, rtype, opts.manager, rtype.api_version, timestamp(), subresource)
        elif old is not None:
            meta["managedFields"] = old["metadata"].get("managedFields", [])
        if not meta.get("managedFields"):
            meta.pop("managedFields", None)
        if old is not None and _same(old, obj):
            return old
        if old is not None and meta.get("deletionTimestamp") and not meta.get("finalizers") and rtype.kind != "Namespace":
            if not opts.dry_run:
                meta["resourceVersion"] = str(self.store.bump())
                self.store.remove(rtype.key, obj)
                self._after_delete(rtype, obj, opts)
            return obj
        if opts.dry_run:
            if old is not None:
                meta["resourceVersion"] = old["metadata"]["resourceVersion"]
            return obj
        return self._store(rtype, old, obj)

    def _store(self, rtype, old, obj):
        obj["metadata"]["resourceVersion"] = str(self.store.bump())
        self.store.put(rtype.key, obj, "ADDED" if old is None else "MODIFIED", old)
        if rtype.kind == "CustomResourceDefinition":
            self.register_crd(obj)
        return obj

    def write(self, rtype, old, obj, opts=CONTROLLER, subresource=""):
        """A controller's write of a full object (create when old is None); returns what was stored.

        obj may share nested values with the stored object (they are not mutated); its top level
        and metadata are copied here because the pipeline edits those.
        """
        obj = dict(obj, metadata=dict(obj["metadata"]))
        with self.store.lock:
            current = self.store.get(rtype.key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            if old is not None and (current is None or current["metadata"]["resourceVersion"] != old["metadata"]["resourceVersion"]):
                return None  # lost a race with a client: the next reconcile sees the new state
            if old is None and current is not None:
                return None
            return self._commit(rtype, old, obj, opts, subresource)

    def remove(self, rtype, obj, opts=CONTROLLER):
        """A controller's delete (ignores objects already gone)."""
        try:
            return self.delete(rtype, obj["metadata"].get("namespace"), obj["metadata"]["name"], opts)[0]
        except ApiError:
            return None

    def _reset_for_subresource(self, rtype, old, obj, subresource):
        if subresource == "status":
            for key in list(obj):
                if key not in ("apiVersion", "kind", "metadata", "status"):
                    del obj[key]
            for key, value in old.items():
                if key not in ("metadata", "status"):
                    obj[key] = value
            if "status" not in obj and "status" in old and not rtype.status:
                obj["status"] = old["status"]
            for key in ("labels", "annotations", "finalizers", "ownerReferences"):
                if key in old["metadata"]:
                    obj["metadata"][key] = old["metadata"][key]
                else:
                    obj["metadata"].pop(key, None)
        elif rtype.status:
            if "status" in old:
                obj["status"] = old["status"]
            else:
                obj.pop("status", None)

    def _allocate_service(self, obj):
        """The service IP and node port allocators."""
        spec = obj.setdefault("spec", {})
        services = list(self.store.objects("/services"))
        if spec.get("type") != "ExternalName" and not spec.get("clusterIP"):
            taken = {s.get("spec", {}).get("clusterIP") for s in services}
            for offset in range(10, self.service_cidr.num_addresses - 1):
                address = str(self.service_cidr.network_address + offset)
                if address not in taken:
                    spec["clusterIP"] = address
                    break
        if spec.get("clusterIP"):
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            used = {p.get("nodePort") for s in services for p in s.get("spec", {}).get("ports") or []}
            for port in spec.get("ports") or []:
                if not port.get("nodePort"):
                    port["nodePort"] = next(n for n in range(30000, 32768) if n not in used)
                    used.add(port["nodePort"])
            spec.setdefault("externalTrafficPolicy", "Cluster")

    def _defaults(self, rtype, obj):
        if rtype.builtin:
            builtins.apply_defaults(rtype.kind, obj)
        elif rtype.schema:
            validation.apply_defaults(obj, rtype.schema)

    def _validate(self, rtype, old, obj):
        meta = obj["metadata"]
        if rtype.builtin:
            found = builtins.validate(rtype.kind, obj, old)
            if rtype.kind == "CustomResourceDefinition":
                found += _validate_crd(obj)
        else:
            found = validation.validate_name(meta.get("name"))
            found += validation.validate_labels(meta.get("labels"))
            if rtype.schema:
                found += validation.validate(obj, rtype.schema)
        if found:
            raise errors.invalid_object(rtype.group, rtype.kind, meta.get("name", ""), found)

    def _unknown_fields(self, rtype, obj):
        if rtype.builtin:
            return builtins.unknown_fields(rtype.kind, obj)
        if rtype.schema:
            return validation.prune(copy.deepcopy(obj), rtype.schema)
        return []

    def _handle_unknown_fields(self, rtype, obj, opts):
        if rtype.builtin:
            unknown = builtins.unknown_fields(rtype.kind, obj)
            if unknown and opts.validation != "Strict":
                builtins.remove_fields(obj, unknown)
        elif rtype.schema:
            unknown = validation.prune(obj, rtype.schema)
        else:
            unknown = []
        if not unknown:
            return
        if opts.validation == "Strict":
            raise errors.bad_request("strict decoding error: " + ", ".join('unknown field "%s"' % p for p in unknown))
        if opts.validation == "Warn":
            self.warnings.extend('unknown field "%s"' % p for p in unknown)

    def _decode(self, rtype, body):
        obj = copy.deepcopy(_as_object(body))
        _typed(rtype, obj)
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if kind and kind != rtype.kind:
            raise errors.bad_request("the kind in the data (%s) does not match the expected kind (%s)" % (kind, rtype.kind))
        if api_version and api_version.split("/")[0] != rtype.api_version.split("/")[0] and rtype.group:
            raise errors.bad_request("the API version in the data (%s) does not match the expected API version (%s)"
                                     % (api_version, rtype.api_version))
        if not isinstance(obj.get("metadata", {}), dict):
            raise errors.bad_request("metadata must be an object")
        return obj

    def _ns(self, rtype, namespace):
        return (namespace or "default") if rtype.namespaced else ""

    def _check_namespace(self, namespace):
        ns_obj = self.store.get("/namespaces", "", namespace)
        if ns_obj is None:
            raise errors.not_found("", "namespaces", namespace)
        if ns_obj["metadata"].get("deletionTimestamp"):
            raise ApiError(403, "Forbidden", TERMINATING_NS % namespace,
                           {"name": namespace, "kind": "namespaces"})

    def _generate_name(self, rtype, namespace, prefix):
        prefix = prefix[:58]
        while True:
            name = prefix + random_suffix()
            if self.store.get(rtype.key, namespace, name) is None:
                return name

    # ------------------------------------------------------------ CRDs

    def register_crd(self, crd):
        spec, names = crd["spec"], crd["spec"]["names"]
        self.registry.remove_crd(crd["metadata"]["name"])
        for version in spec.get("versions") or []:
            if not version.get("served", True):
                continue
            sub = version.get("subresources") or {}
            self.registry.add(ResourceType(
                spec["group"], version["name"], names["plural"], names["kind"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=names.get("shortNames") or [], categories=names.get("categories") or [],
                singular=names.get("singular") or names["kind"].lower(), status="status" in sub, generation=True,
                scale="scale" in sub, crd=crd["metadata"]["name"], columns=version.get("additionalPrinterColumns"),
                schema=(version.get("schema") or {}).get("openAPIV3Schema"),
                selectable_fields=[f["jsonPath"].lstrip(".") for f in version.get("selectableFields") or []]))

    # ------------------------------------------------------------ watch

    def watch(self, rtype, namespace=None, resource_version=None, label_selector=None, field_selector=None,
              timeout=None, bookmarks=False, send_initial=False, stopped=lambda: False, bookmark_every=5.0):
        """Generator of watch event lines (JSON + newline), ending at timeout, stop, or a disconnect fault.

        Selectors are checked here, before the stream starts, so that bad ones are a plain 400.
        """
        label_req = selection.parse_labels(label_selector)
        field_req = selection.parse_fields(field_selector, rtype.field_selectors())
        if resource_version not in (None, "", "0"):
            _int_rv(resource_version)
        namespace = self._ns(rtype, namespace) if namespace else None
        return self._watch_stream(rtype, namespace, resource_version, label_req, field_req, timeout, bookmarks, send_initial,
                                  stopped, bookmark_every)

    def _watch_stream(self, rtype, namespace, resource_version, label_req, field_req, timeout, bookmarks, send_initial,
                      stopped, bookmark_every):
        deadline = time.monotonic() + (timeout if timeout else 1800)
        store = self.store
        with store.lock:
            epoch, expire_epoch = store.epoch, store.expire_epoch
            initial = []
            if resource_version in (None, "", "0") or send_initial:
                for obj in store.objects(rtype.key, namespace):
                    if self._matches(obj, label_req, field_req):
                        initial.append(obj)
                last = store.rv
            else:
                last = _int_rv(resource_version)
                try:
                    store.events_since(rtype.key, last)
                except ApiError as exc:
                    initial = exc
        if isinstance(initial, ApiError):
            yield _line("ERROR", initial.status())
            return
        for obj in initial:
            yield _line("ADDED", self.present(rtype, obj))
        if send_initial and bookmarks:
            yield _line("BOOKMARK", self._bookmark(rtype, last, initial_end=True))
        idle_since = time.monotonic()
        current = last
        while True:
            with store.lock:
                if stopped() or store.epoch != epoch:
                    return
                if store.expire_epoch != expire_epoch:
                    batch = errors.expired("too old resource version: %d (%d)" % (last, store.rv))
                else:
                    try:
                        batch = store.events_since(rtype.key, last)
                    except ApiError as exc:
                        batch = exc
                    if not batch:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            return
                        store.changed.wait(min(remaining, 0.5))
                        current = store.rv
            if isinstance(batch, ApiError):
                yield _line("ERROR", batch.status())
                return
            if not batch:
                if bookmarks and time.monotonic() - idle_since >= bookmark_every:
                    idle_since = time.monotonic()
                    last = max(last, current)
                    yield _line("BOOKMARK", self._bookmark(rtype, last))
                continue
            idle_since = time.monotonic()
            for rv, event_type, obj, old in batch:
                last = rv
                event = self._filter_event(event_type, obj, old, namespace, label_req, field_req)
                if event:
                    yield _line(event, self.present(rtype, obj))

    def _filter_event(self, event_type, obj, old, namespace, label_req, field_req):
        if namespace is not None and obj["metadata"].get("namespace", "") != namespace:
            return None
        now = self._matches(obj, label_req, field_req)
        if event_type != "MODIFIED" or old is None:
            return event_type if now else None
        before = self._matches(old, label_req, field_req)
        if now and before:
            return "MODIFIED"
        if now:
            return "ADDED"
        return "DELETED" if before else None

    @staticmethod
    def _bookmark(rtype, rv, initial_end=False):
        meta = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": meta}


def _line(event_type, obj):
    return (json.dumps({"type": event_type, "object": obj}) + "\n").encode("utf-8")


def _int_rv(text):
    try:
        return int(text)
    except (TypeError, ValueError) as exc:
        raise errors.bad_request('resourceVersion: Invalid value: "%s": must be a valid integer' % text) from exc


def _as_object(body):
    if not isinstance(body, dict):
        raise errors.bad_request("the request body must be a JSON object")
    return body


def _typed(rtype, obj):
    """Refuse what the apiserver's typed decoding refuses (wrong JSON types), before anything reads the object."""
    decoding.check_envelope(obj, rtype.kind)
    if "metadata" in obj and obj["metadata"] is None:
        obj["metadata"] = {}  # JSON null decodes to Go's zero value
    if rtype.builtin:
        decoding.check_builtin(obj, rtype.kind)


def _encode_continue(rv, start):
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": "%s/%s" % start}).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_continue(token):
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        namespace, _unused, name = raw["start"].partition("/")
        return int(raw["rv"]), (namespace, name)
    except (ValueError, KeyError, TypeError) as exc:
        raise errors.bad_request("continue key is not valid: %s" % exc) from exc


def _spec_changed(rtype, old, new):
    ignore = {"metadata", "apiVersion", "kind"} | ({"status"} if rtype.status else set())
    keys = (set(old) | set(new)) - ignore
    return any(old.get(key) != new.get(key) for key in keys)


def _strip_times(managed):
    return [{k: v for k, v in entry.items() if k != "time"} for entry in managed or []]


def _same(old, new):
    """A write that changes nothing is not persisted (and keeps its resourceVersion)."""
    old_meta = dict(old["metadata"], managedFields=_strip_times(old["metadata"].get("managedFields")))
    new_meta = dict(new["metadata"], managedFields=_strip_times(new["metadata"].get("managedFields")),
                    resourceVersion=old["metadata"]["resourceVersion"])
    if old_meta != new_meta:
        return False
    return {k: v for k, v in old.items() if k != "metadata"} == {k: v for k, v in new.items() if k != "metadata"}


def _validate_crd(crd):
    found = []
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    for key in ("plural", "kind"):
        if not names.get(key):
            found.append(errors.required("spec.names." + key))
    if not spec.get("group"):
        found.append(errors.required("spec.group"))
    if not spec.get("versions"):
        found.append(errors.required("spec.versions", "must have exactly one version marked as storage version"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        found.append(errors.not_supported("spec.scope", spec.get("scope", ""), ["Cluster", "Namespaced"]))
    expected = "%s.%s" % (names.get("plural"), spec.get("group"))
    if names.get("plural") and spec.get("group") and crd["metadata"].get("name") != expected:
        found.append(errors.invalid("metadata.name", crd["metadata"].get("name", ""),
                                    'must be spec.names.plural+"."+spec.group'))
    return found


def _crd_status(crd, old):
    spec = crd["spec"]
    now = timestamp()
    previous = ((old or {}).get("status") or {}).get("conditions")
    names = dict(spec["names"])
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", names["kind"] + "List")
    crd["status"] = {
        "acceptedNames": names,
        "conditions": previous or [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
        "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")],
    }
