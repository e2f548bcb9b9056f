"""Server-side printing: meta.k8s.io/v1 Table responses, as `kubectl get` asks for them.

Columns and cells follow the apiserver's printers (pkg/printers/internalversion) for the built-in
kinds, and additionalPrinterColumns for custom resources (Name + Age when a CRD has none).
"""

import json
import re
import time

from .api import parse_time
from .selection import selector_string

COLUMN_DOC = {"Name": "Name must be unique within a namespace. Is required when creating resources, although some "
                      "resources may allow a client to request the generation of an appropriate name automatically.",
              "Age": "CreationTimestamp is a timestamp representing the server time when this object was created."}


def human_duration(seconds):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    if seconds < -1:
        return "<invalid>"
    seconds = max(int(seconds), 0)
    if seconds < 120:
        return "%ds" % seconds
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return "%dm%ds" % (minutes, rest) if rest else "%dm" % minutes
    if minutes < 180:
        return "%dm" % minutes
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return "%dh%dm" % (hours, rest) if rest else "%dh" % hours
    if hours < 48:
        return "%dh" % hours
    if hours < 24 * 8:
        rest = hours % 24
        return "%dd%dh" % (hours // 24, rest) if rest else "%dd" % (hours // 24)
    if hours < 24 * 365 * 2:
        return "%dd" % (hours // 24)
    if hours < 24 * 365 * 8:
        return "%dy%dd" % (hours // 24 // 365, hours // 24 % 365)
    return "%dy" % (hours // 24 // 365)


def age(obj):
    created = parse_time(obj["metadata"].get("creationTimestamp"))
    return "<unknown>" if created is None else human_duration(time.time() - created)


def _col(name, col_type="string", priority=0, fmt=""):
    return {"name": name, "type": col_type, "format": fmt, "description": COLUMN_DOC.get(name, name), "priority": priority}


NAME = _col("Name", fmt="name")
AGE = _col("Age")


# ---------------------------------------------------------------- per-kind printers


def _containers(spec):
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


def pod_status_reason(pod):
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Pending"
    for cstatus in status.get("containerStatuses") or []:
        state = cstatus.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason"):
            reason = state["terminated"]["reason"]
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _pod(pod):
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    total = len((pod.get("spec") or {}).get("containers") or [])
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(s.get("restartCount", 0) for s in statuses)
    status = pod.get("status") or {}
    return ["%d/%d" % (ready, total), pod_status_reason(pod), str(restarts), age(pod),
            status.get("podIP") or "<none>", (pod.get("spec") or {}).get("nodeName") or "<none>", "<none>", "<none>"]


def _daemonset(ds):
    status, spec = ds.get("status") or {}, ds.get("spec") or {}
    node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    names, images = _containers(spec)
    return [status.get("desiredNumberScheduled", 0), status.get("currentNumberScheduled", 0), status.get("numberReady", 0),
            status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0),
            ",".join("%s=%s" % kv for kv in sorted(node_selector.items())) or "<none>", age(ds),
            names, images, selector_string(spec.get("selector"))]


def _deployment(deploy):
    status, spec = deploy.get("status") or {}, deploy.get("spec") or {}
    names, images = _containers(spec)
    return ["%d/%d" % (status.get("readyReplicas", 0), spec.get("replicas", 0)), status.get("updatedReplicas", 0),
            status.get("availableReplicas", 0), age(deploy), names, images, selector_string(spec.get("selector"))]


def _replicaset(rs):
    status, spec = rs.get("status") or {}, rs.get("spec") or {}
    names, images = _containers(spec)
    return [spec.get("replicas", 0), status.get("replicas", 0), status.get("readyReplicas", 0), age(rs),
            names, images, selector_string(spec.get("selector"))]


def _node(node):
    status, labels = node.get("status") or {}, node["metadata"].get("labels") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    state = "Ready" if ready and ready.get("status") == "True" else "NotReady" if ready else "Unknown"
    if (node.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    roles = sorted(key.split("/", 1)[1] for key in labels if key.startswith("node-role.kubernetes.io/"))
    if labels.get("kubernetes.io/role"):
        roles = sorted(set(roles) | {labels["kubernetes.io/role"]})
    info = status.get("nodeInfo") or {}
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    return [state, ",".join(roles) or "<none>", age(node), info.get("kubeletVersion", ""),
            addresses.get("InternalIP", "<none>"), addresses.get("ExternalIP", "<none>"), info.get("osImage", ""),
            info.get("kernelVersion", ""), info.get("containerRuntimeVersion", "")]


def _service(svc):
    spec = svc.get("spec") or {}
    ports = ",".join(("%s:%s/%s" % (p["port"], p["nodePort"], p.get("protocol", "TCP")) if p.get("nodePort")
                      else "%s/%s" % (p.get("port"), p.get("protocol", "TCP"))) for p in spec.get("ports") or [])
    selector = ",".join("%s=%s" % kv for kv in sorted((spec.get("selector") or {}).items()))
    return [spec.get("type", "ClusterIP"), spec.get("clusterIP") or "<none>", ",".join(spec.get("externalIPs") or []) or "<none>",
            ports or "<none>", age(svc), selector or "<none>"]


def _event(event):
    involved = event.get("involvedObject") or {}
    last = parse_time(event.get("lastTimestamp") or event.get("eventTime") or event["metadata"].get("creationTimestamp"))
    seen = human_duration(time.time() - last) if last else "<unknown>"
    return [seen, event.get("type", ""), event.get("reason", ""),
            "%s/%s" % (involved.get("kind", "").lower(), involved.get("name", "")), event.get("message", "")]


def _resource_of(ref):
    group = ref.get("apiVersion", "").rpartition("/")[0]
    kind = ref.get("kind", "").lower()
    return "%s.%s" % (kind, group) if group else kind


PRINTERS = {
    "Pod": ([_col("Ready"), _col("Status"), _col("Restarts"), AGE, _col("IP", priority=1), _col("Node", priority=1),
             _col("Nominated Node", priority=1), _col("Readiness Gates", priority=1)], _pod),
    "DaemonSet": ([_col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer"),
                   _col("Up-to-date", "integer"), _col("Available", "integer"), _col("Node Selector"), AGE,
                   _col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)], _daemonset),
    "Deployment": ([_col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer"), AGE,
                    _col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)], _deployment),
    "ReplicaSet": ([_col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer"), AGE,
                    _col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)], _replicaset),
    "Node": ([_col("Status"), _col("Roles"), AGE, _col("Version"), _col("Internal-IP", priority=1),
              _col("External-IP", priority=1), _col("OS-Image", priority=1), _col("Kernel-Version", priority=1),
              _col("Container-Runtime", priority=1)], _node),
    "Service": ([_col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), AGE,
                 _col("Selector", priority=1)], _service),
    "ConfigMap": ([_col("Data", "integer"), AGE], lambda cm: [len(cm.get("data") or {}) + len(cm.get("binaryData") or {}), age(cm)]),
    "Secret": ([_col("Type"), _col("Data", "integer"), AGE], lambda s: [s.get("type", ""), len(s.get("data") or {}), age(s)]),
    "Namespace": ([_col("Status"), AGE], lambda ns: [(ns.get("status") or {}).get("phase", "Active"), age(ns)]),
    "ServiceAccount": ([_col("Secrets", "integer"), AGE], lambda sa: [len(sa.get("secrets") or []), age(sa)]),
    "ControllerRevision": ([_col("Controller"), _col("Revision", "integer"), AGE], lambda cr: [
        next(("%s/%s" % (_resource_of(r), r.get("name")) for r in cr["metadata"].get("ownerReferences") or []
              if r.get("controller")), "<none>"), cr.get("revision", 0), age(cr)]),
    "Event": ([_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")], _event),  # Name goes last
    "CustomResourceDefinition": ([_col("Created At", "date")], lambda crd: [crd["metadata"].get("creationTimestamp", "")]),
    "Endpoints": ([_col("Endpoints"), AGE], lambda ep: ["<none>", age(ep)]),
}


# ---------------------------------------------------------------- custom resources: JSONPath columns

_TOKEN = re.compile(r"\.((?:[A-Za-z0-9_$-]|\\\.)+)|\[(\d+|\*)\]|\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*['\"]([^'\"]*)['\"]\)\]")


def json_path(obj, expression):
    """The values an additionalPrinterColumn's jsonPath selects (a practical subset of JSONPath)."""
    nodes, pos = [obj], 0
    expression = expression.strip()
    if expression.startswith("{") and expression.endswith("}"):
        expression = expression[1:-1]
    if expression.startswith("$"):
        expression = expression[1:]
    while pos < len(expression):
        match = _TOKEN.match(expression, pos)
        if not match:
            return []
        pos = match.end()
        field, idx, filter_key, filter_value = match.groups()
        field = field.replace("\\.", ".") if field is not None else None
        found = []
        for node in nodes:
            if field is not None and isinstance(node, dict) and field in node:
                found.append(node[field])
            elif idx is not None and isinstance(node, list):
                found.extend(node if idx == "*" else node[int(idx):int(idx) + 1])
            elif filter_key is not None and isinstance(node, list):
                for item in node:
                    got = json_path(item, "." + filter_key) if isinstance(item, dict) else []
                    if got and str(got[0]) == filter_value:
                        found.append(item)
        nodes = found
    return nodes


def _cr_cell(obj, column):
    values = json_path(obj, column.get("jsonPath", ""))
    if not values:
        return None
    value = values[0]
    if column.get("type") == "date":
        moment = parse_time(value) if isinstance(value, str) else None
        return human_duration(time.time() - moment) if moment else value
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def custom_printer(rtype):
    columns = rtype.columns
    if not columns:
        return [AGE], lambda obj: [age(obj)]
    definitions = [_col(c["name"], c.get("type", "string"), c.get("priority", 0)) for c in columns]
    for definition, column in zip(definitions, columns):
        definition["description"] = column.get("description", definition["description"])
    return definitions, lambda obj: [_cr_cell(obj, c) for c in columns]


# ---------------------------------------------------------------- the Table


def partial_metadata(obj):
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def to_table(rtype, items, list_meta, include_object="Metadata"):
    if rtype.builtin:
        columns, cells = PRINTERS.get(rtype.kind, ([AGE], lambda obj: [age(obj)]))
    else:
        columns, cells = custom_printer(rtype)
    name_last = rtype.builtin and rtype.kind == "Event"  # the events printer shows Name only with -o wide
    rows = []
    for obj in items:
        row = {"cells": list(cells(obj)) + [obj["metadata"]["name"]] if name_last else [obj["metadata"]["name"]] + list(cells(obj))}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial_metadata(obj)
        rows.append(row)
    definitions = columns + [dict(NAME, priority=1)] if name_last else [NAME] + columns
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": dict(list_meta),
            "columnDefinitions": definitions, "rows": rows}
