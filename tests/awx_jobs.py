"""Run the job templates of playbooks/awx_configure.yml the way AWX runs them: ansible-runner
with the template's playbook, the inventory, and the survey's answers as extra vars.

The templates and their surveys are read from awx_configure.yml itself (and the surveys
derived from the argument specs with the collection's own awx_survey code), so a test
runs what the controller would run. AWX 24.x's rules for surveys are modelled (awx_*
functions below; tests/fake_awx.py stores surveys with them): every question's default
that passes AWX's own validation is sent as an extra var, answered or not; a multiselect
default is stored as newline-separated text and dropped at launch (it fails AWX's list
check); an unanswered question without a default sends nothing; answers outside the
choices, of the wrong type, or to questions the survey does not ask are refused.
"""

from __future__ import annotations

import copy
import os
import sys
import tempfile
from pathlib import Path

import yaml

from tests.labkit import REPO


def _configure_vars() -> dict:
    play = yaml.safe_load((REPO / "playbooks/awx_configure.yml").read_text())[0]
    return play["vars"], play["tasks"]


def template_playbook(template: str) -> str:
    """The playbook a job template runs (as awx_configure.yml defines it)."""
    variables, tasks = _configure_vars()
    if template in variables["awx_variants"]:
        return f"playbooks/{template}.yml"
    for task in tasks:
        playbooks = task.get("vars", {}).get("__awx_playbooks")
        if playbooks and template in playbooks:
            return playbooks[template]
    raise KeyError(f"{template}: no job template of that name in playbooks/awx_configure.yml")


def survey(template: str) -> list[dict]:
    """The survey questions of a job template ([] when it has no survey)."""
    if str(REPO / "collections") not in sys.path:  # the collection from this checkout
        sys.path.insert(0, str(REPO / "collections"))
    from ansible_collections.hastack.dns_dhcp.plugins.module_utils.awx_survey import survey_spec

    variables, _tasks = _configure_vars()
    entry = variables["awx_surveys"].get(template)
    if not entry:
        return []
    specs = [yaml.safe_load((REPO / path).read_text()) for path in entry["specs"]]
    return survey_spec(specs, entry["options"])["spec"]


class AWXRefused(ValueError):
    """What AWX answers with a 400: a survey spec it will not store, a launch it will not start."""


# AWX 24.x's rules, modelled from awx/api/views/__init__.py (JobTemplateSurveySpec._validate_spec_data)
# and awx/main/models/mixins.py (SurveyJobTemplateMixin: _survey_element_validation,
# _accept_or_ignore_variables, _update_unified_job_kwargs). Password questions are not modelled
# (the surveys have none).
ALLOWED_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str,
                 "integer": int, "float": float}


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() != ""]


def awx_store_survey_spec(spec: dict) -> dict:
    """The survey spec as AWX stores it on POST .../survey_spec/, or AWXRefused as AWX refuses it."""
    spec = copy.deepcopy(spec)
    for field, kind in (("name", str), ("description", str), ("spec", list)):
        if not isinstance(spec.get(field), kind):
            raise AWXRefused(f"Field '{field}' is missing from survey spec or has the wrong type.")
    if not spec["spec"]:
        raise AWXRefused("'spec' doesn't contain any items.")
    seen = set()
    for idx, item in enumerate(spec["spec"]):
        for field in ("type", "question_name", "variable", "required"):
            if field not in item:
                raise AWXRefused(f"'{field}' missing from survey question {idx}.")
            if not isinstance(item[field], bool if field == "required" else str):
                raise AWXRefused(f"'{field}' in survey question {idx} has the wrong type.")
        if item["variable"] in seen:
            raise AWXRefused(f"'variable' '{item['variable']}' duplicated in survey question {idx}.")
        seen.add(item["variable"])
        qtype = item["type"]
        if qtype not in ALLOWED_TYPES:
            raise AWXRefused(f"'{qtype}' in survey question {idx} is not an allowed question type.")
        if "default" in item and item["default"] != "" and not isinstance(item["default"], ALLOWED_TYPES[qtype]):
            raise AWXRefused(f"Default value {item['default']} in survey question {idx} expected to be "
                             f"{qtype if qtype in ('integer', 'float') else 'string'}.")
        for key in ("min", "max"):
            if item.get(key) is not None and not isinstance(item[key], int):
                raise AWXRefused(f"The {key} limit in survey question {idx} expected to be integer.")
        if qtype in ("multiselect", "multiplechoice"):
            if "choices" not in item:
                raise AWXRefused(f"Survey question {idx} of type {qtype} must specify choices.")
            if isinstance(item["choices"], str):
                item["choices"] = "\n".join(_lines(item["choices"]))
            if "default" in item:
                if isinstance(item["default"], str):
                    item["default"] = "\n".join(_lines(item["default"]))
                    defaults = item["default"].splitlines()
                else:
                    defaults = item["default"]
                if qtype == "multiplechoice" and len(defaults) > 1:
                    raise AWXRefused("Multiple Choice (Single Select) can only have one default value.")
                if any(default not in item["choices"] for default in defaults):
                    raise AWXRefused("Default choice must be answered from the choices listed.")
    return spec


