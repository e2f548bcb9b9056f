# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a module's import loads: every task pays for it (Ansible starts a new Python per task, and its
module_utils are compiled from source each time), so layers a no-change run never uses stay unloaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._azure import module as azure_module

PLUGINS = "ansible_collections.azcni.cilium.plugins"
UTILS = PLUGINS + ".module_utils."
AZURE_MODULES = ("aks_network", "aks_cilium_cluster", "aks_cilium_cluster_info", "aks_cilium_nodepool")
K8S_MODULES = ("cilium_status", "cilium_policy", "cilium_restart")
# loaded by a task only when it needs them (a write, a migration, a WireGuard wait, an SDK the user's
# credential type asks for), never by the import
NEVER_AT_IMPORT = ("requests", "urllib3", "azure.core", "azure.mgmt", "azure.identity", "kubernetes", "yaml", "asyncio", "uuid",
                   "concurrent.futures")
NOT_FOR_AZURE = (UTILS + "_k8s", UTILS + "_cilium", UTILS + "_aks.migration_runner", UTILS + "_aks.migration",
                 UTILS + "_aks.acns_rollout", UTILS + "_aks.credentials")
NOT_FOR_K8S = (UTILS + "_azure", UTILS + "_aks")
NOT_FOR_POLICY = (UTILS + "_cilium.status", UTILS + "_cilium.limitations", UTILS + "_k8s.watch")


def loaded_by(module):
    """The modules a fresh interpreter holds after importing the module (its main() is not run)."""
    code = ("import json, sys; import %s.modules.%s; print(json.dumps(sorted(sys.modules)))" % (PLUGINS, module))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def offenders(modules, prefixes):
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)]


@pytest.mark.parametrize("module", AZURE_MODULES)
def test_an_azure_module_loads_neither_the_cluster_layers_nor_its_http_stack_at_import(module):
    modules = loaded_by(module)
    assert UTILS + "_azure.module" in modules  # the check looks at the right process
    assert offenders(modules, NEVER_AT_IMPORT + NOT_FOR_AZURE) == []


@pytest.mark.parametrize("module", K8S_MODULES)
def test_a_kubernetes_module_loads_no_azure_layer(module):
    modules = loaded_by(module)
    assert UTILS + "_k8s.module" in modules and "yaml" in modules  # every kubeconfig file is YAML
    assert offenders(modules, tuple(p for p in NEVER_AT_IMPORT if p != "yaml") + NOT_FOR_K8S) == []


def test_aks_kubeconfig_loads_the_kubeconfig_parser_and_nothing_of_the_cluster_side():
    modules = loaded_by("aks_kubeconfig")
    assert UTILS + "_aks.credentials" in modules and "yaml" in modules  # it merges into a kubeconfig file
    assert offenders(modules, tuple(p for p in NEVER_AT_IMPORT if p != "yaml") + (UTILS + "_k8s", UTILS + "_cilium")) == []


def test_cilium_status_loads_neither_the_watches_nor_the_workload_checks_at_import():
    # both are used only with wait (and an unhealthy cluster) or check_workloads
    assert offenders(loaded_by("cilium_status"), (UTILS + "_cilium.status_wait", UTILS + "_cilium.limitations",
                                                  UTILS + "_k8s.watch")) == []


def test_cilium_policy_does_not_load_the_status_engine():
    assert offenders(loaded_by("cilium_policy"), NOT_FOR_POLICY) == []


def test_the_user_agent_is_azure_cores_without_starting_uname(monkeypatch):
    import platform

    def refuse(*args, **kwargs):
        raise AssertionError("platform.platform()/processor() run `uname -p` in a subprocess")

    monkeypatch.setattr(platform, "platform", refuse)
    monkeypatch.setattr(platform, "processor", refuse)
    agent = azure_module.sdk_user_agent()
    assert agent.startswith("azsdk-python-core/") and " Python/%s (" % platform.python_version() in agent
    assert agent.endswith("-%s)" % platform.machine())
