"""playbooks/awx_configure.yml against tests/fake_awx.py (an in-memory AWX 24 API): the first
run creates everything, a rerun against the unchanged AWX changes nothing (and writes nothing
but the project's sync), and a project sync that never finishes fails the play within its bound,
naming the project."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.fake_awx import FakeAWX
from tests.labkit import REPO

PLAYBOOK = REPO / "playbooks/awx_configure.yml"


def configure(awx, *extra):
    env = {**os.environ, "CONTROLLER_HOST": awx.url, "CONTROLLER_OAUTH_TOKEN": awx.token,
           "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(PLAYBOOK),
               "-e", f"ansible_python_interpreter={sys.executable}", "-e", "awx_vault_password=lab-only-vault",
               "-e", "awx_project_sync_interval=0.2"]
    for item in extra:
        command += ["-e", item]
    started = time.monotonic()
    run = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO, timeout=600)
    recap = re.search(r"localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", run.stdout)
    counts = dict(zip(("ok", "changed", "unreachable", "failed"), map(int, recap.groups()))) if recap else {}
    return run, counts, time.monotonic() - started


@pytest.fixture(scope="module")
def configured():
    with FakeAWX() as awx:
        first = configure(awx)
        writes_before = len(awx.writes())
        second = configure(awx)
        yield awx, first, second, awx.writes()[writes_before:]


def test_the_first_run_creates_the_project_templates_and_workflow(configured):
    awx, (run, counts, _), _second, _writes = configured
    assert run.returncode == 0 and counts["changed"] > 0, run.stdout[-3000:]
    templates = {t["name"]: t for t in awx.find("job_templates")}
    assert {"hastack kea_ha", "hastack deploy", "hastack vip_status", "hastack failover_drill",
            "hastack maintenance", "hastack dhcpd_to_kea"} <= set(templates)
    assert templates["hastack dhcpd_to_kea"]["ask_job_type_on_launch"]  # job type check: the dry run
    assert [c["inputs"] for c in awx.find("credentials")] == [{"vault_password": "$encrypted$"}]
    workflow, = awx.find("workflow_job_templates")
    nodes = {n["identifier"]: n for n in awx.find("workflow_job_template_nodes", workflow_job_template=workflow["id"])}
    assert sorted(nodes) == ["deploy", "drill", "verify"]
    assert nodes["deploy"]["success_nodes"] == [nodes["verify"]["id"]]
    assert nodes["verify"]["success_nodes"] == [nodes["drill"]["id"]]
    assert nodes["drill"]["unified_job_template"] == templates["hastack failover_drill"]["id"]
    for key, survey in awx.surveys.items():  # AWX would send a default unanswered, over the inventory
        assert all("default" not in question for question in survey["spec"]), key


def test_a_rerun_against_an_unchanged_awx_changes_nothing(configured):
    _awx, _first, (run, counts, _), writes = configured
    assert run.returncode == 0, run.stdout[-3000:]
    assert counts["changed"] == 0, run.stdout[-3000:]
    # nothing is written but the sync of the project (no recreated nodes, no re-sent secret)
    assert len(writes) == 1 and re.fullmatch(r"POST /api/v2/projects/\d+/update/", " ".join(writes[0])), writes


def test_a_project_sync_that_never_finishes_fails_within_the_bound():
    with FakeAWX(sync_seconds=None) as awx:
        run, counts, elapsed = configure(awx, "awx_project_sync_timeout=3")
    assert run.returncode != 0 and counts.get("failed") == 1, run.stdout[-3000:]
    assert ("the sync of project hastack.dns_dhcp (https://github.com/hastack/dns_dhcp.git main) did not succeed "
            "within awx_project_sync_timeout=3 s") in " ".join(run.stdout.split()), run.stdout[-3000:]
    assert elapsed < 60, f"the play took {elapsed:.0f} s for a 3 s bound"
    assert not awx.find("job_templates"), "the play went on after the sync failed"


def request(awx, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(awx.url + path, data=data, method=method,
                                 headers={"Authorization": f"Bearer {awx.token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_the_fake_behaves_as_awx_where_the_modules_look():
    with FakeAWX(sync_seconds=None) as awx:
        vault, = request(awx, "GET", "/api/v2/credential_types/?name=Vault")[1]["results"]
        status, credential = request(awx, "POST", "/api/v2/credentials/", {
            "name": "v", "credential_type": vault["id"], "organization": 1,
            "inputs": {"vault_password": "x", "vault_id": "a"}})
        assert status == 201 and credential["inputs"] == {"vault_password": "$encrypted$", "vault_id": "a"}
        request(awx, "PATCH", credential["url"], {"inputs": {"vault_password": "$encrypted$", "vault_id": "b"}})
        assert awx.objects["credentials"][credential["id"]]["inputs"]["vault_password"] == "x"
        status, project = request(awx, "POST", "/api/v2/projects/", {
            "name": "p", "organization": 1, "scm_type": "git", "scm_url": "https://example.invalid/p.git"})
        assert status == 201 and project["summary_fields"]["current_update"]["status"] in ("pending", "running")
        assert request(awx, "GET", project["url"])[1]["status"] == "running"
        assert request(awx, "POST", "/api/v2/projects/", {"name": "p", "organization": 1})[0] == 400
        assert request(awx, "POST", "/api/v2/inventories/", {"name": "i", "organization": 99})[0] == 400
        status, template = request(awx, "POST", "/api/v2/job_templates/",
                                   {"name": "t", "project": project["id"], "playbook": "site.yml"})
        spec = {"name": "", "description": "", "spec": [{"question_name": "m", "variable": "m", "required": False,
                                                         "type": "multiselect", "choices": ["a"], "default": ["a"]}]}
        status, answer = request(awx, "POST", template["related"]["survey_spec"], spec)
        assert status == 400 and "expected to be string" in answer["error"]
        assert request(awx, "GET", "/api/v2/job_templates/", None)[0] == 200
        anonymous = urllib.request.Request(awx.url + "/api/v2/job_templates/")
        with pytest.raises(urllib.error.HTTPError, match="401"):
            urllib.request.urlopen(anonymous)
