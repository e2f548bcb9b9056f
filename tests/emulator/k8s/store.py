"""Object storage for one cluster: objects by resource, one resourceVersion counter, watch history.

Stored objects are plain dicts that are never mutated once stored (writers store a new dict), so
readers may serialise them without copying. Each resource keeps its recent events for watches;
a watch from a resourceVersion older than that window gets 410 Gone, as from the watch cache.
"""

import bisect
import threading

from .errors import expired

DEFAULT_HISTORY = 2000


class Store:

    def __init__(self, history=DEFAULT_HISTORY):
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.history = history
        self.rv = 1
        self.epoch = 0  # bumped to end every open watch ("watch disconnect")
        self.expire_epoch = 0  # bumped to send every open watch a 410 ("watch expired")
        self._objects = {}  # resource key -> {(namespace, name): obj}
        self._sorted = {}  # resource key -> sorted [(namespace, name)] or absent when stale
        self._events = {}  # resource key -> [(rv, type, obj, old)]
        self._floor = {}  # resource key -> oldest resourceVersion a watch may start from
        self._listeners = []

    def add_listener(self, callback):
        """callback(key, event_type, obj, old) after every write (called with the lock held)."""
        self._listeners.append(callback)

    def bump(self):
        with self.lock:
            self.rv += 1
            return self.rv

    def get(self, key, namespace, name):
        return self._objects.get(key, {}).get((namespace or "", name))

    def count(self, key):
        return len(self._objects.get(key, {}))

    def keys(self, key, namespace=None, start_after=None):
        """Sorted (namespace, name) keys, optionally within one namespace and after a key."""
        with self.lock:
            ordered = self._sorted.get(key)
            if ordered is None:
                ordered = sorted(self._objects.get(key, {}))
                self._sorted[key] = ordered
        if start_after is not None:
            index = bisect.bisect_right(ordered, tuple(start_after))
        elif namespace is not None:
            index = bisect.bisect_left(ordered, (namespace, ""))
        else:
            index = 0
        for item in ordered[index:]:
            if namespace is not None and item[0] != namespace:
                if item[0] > namespace:
                    return
                continue
            yield item

    def objects(self, key, namespace=None):
        table = self._objects.get(key, {})
        for item in self.keys(key, namespace):
            obj = table.get(item)
            if obj is not None:
                yield obj

    def put(self, key, obj, event_type, old=None):
        """Store obj (its metadata.resourceVersion already set) and record the watch event."""
        meta = obj["metadata"]
        ident = (meta.get("namespace", ""), meta["name"])
        with self.lock:
            table = self._objects.setdefault(key, {})
            if ident not in table:
                self._sorted.pop(key, None)
            table[ident] = obj
            self._record(key, int(meta["resourceVersion"]), event_type, obj, old)

    def remove(self, key, obj):
        """Delete; obj is the final state (with the deletion's resourceVersion)."""
        meta = obj["metadata"]
        ident = (meta.get("namespace", ""), meta["name"])
        with self.lock:
            old = self._objects.get(key, {}).pop(ident, None)
            self._sorted.pop(key, None)
            self._record(key, int(meta["resourceVersion"]), "DELETED", obj, old)

    def drop_resource(self, key):
        with self.lock:
            self._objects.pop(key, None)
            self._sorted.pop(key, None)
            self._events.pop(key, None)
            self._floor.pop(key, None)

    def _record(self, key, rv, event_type, obj, old):
        events = self._events.setdefault(key, [])
        events.append((rv, event_type, obj, old))
        if len(events) > 2 * self.history:
            cut = len(events) - self.history
            self._floor[key] = events[cut - 1][0]
            del events[:cut]
        for listener in self._listeners:
            listener(key, event_type, obj, old)
        self.changed.notify_all()

    def events_since(self, key, rv):
        """Events of `key` newer than rv; 410 Expired when rv is older than the retained window."""
        floor = self._floor.get(key, 0)
        if rv < floor:
            raise expired("too old resource version: %d (%d)" % (rv, floor + 1))
        events = self._events.get(key, [])
        index = bisect.bisect_right(events, rv, key=lambda event: event[0]) if events else 0
        return events[index:]

    def compact(self):
        """Forget all watch history (as after an etcd compaction).

        Only versions older than the current one expire: a watch from the resourceVersion a LIST
        returns just now must still start, as on a real apiserver.
        """
        with self.lock:
            for key in list(self._events):
                self._events[key] = []
            for key in set(self._objects) | set(self._floor):
                self._floor[key] = self.rv

    def kick_watches(self, expire=False):
        with self.lock:
            if expire:
                self.expire_epoch += 1
                self.compact()
            else:
                self.epoch += 1
            self.changed.notify_all()
