"""The built collection as a user gets it (conftest.py's installed_tarball: built, then
installed into an empty collections path). The tarball holds only what users need, and the
playbooks run by FQCN from there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())

# Top-level entries of the tarball (a directory's whole tree, or a file), and the only
# deeper paths allowed under changelogs/ and tests/.
ALLOWED_TOP = {"CHANGELOG.md", "FILES.json", "LICENSE", "MANIFEST.json", "README.md", "bindep.txt",
               "changelogs", "docs", "execution-environment.yml", "meta", "playbooks", "plugins",
               "requirements.txt", "roles", "tests"}
ALLOWED_UNDER = {"changelogs": {"changelog.yaml"}, "tests": {"sanity"}}
NEEDED = {"README.md", "LICENSE", "CHANGELOG.md", "requirements.txt", "bindep.txt", "meta/runtime.yml",
          "meta/execution-environment.yml", "changelogs/changelog.yaml", "playbooks/site.yml",
          "playbooks/failover_drill.yml", "roles/keepalived/tasks/main.yml", "plugins/filter/pools.py"}


def run(cmd, cwd, env=None):
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300)


def test_the_tarball_holds_only_what_users_need(installed_tarball):
    names = installed_tarball.members
    stray = sorted(n for n in names if n.split("/")[0] not in ALLOWED_TOP
                   or (n.split("/")[0] in ALLOWED_UNDER and (len(n.split("/")) < 2
                                                            or n.split("/")[1] not in ALLOWED_UNDER[n.split("/")[0]])))
    assert not stray, f"in the tarball but not on the allow-list: {stray}"
    assert NEEDED <= set(names), f"missing from the tarball: {sorted(NEEDED - set(names))}"


@pytest.mark.parametrize("dev_path", ["site.yml", "requirements-dev.txt", "ansible.cfg", ".ansible-lint",
                                      ".yamllint", "inventories/lab/hosts.yml", "changelogs/config.yaml"])
def test_development_files_stay_out(installed_tarball, dev_path):
    assert not any(n == dev_path or n.startswith(dev_path + "/") for n in installed_tarball.members)


def inventory(work, groups):
    path = work / f"inventory-{'-'.join(groups) or 'none'}.yml"
    children = {group: {"hosts": {f"{group}1": {"ansible_host": "127.0.0.1"}}} for group in groups}
    path.write_text(yaml.safe_dump({"all": {"hosts": {"node1": {"ansible_host": "127.0.0.1"}},
                                            "children": children}}))
    return path


@pytest.mark.parametrize("groups", [(), ("clients", "vrrp_vip")], ids=["no-groups", "clients"])
def test_playbooks_run_by_fqcn_from_the_installed_tarball(installed_tarball, groups):
    """--syntax-check of every user playbook by FQCN, also with an inventory without a clients
    group (the drill and dhcp_status default to the first client)."""
    work, env = installed_tarball.work, installed_tarball.env
    playbooks = sorted(p.stem for p in (REPO / "playbooks").glob("*.yml"))
    assert "site" in playbooks and "failover_drill" in playbooks
    check = run([str(BIN / "ansible-playbook"), *(f"hastack.dns_dhcp.{p}" for p in playbooks), "--syntax-check",
                 "-i", str(inventory(work, list(groups)))], work, env)
    assert check.returncode == 0, check.stdout + check.stderr
    for playbook in playbooks:
        assert f"ansible_collections/hastack/dns_dhcp/playbooks/{playbook}.yml" in check.stdout, playbook


def test_every_user_playbook_is_reachable_by_fqcn(installed_tarball):
    shipped = sorted(p.stem for p in (installed_tarball.root / "playbooks").glob("*.yml"))
    assert shipped == sorted(p.stem for p in (REPO / "playbooks").glob("*.yml"))
    site = yaml.safe_load((REPO / "playbooks/site.yml").read_text())
    for play in site:
        target = play["ansible.builtin.import_playbook"]
        assert "/" not in target, f"site imports {target}: a sibling file name works from an installed collection"
        assert (REPO / "playbooks" / target).is_file()


def test_the_root_site_yml_is_a_shim_for_playbooks_site_yml():
    assert yaml.safe_load((REPO / "site.yml").read_text()) == [
        {"name": "Every variant whose inventory group exists",
         "ansible.builtin.import_playbook": "playbooks/site.yml"}]


def test_the_readme_install_section_states_requires_ansible_and_the_tested_core():
    runtime = yaml.safe_load((REPO / "meta/runtime.yml").read_text())
    readme = (REPO / "README.md").read_text()
    install = readme.split("## Install", 1)[1].split("\n## ", 1)[0]
    assert f'`requires_ansible: "{runtime["requires_ansible"]}"`' in install
    tested = next(line.split("==")[1] for line in (REPO / "requirements-dev.txt").read_text().splitlines()
                  if line.startswith("ansible-core=="))
    assert tested.startswith(runtime["requires_ansible"].lstrip(">=").rsplit(".", 1)[0] + ".")
    assert f"tests run {tested}" in install
    for dependency in GALAXY["dependencies"]:
        assert dependency in install, f"the Install section does not name {dependency}"
