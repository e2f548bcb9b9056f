"""Fault injection shared by the emulators, plus the /_emulator control endpoints.

A rule matches requests by method (regex, None = any) and path (regex, searched) and then either
answers with `status` (+ optional `body`/`headers`), resets the connection (`reset`), or sleeps
`delay` seconds before the normal answer (or before `status`, when both are given).
`count` matches are consumed (default 1, -1 = forever); `skip` lets that many matches through first.
`probability` (0..1) makes a rule fire on that share of its matches only, drawn from a generator seeded
with `seed` (default 0), so a random fault pattern replays exactly.

Two rule kinds are not answered here but read by the ARM emulator when it starts a long-running
operation (see `operation_rule`): `lro` ("Failed"/"Canceled", with optional `error` {code, message})
makes the operation end that way, `provision_delay` (seconds) makes it take that long.
"""

import json
import random
import re
import threading
import time
from http import HTTPStatus

from .http import Response, json_response

OPERATION_KEYS = ("lro", "provision_delay")
ACTION_KEYS = ("status", "reset", "delay") + OPERATION_KEYS
RULE_KEYS = ACTION_KEYS + ("method", "path", "body", "headers", "count", "skip", "error", "probability", "seed")


def default_error_body(status):
    """ARM-style envelope; the Kubernetes emulator passes its own (a v1 Status)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {"error": {"code": phrase.replace(" ", ""), "message": "Injected fault: %d %s" % (status, phrase)}}


class FaultInjector:

    def __init__(self, default_body=default_error_body):
        self._lock = threading.Lock()
        self._rules = []
        self._default_body = default_body

    def add(self, **rule):
        unknown = set(rule) - set(RULE_KEYS)
        if unknown:
            raise ValueError("unknown fault rule keys: %s" % ", ".join(sorted(unknown)))
        if not any(rule.get(key) not in (None, False) for key in ACTION_KEYS):
            raise ValueError("a fault rule needs one of: %s" % ", ".join(ACTION_KEYS))
        rule = dict(rule)
        rule.setdefault("path", "")
        rule.setdefault("count", 1)
        rule.setdefault("skip", 0)
        rule["_method"] = re.compile(rule["method"], re.IGNORECASE) if rule.get("method") else None
        rule["_path"] = re.compile(rule["path"])
        if rule.get("probability") is not None:
            rule["probability"] = float(rule["probability"])
            if not 0.0 <= rule["probability"] <= 1.0:
                raise ValueError("probability must be between 0 and 1")
            rule["_random"] = random.Random(rule.get("seed") or 0)
        with self._lock:
            self._rules.append(rule)
        return self._public(rule)

    def clear(self):
        with self._lock:
            self._rules = []

    def rules(self):
        with self._lock:
            return [self._public(rule) for rule in self._rules]

    @staticmethod
    def _public(rule):
        return {key: value for key, value in rule.items() if not key.startswith("_")}

    def _take(self, method, path, operation):
        """Consume and return the first live rule of the wanted kind matching method and path."""
        with self._lock:
            for rule in self._rules:
                if operation != any(rule.get(key) is not None for key in OPERATION_KEYS):
                    continue
                if rule["count"] == 0 or not rule["_path"].search(path):
                    continue
                if rule["_method"] is not None and not rule["_method"].fullmatch(method):
                    continue
                if rule["skip"] > 0:
                    rule["skip"] -= 1
                    continue
                if rule.get("_random") is not None and rule["_random"].random() >= rule["probability"]:
                    continue
                if rule["count"] > 0:
                    rule["count"] -= 1
                return rule
        return None

    def match(self, request):
        """The injected Response for this request, or None to answer normally (after any delay)."""
        rule = self._take(request.method, request.path, operation=False)
        if rule is None:
            return None
        if rule.get("delay"):
            time.sleep(float(rule["delay"]))
        if rule.get("reset"):
            return Response(0, reset=True)
        if rule.get("status"):
            status = int(rule["status"])
            body = rule["body"] if rule.get("body") is not None else self._default_body(status)
            return json_response(status, body, {k: str(v) for k, v in (rule.get("headers") or {}).items()})
        return None

    def operation_rule(self, method, path):
        """The `lro`/`provision_delay` rule for a long-running operation being started, or None."""
        return self._take(method, path, operation=True)


def with_controls(app, faults, log):
    """Wrap an emulator handler: /_emulator/{faults,requests}, fault injection, request log.

    Other /_emulator/* paths go to `app` unlogged and without faults (server-specific controls).
    """

    def control(request):
        if request.path == "/_emulator/faults":
            if request.method == "POST":
                try:
                    return json_response(201, faults.add(**(request.json() or {})))
                except (ValueError, TypeError) as exc:
                    return json_response(400, {"error": {"code": "InvalidFaultRule", "message": str(exc)}})
            if request.method == "DELETE":
                faults.clear()
                return json_response(200, {})
            return json_response(200, faults.rules())
        if request.method == "DELETE":
            log.clear()
            return json_response(200, {})
        return json_response(200, log.list())

    def handle(request):
        if request.path in ("/_emulator/faults", "/_emulator/requests"):
            return control(request)
        if request.path.startswith("/_emulator/"):
            return app(request)
        response = faults.match(request) or app(request)
        entry = {"method": request.method, "path": request.path, "query": request.query,
                 "status": 0 if response.reset else response.status}
        if request.method in ("PUT", "POST", "PATCH") and request.body:
            try:
                entry["body"] = json.loads(request.body.decode("utf-8"))
            except ValueError:
                pass  # not JSON (form posts, YAML apply patches): method and path are enough
        log.append(entry)
        return response

    return handle
