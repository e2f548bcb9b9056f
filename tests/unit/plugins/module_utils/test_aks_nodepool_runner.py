# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""aks_cilium_nodepool's runner against an in-memory agentPools API: a pool left Failed or Canceled is sent its
own model again (reconciled), and a failure after a stored write says it changed."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._aks import nodepool
from ansible_collections.azcni.cilium.plugins.module_utils._aks.nodepool_runner import NodePoolRunner
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureError, AzureModule

from ansible_collections.azcni.cilium.tests.unit.plugins.module_utils.fake_module import Exited, _AnsibleModuleStub

CLUSTER_ID = "/subscriptions/0000/resourcegroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1"


def overlay_cluster(state="Succeeded"):
    """An overlay cluster (no pool subnets: no usage or role assignment reads) with a user pool in ``state``."""
    system = {"name": "system", "mode": "System", "count": 3, "vmSize": "Standard_D4ds_v5", "osType": "Linux",
              "maxPods": 250, "provisioningState": "Succeeded"}
    user = {"name": "user1", "mode": "User", "count": 2, "vmSize": "Standard_D4ds_v5", "osType": "Linux", "maxPods": 250,
            "orchestratorVersion": "1.33", "provisioningState": state, "nodeImageVersion": "AKSUbuntu-2204",
            "upgradeSettings": {"maxSurge": "10%"}}
    network = {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium",
               "networkPolicy": "cilium", "podCidr": "192.168.0.0/16"}
    return {"id": CLUSTER_ID, "name": "aks1", "properties": {
        "provisioningState": "Succeeded", "kubernetesVersion": "1.33", "networkProfile": network,
        "agentPoolProfiles": [system, user]}}


class FakeArm(object):
    """One cluster; the agentPools PUT/DELETE logged (and optionally refused, or their operation ended Failed)."""

    def __init__(self, cluster, fail_wait=None):
        self.cluster = copy.deepcopy(cluster)
        self.fail_wait = fail_wait
        self.log = []

    def get_cluster(self, rg, name):
        self.log.append(("GET", name))
        return copy.deepcopy(self.cluster)

    def put_pool(self, rg, cluster_name, name, body):
        self.log.append(("PUT", name, copy.deepcopy(body)))
        return "poller"

    def delete_pool(self, rg, cluster_name, name):
        self.log.append(("DELETE", name))
        return "poller"

    def wait(self, what):
        self.log.append(("WAIT", what))
        if self.fail_wait is not None:
            raise self.fail_wait
        pool = nodepool.find_pool(self.cluster, self.log[-2][1])
        pool["provisioningState"] = "Succeeded"
        return nodepool.pool_resource(self.cluster, pool["name"], pool)

    @property
    def writes(self):
        return [entry for entry in self.log if entry[0] in ("PUT", "DELETE")]


class FakeAz(AzureModule):
    """The real AzureModule (its accepted, fail_json, fail_azure) on a stub AnsibleModule and FakeArm's clients."""

    subscription_id = "0000"

    def __init__(self, arm, check_mode=False, **options):  # pylint: disable=super-init-not-called
        self.arm = arm
        self.module = _AnsibleModuleStub(check_mode, False)
        self.params = dict(resource_group="rg", cluster_name="aks1", name="user1", state="present", wait=True,
                           skip_subnet_role_assignment=False)
        self.params.update((option, None) for option, _key in nodepool.OPTIONS)
        self.params.update(options)
        self.stored = []
        clusters = type("Clusters", (), {"get": staticmethod(arm.get_cluster)})()
        pools = type("Pools", (), {"begin_create_or_update": staticmethod(arm.put_pool),
                                   "begin_delete": staticmethod(arm.delete_pool)})()
        self._client = type("CS", (), {"managed_clusters": clusters, "agent_pools": pools})()

    @property
    def warnings(self):
        return self.module.warnings

    def client(self, kind):
        assert kind == "containerservice", kind  # an overlay pool reads no VNet and grants no role
        return self._client

    def get(self, operation, *args):
        return operation(*args)

    def call(self, operation, *args, **kwargs):
        return operation(*(list(args) + ([kwargs["body"]] if "body" in kwargs else [])))

    def wait(self, poller, timeout=None, what="operation"):
        return self.arm.wait(what)


