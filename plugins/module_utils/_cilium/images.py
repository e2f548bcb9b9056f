# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Cilium version an image reference or the agent DaemonSet runs (pure; private to this collection).

Its own small file: cilium_policy and the migration checks need the version, not the status engine.
"""

from __future__ import annotations

import re

VERSION_RE = re.compile(r"^v?(\d+\.\d+\.\d+)")


def image_version(image):
    """The Cilium version in an image reference: ``.../cilium:v1.17.9-250919@sha256:...`` -> ``1.17.9``."""
    if not image:
        return None
    name = image.split("@", 1)[0]
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
    match = VERSION_RE.match(tag)
    return match.group(1) if match else None


def agent_version(daemonset):
    """The version of the first container of the agent DaemonSet whose image names one, or None."""
    containers = ((((daemonset or {}).get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    versions = [image_version(c.get("image")) for c in containers]
    return next((v for v in versions if v), None)
