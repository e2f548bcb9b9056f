# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The layout: one subpackage per layer, in two columns (``_aks`` on ``_azure``, ``_cilium`` on ``_k8s``) with no
arrow between ``_aks`` and ``_cilium``. Where both are needed, the module file joins them by handing a callable.
Every import statement counts, the lazy ones inside functions too: Ansible ships what any of them names."""

from __future__ import annotations

import ast
import os

import pytest

UTILS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "module_utils")
PREFIX = "ansible_collections.azcni.cilium.plugins.module_utils."
LAYERS = ["_aks", "_azure", "_cilium", "_k8s"]
# layer -> the layers it must not import
FORBIDDEN = {"_aks": ["_cilium"], "_cilium": ["_aks", "_azure"], "_k8s": ["_aks", "_azure", "_cilium"],
             "_azure": ["_aks", "_cilium", "_k8s"]}


def imported(path):
    """(line, module) of every import statement in the file, wherever it sits."""
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def test_module_utils_holds_the_four_layers_and_the_common_base():
    entries = sorted(e for e in os.listdir(UTILS) if e != "__pycache__")
    assert entries == sorted(["__init__.py", "_common.py"] + LAYERS)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_across_its_column(layer):
    folder = os.path.join(UTILS, layer)
    crossing = ["%s:%d imports %s" % (name, line, module)
                for name in sorted(os.listdir(folder)) if name.endswith(".py")
                for line, module in imported(os.path.join(folder, name))
                if any(module == PREFIX + other or module.startswith(PREFIX + other + ".") for other in FORBIDDEN[layer])]
    assert crossing == []
