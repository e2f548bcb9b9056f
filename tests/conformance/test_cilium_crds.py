"""Our Cilium CRDs (tests/emulator/k8s/cilium_crds.py) against the upstream ones, field by field, and every
upstream example policy applied to an emulated cluster under kubectl's Strict field validation.

The comparison walks both schemas and lists, per field path, every structural fact the apiserver acts on
(type, format, enum, pattern, bounds, required, default, list/map types, int-or-string, oneOf/anyOf);
descriptions are documentation and are left out. A field upstream has and we lack, or a fact that differs,
fails the test; so does a field only we have, unless it is listed in OURS_ONLY with its reason.
"""

import glob
import json
import os

import pytest
import yaml

from tests.emulator.k8s import cilium_crds
from tests.emulator_tests.k8s_fixtures import policy_path, raw_request

from .conftest import REFERENCE

UPSTREAM = os.path.join(REFERENCE, "cilium", "crds", "v2")
EXAMPLES = os.path.join(REFERENCE, "cilium", "examples")
POLICY_KINDS = ("ciliumnetworkpolicies", "ciliumclusterwidenetworkpolicies")
# Fields we serve that the upstream snapshot (Cilium 1.19.0-dev) no longer has, with the reason.
OURS_ONLY = {
    field: "removed upstream in Cilium 1.19 (c98e572b); AKS runs Cilium 1.14 to 1.18, whose CRDs have it"
    for rule in (".spec", ".specs[]") for field in (rule + ".ingress[].fromRequires", rule + ".ingressDeny[].fromRequires",
                                                    rule + ".egress[].toRequires", rule + ".egressDeny[].toRequires")
}
# What the examples meet under fieldValidation=Strict on an AKS cluster's CRDs.
STRICT_REJECTS = {
    "auth/auth.yaml": 'strict decoding error: unknown field "spec.egress[0].auth"',  # renamed to authentication in 1.14
}


def facts(schema):
    """The structural facts of one schema node, without its children and its documentation."""
    found = {key: value for key, value in schema.items()
             if key not in ("description", "properties", "items", "additionalProperties", "oneOf", "anyOf")}
    for key in ("oneOf", "anyOf"):
        if key in schema:
            found[key] = sorted(repr(sorted((alt.get("required") or [])) or alt) for alt in schema[key])
    if "required" in found:
        found["required"] = sorted(found["required"])
    if isinstance(schema.get("additionalProperties"), bool):
        found["additionalProperties"] = schema["additionalProperties"]
    return found


def flatten(schema, path="", into=None):
    """{field path: facts} for a schema and everything below it (".spec.ingress[].toPorts[].ports[].port")."""
    into = {} if into is None else into
    into[path or "."] = facts(schema)
    for name, child in sorted((schema.get("properties") or {}).items()):
        flatten(child, "%s.%s" % (path, name), into)
    if isinstance(schema.get("items"), dict):
        flatten(schema["items"], path + "[]", into)
    if isinstance(schema.get("additionalProperties"), dict):
        flatten(schema["additionalProperties"], path + "{}", into)
    return into


def differences(ours, theirs):
    ours_flat, theirs_flat = flatten(ours), flatten(theirs)
    problems = ["%s: missing (upstream %r)" % (path, theirs_flat[path]) for path in theirs_flat if path not in ours_flat]
    problems += ["%s: not upstream" % path for path in ours_flat
                 if path not in theirs_flat and not any(path.startswith(extra) for extra in OURS_ONLY)]
    problems += ["%s: ours %r, upstream %r" % (path, ours_flat[path], theirs_flat[path])
                 for path in theirs_flat if path in ours_flat and ours_flat[path] != theirs_flat[path]]
    return problems


def upstream(plural):
    with open(os.path.join(UPSTREAM, plural + ".yaml"), encoding="utf-8") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def ours(plural):
    return next(doc for doc in cilium_crds.crd_documents() if doc["spec"]["names"]["plural"] == plural)


def served(crd):
    (version,) = crd["spec"]["versions"]
    return version


@pytest.mark.parametrize("plural", POLICY_KINDS)
def test_our_policy_schema_matches_upstream_field_by_field(plural):
    theirs, mine = upstream(plural), ours(plural)
    problems = differences(served(mine)["schema"]["openAPIV3Schema"], served(theirs)["schema"]["openAPIV3Schema"])
    assert problems == []
    assert len(flatten(served(theirs)["schema"]["openAPIV3Schema"])) > 600  # the walk really covers the rule type


@pytest.mark.parametrize("plural", POLICY_KINDS)
def test_our_policy_crd_has_upstreams_names_scope_and_columns(plural):
    theirs, mine = upstream(plural), ours(plural)
    assert mine["metadata"]["name"] == theirs["metadata"]["name"]
    assert {k: v for k, v in mine["spec"].items() if k != "versions"} == {
        k: v for k, v in theirs["spec"].items() if k != "versions"}
    assert {k: v for k, v in served(mine).items() if k != "schema"} == {
        k: v for k, v in served(theirs).items() if k != "schema"}


def test_the_comparison_sees_a_missing_field_a_changed_fact_and_an_extra_field():
    theirs = served(upstream("ciliumnetworkpolicies"))["schema"]["openAPIV3Schema"]
    mine = json.loads(json.dumps(served(ours("ciliumnetworkpolicies"))["schema"]["openAPIV3Schema"]))  # no shared parts
    rule = mine["properties"]["spec"]["properties"]
    del rule["log"]["properties"]["value"]
    rule["ingress"]["items"]["properties"]["toPorts"]["items"]["properties"]["ports"]["maxItems"] = 41
    rule["enableDefaultDeny"]["properties"]["both"] = {"type": "boolean"}
    rule["endpointSelector"]["oneOf"] = [{"required": ["matchLabels"]}]
    assert sorted(p.split(":")[0] for p in differences(mine, theirs)) == [
        ".spec.enableDefaultDeny.both", ".spec.endpointSelector", ".spec.ingress[].toPorts[].ports", ".spec.log.value"]


def example_documents():
    found = []
    for path in sorted(glob.glob(os.path.join(EXAMPLES, "**", "*.yaml"), recursive=True)):
        with open(path, encoding="utf-8") as handle:
            for doc in yaml.safe_load_all(handle):
                if doc:
                    found.append((os.path.relpath(path, os.path.join(EXAMPLES, "policies")), doc))
    return found


def test_every_example_policy_is_judged_as_an_aks_cluster_judges_it(k8s_cluster):
    documents = example_documents()
    assert len(documents) >= 20
    for namespace in {d["metadata"].get("namespace") for _unused, d in documents} - {None}:
        raw_request(k8s_cluster, "POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
    outcomes = {}
    for name, doc in documents:
        status, body, _unused = raw_request(k8s_cluster, "POST", policy_path(doc) + "?fieldValidation=Strict", doc)
        outcomes.setdefault(name, []).append((status, body.get("message") if status >= 400 else None))
    rejected = {name: result[0][1] for name, result in outcomes.items() if result[0][0] != 201}
    assert rejected == STRICT_REJECTS
    assert all(status == 201 for name, result in outcomes.items() if name not in STRICT_REJECTS for status, _unused in result)


def test_examples_with_fields_aks_still_has_keep_them(k8s_cluster):
    (_unused, doc), = [(n, d) for n, d in example_documents() if n == "l3/requires/requires.yaml"]
    status, body, headers = raw_request(k8s_cluster, "POST", policy_path(doc), doc)
    assert status == 201 and body["specs"][0]["ingress"][0]["fromRequires"] and "Warning" not in headers
