"""Run the job templates of playbooks/awx_configure.yml the way AWX runs them: ansible-runner
with the template's playbook, the inventory, and the survey's answers as extra vars.

The templates and their surveys are read from awx_configure.yml itself (and the surveys
derived from the argument specs with the collection's own awx_survey code), so a test
runs what the controller would run. AWX's rules for survey answers are followed: an
unanswered question gets its default (none when it has no default), a multiselect default
is the newline-separated list, answers outside the choices are refused.
"""

from __future__ import annotations

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


def survey_extra_vars(template: str, answers: dict) -> dict:
    """The extra vars AWX sends for these answers to the template's survey."""
    questions = {q["variable"]: q for q in survey(template)}
    unknown = set(answers) - set(questions)
    if unknown:
        raise ValueError(f"{template}: the survey does not ask {sorted(unknown)}")
    extra = {}
    for name, question in questions.items():
        if name in answers:
            value = answers[name]
        elif "default" in question:
            value = question["default"]
            if question["type"] == "multiselect":
                value = [item for item in str(value).split("\n") if item]
        elif question["required"]:
            raise ValueError(f"{template}: {name} is required")
        else:
            continue
        choices = question.get("choices")
        if choices:
            for item in value if isinstance(value, list) else [value]:
                if str(item) not in choices:
                    raise ValueError(f"{template}: {item!r} is not a choice of {name} ({choices})")
        extra[name] = value
    return extra


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
