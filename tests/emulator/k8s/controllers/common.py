"""What the controllers share: naming hashes, pod and condition predicates, the test knobs, a base class."""

import copy
import json
import math

from ..api import CONTROLLER, NAME_ALPHABET, POD_CREATE, parse_time
from ..selection import labels_match, parse_labels, selector_requirements


def fnv32a(data):
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def template_hash(template, collision_count=0):
    """pod-template-hash / controller-revision-hash: FNV-32a of the template, spelled in the name alphabet."""
    template = copy.deepcopy(template or {})
    labels = (template.get("metadata") or {}).get("labels") or {}
    labels.pop("pod-template-hash", None)
    data = json.dumps(template, sort_keys=True).encode("utf-8") + str(collision_count or "").encode("utf-8")
    return "".join(NAME_ALPHABET[ord(c) % len(NAME_ALPHABET)] for c in str(fnv32a(data)))


def scaled(value, total, round_up):
    """intstr.GetScaledValueFromIntOrPercent."""
    if isinstance(value, str) and value.endswith("%"):
        amount = int(value[:-1]) * total / 100.0
        return int(math.ceil(amount) if round_up else math.floor(amount))
    return int(value or 0)


def owner_ref(owner):
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def controller_uid(obj):
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def condition(obj, kind):
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return None


def pod_ready(pod):
    cond = condition(pod, "Ready")
    return bool(cond) and cond.get("status") == "True" and not pod["metadata"].get("deletionTimestamp")


def pod_available(pod, min_ready, now):
    if not pod_ready(pod):
        return False
    if not min_ready:
        return True
    since = parse_time(condition(pod, "Ready").get("lastTransitionTime"))
    return since is not None and now - since >= min_ready


class Settings:
    """Knobs tests turn at run time (POST /_emulator/settings, /_emulator/stall)."""

    def __init__(self, pod_ready_delay=0.2):
        self.pod_ready_delay = pod_ready_delay
        self.stalled = []  # label-selector requirement lists: matching pods never become Ready

    def is_stalled(self, pod):
        labels = pod["metadata"].get("labels") or {}
        return any(labels_match(req, labels) for req in self.stalled)

    def stall(self, selector, stalled=True):
        requirements = parse_labels(selector)
        self.stalled = [r for r in self.stalled if r != requirements]
        if stalled:
            self.stalled.append(requirements)


def node_schedulable(node, template):
    if (node.get("spec") or {}).get("unschedulable"):
        return False
    ready = condition(node, "Ready")
    if not ready or ready.get("status") != "True":
        return False
    return node_fits(node, template)


def node_fits(node, template):
    """The pod template's nodeSelector and required node affinity (any term, all of its expressions) match the node."""
    spec = (template or {}).get("spec") or {}
    labels = node["metadata"].get("labels") or {}
    if not all(labels.get(k) == v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    return not terms or any(labels_match(selector_requirements({"matchExpressions": t.get("matchExpressions")}), labels)
                            for t in terms)


class Controller:
    """One controller of the loop: writes through the API, reads the store, arms the loop's timers."""

    def __init__(self, loop):
        self.api = loop.api
        self.store = loop.store
        self.types = loop.types
        self.at = loop.at

    def write_status(self, rtype, obj, status):
        if obj.get("status") == status:
            return obj
        new = dict(obj, status=status)
        new["metadata"] = dict(obj["metadata"])
        return self.api.write(rtype, obj, new, CONTROLLER, "status") or obj

    def new_pod(self, owner, template, labels, node_name=None):
        template = copy.deepcopy(template or {})
        meta = template.get("metadata") or {}
        spec = template.get("spec") or {}
        if node_name:
            spec["nodeName"] = node_name
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"generateName": owner["metadata"]["name"] + "-", "namespace": owner["metadata"]["namespace"],
                            "labels": labels, "ownerReferences": [owner_ref(owner)]},
               "spec": spec}
        if meta.get("annotations"):
            pod["metadata"]["annotations"] = meta["annotations"]
        created, _unused = self.api.create(self.types["/pods"], owner["metadata"]["namespace"], pod, POD_CREATE)
        return created
