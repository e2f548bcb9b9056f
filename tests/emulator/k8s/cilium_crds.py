"""The Cilium CRDs the emulator serves: the project's own structural schemas, written from the Cilium API.

CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy are complete: every field of Cilium's Rule type
(pkg/policy/api) with its type, enum, pattern, format, bounds and the oneOf/anyOf constraints the
apiserver enforces, so that a typo or a bad value is refused exactly as on a cluster. The kinds the agent
and operator own carry their names, scope, short names and printer columns, and the fields clients read.

The set is the one `kubectl api-resources | grep cilium` lists on an AKS cluster (Cilium 1.17), with
fromRequires/toRequires, which Cilium keeps up to 1.18 (AKS runs 1.14 to 1.18; upstream main dropped them).
tests/conformance compares these schemas with the upstream CRDs field by field when ../shared is there.
"""

import copy

ATOMIC_LIST = {"x-kubernetes-list-type": "atomic"}
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
PORT = r"^(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})|([a-zA-Z0-9]-?)*[a-zA-Z](-?[a-zA-Z0-9])*$"
ICMP_TYPES = ("EchoReply|DestinationUnreachable|Redirect|Echo|RouterAdvertisement|RouterSelection|TimeExceeded|"
              "ParameterProblem|Timestamp|TimestampReply|Photuris|ExtendedEchoRequest|ExtendedEcho Reply|PacketTooBig|"
              "ParameterProblem|EchoRequest|MulticastListenerQuery|MulticastListenerReport|MulticastListenerDone|"
              "RouterSolicitation|RouterAdvertisement|NeighborSolicitation|NeighborAdvertisement|RedirectMessage|"
              "RouterRenumbering|ICMPNodeInformationQuery|ICMPNodeInformationResponse|"
              "InverseNeighborDiscoverySolicitation|InverseNeighborDiscoveryAdvertisement|"
              "HomeAgentAddressDiscoveryRequest|HomeAgentAddressDiscoveryReply|MobilePrefixSolicitation|"
              "MobilePrefixAdvertisement|DuplicateAddressRequestCodeSuffix|DuplicateAddressConfirmationCodeSuffix")
ENTITIES = ["all", "world", "cluster", "host", "init", "ingress", "unmanaged", "remote-node", "health", "none",
            "kube-apiserver"]
PROTOCOLS = ["TCP", "UDP", "SCTP", "VRRP", "IGMP", "ANY"]


# ---------------------------------------------------------------- schema builders

def string(**facts):
    return dict(type="string", **facts)


def integer(**facts):
    return dict(type="integer", **facts)


def boolean(**facts):
    return dict(type="boolean", **facts)


def array(items, **facts):
    return dict(type="array", items=items, **facts)


def obj(properties=None, required=(), **facts):
    schema = {"type": "object"}
    if properties:
        schema["properties"] = properties
    if required:
        schema["required"] = list(required)
    schema.update(facts)
    return schema


def string_map(**value):
    return obj(additionalProperties=string(**value))


def open_object(**facts):
    """A part the emulator does not need to know field by field (the agent's own bookkeeping)."""
    return obj(**{"x-kubernetes-preserve-unknown-fields": True}, **facts)


def exactly_one_of(*names):
    return [{"properties": {name: {}}, "required": [name]} for name in names]


# ---------------------------------------------------------------- shared definitions

CIDR = string(format="cidr")
LABEL_SELECTOR = obj({  # Cilium's EndpointSelector: a metav1.LabelSelector with validated label values
    "matchExpressions": array(obj({"key": string(), "operator": string(enum=["In", "NotIn", "Exists", "DoesNotExist"]),
                                   "values": array(string(), **ATOMIC_LIST)}, ["key", "operator"]), **ATOMIC_LIST),
    "matchLabels": string_map(maxLength=63, pattern=LABEL_VALUE),
}, **{"x-kubernetes-map-type": "atomic"})
SELECTORS = array(LABEL_SELECTOR)
CIDR_RULE = obj({"cidr": CIDR, "cidrGroupRef": string(maxLength=253, pattern=DNS1123_SUBDOMAIN),
                 "cidrGroupSelector": LABEL_SELECTOR, "except": array(CIDR)},
                oneOf=exactly_one_of("cidr", "cidrGroupRef", "cidrGroupSelector"))
