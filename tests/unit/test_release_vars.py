"""Unit tests of the release_vars_files filter: which per-release vars files a host loads."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.hastack.dns_dhcp.plugins.filter.release_vars import release_vars_files

TRIXIE = {"os_family": "Debian", "distribution": "Debian", "distribution_major_version": "13",
          "distribution_version": "13.8"}


def role(tmp_path, *names):
    (tmp_path / "vars").mkdir()
    for name in names:
        (tmp_path / "vars" / f"{name}.yml").write_text("---\n")
    return str(tmp_path)


def test_existing_files_come_general_to_specific(tmp_path):
    path = role(tmp_path, "main", "Debian_13", "Debian", "Debian_12")
    assert release_vars_files(TRIXIE, path) == [f"{path}/vars/Debian.yml", f"{path}/vars/Debian_13.yml"]


def test_the_full_version_is_the_most_specific(tmp_path):
    path = role(tmp_path, "Debian_13.8", "Debian_13")
    assert release_vars_files(TRIXIE, path) == [f"{path}/vars/Debian_13.yml", f"{path}/vars/Debian_13.8.yml"]


def test_a_role_without_release_files_loads_nothing(tmp_path):
    assert release_vars_files(TRIXIE, role(tmp_path, "main")) == []


def test_facts_without_a_distribution_are_refused(tmp_path):
    with pytest.raises(AnsibleFilterError, match="needs the host's facts"):
        release_vars_files({}, role(tmp_path))
