"""The garbage collector: dependents of deleted owners go (background propagation), and so do pods bound
to deleted nodes. The loop runs it after a pass that saw a deletion."""

from .common import Controller


class GarbageCollector(Controller):

    def collect(self):
        nodes = {n["metadata"]["name"] for n in self.store.objects("/nodes")}
        for pod in list(self.store.objects("/pods")):
            if (pod.get("spec") or {}).get("nodeName") and pod["spec"]["nodeName"] not in nodes:
                self.api.remove(self.types["/pods"], pod)
        types = self.api.registry.all()
        uids = set()
        for rtype in types:
            for obj in self.store.objects(rtype.key):
                uids.add(obj["metadata"].get("uid"))
        for rtype in types:
            for obj in list(self.store.objects(rtype.key)):
                refs = obj["metadata"].get("ownerReferences") or []
                if refs and not any(ref.get("uid") in uids for ref in refs):
                    self.api.remove(rtype, obj)
