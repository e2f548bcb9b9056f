# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The policy linter: every upstream Cilium example, and a crafted bad policy for every check."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.azcni.cilium.plugins.module_utils._cilium import lint as cilium_lint

# (every upstream example policy is linted in tests/conformance/test_product_examples.py)
L7_ALLOWED = cilium_lint.LintContext(l7=True, fqdn=True, node_selector_labels=False)


def checks(findings):
    return sorted(f["check"] for f in findings)


def cnp(spec=None, specs=None, name="p", namespace="ns", kind=cilium_lint.CNP):
    obj = {"apiVersion": "cilium.io/v2", "kind": kind, "metadata": {"name": name}}
    if kind == cilium_lint.CNP:
        obj["metadata"]["namespace"] = namespace
    if spec is not None:
        obj["spec"] = spec
    if specs is not None:
        obj["specs"] = specs
    return obj


def rule(**fields):
    base = {"endpointSelector": {}}
    base.update(fields)
    return base


def http_port(protocol="TCP", port="80"):
    ports = {"port": port}
    if protocol:
        ports["protocol"] = protocol
    return {"ports": [ports], "rules": {"http": [{"method": "GET"}]}}


def dns_port(port="53", protocol="UDP", **extra):
    entry = dict({"port": port, "protocol": protocol}, **extra)
    return {"ports": [entry], "rules": {"dns": [{"matchPattern": "*"}]}}


PEER = {"matchLabels": {"app": "a"}}

