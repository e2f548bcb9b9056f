# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``aks_network`` run: read the resource group and VNet, check, plan, write only what differs.

The rules and merge logic it applies are in ``_aks_network`` (no Azure calls there, so they unit-test).

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

from ansible_collections.azcni.cilium.plugins.module_utils._aks import network_rules as rules
from ansible_collections.azcni.cilium.plugins.module_utils._azure import ids, names
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureError
from ansible_collections.azcni.cilium.plugins.module_utils._aks.cidr import parse_network


class Network(object):
    """One run of the module: read, check, plan, then write only what differs."""

    def __init__(self, az):
        self.az = az
        self.params = az.params
        self.group_name = self.params["resource_group"]
        self.vnet_name = self.params["vnet_name"]
        self.changed = False

    # --- Azure calls -------------------------------------------------------------------------------
    def _network(self):
        return self.az.client("network")

    def _read(self):
        try:
            group = self.az.get(self.az.client("resources").resource_groups.get, self.group_name)
            vnet = None
            if group is not None and self.vnet_name:
                vnet = self.az.get(self._network().virtual_networks.get, self.group_name, self.vnet_name)
        except AzureError as exc:
            self.az.fail_azure(exc, "Cannot read resource group %s" % self.group_name)
        return group, vnet

    def _write(self, what, operation, *args, **kwargs):
        self.changed = True
        if self.az.check_mode:
            return None
        try:
            if kwargs.pop("sync", False):
                answer = self.az.call(operation, *args, **kwargs)
                self.az.accepted(what)
                return answer
            poller = self.az.call(operation, *args, **kwargs)
            self.az.accepted(what)  # stored from here on, whatever the operation's outcome
            return self.az.wait(poller, what=what)
        except AzureError as exc:
            self.az.fail_azure(exc, "Cannot %s" % what)

    def subnet_id(self, name):
        return ids.subnet_id(self.az.subscription_id, self.group_name, self.vnet_name, name)

    # --- present -----------------------------------------------------------------------------------
    def _intent(self):
        prefixes = [str(parse_network(p)) for p in self.params["address_prefixes"] or []]
        subnets = []
        for subnet in self.params["subnets"]:
            subnet = dict(subnet)
            if subnet.get("address_prefix"):
                subnet["address_prefix"] = str(parse_network(subnet["address_prefix"]))
            subnets.append(subnet)
        return prefixes, subnets

    def name_problems(self):
        """Azure's naming and sizing rules for every name and range of the input (no request needed)."""
        problems = [names.resource_group("resource_group", self.group_name)]
        if self.vnet_name:
            problems.append(names.vnet_name("vnet_name", self.vnet_name))
        for index, subnet in enumerate(self.params["subnets"]):
            option = "subnets[%d]" % index
            problems.append(names.network_name(option + ".name", subnet["name"]))
            if subnet.get("address_prefix"):
                problems.append(names.subnet_size("%s.address_prefix (subnet %s)" % (option, subnet["name"]),
                                                  subnet["address_prefix"]))
        prefixes = self.params["address_prefixes"] or []
        if self.params["state"] == "present" and prefixes and not names.has_ipv4(prefixes):
            problems.append("address_prefixes %s has no IPv4 range; AKS nodes and pods need IPv4 addresses (Azure "
                            "VNets are IPv4 or dual-stack)" % ", ".join(prefixes))
        return problems

    def present(self):
        self.az.check_names(self.name_problems())
        if (self.params["subnets"] or self.params["address_prefixes"]) and not self.vnet_name:
            self.az.fail_json(msg="subnets and address_prefixes need vnet_name")
        if self.vnet_name and not self.params["address_prefixes"]:
            self.az.fail_json(msg="address_prefixes is required to manage VNet %s" % self.vnet_name)
        try:
            rules.check_intent(self.params["address_prefixes"], self.params["subnets"])
            prefixes, subnets = self._intent()
        except ValueError as exc:
            self.az.fail_json(msg=str(exc))
        group, vnet = self._read()
        if group is None or (vnet is None and self.vnet_name):
            self.az.check_names([], self.params["location"])  # what is created goes to a region of the subscription
        location = self.params["location"] or (group or {}).get("location")
        if not location:
            self.az.fail_json(msg="location is required to create resource group %s" % self.group_name)
        if vnet is not None:
            self._check_existing_vnet(vnet, location, prefixes, subnets)

        new_group = self._ensure_group(group, location)
        new_vnet = self._ensure_vnet(vnet, location, prefixes, subnets) if self.vnet_name else None
        return group, vnet, new_group, new_vnet

    def _check_existing_vnet(self, vnet, location, prefixes, subnets):
        if self.params["location"] and not rules.same_location(vnet.get("location"), location):
            self.az.fail_json(msg="VNet %s is in %s; a VNet cannot move to %s" % (self.vnet_name, vnet.get("location"), location))
        try:
            rules.check_against_existing(prefixes, subnets, vnet)
        except ValueError as exc:
            self.az.fail_json(msg=str(exc))
        current = {s.get("name"): s for s in vnet.get("properties", {}).get("subnets") or []}
        for subnet in subnets:
            body = current.get(subnet["name"])
            if body is None or rules.subnet_prefixes(body) == [subnet["address_prefix"]]:
                continue
            users = rules.subnet_users(body)
            if users:
                self.az.fail_json(msg="Cannot change the range of subnet %s from %s to %s: it is in use (%s)" % (
                    subnet["name"], ", ".join(rules.subnet_prefixes(body)), subnet["address_prefix"], "; ".join(users)))

    def _ensure_group(self, group, location):
        tags = self.params["tags"]
        if group is None:
            body = {"location": location, "tags": rules.merged_tags(None, tags)}
        elif rules.merged_tags(group.get("tags"), tags) != (group.get("tags") or {}):
            body = dict(group, tags=rules.merged_tags(group.get("tags"), tags))
        else:
            return group
        resources = self.az.client("resources")
        result = self._write("create or update resource group %s" % self.group_name,
                             resources.resource_groups.create_or_update, self.group_name, body=body, sync=True)
        return result or body

    def _ensure_vnet(self, vnet, location, prefixes, subnets):
        tags = self.params["vnet_tags"] if self.params["vnet_tags"] is not None else self.params["tags"]
        planned = rules.desired_vnet(vnet, location, prefixes, tags, subnets)
        network = self._network()
        if vnet is None or rules.vnet_needs_update(vnet, prefixes, tags):
            # one PUT carries the VNet and every subnet (existing ones exactly as Azure returned them)
            result = self._write("create or update VNet %s" % self.vnet_name, network.virtual_networks.begin_create_or_update,
                                 self.group_name, self.vnet_name, body=planned)
            return result or planned
        current = {s.get("name"): s for s in vnet.get("properties", {}).get("subnets") or []}
        final = {s.get("name"): s for s in planned["properties"]["subnets"]}
        for subnet in subnets:
            if rules.subnet_needs_update(current.get(subnet["name"]), subnet):
                result = self._write("create or update subnet %s" % subnet["name"], network.subnets.begin_create_or_update,
                                     self.group_name, self.vnet_name, subnet["name"], body=final[subnet["name"]])
                final[subnet["name"]] = result or final[subnet["name"]]
        planned["properties"]["subnets"] = list(final.values())
        return planned

    # --- absent ------------------------------------------------------------------------------------
    def _clusters(self):
        try:
            return self.az.list(self.az.client("containerservice").managed_clusters.list_by_resource_group, self.group_name)
        except AzureError as exc:
            self.az.fail_azure(exc, "Cannot list the managed clusters of resource group %s" % self.group_name)

    def absent(self):
        self.az.check_names(self.name_problems())
        if not self.vnet_name and not self.params["delete_resource_group"]:
            self.az.fail_json(msg="state=absent needs vnet_name (to delete the VNet or its subnets) or delete_resource_group=true")
        group, vnet = self._read()
        if group is None:
            return None, None, None, None
        existing = {s.get("name"): s for s in ((vnet or {}).get("properties") or {}).get("subnets") or []}
        names = [s["name"] for s in self.params["subnets"]]
        targets = [existing[n] for n in names if n in existing] if names else list(existing.values())
        clusters = self._clusters() if targets or self.params["delete_resource_group"] else []
        blocked = ["subnet %s: %s" % (t.get("name"), "; ".join(rules.subnet_users(t, clusters)))
                   for t in targets if rules.subnet_users(t, clusters)]
        if blocked:
            self.az.fail_json(msg="Refusing to delete: still in use: %s" % " | ".join(blocked), in_use=blocked)
        if self.params["delete_resource_group"] and clusters:
            self.az.fail_json(msg="Refusing to delete resource group %s: it still holds managed cluster(s) %s; delete them first"
                              % (self.group_name, ", ".join(sorted(c.get("name") for c in clusters))))

        network = self._network()
        new_vnet = vnet
        if vnet is not None and names:
            for target in targets:
                self._write("delete subnet %s" % target["name"], network.subnets.begin_delete,
                            self.group_name, self.vnet_name, target["name"])
            new_vnet = dict(vnet, properties=dict(vnet["properties"], subnets=[
                s for s in existing.values() if s.get("name") not in names]))
        elif vnet is not None:
            self._write("delete VNet %s" % self.vnet_name, network.virtual_networks.begin_delete, self.group_name, self.vnet_name)
            new_vnet = None
        new_group = group
        if self.params["delete_resource_group"]:
            self._write("delete resource group %s" % self.group_name,
                        self.az.client("resources").resource_groups.begin_delete, self.group_name)
            new_group, new_vnet = None, None
        return group, vnet, new_group, new_vnet

    def _usage(self, exists):
        """Subnet ID (lowercase) -> the Network RP's usage of it, for a VNet Azure has (one request)."""
        if not exists or self.params["state"] != "present":
            return {}
        try:
            usages = self.az.list(self._network().virtual_networks.list_usage, self.group_name, self.vnet_name)
        except AzureError as exc:
            self.az.fail_azure(exc, "Cannot read the address usage of VNet %s" % self.vnet_name)
        return dict(((u.get("id") or "").rstrip("/").lower(), u) for u in usages or [])

    # --- result ------------------------------------------------------------------------------------
    def run(self):
        if self.params["state"] == "present":
            before_group, before_vnet, group, vnet = self.present()
        else:
            before_group, before_vnet, group, vnet = self.absent()
        result = dict(changed=self.changed, subnet_ids={}, diff=dict(
            before=rules.network_view(before_group, before_vnet), after=rules.network_view(group, vnet)))
        if group is not None:
            result["resource_group"] = dict(name=self.group_name, id=group.get("id"), location=group.get("location"))
        if self.vnet_name:
            subnets = {s.get("name"): s for s in ((vnet or {}).get("properties") or {}).get("subnets") or []}
            usage = self._usage(before_vnet is not None or (vnet is not None and not self.az.check_mode))
            result["subnets"] = {name: dict(rules.subnet_view(body), id=body.get("id") or self.subnet_id(name),
                                            **rules.subnet_addresses(body, usage.get(self.subnet_id(name).lower())))
                                 for name, body in subnets.items()}
            if self.params["state"] == "present":
                result["subnet_ids"] = {s["name"]: result["subnets"][s["name"]]["id"] for s in self.params["subnets"]}
            if vnet is not None:
                result["vnet"] = dict(name=self.vnet_name, id=vnet.get("id"), location=vnet.get("location"),
                                      address_prefixes=(vnet["properties"].get("addressSpace") or {}).get("addressPrefixes"))
        self.az.exit_json(**result)


def run_network(az):
    Network(az).run()
