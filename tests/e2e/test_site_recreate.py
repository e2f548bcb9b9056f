# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""site.yml, destroy.yml, site.yml again with every default (cluster aks-cilium, ~/.kube/config):
the recreated cluster has a new API server and new credentials, and the cluster role replaces its
own kubeconfig entries like the runbook's ``az aks get-credentials --overwrite-existing``."""

from __future__ import annotations

import os

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = os.path.join(REPO, "playbooks")
INVENTORY = os.path.join(PLAYBOOKS, "inventory")
KUBECONFIG_TASK = "Merge the credentials into the kubeconfig (like az aks get-credentials)"


def kubeconfig_entry(home):
    with open(os.path.join(str(home), ".kube", "config"), encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    cluster = next(c for c in config["clusters"] if c["name"] == "aks-cilium")
    user = next(u for u in config["users"] if u["name"].endswith("_rg-aks-cilium_aks-cilium"))
    return cluster["cluster"]["server"], user["user"]["token"]


def test_site_destroy_site_with_the_defaults(ansible, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home)}  # the defaults write ~/.kube/config: this test's own home

    def play(name, **extra):
        return ansible(os.path.join(PLAYBOOKS, name), inventory=INVENTORY, env=env, extra_vars=extra or None, timeout=900)

    first = play("site.yml")
    assert first.rc == 0, first.stdout
    server, token = kubeconfig_entry(home)
    try:
        destroyed = play("destroy.yml")
        assert destroyed.rc == 0, destroyed.stdout

        # what the role did before: az's refusal, because the recreated cluster's entries differ
        refused = play("overlay.yml", cluster_kubeconfig_overwrite=False)
        assert refused.rc != 0
        assert any(task.endswith(KUBECONFIG_TASK) for task in refused.failed_tasks), refused
        assert "A different object named aks-cilium already exists in your kubeconfig file" in refused.stdout

        again = play("site.yml")
        assert again.rc == 0, again.stdout
        assert again.failed_tasks == []
        new_server, new_token = kubeconfig_entry(home)
        assert new_server != server and new_token != token
        written = [e["status"] for e in again.results if e["task"].endswith(KUBECONFIG_TASK) and e["status"] != "skipped"]
        assert written == ["changed"]  # the refused run above wrote nothing
    finally:
        play("destroy.yml", azcni_destroy_resource_group=True)
