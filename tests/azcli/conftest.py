"""The azcli gate: the real Azure CLI (its own virtualenv, see scripts/test.sh) against the in-process lab."""

from tests.emulator.pytest_plugin import emulator, emulator_isolation  # noqa: F401  pylint: disable=unused-import
