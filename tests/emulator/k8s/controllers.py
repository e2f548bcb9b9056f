"""The controllers and the kubelet of one emulated cluster, on one background thread.

Event-driven: any write wakes the loop, which reconciles DaemonSets, Deployments, ReplicaSets,
pod readiness, garbage collection and terminating namespaces, then sleeps until the next write or
the next timer (a pod due to become Ready, a progress deadline). An idle cluster costs nothing.

Names follow the real controllers: pods <owner>-<5 chars>, ReplicaSets <deployment>-<pod-template-hash>,
ControllerRevisions <daemonset>-<hash>, with the hash encoded in the "bcdfghjklmnpqrstvwxz2456789" alphabet.
"""

import copy
import heapq
import json
import math
import threading
import time
import traceback

from .api import CONTROLLER, KUBELET, NAME_ALPHABET, POD_CREATE, parse_time, timestamp
from .selection import labels_match, parse_labels

POD_CIDR_BASE = (10, 244)
WORKLOAD_KEYS = {"/pods", "/nodes", "/namespaces", "apps/daemonsets", "apps/deployments", "apps/replicasets",
                 "cilium.io/ciliumnetworkpolicies", "cilium.io/ciliumclusterwidenetworkpolicies"}


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


class Controllers:

    def __init__(self, api, settings, extra=(), root_ca=""):
        self.api = api
        self.extra = list(extra)  # more reconcilers (the Cilium agent/operator), run after the workloads
        self.root_ca = root_ca
        self.store = api.store
        self.settings = settings
        self.types = {t.key: t for t in api.registry.all() if t.builtin}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._timers = []
        self._timer_lock = threading.Lock()
        self._deleted = False
        self._pod_ready_at = {}  # pod uid -> monotonic time it becomes Ready
        self._next_ip = {}  # node name -> last host octet handed out
        self._thread = None
        self.passes = 0
        self.store.add_listener(self._on_change)

    # ------------------------------------------------------------ loop

    def start(self):
        self._thread = threading.Thread(target=self._run, name="k8s-controllers", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)

    def kick(self):
        self._wake.set()

    def _on_change(self, key, event_type, obj, old):
        if event_type == "DELETED":
            self._deleted = True
        if key in WORKLOAD_KEYS or event_type == "DELETED":
            self._wake.set()

    def at(self, when):
        """Wake the loop at monotonic time `when`."""
        with self._timer_lock:
            heapq.heappush(self._timers, when)

    def _next_timer(self):
        """Seconds until the next timer (0 when one fell due during the last pass), None when none is set.

        A timer armed in a pass can fall due before the pass ends (a busy pass on a loaded machine);
        dropping it without a pass would leave e.g. a pod in ContainerCreating until some unrelated write.
        """
        now = time.monotonic()
        due = False
        with self._timer_lock:
            while self._timers and self._timers[0] <= now:
                heapq.heappop(self._timers)
                due = True
            if due:
                return 0.0
            return self._timers[0] - now if self._timers else None

    def _run(self):
        while not self._stop.is_set():
            delay = self._next_timer()
            woken = self._wake.wait(delay if delay is not None else 5.0)
            if self._stop.is_set():
                return
            if not woken and delay is None:
                continue  # nothing happened and nothing is due: stay idle (a write since then keeps the flag set)
            self._wake.clear()  # only now: the pass below sees every write made before this point
            try:
                self.reconcile()
            except Exception:  # pylint: disable=broad-exception-caught
                traceback.print_exc()  # a controller bug must show, not kill the loop
            self.passes += 1

    def reconcile(self):
        """One pass over everything; writes made here wake the loop again until nothing changes."""
        with self.store.lock:
            self._namespaces()
            if self._deleted:
                self._deleted = False
                self._collect_garbage()
            self._kubelet()
            nodes = list(self.store.objects("/nodes"))
            pods_by_owner = {}
            for pod in self.store.objects("/pods"):
                pods_by_owner.setdefault(controller_uid(pod), []).append(pod)
            for ds in list(self.store.objects("apps/daemonsets")):
                self._daemonset(ds, nodes, pods_by_owner.get(ds["metadata"]["uid"], []))
            for deploy in list(self.store.objects("apps/deployments")):
                self._deployment(deploy, pods_by_owner)
            for rs in list(self.store.objects("apps/replicasets")):
                self._replicaset(rs, nodes, pods_by_owner.get(rs["metadata"]["uid"], []))
            for reconciler in self.extra:
                reconciler.reconcile()

    # ------------------------------------------------------------ kubelet: pod status

    def _kubelet(self):
        now = time.monotonic()
        pods_type = self.types["/pods"]
        for pod in list(self.store.objects("/pods")):
            if pod["metadata"].get("deletionTimestamp") or pod_ready(pod):
                continue
            if not (pod.get("spec") or {}).get("nodeName"):
                pod = self._schedule(pods_type, pod)
                if pod is None:
                    continue
            uid = pod["metadata"]["uid"]
            status = pod.get("status") or {}
            if not status.get("phase"):
                self._pod_ready_at[uid] = now + self.settings.pod_ready_delay
                self.at(self._pod_ready_at[uid])
                self._set_pod_status(pods_type, pod, self._pending_status(pod))
                continue
            due = self._pod_ready_at.setdefault(uid, now + self.settings.pod_ready_delay)
            if due > now:
                self.at(due)
                continue
            if self.settings.is_stalled(pod):
                crashing = self._crashloop_status(pod)
                if crashing != status:
                    self._set_pod_status(pods_type, pod, crashing)
                continue
            self._pod_ready_at.pop(uid, None)
            self._set_pod_status(pods_type, pod, self._running_status(pod))

    def _schedule(self, pods_type, pod):
        """The scheduler's part: bind a pod nobody placed to the least busy schedulable node."""
        nodes = [n for n in self.store.objects("/nodes") if _node_schedulable(n, {"spec": pod.get("spec")})]
        if not nodes:
            return None
        load = {n["metadata"]["name"]: 0 for n in nodes}
        for other in self.store.objects("/pods"):
            if other["spec"].get("nodeName") in load:
                load[other["spec"]["nodeName"]] += 1
        new = copy.deepcopy(pod)
        new["spec"]["nodeName"] = min(load, key=lambda n: (load[n], n))
        return self.api.write(pods_type, pod, new, KUBELET)

    def _set_pod_status(self, pods_type, pod, status):
        new = dict(pod, status=status)
        new["metadata"] = dict(pod["metadata"])
        self.api.write(pods_type, pod, new, KUBELET, "status")

    def _node_ip(self, node_name):
        node = self.store.get("/nodes", "", node_name) if node_name else None
        for address in ((node or {}).get("status") or {}).get("addresses") or []:
            if address.get("type") == "InternalIP":
                return address["address"]
        return None

    def _pod_ip(self, pod):
        spec = pod.get("spec") or {}
        node_name = spec.get("nodeName")
        if spec.get("hostNetwork"):
            return self._node_ip(node_name)
        node = self.store.get("/nodes", "", node_name) if node_name else None
        cidr = ((node or {}).get("spec") or {}).get("podCIDR") or "10.244.0.0/24"
        base = cidr.split("/")[0].rsplit(".", 1)[0]
        octet = self._next_ip.get(node_name, 1) % 250 + 1
        self._next_ip[node_name] = octet
        return "%s.%d" % (base, octet + 1)

    def _pending_status(self, pod):
        now = timestamp()
        node_ip = self._node_ip((pod.get("spec") or {}).get("nodeName"))
        pod_ip = self._pod_ip(pod)
        containers = (pod.get("spec") or {}).get("containers") or []
        status = {
            "phase": "Pending",
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "False", "lastProbeTime": None, "lastTransitionTime": now},
                {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": now},
                {"type": "Ready", "status": "False", "lastProbeTime": None, "lastTransitionTime": now,
                 "reason": "ContainersNotReady", "message": "containers with unready status: [%s]" % " ".join(
                     c.get("name", "") for c in containers)},
                {"type": "ContainersReady", "status": "False", "lastProbeTime": None, "lastTransitionTime": now,
                 "reason": "ContainersNotReady", "message": "containers with unready status: [%s]" % " ".join(
                     c.get("name", "") for c in containers)},
                {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now},
            ],
            "qosClass": "BestEffort",
            "startTime": now,
            "containerStatuses": [{"name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": False,
                                   "restartCount": 0, "started": False,
                                   "state": {"waiting": {"reason": "ContainerCreating"}}} for c in containers],
        }
        if node_ip:
            status["hostIP"] = node_ip
            status["hostIPs"] = [{"ip": node_ip}]
        if pod_ip:
            status["podIP"] = pod_ip
            status["podIPs"] = [{"ip": pod_ip}]
        return status

    def _running_status(self, pod):
        now = timestamp()
        status = dict(pod.get("status") or {}, phase="Running")
        status["conditions"] = [{"type": c["type"], "status": "True", "lastProbeTime": None,
                                 "lastTransitionTime": c["lastTransitionTime"] if c["status"] == "True" else now}
                                for c in status.get("conditions") or []]
        container_id = "containerd://%064x" % fnv32a(pod["metadata"]["uid"].encode("ascii"))
        status["containerStatuses"] = [dict(c, ready=True, started=True, state={"running": {"startedAt": now}},
                                            imageID=(c.get("image") or "") + "@sha256:" + "0" * 64, containerID=container_id)
                                       for c in status.get("containerStatuses") or []]
        return status

    def _crashloop_status(self, pod):
        status = copy.deepcopy(pod.get("status") or {})
        status["phase"] = "Running"
        for cstatus in status.get("containerStatuses") or []:
            cstatus.update(ready=False, started=False, restartCount=max(cstatus.get("restartCount", 0), 1),
                           state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed "
                                              "container=%s pod=%s_%s" % (cstatus.get("name"), pod["metadata"]["name"],
                                                                          pod["metadata"].get("namespace"))}},
                           lastState={"terminated": {"exitCode": 1, "reason": "Error"}})
        return status

    # ------------------------------------------------------------ namespaces and garbage

    def _namespaces(self):
        for ns in list(self.store.objects("/namespaces")):
            if not ns["metadata"].get("deletionTimestamp"):
                self._namespace_defaults(ns["metadata"]["name"])
                continue
            name = ns["metadata"]["name"]
            for rtype in self.api.registry.all():
                if rtype.namespaced:
                    for obj in list(self.store.objects(rtype.key, name)):
                        self.api.remove(rtype, obj)
            final = copy.deepcopy(ns)
            final["metadata"]["resourceVersion"] = str(self.store.bump())
            self.store.remove("/namespaces", final)

    def _namespace_defaults(self, namespace):
        """What the service-account and root-CA publisher controllers put in every namespace."""
        if self.store.get("/serviceaccounts", namespace, "default") is None:
            self.api.create(self.types["/serviceaccounts"], namespace,
                            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": namespace}},
                            CONTROLLER)
        if self.store.get("/configmaps", namespace, "kube-root-ca.crt") is None:
            self.api.create(self.types["/configmaps"], namespace, {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "kube-root-ca.crt", "namespace": namespace,
                             "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify "
                                                                          "the kube-apiserver when using internal endpoints "
                                                                          "such as the internal service IP or kubernetes.default.svc. "
                                                                          "No other usage is guaranteed across distributions of "
                                                                          "Kubernetes clusters."}},
                "data": {"ca.crt": self.root_ca}}, CONTROLLER)

    def _collect_garbage(self):
        """Dependents of deleted owners go (background propagation), and so do pods bound to deleted nodes."""
        nodes = {n["metadata"]["name"] for n in self.store.objects("/nodes")}
        for pod in list(self.store.objects("/pods")):
            if (pod.get("spec") or {}).get("nodeName") and pod["spec"]["nodeName"] not in nodes:
                self.api.remove(self.types["/pods"], pod)
        types = self.api.registry.all()
        uids = set()
        for rtype in types:
            for obj in self.store.objects(rtype.key):
                uids.add(obj["metadata"].get("uid"))
        for rtype in types:
            for obj in list(self.store.objects(rtype.key)):
                refs = obj["metadata"].get("ownerReferences") or []
                if refs and not any(ref.get("uid") in uids for ref in refs):
                    self.api.remove(rtype, obj)

    # ------------------------------------------------------------ pods for workloads

    def _new_pod(self, owner, template, labels, node_name=None):
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

    def _write_status(self, rtype, obj, status):
        if obj.get("status") == status:
            return obj
        new = dict(obj, status=status)
        new["metadata"] = dict(obj["metadata"])
        return self.api.write(rtype, obj, new, CONTROLLER, "status") or obj

    # ------------------------------------------------------------ DaemonSet

    def _daemonset(self, ds, nodes, pods):
        if ds["metadata"].get("deletionTimestamp"):
            return
        spec = ds["spec"]
        template = spec.get("template") or {}
        hash_value = template_hash(template)
        self._revision(ds, template, hash_value)
        wanted_selector = (template.get("spec") or {}).get("nodeSelector") or {}
        eligible = [n["metadata"]["name"] for n in nodes
                    if all((n["metadata"].get("labels") or {}).get(k) == v for k, v in wanted_selector.items())]
        eligible_set = set(eligible)
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        by_node = {}
        for pod in live:
            by_node.setdefault(pod["spec"].get("nodeName"), []).append(pod)
        min_ready = spec.get("minReadySeconds") or 0
        now = time.time()
        for node_name, node_pods in by_node.items():
            if node_name not in eligible_set:
                for pod in node_pods:
                    self.api.remove(self.types["/pods"], pod)
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels.update({"controller-revision-hash": hash_value, "pod-template-generation": str(ds["metadata"].get("generation", 1))})
        strategy = spec.get("updateStrategy") or {}
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        desired = len(eligible)
        max_surge = scaled((strategy.get("rollingUpdate") or {}).get("maxSurge", 0), desired, True) if rolling else 0
        max_unavailable = scaled((strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1), desired, True) if rolling else 0
        if rolling and max_surge == 0 and max_unavailable == 0:
            max_unavailable = 1
        unavailable = 0
        old_pods = []  # (node, pod, available, has_new_pod)
        surging = 0
        for node_name in eligible:
            node_pods = by_node.get(node_name, [])
            new = [p for p in node_pods if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == hash_value]
            old = [p for p in node_pods if p not in new]
            if not node_pods:
                self._new_pod(ds, template, labels, node_name)
                unavailable += 1
                continue
            available = any(pod_available(p, min_ready, now) for p in node_pods)
            if not available:
                unavailable += 1
            if new and old:
                surging += 1
                if any(pod_available(p, min_ready, now) for p in new):
                    for pod in old:
                        self.api.remove(self.types["/pods"], pod)
                continue
            for pod in old:
                old_pods.append((node_name, pod, pod_available(pod, min_ready, now)))
        if rolling:
            self._roll_daemonset(ds, template, labels, old_pods, max_surge, max_unavailable - unavailable, surging)
        self._daemonset_status(ds, eligible_set, by_node, hash_value, min_ready)

    def _roll_daemonset(self, ds, template, labels, old_pods, max_surge, budget, surging):
        pods_type = self.types["/pods"]
        for node_name, pod, available in old_pods:
            if not available:
                self.api.remove(pods_type, pod)  # unhealthy old pods go first, they cost no availability
                if max_surge:
                    self._new_pod(ds, template, labels, node_name)
            elif max_surge:
                if surging < max_surge:
                    surging += 1
                    self._new_pod(ds, template, labels, node_name)
            elif budget > 0:
                budget -= 1
                self.api.remove(pods_type, pod)

    def _daemonset_status(self, ds, eligible, by_node, hash_value, min_ready):
        now = time.time()
        counts = {"current": 0, "ready": 0, "available": 0, "updated": 0, "misscheduled": 0}
        fresh = {}
        for node_name, stale_pods in by_node.items():
            pods = [self.store.get("/pods", p["metadata"]["namespace"], p["metadata"]["name"]) for p in stale_pods]
            fresh[node_name] = [p for p in pods if p is not None and not p["metadata"].get("deletionTimestamp")]
        for node_name in eligible:
            pods = fresh.get(node_name) or []
            if pods:
                counts["current"] += 1
            if any(pod_ready(p) for p in pods):
                counts["ready"] += 1
            if any(pod_available(p, min_ready, now) for p in pods):
                counts["available"] += 1
            elif any(pod_ready(p) for p in pods) and min_ready:
                self.at(time.monotonic() + min_ready)
            if any((p["metadata"].get("labels") or {}).get("controller-revision-hash") == hash_value for p in pods):
                counts["updated"] += 1
        counts["misscheduled"] = sum(1 for node_name, pods in fresh.items() if pods and node_name not in eligible)
        desired = len(eligible)
        status = {"currentNumberScheduled": counts["current"], "numberMisscheduled": counts["misscheduled"],
                  "desiredNumberScheduled": desired, "numberReady": counts["ready"],
                  "observedGeneration": ds["metadata"].get("generation", 1),
                  "updatedNumberScheduled": counts["updated"], "numberAvailable": counts["available"]}
        if desired - counts["available"] > 0:
            status["numberUnavailable"] = desired - counts["available"]
        self._write_status(self.types["apps/daemonsets"], ds, status)

    def _revision(self, ds, template, hash_value):
        cr_type = self.types["apps/controllerrevisions"]
        namespace, uid = ds["metadata"]["namespace"], ds["metadata"]["uid"]
        owned = [cr for cr in self.store.objects(cr_type.key, namespace) if controller_uid(cr) == uid]
        top = max((cr.get("revision", 0) for cr in owned), default=0)
        name = "%s-%s" % (ds["metadata"]["name"], hash_value)
        current = next((cr for cr in owned if cr["metadata"]["name"] == name), None)
        if current is None:
            data_template = copy.deepcopy(template)
            data_template["$patch"] = "replace"
            labels = dict((template.get("metadata") or {}).get("labels") or {}, **{"controller-revision-hash": hash_value})
            revision = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
                        "metadata": {"name": name, "namespace": namespace, "labels": labels,
                                     "ownerReferences": [owner_ref(ds)]},
                        "data": {"spec": {"template": data_template}}, "revision": top + 1}
            self.api.create(cr_type, namespace, revision, CONTROLLER)
            owned.append(revision)
        elif current.get("revision", 0) < top:
            self.api.write(cr_type, current, dict(current, revision=top + 1))
        limit = (ds.get("spec") or {}).get("revisionHistoryLimit", 10)
        history = sorted((cr for cr in owned if cr["metadata"]["name"] != name), key=lambda cr: cr.get("revision", 0))
        for cr in history[:max(len(history) - limit, 0)]:
            if "uid" in cr["metadata"]:
                self.api.remove(cr_type, cr)

    # ------------------------------------------------------------ ReplicaSet

    def _replicaset(self, rs, nodes, pods):
        if rs["metadata"].get("deletionTimestamp"):
            return
        spec = rs["spec"]
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        wanted = spec.get("replicas", 1)
        template = spec.get("template") or {}
        if len(live) < wanted:
            ready_nodes = [n for n in nodes if _node_schedulable(n, template)]
            load = {n["metadata"]["name"]: 0 for n in ready_nodes}
            for pod in live:
                if pod["spec"].get("nodeName") in load:
                    load[pod["spec"]["nodeName"]] += 1
            labels = dict((template.get("metadata") or {}).get("labels") or {})
            for _unused in range(wanted - len(live)):
                node_name = min(load, key=lambda n: (load[n], n)) if load else None
                if node_name:
                    load[node_name] += 1
                live.append(self._new_pod(rs, template, labels, node_name))
        elif len(live) > wanted:
            doomed = sorted(live, key=lambda p: (pod_ready(p), p["metadata"].get("creationTimestamp", "")), reverse=False)
            doomed = doomed[:len(live) - wanted]
            for pod in doomed:
                self.api.remove(self.types["/pods"], pod)
            live = [p for p in live if p not in doomed]
        now = time.time()
        min_ready = spec.get("minReadySeconds") or 0
        fresh = [self.store.get("/pods", p["metadata"]["namespace"], p["metadata"]["name"]) or p for p in live]
        status = {"replicas": len(fresh),
                  "fullyLabeledReplicas": len(fresh),
                  "readyReplicas": sum(1 for p in fresh if pod_ready(p)),
                  "availableReplicas": sum(1 for p in fresh if pod_available(p, min_ready, now)),
                  "observedGeneration": rs["metadata"].get("generation", 1)}
        for key in ("readyReplicas", "availableReplicas", "fullyLabeledReplicas"):
            if not status[key]:
                del status[key]
        self._write_status(self.types["apps/replicasets"], rs, status)

    # ------------------------------------------------------------ Deployment

    def _deployment(self, deploy, pods_by_owner):
        if deploy["metadata"].get("deletionTimestamp"):
            return
        rs_type = self.types["apps/replicasets"]
        spec = deploy["spec"]
        namespace, uid = deploy["metadata"]["namespace"], deploy["metadata"]["uid"]
        owned = [rs for rs in self.store.objects(rs_type.key, namespace) if controller_uid(rs) == uid]
        template = spec.get("template") or {}
        new_rs = next((rs for rs in owned if _same_template(rs, template)), None)
        replicas = spec.get("replicas", 1)
        revisions = [int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0")) for rs in owned]
        created = False
        if spec.get("paused"):
            self._deployment_status(deploy, owned, new_rs, created)
            return
        if new_rs is None:
            new_rs = self._create_rs(deploy, template, max(revisions, default=0) + 1, owned)
            created = True
            owned.append(new_rs)
        elif int((new_rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0")) < max(revisions):
            new_rs = self._annotate_rs(new_rs, deploy, max(revisions) + 1)
        old = [rs for rs in owned if rs["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        strategy = spec.get("strategy") or {}
        if strategy.get("type") == "Recreate":
            for rs in old:
                self._scale_rs(rs, 0, deploy)
            if not any(pods_by_owner.get(rs["metadata"]["uid"]) for rs in old):
                new_rs = self._scale_rs(new_rs, replicas, deploy)
        else:
            new_rs = self._roll_deployment(deploy, new_rs, old, replicas, strategy.get("rollingUpdate") or {})
        self._cleanup_rs(deploy, old)
        owned = [rs for rs in self.store.objects(rs_type.key, namespace) if controller_uid(rs) == uid]
        new_rs = next((rs for rs in owned if rs["metadata"]["uid"] == new_rs["metadata"]["uid"]), new_rs)
        self._deployment_status(deploy, owned, new_rs, created)

    def _roll_deployment(self, deploy, new_rs, old, replicas, rolling):
        max_surge = scaled(rolling.get("maxSurge", "25%"), replicas, True)
        max_unavailable = scaled(rolling.get("maxUnavailable", "25%"), replicas, False)
        if max_surge == 0 and max_unavailable == 0:
            max_unavailable = 1
        everyone = [new_rs] + old
        total = sum(rs["spec"].get("replicas", 0) for rs in everyone)
        new_count = new_rs["spec"].get("replicas", 0)
        if new_count > replicas:
            new_rs = self._scale_rs(new_rs, replicas, deploy)
        elif new_count < replicas and total < replicas + max_surge:
            new_rs = self._scale_rs(new_rs, min(replicas, new_count + replicas + max_surge - total), deploy)
        available = sum((rs.get("status") or {}).get("availableReplicas", 0) for rs in everyone)
        min_available = replicas - max_unavailable
        new_unavailable = new_rs["spec"].get("replicas", 0) - (new_rs.get("status") or {}).get("availableReplicas", 0)
        all_count = sum(rs["spec"].get("replicas", 0) for rs in [new_rs] + old)
        budget = all_count - min_available - new_unavailable
        for rs in sorted(old, key=lambda r: r["metadata"].get("creationTimestamp", "")):
            if budget <= 0:
                break
            current = rs["spec"].get("replicas", 0)
            unhealthy = current - (rs.get("status") or {}).get("availableReplicas", 0)
            cut = min(max(unhealthy, 0), budget, current)
            if cut:
                budget -= cut
                rs = self._scale_rs(rs, current - cut, deploy)
        scale_budget = available - min_available
        for rs in sorted(old, key=lambda r: r["metadata"].get("creationTimestamp", "")):
            fresh = self.store.get("apps/replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"]) or rs
            current = fresh["spec"].get("replicas", 0)
            if scale_budget <= 0 or not current:
                continue
            cut = min(current, scale_budget)
            scale_budget -= cut
            self._scale_rs(fresh, current - cut, deploy)
        return new_rs

    def _create_rs(self, deploy, template, revision, owned):
        hash_value = template_hash(template)
        collision = 0
        while any(rs["metadata"]["name"] == "%s-%s" % (deploy["metadata"]["name"], hash_value) for rs in owned):
            collision += 1
            hash_value = template_hash(template, collision)
        template = copy.deepcopy(template)
        labels = dict((template.get("metadata") or {}).get("labels") or {}, **{"pod-template-hash": hash_value})
        template.setdefault("metadata", {})["labels"] = labels
        selector = copy.deepcopy(deploy["spec"].get("selector") or {})
        selector.setdefault("matchLabels", {})["pod-template-hash"] = hash_value
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": "%s-%s" % (deploy["metadata"]["name"], hash_value),
                           "namespace": deploy["metadata"]["namespace"], "labels": labels,
                           "annotations": self._rs_annotations(deploy, revision),
                           "ownerReferences": [owner_ref(deploy)]},
              "spec": {"replicas": 0, "minReadySeconds": deploy["spec"].get("minReadySeconds", 0),
                       "selector": selector, "template": template}}
        created, _unused = self.api.create(self.types["apps/replicasets"], deploy["metadata"]["namespace"], rs, CONTROLLER)
        return created

    @staticmethod
    def _rs_annotations(deploy, revision):
        replicas = deploy["spec"].get("replicas", 1)
        surge = scaled(((deploy["spec"].get("strategy") or {}).get("rollingUpdate") or {}).get("maxSurge", "25%"), replicas, True)
        return {"deployment.kubernetes.io/desired-replicas": str(replicas),
                "deployment.kubernetes.io/max-replicas": str(replicas + surge),
                "deployment.kubernetes.io/revision": str(revision)}

    def _annotate_rs(self, rs, deploy, revision):
        new = copy.deepcopy(rs)
        new["metadata"].setdefault("annotations", {}).update(self._rs_annotations(deploy, revision))
        return self.api.write(self.types["apps/replicasets"], rs, new) or rs

    def _scale_rs(self, rs, replicas, deploy):
        current = rs["spec"].get("replicas", 0)
        if current == replicas:
            return rs
        new = copy.deepcopy(rs)
        new["spec"]["replicas"] = replicas
        new["metadata"].setdefault("annotations", {}).update(
            {k: v for k, v in self._rs_annotations(deploy, 0).items() if not k.endswith("revision")})
        written = self.api.write(self.types["apps/replicasets"], rs, new)
        if written is None:
            return rs
        verb = "up" if replicas > current else "down"
        self._event(deploy, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d"
                    % (verb, rs["metadata"]["name"], current, replicas))
        return written

    def _cleanup_rs(self, deploy, old):
        limit = deploy["spec"].get("revisionHistoryLimit", 10)
        idle = [rs for rs in old if not rs["spec"].get("replicas") and not (rs.get("status") or {}).get("replicas")]
        idle.sort(key=lambda rs: int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0")))
        for rs in idle[:max(len(idle) - limit, 0)]:
            self.api.remove(self.types["apps/replicasets"], rs)

    def _deployment_status(self, deploy, owned, new_rs, created):
        spec = deploy["spec"]
        replicas = spec.get("replicas", 1)
        old_status = deploy.get("status") or {}
        statuses = [rs.get("status") or {} for rs in owned]
        new_status = (new_rs or {}).get("status") or {}
        max_unavailable = scaled(((spec.get("strategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", "25%"),
                                 replicas, False)
        status = {"observedGeneration": deploy["metadata"].get("generation", 1),
                  "replicas": sum(s.get("replicas", 0) for s in statuses),
                  "updatedReplicas": new_status.get("replicas", 0),
                  "readyReplicas": sum(s.get("readyReplicas", 0) for s in statuses),
                  "availableReplicas": sum(s.get("availableReplicas", 0) for s in statuses)}
        status["unavailableReplicas"] = max(replicas - status["availableReplicas"], 0) if status["replicas"] else 0
        for key in ("readyReplicas", "availableReplicas", "unavailableReplicas", "updatedReplicas", "replicas"):
            if not status[key]:
                del status[key]
        now = timestamp()
        conditions = {c["type"]: dict(c) for c in old_status.get("conditions") or []}
        available_ok = status.get("availableReplicas", 0) >= replicas - max_unavailable
        _set_condition(conditions, "Available", available_ok,
                       "MinimumReplicasAvailable" if available_ok else "MinimumReplicasUnavailable",
                       "Deployment has minimum availability." if available_ok else "Deployment does not have minimum availability.",
                       now)
        if new_rs is not None and not spec.get("paused"):
            self._progress(deploy, conditions, status, old_status, new_rs, created, now)
        status["conditions"] = [conditions[t] for t in ("Available", "Progressing", "ReplicaFailure") if t in conditions]
        written = self._write_status(self.types["apps/deployments"], deploy, status)
        revision = ((new_rs or {}).get("metadata", {}).get("annotations") or {}).get("deployment.kubernetes.io/revision")
        if revision and (written["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision") != revision:
            new = copy.deepcopy(written)
            new["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = revision
            self.api.write(self.types["apps/deployments"], written, new)

    def _progress(self, deploy, conditions, status, old_status, new_rs, created, now):
        name = new_rs["metadata"]["name"]
        replicas = deploy["spec"].get("replicas", 1)
        complete = (status.get("updatedReplicas", 0) == replicas and status.get("replicas", 0) == replicas
                    and status.get("availableReplicas", 0) == replicas)
        progressing = conditions.get("Progressing")
        advanced = any(status.get(k, 0) != old_status.get(k, 0) for k in ("updatedReplicas", "readyReplicas", "availableReplicas",
                                                                          "replicas"))
        if created:
            _set_condition(conditions, "Progressing", True, "NewReplicaSetCreated", 'Created new replica set "%s"' % name, now,
                           touch=True)
        elif complete:
            _set_condition(conditions, "Progressing", True, "NewReplicaSetAvailable",
                           'ReplicaSet "%s" has successfully progressed.' % name, now,
                           touch=not progressing or progressing.get("reason") != "NewReplicaSetAvailable")
        elif advanced or progressing is None or (progressing.get("reason") == "NewReplicaSetAvailable"):
            _set_condition(conditions, "Progressing", True, "ReplicaSetUpdated", 'ReplicaSet "%s" is progressing.' % name, now,
                           touch=True)
        deadline = deploy["spec"].get("progressDeadlineSeconds", 600)
        progressing = conditions["Progressing"]
        if not complete and progressing.get("reason") != "ProgressDeadlineExceeded":
            since = parse_time(progressing.get("lastUpdateTime"))
            if since is not None and time.time() - since > deadline:
                _set_condition(conditions, "Progressing", False, "ProgressDeadlineExceeded",
                               'ReplicaSet "%s" has timed out progressing.' % name, now, touch=True)
            elif since is not None:
                self.at(time.monotonic() + max(since + deadline - time.time(), 0) + 1.0)

    def _event(self, obj, reason, message):
        now = timestamp()
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"generateName": obj["metadata"]["name"] + ".", "namespace": obj["metadata"]["namespace"]},
                 "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
                                    "namespace": obj["metadata"]["namespace"], "uid": obj["metadata"]["uid"],
                                    "resourceVersion": obj["metadata"].get("resourceVersion")},
                 "reason": reason, "message": message, "type": "Normal", "count": 1,
                 "firstTimestamp": now, "lastTimestamp": now,
                 "source": {"component": "deployment-controller"}, "reportingComponent": "deployment-controller"}
        self.api.create(self.types["/events"], obj["metadata"]["namespace"], event, CONTROLLER)


def _set_condition(conditions, kind, ok, reason, message, now, touch=False):
    status = "True" if ok else "False"
    cond = conditions.get(kind)
    if cond is None or cond.get("status") != status:
        conditions[kind] = {"type": kind, "status": status, "lastUpdateTime": now, "lastTransitionTime": now,
                            "reason": reason, "message": message}
        return
    changed = cond.get("reason") != reason or cond.get("message") != message
    cond.update(reason=reason, message=message)
    if touch or changed:
        cond["lastUpdateTime"] = now


def _same_template(rs, template):
    rs_template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    labels = (rs_template.get("metadata") or {}).get("labels")
    if labels is not None:
        labels.pop("pod-template-hash", None)
    wanted = copy.deepcopy(template)
    (wanted.get("metadata") or {}).pop("creationTimestamp", None)
    (rs_template.get("metadata") or {}).pop("creationTimestamp", None)
    return rs_template == wanted


def _node_schedulable(node, template):
    if (node.get("spec") or {}).get("unschedulable"):
        return False
    ready = condition(node, "Ready")
    if not ready or ready.get("status") != "True":
        return False
    wanted = ((template or {}).get("spec") or {}).get("nodeSelector") or {}
    labels = node["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in wanted.items())
