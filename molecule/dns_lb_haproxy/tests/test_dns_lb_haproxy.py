"""haproxy in front of two BIND backends: TCP, DoT, DoH through the VIP; no UDP."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.dns_lb_checks import *  # noqa: E402,F401,F403  (the shared tests)
from tests.dns_lb_checks import Scenario  # noqa: E402


@pytest.fixture(scope="module")
def scenario():
    return Scenario(SCENARIO, "dns_lb_haproxy", udp=False, service="haproxy", balancing_checked=True)
