"""AKS validation, as one table: rule -> (HTTP status, code, subcode, message, target).

`validate(change)` walks RULES in order and raises the first violation as an ArmError. Each check
gets a `Change` (the normalized cluster being asked for, the stored one on update, the request's
raw networkProfile, subnet lookups) and returns None, or a dict that fills the message/target.

Codes: where a real AKS/ARM answer is documented or recorded (see shared/reference/notes and the
comments) it is used verbatim; otherwise AKS's generic codes: InvalidParameter for one bad value,
BadRequest (+ a descriptive subcode) for combinations, PropertyChangeNotAllowed for immutables.
"""

import ipaddress
from collections import namedtuple

from . import acns, ids, migration, naming, network, pool_rules
from .errors import ArmError

AKS_DELEGATION = network.AKS_SERVICE.lower()
RESERVED_RANGES = [ipaddress.ip_network(r) for r in ("169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24")]
MANAGED_VNET = ipaddress.ip_network("10.224.0.0/12")  # the VNet AKS creates when no subnet is given
AZURE_RESERVED_IPS = 5  # Azure keeps 5 addresses of every subnet
KUBERNETES_VERSIONS = ("1.31.10", "1.31.11", "1.32.6", "1.32.7", "1.33.1", "1.33.2", "1.34.0", "1.34.1")
DEFAULT_KUBERNETES_VERSION = "1.33.2"


SubnetRef = namedtuple("SubnetRef", "index key id")


def _net(text):
    try:
        return ipaddress.ip_network(text, strict=True) if text else None
    except ValueError:
        return None


def _ip(text):
    try:
        return ipaddress.ip_address(text) if text else None
    except ValueError:
        return None


class Change:
    """What a PUT asks for (normalized, defaults filled), next to what exists."""

    def __init__(self, store, cluster, old=None, raw_network=None, pending=None):
        self.store = store
        self.cluster = cluster
        self.old = old
        self.raw_np = raw_network if raw_network is not None else {}
        self.pending = pending  # an unfinished Operation on the cluster, if any

    @property
    def np(self):
        return self.cluster["properties"]["networkProfile"]

    @property
    def old_np(self):
        return self.old["properties"]["networkProfile"] if self.old else {}

    @property
    def pools(self):
        return self.cluster["properties"]["agentPoolProfiles"]

    @property
    def old_pools(self):
        return {p["name"].lower(): p for p in (self.old["properties"]["agentPoolProfiles"] if self.old else [])}

    def plugin(self, np=None):
        return ((np if np is not None else self.np).get("networkPlugin") or "").lower()

    def overlay(self, np=None):
        return ((np if np is not None else self.np).get("networkPluginMode") or "").lower() == "overlay"

    def dataplane(self, np=None):
        return ((np if np is not None else self.np).get("networkDataplane") or "azure").lower()

    def policy(self, np=None):
        return ((np if np is not None else self.np).get("networkPolicy") or "none").lower()

    def ipam(self, np=None):
        return (self.plugin(np), self.overlay(np))

    def ipam_changed(self):
        return self.old is not None and self.ipam(self.old_np) != self.ipam()

    def dataplane_changed(self):
        return self.old is not None and self.dataplane(self.old_np) != self.dataplane()

    def subnet_refs(self):
        """A SubnetRef(index, key, id) for every subnet a pool references."""
        for index, pool in enumerate(self.pools):
            for key in ("vnetSubnetID", "podSubnetID"):
                if pool.get(key):
                    yield SubnetRef(index, key, pool[key])

    def vnet(self, subnet_id):
        return network.find_subnet(self.store, subnet_id)[0]

    def subnet(self, subnet_id):
        return network.find_subnet(self.store, subnet_id)[1]

    def vnet_space(self):
        """The cluster VNet's address prefixes (AKS's managed VNet when no subnet is given)."""
        for ref in self.subnet_refs():
            vnet = self.vnet(ref.id)
            if vnet:
                return [ipaddress.ip_network(p) for p in vnet["properties"]["addressSpace"]["addressPrefixes"]]
        return [MANAGED_VNET]

    def used_subnets(self):
        """(name, network) of every subnet the cluster's pools use."""
        for ref in self.subnet_refs():
            subnet = self.subnet(ref.id)
            for prefix in network.subnet_prefixes(subnet or {}):
                yield subnet["name"], ipaddress.ip_network(prefix)


