# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The main job (site.yml, what scripts/main.sh runs) twice against one lab: the second run sends no write
to ARM and changes only the restart, and the report shows what the seed runbook checks with kubectl."""

from __future__ import annotations

import os
import re
import time

from tests.emulator.requestlog import writes

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = os.path.join(REPO, "playbooks")
INVENTORY = os.path.join(PLAYBOOKS, "inventory")
RESTART_TASK = "azcni.cilium.cilium_restart : Restart agent then operator"
PODS_TASK = "Print the agent and operator pods (kubectl get pods -o wide)"
CILIUM_KINDS = ("ciliumcidrgroups ciliumclusterwidenetworkpolicies ciliumendpoints ciliumexternalworkloads ciliumidentities "
                "ciliuml2announcementpolicies ciliumloadbalancerippools ciliumnetworkpolicies ciliumnodeconfigs ciliumnodes "
                "ciliumpodippools")


def test_a_second_run_writes_nothing_to_arm_and_reports_the_runbook_checks(emulator, ansible, tmp_path):
    extra = {"azcni_cluster_name": "aks-main-job", "azcni_resource_group": "rg-main-job",
             "azcni_kubeconfig": str(tmp_path / "kubeconfig")}

    def site():
        return ansible(os.path.join(PLAYBOOKS, "site.yml"), inventory=INVENTORY, extra_vars=extra, timeout=900)

    try:
        first = site()
        assert first.rc == 0, first.stdout
        started = time.time()
        second = site()
        assert second.rc == 0, second.stdout
        assert writes(emulator.requests(since=started)) == []
        assert second.changed_tasks == [RESTART_TASK]
        assert re.search(r"localhost\s+: ok=\d+\s+changed=1\s", second.stdout)

        report = second.task("Print the runbook checks")["msg"]
        assert report[0] == "networkPlugin=azure networkPluginMode=overlay networkDataplane=cilium networkPolicy=cilium"
        assert "Cilium CRDs (11): %s" % CILIUM_KINDS in report
        pods = [entry["msg"] for entry in second.task(PODS_TASK)["results"]]
        agents = [line for line in pods if line.startswith("cilium-") and not line.startswith("cilium-operator-")]
        operators = [line for line in pods if line.startswith("cilium-operator-")]
        assert len(agents) == 3 and len(operators) == 2 and len(pods) == 5
        assert all(re.fullmatch(r"cilium(-operator-\w+)?-\w{5} node=aks-nodepool1-\d{8}-vmss\w{6} ready=True restarts=0", line)
                   for line in pods), pods
        assert len({line.split()[1] for line in agents}) == 3  # one agent per node
    finally:
        ansible(os.path.join(PLAYBOOKS, "destroy.yml"), inventory=INVENTORY, timeout=900,
                extra_vars=dict(extra, azcni_destroy_resource_group=True))
