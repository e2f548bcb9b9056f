"""The ACNS example of the 2026-08-01 API (WireGuard transit encryption) round-trips through the lab with
the values the example's response shows (test_arm_examples.py checks every example's shape only)."""

import copy
import json
import os

from tests.emulator_tests.conftest import group, unique  # noqa: F401  pylint: disable=unused-import
from tests.emulator_tests.test_arm_acns import advanced, arm  # noqa: F401  pylint: disable=unused-import

from .conftest import REFERENCE

EXAMPLE = os.path.join(REFERENCE, "azure", "containerservice", "2026-08-01", "examples",
                       "AdvancedNetworkingTransitEncryption.json")


def test_the_transit_encryption_example_round_trips(arm):
    with open(EXAMPLE, encoding="utf-8") as handle:
        example = json.load(handle)
    body = copy.deepcopy(example["parameters"]["parameters"])
    body["properties"].pop("kubernetesVersion")
    body["location"] = "westeurope"  # the example's "location1" is no region a subscription has
    stored = arm(unique("wg"), body)
    assert advanced(stored) == example["responses"]["200"]["body"]["properties"]["networkProfile"]["advancedNetworking"]
