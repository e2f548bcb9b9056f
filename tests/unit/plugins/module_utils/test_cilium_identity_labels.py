# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cilium_identity_labels: the value written, input refused before any write, when the agents restart."""

from __future__ import annotations

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._cilium import identity_labels as il
from ansible_collections.azcni.cilium.tests.unit.plugins.module_utils.fake_module import FakeModule, run

DEFAULTS = dict(exclude=[], patterns=[], namespace="kube-system", config_map="cilium-config", agent_daemonset="cilium",
                restart=True, wait=True, wait_timeout=600)
WRITTEN = "2026-12-01T10:00:00Z"


def config_map(labels=None, written=WRITTEN):
    data = {"cluster-name": "default", "enable-policy": "default"}
    managed = [{"manager": "aks-operator", "operation": "Update", "time": "2026-11-01T00:00:00Z",
                "fieldsV1": {"f:data": {"f:cluster-name": {}, "f:enable-policy": {}}}}]
    if labels is not None:
        data["labels"] = labels
        managed.append({"manager": "azcni.cilium", "operation": "Update", "time": written,
                        "fieldsV1": {"f:data": {"f:labels": {}}}})
    return {"metadata": {"name": "cilium-config", "namespace": "kube-system", "managedFields": managed}, "data": data}


def agent(name, created):
    return {"metadata": {"name": name, "creationTimestamp": created, "labels": {"k8s-app": "cilium"}}}


class Client(object):
    def __init__(self, cm, pods):
        self.cm, self.pods, self.patches = cm, pods, []

    def get(self, path):
        if path.endswith("/configmaps/cilium-config"):
            return self.cm
        if path.endswith("/daemonsets/cilium"):
            return {"metadata": {"name": "cilium"}, "spec": {"selector": {"matchLabels": {"k8s-app": "cilium"}}}}
        return None

    def list(self, path, label_selector=None):
        assert label_selector == "k8s-app=cilium"
        return self.pods, "1"

    def patch(self, path, body, patch_type="strategic", field_manager=None):
        self.patches.append((path, body, patch_type, field_manager))
        return self.cm


@pytest.fixture
def restarts(monkeypatch):
    calls = []

    def fake_restart(client, kind, namespace, name, **options):
        calls.append((kind, namespace, name, options["check_mode"]))
        return dict(kind=kind, name=name, restarted=True, message="restarted")

    monkeypatch.setattr(il, "restart", fake_restart)
    return calls


def test_exclusions_become_escaped_patterns_in_order_without_repeats():
    assert il.desired_value(["spark-app-name", "example.com/team", "spark-app-name"], ["k8s:!job-name"]) == \
        "k8s:!spark-app-name k8s:!example\\.com/team k8s:!job-name"
    assert il.desired_value([], []) is None


@pytest.mark.parametrize("exclude, patterns, message", [
    (["bad key!"], [], "exclude: 'bad key!' is not a Kubernetes label key"),
    ([], ["k8s:team"], "is not an exclusion"),
    ([], ["!("], "is not a valid regular expression"),
    ([], ["k8s:!a k8s:!b"], "must be one pattern without spaces"),
])
def test_bad_input_fails_before_any_request(exclude, patterns, message, restarts):
    client = Client(None, [])
    result = run(il.run_identity_labels, FakeModule(client, DEFAULTS, exclude=exclude, patterns=patterns))
    assert result["failed"] and message in result["msg"] and client.patches == [] and restarts == []


def test_first_run_patches_only_the_labels_key_then_restarts(restarts):
    client = Client(config_map(), [agent("cilium-a", "2026-11-30T00:00:00Z")])
    result = run(il.run_identity_labels, FakeModule(client, DEFAULTS, diff_mode=True, exclude=["spark-app-selector"]))
    assert result["changed"] and not result["failed"] and result["written"]
    assert client.patches == [("/api/v1/namespaces/kube-system/configmaps/cilium-config",
                               {"data": {"labels": "k8s:!spark-app-selector"}}, "merge", "azcni.cilium")]
    assert restarts == [("DaemonSet", "kube-system", "cilium", False)]
    assert result["diff"]["before"] == {"labels": None} and result["diff"]["after"] == {"labels": "k8s:!spark-app-selector"}


def test_check_mode_writes_nothing_and_plans_the_restart(restarts):
    client = Client(config_map(), [agent("cilium-a", "2026-11-30T00:00:00Z")])
    result = run(il.run_identity_labels, FakeModule(client, DEFAULTS, check_mode=True, exclude=["spark-app-selector"]))
    assert result["changed"] and client.patches == [] and restarts == [("DaemonSet", "kube-system", "cilium", True)]


def test_unchanged_value_with_fresh_agents_does_nothing(restarts):
    client = Client(config_map("k8s:!spark-app-selector"), [agent("cilium-a", "2026-12-01T10:00:05Z")])
    result = run(il.run_identity_labels, FakeModule(client, DEFAULTS, exclude=["spark-app-selector"]))
    assert not result["changed"] and client.patches == [] and restarts == [] and result["stale_agents"] == []


def test_an_interrupted_restart_is_finished_on_the_next_run(restarts):
    pods = [agent("cilium-a", "2026-12-01T10:00:05Z"), agent("cilium-b", "2026-11-30T09:00:00Z")]
    client = Client(config_map("k8s:!spark-app-selector"), pods)
    result = run(il.run_identity_labels, FakeModule(client, DEFAULTS, exclude=["spark-app-selector"]))
    assert result["changed"] and client.patches == [] and result["stale_agents"] == ["cilium-b"]
    assert restarts == [("DaemonSet", "kube-system", "cilium", False)]


def test_clearing_keeps_the_key_empty_and_restart_false_skips_the_rollout(restarts):
    client = Client(config_map("k8s:!spark-app-selector"), [agent("cilium-a", "2026-12-01T10:00:05Z")])
    result = run(il.run_identity_labels, FakeModule(client, DEFAULTS, restart=False))
    assert result["changed"] and result["labels"] == "" and client.patches[0][1] == {"data": {"labels": ""}}
    assert restarts == [] and result["rollout"] is None
    # no key and nothing wanted: nothing to do
    client = Client(config_map(), [agent("cilium-a", "2026-11-30T00:00:00Z")])
    result = run(il.run_identity_labels, FakeModule(client, DEFAULTS))
    assert not result["changed"] and client.patches == [] and restarts == []


def test_missing_config_map_fails_naming_it(restarts):
    result = run(il.run_identity_labels, FakeModule(Client(None, []), DEFAULTS, exclude=["x"]))
    assert result["failed"] and 'configmaps "cilium-config" not found in namespace kube-system' in result["msg"]
