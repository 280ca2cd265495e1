"""The surveys of playbooks/awx_configure.yml: every question is an option of the argument
spec it names, with the spec's choices (and its default named in the description, never set as
the question's default), so role, drill and survey cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.awx_survey import survey_spec

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = yaml.safe_load((REPO / "playbooks/awx_configure.yml").read_text())
SURVEYS = PLAYBOOK[0]["vars"]["awx_surveys"]


def load(path):
    return yaml.safe_load((REPO / path).read_text())


@pytest.mark.parametrize("template", sorted(SURVEYS))
def test_each_survey_of_awx_configure_equals_its_specs(template):
    wanted = SURVEYS[template]
    specs = [load(path) for path in wanted["specs"]]
    survey = survey_spec(specs, wanted["options"], name=template)
    options = {}
    for spec in specs:
        options.update(spec["argument_specs"]["main"]["options"])
    for question in survey["spec"]:
        option = options[question["variable"]]
        if "choices" in option:
            assert question["choices"] == [str(choice) for choice in option["choices"]], question["variable"]
        # AWX sends a question's default even unanswered, and it would beat the inventory
        assert "default" not in question, f"{question['variable']}: AWX would send the default unanswered"
        if option.get("default") is not None:
            shown = (", ".join(map(str, option["default"])) or "none") if isinstance(option["default"], list) else (
                ("yes" if option["default"] else "no") if option.get("type") == "bool" else str(option["default"]))
            assert f"the default ({shown})" in question["question_description"], question["variable"]
        assert question["required"] == bool(option.get("required")), question["variable"]


def test_the_maintenance_survey_asks_the_actions_and_work_the_playbook_accepts():
    survey = survey_spec([load(path) for path in SURVEYS["maintenance"]["specs"]], SURVEYS["maintenance"]["options"])
    questions = {q["variable"]: q for q in survey["spec"]}
    text = (REPO / "playbooks/maintenance.yml").read_text()
    assert questions["maintenance_work"]["choices"] == yaml.safe_load(
        re.search(r"maintenance_work \| difference\((\[[^\]]*\])\)", text).group(1))
    assert questions["maintenance_action"]["choices"] == yaml.safe_load(
        re.search(r"maintenance_action in (\[[^\]]*\])\n", text).group(1))
    assert questions["maintenance_node"]["required"] and questions["maintenance_group"]["required"]


def test_the_drill_survey_asks_the_break_methods_the_drill_accepts():
    survey = survey_spec([load(path) for path in SURVEYS["failover_drill"]["specs"]],
                         SURVEYS["failover_drill"]["options"])
    methods = next(q for q in survey["spec"] if q["variable"] == "drill_methods")
    drill_text = (REPO / "playbooks/failover_drill.yml").read_text()
    accepted = yaml.safe_load(re.search(r"drill_methods \| difference\((\[[^\]]*\])\)", drill_text).group(1))
    assert methods["choices"] == accepted
    assert methods["type"] == "multiselect"


@pytest.mark.parametrize("playbook", ["failover_drill", "maintenance"])
def test_the_spec_defaults_are_the_playbooks_own(playbook):
    play_vars = next(play["vars"] for play in load(f"playbooks/{playbook}.yml") if "vars" in play)
    options = load(f"playbooks/specs/{playbook}.yml")["argument_specs"]["main"]["options"]
    for name, option in options.items():
        if option.get("required"):
            continue
        assert name in play_vars, f"{name} is in the spec but not a variable of {playbook}.yml"
        value = play_vars[name]
        if isinstance(value, str) and "{{" in value:
            assert "default" not in option, f"{name}: the drill derives it ({value.strip()}), the spec must not fix it"
        else:
            assert option.get("default") == value, f"{name}: spec default {option.get('default')!r}, playbook {value!r}"


def test_every_variant_playbooks_site_yml_imports_has_a_job_template():
    variants = set(PLAYBOOK[0]["vars"]["awx_variants"])
    imported = {Path(play["ansible.builtin.import_playbook"]).stem for play in load("playbooks/site.yml")}
    assert imported - {"dns_backends"} <= variants, f"no job template for {sorted(imported - variants)}"
    assert set(SURVEYS) - {"failover_drill", "maintenance"} <= variants
