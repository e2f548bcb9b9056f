"""Cilium security identities, as the agents and the operator keep them with CRD identity allocation.

- Identity labels: the pod's labels, its namespace (`io.kubernetes.pod.namespace`), its namespace's
  labels (`io.cilium.k8s.namespace.labels.<key>`), its service account and the cluster name, all
  with source `k8s`, filtered like cilium/cilium `pkg/labelsfilter`: the default patterns of the
  agent's Cilium version plus the space-separated patterns of cilium-config's `labels` key.
- Each agent reads cilium-config when its pod starts, so a change of `labels` takes effect on a
  node only after that node's agent restarted. Endpoints keep their identity across an agent
  restart; a new endpoint, or a pod or namespace whose labels change, gets the identity its
  agent's filter gives ("Limiting Identity-Relevant Labels", docs.cilium.io).
- Endpoints with equal identity labels share one CiliumIdentity; numbers are leased at random from
  the cluster-local range 256..65535 (pkg/idpool).
- The operator deletes identities no CiliumEndpoint uses once they have been unused for
  `gc_delay` seconds (Cilium: identity-gc-interval 15m / identity-heartbeat-timeout 30m;
  tests shorten it through POST /_emulator/identities).
"""

import random
import re
import time

IDENTITY_MIN, IDENTITY_MAX = 256, 65535
DEFAULT_GC_DELAY = 900.0
NAMESPACE_LABELS = "io.cilium.k8s.namespace.labels."

# pkg/labelsfilter defaultLabelPrefixCfg: (first Cilium version with the pattern, pattern)
DEFAULT_PATTERNS = [
    ((0, 0), "reserved:.*"),
    ((0, 0), r"io\.kubernetes\.pod\.namespace"),
    ((0, 0), r"io\.cilium\.k8s\.namespace\.labels"),
    ((0, 0), r"app\.kubernetes\.io"),
    ((0, 0), r"!io\.kubernetes"),
    ((0, 0), r"!kubernetes\.io"),
    ((1, 15), r"!statefulset\.kubernetes\.io/pod-name"),    # cilium PR #28003
    ((1, 15), r"!apps\.kubernetes\.io/pod-index"),          # cilium PR #28003
    ((1, 15), r"!batch\.kubernetes\.io/job-completion-index"),  # cilium PR #28897
    ((1, 16), r"!batch\.kubernetes\.io/controller-uid"),    # cilium PR #31964
    ((0, 0), r"!.*beta\.kubernetes\.io"),
    ((0, 0), r"!k8s\.io"),
    ((0, 0), "!pod-template-generation"),
    ((0, 0), "!pod-template-hash"),
    ((0, 0), "!controller-revision-hash"),
    ((0, 0), "!annotation.*"),
    ((1, 16), "!controller-uid"),                          # cilium PR #31964
    ((0, 0), "!etcd_node"),
]


class LabelFilter:
    """One agent's identity-relevant label patterns (labelsfilter.ParseLabelPrefixCfg)."""

    def __init__(self, version, extra=""):
        minor = tuple(int(part) for part in version.split(".")[:2])
        self.prefixes = [_pattern(text) for since, text in DEFAULT_PATTERNS if minor >= since]
        self.whitelist = False  # the default list never switches to include-only mode
        for text in (extra or "").split():
            prefix = _pattern(text)
            self.whitelist = self.whitelist or not prefix[1]
            self.prefixes.append(prefix)

    def keep(self, source, key):
        """True when the label counts for the identity: the longest include beats the shortest ignore."""
        included = ignored = 0
        for prefix_source, ignore, expr in self.prefixes:
            if prefix_source and prefix_source != source:
                continue
            match = expr.match(key)
            if not match:
                continue
            if ignore:
                ignored = match.end() if ignored == 0 or match.end() < ignored else ignored
            else:
                included = max(included, match.end())
        return (not self.whitelist and ignored == 0) or included > ignored


def _pattern(text):
    """(source, ignore, compiled regular expression) of one `[source:][!]regexp` pattern."""
    source, _sep, prefix = text.partition(":") if ":" in text else ("", "", text)
    ignore = prefix.startswith("!")
    return source, ignore, re.compile(prefix[1:] if ignore else prefix)


def identity_labels(pod, namespace_labels, label_filter, cluster_name="default"):
    """{"k8s:<key>": value} of the labels that make up the pod's identity."""
    namespace = pod["metadata"].get("namespace", "default")
    labels = dict(pod["metadata"].get("labels") or {})
    labels["io.kubernetes.pod.namespace"] = namespace
    labels["io.cilium.k8s.policy.serviceaccount"] = (pod.get("spec") or {}).get("serviceAccountName") or "default"
    labels["io.cilium.k8s.policy.cluster"] = cluster_name
    for key, value in (namespace_labels or {}).items():
        labels[NAMESPACE_LABELS + key] = value
    return {"k8s:" + key: value for key, value in labels.items() if label_filter.keep("k8s", key)}


