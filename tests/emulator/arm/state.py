"""In-memory resource store, keyed by case-insensitive ARM id, optionally persisted to a JSON file.

Bodies are exactly what ARM returns. `meta` holds emulator-private facts per resource (which
cluster uses a subnet, ...). Callers hold the emulator lock; this class does no locking.
"""

import copy
import json
import os


def key(resource_id):
    return resource_id.rstrip("/").lower()


class Store:

    def __init__(self, path=None):
        self.path = path
        self.resources = {}
        self.meta = {}
        self.dirty = False
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                saved = json.load(handle)
            self.resources = saved.get("resources", {})
            self.meta = saved.get("meta", {})

    def get(self, resource_id):
        """A deep copy of the stored body (None when absent): callers may change it freely."""
        body = self.resources.get(key(resource_id))
        return copy.deepcopy(body) if body is not None else None

    def exists(self, resource_id):
        return key(resource_id) in self.resources

    def put(self, resource_id, body):
        self.resources[key(resource_id)] = copy.deepcopy(body)
        self.dirty = True

    def delete(self, resource_id):
        self.resources.pop(key(resource_id), None)
        self.meta.pop(key(resource_id), None)
        self.dirty = True

    def meta_for(self, resource_id):
        self.dirty = True  # callers change what they get
        return self.meta.setdefault(key(resource_id), {})

    def children(self, parent_id, type_segment=None):
        """Stored bodies directly or indirectly below parent_id (optionally of one provider type path)."""
        prefix = key(parent_id) + "/"
        if type_segment:
            prefix += type_segment.lower().strip("/") + "/"
        return [copy.deepcopy(body) for rid, body in sorted(self.resources.items())
                if rid.startswith(prefix) and "/" not in rid[len(prefix):]]

    def below(self, parent_id):
        prefix = key(parent_id) + "/"
        return [copy.deepcopy(body) for rid, body in sorted(self.resources.items()) if rid.startswith(prefix)]

    def all(self):
        return [copy.deepcopy(self.resources[rid]) for rid in sorted(self.resources)]

    def save(self):
        if not (self.path and self.dirty):
            return
        self.dirty = False
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"resources": self.resources, "meta": self.meta}, handle, indent=1, sort_keys=True)
        os.replace(tmp, self.path)
