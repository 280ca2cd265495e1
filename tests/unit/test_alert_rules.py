"""The collection's alert rules: promtool check rules and promtool test rules
(tests/unit/alert_rules/), on the rules rendered with the prometheus role's defaults and
with the lab's short timings. promtool comes from Debian's prometheus package
(lab/lab.py install extracts it; HASTACK_PROMTOOL overrides the path)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles/prometheus"
PROMTOOL = Path(os.environ.get("HASTACK_PROMTOOL", "/var/lib/hastack-lab/bin/promtool"))


def render_rules(**overrides) -> str:
    """hastack-alerts.yml as the role writes it (Ansible's template module: trim_blocks)."""
    values = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
    values.update(overrides, ansible_managed="Managed by Ansible")
    env = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined)
    return env.from_string((ROLE / "templates/hastack-alerts.yml.j2").read_text()).render(values)


@pytest.fixture(scope="module")
def promtool():
    assert PROMTOOL.exists(), f"{PROMTOOL} is missing: run `python3 lab/lab.py install` (as root)"
    return str(PROMTOOL)


def test_the_rules_pass_promtool_check(promtool, tmp_path):
    rules = tmp_path / "hastack-alerts.yml"
    rules.write_text(render_rules())
    result = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 10 rules found" in result.stdout


def test_the_rules_with_the_lab_timings_pass_promtool_check(promtool, tmp_path):
    lab = yaml.safe_load((REPO / "molecule/monitoring/inventory.yml").read_text())
    overrides = lab["all"]["children"]["monitoring"]["vars"]
    rules = tmp_path / "hastack-alerts.yml"
    rules.write_text(render_rules(**{k: v for k, v in overrides.items() if k.startswith("prometheus_alert")}))
    result = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "for: 5s" in rules.read_text()


def test_each_alert_fires_on_its_break_and_not_beside_it(promtool, tmp_path):
    (tmp_path / "hastack-alerts.yml").write_text(render_rules())
    tests = yaml.safe_load((REPO / "tests/unit/alert_rules/hastack_alerts_test.yml").read_text())
    tests["rule_files"] = ["hastack-alerts.yml"]
    (tmp_path / "test.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", "test.yml"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_every_alert_has_a_test():
    rules = yaml.safe_load(render_rules())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    tests = yaml.safe_load((REPO / "tests/unit/alert_rules/hastack_alerts_test.yml").read_text())
    tested = {case["alertname"] for test in tests["tests"] for case in test["alert_rule_test"] if case["exp_alerts"]}
    assert alerts == tested, f"alerts without a firing test: {sorted(alerts - tested)}"