def awx_answer_errors(question: dict, data: dict) -> list[str]:
    """AWX's _survey_element_validation of one question against the launch's variables."""
    name, qtype = question["variable"], question["type"]
    if name not in data:
        return [f"'{name}' value missing"] if question["required"] else []
    value = data[name]

    def limit(key):
        return question.get(key) not in ("", None)

    if qtype in ("text", "textarea", "password"):
        if not isinstance(value, str):
            return [f"Value {value} for '{name}' expected to be a string."]
        if limit("min") and len(value) < int(question["min"]) or limit("max") and len(value) > int(question["max"]):
            return [f"'{name}' value {value} has a length outside min/max."]
    elif qtype in ("integer", "float"):
        if type(value) not in ((int,) if qtype == "integer" else (float, int)):  # noqa: E721 (AWX compares types)
            return [f"Value {value} for '{name}' expected to be {'an integer' if qtype == 'integer' else 'numeric'}."]
        if limit("min") and value < question["min"] or limit("max") and value > question["max"]:
            return [f"'{name}' value {value} is outside min/max."]
    elif qtype in ("multiselect", "multiplechoice"):
        choices = question["choices"]
        if isinstance(choices, str):
            choices = _lines(choices)
        if qtype == "multiselect":
            if not isinstance(value, list):
                return [f"'{name}' value is expected to be a list."]
            return [f"Value {item} for '{name}' expected to be one of {choices}." for item in value
                    if item not in choices]
        if value not in choices:
            return [f"Value {value} for '{name}' expected to be one of {choices}."]
    return []


def awx_launch_extra_vars(survey_spec: dict, answers: dict, template_extra_vars: dict | None = None,
                          ask_variables_on_launch: bool = False) -> dict:
    """The extra vars of a job AWX launches with these answers (the launch's extra_vars) to a
    template whose stored survey spec is survey_spec (survey enabled); AWXRefused when AWX
    refuses the launch. Every question's default that passes AWX's own validation is sent,
    answered or not; a multiselect default is stored as text, fails the list check and is
    dropped; a question without a default that is not answered sends nothing."""
    questions = survey_spec.get("spec", [])
    errors, rest = [], dict(answers)
    for question in questions:
        errors += awx_answer_errors(question, answers)
        rest.pop(question["variable"], None)
    if rest and not ask_variables_on_launch:
        errors.append(f"Variables {', '.join(rest)} are not allowed on launch.")
    if errors:
        raise AWXRefused("; ".join(errors))
    extra_vars = dict(template_extra_vars or {})
    for question in questions:
        default = question.get("default")
        if default is not None and not awx_answer_errors(question, {question["variable"]: default}):
            extra_vars[question["variable"]] = default
    extra_vars.update(answers)
    return extra_vars


def survey_extra_vars(template: str, answers: dict) -> dict:
    """The extra vars AWX sends for these answers to the template's survey (as AWX stores the
    survey that awx_configure.yml posts)."""
    questions = survey(template)
    if not questions:
        if answers:
            raise AWXRefused(f"{template}: no survey, and answers {sorted(answers)} are not allowed on launch")
        return {}
    stored = awx_store_survey_spec({"name": template, "description": "", "spec": questions})
    return awx_launch_extra_vars(stored, answers)


def run_job(template: str, inventory: Path, answers: dict | None = None):
    """Run a job template through ansible-runner; returns the runner (status, rc, stats, stdout)."""
    import ansible_runner

    private = tempfile.mkdtemp(prefix="hastack-awx-job-")
    env = {"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1",
           "PATH": os.environ["PATH"]}
    return ansible_runner.run(private_data_dir=private, project_dir=str(REPO),
                              playbook=str(REPO / template_playbook(template)), inventory=str(inventory),
                              extravars=survey_extra_vars(template, answers or {}), envvars=env,
                              quiet=True, timeout=600)


def job_template_test(template: str, inventory: Path, answers: dict | None = None):
    """The first test of a variant's scenario, in place of Molecule's idempotence step: the
    variant's job template, run as AWX runs it on the converged lab, succeeds and changes
    nothing. Assign it in the test module before any other test so that it runs first."""

    def test_the_awx_job_template_runs_and_changes_nothing():
        job = run_job(template, inventory, answers)
        output = job.stdout.read()
        assert (job.status, job.rc) == ("successful", 0), output[-3000:]
        assert job.stats["changed"] == {}, f"not idempotent: {job.stats['changed']}\n{output[-3000:]}"
        assert job.stats["ok"] and not job.stats["failures"], job.stats

    return test_the_awx_job_template_runs_and_changes_nothing
