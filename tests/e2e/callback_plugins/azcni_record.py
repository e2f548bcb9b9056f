# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: append every task result as one JSON line to $AZCNI_RECORD_FILE.

The e2e tests read these lines to assert on module results without scraping console output.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: azcni_record
type: notification
short_description: Record task results as JSON lines (azcni.cilium tests only)
description:
  - Appends one JSON object per task result to the file named by E(AZCNI_RECORD_FILE).
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "azcni_record"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, status):
        path = os.environ.get("AZCNI_RECORD_FILE")
        if not path:
            return
        line = dict(task=result._task.get_name(), host=result._host.get_name(), status=status,  # pylint: disable=protected-access
                    action=result._task.action, result=result._result,  # pylint: disable=protected-access
                    time=time.time())  # when the task ended: tests attribute logged requests to tasks by it
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, default=repr) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "changed" if result._result.get("changed") else "ok")  # pylint: disable=protected-access

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")
