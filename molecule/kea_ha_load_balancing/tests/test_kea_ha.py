"""Kea HA pair: state through the control agent, real clients, the primary stopped and back."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.kea_ha_checks import *  # noqa: E402,F401,F403  (the shared tests and fixtures)
from tests.kea_ha_checks import Scenario  # noqa: E402


@pytest.fixture(scope="module")
def scenario():
    return Scenario(SCENARIO)
