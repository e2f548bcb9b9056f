"""The kubelet and the scheduler of every node: bind unplaced pods, then take each pod from Pending through
ContainerCreating to Running and Ready after the settings' delay (or into CrashLoopBackOff when stalled)."""

import copy
import time

from ..api import KUBELET, timestamp
from .common import Controller, fnv32a, node_schedulable, pod_ready


class Kubelet(Controller):

    def __init__(self, loop, settings):
        super().__init__(loop)
        self.settings = settings
        self._pod_ready_at = {}  # pod uid -> monotonic time it becomes Ready
        self._next_ip = {}  # node name -> last host octet handed out
        # pod_addresses(pod, node) -> (address, None) | (None, error) | (None, None): CNI's addresses where they
        # come from a subnet (podnet.py); None or (None, None) leaves the node's podCIDR to the kubelet
        self.pod_addresses = None
        self._told = set()  # pods already given a FailedCreatePodSandBox event

    def reconcile(self):
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
            if self._without_address(pods_type, pod, status):
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
        nodes = [n for n in self.store.objects("/nodes") if node_schedulable(n, {"spec": pod.get("spec")})]
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

    def _without_address(self, pods_type, pod, status):
        """A pod CNI found no address for stays ContainerCreating; it asks again every second."""
        if status.get("phase") != "Pending" or status.get("podIP") or (pod.get("spec") or {}).get("hostNetwork"):
            return False
        address = self._pod_ip(pod)
        if address is None:
            self.at(time.monotonic() + 1.0)
        else:
            self._set_pod_status(pods_type, pod, dict(status, podIP=address, podIPs=[{"ip": address}]))
        return True

    def _pod_ip(self, pod):
        spec = pod.get("spec") or {}
        node_name = spec.get("nodeName")
        if spec.get("hostNetwork"):
            return self._node_ip(node_name)
        node = self.store.get("/nodes", "", node_name) if node_name else None
        if self.pod_addresses is not None and node is not None:
            address, error = self.pod_addresses(pod, node)
            if error:
                self._sandbox_failed(pod, error)
                return None
            if address:
                self._told.discard(pod["metadata"]["uid"])
                return address
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

    def _sandbox_failed(self, pod, message):
        """The Warning event the kubelet records when CNI cannot set a pod up (once per pod)."""
        if pod["metadata"]["uid"] in self._told:
            return
        self._told.add(pod["metadata"]["uid"])
        now = timestamp()
        namespace = pod["metadata"].get("namespace", "default")
        self.api.create(self.types["/events"], namespace, {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"generateName": pod["metadata"]["name"] + ".", "namespace": namespace},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod["metadata"]["name"], "namespace": namespace,
                               "uid": pod["metadata"]["uid"]},
            "reason": "FailedCreatePodSandBox", "message": message, "type": "Warning", "count": 1,
            "firstTimestamp": now, "lastTimestamp": now, "source": {"component": "kubelet", "host": pod["spec"]["nodeName"]},
            "reportingComponent": "kubelet"}, KUBELET)