ICMP_RULES = array(obj({"fields": array(obj({
    "family": string(default="IPv4", enum=["IPv4", "IPv6"]),
    "type": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True,
             "pattern": "^([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]|%s)$" % ICMP_TYPES},
}, ["type"]), maxItems=40)}))
FQDN_SELECTORS = array(obj({"matchName": string(maxLength=255, pattern=r"^([-a-zA-Z0-9_]+[.]?)+$"),
                            "matchPattern": string(maxLength=255, pattern=r"^([-a-zA-Z0-9_*]+[.]?)+$")},
                           oneOf=exactly_one_of("matchName", "matchPattern")))
GROUPS = array(obj({"aws": obj({"labels": string_map(), "region": string(), "securityGroupsIds": array(string()),
                                "securityGroupsNames": array(string())})}))
PORT_PROTOCOL = obj({"endPort": integer(format="int32", maximum=65535, minimum=0), "port": string(pattern=PORT),
                     "protocol": string(enum=PROTOCOLS)})
SECRET = obj({"name": string(), "namespace": string()}, ["name"])
TLS_CONTEXT = obj({"certificate": string(), "privateKey": string(), "secret": SECRET, "trustedCA": string()}, ["secret"])
HTTP_RULES = array(obj({
    "headerMatches": array(obj({"mismatch": string(enum=["LOG", "ADD", "DELETE", "REPLACE"]), "name": string(minLength=1),
                                "secret": SECRET, "value": string()}, ["name"])),
    "headers": array(string()), "host": string(format="idn-hostname"), "method": string(), "path": string(),
}))
KAFKA_RULES = array(obj({"apiKey": string(), "apiVersion": string(), "clientID": string(),
                         "role": string(enum=["produce", "consume"]), "topic": string(maxLength=255)}))
L7_RULES = obj({"dns": FQDN_SELECTORS, "http": HTTP_RULES, "kafka": KAFKA_RULES, "l7": array(string_map()),
                "l7proto": string()}, oneOf=exactly_one_of("http", "kafka", "dns", "l7proto"))
PORT_RULES = array(obj({
    "listener": obj({"envoyConfig": obj({"kind": string(enum=["CiliumEnvoyConfig", "CiliumClusterwideEnvoyConfig"]),
                                         "name": string(minLength=1)}, ["name"]),
                     "name": string(minLength=1), "priority": integer(maximum=100, minimum=1)}, ["envoyConfig", "name"]),
    "originatingTLS": TLS_CONTEXT,
    "ports": array(PORT_PROTOCOL, maxItems=40),
    "rules": L7_RULES,
    "serverNames": array(string(maxLength=255, pattern=r"^(\*?\*\.)?([-a-zA-Z0-9_]+\.?)+$"), minItems=1,
                         **{"x-kubernetes-list-type": "set"}),
    "terminatingTLS": TLS_CONTEXT,
}))
PORT_DENY_RULES = array(obj({"ports": array(PORT_PROTOCOL)}))  # no L7 and no port limit in deny rules
SERVICES = array(obj({"k8sService": obj({"namespace": string(), "serviceName": string()}),
                      "k8sServiceSelector": obj({"namespace": string(), "selector": LABEL_SELECTOR}, ["selector"])}))
AUTHENTICATION = obj({"mode": string(enum=["disabled", "required", "test-always-fail"])}, ["mode"])


def peers(direction):
    """The L3 peer fields of one direction ("from" for ingress, "to" for egress)."""
    return {direction + "CIDR": array(CIDR), direction + "CIDRSet": array(CIDR_RULE), direction + "Endpoints": SELECTORS,
            direction + "Entities": array(string(enum=ENTITIES)), direction + "Groups": GROUPS,
            direction + "Nodes": SELECTORS, direction + "Requires": SELECTORS, "icmps": ICMP_RULES}


INGRESS = obj(dict(peers("from"), authentication=AUTHENTICATION, toPorts=PORT_RULES))
INGRESS_DENY = obj(dict(peers("from"), toPorts=PORT_DENY_RULES))
EGRESS = obj(dict(peers("to"), authentication=AUTHENTICATION, toFQDNs=FQDN_SELECTORS, toPorts=PORT_RULES,
                  toServices=SERVICES))
