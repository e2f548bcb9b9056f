# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the AWX-layout tests: the in-process emulator (see tests/emulator/pytest_plugin.py)."""

pytest_plugins = ["tests.emulator.pytest_plugin"]