# ---- checks: each returns None (fine) or the values for the rule's message ----------------
def another_operation(ch):
    if ch.pending is not None:
        return {"state": ch.old["properties"].get("provisioningState", "Updating") if ch.old else "Creating"}
    return None


def _casefolded(value):
    """ARM compares enum values (and so these strings) case-insensitively: "Standard" is "standard"."""
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, list):
        return [_casefolded(item) for item in value]
    return value


def changed_values(ch, paths):
    for path in paths:
        before, after = ch.old_np.get(path), ch.np.get(path)
        if ch.old is not None and path in ch.old_np and _casefolded(before) != _casefolded(after):
            return {"property": "networkProfile." + path}
    return None


def immutable_cluster_field(ch):
    if ch.old is None:
        return None
    for key in ("dnsPrefix", "nodeResourceGroup"):
        if ch.old["properties"].get(key) != ch.cluster["properties"].get(key):
            return {"property": key}
    return changed_values(ch, ("serviceCidr", "serviceCidrs", "dnsServiceIP", "outboundType", "loadBalancerSku", "ipFamilies"))


def immutable_pool_field(ch):
    for index, pool in enumerate(ch.pools):
        old = ch.old_pools.get(pool["name"].lower())
        for key in ("vnetSubnetID", "podSubnetID", "maxPods", "osType", "vmSize", "availabilityZones"):
            if old is not None and (old.get(key) or None) != (pool.get(key) or None):
                return {"property": "agentPoolProfiles[%d].%s" % (index, key)}
    return None


def dataplane_disabled(ch):
    if ch.old is not None and ch.dataplane(ch.old_np) == "cilium" and ch.dataplane() != "cilium":
        return {"property": "networkProfile.networkDataplane"}
    return None


def plugin_changed(ch):
    # the only in-place plugin change is kubenet -> azure, and only together with overlay mode
    if ch.old is None or ch.plugin(ch.old_np) == ch.plugin():
        return None
    if ch.plugin(ch.old_np) == "kubenet" and ch.plugin() == "azure" and ch.overlay():
        return None
    return {"property": "networkProfile.networkPlugin"}


def overlay_disabled(ch):
    if ch.old is not None and ch.overlay(ch.old_np) and not ch.overlay():
        return {"property": "networkProfile.networkPluginMode"}
    return None


def ipam_and_dataplane_together(ch):
    return {} if ch.ipam_changed() and ch.dataplane_changed() else None


def overlay_migration_blocked(ch):
    if not (ch.old is not None and ch.overlay() and not ch.overlay(ch.old_np)):
        return None
    if any(pool.get("podSubnetID") for pool in ch.pools):
        return {"reason": "the cluster uses dynamic pod IP allocation (podSubnetID)"}
    return None  # with a network policy engine: migration.MIGRATION_RULES answers first, as AKS does


def policy_changed(ch):
    # allowed: uninstalling a policy (-> none) and moving to cilium; leaving cilium is the dataplane rule's business
    if ch.old is None or ch.policy(ch.old_np) == ch.policy() or ch.policy() in ("none", "cilium"):
        return None
    return {"property": "networkProfile.networkPolicy"}


def pod_cidr_changed(ch):
    before, after = _net(ch.old_np.get("podCidr")), _net(ch.np.get("podCidr"))
    if ch.old is None or before is None or before == after or ch.ipam_changed():
        return None
    if after is not None and ch.overlay() and before.version == after.version and before.subnet_of(after):
        return None  # overlay pod CIDR expansion to a superset is allowed
    return {"property": "networkProfile.podCidr"}


def resolve_version(version):
    """AKS accepts a supported patch version or just major.minor (-> its newest patch); None if unsupported."""
    version = (version or "").strip()
    if version in KUBERNETES_VERSIONS:
        return version
    patches = [v for v in KUBERNETES_VERSIONS if v.rsplit(".", 1)[0] == version]
    return max(patches, key=lambda v: int(v.rsplit(".", 1)[1])) if patches else None


def bad_kubernetes_version(ch):
    version = ch.cluster["properties"].get("kubernetesVersion")
    return None if resolve_version(version) else {"version": version}


