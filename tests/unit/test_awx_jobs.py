"""tests/awx_jobs.py's model of AWX 24.x surveys (what the scenarios' job template tests and
tests/fake_awx.py rely on), and what it implies for the surveys of awx_configure.yml."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests import awx_jobs
from tests.awx_jobs import AWXRefused, awx_launch_extra_vars, awx_store_survey_spec
from tests.labkit import REPO

CONFIGURE = yaml.safe_load((REPO / "playbooks/awx_configure.yml").read_text())[0]["vars"]
TEMPLATES = sorted(set(CONFIGURE["awx_variants"]) | set(CONFIGURE["awx_surveys"]) | {"vip_status"})


def spec(*questions):
    return awx_store_survey_spec({"name": "s", "description": "", "spec": [
        {"question_name": q["variable"], "required": False, **q} for q in questions]})


def test_awx_sends_a_default_the_operator_did_not_answer():
    survey = spec({"variable": "iface", "type": "text", "default": "eth0"})
    assert awx_launch_extra_vars(survey, {}) == {"iface": "eth0"}
    assert awx_launch_extra_vars(survey, {"iface": "eth1"}) == {"iface": "eth1"}


def test_awx_24_sends_an_empty_default_too():
    assert awx_launch_extra_vars(spec({"variable": "iface", "type": "text", "default": ""}), {}) == {"iface": ""}


def test_a_question_without_default_sends_nothing_unanswered():
    survey = spec({"variable": "iface", "type": "text"}, {"variable": "mode", "type": "multiplechoice",
                                                          "choices": ["a", "b"]})
    assert awx_launch_extra_vars(survey, {}) == {}
    assert awx_launch_extra_vars(survey, {"mode": "b"}) == {"mode": "b"}


def test_a_multiselect_default_is_stored_as_text_and_dropped_at_launch():
    with pytest.raises(AWXRefused, match="expected to be string"):
        spec({"variable": "m", "type": "multiselect", "choices": ["a", "b"], "default": ["a", "b"]})
    survey = spec({"variable": "m", "type": "multiselect", "choices": ["a", "b"], "default": "a\n\nb\n"})
    assert survey["spec"][0]["default"] == "a\nb"
    assert awx_launch_extra_vars(survey, {}) == {}
    assert awx_launch_extra_vars(survey, {"m": ["b"]}) == {"m": ["b"]}


@pytest.mark.parametrize("question,answers,message", [
    ({"variable": "x", "type": "text", "required": True}, {}, "'x' value missing"),
    ({"variable": "x", "type": "multiplechoice", "choices": ["a"]}, {"x": "b"}, "expected to be one of"),
    ({"variable": "x", "type": "multiselect", "choices": ["a"]}, {"x": "a"}, "expected to be a list"),
    ({"variable": "x", "type": "integer"}, {"x": "5"}, "expected to be an integer"),
    ({"variable": "x", "type": "text"}, {"y": "1"}, "Variables y are not allowed on launch"),
])
def test_awx_refuses_such_launches(question, answers, message):
    with pytest.raises(AWXRefused, match=message):
        awx_launch_extra_vars(spec(question), answers)


def test_awx_refuses_to_store_a_default_outside_the_choices():
    with pytest.raises(AWXRefused, match="Default choice must be answered from the choices"):
        spec({"variable": "x", "type": "multiplechoice", "choices": ["a"], "default": "b"})


# the maintenance template has nothing to fall back on for the group and the node: AWX asks them
REQUIRED = {"maintenance": {"maintenance_group": "dnsmasq_active_standby", "maintenance_node": "lab-dns1"}}


@pytest.mark.parametrize("template", TEMPLATES)
def test_no_survey_of_awx_configure_sends_anything_unanswered(template):
    assert awx_jobs.survey_extra_vars(template, dict(REQUIRED.get(template, {}))) == REQUIRED.get(template, {})


def test_the_maintenance_template_is_not_launched_without_its_group_and_node():
    with pytest.raises(AWXRefused, match="'maintenance_group' value missing; 'maintenance_node' value missing"):
        awx_jobs.survey_extra_vars("maintenance", {})


def test_an_unanswered_survey_keeps_the_inventorys_value(tmp_path):
    """kea_ha_mode: load-balancing in the inventory (the role's default is hot-standby), the kea_ha
    template launched with no answer: the host still has load-balancing; an answer overrides it."""
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"kea_ha": {
        "hosts": {"kea1": {"ansible_connection": "local"}}, "vars": {"kea_ha_mode": "load-balancing"}}}))

    def mode(answers):
        extra = tmp_path / "extra.json"
        extra.write_text(json.dumps(awx_jobs.survey_extra_vars("kea_ha", answers)))
        out = subprocess.run([str(Path(sys.executable).parent / "ansible"), "kea1", "-i", str(inventory),
                              "-e", f"@{extra}", "-m", "ansible.builtin.debug", "-a", "var=kea_ha_mode", "-o"],
                             capture_output=True, text=True, check=True, cwd=REPO,
                             env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}).stdout
        return out

    assert '"kea_ha_mode": "load-balancing"' in mode({})
    assert '"kea_ha_mode": "hot-standby"' in mode({"kea_ha_mode": "hot-standby"})
