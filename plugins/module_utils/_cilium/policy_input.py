# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading ``cilium_policy``'s input: ``definition`` (dict, list or YAML text) and ``src`` (a file,
multi-document, or a directory of ``*.yml``/``*.yaml``), every object checked before anything is sent.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import copy
import os
import re

from ansible_collections.azcni.cilium.plugins.module_utils._cilium import lint
from ansible_collections.azcni.cilium.plugins.module_utils._k8s.resources import namespaced, path

API_VERSION = "cilium.io/v2"


KINDS = (lint.CNP, lint.CCNP, lint.CNL)
# kind -> the apiVersion this module manages it in
API_VERSIONS = {lint.CNP: API_VERSION, lint.CCNP: API_VERSION, lint.CNL: lint.CNL_API_VERSION}


# Set by the server; dropped from input (an exported object would otherwise pin a resourceVersion)
# and from diffs.
SERVER_METADATA = ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink",
                   "deletionTimestamp", "deletionGracePeriodSeconds")


LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")


class PolicyInputError(Exception):
    """The input cannot be applied; ``errors`` lists every problem found (nothing was sent)."""

    def __init__(self, errors):
        super(PolicyInputError, self).__init__("; ".join(errors))
        self.errors = errors


class Policy(object):
    """One desired (or live) policy: identity plus the object to apply."""

    __slots__ = ("kind", "namespace", "name", "body", "source")

    def __init__(self, kind, namespace, name, body, source=None):
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.body = body
        self.source = source

    @property
    def key(self):
        return (self.kind, self.namespace or "", self.name)

    @property
    def ref(self):
        return lint.policy_ref(self.kind, self.namespace, self.name)

    @property
    def path(self):
        return path(self.kind, self.namespace, self.name)

    def identity(self):
        return dict(kind=self.kind, namespace=self.namespace, name=self.name)


def load_documents(definition=None, src=None):
    """(source, document) pairs from ``definition`` and ``src``; None documents are skipped.

    ``definition``: a dict, a list of dicts, or YAML text (multi-document allowed).
    ``src``: a YAML file (multi-document allowed) or a directory, whose ``*.yml``/``*.yaml`` files are
    read in name order (not recursively, like ``kubectl apply -f DIR``). ``kind: List`` is unwrapped.
    """
    documents = []
    if isinstance(definition, str):
        documents.extend(_yaml_documents(definition, "definition"))
    elif isinstance(definition, dict):
        documents.append(("definition", definition))
    elif definition is not None:
        documents.extend(("definition[%d]" % index, doc) for index, doc in enumerate(definition))
    if src:
        for filename in _source_files(src):
            with open(filename, "r", encoding="utf-8") as stream:
                documents.extend(_yaml_documents(stream.read(), filename))
    return [(source, doc) for source, doc in _unwrap_lists(documents) if doc is not None]


def _source_files(src):
    if os.path.isdir(src):
        names = sorted(n for n in os.listdir(src) if n.endswith((".yml", ".yaml")) and not n.startswith("."))
        return [os.path.join(src, name) for name in names if os.path.isfile(os.path.join(src, name))]
    if not os.path.exists(src):
        raise PolicyInputError(["src %s does not exist" % src])
    return [src]


def _yaml_documents(text, source):
    import yaml  # lazy: only needed for YAML input

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is ~10x faster on 1,000 files
    try:
        docs = list(yaml.load_all(text, Loader=loader))  # nosec B506 - a safe loader
    except yaml.YAMLError as exc:
        raise PolicyInputError(["%s: not valid YAML: %s" % (source, exc)])
    if len(docs) == 1:
        return [(source, docs[0])]
    return [("%s#%d" % (source, index), doc) for index, doc in enumerate(docs)]


def _unwrap_lists(documents):
    for source, doc in documents:
        if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            for index, item in enumerate(doc["items"]):
                yield "%s.items[%d]" % (source, index), item
        else:
            yield source, doc


def build_policies(documents, default_namespace=None):
    """Validate documents into Policy objects; raise PolicyInputError listing every problem."""
    policies, errors, seen = [], [], {}
    for source, doc in documents:
        policy, problem = _to_policy(source, doc, default_namespace)
        if problem:
            errors.append("%s: %s" % (source, problem))
        elif policy.key in seen:
            errors.append("%s: %s is also defined in %s" % (source, policy.ref, seen[policy.key]))
        else:
            seen[policy.key] = source
            policies.append(policy)
    if errors:
        raise PolicyInputError(errors)
    return policies


def _to_policy(source, doc, default_namespace):
    """(Policy, None) or (None, problem)."""
    if not isinstance(doc, dict):
        return None, "expected a mapping (a Kubernetes object), got %s" % type(doc).__name__
    kind, api_version = doc.get("kind"), doc.get("apiVersion")
    if kind not in KINDS or api_version != API_VERSIONS[kind]:
        return None, ("only %s and %s of apiVersion %s and %s of apiVersion %s are managed by this module, got kind %r "
                      "apiVersion %r" % (lint.CNP, lint.CCNP, API_VERSION, lint.CNL, lint.CNL_API_VERSION, kind, api_version))
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict) or not metadata.get("name") or not isinstance(metadata["name"], str):
        return None, "%s without metadata.name" % kind
    name = metadata["name"]
    if namespaced(kind):
        namespace = metadata.get("namespace") or default_namespace
        if not namespace:
            return None, "%s %s has no metadata.namespace and no namespace option was given" % (kind, name)
    else:
        namespace = None
        if metadata.get("namespace"):
            return None, "%s %s is cluster-scoped but sets metadata.namespace" % (kind, name)
    body = {key: copy.deepcopy(value) for key, value in doc.items() if key != "status"}
    body["metadata"] = {key: value for key, value in body["metadata"].items() if key not in SERVER_METADATA}
    if namespace:
        body["metadata"]["namespace"] = namespace
    return Policy(kind, namespace, name, body, source), None


def check_label_value(value, what):
    """Raise PolicyInputError unless ``value`` is a valid Kubernetes label value."""
    if not isinstance(value, str) or not value or not LABEL_VALUE.match(value):
        raise PolicyInputError(["%s must be a valid label value (up to 63 letters, digits, '-', '_', '.', "
                                "starting and ending with a letter or digit), got %r" % (what, value)])