def bad_pool_name(ch):
    for index, pool in enumerate(ch.pools):
        name, windows = pool.get("name") or "", (pool.get("osType") or "").lower() == "windows"
        limit = 6 if windows else 12
        if not (name[:1].isalpha() and name.islower() and name.isalnum() and len(name) <= limit):
            return {"index": index, "name": name}
    return None


def no_system_pool(ch):
    return None if any((p.get("mode") or "").lower() == "system" for p in ch.pools) else {}


def max_pods_out_of_range(ch):
    for index, pool in enumerate(ch.pools):
        if not 10 <= int(pool.get("maxPods") or 0) <= 250:
            return {"index": index, "value": pool.get("maxPods")}
    return None


def too_few_system_pods(ch):
    for index, pool in enumerate(ch.pools):
        total = int(pool.get("maxPods") or 0) * int(pool.get("count") or 0)
        if (pool.get("mode") or "").lower() == "system" and pool.get("count") and total < 30:
            return {"index": index, "name": pool["name"], "total": total}
    return None


def windows_with_cilium(ch):
    for index, pool in enumerate(ch.pools):
        if (pool.get("osType") or "").lower() == "windows" and ch.dataplane() == "cilium":
            return {"index": index, "name": pool["name"]}
    return None


def overlay_without_azure(ch):
    return {} if ch.overlay() and ch.plugin() != "azure" else None


def cilium_without_azure(ch):
    return {"plugin": ch.plugin()} if ch.dataplane() == "cilium" and ch.plugin() != "azure" else None


def cilium_policy_without_cilium(ch):
    return {} if ch.policy() == "cilium" and ch.dataplane() != "cilium" else None


def cilium_without_cilium_policy(ch):
    return {"policy": ch.policy()} if ch.dataplane() == "cilium" and ch.policy() != "cilium" else None


def acns_security_without_cilium(ch):
    advanced = ch.np.get("advancedNetworking") or {}
    security = advanced.get("security") or {}
    if advanced.get("enabled") and security.get("enabled") and ch.dataplane() != "cilium":
        return {}
    return None


def pod_cidr_without_overlay(ch):
    if ch.raw_np.get("podCidr") and ch.plugin() == "azure" and not ch.overlay():
        return {}
    return None


def pod_subnet_wrong_mode(ch):
    for index, pool in enumerate(ch.pools):
        if pool.get("podSubnetID") and (ch.plugin() != "azure" or ch.overlay()):
            return {"index": index}
    return None


def pod_subnet_without_node_subnet(ch):
    for index, pool in enumerate(ch.pools):
        if pool.get("podSubnetID") and not pool.get("vnetSubnetID"):
            return {"index": index, "name": pool["name"]}
    return None


def pod_subnet_some_pools(ch):
    with_pod = [bool(p.get("podSubnetID")) for p in ch.pools]
    return {} if any(with_pod) and not all(with_pod) else None


def malformed_subnet_id(ch):
    for ref in ch.subnet_refs():
        if not ids.parse_subnet(ref.id):
            return {"index": ref.index, "key": ref.key, "value": ref.id}
    return None


def missing_subnet(ch):
    location = ch.cluster["location"].replace(" ", "").lower()
    for ref in ch.subnet_refs():
        if ch.subnet(ref.id) is None or ch.vnet(ref.id)["location"].replace(" ", "").lower() != location:
            return {"subnet": ref.id, "cluster": ch.cluster["id"]}
    return None


def same_node_and_pod_subnet(ch):
    for index, pool in enumerate(ch.pools):
        if pool.get("podSubnetID") and (pool.get("vnetSubnetID") or "").lower() == pool["podSubnetID"].lower():
            return {"index": index, "name": pool["name"]}
    return None


def several_vnets(ch):
    vnets = {ref.id.lower().split("/subnets/")[0] for ref in ch.subnet_refs()}
    return {"count": len(vnets)} if len(vnets) > 1 else None


def node_subnet_delegated(ch):
    for ref in ch.subnet_refs():
        delegations = ch.subnet(ref.id)["properties"].get("delegations") or []
        if ref.key == "vnetSubnetID" and delegations:
            return {"subnet": ref.id, "service": delegations[0]["properties"].get("serviceName")}
    return None


