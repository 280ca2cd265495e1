#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the current record of every address in ISC dhcpd's lease file."""

from __future__ import annotations

DOCUMENTATION = r"""
module: dhcpd_leases
short_description: Read the current record of every address in ISC dhcpd's lease file
version_added: 0.1.0
author: hastack.dns_dhcp contributors (@hastack)
description:
  - Reads dhcpd's lease file (dhcpd.leases(5)), where dhcpd appends a record each time a lease
    changes, and returns the last record of each address (its binding state, times, hardware
    address, client identifier and client hostname).
  - Read-only; runs in check mode too. The input of the filter P(hastack.dns_dhcp.kea_lease_import#filter),
    which picks what a Kea pair takes over from a dhcpd failover pair.
options:
  path:
    description: The lease file.
    type: path
    default: /var/lib/dhcp/dhcpd.leases
"""

EXAMPLES = r"""
- name: Read dhcpd's leases
  hastack.dns_dhcp.dhcpd_leases:
  register: dhcpd_leases
"""

RETURN = r"""
leases:
  description:
    - One dict per address, in the order the addresses first appear in the file.
    - Keys address, state (dhcpd's binding state), starts, ends and cltt (epoch seconds; ends is
      null for a lease that never ends), hwaddr, client_id (colon-separated hex) and hostname.
  returned: success
  type: list
  elements: dict
  sample:
    - address: 10.0.0.100
      state: active
      starts: 1796176200
      ends: 1796176800
      cltt: 1796176200
      hwaddr: "02:00:0a:00:00:01"
      client_id: "01:02:00:0a:00:00:01"
      hostname: client1
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.dhcpd_leases import LeaseError, read_lease_file


def main():
    module = AnsibleModule(argument_spec={"path": {"type": "path", "default": "/var/lib/dhcp/dhcpd.leases"}},
                           supports_check_mode=True)
    try:
        leases = read_lease_file(module.params["path"])
    except LeaseError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, leases=leases)


if __name__ == "__main__":
    main()
