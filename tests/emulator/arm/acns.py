"""Advanced Container Networking Services (ACNS) on managedClusters: AKS's defaults and refusals.

Fields (API 2026-08-01, azure-mgmt-containerservice 41.8.0 models):
    networkProfile.advancedNetworking = {enabled, observability: {enabled},
        security: {enabled, advancedNetworkPolicies: L7|FQDN|None, transitEncryption: {type: WireGuard|None}},
        performance: {accelerationMode: BpfVeth|None}}
    azureMonitorProfile.containerInsights.containerNetworkLogs: Enabled|Disabled

Defaults (SDK docstrings): `enabled: true` turns observability and security on unless explicitly
disabled (security only where it can run: the Cilium data plane); advancedNetworkPolicies is FQDN
when security is enabled; transit encryption, acceleration and container network logs default to
None / None / Disabled (absent means that).

RULES rows are (name, status, code, subcode, message, target, check) and are appended to
rules.RULES. Where AKS's exact error code is not documented, the generic InvalidParameter /
BadRequest + descriptive subcode is used (marked "code: best recollection").
"""

POLICY_MODES = ("L7", "FQDN", "None")
ENCRYPTION_TYPES = ("WireGuard", "None")
ACCELERATION_MODES = ("BpfVeth", "None")
LOG_STATES = ("Enabled", "Disabled")


def _canonical(value, known):
    """AKS enums are case-insensitive on input and stored in their canonical spelling."""
    for item in known:
        if isinstance(value, str) and value.lower() == item.lower():
            return item
    return value


def normalize(np):
    """Fill AKS's ACNS defaults into a (backfilled) networkProfile, in place."""
    advanced = np.get("advancedNetworking")
    if not advanced:
        return
    cilium = (np.get("networkDataplane") or "azure").lower() == "cilium"
    if advanced.get("enabled"):
        advanced.setdefault("observability", {"enabled": True})
        advanced.setdefault("security", {"enabled": cilium})
    security = advanced.get("security")
    if security:
        if security.get("enabled") and not security.get("advancedNetworkPolicies"):
            security["advancedNetworkPolicies"] = "FQDN"
        if security.get("advancedNetworkPolicies"):
            security["advancedNetworkPolicies"] = _canonical(security["advancedNetworkPolicies"], POLICY_MODES)
        encryption = security.get("transitEncryption")
        if encryption and encryption.get("type"):
            encryption["type"] = _canonical(encryption["type"], ENCRYPTION_TYPES)
    performance = advanced.get("performance")
    if performance and performance.get("accelerationMode"):
        performance["accelerationMode"] = _canonical(performance["accelerationMode"], ACCELERATION_MODES)


def normalize_monitor(props):
    """containerNetworkLogs is stored in its canonical spelling."""
    insights = (props.get("azureMonitorProfile") or {}).get("containerInsights") or {}
    if insights.get("containerNetworkLogs"):
        insights["containerNetworkLogs"] = _canonical(insights["containerNetworkLogs"], LOG_STATES)


# ---- what a profile asks for ------------------------------------------------------------
def state(props):
    """The effective ACNS state of cluster properties (a feature counts only when ACNS is enabled)."""
    advanced = (props.get("networkProfile") or {}).get("advancedNetworking") or {}
    enabled = bool(advanced.get("enabled"))
    security = advanced.get("security") or {}
    policies = security.get("advancedNetworkPolicies") or "None"
    encryption = (security.get("transitEncryption") or {}).get("type") or "None"
    acceleration = (advanced.get("performance") or {}).get("accelerationMode") or "None"
    logs = ((props.get("azureMonitorProfile") or {}).get("containerInsights") or {}).get("containerNetworkLogs")
    return {
        "enabled": enabled,
        "observability": enabled and bool((advanced.get("observability") or {}).get("enabled")),
        "security": enabled and bool(security.get("enabled")),
        "network_policies": policies if enabled and security.get("enabled") else "None",
        "transit_encryption": encryption if enabled else "None",
        "acceleration": acceleration if enabled else "None",
        "flow_logs": (logs or "Disabled") == "Enabled",
    }


def _minor(version):
    try:
        return tuple(int(p) for p in (version or "").split(".")[:2])
    except ValueError:
        return (0, 0)


