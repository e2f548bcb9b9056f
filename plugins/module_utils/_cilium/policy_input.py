# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading ``cilium_policy``'s input: ``definition`` (dict, list or YAML text) and ``src`` (a file,
multi-document, or a directory of ``*.yml``/``*.yaml``), every object checked before anything is sent.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import copy
import json
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
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")  # RFC 1123 subdomain: object names
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")         # RFC 1123 label: namespace names
PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$")         # IANA service name (at most 15, a letter)

# Reading bounds: larger inputs are refused with the file named, before any parsing.
MAX_INPUT_BYTES = 8 * 1024 * 1024     # one file, or the definition text
MAX_ALIAS_NODES = 100000              # YAML nodes after alias expansion (a "billion laughs" file stays small)
MAX_OBJECT_BYTES = 1536 * 1024        # what etcd stores per object (1.5 MiB); the apiserver refuses more


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
        if len(definition.encode("utf-8")) > MAX_INPUT_BYTES:
            raise PolicyInputError(["definition: the text is larger than %d MiB" % (MAX_INPUT_BYTES // 1048576)])
        documents.extend(_yaml_documents(definition, "definition"))
    elif isinstance(definition, dict):
        documents.append(("definition", definition))
    elif isinstance(definition, list):
        documents.extend(("definition[%d]" % index, doc) for index, doc in enumerate(definition))
    elif definition is not None:
        raise PolicyInputError(["definition must be a policy (a dictionary), a list of policies or YAML text, got %s %r"
                                % (type(definition).__name__, definition)])
    if src:
        for filename in _source_files(src):
            documents.extend(_yaml_documents(read_text(filename), filename))
    return [(source, doc) for source, doc in _unwrap_lists(documents) if doc is not None]


def read_text(filename):
    """A policy file's text: bounded in size and strictly UTF-8, or a PolicyInputError naming the file."""
    try:
        size = os.path.getsize(filename)
        if size > MAX_INPUT_BYTES:
            raise PolicyInputError(["%s: the file is %.1f MiB, more than the %d MiB a policy file may have"
                                    % (filename, size / 1048576.0, MAX_INPUT_BYTES // 1048576)])
        with open(filename, "rb") as stream:
            data = stream.read(MAX_INPUT_BYTES + 1)
    except (IOError, OSError) as exc:
        raise PolicyInputError(["%s: cannot be read: %s" % (filename, exc)])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyInputError(["%s: not UTF-8 text (byte 0x%02x at offset %d); save it as UTF-8"
                                % (filename, data[exc.start], exc.start)])


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
        if "&" in text and "*" in text:  # anchors and aliases: bound what they expand to before building it
            for node in yaml.compose_all(text, Loader=loader):
                if node is not None and _expanded_size(node, {}) > MAX_ALIAS_NODES:
                    raise PolicyInputError(["%s: its YAML aliases expand to more than %d nodes; refusing to load it "
                                            "(a 'billion laughs' document)" % (source, MAX_ALIAS_NODES)])
        docs = list(yaml.load_all(text, Loader=loader))  # nosec B506 - a safe loader
    except yaml.YAMLError as exc:
        raise PolicyInputError(["%s: not valid YAML: %s" % (source, exc)])
    if len(docs) == 1:
        return [(source, docs[0])]
    return [("%s#%d" % (source, index), doc) for index, doc in enumerate(docs)]


def _expanded_size(node, sizes):
    """How many nodes a composed YAML node stands for once every alias is expanded (memoized per node)."""
    key = id(node)
    if key not in sizes:
        sizes[key] = 1  # a recursive alias counts once instead of looping
        value = node.value if isinstance(node.value, list) else []
        children = [child for item in value for child in (item if isinstance(item, tuple) else (item,))]
        sizes[key] = 1 + sum(_expanded_size(child, sizes) for child in children)
    return sizes[key]


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
    if not DNS_SUBDOMAIN.match(name):
        return None, ("metadata.name %r is not a valid object name: lower-case letters, digits, '-' and '.', starting "
                      "and ending with a letter or digit, at most 253 characters (RFC 1123)" % name)
    if namespaced(kind):
        namespace = metadata.get("namespace") or default_namespace
        if not namespace:
            return None, "%s %s has no metadata.namespace and no namespace option was given" % (kind, name)
        if not isinstance(namespace, str) or not DNS_LABEL.match(namespace):
            return None, ("%s %s: namespace %r is not a valid namespace name (RFC 1123 label: lower-case letters, "
                          "digits and '-', at most 63 characters)" % (kind, name, namespace))
    else:
        namespace = None
        if metadata.get("namespace"):
            return None, "%s %s is cluster-scoped but sets metadata.namespace" % (kind, name)
    problem = object_problem(kind, name, doc)
    if problem:
        return None, problem
    body = {key: copy.deepcopy(value) for key, value in doc.items() if key != "status"}
    body["metadata"] = {key: value for key, value in body["metadata"].items() if key not in SERVER_METADATA}
    if namespace:
        body["metadata"]["namespace"] = namespace
    return Policy(kind, namespace, name, body, source), None


def object_problem(kind, name, doc):
    """What the API server (or etcd) would refuse, or accept wrongly, in one policy; None when fine."""
    where = "%s %s" % (kind, name)
    if "spec" in doc and not isinstance(doc["spec"], dict) or "specs" in doc and not isinstance(doc["specs"], list):
        return "%s: spec must be a mapping (specs a list of them)" % where
    metadata = doc["metadata"]
    for key in ("labels", "annotations"):
        value = metadata.get(key)
        if value is not None and (not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values())):
            return "%s: metadata.%s must map names to strings" % (where, key)
    for label, value in (metadata.get("labels") or {}).items():
        if not LABEL_NAME.match(str(label).rsplit("/", 1)[-1]) or not LABEL_VALUE.match(value):
            return "%s: metadata.labels %s=%r is not a valid label" % (where, label, value)
    size = len(json.dumps(doc, default=str))
    if size > MAX_OBJECT_BYTES:
        return "%s is %.1f MiB; the API server stores at most 1.5 MiB per object" % (where, size / 1048576.0)
    return port_problem(where, doc)


def port_problem(where, doc):
    """Ports in toPorts must be 0-65535 (0: all) or a service name; endPort at least port, at most 65535.

    Cilium's CRD pattern lets "99999" through (its numeric branch matches the first four digits), so this is
    checked here, before the server.
    """
    specs = [doc.get("spec")] + list(doc.get("specs") or [])
    for spec in [s for s in specs if isinstance(s, dict)]:
        for direction in ("ingress", "egress", "ingressDeny", "egressDeny"):
            for rule_index, rule in enumerate(spec.get(direction) or []):
                for to_ports in (rule.get("toPorts") or []) if isinstance(rule, dict) else []:
                    for port in (to_ports.get("ports") or []) if isinstance(to_ports, dict) else []:
                        problem = _one_port(port) if isinstance(port, dict) else "a port must be a mapping"
                        if problem:
                            return "%s: spec.%s[%d].toPorts: %s" % (where, direction, rule_index, problem)
    return None


def _one_port(port):
    text = str(port.get("port", "0"))
    if text.isdigit():
        number = int(text)
        if number > 65535:
            return "port %s is out of range (0-65535)" % text
    elif not (PORT_NAME.match(text) and any(c.isalpha() for c in text)):
        return "port %r is neither a number 0-65535 nor a service name" % text
    else:
        number = None
    end = port.get("endPort")
    if end is not None:
        if not isinstance(end, int) or isinstance(end, bool) or not 0 <= end <= 65535:
            return "endPort %r is out of range (0-65535)" % (end,)
        if number is not None and end < number:
            return "endPort %d is below port %d" % (end, number)
    return None


def check_label_value(value, what):
    """Raise PolicyInputError unless ``value`` is a valid Kubernetes label value."""
    if not isinstance(value, str) or not value or not LABEL_VALUE.match(value):
        raise PolicyInputError(["%s must be a valid label value (up to 63 letters, digits, '-', '_', '.', "
                                "starting and ending with a letter or digit), got %r" % (what, value)])
