"""Request log kept by every emulator server (GET /_emulator/requests)."""

import re
import threading
import time

WRITE_METHODS = ("PUT", "POST", "PATCH", "DELETE")

# POSTs that read (or authenticate) rather than change anything
_NOT_WRITES = re.compile(
    r"/oauth2/(v2\.0/)?token$"
    r"|/listCluster\w*Credentials?$"
    r"|/(selfsubjectaccessreviews|selfsubjectrulesreviews|subjectaccessreviews|tokenreviews)$",
    re.IGNORECASE,
)


def is_write(entry):
    """True when a logged request could have changed state (dry runs and credential reads do not)."""
    if entry["method"] not in WRITE_METHODS or _NOT_WRITES.search(entry["path"]):
        return False
    return "All" not in entry.get("query", {}).get("dryRun", [])


def writes(entries):
    return [entry for entry in entries if is_write(entry)]


class RequestLog:
    """Thread-safe list of {seq, method, path, query, status, time, body?} dicts."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries = []
        self._seq = 0

    def append(self, entry):
        with self._lock:
            self._seq += 1
            entry = dict(entry, seq=self._seq)
            entry.setdefault("time", time.time())
            self._entries.append(entry)
        return entry

    def list(self, since=None):
        """Entries logged at or after `since` (a time.time() value), oldest first."""
        with self._lock:
            entries = list(self._entries)
        if since is None:
            return entries
        return [entry for entry in entries if entry["time"] >= since]

    def clear(self):
        with self._lock:
            self._entries = []