def _props(ch):
    return ch.cluster["properties"]


def _advanced(ch):
    return ch.np.get("advancedNetworking") or {}


def _security(ch):
    return _advanced(ch).get("security") or {}


def _requested(ch):
    """The non-default values asked for, whatever `enabled` says: {field path: value}."""
    advanced, security = _advanced(ch), _security(ch)
    asked = {}
    if (security.get("advancedNetworkPolicies") or "None") != "None":
        asked["security.advancedNetworkPolicies"] = security["advancedNetworkPolicies"]
    if ((security.get("transitEncryption") or {}).get("type") or "None") != "None":
        asked["security.transitEncryption.type"] = security["transitEncryption"]["type"]
    if ((advanced.get("performance") or {}).get("accelerationMode") or "None") != "None":
        asked["performance.accelerationMode"] = advanced["performance"]["accelerationMode"]
    return asked


# ---- checks: None (fine) or the values for the message ----------------------------------
def bad_enum(ch):
    advanced, security = _advanced(ch), _security(ch)
    values = (("networkProfile.advancedNetworking.security.advancedNetworkPolicies",
               security.get("advancedNetworkPolicies"), POLICY_MODES),
              ("networkProfile.advancedNetworking.security.transitEncryption.type",
               (security.get("transitEncryption") or {}).get("type"), ENCRYPTION_TYPES),
              ("networkProfile.advancedNetworking.performance.accelerationMode",
               (advanced.get("performance") or {}).get("accelerationMode"), ACCELERATION_MODES),
              ("azureMonitorProfile.containerInsights.containerNetworkLogs",
               ((_props(ch).get("azureMonitorProfile") or {}).get("containerInsights") or {}).get("containerNetworkLogs"),
               LOG_STATES))
    for path, value, known in values:
        if value is not None and value not in known:
            return {"path": path, "value": value, "allowed": ", ".join(known)}
    return None


def feature_without_acns(ch):
    asked = _requested(ch)
    if asked and not _advanced(ch).get("enabled"):
        path = sorted(asked)[0]
        return {"path": "networkProfile.advancedNetworking." + path, "value": asked[path]}
    return None


def cilium_feature_without_cilium(ch):
    if ch.dataplane() == "cilium" or not _advanced(ch).get("enabled"):
        return None
    for path, value in sorted(_requested(ch).items()):
        return {"path": "networkProfile.advancedNetworking." + path, "value": value, "dataplane": ch.dataplane()}
    return None


def policies_without_security(ch):
    security = _security(ch)
    if (security.get("advancedNetworkPolicies") or "None") != "None" and not security.get("enabled"):
        return {"mode": security["advancedNetworkPolicies"]}
    return None


def encryption_without_security(ch):
    security = _security(ch)
    if ((security.get("transitEncryption") or {}).get("type") or "None") != "None" and not security.get("enabled"):
        return {"type": security["transitEncryption"]["type"]}
    return None


def _version(ch):
    props = _props(ch)
    return props.get("currentKubernetesVersion") or props.get("kubernetesVersion")


def acceleration_version(ch):
    if state(_props(ch))["acceleration"] == "BpfVeth" and _minor(_version(ch)) < (1, 33):
        return {"version": _version(ch)}
    return None


def _node_os_supported(pool, version):
    """eBPF host routing runs on Azure Linux 3.0 and Ubuntu 24.04 node images only.

    osSKU Ubuntu2404 / AzureLinux3 name them; plain AzureLinux is 3.0 from Kubernetes 1.32 and plain
    Ubuntu is 24.04 from 1.35 (AKS node image defaults; best recollection).
    """
    sku = (pool.get("osSKU") or "Ubuntu").lower()
    minor = _minor(pool.get("currentOrchestratorVersion") or version)
    return (sku in ("ubuntu2404", "azurelinux3") or (sku == "azurelinux" and minor >= (1, 32))
            or (sku == "ubuntu" and minor >= (1, 35)))


def acceleration_node_os(ch):
    if state(_props(ch))["acceleration"] != "BpfVeth":
        return None
    for index, pool in enumerate(ch.pools):
        if not _node_os_supported(pool, _version(ch)):
            return {"index": index, "name": pool["name"], "sku": pool.get("osSKU") or "Ubuntu"}
    return None


