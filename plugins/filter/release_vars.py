# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter release_vars_files: a role's per-release vars files, general to specific."""

from __future__ import annotations

import os

from ansible.errors import AnsibleFilterError


def release_vars_files(facts, role_path):
    """The files of role_path/vars/ that apply to this host, in the order to load them.

    Candidates, the later overriding the earlier (the order linux-system-roles load them in):
    <os_family>.yml, <distribution>.yml, <distribution>_<major version>.yml,
    <distribution>_<full version>.yml. Only existing files are returned.
    """
    if not isinstance(facts, dict) or not facts.get("distribution"):
        raise AnsibleFilterError("release_vars_files needs the host's facts (gather at least the 'min' subset)")
    names = [facts.get("os_family"), facts.get("distribution")]
    if facts.get("distribution_major_version"):
        names.append(f"{facts['distribution']}_{facts['distribution_major_version']}")
    if facts.get("distribution_version"):
        names.append(f"{facts['distribution']}_{facts['distribution_version']}")
    files = []
    for name in names:
        path = os.path.join(role_path, "vars", f"{name}.yml")
        if name and os.path.isfile(path) and path not in files:
            files.append(path)
    return files


class FilterModule:
    def filters(self):
        return {"release_vars_files": release_vars_files}
