# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every ARM request names the API version the collection relies on, whatever SDK release is installed.

The e2e gates run this with the newest SDKs, with the floors of requirements.txt and with
azure.azcollection's exact pins; an SDK that defaulted to an older API version would otherwise change
what is sent (and real ARM drops the fields that version does not know).
"""

from __future__ import annotations

import os
import time
import uuid
from urllib.parse import parse_qs, urlsplit

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# what the product was written against (the AKS, network and resources API versions of its docs)
EXPECTED = {"microsoft.containerservice": "2026-08-01", "microsoft.network": "2026-03-01", None: "2025-04-01",
            "microsoft.authorization": "2022-04-01", "microsoft.managedidentity": "2023-01-31"}


EXPECTED["subscription locations"] = "2022-12-01"  # Microsoft.Resources' subscriptions API, not its resource groups


def provider(path):
    # the last provider names the resource type (a role assignment on a subnet is Microsoft.Authorization's)
    parts = path.lower().split("/")
    if "providers" not in parts:
        return "subscription locations" if parts[-1] == "locations" and len(parts) == 4 else None
    return parts[len(parts) - 1 - parts[::-1].index("providers") + 1]


def test_every_arm_call_pins_its_api_version(emulator, ansible, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    extra = {"azcni_cluster_name": "apiv-" + suffix, "azcni_resource_group": "rg-apiv-" + suffix,
             "azcni_kubeconfig": str(tmp_path / "kubeconfig"), "azcni_system_pool": {"count": 1}}
    started = time.time()
    result = ansible(os.path.join(REPO, "playbooks", "vnet.yml"), extra_vars=extra,
                     inventory=os.path.join(REPO, "playbooks", "inventory"))
    assert result.rc == 0, result.stdout[-3000:]
    listed = ansible("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: every cluster\n"
                     "      azcni.cilium.aks_cilium_cluster_info: {}\n")
    assert listed.rc == 0, listed.stdout[-3000:]
    seen = {}
    for entry in emulator.requests(since=started):
        path = entry["path"]
        # operation status URLs come from the service's own headers, with the version it chose
        if not path.lower().startswith("/subscriptions/") or "/operations/" in path.lower() \
                or "/operationresults/" in path.lower():
            continue
        query = entry.get("query") or parse_qs(urlsplit(path).query)
        version = (query.get("api-version") or [""])[0]
        seen.setdefault((provider(path), version), []).append("%s %s" % (entry["method"], path))
    assert seen, "no ARM request was logged"
    wrong = {key: calls[:3] for key, calls in seen.items() if EXPECTED.get(key[0]) != key[1]}
    assert not wrong, "requests with another api-version than %s: %s" % (EXPECTED, wrong)
    assert {"microsoft.containerservice", "microsoft.network", None} <= {key[0] for key in seen}, seen.keys()
