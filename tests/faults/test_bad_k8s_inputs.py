# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad inputs to the Kubernetes-facing modules, refused before any write to the cluster or ARM.

One playbook runs every case against one emulated cluster; bad policy files live in a directory of their own.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from tests.faults.conftest import count, message_of, run_batch


def cnp(name="allow-web", namespace="default", port="80", **spec):
    body = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": name, "namespace": namespace},
            "spec": {"endpointSelector": {"matchLabels": {"app": "web"}},
                     "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "client"}}],
                                  "toPorts": [{"ports": [{"port": port, "protocol": "TCP"}]}]}]}}
    body["spec"].update(spec)
    return body


def with_meta(**meta):
    body = cnp()
    body["metadata"].update(meta)
    return body


def ccnp(**meta):
    body = cnp()
    body["kind"] = "CiliumClusterwideNetworkPolicy"
    body["metadata"] = dict({"name": "cluster-wide"}, **meta)
    return body


def port_range(port, end_port):
    body = cnp()
    body["spec"]["ingress"][0]["toPorts"][0]["ports"][0].update(port=port, endPort=end_port)
    return body


FILES = {
    "latin1.yaml": "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: caf\xe9}\n".encode("latin-1"),
    "list.yaml": b"- just\n- a list\n",
    "scalar.yaml": b"hello\n",
    "broken.yaml": b"apiVersion: cilium.io/v2\nkind: [unclosed\n",
    "tabs.yaml": b"apiVersion: cilium.io/v2\n\tkind: CiliumNetworkPolicy\n",
    "huge.yaml": b"# " + b"x" * (9 * 1024 * 1024) + b"\n",
    "bomb.yaml": b"a: &a ['x','x','x','x','x','x','x','x','x','x']\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                 b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                 b"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
    "second-doc-bad.yaml": (yaml.safe_dump(cnp(name="first-ok")) + "---\n" + yaml.safe_dump(cnp(name="Second_Bad"))).encode(),
    "not-a-policy.yaml": yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}).encode(),
}


