"""The product against the upstream examples: the policy linter on every Cilium example policy, and the network
rules on Azure's own VNet example (a subnet used by a load balancer)."""

import json
import os
import pathlib

import pytest
import yaml

from ansible_collections.azcni.cilium.plugins.module_utils._aks import network_rules
from ansible_collections.azcni.cilium.plugins.module_utils._cilium import lint

from .conftest import REFERENCE

EXAMPLES = pathlib.Path(REFERENCE) / "cilium" / "examples"
VNET_GET = os.path.join(REFERENCE, "azure", "network", "2026-03-01", "examples", "VirtualNetworkGet.json")
# Examples whose findings are not simply "none": file (relative to EXAMPLES) -> expected check ids.
EXPECTED_EXAMPLE_FINDINGS = {
    "policies/l3/requires/requires.yaml": ["requires-removed"],
}
ACNS_CHECKS = {"l7-needs-acns", "fqdn-needs-acns"}
L7_ALLOWED = lint.LintContext(l7=True, fqdn=True, node_selector_labels=False)


def example_documents():
    docs = []
    for path in sorted(EXAMPLES.rglob("*.y*ml")):
        for index, doc in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
            if doc:
                docs.append(pytest.param(path.relative_to(EXAMPLES).as_posix(), doc, id="%s#%d" % (path.name, index)))
    return docs


def needs_acns(doc):
    """Independent of the linter: does the example use an L7 rule block or toFQDNs anywhere?"""
    text = yaml.safe_dump(doc)
    return "toFQDNs" in text or any(("%s:" % kind) in text for kind in ("http", "kafka", "dns", "l7proto"))


def checks(findings):
    return sorted(f["check"] for f in findings)


def test_the_examples_are_there():
    assert len(example_documents()) >= 20, "the Cilium example policies are missing from %s" % EXAMPLES


@pytest.mark.parametrize("relpath,doc", example_documents())
def test_every_reference_example(relpath, doc):
    findings = lint.lint_policy(doc, lint.NO_ACNS)
    if relpath in EXPECTED_EXAMPLE_FINDINGS:
        assert checks(findings) == sorted(EXPECTED_EXAMPLE_FINDINGS[relpath])
    elif needs_acns(doc):
        # L7 / FQDN examples must be flagged on a cluster without ACNS security...
        assert ACNS_CHECKS & set(checks(findings)), findings
        # ...and, apart from L7 in a cluster-wide policy, pass once ACNS L7 is on.
        remaining = lint.errors(lint.lint_policy(doc, L7_ALLOWED))
        assert {f["check"] for f in remaining} <= {"l7-in-ccnp"}, remaining
    else:
        assert findings == [], "plain L3/L4 example %s was flagged: %s" % (relpath, findings)


def test_reference_vnet_example_subnet_in_use():
    with open(VNET_GET, encoding="utf-8") as handle:
        vnet = json.load(handle)["responses"]["200"]["body"]
    subnet = vnet["properties"]["subnets"][0]
    assert network_rules.subnet_users(subnet) == ["IP configurations of Microsoft.Network/loadBalancers lb (resource group rg1)"]
    # and an unrelated change keeps the IP configurations as Azure returned them
    desired = network_rules.desired_vnet(vnet, "westus", ["10.0.0.0/16"], {"env": "dev"}, [])
    assert desired["properties"]["subnets"] == vnet["properties"]["subnets"]
    assert desired["properties"]["defaultPublicNatGateway"] == vnet["properties"]["defaultPublicNatGateway"]
