"""Long-running operations: the status resources behind Azure-AsyncOperation and Location.

An operation is due `duration` seconds after it starts; it completes on the first request that
arrives after that (`tick`, called by the router before every request), so with duration 0 the
client's first poll already sees the terminal state. Completion runs the owner's callback, which
moves the resource to its final state.
"""

import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, Optional


def _iso(stamp):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + ".%07dZ" % int((stamp % 1) * 1e7)


@dataclass
class Operation:
    id: str
    resource_id: str
    kind: str                       # create | update | delete
    provider: str                   # e.g. Microsoft.ContainerService
    location: str
    start: float
    due: float
    on_done: Callable = field(repr=False, default=None)  # on_done(operation) once terminal
    status: str = "InProgress"
    end: Optional[float] = None
    error: Optional[dict] = None
    error_status: int = 400         # what the Location URL answers when the operation failed
    planned: Optional[dict] = None  # {"status": "Failed"|"Canceled", "error": {...}} from a fault rule
    hold: Callable = field(repr=False, default=None)  # hold() true: not finished yet when due ...
    hold_until: float = 0.0                           # ... until this time (then it finishes as it is)

    @property
    def done(self):
        return self.status != "InProgress"

    def status_body(self):
        body = {"name": self.id, "status": self.status, "startTime": _iso(self.start)}
        if self.end is not None:
            body["endTime"] = _iso(self.end)
        if self.error:
            body["error"] = self.error
        return body


class Operations:

    def __init__(self, clock=time.time):
        self.clock = clock
        self._ops = {}

    def start(self, resource_id, kind, provider, location, duration, on_done, planned=None):
        now = self.clock()
        op = Operation(id=str(uuid.uuid4()), resource_id=resource_id, kind=kind, provider=provider,
                       location=location, start=now, due=now + max(0.0, float(duration)),
                       on_done=on_done, planned=planned)
        self._ops[op.id] = op
        return op

    def get(self, op_id):
        return self._ops.get(op_id.lower())

    def pending_for(self, resource_id):
        """The unfinished operation on this resource (or a child of it), if any."""
        rid = resource_id.lower()
        for op in self._ops.values():
            if not op.done and (op.resource_id.lower() == rid or op.resource_id.lower().startswith(rid + "/")):
                return op
        return None

    def pending(self):
        return [op for op in self._ops.values() if not op.done]

    def tick(self):
        now = self.clock()
        for op in sorted(self.pending(), key=lambda o: o.due):
            if now >= op.due:
                if op.hold is not None and now < op.hold_until and op.hold():
                    continue
                planned = op.planned or {}
                self.finish(op, planned.get("status", "Succeeded"), planned.get("error"), planned.get("error_status"))

    def finish(self, op, status, error=None, error_status=None):
        if op.done:
            return
        op.status = status
        op.end = self.clock()
        if status != "Succeeded":
            op.error = error or {"code": "InternalOperationError", "message": "The operation ended %s." % status}
            op.error_status = error_status or op.error_status
        if op.on_done:
            op.on_done(op)

    def finish_all(self):
        """Complete every pending operation now (tests: end a deliberately slow provisioning)."""
        for op in self.pending():
            op.due = self.clock()
        self.tick()
