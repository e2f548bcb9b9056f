# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Following changes on the API server with watches, the way client-go's reflector and kubectl do.

* ``ChangeWatch``: every change to a collection from a resourceVersion on, re-syncing whenever the
  watch ends or the server answers 410 Gone (including the reflector's short backoff when watches keep
  ending empty). Progress is driven by the server's events, not by polling.
* ``ObjectWatch``: snapshots of one named object the way kubectl's ``UntilWithSync`` gets them.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import random
import time


def _meta(obj):
    return obj.get("metadata") or {}


WATCH_BACKOFF = 0.05       # seconds before re-syncing after a watch that ended without an event; doubles


WATCH_BACKOFF_CAP = 2.0     # ... up to this


# --- following changes ---------------------------------------------------------------------------
class ChangeWatch(object):
    """Every change to a collection (narrowed by selectors) from a resourceVersion on, until a deadline.

    Like client-go's reflector: watch from a known version; whenever the watch ends (server timeout,
    dropped connection) or is answered 410 Gone, re-sync (``resync()`` returns a fresh version; by
    default a one-item page of the collection) and tell the caller with a None, since something may
    have changed in between. Progress is driven by the server's events; the only pause is the
    reflector's short backoff when watches keep ending without a single event (a proxy that cuts
    streams, a server that keeps answering 410), so such a server is not hammered.
    """

    def __init__(self, client, collection, label_selector=None, field_selector=None, clock=time.monotonic, resync=None,
                 sleep=time.sleep):
        self.client, self.collection, self.clock, self.sleep = client, collection, clock, sleep
        self.selectors = dict(label_selector=label_selector, field_selector=field_selector)
        self.resync = resync or self._first_page_version
        self.last_error = None  # the latest error a watch or re-list met (they are retried until the deadline)

    def _first_page_version(self):
        page = self.client.request("GET", self.collection, dict(labelSelector=self.selectors["label_selector"],
                                                                fieldSelector=self.selectors["field_selector"], limit=1))
        return _meta(page or {}).get("resourceVersion")

    def events(self, deadline, version=None):
        """Yield watch events (ADDED, MODIFIED, DELETED) and None after each re-sync, until ``deadline``.

        Any API error of a watch or a re-list (410, 429, 5xx, a dropped connection) ends that watch: the
        loop re-lists and resumes after a jittered backoff, until the deadline (``last_error`` keeps it).
        """
        fruitless = 0
        while self.clock() < deadline:
            seen = False
            try:
                if not version:
                    version = self.resync()
                    yield None
                remaining = deadline - self.clock()
                if remaining <= 0:
                    return
                events = self.client.watch(self.collection, resource_version=version,
                                           timeout_seconds=max(1, int(remaining + 0.999)), **self.selectors)
                try:
                    for event in events:
                        seen = True  # bookmarks count: the server is streaming
                        if event.get("type") != "BOOKMARK":
                            yield event
                        if self.clock() >= deadline:
                            return
                finally:
                    events.close()  # hand the connection back now, not when the generator is collected
            except Exception as exc:  # pylint: disable=broad-exception-caught
                if getattr(exc, "status", None) is None:
                    raise  # not an API answer: a bug, not a fault to wait out
                self.last_error = exc
            version = None
            fruitless = 0 if seen else fruitless + 1
            if fruitless:
                pause = random.uniform(0.5, 1.0) * min(WATCH_BACKOFF_CAP, WATCH_BACKOFF * 2 ** (fruitless - 1))  # nosec B311
                self.sleep(min(pause, max(0, deadline - self.clock())))


class ObjectWatch(object):
    """Snapshots of one named object as the server changes it, as kubectl's ``UntilWithSync`` gets them:
    list with ``fieldSelector=metadata.name=...`` (the object and a resourceVersion), watch from there,
    list again whenever the watch ends or is answered 410 Gone."""

    def __init__(self, client, collection, name, clock=time.monotonic, sleep=time.sleep):
        self.client, self.collection, self.clock, self.sleep = client, collection, clock, sleep
        self.selector = "metadata.name=%s" % name
        self.listed = None
        self.watch = None

    def _list(self):
        items, version = self.client.list(self.collection, field_selector=self.selector)
        self.listed = items[0] if items else None
        return version

    def snapshots(self, deadline):
        """Yield the object (a dict), or None while it does not exist, until ``deadline`` (clock time)."""
        watch = self.watch = ChangeWatch(self.client, self.collection, field_selector=self.selector, clock=self.clock,
                                         resync=self._list, sleep=self.sleep)
        for event in watch.events(deadline):
            if event is None:
                yield self.listed
            elif event.get("type") == "DELETED":
                yield None
            else:
                yield event.get("object") or {}
