#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the state of an ISC dhcpd failover relationship through OMAPI."""

from __future__ import annotations

DOCUMENTATION = r"""
module: dhcpd_failover_state
short_description: Read the state of an ISC dhcpd failover relationship through OMAPI
version_added: 0.1.0
author: hastack.dns_dhcp contributors (@hastack)
description:
  - Opens the failover-state object of a failover peer with omshell and returns this
    server's and its partner's state (normal, communications-interrupted, partner-down, ...).
  - Read-only; runs in check mode too.
requirements:
  - omshell (Debian package isc-dhcp-server)
options:
  name:
    description: Name of the failover relationship (the failover peer statement).
    type: str
    required: true
  server:
    description: Address of the dhcpd OMAPI listener.
    type: str
    default: 127.0.0.1
  port:
    description: OMAPI port.
    type: int
    default: 7911
  key_name:
    description: Name of the OMAPI key.
    type: str
    default: omapi_key
  key:
    description: The OMAPI key's secret (base64). Empty for a dhcpd without OMAPI authentication.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Read the failover state
  hastack.dns_dhcp.dhcpd_failover_state:
    name: dhcp
    key: "{{ dhcpd_failover_omapi_key }}"
  register: state
  until: state.local_state == 'normal' and state.partner_state == 'normal'
  retries: 30
  delay: 2
"""

RETURN = r"""
local_state:
  description: This server's failover state.
  returned: success
  type: str
  sample: normal
partner_state:
  description: The partner's state as this server knows it.
  returned: success
  type: str
  sample: normal
attributes:
  description: Every attribute of the failover-state object (numbers decoded).
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.omapi import (
    OmapiError,
    failover_state,
    failover_state_script,
)


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "server": {"type": "str", "default": "127.0.0.1"},
            "port": {"type": "int", "default": 7911},
            "key_name": {"type": "str", "default": "omapi_key", "no_log": False},
            "key": {"type": "str", "default": "", "no_log": True},
        },
        supports_check_mode=True,
    )
    omshell = module.get_bin_path("omshell", required=True)
    p = module.params
    try:
        script = failover_state_script(p["name"], p["server"], p["port"], p["key_name"], p["key"])
    except OmapiError as exc:
        module.fail_json(msg=str(exc))
    rc, out, err = module.run_command([omshell], data=script, binary_data=False)
    try:
        result = failover_state(out + err)
    except OmapiError as exc:
        module.fail_json(msg=f"OMAPI at {p['server']}:{p['port']}: {exc}", rc=rc)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
