"""AWX surveys from argument specs (plugins/module_utils/awx_survey.py, filter awx_survey_spec)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.hastack.dns_dhcp.plugins.filter.awx_survey import FilterModule
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.awx_survey import (
    SurveyError,
    survey_question,
    survey_spec,
)

SPEC = {"argument_specs": {"main": {"options": {
    "x_name": {"type": "str", "required": True, "description": ["The name.", "Really."]},
    "x_mode": {"type": "str", "default": "b", "choices": ["a", "b"], "description": "Mode."},
    "x_port": {"type": "int", "default": 53, "description": "Port."},
    "x_ratio": {"type": "float", "default": 0.5, "description": "Ratio."},
    "x_on": {"type": "bool", "default": False, "description": "On."},
    "x_picks": {"type": "list", "elements": "str", "default": ["a"], "choices": ["a", "b", "c"], "description": "P."},
    "x_list": {"type": "list", "elements": "str", "default": [], "description": "Free list."},
    "x_map": {"type": "dict", "default": {}, "description": "Map."},
    "x_secret": {"type": "str", "no_log": True, "description": "Secret."},
    "x_path": {"type": "path", "default": "/etc/x", "description": "Path."},
}}}}


def ask(name):
    return survey_spec(SPEC, [name])["spec"][0]


UNANSWERED = "Unanswered, nothing is sent: the inventory's value applies, else"


def test_str_is_text_with_the_specs_required_and_description():
    assert ask("x_name") == {"question_name": "x_name", "question_description": "The name. Really.",
                             "variable": "x_name", "required": True, "type": "text"}


@pytest.mark.parametrize("name,kind,default", [("x_port", "integer", "53"), ("x_ratio", "float", "0.5"),
                                               ("x_path", "text", "/etc/x")])
def test_scalar_types_have_no_default_the_description_names_it(name, kind, default):
    question = ask(name)
    assert (question["type"], question["required"]) == (kind, False)
    assert "default" not in question
    assert question["question_description"].endswith(f"{UNANSWERED} the default ({default}).")


def test_str_with_choices_is_multiplechoice():
    question = ask("x_mode")
    assert (question["type"], question["choices"], "default" in question) == ("multiplechoice", ["a", "b"], False)
    assert question["question_description"] == f"Mode. {UNANSWERED} the default (b)."


def test_bool_is_yes_no():
    question = ask("x_on")
    assert (question["type"], question["choices"], "default" in question) == ("multiplechoice", ["yes", "no"], False)
    assert question["question_description"].endswith("the default (no).")


def test_list_with_choices_is_multiselect():
    question = ask("x_picks")
    assert (question["type"], question["choices"], "default" in question) == ("multiselect", ["a", "b", "c"], False)
    assert question["question_description"].endswith("the default (a).")


def test_an_option_without_default_says_it_is_derived():
    assert ask("x_secret")["question_description"] == f"Secret. {UNANSWERED} the derived one."


def test_no_log_is_a_password_question():
    assert survey_question("x_secret", SPEC["argument_specs"]["main"]["options"]["x_secret"])["type"] == "password"


@pytest.mark.parametrize("name,message", [("x_list", "list without choices cannot be a survey question"),
                                          ("x_map", "dict cannot be a survey question"),
                                          ("x_nope", "x_nope: not an option of entry point 'main'")])
def test_options_that_cannot_be_asked_are_refused(name, message):
    with pytest.raises(SurveyError, match=message):
        ask(name)


def test_bad_inputs():
    with pytest.raises(SurveyError, match="no entry point 'trust'"):
        survey_spec(SPEC, ["x_name"], entry_point="trust")
    with pytest.raises(SurveyError, match="must be a list of names"):
        survey_spec(SPEC, "x_name")
    with pytest.raises(SurveyError, match="expected a loaded argument_specs.yml"):
        survey_spec("nope", ["x_name"])
    other = {"argument_specs": {"main": {"options": {"x_name": {"type": "int"}}}}}
    with pytest.raises(SurveyError, match="x_name: the argument specs given define it twice"):
        survey_spec([SPEC, other], ["x_name"])


def test_several_specs_combine_into_one_survey():
    other = {"argument_specs": {"main": {"options": {"y_port": {"type": "int", "default": 1}}}}}
    survey = survey_spec([SPEC, other], ["x_mode", "y_port"], name="n", description="d")
    assert (survey["name"], survey["description"]) == ("n", "d")
    assert [q["variable"] for q in survey["spec"]] == ["x_mode", "y_port"]


def test_the_filter_turns_errors_into_filter_errors():
    awx_survey_spec = FilterModule().filters()["awx_survey_spec"]
    assert awx_survey_spec(SPEC, ["x_mode"])["spec"][0]["choices"] == ["a", "b"]
    with pytest.raises(AnsibleFilterError, match="x_map"):
        awx_survey_spec(SPEC, ["x_map"])
