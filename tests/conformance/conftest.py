"""The conformance gate: the lab against the upstream facts in ../shared/reference (beside the checkout).

scripts/test.sh runs this folder only when that folder is there and reports the gate as skipped, with the
reason, when it is not. Run by hand without it, the session stops at once with the same reason: nothing here
is silently skipped.
"""

import os
import sys
import tempfile

import pytest

# the emulator tests' fixtures: the real SDK clients against an ARM emulator, and emulated clusters
from tests.emulator_tests.conftest import raw, sdk, swagger_guard  # noqa: F401  pylint: disable=unused-import
from tests.emulator_tests.k8s_fixtures import k8s_ca, k8s_cluster, k8s_factory  # noqa: F401  pylint: disable=unused-import
from tests.emulator.pytest_plugin import emulator, emulator_isolation  # noqa: F401  pylint: disable=unused-import

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
REFERENCE = os.path.normpath(os.path.join(REPO, "..", "shared", "reference"))


def _collection_on_path():
    """Make ansible_collections.azcni.cilium importable from this checkout (the product checks below use it)."""
    try:
        import ansible_collections.azcni.cilium  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
        return
    except ImportError:
        pass
    root = tempfile.mkdtemp(prefix="azcni-conformance-")
    os.makedirs(os.path.join(root, "ansible_collections", "azcni"))
    os.symlink(REPO, os.path.join(root, "ansible_collections", "azcni", "cilium"))
    sys.path.insert(0, root)


_collection_on_path()


def pytest_configure(config):
    config.addinivalue_line("markers", "schema_invalid: the test deliberately sends bodies the swagger rejects")
    if not os.path.isdir(REFERENCE):
        raise pytest.UsageError("the conformance tests compare the lab with %s, which is absent" % REFERENCE)
