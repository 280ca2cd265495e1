"""The execution environment, built and used (bash tests/run ee).

Builds the EE image as docs/execution-environment.md says (lab.py ee-base, then
tools/ee_build_files.py and ansible-builder build with podman), brings up the lab of
tests/ee/inventory.yml (two keepalived nodes on an internal network), and runs the
vrrp_vip variant by its FQCN inside the image with ansible-navigator, the image's
container attached to the lab network and reaching the nodes over SSH. Then: the job
succeeded with the collection installed in the image, the VIP is on exactly one node,
and a second run changes nothing.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.labkit import Lab

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BIN = Path(sys.executable).parent
INVENTORY = HERE / "inventory.yml"
LAB = yaml.safe_load(INVENTORY.read_text())["all"]["vars"]
NETWORK = f"{LAB['lab_name']}-lan"
SUBNET = ipaddress.ip_network(LAB["lab_networks"]["lan"])
NODES = sorted(yaml.safe_load(INVENTORY.read_text())["all"]["children"]["vrrp_vip"]["hosts"])
VIP = "10.213.60.100"
EE = yaml.safe_load((REPO / "execution-environment.yml").read_text())
IMAGE = EE["options"]["tags"][0]
# where the inventory's ansible_ssh_private_key_file points, inside the EE as here
KEY = f"/var/lib/hastack-lab/ssh/{LAB['lab_name']}"
# the EE runs as this user (ansible-builder's options.user, default 1000)
EE_UID = int(EE["options"].get("user", 1000))
PLAYBOOK = "hastack.dns_dhcp.vrrp_vip"

EE_SUITE_TIMES: dict[str, float] = {}  # printed by conftest.py


def timed(name: str, cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    started = time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    EE_SUITE_TIMES[name] = time.monotonic() - started
    return result


def output(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """The EE image, built from the definition at the top of the repository."""
    base = timed("ee-base", [sys.executable, str(REPO / "lab/lab.py"), "ee-base"])
    assert base.returncode == 0, output(base)
    work = tmp_path_factory.mktemp("ee-build")
    for name in ("execution-environment.yml", EE["dependencies"]["python"], EE["dependencies"]["system"]):
        shutil.copy(REPO / name, work / name)
    files = timed("build files", [sys.executable, str(REPO / "tools/ee_build_files.py"),
                                  "--output-path", str(work / "dist")])
    assert files.returncode == 0, output(files)
    build = timed("ansible-builder build", [
        str(BIN / "ansible-builder"), "build", "--container-runtime", "podman",
        "--file", str(work / "execution-environment.yml"), "--context", str(work / "context")])
    assert build.returncode == 0, output(build)
    return IMAGE


def lab_down() -> None:
    down = subprocess.run([sys.executable, str(REPO / "lab/lab.py"), "down", str(INVENTORY)],
                          capture_output=True, text=True, check=False)
    assert down.returncode == 0, output(down)


@pytest.fixture(scope="module")
def lab():
    """A fresh lab (what an interrupted run left is removed first), removed afterwards."""
    lab_down()
    up = timed("lab up", [sys.executable, str(REPO / "lab/lab.py"), "up", str(INVENTORY)])
    try:
        assert up.returncode == 0, output(up)
        yield
    finally:
        lab_down()


@pytest.fixture(scope="module")
def key(lab, tmp_path_factory):
    """The lab's key, readable by the EE's user (the file on this machine is root's)."""
    copy = tmp_path_factory.mktemp("ee-key") / "key"
    shutil.copy(KEY, copy)
    os.chown(copy, EE_UID, 0)
    os.chmod(copy, 0o600)
    return copy


def navigator(image: str, key: Path, artifact: Path, name: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Run the variant's playbook by FQCN in the EE, as docs/execution-environment.md does.
    From tests/ee (no ansible.cfg there): the collection is the image's, not the checkout's."""
    result = timed(name, [
        str(BIN / "ansible-navigator"), "run", PLAYBOOK, "--inventory", str(INVENTORY),
        "--mode", "stdout", "--execution-environment", "true", "--container-engine", "podman",
        "--execution-environment-image", image, "--pull-policy", "never",
        "--execution-environment-volume-mounts", f"{key}:{KEY}:ro",
        f"--container-options=--network={NETWORK}",
        "--playbook-artifact-enable", "true", "--playbook-artifact-save-as", str(artifact),
        "--log-file", str(artifact.with_suffix(".log"))], cwd=HERE)
    data = json.loads(artifact.read_text()) if artifact.exists() else {}
    return result, data


def recap(data: dict) -> dict[str, dict[str, int]]:
    """host -> the PLAY RECAP's counters, from the artifact's stdout."""
    counters = {}
    for line in data.get("stdout", []):
        line = re.sub(r"\x1b\[[0-9;]*m", "", line)
        match = re.match(r"^(\S+)\s+:\s+(ok=.*)$", line)
        if match:
            counters[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return counters


def tasks(data: dict) -> list[dict]:
    return [task for play in data.get("plays", []) for task in play.get("tasks", [])]


@pytest.fixture(scope="module")
def first_run(image, key, tmp_path_factory):
    return navigator(image, key, tmp_path_factory.mktemp("ee-run") / "first.json", "first run")


def test_the_lab_network_routes_nowhere_off_the_machine(image, lab):
    inspect = subprocess.run(["podman", "network", "inspect", NETWORK], capture_output=True, text=True, check=False)
    assert inspect.returncode == 0, output(inspect)
    assert json.loads(inspect.stdout)[0]["internal"] is True
    # the routes a container of the EE image gets on that network: the lab subnet only
    routes = subprocess.run(["podman", "run", "--rm", f"--network={NETWORK}", image, "cat", "/proc/net/route"],
                            capture_output=True, text=True, check=False)
    assert routes.returncode == 0, output(routes)
    entries = [line.split() for line in routes.stdout.splitlines()[1:] if line.strip()]
    assert entries, routes.stdout
    for entry in entries:
        destination = ipaddress.ip_address(bytes.fromhex(entry[1])[::-1])
        mask = ipaddress.ip_address(bytes.fromhex(entry[7])[::-1])
        network = ipaddress.ip_network(f"{destination}/{mask}")
        assert network.subnet_of(SUBNET), f"route off the lab network: {entry}"


def test_the_job_succeeds_with_the_collection_of_the_image(first_run):
    result, data = first_run
    assert result.returncode == 0, output(result)
    assert data.get("status") == "successful", output(result)
    counters = recap(data)
    assert sorted(counters) == NODES, data.get("stdout")
    for host, counts in counters.items():
        assert counts["failed"] == 0 and counts["unreachable"] == 0, (host, counts)
        assert counts["changed"] > 0, (host, counts)  # a fresh lab: keepalived was set up
    paths = {task["task_path"].split(":")[0] for task in tasks(data) if "/roles/keepalived/" in task["task_path"]}
    assert paths, "no task of the keepalived role ran"
    assert all(path.startswith("/usr/share/ansible/collections/ansible_collections/hastack/dns_dhcp/")
               for path in paths), paths


def vip_holders() -> list[str]:
    return Lab(INVENTORY).holders(VIP, NODES)


def test_the_vip_is_on_exactly_one_node(first_run):
    assert first_run[0].returncode == 0, output(first_run[0])
    deadline = time.monotonic() + 20  # keepalived elects its master within a few adverts
    while len(holders := vip_holders()) != 1 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(holders) == 1, f"{VIP} is on {holders or 'no node'}"


def test_a_second_run_changes_nothing(first_run, image, key, tmp_path_factory):
    assert first_run[0].returncode == 0, output(first_run[0])
    result, data = navigator(image, key, tmp_path_factory.mktemp("ee-run") / "second.json", "second run")
    assert result.returncode == 0, output(result)
    counters = recap(data)
    assert sorted(counters) == NODES, data.get("stdout")
    assert all(counts["changed"] == 0 and counts["failed"] == 0 for counts in counters.values()), counters
    changed = [(task["host"], task["task"]) for task in tasks(data) if task.get("__changed")]
    assert not changed, changed
    assert len(vip_holders()) == 1