# (case id, module, args (strings "{dir}" are the files' directory), fragments the message must contain)
K8S_CASES = [
    # -- cilium_policy: arguments -------------------------------------------------------------
    ("pol-nothing", "cilium_policy", {}, ["definition", "src"]),
    ("pol-both", "cilium_policy", {"definition": cnp(), "src": "{dir}/list.yaml"}, ["definition", "src"]),
    ("pol-bad-state", "cilium_policy", {"definition": cnp(), "state": "gone"}, ["state"]),
    ("pol-bad-lint", "cilium_policy", {"definition": cnp(), "lint": "loud"}, ["lint"]),
    ("pol-concurrency-zero", "cilium_policy", {"definition": cnp(), "concurrency": 0}, ["concurrency"]),
    ("pol-concurrency-negative", "cilium_policy", {"definition": cnp(), "concurrency": -3}, ["concurrency"]),
    ("pol-bad-policy-set", "cilium_policy", {"definition": cnp(), "policy_set": "no spaces allowed"}, ["policy_set"]),
    ("pol-empty-field-manager", "cilium_policy", {"definition": cnp(), "field_manager": ""}, ["field_manager"]),
    ("pol-definition-number", "cilium_policy", {"definition": 42}, ["definition"]),
    ("pol-definition-bool", "cilium_policy", {"definition": True}, ["definition"]),
    ("pol-definition-list-of-strings", "cilium_policy", {"definition": ["a", "b"]}, ["definition"]),
    ("pol-definition-bad-yaml", "cilium_policy", {"definition": "kind: [unclosed"}, ["definition"]),
    # -- cilium_policy: files -------------------------------------------------------------------
    ("pol-src-missing", "cilium_policy", {"src": "{dir}/nope.yaml"}, ["nope.yaml"]),
    ("pol-src-latin1", "cilium_policy", {"src": "{dir}/latin1.yaml"}, ["latin1.yaml", "UTF-8"]),
    ("pol-src-list", "cilium_policy", {"src": "{dir}/list.yaml"}, ["list.yaml"]),
    ("pol-src-scalar", "cilium_policy", {"src": "{dir}/scalar.yaml"}, ["scalar.yaml"]),
    ("pol-src-broken", "cilium_policy", {"src": "{dir}/broken.yaml"}, ["broken.yaml"]),
    ("pol-src-tabs", "cilium_policy", {"src": "{dir}/tabs.yaml"}, ["tabs.yaml"]),
    ("pol-src-huge", "cilium_policy", {"src": "{dir}/huge.yaml"}, ["huge.yaml", "MiB"]),
    ("pol-src-bomb", "cilium_policy", {"src": "{dir}/bomb.yaml"}, ["bomb.yaml", "alias"]),
    ("pol-src-second-doc", "cilium_policy", {"src": "{dir}/second-doc-bad.yaml"}, ["second-doc-bad.yaml", "Second_Bad"]),
    ("pol-src-configmap", "cilium_policy", {"src": "{dir}/not-a-policy.yaml"}, ["not-a-policy.yaml", "ConfigMap"]),
    # -- cilium_policy: the policies themselves -------------------------------------------------
    ("pol-wrong-kind", "cilium_policy", {"definition": dict(cnp(), kind="NetworkPolicy")}, ["NetworkPolicy"]),
    ("pol-wrong-api", "cilium_policy", {"definition": dict(cnp(), apiVersion="cilium.io/v1")}, ["apiVersion"]),
    ("pol-no-name", "cilium_policy", {"definition": with_meta(name=None)}, ["name"]),
    ("pol-upper-name", "cilium_policy", {"definition": cnp(name="Allow-Web")}, ["Allow-Web"]),
    ("pol-underscore-name", "cilium_policy", {"definition": cnp(name="allow_web")}, ["allow_web"]),
    ("pol-long-name", "cilium_policy", {"definition": cnp(name="p" * 254)}, ["metadata.name"]),
    ("pol-name-dash-end", "cilium_policy", {"definition": cnp(name="allow-")}, ["allow-"]),
    ("pol-no-namespace", "cilium_policy", {"definition": with_meta(namespace=None)}, ["namespace"]),
    ("pol-missing-namespace", "cilium_policy", {"definition": cnp(namespace="does-not-exist")}, ["does-not-exist"]),
    ("pol-bad-namespace", "cilium_policy", {"definition": cnp(namespace="Bad_NS")}, ["Bad_NS"]),
    ("pol-ccnp-namespace", "cilium_policy", {"definition": ccnp(namespace="default")}, ["namespace"]),
    ("pol-port-99999", "cilium_policy", {"definition": cnp(port="99999")}, ["99999", "port"]),
    ("pol-port-negative", "cilium_policy", {"definition": cnp(port="-1")}, ["-1", "port"]),
    ("pol-port-text", "cilium_policy", {"definition": cnp(port="http-ish!")}, ["http-ish!"]),
    ("pol-end-port-below", "cilium_policy", {"definition": port_range("8080", 80)}, ["endPort"]),
    ("pol-end-port-high", "cilium_policy", {"definition": port_range("80", 70000)}, ["endPort"]),
    ("pol-unknown-field", "cilium_policy", {"definition": cnp(ingresss=[])}, ["ingresss"]),
    ("pol-spec-not-object", "cilium_policy", {"definition": dict(cnp(), spec="allow all")}, ["spec"]),
    ("pol-label-value-bad", "cilium_policy", {"definition": with_meta(labels={"team": "a b"})}, ["labels"]),
    ("pol-too-big", "cilium_policy", {"definition": with_meta(annotations={"pad": "x" * (1536 * 1024)})},
     ["allow-web", "MiB"]),
    ("pol-duplicate", "cilium_policy", {"definition": [cnp(), cnp()]}, ["allow-web", "also defined"]),
    # -- cilium_restart ------------------------------------------------------------------------
    ("rs-bad-target", "cilium_restart", {"targets": ["kube-proxy"]}, ["targets"]),
    ("rs-timeout-negative", "cilium_restart", {"wait_timeout": -1}, ["wait_timeout"]),
    ("rs-timeout-zero", "cilium_restart", {"wait_timeout": 0}, ["wait_timeout"]),
    ("rs-timeout-text", "cilium_restart", {"wait_timeout": "soon"}, ["wait_timeout"]),
    ("rs-operator-typo", "cilium_restart", {"operator_deployment": "cilium-operatr"},
     ["cilium-operatr", "operator_deployment"]),
    ("rs-agent-typo", "cilium_restart", {"agent_daemonset": "cilum"}, ["cilum", "agent_daemonset"]),
    ("rs-operator-typo-only-operator", "cilium_restart", {"targets": ["operator"], "operator_deployment": "nope"},
     ["nope"]),
    ("rs-namespace-missing", "cilium_restart", {"namespace": "kube-sistem"}, ["kube-sistem"]),
    ("rs-namespace-bad", "cilium_restart", {"namespace": "Kube System"}, ["namespace"]),
    ("rs-unknown-option", "cilium_restart", {"target": ["agent"]}, ["target"]),
    # -- cilium_status / kubeconfig access ------------------------------------------------------
    ("st-timeout-negative", "cilium_status", {"wait_timeout": -1}, ["wait_timeout"]),
    ("st-timeout-text", "cilium_status", {"wait_timeout": "later"}, ["wait_timeout"]),
    ("st-bad-namespace", "cilium_status", {"namespace": "Kube System"}, ["namespace"]),
    ("k8s-missing-kubeconfig", "cilium_policy", {"definition": cnp(), "kubeconfig": "{dir}/no-such-kubeconfig"},
     ["no-such-kubeconfig"]),
    ("k8s-bad-context", "cilium_policy", {"definition": cnp(), "context": "no-such-context"}, ["no-such-context"]),
]


def _fill(value, directory):
    if isinstance(value, str):
        return value.replace("{dir}", directory)
    if isinstance(value, dict):
        return {k: _fill(v, directory) for k, v in value.items() if v is not None or k not in ("name", "namespace")}
    if isinstance(value, list):
        return [_fill(v, directory) for v in value]
    return value


@pytest.fixture(scope="module")
def k8s_batch(emulator, run_playbook, cluster, tmp_path_factory):
    directory = tmp_path_factory.mktemp("bad-files")
    for name, data in FILES.items():
        (directory / name).write_bytes(data)
    tasks = [(case, "azcni.cilium." + module, _fill(copy.deepcopy(args), str(directory)))
             for case, module, args, _fragments in K8S_CASES]
    defaults = {"group/azcni.cilium.k8s": {"kubeconfig": cluster.kubeconfig_path}}
    return run_batch(run_playbook, emulator, tasks, clusters=[cluster], module_defaults=defaults)


@pytest.mark.parametrize("case, fragments", [(c[0], c[3]) for c in K8S_CASES], ids=[c[0] for c in K8S_CASES])
def test_kubernetes_bad_input_is_refused_before_any_write(k8s_batch, case, fragments):
    result = k8s_batch.task(case)
    assert k8s_batch.result.status(case) == "ignored", (case, result)
    assert k8s_batch.writes(case) == [], (case, k8s_batch.writes(case))
    assert result.get("changed") is False, (case, result.get("changed"))
    message = message_of(result).lower()
    missing = [fragment for fragment in fragments if fragment.lower() not in message]
    assert not missing, "%s: the message does not name %s: %s" % (case, missing, message_of(result))
    count("refused before write")
