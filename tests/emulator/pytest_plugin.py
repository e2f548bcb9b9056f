"""pytest fixtures for the emulators.

Use from a conftest.py with `pytest_plugins = ["tests.emulator.pytest_plugin"]` (only in a conftest
that pytest loads at start-up, i.e. one in a directory named on the command line or the rootdir),
or import the fixtures: `from tests.emulator.pytest_plugin import emulator, emulator_isolation`.

`emulator` (session): the ARM emulator running in-process, with provisioning finishing by the
client's first poll. After every test, `emulator_isolation` clears faults, restores the default
settings and completes operations a test left pending.

Slow or stuck provisioning for one request (the cluster stays Creating/Updating until it is done):
    emulator.add_fault(method="PUT", path=r"/managedClusters/NAME$", provision_delay=3600)
    ...
    emulator.arm.finish_operations()          # ends every pending operation now
For every AKS operation of a test: emulator.arm.settings.provision_delay = 5 (restored afterwards;
resource-group and VNet operations are not slowed by it, so fixture teardown stays fast).
"""

import pytest

from . import Emulator

_RUNNING = []


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    instance = Emulator(str(tmp_path_factory.mktemp("emulator"))).start()
    _RUNNING.append(instance)
    yield instance
    _RUNNING.remove(instance)
    instance.stop()


@pytest.fixture(autouse=True)
def emulator_isolation():
    yield
    for instance in _RUNNING:
        instance.reset_test_state()
