"""Network migrations of a managed cluster: the IPAM mode, the data plane or the policy engine changes.

What AKS does (docs: update-azure-cni / upgrade-aks-ipam-and-dataplane, migrate-from-npm-to-cilium):
- the operation takes longer than a plain update (`settings.migration_delay`, if larger than
  `provision_delay`);
- an IPAM or data plane change reimages every node pool at once (removing a policy engine alone,
  `networkPolicy: none`, only uninstalls it): the nodes are cordoned when the operation starts; when it
  finishes they are replaced by new instances, pods reschedule onto them, the old policy engine's
  pods go and the Cilium agents start on the new nodes (tests.emulator.k8s.reimage);
- a drain that still hits a PodDisruptionBudget allowing no disruption when the operation is due fails it with AKS's
  UpgradeFailed error (the message as AKS prints it, from recorded `az` output: blog.joeyc.dev
  "misleading-pdb-error" and canonical/bundle-kubeflow#1339); the nodes are made schedulable
  again and the cluster ends in provisioningState Failed with the requested profile stored.

MIGRATION_RULES are rows for rules.RULES (name, status, code, subcode, message, target, check),
checked right after the concurrency rule, before the generic overlay rule.
"""

NETWORK_KEYS = ("networkPlugin", "networkPluginMode", "networkDataplane", "networkPolicy")
DRAIN_FAILED = ("Drain node {node} failed when evicting pod {pod} failed with Too Many Requests error. This is often "
                "caused by a restrictive Pod Disruption Budget (PDB) policy. See http://aka.ms/aks/debugdrainfailures. "
                "Original error: Cannot evict pod as it would violate the pod's disruption budget.. PDB debug info: "
                "{namespace}/{pod} blocked by pdb {pdb} with {unready_count} unready pods: [{unready}].")


def _value(np, key):
    value = (np or {}).get(key)
    if key == "networkDataplane":
        value = value or "azure"
    if key == "networkPolicy":
        value = value or "none"
    return (value or "").lower()


def network_migration(old, cluster):
    """The networkProfile keys a PUT changes among plugin, plugin mode, data plane and policy."""
    if old is None:
        return []
    before, after = old["properties"]["networkProfile"], cluster["properties"]["networkProfile"]
    return [key for key in NETWORK_KEYS if _value(before, key) != _value(after, key)]


def reimages(old, cluster):
    """IPAM and data plane changes reimage every pool; uninstalling a policy engine alone does not."""
    return any(key != "networkPolicy" for key in network_migration(old, cluster))


def shape(arm, op, old, cluster):
    """Make a migration's operation take its time and, when a PDB still blocks the drain as it ends, fail like AKS.

    AKS retries a refused eviction until its drain timeout, so the budgets are judged when the operation
    is due (pods rescheduled by a previous step have become Ready by then), not when it starts.
    """
    if not reimages(old, cluster):
        return
    op.due = max(op.due, op.start + float(arm.settings.migration_delay or 0.0))
    handle = arm.kube.handles.get(cluster["id"].lower())
    if handle is None:
        return
    handle.begin_network_migration()
    done = op.on_done

    def waiting_for_ready_pods():
        """AKS retries a refused eviction until its drain timeout: a budget that only lacks pods that are still
        starting (rescheduled by the previous step) lets the drain through once they are Ready."""
        blocker = handle.drain_blocker()
        return blocker is not None and bool(blocker[3])
    op.hold, op.hold_until = waiting_for_ready_pods, op.due + float(arm.settings.drain_timeout or 0.0)

    def finished(operation):
        blocker = handle.drain_blocker() if operation.status == "Succeeded" else None
        if operation.status != "Succeeded" or blocker is not None:
            handle.end_network_migration()  # AKS makes the cordoned nodes schedulable again
        if blocker is not None:
            operation.status, operation.error = "Failed", {"code": "UpgradeFailed", "message": drain_message(*blocker)}
        done(operation)
    op.on_done = finished


def drain_message(node, pod, pdb, unready):
    namespace = pod["metadata"]["namespace"]
    return DRAIN_FAILED.format(node=node, pod=pod["metadata"]["name"], namespace=namespace, pdb=pdb["metadata"]["name"],
                               unready_count=len(unready), unready=", ".join("%s/%s" % (namespace, name) for name in unready))


# ---- validation rows -------------------------------------------------------------------------------
def overlay_with_network_policy(ch):
    if ch.old is not None and ch.overlay() and not ch.overlay(ch.old_np) and ch.policy(ch.old_np) in ("azure", "calico"):
        return {}
    return None


def migration_with_node_auto_provisioning(ch):
    if ch.old is None or not (ch.ipam_changed() or ch.dataplane_changed()):
        return None
    profile = ch.cluster["properties"].get("nodeProvisioningProfile") or {}
    return {} if (profile.get("mode") or "").lower() == "auto" else None


MIGRATION_RULES = [
    # recorded real answer (Azure/AKS#4006, MicrosoftDocs/azure-aks-docs#264): the policy engine goes first
    ("overlay-migration-with-network-policy", 400, "ValidationError", None,
     "Cannot update cluster to Azure CNI Overlay while using network policies with Azure CNI v1.",
     "networkProfile.networkPluginMode", overlay_with_network_policy),
    # docs (update-azure-cni: "node auto-provisioning must be disabled"); the code is AKS's generic one, a guess
    ("migration-with-node-auto-provisioning", 400, "BadRequest", "NodeAutoProvisioningNotSupported",
     "Updating the network plugin mode or the network dataplane is not supported while node auto-provisioning "
     "is enabled (nodeProvisioningProfile.mode Auto). Set the mode to Manual first.",
     "nodeProvisioningProfile.mode", migration_with_node_auto_provisioning),
]
