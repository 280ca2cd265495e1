"""haproxy in front of two BIND backends: TCP, DoT, DoH through the VIP; no UDP."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.awx_jobs import job_template_test  # noqa: E402

# idempotence, as AWX runs the variant (in place of Molecule's idempotence step); first
test_the_awx_job_template_runs_and_changes_nothing = job_template_test(
    "dns_lb_haproxy", SCENARIO / "inventory.yml")
from tests.dns_lb_checks import *  # noqa: E402,F401,F403  (the shared tests)
from tests.dns_lb_checks import Scenario  # noqa: E402


@pytest.fixture(scope="module")
def scenario():
    return Scenario(SCENARIO, "dns_lb_haproxy", udp=False, service="haproxy", balancing_checked=True)
