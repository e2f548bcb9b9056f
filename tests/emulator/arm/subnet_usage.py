"""Who holds which addresses of a subnet, and the Network RP's usage API that reports it.

AKS's node NICs are ipConfigurations on the node subnet (network.py / aks.claim_subnets). Pod
addresses are reserved by Azure CNS through the delegated subnet and never appear as
ipConfigurations: dynamic allocation takes batches of 16 single IPs per node as pods need them,
static block allocation /28 blocks per node at node start (Learn: concepts-network-azure-cni-pod-subnet,
configure-azure-cni-static-block-allocation). `SubnetAddresses` is that reservation table, shared by
every emulated cluster (a pod subnet may serve several pools and clusters). It has its own lock: the
Kubernetes emulators call it from their controller threads, never while holding the ARM lock.

GET .../virtualNetworks/{vnet}/usages (the SDK's virtual_networks.list_usage) answers, per subnet,
{currentValue, limit, id, name, unit}: addresses in use against the usable ones.
"""

import ipaddress
import threading

from ..http import json_response
from . import network
from .errors import resource_not_found

AZURE_RESERVED_FIRST, AZURE_RESERVED_LAST = 4, 1  # Azure keeps x.x.x.0-3 and the last address of every subnet
BLOCK = 16  # a static allocation block is a /28


class SubnetAddresses:

    def __init__(self):
        self._lock = threading.Lock()
        self._held = {}  # subnet key -> {owner: [int address, ...]}

    @staticmethod
    def _key(subnet_id):
        return subnet_id.rstrip("/").lower()

    def take(self, subnet_id, prefix, owner, count, block=False):
        """Reserve `count` addresses (block=True: `count` aligned /28 blocks) for owner; [] if the subnet is full."""
        net = ipaddress.ip_network(prefix, strict=False)
        first, last = int(net.network_address) + AZURE_RESERVED_FIRST, int(net.broadcast_address) - AZURE_RESERVED_LAST
        with self._lock:
            holders = self._held.setdefault(self._key(subnet_id), {})
            used = {a for addresses in holders.values() for a in addresses}
            found = []
            if block:
                start = int(net.network_address)
                for base in range(start, int(net.broadcast_address) + 1, BLOCK):
                    span = range(base, base + BLOCK)
                    if base >= first and base + BLOCK - 1 <= last and not used.intersection(span):
                        found.extend(span)
                        if len(found) == count * BLOCK:
                            break
                if len(found) < count * BLOCK:
                    return []
            else:
                for address in range(first, last + 1):
                    if address not in used:
                        found.append(address)
                        if len(found) == count:
                            break
                if len(found) < count:
                    return []
            holders.setdefault(owner, []).extend(found)
            return [str(ipaddress.ip_address(a)) for a in found]

    def release(self, owner_prefix):
        """Free everything held by owners starting with owner_prefix (a node that left, a cluster deleted)."""
        with self._lock:
            for holders in self._held.values():
                for owner in [o for o in holders if o.startswith(owner_prefix)]:
                    del holders[owner]

    def held(self, subnet_id, owner):
        with self._lock:
            return [str(ipaddress.ip_address(a)) for a in self._held.get(self._key(subnet_id), {}).get(owner, [])]

    def pod_addresses(self, subnet_id):
        """Addresses reserved for pods (owners not ending in /nic, which are node IPs ARM already counts)."""
        with self._lock:
            return sum(len(a) for owner, a in self._held.get(self._key(subnet_id), {}).items() if not owner.endswith("/nic"))


def usage(arm, subnet):
    """(currentValue, limit) of one subnet, as the Network RP's usages API reports them."""
    prefix = ipaddress.ip_network(network.subnet_prefixes(subnet)[0])
    limit = prefix.num_addresses - AZURE_RESERVED_FIRST - AZURE_RESERVED_LAST
    current = len((subnet.get("properties") or {}).get("ipConfigurations") or [])
    return current + arm.kube.addresses.pod_addresses(subnet["id"]), limit


def list_usage(arm, request, sub, rg, vnet):
    del request
    arm.require_resource_group(sub, rg)
    body = arm.store.get("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/virtualNetworks/%s" % (sub, rg, vnet))
    if body is None:
        raise resource_not_found(network.VNET_TYPE, vnet, rg)
    value = []
    for subnet in body["properties"].get("subnets") or []:
        current, limit = usage(arm, subnet)
        value.append({"currentValue": current, "id": subnet["id"], "limit": limit, "unit": "Count",
                      "name": {"localizedValue": "Subnet size and usage", "value": "Subnet size and usage"}})
    return json_response(200, {"value": value})


ROUTES = [
    ("GET", r"{rg}/providers/Microsoft\.Network/virtualNetworks/(?P<vnet>[^/]+)/usages", list_usage),
]