# (id, policy, context, expected [(check, path)]) -- exactly these findings, nothing else.
CASES = [
    ("empty", cnp(), cilium_lint.NO_ACNS, [("empty-policy", "spec")]),
    ("empty-specs-list", cnp(specs=[]), cilium_lint.NO_ACNS, [("empty-policy", "spec")]),
    ("no-selector", cnp(spec={"ingress": [{"fromEndpoints": [PEER]}]}), cilium_lint.NO_ACNS, [("selector", "spec")]),
    ("both-selectors", cnp(spec=rule(nodeSelector={}, ingress=[{}]), kind=cilium_lint.CCNP), cilium_lint.NO_ACNS,
     [("selector", "spec")]),
    ("node-selector-in-cnp", cnp(spec={"nodeSelector": {}, "ingress": [{"fromEntities": ["cluster"]}]}),
     cilium_lint.NO_ACNS, [("node-selector-in-cnp", "spec.nodeSelector")]),
    ("no-direction", cnp(specs=[rule(ingress=[{}]), rule(description="nothing")]), cilium_lint.NO_ACNS,
     [("no-direction", "specs[1]")]),
    ("empty-direction-lists", cnp(spec=rule(ingress=[], egress=[])), cilium_lint.NO_ACNS, [("no-direction", "spec")]),
    ("l3-exclusive-ingress", cnp(spec=rule(ingress=[{"fromEndpoints": [PEER], "fromCIDR": ["10.0.0.0/8"]}])),
     cilium_lint.NO_ACNS, [("l3-exclusive", "spec.ingress[0]")]),
    ("l3-exclusive-egress-fqdn", cnp(spec=rule(egress=[{"toEndpoints": [PEER], "toFQDNs": [{"matchName": "a.b"}]}])),
     L7_ALLOWED, [("l3-exclusive", "spec.egress[0]")]),
    ("l3-split-is-fine", cnp(spec=rule(egress=[{"toEndpoints": [PEER]}, {"toCIDR": ["1.1.1.1/32"]}])),
     cilium_lint.NO_ACNS, []),
    ("to-services-with-to-ports", cnp(spec=rule(egress=[{
        "toServices": [{"k8sService": {"serviceName": "s", "namespace": "ns"}}],
        "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}]}])), cilium_lint.NO_ACNS,
     [("to-services-with-to-ports", "spec.egress[0]")]),
    ("icmps-with-to-ports", cnp(spec=rule(ingress=[{"icmps": [{"fields": [{"type": 8}]}],
                                                    "toPorts": [{"ports": [{"port": "80"}]}]}])),
     cilium_lint.NO_ACNS, [("icmps-with-to-ports", "spec.ingress[0]")]),
    ("from-nodes", cnp(spec=rule(ingress=[{"fromNodes": [PEER]}])), cilium_lint.NO_ACNS,
     [("node-selector-labels", "spec.ingress[0].fromNodes")]),
    ("from-nodes-enabled", cnp(spec=rule(ingress=[{"fromNodes": [PEER]}])),
     cilium_lint.LintContext(l7=False, fqdn=False, node_selector_labels=True), []),
    ("to-requires", cnp(spec=rule(egress=[{"toEndpoints": [PEER], "toRequires": [PEER]}])), cilium_lint.NO_ACNS,
     [("requires-removed", "spec.egress[0].toRequires")]),
    ("l7-multiple-types", cnp(spec=rule(egress=[{"toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}],
                                                              "rules": {"http": [{}], "kafka": [{}]}}]}])),
     L7_ALLOWED, [("l7-multiple-types", "spec.egress[0].toPorts[0].rules")]),
    ("l7-without-proto", cnp(spec=rule(egress=[{"toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}],
                                                             "rules": {"l7": [{"k": "v"}]}}]}])),
     L7_ALLOWED, [("l7-without-proto", "spec.egress[0].toPorts[0].rules.l7")]),
    ("dns-on-ingress", cnp(spec=rule(ingress=[{"toPorts": [dns_port()]}])), L7_ALLOWED,
     [("dns-on-ingress", "spec.ingress[0].toPorts[0].rules.dns")]),
    ("dns-wrong-port", cnp(spec=rule(egress=[{"toPorts": [dns_port(port="5353")]}])), L7_ALLOWED,
     [("dns-port", "spec.egress[0].toPorts[0].ports")]),
    ("dns-port-range", cnp(spec=rule(egress=[{"toPorts": [dns_port(endPort=60)]}])), L7_ALLOWED,
     [("dns-port", "spec.egress[0].toPorts[0].ports")]),
    ("dns-named-port", cnp(spec=rule(egress=[{"toPorts": [dns_port(port="domain")]}])), L7_ALLOWED,
     [("dns-port", "spec.egress[0].toPorts[0].ports")]),
    ("dns-no-ports", cnp(spec=rule(egress=[{"toPorts": [{"rules": {"dns": [{"matchName": "a.b"}]}}]}])), L7_ALLOWED,
     [("dns-port", "spec.egress[0].toPorts[0].ports")]),
    ("dns-ok-with-acns", cnp(spec=rule(egress=[{"toEndpoints": [PEER], "toPorts": [dns_port(protocol="ANY")]}])),
     cilium_lint.LintContext(l7=False, fqdn=True, node_selector_labels=False), []),
    ("l7-udp", cnp(spec=rule(ingress=[{"toPorts": [http_port(protocol="UDP")]}])), L7_ALLOWED,
     [("l7-not-tcp", "spec.ingress[0].toPorts[0].ports[0].protocol")]),
    ("l7-protocol-omitted-means-any", cnp(spec=rule(ingress=[{"toPorts": [http_port(protocol=None)]}])), L7_ALLOWED,
     [("l7-not-tcp", "spec.ingress[0].toPorts[0].ports[0].protocol")]),
    ("l7-in-host-policy", cnp(spec={"nodeSelector": {}, "ingress": [{"toPorts": [http_port()]}]}, kind=cilium_lint.CCNP),
     L7_ALLOWED, [("l7-in-host-policy", "spec.ingress[0].toPorts[0].rules.http"),
                  ("l7-in-ccnp", "spec.ingress[0].toPorts[0].rules.http")]),
    ("dns-in-host-policy", cnp(spec={"nodeSelector": {}, "egress": [{"toPorts": [dns_port()]}]}, kind=cilium_lint.CCNP),
     L7_ALLOWED, [("l7-in-host-policy", "spec.egress[0].toPorts[0].rules.dns")]),
    ("l7-in-ccnp-even-with-acns", cnp(specs=[rule(ingress=[{}]), rule(ingress=[{"toPorts": [http_port()]}])],
                                      kind=cilium_lint.CCNP),
     L7_ALLOWED, [("l7-in-ccnp", "specs[1].ingress[0].toPorts[0].rules.http")]),
    ("http-needs-acns", cnp(specs=[rule(ingress=[{}]), rule(egress=[{"toPorts": [http_port()]}])]), cilium_lint.NO_ACNS,
     [("l7-needs-acns", "specs[1].egress[0].toPorts[0].rules.http")]),
    ("kafka-needs-acns-l7-not-fqdn", cnp(spec=rule(ingress=[{"toPorts": [{
        "ports": [{"port": "9092", "protocol": "TCP"}], "rules": {"kafka": [{"topic": "t"}]}}]}])),
     cilium_lint.LintContext(l7=False, fqdn=True, node_selector_labels=False),
     [("l7-needs-acns", "spec.ingress[0].toPorts[0].rules.kafka")]),
    ("l7proto-needs-acns", cnp(spec=rule(ingress=[{"toPorts": [{
        "ports": [{"port": "6379", "protocol": "TCP"}], "rules": {"l7proto": "r2d2", "l7": [{"cmd": "READ"}]}}]}])),
     cilium_lint.NO_ACNS, [("l7-needs-acns", "spec.ingress[0].toPorts[0].rules.l7proto")]),
    ("fqdn-needs-acns", cnp(spec=rule(egress=[{"toFQDNs": [{"matchName": "api.example.com"}]},
                                              {"toEndpoints": [PEER], "toPorts": [dns_port()]}])),
     cilium_lint.NO_ACNS, [("fqdn-needs-acns", "spec.egress[0].toFQDNs"),
                           ("fqdn-needs-acns", "spec.egress[1].toPorts[0].rules.dns")]),
    ("deny-rules-are-not-l3-checked", cnp(spec=rule(ingressDeny=[{"fromEntities": ["world"],
                                                                  "fromCIDR": ["1.2.3.4/32"]}])),
     cilium_lint.NO_ACNS, []),
]


