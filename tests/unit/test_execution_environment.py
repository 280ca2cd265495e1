"""The execution environment definition (execution-environment.yml): ansible-builder makes
a build context from it, offline, whose requirement files are the project's own."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
EE = yaml.safe_load((REPO / "execution-environment.yml").read_text())
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
TARBALL = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"


def requirement_lines(path):
    """The requirement lines of a pip or bindep file, without comments and blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in Path(path).read_text().splitlines())
    return [line for line in lines if line]


def pins(path):
    return {re.split("[=<>~!]", line, maxsplit=1)[0].lower(): line for line in requirement_lines(path)}


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    """The build context ansible-builder creates, from a copy of the definition and the files it names."""
    work = tmp_path_factory.mktemp("ee")
    shutil.copy(REPO / "execution-environment.yml", work)
    for key in ("python", "system"):
        (work / EE["dependencies"][key]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / EE["dependencies"][key], work / EE["dependencies"][key])
    build = subprocess.run(
        [sys.executable, str(REPO / "tools/ee_build_files.py"), "--output-path", str(work / "dist")],
        capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    create = subprocess.run(
        [sys.executable, "-m", "ansible_builder", "create", "--file", str(work / "execution-environment.yml"),
         "--context", str(work / "context")],
        capture_output=True, text=True, check=False)
    assert create.returncode == 0, create.stdout + create.stderr
    assert "No matches" not in create.stdout + create.stderr, create.stdout + create.stderr
    return work / "context"


def test_the_context_has_a_containerfile_for_the_pinned_ansible_core(context):
    containerfile = (context / "Containerfile").read_text()
    assert f'ansible-core=={pins(REPO / "requirements-dev.txt")["ansible-core"].split("==")[1]}' in containerfile
    assert "_build/collections/" in containerfile


def test_python_requirements_of_the_context_are_the_collections(context):
    assert requirement_lines(context / "_build/requirements.txt") == requirement_lines(REPO / "requirements.txt")


def test_system_requirements_of_the_context_are_the_collections(context):
    assert requirement_lines(context / "_build/bindep.txt") == requirement_lines(REPO / "bindep.txt")


def test_the_collection_tarball_is_in_the_context_and_installed_from_there(context):
    assert (context / "_build/collections" / TARBALL).is_file()
    collections = yaml.safe_load((context / "_build/requirements.yml").read_text())["collections"]
    copied_to = re.search(r"COPY _build/collections/ (\S+)", (context / "Containerfile").read_text()).group(1)
    assert {"name": copied_to.rstrip("/") + "/" + TARBALL, "type": "file"} in collections


def test_the_collections_dependencies_are_in_the_context(context):
    collections = yaml.safe_load((context / "_build/requirements.yml").read_text())["collections"]
    wanted = {name: spec for name, spec in GALAXY["dependencies"].items()}
    seen = {item["name"]: item.get("version") for item in collections if item["name"] in wanted}
    assert seen == wanted


def test_the_dependency_collections_are_in_the_context_and_copied_before_the_install(context):
    for fqcn in GALAXY["dependencies"]:
        manifest = context / "_build/collections/ansible_collections" / fqcn.replace(".", "/") / "MANIFEST.json"
        info = json.loads(manifest.read_text())["collection_info"]
        assert f"{info['namespace']}.{info['name']}" == fqcn
    containerfile = (context / "Containerfile").read_text()
    galaxy_stage = containerfile[containerfile.index("AS galaxy"):containerfile.index("AS builder")]
    copied = galaxy_stage.index("/usr/share/ansible/collections/\n")
    # offline: ansible-galaxy checks the copied collections against galaxy.yml's ranges
    assert copied < galaxy_stage.index("ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS")
    assert 'ARG ANSIBLE_GALAXY_CLI_COLLECTION_OPTS="--offline"' in containerfile


def test_ansible_builder_introspects_the_installed_collection(installed_tarball):
    """What ansible-builder does inside an EE build with any collections path holding this
    collection: reads meta/execution-environment.yml and the files it names."""
    introspect = subprocess.run([sys.executable, "-m", "ansible_builder", "introspect", str(installed_tarball.collections)],
                                capture_output=True, text=True, check=False)
    assert introspect.returncode == 0, introspect.stdout + introspect.stderr
    found = yaml.safe_load(introspect.stdout)
    suffix = "  # from collection hastack.dns_dhcp"
    assert found["python"] == [line + suffix for line in requirement_lines(REPO / "requirements.txt")]
    assert found["system"] == [line + suffix for line in requirement_lines(REPO / "bindep.txt")]


def test_the_ee_runs_the_ansible_core_the_tests_use():
    assert EE["dependencies"]["ansible_core"]["package_pip"] == pins(REPO / "requirements-dev.txt")["ansible-core"]


def test_test_tools_stay_out_of_the_ee():
    names = set(pins(REPO / "requirements.txt"))
    assert names.isdisjoint({"pytest", "molecule", "ansible-lint", "yamllint", "pytest-testinfra",
                             "antsibull-changelog", "ansible-builder"})


def test_the_collection_declares_the_same_files_for_introspection():
    declared = yaml.safe_load((REPO / "meta/execution-environment.yml").read_text())["dependencies"]
    # ansible-builder resolves these against the collection's root, as it does the EE file's
    assert REPO / declared["python"] == REPO / EE["dependencies"]["python"]
    assert REPO / declared["system"] == REPO / EE["dependencies"]["system"]
