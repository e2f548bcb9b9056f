# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``cilium status --wait`` tells about a cluster, as data, from the Kubernetes API alone.

``collect`` reads (a handful of requests, whatever the cluster size: one paginated pod list per
workload, no per-node calls); ``evaluate`` is pure and turns that snapshot into counters, per-pod
detail, errors and warnings (cilium-cli's own wording where it has one) and a one-line summary;
``status`` repeats both, driven by watch events on the DaemonSet, the Deployment and the agent pods,
until healthy.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import time
from collections import Counter

from ansible_collections.azcni.cilium.plugins.module_utils._cilium import acns
from ansible_collections.azcni.cilium.plugins.module_utils._cilium.images import image_version
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.client import K8sApiError
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.module import common_problems
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.readiness import (
    daemonset_status, deployment_status, describe_pod, rollout_counters, selector_string)
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.resources import path

AGENT_CONTAINER = "cilium-agent"
OPERATOR_CONTAINER = "cilium-operator"
CILIUM_GROUP = "cilium.io"
# Without these the agent does not start and policies cannot be applied.
REQUIRED_CRDS = ("ciliumclusterwidenetworkpolicies", "ciliumendpoints", "ciliumidentities", "ciliumnetworkpolicies",
                 "ciliumnodes")
# The cilium-config keys an AKS runbook looks at (AKS lets users change almost none of them).
CONFIG_KEYS = ("cluster-name", "cluster-id", "ipam", "routing-mode", "tunnel-protocol", "kube-proxy-replacement",
               "enable-ipv4", "enable-ipv6", "enable-policy", "enable-l7-proxy", "enable-hubble",
               "identity-allocation-mode", "enable-cilium-endpoint-slice", "enable-k8s-networkpolicy",
               "enable-node-selector-labels", "enable-local-redirect-policy", "enable-bpf-masquerade",
               "enable-endpoint-routes", "local-router-ipv4", "hubble-metrics", "hubble-listen-address")
CONFIG_PREFIXES = ("tofqdns-",)
AKS_DATAPLANE_LABEL = "kubernetes.azure.com/ebpf-dataplane"
AKS_MANAGED_BY_LABEL = "kubernetes.azure.com/managedby"


def _meta(obj):
    return (obj or {}).get("metadata") or {}


def _spec(obj):
    return (obj or {}).get("spec") or {}


def _template(obj):
    return _spec(obj).get("template") or {}


def _container_image(pod_spec, name):
    containers = pod_spec.get("containers") or []
    for container in containers:
        if container.get("name") == name:
            return container.get("image")
    return containers[0].get("image") if containers else None


# --- collect --------------------------------------------------------------------------------------
def discover_crds(client):
    """{plural: [versions]} of the resources the API server serves in group cilium.io (discovery)."""
    group = client.get("/apis/%s" % CILIUM_GROUP)
    served = {}
    for version in (group or {}).get("versions") or []:
        resources = client.get("/apis/%s" % version.get("groupVersion")) or {}
        for resource in resources.get("resources") or []:
            if "/" not in resource.get("name", "/"):  # skip subresources such as .../status
                served.setdefault(resource["name"], []).append(version.get("version"))
    return served


def collect(client, namespace="kube-system", agent="cilium", operator="cilium-operator", config_map="cilium-config"):
    """Everything ``evaluate`` needs, as the API server returned it."""
    snapshot = dict(namespace=namespace, agent_name=agent, operator_name=operator, config_map_name=config_map)
    snapshot["agent"] = client.get(path("DaemonSet", namespace, agent))
    snapshot["operator"] = client.get(path("Deployment", namespace, operator))
    for key in ("agent", "operator"):
        selector = selector_string(_spec(snapshot[key]).get("selector")) if snapshot[key] else ""
        snapshot[key + "_selector"] = selector
        pods, snapshot[key + "_pods_version"] = client.list(path("Pod", namespace), label_selector=selector) if selector else ([], None)
        snapshot[key + "_pods"] = pods
    snapshot["config"] = client.get(path("ConfigMap", namespace, config_map))
    snapshot["crds"] = discover_crds(client)
    # the ACNS workloads, read only where cilium-config says the feature is on
    state = acns.state((snapshot["config"] or {}).get("data"))
    snapshot["envoy"] = client.get(path("DaemonSet", namespace, acns.ENVOY_DAEMONSET)) if state["network_policies"] == "l7" else None
    snapshot["hubble_relay"] = (client.get(path("Deployment", namespace, acns.RELAY_DEPLOYMENT))
                                if state["observability"] else None)
    snapshot["cilium_nodes"], snapshot["cilium_nodes_version"] = (
        client.list(path("CiliumNode")) if state["transit_encryption"] == "wireguard" else (None, None))
    return snapshot


def _acns(snapshot, findings):
    """(acns state, envoy, hubble_relay, encryption) of a snapshot; a feature on without its workload is an error."""
    data = (snapshot["config"] or {}).get("data") or {}
    state = acns.state(data)
    envoy = relay = None
    if state["network_policies"] == "l7":
        envoy = _workload(snapshot.get("envoy"), acns.ENVOY_DAEMONSET, "DaemonSet", findings)
    if state["observability"]:
        relay = _workload(snapshot.get("hubble_relay"), acns.RELAY_DEPLOYMENT, "Deployment", findings)
    encryption = acns.encryption(data, snapshot.get("cilium_nodes"))
    if encryption["nodes_without_key"]:
        missing = encryption["nodes_without_key"]
        findings.error("encryption", None, "%d of %d nodes publish no WireGuard key (%s): %s" % (
            len(missing), encryption["nodes"], acns.WG_KEY_ANNOTATION, ", ".join(missing[:5])))
    return state, envoy, relay, encryption


# --- evaluate -------------------------------------------------------------------------------------
class _Findings(object):
    """Errors and warnings, each as ``"<component>[ <object>]: <message>"`` like cilium-cli's table."""

    def __init__(self):
        self.errors, self.warnings = [], []

    @staticmethod
    def _line(component, obj, message):
        return "%s%s: %s" % (component, "" if obj in (None, component) else " " + obj, message)

    def error(self, component, obj, message):
        self.errors.append(self._line(component, obj, message))

    def warning(self, component, obj, message):
        self.warnings.append(self._line(component, obj, message))


def _workload(obj, name, kind, findings):
    """Counters of the DaemonSet or Deployment plus cilium-cli's checks on them."""
    noun = "daemonset" if kind == "DaemonSet" else "deployment"
    if obj is None:
        findings.error(name, name, '%ss.apps "%s" not found' % (kind.lower(), name))
        return dict(name=name, present=False)
    obj = dict(obj, kind=kind)
    counters = rollout_counters(obj)
    desired = counters["desired"] if kind == "DaemonSet" else counters["current"]
    not_ready = desired - counters["ready"]
    if not_ready > 0:
        findings.error(name, name, "%d pods of %s %s are not ready" % (not_ready, kind, name))
    if counters["unavailable"] - max(not_ready, 0) > 0:
        findings.warning(name, name, "%d pods of %s %s are not available"
                         % (counters["unavailable"] - max(not_ready, 0), kind, name))
    if counters["generation"] != counters["observed_generation"]:
        findings.error(name, name, "%s %s is updated but rollout has not started" % (noun, name))
    if counters["updated"] < desired:
        findings.error(name, name, "%s %s is rolling out - %d out of %d pods updated"
                       % (noun, name, counters["updated"], desired))
    message, _done, error = (daemonset_status if kind == "DaemonSet" else deployment_status)(obj)
    if error and kind == "Deployment":
        findings.error(name, name, error)
    if kind == "DaemonSet" and desired == 0:
        findings.warning(name, name, "DaemonSet %s has no pods scheduled: no node is eligible" % name)
    container = AGENT_CONTAINER if kind == "DaemonSet" else OPERATOR_CONTAINER
    image = _container_image(_template(obj).get("spec") or {}, container)
    info = dict(name=name, present=True, image=image, version=image_version(image), rollout=error or message)
    info.update(counters)
    strategy = _spec(obj).get("updateStrategy" if kind == "DaemonSet" else "strategy") or {}
    info["update_strategy"] = strategy.get("type")
    rolling = strategy.get("rollingUpdate") or {}
    info.update(max_unavailable=rolling.get("maxUnavailable"), max_surge=rolling.get("maxSurge"))
    if kind == "Deployment":
        info["conditions"] = [dict(type=c.get("type"), status=c.get("status"), reason=c.get("reason"),
                                   message=c.get("message")) for c in (obj.get("status") or {}).get("conditions") or []]
    return info


def _agent_container_error(pod, namespace):
    """cilium-cli's error for a running agent pod whose agent container is not running (or not ready)."""
    for container in (pod.get("status") or {}).get("containerStatuses") or []:
        if container.get("name") != AGENT_CONTAINER:
            continue
        state = container.get("state") or {}
        if "running" in state:
            return None if container.get("ready") else "container %s is running but not ready" % AGENT_CONTAINER
        waiting = state.get("waiting") or {}
        desc = "is in CrashLoopBackOff" if waiting.get("reason") == "CrashLoopBackOff" else "is not running"
        last_log = "try 'kubectl -n %s logs -c %s %s'" % (namespace, AGENT_CONTAINER, _meta(pod).get("name"))
        terminated = (container.get("lastState") or {}).get("terminated")
        if terminated:
            desc = "%s, exited with code %d" % (desc, int(terminated.get("exitCode") or 0))
            if (terminated.get("message") or "").strip():
                last_log = terminated["message"].strip().splitlines()[-1]
        return "container %s %s: %s" % (AGENT_CONTAINER, desc, last_log)
    return None


def _pods(pods, component, container, namespace, findings, agent):
    """Per-pod detail sorted by node, plus phase and image counts; pod-level findings as cilium-cli makes them."""
    phases, images, described = Counter(), Counter(), []
    for pod in pods:
        name = _meta(pod).get("name")
        status = pod.get("status") or {}
        phase = status.get("phase") or "Unknown"
        phases[phase] += 1
        if phase == "Pending":
            findings.warning(component, name, "pod is pending")
        elif phase == "Failed":
            findings.error(component, name, "pod has failed: %s - %s" % (status.get("reason") or "", status.get("message") or ""))
        elif phase == "Running" and agent:
            problem = _agent_container_error(pod, namespace)
            if problem:
                findings.error(component, name, problem)
        for spec_container in _spec(pod).get("containers") or []:
            images[spec_container.get("image")] += 1
        entry = describe_pod(pod)
        image = _container_image(_spec(pod), container)
        entry.update(image=image, version=image_version(image))
        described.append(entry)
    described.sort(key=lambda entry: (entry["node"] or "", entry["name"] or ""))
    return described, dict(phases), dict(images)


def _config(config_map, findings, namespace, name):
    if config_map is None:
        findings.error("cilium-config", None, 'configmaps "%s" not found in namespace %s' % (name, namespace))
        return {}
    data = config_map.get("data") or {}
    return dict((key, value) for key, value in sorted(data.items())
                if key in CONFIG_KEYS or key.startswith(CONFIG_PREFIXES))


def _aks_evidence(agent, operator, config_map):
    """Why we believe AKS manages this Cilium (empty: a bring-your-own install)."""
    evidence = []
    for kind, obj in (("DaemonSet", agent), ("Deployment", operator)):
        if not obj:
            continue
        name = _meta(obj).get("name")
        pod_spec = _template(obj).get("spec") or {}
        if (_meta(_template(obj)).get("labels") or {}).get(AKS_DATAPLANE_LABEL) == "cilium":
            evidence.append("%s %s pod template label %s=cilium" % (kind, name, AKS_DATAPLANE_LABEL))
        if (pod_spec.get("nodeSelector") or {}).get(AKS_DATAPLANE_LABEL) == "cilium" or _affinity_requires(pod_spec):
            evidence.append("%s %s runs only on nodes labelled %s=cilium" % (kind, name, AKS_DATAPLANE_LABEL))
        for where, labels in (("", _meta(obj).get("labels")), (" pod template", _meta(_template(obj)).get("labels"))):
            if (labels or {}).get(AKS_MANAGED_BY_LABEL) == "aks":
                evidence.append("%s %s%s label %s=aks" % (kind, name, where, AKS_MANAGED_BY_LABEL))
    if (_meta(config_map).get("labels") or {}).get(AKS_MANAGED_BY_LABEL) == "aks":
        evidence.append("ConfigMap %s label %s=aks" % (_meta(config_map).get("name"), AKS_MANAGED_BY_LABEL))
    return evidence


def _affinity_requires(pod_spec):
    node_affinity = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    for term in required.get("nodeSelectorTerms") or []:
        for expr in term.get("matchExpressions") or []:
            if expr.get("key") == AKS_DATAPLANE_LABEL and expr.get("operator") == "In" and "cilium" in (expr.get("values") or []):
                return True
    return False


def _crds(served, findings):
    if not served:
        findings.error("crds", None, "the API server serves no Cilium resources (API group %s)" % CILIUM_GROUP)
    else:
        for plural in REQUIRED_CRDS:
            if plural not in served:
                findings.error("crds", None, "CRD %s.%s is not served" % (plural, CILIUM_GROUP))
    return sorted("%s.%s" % (plural, CILIUM_GROUP) for plural in served)


def evaluate(snapshot, ignore_warnings=False):
    """The status report (a dict: the module's return values) of one ``collect`` snapshot."""
    findings = _Findings()
    namespace = snapshot["namespace"]
    agent = _workload(snapshot["agent"], snapshot["agent_name"], "DaemonSet", findings)
    operator = _workload(snapshot["operator"], snapshot["operator_name"], "Deployment", findings)
    agent_pods, agent["phases"], agent["images"] = _pods(snapshot["agent_pods"], agent["name"], AGENT_CONTAINER,
                                                         namespace, findings, agent=True)
    operator_pods, operator["phases"], operator["images"] = _pods(snapshot["operator_pods"], operator["name"],
                                                                  OPERATOR_CONTAINER, namespace, findings, agent=False)
    config = _config(snapshot["config"], findings, namespace, snapshot["config_map_name"])
    evidence = _aks_evidence(snapshot["agent"], snapshot["operator"], snapshot["config"])
    report = dict(
        version=agent.get("version"),
        agent=agent, operator=operator, agent_pods=agent_pods, operator_pods=operator_pods,
        crds=_crds(snapshot["crds"], findings),
        config=config,
        aks_managed=bool(evidence), aks_evidence=evidence,
    )
    report["acns"], report["envoy"], report["hubble_relay"], report["encryption"] = _acns(snapshot, findings)
    report.update(healthy=not findings.errors and (ignore_warnings or not findings.warnings),
                  errors=findings.errors, cilium_warnings=findings.warnings)
    report["summary"] = summary(report)
    return report


def _ready_text(kind, info):
    if not info.get("present"):
        return "%s %s missing" % (kind, info["name"])
    total = info["desired"] if kind == "DaemonSet" else info["replicas"]
    return "%s %s %d/%d ready" % (kind, info["name"], info["ready"], total)


def summary(report):
    """One line for a human: verdict, versions, readiness, AKS/ACNS, and the first problem."""
    version = report.get("version") or "(version unknown)"
    counts = "%d error%s, %d warning%s" % (len(report["errors"]), "" if len(report["errors"]) == 1 else "s",
                                           len(report["cilium_warnings"]), "" if len(report["cilium_warnings"]) == 1 else "s")
    verdict = "OK" if report["healthy"] else "unhealthy"
    parts = [_ready_text("DaemonSet", report["agent"]), _ready_text("Deployment", report["operator"])]
    flavour = "AKS-managed" if report["aks_managed"] else "not AKS-managed"
    acns = report["acns"]
    line = "Cilium %s %s (%s): %s; %s, ACNS observability %s, security %s" % (
        version, verdict, counts, ", ".join(parts), flavour,
        "on" if acns["observability"] else "off", "on" if acns["security"] else "off")
    labels = (("network_policies", "policies"), ("transit_encryption", "encryption"), ("acceleration", "acceleration"))
    extras = ["%s %s" % (label, acns[key]) for key, label in labels if acns[key] != "none"]
    if extras:
        line += " (%s)" % ", ".join(extras)
    first = (report["errors"] or report["cilium_warnings"] or [None])[0]
    return line + ("; first: %s" % first if first and not report["healthy"] else "")


def crash_looping(report):
    """Agent pods whose agent container is in CrashLoopBackOff (``cilium status --wait`` gives up on those)."""
    return [pod["name"] for pod in report["agent_pods"]
            if any("container %s waiting: CrashLoopBackOff" % AGENT_CONTAINER in reason for reason in pod["reasons"])]


def status(client, namespace="kube-system", agent="cilium", operator="cilium-operator", config_map="cilium-config",
           wait=False, timeout=300, ignore_warnings=False, clock=time.monotonic):
    """``evaluate(collect(...))``, repeated with ``wait`` until healthy or ``timeout`` seconds passed.

    A new collection is made whenever the DaemonSet, the Deployment or an agent pod changes, watched
    from the resourceVersions the first collection saw; no fixed sleeps. Like ``cilium status --wait``
    it stops early when an agent container is in CrashLoopBackOff. Adds ``waited`` (seconds) and
    ``timed_out`` to the report.
    """
    started = clock()
    deadline = started + timeout
    snapshot = collect(client, namespace, agent, operator, config_map)
    report = evaluate(snapshot, ignore_warnings)
    timed_out = False
    if wait and not report["healthy"] and not crash_looping(report):
        # only a waiting task starts watches and threads: a healthy cluster's task never loads them
        from ansible_collections.azcni.cilium.plugins.module_utils._cilium.status_wait import wait_for_change

        with wait_for_change(client, snapshot, deadline, clock) as changed:
            while not report["healthy"] and not crash_looping(report):
                if not changed():
                    timed_out = True
                    break
                report = evaluate(collect(client, namespace, agent, operator, config_map), ignore_warnings)
    report.update(waited=round(clock() - started, 3), timed_out=timed_out)
    return report


def run_status(module):
    """The cilium_status module: collect (and wait), then exit or fail with the report."""
    params = module.params
    problems = common_problems(params)
    if problems:
        module.fail_json(msg="Invalid input, nothing was read: " + "; ".join(problems), problems=problems)
    try:
        report = status(module.client, params["namespace"], params["agent_daemonset"], params["operator_deployment"],
                        params["config_map"], wait=params["wait"], timeout=params["wait_timeout"],
                        ignore_warnings=params["ignore_warnings"])
        if params.get("check_workloads"):  # the limitations of this Cilium version, on the cluster's own workloads
            from ansible_collections.azcni.cilium.plugins.module_utils._cilium.limitations import check_workloads

            report["workload_findings"] = check_workloads(module.client, report["version"], params["namespace"],
                                                          params["config_map"])
    except K8sApiError as exc:
        module.fail_k8s(exc, "Could not read the Cilium status in namespace %s" % params["namespace"])
    if params["fail_on_unhealthy"] and not report["healthy"]:
        prefix = "Timed out after %d s waiting for Cilium to be healthy: " % params["wait_timeout"] if report["timed_out"] else ""
        module.fail_json(msg=prefix + report["summary"], changed=False, **report)
    module.exit_json(changed=False, **report)
