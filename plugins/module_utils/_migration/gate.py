# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration gate aks_cilium_cluster hands its runner, loading the checks only when a migration is planned.

Most aks_cilium_cluster tasks change nothing or migrate nothing: they never call the gate, so they do not pay
for importing the migration checks (``_migration.runner`` and the ARM and in-cluster rules behind it).

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations


def gate(az, params, cluster, the_plan):
    """``_migration.runner.gate``: (standing blockers, accepted blockers, warnings) before a migration's first write."""
    from ansible_collections.azcni.cilium.plugins.module_utils._migration import runner

    return runner.gate(az, params, cluster, the_plan)
