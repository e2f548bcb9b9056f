"""Where real Azure CLI recordings of AKS exchanges say the lab was wrong: the service CIDR may sit inside the
VNet's address space when it misses every subnet, and enum values match in any case (loadBalancerSku)."""

import pytest
from azure.core.exceptions import HttpResponseError

from .conftest import cluster_body, vnet_body

VNET_MODE = {"networkPlugin": "azure", "networkDataplane": "cilium", "networkPolicy": "cilium"}
OVERLAY = {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium", "networkPolicy": "cilium"}


@pytest.fixture
def recorded_vnet(sdk, group):
    """The recorded topology: VNet 10.0.0.0/8, nodes 10.240.0.0/16, pods 10.40.0.0/13."""
    vnet = sdk.network.virtual_networks.begin_create_or_update(
        group, "vnet", vnet_body(("nodes", "10.240.0.0/16"), ("pods", "10.40.0.0/13"), space="10.0.0.0/8")).result()
    return {s.name: s.id for s in vnet.properties.subnets}


def pool(subnets):
    return [{"name": "system", "count": 2, "vmSize": "Standard_D2s_v3", "mode": "System", "osType": "Linux",
             "vnetSubnetID": subnets["nodes"], "podSubnetID": subnets["pods"]}]


def test_default_service_cidr_inside_the_vnet_space_but_outside_its_subnets_is_accepted(sdk, group, recorded_vnet):
    cluster = sdk.aks.managed_clusters.begin_create_or_update(group, "rec", cluster_body(VNET_MODE, pool(recorded_vnet))).result()
    assert cluster.provisioning_state == "Succeeded"
    assert (cluster.network_profile.service_cidr, cluster.network_profile.dns_service_ip) == ("10.0.0.0/16", "10.0.0.10")


def test_a_service_cidr_on_a_subnet_is_still_refused(sdk, group, recorded_vnet):
    body = cluster_body(dict(VNET_MODE, serviceCidr="10.240.0.0/16", dnsServiceIP="10.240.0.10"), pool(recorded_vnet))
    with pytest.raises(HttpResponseError) as err:
        sdk.aks.managed_clusters.begin_create_or_update(group, "rec", body).result()
    assert err.value.error.code == "ServiceCidrOverlapExistingSubnetsCidr"


def test_an_overlay_pod_cidr_in_the_vnet_is_still_refused(sdk, group, recorded_vnet):
    nodes_only = [dict(pool(recorded_vnet)[0], podSubnetID=None)]
    with pytest.raises(HttpResponseError) as err:
        sdk.aks.managed_clusters.begin_create_or_update(group, "ovl", cluster_body(
            dict(OVERLAY, podCidr="10.244.0.0/16"), nodes_only)).result()
    assert err.value.error.code == "NetworkProfileCIDROverlapVNET"


@pytest.mark.parametrize("spelling", ["standard", "Standard", "STANDARD"])
def test_load_balancer_sku_reads_back_as_azure_spells_it_and_matches_in_any_case(sdk, group, spelling):
    clusters = sdk.aks.managed_clusters
    clusters.begin_create_or_update(group, "lb", cluster_body(dict(OVERLAY, loadBalancerSku=spelling))).result()
    assert clusters.get(group, "lb").network_profile.load_balancer_sku == "Standard"
    for sent_back in ("Standard", "standard"):  # what az sends back on an update, and the documented spelling
        updated = clusters.begin_create_or_update(group, "lb", cluster_body(dict(OVERLAY, loadBalancerSku=sent_back))).result()
        assert updated.provisioning_state == "Succeeded" and updated.network_profile.load_balancer_sku == "Standard"