def pod_subnet_taken(ch):
    for ref in ch.subnet_refs():
        delegations = ch.subnet(ref.id)["properties"].get("delegations") or []
        foreign = [d["properties"].get("serviceName", "") for d in delegations
                   if d["properties"].get("serviceName", "").lower() != AKS_DELEGATION]
        if ref.key == "podSubnetID" and foreign:
            return {"subnet": ref.id, "service": foreign[0]}
    return None


def subnet_too_small(ch):
    """Pre-allocated IPs per subnet: a node IP each (+1 surge node), the pods' IPs where they come from the subnet."""
    need, dynamic, kind = {}, any(p.get("podSubnetID") for p in ch.pools), {}
    for pool in ch.pools:
        count, max_pods = int(pool.get("count") or 0), int(pool.get("maxPods") or 0)
        node_ips = count + 1
        if ch.plugin() == "azure" and not ch.overlay() and not dynamic:
            node_ips = (count + 1) * (max_pods + 1)  # legacy node-subnet mode: pods take node-subnet IPs
        if pool.get("vnetSubnetID"):
            need[pool["vnetSubnetID"].lower()] = need.get(pool["vnetSubnetID"].lower(), 0) + node_ips
            kind[pool["vnetSubnetID"].lower()] = "vnetSubnetID"
        if pool.get("podSubnetID"):  # 16 per node, whatever the allocation mode (recorded: 10 nodes -> 160)
            need[pool["podSubnetID"].lower()] = need.get(pool["podSubnetID"].lower(), 0) + 16 * count
            kind[pool["podSubnetID"].lower()] = "podSubnetID"
    for subnet_id, ips in need.items():
        subnet = ch.subnet(subnet_id)
        prefix = ipaddress.ip_network(network.subnet_prefixes(subnet)[0])
        available = prefix.num_addresses - AZURE_RESERVED_IPS
        if ips > available:
            return {"need": ips, "available": available, "cidr": str(prefix), "name": subnet["name"],
                    "target": "agentPoolProfile." + kind[subnet_id]}
    return None


def bad_cidr_value(ch):
    for key, parse in (("podCidr", _net), ("serviceCidr", _net), ("dnsServiceIP", _ip)):
        if ch.np.get(key) and parse(ch.np[key]) is None:
            return {"key": key, "value": ch.np[key]}
    return None


def service_dns_half_given(ch):
    if bool(ch.raw_np.get("serviceCidr")) != bool(ch.raw_np.get("dnsServiceIP")):
        return {}
    return None


def dns_outside_service_cidr(ch):
    dns, service = _ip(ch.np.get("dnsServiceIP")), _net(ch.np.get("serviceCidr"))
    if dns and service and dns not in service:
        return {"dns": dns, "cidr": service}
    return None


def dns_first_address(ch):
    dns, service = _ip(ch.np.get("dnsServiceIP")), _net(ch.np.get("serviceCidr"))
    if dns and service and dns in (service.network_address, service.network_address + 1):
        return {"dns": dns, "cidr": service}
    return None


def service_cidr_too_large(ch):
    service = _net(ch.np.get("serviceCidr"))
    return {"cidr": service} if service and service.version == 4 and service.prefixlen < 12 else None


def reserved_range(ch):
    for key in ("podCidr", "serviceCidr", "dnsServiceIP"):
        value = _net(ch.np.get(key)) if key != "dnsServiceIP" else _ip(ch.np.get(key))
        if value is None or value.version != 4:
            continue
        for reserved in RESERVED_RANGES:
            if (value in reserved) if key == "dnsServiceIP" else value.overlaps(reserved):
                return {"key": key, "value": value, "reserved": reserved}
    return None


def pod_overlaps_service(ch):
    pod, service = _net(ch.np.get("podCidr")), _net(ch.np.get("serviceCidr"))
    if pod and service and pod.version == service.version and pod.overlaps(service) and (ch.overlay() or ch.plugin() == "kubenet"):
        return {"pod": pod, "service": service}
    return None


def service_overlaps_subnet(ch):
    service = _net(ch.np.get("serviceCidr"))
    for name, prefix in ch.used_subnets():
        if service and service.version == prefix.version and service.overlaps(prefix):
            return {"service": service, "subnet": prefix, "name": name}
    return None


