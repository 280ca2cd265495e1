#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Switch one peer of a dhcpd failover pair to Kea in one step, leases kept."""

from __future__ import annotations

DOCUMENTATION = r"""
module: dhcpd_to_kea_switch
short_description: Switch one peer of a dhcpd failover pair to Kea in one step, leases kept
version_added: 0.1.0
author: hastack.dns_dhcp contributors (@hastack)
description:
  - The switch of playbooks/dhcpd_to_kea.yml on one peer, done on the host in one go so that clients
    wait for no round trip of the controller - stop dhcpd, read its lease file (now final), write
    kea-dhcp4's lease file (memfile CSV) with every active lease and its end time kept, start Kea,
    and disable dhcpd.
  - The leases to carry are picked as the filter P(hastack.dns_dhcp.kea_lease_import#filter) picks
    them, from this peer's final lease file and its partner's leases as read last while dhcpd still
    served. A lease the partner granted after that reaches this peer's Kea through Kea's own lease
    sync when the pair starts.
  - Kea's configuration must be in place and checked, and Kea stopped, before (the playbook's prepare
    stage). On a failure dhcpd may be stopped; the caller starts it again (its lease file is untouched).
options:
  leases:
    description: The leases of each peer (its inventory name to the leases of
      M(hastack.dns_dhcp.dhcpd_leases)), read while dhcpd served; this peer's are replaced by its final read.
    type: dict
    required: true
  peer:
    description: This peer's key in O(leases).
    type: str
    required: true
  subnets:
    description: The Kea pair's IPv4 subnets (P(hastack.dns_dhcp.dhcp_subnets#filter) - id, family, subnet).
    type: list
    elements: dict
    required: true
  columns:
    description: The columns of kea-dhcp4's lease file (the kea_ha role's per-release list; Kea 2.6 adds pool_id).
    type: list
    elements: str
  dhcpd_lease_file:
    description: dhcpd's lease file.
    type: path
    default: /var/lib/dhcp/dhcpd.leases
  kea_lease_file:
    description: kea-dhcp4's lease file, written before Kea starts (owned by O(owner), mode 0644).
    type: path
    default: /var/lib/kea/kea-leases4.csv
  owner:
    description: The user and group Kea runs as, the lease file's owner.
    type: str
    default: _kea
  dhcpd_service:
    description: The unit of ISC dhcpd.
    type: str
    default: isc-dhcp-server
  kea_services:
    description: The units started together once the lease file is written (Kea 2.2's HA hook talks to its
      partner through the control agent, so it starts with kea-dhcp4).
    type: list
    elements: str
    default: [kea-ctrl-agent, kea-dhcp4-server]
notes:
  - No check mode - playbooks/dhcpd_to_kea.yml ends its dry run before the switch.
"""

EXAMPLES = r"""
- name: Switch from dhcpd to Kea
  hastack.dns_dhcp.dhcpd_to_kea_switch:
    leases: "{{ dict(groups['dhcpd_failover'] | zip(groups['dhcpd_failover'] | map('extract', hostvars, ['read', 'leases']))) }}"
    peer: "{{ inventory_hostname }}"
    subnets: "{{ kea_subnets4 }}"
  register: switch
"""

RETURN = r"""
carry:
  description: The leases written into Kea's lease file (as P(hastack.dns_dhcp.kea_lease_import#filter) returns them).
  returned: success
  type: list
  elements: dict
skip:
  description: The leases not carried, each with address, hwaddr and why.
  returned: success
  type: list
  elements: dict
lines:
  description: A MIGRATE line per lease carried or skipped.
  returned: success
  type: list
  elements: str
stopped_at:
  description: When dhcpd had stopped (epoch seconds).
  returned: success
  type: float
started_at:
  description: When Kea's units had started (epoch seconds).
  returned: success
  type: float
"""

import grp
import os
import pwd
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.dhcpd_leases import LeaseError, read_lease_file, switch_plan


def _systemctl(module, *args):
    rc, _out, err = module.run_command(["systemctl", *args])
    if rc != 0:
        module.fail_json(msg=f"systemctl {' '.join(args)} failed: {err.strip()}")


def _write(module, path, text, owner):
    try:
        uid, gid = pwd.getpwnam(owner).pw_uid, grp.getgrnam(owner).gr_gid
    except KeyError:
        module.fail_json(msg=f"owner: no user and group {owner} (is Kea installed?)")
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".kea-leases-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.chown(tmp, uid, gid)
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        module.fail_json(msg=f"kea_lease_file {path}: {exc.strerror}")


def main():
    module = AnsibleModule(argument_spec={
        "leases": {"type": "dict", "required": True},
        "peer": {"type": "str", "required": True},
        "subnets": {"type": "list", "elements": "dict", "required": True},
        "columns": {"type": "list", "elements": "str"},
        "dhcpd_lease_file": {"type": "path", "default": "/var/lib/dhcp/dhcpd.leases"},
        "kea_lease_file": {"type": "path", "default": "/var/lib/kea/kea-leases4.csv"},
        "owner": {"type": "str", "default": "_kea"},
        "dhcpd_service": {"type": "str", "default": "isc-dhcp-server"},
        "kea_services": {"type": "list", "elements": "str", "default": ["kea-ctrl-agent", "kea-dhcp4-server"]},
    }, supports_check_mode=False)
    params = module.params
    if params["peer"] not in params["leases"]:
        module.fail_json(msg=f"leases: no leases of this peer, {params['peer']} (got {sorted(params['leases'])})")
    _systemctl(module, "stop", params["dhcpd_service"])
    stopped_at = time.time()
    try:
        final = read_lease_file(params["dhcpd_lease_file"])
        plan = switch_plan(params["leases"], params["peer"], final, params["subnets"], columns=params["columns"])
    except LeaseError as exc:
        module.fail_json(msg=str(exc))
    _write(module, params["kea_lease_file"], plan["csv"], params["owner"])
    _systemctl(module, "start", *params["kea_services"])
    started_at = time.time()
    _systemctl(module, "disable", params["dhcpd_service"])
    module.exit_json(changed=True, carry=plan["carry"], skip=plan["skip"], lines=plan["lines"],
                     stopped_at=stopped_at, started_at=started_at)


if __name__ == "__main__":
    main()
