"""README's minimal inventories of the DHCP pairs (section "Minimal inventory: dhcpd_failover /
kea_ha") are what the scenarios deploy: each scenario's group vars are exactly the README's
example plus the lab-only lines the README shows, so the docs cannot drift from the tests."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.labkit import REPO

SECTION = REPO.joinpath("README.md").read_text().split("### Minimal inventory: dhcpd_failover / kea_ha", 1)[1]
SECTION = re.split(r"\n#{2,3} ", SECTION, maxsplit=1)[0]
BLOCKS = [block for block in re.findall(r"```yaml\n(.*?)```", SECTION, re.S)]
SCENARIOS = {"dhcpd_failover": "dhcpd_failover", "kea_ha_hot_standby": "kea_ha", "kea_ha_load_balancing": "kea_ha"}


def block(pattern):
    """The README's YAML block whose first line (a comment) matches pattern, loaded."""
    found = [text for text in BLOCKS if re.search(pattern, text.splitlines()[0])]
    assert len(found) == 1, f"README: {len(found)} blocks whose first line matches {pattern!r}"
    return yaml.safe_load(found[0]) or {}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_scenario_deploys_the_readmes_minimal_inventory_plus_the_lab_lines(scenario):
    group = SCENARIOS[scenario]
    inventory = yaml.safe_load((REPO / "molecule" / scenario / "inventory.yml").read_text())
    deployed = inventory["all"]["children"][group]["vars"]
    example = block(rf"^# group_vars/{group}\.yml, deployed by molecule/{scenario}\b")
    lab = block(rf"^# molecule/.*\b{scenario}\b.* adds?, for the lab only")
    assert not set(example) & set(lab)
    assert deployed == {**example, **lab}
    assert len(inventory["all"]["children"][group]["hosts"]) == 2


def test_the_minimal_inventories_state_intent_only():
    """No wiring: the subnets the playbook derives from hastack_dhcp_subnets are not set."""
    for scenario, group in SCENARIOS.items():
        example = block(rf"^# group_vars/{group}\.yml, deployed by molecule/{scenario}\b")
        assert not {f"{group}_subnets", f"{group}_peers", f"{group}_primary"} & set(example), scenario


@pytest.mark.parametrize("variant", ["dhcpd_failover", "kea_ha"])
def test_the_variant_playbook_derives_its_wiring_before_anything_else(variant):
    """What it derives and that the inventory wins: tests/unit/test_variant_wiring.py."""
    first = yaml.safe_load((REPO / "playbooks" / f"{variant}.yml").read_text())[0]["tasks"][0]
    assert first["ansible.builtin.include_tasks"] == "tasks/variant_wiring.yml"
    assert first["vars"] == {"variant_wiring_group": variant}