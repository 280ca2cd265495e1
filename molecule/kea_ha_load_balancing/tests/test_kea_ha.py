"""Kea HA pair: state through the control agent, real clients, the primary stopped and back."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.awx_jobs import job_template_test  # noqa: E402

# idempotence, as AWX runs the variant (in place of Molecule's idempotence step); first.
# No survey answer: the inventory's kea_ha_mode (load-balancing, not the role's default) must
# survive an unanswered survey, or the job would reconfigure the pair as hot-standby.
test_the_awx_job_template_runs_and_changes_nothing = job_template_test(
    "kea_ha", SCENARIO / "inventory.yml")
from tests.kea_ha_checks import *  # noqa: E402,F401,F403  (the shared tests and fixtures)
from tests.kea_ha_checks import Scenario  # noqa: E402


@pytest.fixture(scope="module")
def scenario():
    return Scenario(SCENARIO)