class Identities:
    """Allocation, reuse and garbage collection of CiliumIdentity objects (one per cluster)."""

    def __init__(self, api, identity_type, writer, seed=""):
        self.api = api
        self.store = api.store
        self.identity_type = identity_type
        self.writer = writer
        self.random = random.Random(seed)
        self.gc_delay = DEFAULT_GC_DELAY
        self._unused_since = {}

    def known(self):
        return {tuple(sorted((i.get("security-labels") or {}).items())): i for i in self.store.objects(self.identity_type.key)}

    def lease(self, labels, known=None):
        """The number of the identity for these labels, creating it when none has them (None: range exhausted)."""
        known = self.known() if known is None else known
        key = tuple(sorted(labels.items()))
        if key in known:
            self._unused_since.pop(known[key]["metadata"]["name"], None)
            return int(known[key]["metadata"]["name"])
        taken = {int(i["metadata"]["name"]) for i in known.values() if i["metadata"]["name"].isdigit()}
        number = self._free_number(taken)
        if number is None:
            return None
        identity = {"apiVersion": "cilium.io/v2", "kind": "CiliumIdentity",
                    "metadata": {"name": str(number),
                                 "labels": {k.split(":", 1)[1]: v for k, v in labels.items() if k.startswith("k8s:")}},
                    "security-labels": dict(labels)}
        created, _unused = self.api.create(self.identity_type, None, identity, self.writer)
        known[key] = created
        return number

    def _free_number(self, taken):
        if len(taken) >= IDENTITY_MAX - IDENTITY_MIN + 1:
            return None
        for _attempt in range(64):
            number = self.random.randint(IDENTITY_MIN, IDENTITY_MAX)
            if number not in taken:
                return number
        return next(n for n in range(IDENTITY_MIN, IDENTITY_MAX + 1) if n not in taken)

    def collect(self, used, operator_writer, now=None):
        """Delete identities no endpoint has used for gc_delay seconds; returns the seconds until the next is due."""
        now = time.monotonic() if now is None else now
        next_due = None
        for identity in list(self.store.objects(self.identity_type.key)):
            name = identity["metadata"]["name"]
            if name.isdigit() and int(name) in used:
                self._unused_since.pop(name, None)
                continue
            since = self._unused_since.setdefault(name, now)
            if now - since >= self.gc_delay:
                self.api.remove(self.identity_type, identity, operator_writer)
                self._unused_since.pop(name, None)
            else:
                wait = self.gc_delay - (now - since)
                next_due = wait if next_due is None else min(next_due, wait)
        return next_due


class AgentConfigs:
    """The label filter each node's agent loaded when its pod started."""

    def __init__(self, store, namespace="kube-system", config_map="cilium-config"):
        self.store = store
        self.namespace = namespace
        self.config_map = config_map
        self._loaded = {}  # node name -> (agent pod uid, LabelFilter)

    def refresh(self):
        """Note the agents that started since the last call; {node: LabelFilter} of the nodes with a ready agent."""
        ready = {}
        for pod in self.store.objects("/pods", self.namespace):
            labels = pod["metadata"].get("labels") or {}
            node = (pod.get("spec") or {}).get("nodeName")
            if labels.get("k8s-app") != "cilium" or not node or not _ready(pod):
                continue
            uid = pod["metadata"]["uid"]
            loaded = self._loaded.get(node)
            if loaded is None or loaded[0] != uid:
                loaded = (uid, LabelFilter(agent_version(pod), self._labels_setting()))
                self._loaded[node] = loaded
            ready[node] = loaded[1]
        return ready

    def _labels_setting(self):
        config = self.store.get("/configmaps", self.namespace, self.config_map)
        return ((config or {}).get("data") or {}).get("labels", "")

    def cluster_name(self):
        config = self.store.get("/configmaps", self.namespace, self.config_map)
        return ((config or {}).get("data") or {}).get("cluster-name") or "default"


def agent_version(pod):
    """The Cilium version of an agent pod, from its image tag (``.../cilium:v1.17.9-250915`` -> ``1.17.9``)."""
    for container in (pod.get("spec") or {}).get("containers") or []:
        match = re.search(r":v?(\d+\.\d+\.\d+)", container.get("image") or "")
        if container.get("name") == "cilium-agent" and match:
            return match.group(1)
    return "1.17.0"


def _ready(pod):
    if pod["metadata"].get("deletionTimestamp") or (pod.get("status") or {}).get("phase") != "Running":
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])
