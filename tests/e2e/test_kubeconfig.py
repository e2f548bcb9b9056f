# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""aks_kubeconfig end to end: credentials from the ARM emulator merged into a kubeconfig that the real
kubectl then uses; other contexts kept; 10 parallel forks writing one file."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest
import yaml
from tests.e2e.conftest import playbook as e2e_playbook, task

from tests.kubectl import kubectl_path

OTHER = {
    "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": "other",
    "clusters": [{"name": "other", "cluster": {"server": "https://other.example:443"}}],
    "users": [{"name": "other-user", "user": {"token": "other-token"}}],
    "contexts": [{"name": "other", "context": {"cluster": "other", "user": "other-user"}}],
}


def playbook(cluster, path, check_task=None, **args):
    args = dict(dict(name=cluster.name, resource_group=cluster.resource_group, path=path), **args)
    return e2e_playbook(task("kubeconfig", "aks_kubeconfig", args), hosts="all") + (check_task or "")


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def names(config, section):
    return sorted(entry["name"] for entry in config[section])


@pytest.fixture
def existing_kubeconfig(tmp_path):
    path = tmp_path / "kube" / "config"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(OTHER))
    return str(path)


def kubectl(path, *args):
    return subprocess.run([kubectl_path(), "--kubeconfig", path, "--request-timeout=30s"] + list(args), capture_output=True,
                          text=True, timeout=60, check=False)


def test_merge_keeps_other_contexts_and_kubectl_uses_it(ansible, kube_cluster, existing_kubeconfig):
    result = ansible(playbook(kube_cluster, existing_kubeconfig, admin=True), diff=True)
    assert result.rc == 0, result.stdout
    task = result.task("kubeconfig")
    context = "%s-admin" % kube_cluster.name
    assert task["changed"] is True and task["context"] == context
    assert task["path"] == os.path.realpath(existing_kubeconfig)
    config = load(existing_kubeconfig)
    assert names(config, "contexts") == sorted(["other", context])
    assert config["current-context"] == context
    assert [c for c in config["contexts"] if c["name"] == "other"] == OTHER["contexts"]
    assert stat.S_IMODE(os.stat(existing_kubeconfig).st_mode) == 0o600
    # the credentials never reach the output or the result
    token = next(u for u in config["users"] if u["name"] != "other-user")["user"]["token"]
    assert token not in result.stdout and token not in json.dumps(result.results)
    assert task["diff"]["before"]["contexts"] == ["other"] and task["diff"]["after"]["contexts"] == ["other", context]

    nodes = kubectl(existing_kubeconfig, "get", "nodes", "-o", "name")
    assert nodes.returncode == 0, nodes.stderr
    assert nodes.stdout.count("node/") >= 1

    again = ansible(playbook(kube_cluster, existing_kubeconfig, admin=True))
    assert again.rc == 0 and again.changed_tasks == []


def test_different_entry_fails_like_az_unless_overwrite(ansible, kube_cluster, existing_kubeconfig):
    assert ansible(playbook(kube_cluster, existing_kubeconfig)).rc == 0
    config = load(existing_kubeconfig)
    moved = next(c for c in config["clusters"] if c["name"] == kube_cluster.name)
    moved["cluster"]["server"] = "https://moved.example:443"
    with open(existing_kubeconfig, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle)

    refused = ansible(playbook(kube_cluster, existing_kubeconfig))
    assert refused.rc != 0
    assert "A different object named %s already exists in your kubeconfig file" % kube_cluster.name in refused.task("kubeconfig")["msg"]
    assert load(existing_kubeconfig) == config

    replaced = ansible(playbook(kube_cluster, existing_kubeconfig, overwrite_existing=True))
    assert replaced.rc == 0, replaced.stdout
    server = next(c for c in load(existing_kubeconfig)["clusters"] if c["name"] == kube_cluster.name)["cluster"]["server"]
    assert server == kube_cluster.server_url


def test_check_mode_writes_nothing(ansible, kube_cluster, tmp_path):
    path = str(tmp_path / "absent" / "config")
    result = ansible(playbook(kube_cluster, path, context="dev"), check=True, diff=True)
    assert result.rc == 0, result.stdout
    task = result.task("kubeconfig")
    assert task["changed"] is True and task["context"] == "dev"
    assert task["diff"]["after"]["contexts"] == ["dev"]
    assert not os.path.exists(os.path.dirname(path))


def test_ten_parallel_forks_writing_one_file(ansible, kube_cluster, existing_kubeconfig, tmp_path):
    inventory = tmp_path / "forks.ini"
    inventory.write_text("".join("w%d ansible_connection=local\n" % i for i in range(10)))
    text = playbook(kube_cluster, existing_kubeconfig, context="{{ inventory_hostname }}")
    result = ansible(text, inventory=str(inventory), env={"ANSIBLE_FORKS": "10"})
    assert result.rc == 0, result.stdout
    assert "w9" in result.stdout  # the inventory parsed: 10 hosts ran
    assert sorted(e["host"] for e in result.results if e["task"] == "kubeconfig" and e["status"] == "changed") == \
        ["w%d" % i for i in range(10)]
    config = load(existing_kubeconfig)
    assert names(config, "contexts") == sorted(["other"] + ["w%d" % i for i in range(10)])
    assert names(config, "clusters") == sorted(["other"] + ["w%d" % i for i in range(10)])
    assert stat.S_IMODE(os.stat(existing_kubeconfig).st_mode) == 0o600
    assert sorted(os.listdir(os.path.dirname(existing_kubeconfig))) == ["config", "config.lock"]
    for context in ("w0", "w9"):
        nodes = kubectl(existing_kubeconfig, "--context", context, "get", "nodes", "-o", "name")
        assert nodes.returncode == 0, nodes.stderr