def acceleration_with_static_egress(ch):
    gateway = ch.np.get("staticEgressGatewayProfile") or {}
    if state(_props(ch))["acceleration"] == "BpfVeth" and gateway.get("enabled"):
        return {}
    return None


def logs_without_observability(ch):
    current = state(_props(ch))
    if current["flow_logs"] and not current["observability"]:
        return {}
    return None


def logs_version(ch):
    if state(_props(ch))["flow_logs"] and _minor(_version(ch)) < (1, 33):
        return {"version": _version(ch)}
    return None


ACNS = "networkProfile.advancedNetworking"
RULES = [
    # code: best recollection (AKS answers an unknown enum value with InvalidParameter)
    ("acns-enum", 400, "InvalidParameter", None, "The value '{value}' of {path} is not valid. Allowed values: {allowed}.",
     "{path}", bad_enum),
    ("acns-features-need-acns", 400, "BadRequest", "AdvancedNetworkingNotEnabled",
     "{path} is set to '{value}', but Advanced Container Networking Services is not enabled: set "
     "networkProfile.advancedNetworking.enabled to true.", "{path}", feature_without_acns),
    # SDK docstrings: network policies, transit encryption and acceleration "can be enabled only on cilium based clusters"
    ("acns-feature-needs-cilium", 400, "BadRequest", "AdvancedNetworkingFeatureRequiresCiliumDataplane",
     "{path} '{value}' requires the cilium network dataplane, got '{dataplane}'.", "{path}", cilium_feature_without_cilium),
    # docs (container-network-security-fqdn-filtering-concepts): FQDN and L7 policies are blocked without ACNS security
    ("acns-policies-need-security", 400, "BadRequest", "AdvancedNetworkPoliciesRequireSecurity",
     "Advanced network policies '{mode}' require networkProfile.advancedNetworking.security.enabled to be true.",
     ACNS + ".security.advancedNetworkPolicies", policies_without_security),
    ("acns-encryption-needs-security", 400, "BadRequest", "TransitEncryptionRequiresSecurity",
     "Transit encryption '{type}' requires networkProfile.advancedNetworking.security.enabled to be true.",
     ACNS + ".security.transitEncryption.type", encryption_without_security),
    # docs (how-to-enable-ebpf-host-routing): Kubernetes >= 1.33, Azure Linux 3.0 / Ubuntu 24.04, no Static Egress Gateway
    ("acns-acceleration-kubernetes-version", 400, "BadRequest", "AccelerationModeNotSupportedForKubernetesVersion",
     "eBPF host routing (accelerationMode BpfVeth) requires Kubernetes 1.33 or later, got {version}.",
     ACNS + ".performance.accelerationMode", acceleration_version),
    ("acns-acceleration-node-os", 400, "BadRequest", "AccelerationModeNotSupportedForOSSKU",
     "eBPF host routing (accelerationMode BpfVeth) requires Azure Linux 3.0 or Ubuntu 24.04 nodes; agent pool "
     "'{name}' runs osSKU {sku}.", "agentPoolProfiles[{index}].osSKU", acceleration_node_os),
    ("acns-acceleration-static-egress", 400, "BadRequest", "AccelerationModeNotCompatibleWithStaticEgressGateway",
     "eBPF host routing (accelerationMode BpfVeth) is not compatible with Static Egress Gateway.",
     ACNS + ".performance.accelerationMode", acceleration_with_static_egress),
    # docs (how-to-configure-container-network-logs): ACNS (its observability) and Kubernetes >= 1.33
    ("acns-logs-need-observability", 400, "BadRequest", "ContainerNetworkLogsRequireAdvancedNetworkingObservability",
     "Container network logs require Advanced Container Networking Services with observability enabled.",
     "azureMonitorProfile.containerInsights.containerNetworkLogs", logs_without_observability),
    ("acns-logs-kubernetes-version", 400, "BadRequest", "ContainerNetworkLogsNotSupportedForKubernetesVersion",
     "Container network logs require Kubernetes 1.33 or later, got {version}.",
     "azureMonitorProfile.containerInsights.containerNetworkLogs", logs_version),
]
