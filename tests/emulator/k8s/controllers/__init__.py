"""The controllers and the kubelet of one emulated cluster.

- loop.py: the event-driven loop that runs one pass after each write or timer;
- kubelet.py: scheduling and pod status; namespaces.py and garbage.py: namespace lifecycle and GC;
- daemonset.py, deployment.py, replicaset.py: one file per workload controller;
- common.py: what they share (naming hashes, predicates, the test knobs).

Names follow the real controllers: pods <owner>-<5 chars>, ReplicaSets <deployment>-<pod-template-hash>,
ControllerRevisions <daemonset>-<hash>, with the hash encoded in the "bcdfghjklmnpqrstvwxz2456789" alphabet.
"""

from .common import Settings, fnv32a, pod_ready, template_hash
from .loop import Controllers

__all__ = ["Controllers", "Settings", "fnv32a", "pod_ready", "template_hash"]