def run(arm, check_mode=False, **options):
    return NodePoolRunner(FakeAz(arm, check_mode, **options)).run()


@pytest.mark.parametrize("state", ["Failed", "Canceled"])
def test_a_failed_pool_with_nothing_to_change_is_sent_its_own_model_again(state):
    arm = FakeArm(overlay_cluster(state))
    result = run(arm, count=2)
    assert result["changed"] is True and result["operations"] == ["reconcile"] and result["changes"] == []
    [(method, name, body)] = arm.writes
    assert (method, name) == ("PUT", "user1")
    sent = dict(nodepool.find_pool(overlay_cluster(), "user1"))
    assert body == {"properties": dict((k, v) for k, v in sent.items()
                                       if k not in nodepool.READ_ONLY and k != "name")}  # its own model, as it is
    assert result["pool"]["properties"]["provisioningState"] == "Succeeded"
    arm.log.clear()
    assert run(arm, count=2)["changed"] is False and arm.writes == []  # reconciled: converged


def test_check_mode_says_a_failed_pool_would_be_reconciled_and_writes_nothing():
    arm = FakeArm(overlay_cluster("Failed"))
    az = FakeAz(arm, check_mode=True)
    result = NodePoolRunner(az).run()
    assert result["changed"] is True and result["operations"] == ["reconcile"] and arm.writes == []
    assert any("provisioningState Failed" in warning for warning in az.warnings)


def test_a_failed_pool_with_a_change_sends_the_change_not_a_separate_reconcile():
    arm = FakeArm(overlay_cluster("Failed"))
    result = run(arm, count=4)
    assert result["operations"] == ["update"] and [w[0] for w in arm.writes] == ["PUT"]
    assert arm.writes[0][2]["properties"]["count"] == 4


def test_a_succeeded_pool_with_nothing_to_change_sends_nothing():
    arm = FakeArm(overlay_cluster("Succeeded"))
    result = run(arm, count=2)
    assert result["changed"] is False and result["operations"] == [] and arm.writes == []


def test_a_reconcile_whose_operation_fails_reports_changed_and_the_stored_write():
    arm = FakeArm(overlay_cluster("Failed"), fail_wait=AzureError("the operation failed", code="InternalOperationError",
                                                                  status=200))
    with pytest.raises(Exited) as failure:
        run(arm)
    failed = failure.value.result
    assert failed["changed"] is True and failed["stored_operations"] == ["reconcile of pool user1"]
    assert "InternalOperationError" == failed["error_code"] and [w[0] for w in arm.writes] == ["PUT"]


def test_a_failed_update_and_a_failed_delete_report_their_stored_write():
    arm = FakeArm(overlay_cluster(), fail_wait=AzureError("scale failed", code="QuotaExceeded", status=200))
    with pytest.raises(Exited) as failure:
        run(arm, count=5)
    assert failure.value.result["stored_operations"] == ["update of pool user1"]
    assert failure.value.result["changed"] is True
    with pytest.raises(Exited) as failure:
        run(arm, state="absent")
    assert failure.value.result["stored_operations"] == ["delete of pool user1"]


def test_a_refused_put_stores_nothing_and_says_unchanged():
    arm = FakeArm(overlay_cluster("Failed"))

    def refuse(rg, cluster_name, name, body):
        arm.log.append(("PUT", name, body))
        raise AzureError("conflict", code="OperationNotAllowed", status=409)

    az = FakeAz(arm)
    az.client("containerservice").agent_pools.begin_create_or_update = refuse
    with pytest.raises(Exited) as failure:
        NodePoolRunner(az).run()
    assert failure.value.result["changed"] is False and "stored_operations" not in failure.value.result