def cidr_overlaps_vnet(ch):
    """An overlay/kubenet pod CIDR must stay out of the VNet. The service CIDR need not: real ARM created a cluster
    with service CIDR 10.0.0.0/16 in VNet 10.0.0.0/8 whose subnets it missed; only subnets count for it
    (service_overlaps_subnet), as the field's own doc says ("must not overlap with any Subnet IP ranges")."""
    cidr = _net(ch.np.get("podCidr"))
    if ch.overlay() or ch.plugin() == "kubenet":
        for space in ch.vnet_space():
            if cidr and cidr.version == space.version and cidr.overlaps(space):
                return {"cidr": cidr, "vnet": space, "target": "networkProfile.podCIDR"}
    return None


Rule = namedtuple("Rule", "name status code subcode message target check")
CHANGE = "Changing property '{property}' is not allowed."
INVALID = "The value of parameter {key} is invalid. Please see https://aka.ms/aks-naming-rules for more details."

RULES = [
    # -- concurrency (409) --------------------------------------------------------------------
    Rule("another-operation-in-progress", 409, "OperationNotAllowed", None,
         "Operation is not allowed: Another operation ({state}) is in progress, please wait for it to finish before "
         "starting a new operation. See https://aka.ms/aks-pending-operation for more details", None, another_operation),
    # -- updates: immutable fields, one-way migrations and their order --------------------------
    Rule("immutable-cluster-field", 400, "PropertyChangeNotAllowed", None, CHANGE, "{property}", immutable_cluster_field),
    Rule("immutable-pool-field", 400, "PropertyChangeNotAllowed", None, CHANGE, "{property}", immutable_pool_field),
    Rule("cilium-cannot-be-disabled", 400, "PropertyChangeNotAllowed", None,
         CHANGE + " Azure CNI Powered by Cilium cannot be disabled once enabled.", "{property}", dataplane_disabled),
    Rule("plugin-change", 400, "PropertyChangeNotAllowed", None,
         CHANGE + " The only in-place change of network plugin is kubenet to azure with network plugin mode overlay.",
         "{property}", plugin_changed),
    Rule("overlay-cannot-be-disabled", 400, "PropertyChangeNotAllowed", None,
         CHANGE + " Azure CNI Overlay cannot be disabled once enabled.", "{property}", overlay_disabled),
    Rule("ipam-and-dataplane-together", 400, "BadRequest", "NetworkPluginAndDataplaneUpdateNotAllowedTogether",
         "The IP address management (network plugin / network plugin mode) and the network dataplane cannot be changed "
         "in the same operation. Migrate the IPAM mode first (kubenet clusters to Azure CNI Overlay), then the dataplane.",
         "networkProfile.networkDataplane", ipam_and_dataplane_together),
    Rule("overlay-migration-blocked", 400, "BadRequest", "OverlayMigrationNotSupported",
         "Migrating to Azure CNI Overlay is not supported because {reason}.", "networkProfile.networkPluginMode",
         overlay_migration_blocked),
    Rule("policy-change", 400, "PropertyChangeNotAllowed", None, CHANGE, "{property}", policy_changed),
    Rule("pod-cidr-change", 400, "PropertyChangeNotAllowed", None,
         CHANGE + " The pod CIDR of an overlay cluster can only be expanded to a superset.", "{property}", pod_cidr_changed),
    # -- values -------------------------------------------------------------------------------
    Rule("kubernetes-version", 400, "K8sVersionNotSupported", None,
         "Version {version} is not supported in this region. Please use [az aks get-versions] command to get the "
         "supported version list in this region. For more information, please check https://aka.ms/supported-version-list",
         "kubernetesVersion", bad_kubernetes_version),
    Rule("pool-name", 400, "InvalidParameter", None, INVALID.format(key="agentPoolProfile.name"),
         "agentPoolProfiles[{index}].name", bad_pool_name),
    # recorded real answer (Azure/AKS#1568): also what deleting the last System pool gets
    Rule("system-pool-required", 400, "MustDefineAtLeastOneSystemPool", None,
         "Must define at least one system pool.", "agentPoolProfiles", no_system_pool),
    Rule("max-pods-range", 400, "InvalidParameter", None,
         INVALID.format(key="agentPoolProfile.maxPods") + " maxPods must be between 10 and 250, got {value}.",
         "agentPoolProfiles[{index}].maxPods", max_pods_out_of_range),
    Rule("system-pool-capacity", 400, "InvalidParameter", None,
         "System agent pool '{name}' must have room for at least 30 pods (maxPods x count = {total}).",
         "agentPoolProfiles[{index}].maxPods", too_few_system_pods),
    Rule("cidr-format", 400, "InvalidParameter", None, INVALID.format(key="networkProfile.{key}"),
         "networkProfile.{key}", bad_cidr_value),
    # -- plugin / mode / dataplane / policy combinations ---------------------------------------
    Rule("overlay-needs-azure", 400, "BadRequest", "NetworkPluginModeOverlayRequiresNetworkPluginAzure",
         "Network plugin mode overlay requires network plugin azure.", "networkProfile.networkPluginMode",
         overlay_without_azure),
    Rule("cilium-needs-azure", 400, "BadRequest", "CiliumDataplaneRequiresNetworkPluginAzure",
         "Cilium dataplane requires network plugin azure, got '{plugin}'.", "networkProfile.networkDataplane",
         cilium_without_azure),
    # recorded real answers (Azure/AKS-Construction#535): code BadRequest with these subcodes
    Rule("cilium-policy-needs-cilium-dataplane", 400, "BadRequest", "NetworkPolicyCiliumRequiresCiliumDataplane",
         "Network policy cilium requires cilium dataplane.", "networkProfile.networkPolicy", cilium_policy_without_cilium),
    Rule("cilium-dataplane-needs-cilium-policy", 400, "BadRequest", "CiliumDataplaneRequiresNetworkPolicyCilium",
         "Cilium dataplane requires network policy cilium.", "networkProfile.networkPolicy", cilium_without_cilium_policy),
    Rule("windows-with-cilium", 400, "BadRequest", "CiliumDataplaneDoesNotSupportWindows",
         "Agent pool '{name}' has osType Windows; Azure CNI Powered by Cilium supports Linux node pools only.",
         "agentPoolProfiles[{index}].osType", windows_with_cilium),
    Rule("acns-security-needs-cilium", 400, "BadRequest", "AdvancedNetworkingSecurityRequiresCiliumDataplane",
         "Advanced Container Networking Services security features require the cilium network dataplane.",
         "networkProfile.advancedNetworking.security.enabled", acns_security_without_cilium),
    Rule("pod-cidr-needs-overlay", 400, "InvalidParameter", None,
         "The pod CIDR can only be specified with network plugin kubenet or with network plugin azure in network plugin "
         "mode overlay. See https://aka.ms/aks/azure-cni-overlay.", "networkProfile.podCidr", pod_cidr_without_overlay),
    # -- VNet (pod subnet) mode ----------------------------------------------------------------
    Rule("pod-subnet-needs-vnet-mode", 400, "InvalidParameter", None,
         "podSubnetID can only be used with network plugin azure without network plugin mode overlay.",
         "agentPoolProfiles[{index}].podSubnetID", pod_subnet_wrong_mode),
    Rule("pod-subnet-needs-node-subnet", 400, "InvalidParameter", None,
         "Agent pool '{name}' sets podSubnetID without vnetSubnetID; both are required.",
         "agentPoolProfiles[{index}].vnetSubnetID", pod_subnet_without_node_subnet),
    Rule("pod-subnet-all-or-none", 400, "InvalidParameter", None,
         "All or none of the agent pools must set podSubnetID.", "agentPoolProfiles", pod_subnet_some_pools),
    Rule("subnet-id-format", 400, "InvalidParameter", None,
         INVALID.format(key="agentPoolProfile.{key}") + " '{value}' is not a subnet resource ID.",
         "agentPoolProfiles[{index}].{key}", malformed_subnet_id),
    Rule("subnet-exists", 400, "InvalidResourceReference", None,
         "Resource {subnet} referenced by resource {cluster} was not found. Please make sure that the referenced "
         "resource exists, and that both resources are in the same region.", None, missing_subnet),
    Rule("distinct-node-and-pod-subnet", 400, "InvalidParameter", None,
         "Agent pool '{name}' uses the same subnet for nodes (vnetSubnetID) and pods (podSubnetID).",
         "agentPoolProfiles[{index}].podSubnetID", same_node_and_pod_subnet),
    Rule("one-vnet", 400, "InvalidParameter", None,
         "All agent pools must use subnets of the same virtual network; found {count}.", "agentPoolProfiles", several_vnets),
    Rule("node-subnet-not-delegated", 400, "SubnetIsDelegated", None,
         "Subnet {subnet} is delegated to {service}. The node subnet of an AKS cluster must not be delegated.",
         None, node_subnet_delegated),
    Rule("pod-subnet-free", 400, "SubnetWithExternalResourcesCannotBeUsedByOtherResources", None,
         "Subnet {subnet} is delegated to {service} and cannot be used as an AKS pod subnet.", None, pod_subnet_taken),
    Rule("subnet-size", 400, "InsufficientSubnetSize", None,
         "Pre-allocated IPs {need} exceeds IPs available {available} in Subnet Cidr {cidr}, Subnet Name {name}. "
         "http://aka.ms/aks/insufficientsubnetsize for more details.", "{target}", subnet_too_small),
    # -- service CIDR / DNS IP / pod CIDR --------------------------------------------------------
    Rule("service-and-dns-together", 400, "InvalidParameter", None,
         "serviceCidr and dnsServiceIP must be specified together.", "networkProfile.dnsServiceIP", service_dns_half_given),
    # documented (SupportArticles-docs): DnsServiceIpOutOfServiceCidr
    Rule("dns-in-service-cidr", 400, "DnsServiceIpOutOfServiceCidr", None,
         "The DNS service IP {dns} is out of the range defined by service CIDR {cidr}.", "networkProfile.dnsServiceIP",
         dns_outside_service_cidr),
    Rule("dns-not-first-address", 400, "InvalidParameter", None,
         "The DNS service IP {dns} must not be the first address of service CIDR {cidr}; it is reserved for the "
         "kubernetes service.", "networkProfile.dnsServiceIP", dns_first_address),
    Rule("service-cidr-size", 400, "InvalidParameter", None,
         "The service CIDR {cidr} is too large: it must be smaller than /12.", "networkProfile.serviceCidr",
         service_cidr_too_large),
    Rule("reserved-ranges", 400, "InvalidParameter", None,
         "The {key} {value} overlaps the reserved range {reserved}.", "networkProfile.{key}", reserved_range),
    Rule("pod-service-overlap", 400, "PodCidrOverlapServiceCidr", None,
         "The pod CIDR {pod} overlaps with the service CIDR {service}.", "networkProfile.podCidr", pod_overlaps_service),
    # documented (SupportArticles-docs): ServiceCidrOverlapExistingSubnetsCidr
    Rule("service-subnet-overlap", 400, "ServiceCidrOverlapExistingSubnetsCidr", None,
         "The specified service CIDR {service} is conflicted with an existing subnet CIDR {subnet}",
         "networkProfile.serviceCIDR", service_overlaps_subnet),
    # recorded real answer (Azure/AKS-Construction#403)
    Rule("cidr-vnet-overlap", 400, "NetworkProfileCIDROverlapVNET", None,
         "NetworkProfile CIDR {cidr} overlaps with reserved VNET CIDR {vnet}", "{target}", cidr_overlaps_vnet),
]

RULES += [Rule(*row) for row in acns.RULES]  # Advanced Container Networking Services: tests/emulator/arm/acns.py
RULES += [Rule(*row) for row in naming.AKS_RULES]  # naming.py: Azure's naming/sizing rows


RULES[1:1] = [Rule(*row) for row in migration.MIGRATION_RULES]
RULES += [Rule(*row) for row in pool_rules.ROWS]


def validate(change):
    """Raise the first violation, in table order, as the ARM error AKS would answer.

    Order matters: the subnet rules further down rely on the id-format and existence rules above them.
    """
    for rule in RULES:
        values = rule.check(change)
        if values is not None:
            target = rule.target.format(**values) if rule.target else None
            raise ArmError(rule.status, rule.code, rule.message.format(**values), target, subcode=rule.subcode)
