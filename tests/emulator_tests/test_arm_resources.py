"""Resource groups (sync PUT, HEAD, LRO DELETE) and the ARM front door's generic answers."""

import pytest

from .conftest import unique, vnet_body

API = "?api-version=2025-04-01"


def test_resource_group_create_get_update_delete(sdk, raw):
    name = unique("rg")
    url = "%s/subscriptions/%s/resourcegroups/%s%s" % (raw.base, sdk.subscription_id, name, API)
    assert raw.head(url).status_code == 404
    assert raw.put(url, json={"location": "westeurope"}).status_code == 201
    assert raw.head(url).status_code == 204
    group = sdk.resources.resource_groups.create_or_update(name, {"location": "westeurope", "tags": {"env": "ci"}})
    assert group.tags == {"env": "ci"} and group.properties.provisioning_state == "Succeeded"
    assert raw.put(url, json={"location": "westeurope"}).status_code == 200
    assert sdk.resources.resource_groups.check_existence(name) is True
    assert name in [g.name for g in sdk.resources.resource_groups.list()]

    reply = raw.delete(url)
    assert reply.status_code == 202 and "/operationresults/" in reply.headers["Location"]
    assert int(reply.headers["Retry-After"]) >= 1
    assert raw.get(reply.headers["Location"]).status_code == 200
    assert sdk.resources.resource_groups.check_existence(name) is False


def test_sdk_delete_of_a_group_removes_its_resources(sdk):
    name = unique("rg")
    sdk.resources.resource_groups.create_or_update(name, {"location": "westeurope"})
    sdk.network.virtual_networks.begin_create_or_update(name, "vnet", vnet_body(("a", "10.10.0.0/24"))).result()
    sdk.resources.resource_groups.begin_delete(name).result()
    sdk.resources.resource_groups.create_or_update(name, {"location": "westeurope"})
    assert [v.name for v in sdk.network.virtual_networks.list(name)] == []
    sdk.resources.resource_groups.begin_delete(name).result()


def test_missing_group_is_resource_group_not_found(sdk):
    from azure.core.exceptions import ResourceNotFoundError  # pylint: disable=import-outside-toplevel
    with pytest.raises(ResourceNotFoundError) as caught:
        sdk.resources.resource_groups.get("does-not-exist")
    assert caught.value.error.code == "ResourceGroupNotFound"
    assert caught.value.response.headers["x-ms-failure-cause"] == "gateway"


def test_group_location_cannot_change(sdk, group):
    from azure.core.exceptions import HttpResponseError  # pylint: disable=import-outside-toplevel
    with pytest.raises(HttpResponseError) as caught:
        sdk.resources.resource_groups.create_or_update(group, {"location": "eastus"})
    assert (caught.value.status_code, caught.value.error.code) == (409, "InvalidResourceGroupLocation")


def test_front_door_checks(raw, sdk):
    base = "%s/subscriptions/%s/resourcegroups" % (raw.base, sdk.subscription_id)
    missing_version = raw.get(base)
    assert (missing_version.status_code, missing_version.json()["error"]["code"]) == (400, "MissingApiVersionParameter")
    other = raw.get("%s/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups%s" % (raw.base, API))
    assert (other.status_code, other.json()["error"]["code"]) == (404, "SubscriptionNotFound")
    bad_json = raw.put(base + "/x" + API, data=b"{not json", headers={"Content-Type": "application/json"})
    assert (bad_json.status_code, bad_json.json()["error"]["code"]) == (400, "InvalidRequestContent")
    no_location = raw.put(base + "/x" + API, json={})
    assert no_location.json()["error"]["code"] == "LocationRequired"
    assert raw.get(base + API).headers["x-ms-ratelimit-remaining-subscription-reads"]