EGRESS_DENY = obj(dict(peers("to"), toPorts=PORT_DENY_RULES, toServices=SERVICES))
RULE = obj({
    "description": string(),
    "egress": array(EGRESS), "egressDeny": array(EGRESS_DENY),
    "enableDefaultDeny": obj({"egress": boolean(), "ingress": boolean()}),
    "endpointSelector": LABEL_SELECTOR,
    "ingress": array(INGRESS), "ingressDeny": array(INGRESS_DENY),
    "labels": array(obj({"key": string(), "source": string(), "value": string()}, ["key"])),
    "log": obj({"value": string(maxLength=32, pattern=r"^\PC*$")}),
    "nodeSelector": LABEL_SELECTOR,
}, oneOf=exactly_one_of("endpointSelector", "nodeSelector"),
    anyOf=exactly_one_of("ingress", "ingressDeny", "egress", "egressDeny"))
CONDITION = obj({"lastTransitionTime": string(format="date-time"), "message": string(), "reason": string(),
                 "status": string(), "type": string()}, ["status", "type"])
POLICY_STATUS = obj({
    "conditions": array(CONDITION, **{"x-kubernetes-list-map-keys": ["type"], "x-kubernetes-list-type": "map"}),
    "derivativePolicies": obj(additionalProperties=obj({
        "annotations": string_map(), "enforcing": boolean(), "error": string(),
        "lastUpdated": string(format="date-time"), "localPolicyRevision": integer(format="int64"), "ok": boolean()})),
})
METAV1_CONDITION = obj({
    "lastTransitionTime": string(format="date-time"), "message": string(maxLength=32768),
    "observedGeneration": integer(format="int64", minimum=0),
    "reason": string(maxLength=1024, minLength=1, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"),
    "status": string(enum=["True", "False", "Unknown"]),
    "type": string(maxLength=316, pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                                          r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"),
}, ["lastTransitionTime", "message", "reason", "status", "type"])
CONDITIONS_STATUS = obj({"conditions": array(METAV1_CONDITION, **{"x-kubernetes-list-map-keys": ["type"],
                                                                  "x-kubernetes-list-type": "map"})})
IP_BLOCKS = array(obj({"cidr": CIDR, "start": string(), "stop": string()}))


def pod_pool(bits):
    return obj({"cidrs": array(CIDR, minItems=1), "maskSize": integer(maximum=bits, minimum=1)}, ["cidrs", "maskSize"])


def age():
    return {"jsonPath": ".metadata.creationTimestamp", "name": "Age", "type": "date"}


# ---------------------------------------------------------------- the kinds

# kind, plural, scope, short names, categories, version, printer columns, root properties, root facts, status subresource
KINDS = [
    ("CiliumNetworkPolicy", "ciliumnetworkpolicies", "Namespaced", ["cnp", "ciliumnp"], ["cilium", "ciliumpolicy"], "v2",
     [age(), {"jsonPath": ".status.conditions[?(@.type=='Valid')].status", "name": "Valid", "type": "string"}],
     {"spec": RULE, "specs": array(RULE), "status": POLICY_STATUS}, {"required": ["metadata"]}, True),
    ("CiliumClusterwideNetworkPolicy", "ciliumclusterwidenetworkpolicies", "Cluster", ["ccnp"], ["cilium", "ciliumpolicy"],
     "v2", [{"jsonPath": ".status.conditions[?(@.type=='Valid')].status", "name": "Valid", "type": "string"}],
     {"spec": RULE, "specs": array(RULE), "status": POLICY_STATUS}, {"required": ["metadata"]}, True),
    ("CiliumCIDRGroup", "ciliumcidrgroups", "Cluster", ["ccg"], ["cilium", "ciliumpolicy"], "v2alpha1", [age()],
     {"spec": obj({"externalCIDRs": array(CIDR)}, ["externalCIDRs"])}, {"required": ["spec"]}, False),
    ("CiliumEndpoint", "ciliumendpoints", "Namespaced", ["cep", "ciliumep"], ["cilium"], "v2",
     [{"jsonPath": ".status.identity.id", "name": "Security Identity", "type": "integer"},
      {"jsonPath": ".status.state", "name": "Endpoint State", "type": "string"},
      {"jsonPath": ".status.networking.addressing[0].ipv4", "name": "IPv4", "type": "string"},
      {"jsonPath": ".status.networking.addressing[0].ipv6", "name": "IPv6", "type": "string"}],
     {"status": open_object()}, {"required": ["metadata"]}, True),
    ("CiliumExternalWorkload", "ciliumexternalworkloads", "Cluster", ["cew"], ["cilium"], "v2",
     [{"jsonPath": ".status.id", "name": "Cilium ID", "type": "integer"},
      {"jsonPath": ".status.ip", "name": "IP", "type": "string"}],
     {"spec": obj({"ipv4-alloc-cidr": string(), "ipv6-alloc-cidr": string()}),
      "status": obj({"id": integer(format="int64"), "ip": string()})}, {"required": ["metadata"]}, True),
    ("CiliumIdentity", "ciliumidentities", "Cluster", ["ciliumid"], ["cilium"], "v2",
     [{"jsonPath": ".metadata.labels.io\\.kubernetes\\.pod\\.namespace", "name": "Namespace", "type": "string"}, age()],
     {"security-labels": string_map()}, {"required": ["metadata", "security-labels"]}, False),
    ("CiliumL2AnnouncementPolicy", "ciliuml2announcementpolicies", "Cluster", ["l2announcement"], ["cilium"], "v2alpha1",
     [age()],
     {"spec": obj({"externalIPs": boolean(), "interfaces": array(string()), "loadBalancerIPs": boolean(),
                   "nodeSelector": LABEL_SELECTOR, "serviceSelector": LABEL_SELECTOR}),
      "status": CONDITIONS_STATUS}, {"required": ["metadata"]}, True),
    ("CiliumLoadBalancerIPPool", "ciliumloadbalancerippools", "Cluster", ["ippools", "ippool", "lbippool", "lbippools"],
     ["cilium"], "v2alpha1",
     [{"jsonPath": ".spec.disabled", "name": "Disabled", "type": "boolean"},
      {"jsonPath": '.status.conditions[?(@.type=="cilium.io/PoolConflict")].status', "name": "Conflicting",
       "type": "string"},
      {"jsonPath": '.status.conditions[?(@.type=="cilium.io/IPsAvailable")].message', "name": "IPs Available",
       "type": "string"}, age()],
     {"spec": obj({"allowFirstLastIPs": string(enum=["Yes", "No"]), "blocks": IP_BLOCKS, "cidrs": IP_BLOCKS,
                   "disabled": boolean(default=False), "serviceSelector": LABEL_SELECTOR}),
      "status": CONDITIONS_STATUS}, {"required": ["metadata"]}, True),
    ("CiliumNodeConfig", "ciliumnodeconfigs", "Namespaced", [], ["cilium"], "v2", [],
     {"spec": obj({"defaults": string_map(), "nodeSelector": LABEL_SELECTOR}, ["defaults", "nodeSelector"])},
     {"required": ["spec"]}, False),
    ("CiliumNode", "ciliumnodes", "Cluster", ["cn", "ciliumn"], ["cilium"], "v2",
     [{"jsonPath": ".spec.addresses[?(@.type=='CiliumInternalIP')].ip", "name": "CiliumInternalIP", "type": "string"},
      {"jsonPath": ".spec.addresses[?(@.type=='InternalIP')].ip", "name": "InternalIP", "type": "string"}, age()],
     {"spec": open_object(), "status": open_object()}, {"required": ["metadata"]}, True),
    ("CiliumPodIPPool", "ciliumpodippools", "Cluster", ["cpip"], ["cilium"], "v2alpha1", [],
     {"spec": obj({"ipv4": pod_pool(32), "ipv6": pod_pool(128)})}, {"required": ["spec"]}, False),
]


def crd(kind, plural, scope, short_names, categories, version, columns, properties, root_facts, status):
    names = {"categories": categories, "kind": kind, "listKind": kind + "List", "plural": plural,
             "singular": kind.lower()}
    if short_names:
        names["shortNames"] = short_names
    root = dict({"apiVersion": string(), "kind": string(), "metadata": obj()}, **properties)
    served = {"name": version, "served": True, "storage": True, "schema": {"openAPIV3Schema": obj(root, **root_facts)}}
    if columns:
        served["additionalPrinterColumns"] = columns
    if status:
        served["subresources"] = {"status": {}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "%s.cilium.io" % plural},
            "spec": {"group": "cilium.io", "names": names, "scope": scope, "versions": [served]}}


def crd_documents():
    """The CustomResourceDefinitions of every Cilium kind an AKS cluster serves (fresh dicts on each call)."""
    return [copy.deepcopy(crd(*row)) for row in KINDS]
