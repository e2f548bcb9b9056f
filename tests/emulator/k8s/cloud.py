"""The Azure cloud provider's service controller, as far as clients see it: LoadBalancer addresses.

A Service of type LoadBalancer gets `status.loadBalancer.ingress[0].ip`: the address asked for
(annotation `service.beta.kubernetes.io/azure-load-balancer-ipv4`, else the deprecated
`spec.loadBalancerIP`), so several Services can share one frontend IP as on Azure; otherwise a new
public address, or one from the node subnet with `service.beta.kubernetes.io/azure-load-balancer-internal: "true"`.
"""

import ipaddress

from .api import WriteOptions

CLOUD = WriteOptions(manager="cloud-controller-manager", trusted=True)
IPV4_ANNOTATION = "service.beta.kubernetes.io/azure-load-balancer-ipv4"
INTERNAL_ANNOTATION = "service.beta.kubernetes.io/azure-load-balancer-internal"
PUBLIC_POOL = ipaddress.ip_network("20.61.0.0/16")
INTERNAL_POOL = ipaddress.ip_network("10.224.0.0/16")


class ServiceLoadBalancers:

    def __init__(self, api):
        self.api = api
        self.store = api.store

    def watch_services(self, kick):
        """Wake the controller loop on Service writes (they are not among the workload kinds)."""
        self.store.add_listener(lambda key, event_type, obj, old: kick() if key == "/services" else None)

    def reconcile(self):
        services = list(self.store.objects("/services"))
        taken = {ingress.get("ip") for s in services
                 for ingress in ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []}
        service_type = self.api.registry.get("", "v1", "services")
        for service in services:
            spec = service.get("spec") or {}
            ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress")
            if spec.get("type") != "LoadBalancer" or ingress or service["metadata"].get("deletionTimestamp"):
                continue
            annotations = service["metadata"].get("annotations") or {}
            address = annotations.get(IPV4_ANNOTATION) or spec.get("loadBalancerIP")
            if not address:
                internal = annotations.get(INTERNAL_ANNOTATION, "").lower() == "true"
                address = self._free(INTERNAL_POOL if internal else PUBLIC_POOL, taken, 100 if internal else 4)
            taken.add(address)
            status = dict(service.get("status") or {}, loadBalancer={"ingress": [{"ip": address, "ipMode": "VIP"}]})
            self.api.write(service_type, service, dict(service, status=status), CLOUD, "status")

    @staticmethod
    def _free(pool, taken, first):
        for offset in range(first, pool.num_addresses - 1):
            address = str(pool.network_address + offset)
            if address not in taken:
                return address
        return None