@pytest.mark.parametrize("policy,context,expected", [pytest.param(p, c, e, id=i) for i, p, c, e in CASES])
def test_crafted_policy(policy, context, expected):
    findings = cilium_lint.lint_policy(policy, context)
    assert sorted((f["check"], f["path"]) for f in findings) == sorted(expected)


def test_every_check_has_a_crafted_failing_case():
    covered = {check for _id, _p, _c, expected in CASES for check, _path in expected}
    acns_checks = {"dns-allow-localdns", "cidr-selects-cluster", "flow-log-dns-needs-fqdn"}  # cases in test_acns.py
    assert covered | acns_checks == set(cilium_lint.CHECKS)


def test_finding_names_the_policy_and_is_readable():
    policy = cnp(spec=rule(egress=[{"toPorts": [http_port()]}]), name="api", namespace="shop")
    (finding,) = cilium_lint.lint_policy(policy)
    assert finding["policy"] == "CiliumNetworkPolicy/shop/api"
    assert (finding["kind"], finding["namespace"], finding["name"]) == ("CiliumNetworkPolicy", "shop", "api")
    assert finding["severity"] == "error"
    assert cilium_lint.format_finding(finding) == (
        "CiliumNetworkPolicy/shop/api: spec.egress[0].toPorts[0].rules.http: %s [l7-needs-acns]"
        % cilium_lint.CHECKS["l7-needs-acns"][1])


def test_cluster_wide_policy_has_no_namespace_in_its_name():
    policy = cnp(spec=rule(ingress=[{"toPorts": [http_port()]}]), kind=cilium_lint.CCNP, name="wide")
    policy["metadata"]["namespace"] = "ignored"
    findings = cilium_lint.lint_policy(policy, L7_ALLOWED)
    assert [f["policy"] for f in findings] == ["CiliumClusterwideNetworkPolicy/wide"]
    assert findings[0]["namespace"] is None


def test_warnings_do_not_count_as_errors():
    findings = cilium_lint.lint_policy(cnp(spec=rule(ingress=[{"fromRequires": [PEER]}])))
    assert checks(findings) == ["requires-removed"]
    assert cilium_lint.errors(findings) == []


def test_lint_does_not_modify_the_policy():
    policy = cnp(spec=rule(egress=[{"toPorts": [dns_port(port="54")]}]))
    before = copy.deepcopy(policy)
    cilium_lint.lint_policies([policy, policy])
    assert policy == before


@pytest.mark.parametrize("data,expected", [
    (None, (False, False, False)),
    ({"enable-l7-proxy": "false"}, (False, False, False)),
    ({"enable-l7-proxy": "true"}, (False, True, False)),  # the proxies, no Envoy: FQDN only
    ({"enable-l7-proxy": "true", "external-envoy-proxy": "true"}, (True, True, False)),
    ({"enable-l7-proxy": "True", "external-envoy-proxy": "true", "enable-node-selector-labels": "true"}, (True, True, True)),
    ({"enable-l7-proxy": "false", "enable-standalone-dns-proxy": "true"}, (False, True, False)),
])
def test_context_from_cilium_config(data, expected):
    assert tuple(cilium_lint.context_from_cilium_config(data))[:3] == expected


@pytest.mark.parametrize("setting,expected", [("none", (False, False)), ("fqdn", (False, True)), ("l7", (True, True))])
def test_context_from_setting(setting, expected):
    context = cilium_lint.context_from_setting(setting)
    assert (context.l7, context.fqdn) == expected


@pytest.mark.parametrize("policy,expected", [
    (cnp(spec=rule(ingress=[{"fromEndpoints": [PEER], "toPorts": [{"ports": [{"port": "80"}]}]}])), False),
    (cnp(spec=rule(egress=[{"toFQDNs": [{"matchName": "a.b"}]}])), True),
    (cnp(specs=[rule(egress=[{}]), rule(egress=[{"toPorts": [dns_port()]}])]), True),
    (cnp(spec=rule(ingress=[{"fromNodes": [PEER]}])), True),
])
def test_uses_cluster_features(policy, expected):
    assert bool(cilium_lint.uses_cluster_features([policy])) is expected
