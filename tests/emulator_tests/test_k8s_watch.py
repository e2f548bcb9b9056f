"""Watch semantics: resume from a resourceVersion, selectors, bookmarks, timeouts, 410 Gone, disconnects."""

import threading
import time

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from tests.emulator_tests.k8s_fixtures import (k8s_ca, k8s_cluster, k8s_factory, kube, raw_request,  # noqa: F401  pylint: disable=unused-import
                                               watch_events)

# pylint: disable=redefined-outer-name

CMS = "/api/v1/namespaces/default/configmaps"


def test_python_client_watch_sees_changes_after_a_list(kube):
    core = client.CoreV1Api(kube)
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", {"metadata": {"name": "w"}, "data": {"v": "1"}})
    core.patch_namespaced_config_map("w", "default", {"data": {"v": "2"}})
    core.delete_namespaced_config_map("w", "default")
    seen = [(e["type"], e["object"].metadata.name, (e["object"].data or {}).get("v"))
            for e in watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=start, timeout_seconds=1)]
    assert seen == [("ADDED", "w", "1"), ("MODIFIED", "w", "2"), ("DELETED", "w", "2")]


def test_watch_without_resource_version_starts_with_the_current_objects(k8s_cluster):
    events = watch_events(k8s_cluster, "/api/v1/namespaces/kube-system/pods?watch=true&labelSelector=k8s-app%3Dcilium"
                                       "&timeoutSeconds=1")
    assert [e["type"] for e in events] == ["ADDED"] * 3
    assert all(e["object"]["kind"] == "Pod" and e["object"]["metadata"]["labels"]["k8s-app"] == "cilium" for e in events)


def test_label_selector_watch_reports_objects_entering_and_leaving(k8s_cluster):
    rv = raw_request(k8s_cluster, "GET", CMS)[1]["metadata"]["resourceVersion"]
    raw_request(k8s_cluster, "POST", CMS, {"metadata": {"name": "x", "labels": {"tier": "a"}}})
    raw_request(k8s_cluster, "PATCH", CMS + "/x", {"metadata": {"labels": {"tier": "b"}}}, content_type="application/merge-patch+json")
    raw_request(k8s_cluster, "PATCH", CMS + "/x", {"metadata": {"labels": {"tier": "a"}}}, content_type="application/merge-patch+json")
    events = watch_events(k8s_cluster, CMS + "?watch=1&labelSelector=tier%3Da&timeoutSeconds=1&resourceVersion=" + rv)
    assert [e["type"] for e in events] == ["ADDED", "DELETED", "ADDED"]


def test_watch_of_one_object_by_name(k8s_cluster):
    rv = raw_request(k8s_cluster, "GET", CMS)[1]["metadata"]["resourceVersion"]
    for name in ("a", "b"):
        raw_request(k8s_cluster, "POST", CMS, {"metadata": {"name": name}})
    events = watch_events(k8s_cluster, "/api/v1/watch/namespaces/default/configmaps/b?timeoutSeconds=1&resourceVersion=" + rv)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "b")]


def test_bookmarks_and_timeout(k8s_cluster):
    raw_request(k8s_cluster, "POST", "/_emulator/settings", {"bookmark_interval": 0.2})
    started = time.monotonic()
    events = watch_events(k8s_cluster, CMS + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion=1")
    assert 0.9 <= time.monotonic() - started < 5
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert bookmarks and set(bookmarks[0]["object"]) == {"kind", "apiVersion", "metadata"}
    assert int(bookmarks[-1]["object"]["metadata"]["resourceVersion"]) >= k8s_cluster.store.rv - 1
    without = watch_events(k8s_cluster, CMS + "?watch=1&timeoutSeconds=1&resourceVersion=%d" % k8s_cluster.store.rv)
    assert not [e for e in without if e["type"] == "BOOKMARK"]


def test_too_old_resource_version_is_410_gone(kube, k8s_cluster):
    core = client.CoreV1Api(kube)
    old = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", {"metadata": {"name": "after"}})
    raw_request(k8s_cluster, "POST", "/_emulator/watch", {"action": "compact"})
    events = watch_events(k8s_cluster, CMS + "?watch=1&timeoutSeconds=2&resourceVersion=" + old)
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert status["code"] == 410 and status["reason"] == "Expired"
    assert status["message"].startswith("too old resource version: %s (" % old)
    with pytest.raises(ApiException) as err:
        for _unused in watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=old, timeout_seconds=2):
            pass
    assert err.value.status == 410


def test_history_window_is_bounded(k8s_cluster):
    k8s_cluster.store.history = 5
    rv = raw_request(k8s_cluster, "GET", CMS)[1]["metadata"]["resourceVersion"]
    for i in range(12):
        raw_request(k8s_cluster, "POST", CMS, {"metadata": {"name": "h%d" % i}})
    events = watch_events(k8s_cluster, CMS + "?watch=1&timeoutSeconds=1&resourceVersion=" + rv)
    assert [e["type"] for e in events] == ["ERROR"] and events[0]["object"]["code"] == 410


def _watch_in_background(cluster, path):
    result = {}

    def run():
        result["events"] = watch_events(cluster, path, timeout=20)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.3)
    return thread, result


def test_expire_fault_sends_410_to_open_watches(k8s_cluster):
    rv = raw_request(k8s_cluster, "GET", CMS)[1]["metadata"]["resourceVersion"]
    thread, result = _watch_in_background(k8s_cluster, CMS + "?watch=1&timeoutSeconds=15&resourceVersion=" + rv)
    raw_request(k8s_cluster, "POST", CMS, {"metadata": {"name": "before-expiry"}})
    raw_request(k8s_cluster, "POST", "/_emulator/watch", {"action": "expire"})
    thread.join(10)
    assert not thread.is_alive()
    assert [e["type"] for e in result["events"]][-1:] == ["ERROR"] and result["events"][-1]["object"]["code"] == 410
    later = watch_events(k8s_cluster, CMS + "?watch=1&timeoutSeconds=1&resourceVersion=" + rv)
    assert later[0]["object"]["code"] == 410


def test_watch_from_a_fresh_list_after_expiry_starts(k8s_cluster):
    """Relist-and-rewatch after a 410 must work at once, without waiting for some other write."""
    raw_request(k8s_cluster, "POST", "/_emulator/watch", {"action": "expire"})
    rv = raw_request(k8s_cluster, "GET", CMS)[1]["metadata"]["resourceVersion"]
    thread, result = _watch_in_background(k8s_cluster, CMS + "?watch=1&timeoutSeconds=1&resourceVersion=" + rv)
    raw_request(k8s_cluster, "POST", CMS, {"metadata": {"name": "after-expiry"}})
    thread.join(10)
    assert not thread.is_alive()
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in result["events"]] == [("ADDED", "after-expiry")]


def test_disconnect_fault_ends_open_watches(k8s_cluster):
    rv = raw_request(k8s_cluster, "GET", CMS)[1]["metadata"]["resourceVersion"]
    thread, result = _watch_in_background(k8s_cluster, CMS + "?watch=1&timeoutSeconds=15&resourceVersion=" + rv)
    raw_request(k8s_cluster, "POST", CMS, {"metadata": {"name": "seen"}})
    time.sleep(0.3)
    started = time.monotonic()
    raw_request(k8s_cluster, "POST", "/_emulator/watch", {"action": "disconnect"})
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - started < 5
    assert [e["type"] for e in result["events"]] == ["ADDED"]
    resumed = watch_events(k8s_cluster, CMS + "?watch=1&timeoutSeconds=1&resourceVersion=" + rv)
    assert [e["object"]["metadata"]["name"] for e in resumed] == ["seen"]
