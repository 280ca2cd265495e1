"""haproxy in front of two BIND backends: TCP, DoT, DoH through the VIP; no UDP."""

from __future__ import annotations

import re
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
from tests.dns_lb_checks import ANSWERS, Scenario, backend_maintenance  # noqa: E402


@pytest.fixture(scope="module")
def scenario():
    return Scenario(SCENARIO, "dns_lb_haproxy", udp=False, service="haproxy", balancing_checked=True)


def test_maintenance_of_a_backend_drains_it_from_haproxy_first(scenario, capsys):
    """playbooks/maintenance.yml on a backend: HAProxy's admin socket sets it to drain in every
    backend section on both proxies (no new connections, the open ones finished), its named
    restarts as the work, then it is ready again under the health checks. A client queries
    the VIP over TCP (a new connection each time) every 20 ms all along."""
    backend = scenario.backends[1]
    out, figures = backend_maintenance(scenario, capsys, tcp=True)
    got = figures[scenario.vip]
    for proxy in scenario.proxies:
        for pool in ("dns_tcp", "dot", "doh"):
            assert re.search(rf"MAINTENANCE {backend} drained {proxy} [^M]*{pool} be2 drain 0", out), out[-3000:]
            assert re.search(rf"MAINTENANCE {backend} restored {proxy} [^M]*{pool} be2 up ", out), out[-3000:]
    assert set(scenario.answers(6, "+tcp")) == ANSWERS
    assert got["sent"] > 100 and got["unanswered"] == 0, got
