#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End a Kea HA server's maintenance and wait until the pair stays in its normal state."""

from __future__ import annotations

DOCUMENTATION = r"""
module: kea_ha_maintenance_end
short_description: End a Kea HA server's maintenance so that the pair stays in its normal state
version_added: 0.1.0
author: hastack.dns_dhcp contributors (@hastack)
extends_documentation_fragment:
  - hastack.dns_dhcp.kea_ha_pair
description:
  - Reads the HA state of a node in maintenance and of its partner through their control
    agents (C(ha-heartbeat)), for each HA relationship in O(services), until both have stayed in
    O(normal_state) for O(stable_s) seconds.
  - Sends C(ha-maintenance-cancel) to the partner whenever the node is C(in-maintenance) and the
    partner C(partner-in-maintenance), again if the pair falls back into the maintenance. Kea
    needs both. A node restarted during its maintenance returns to C(in-maintenance) only after
    waiting, syncing and ready (a cancel before that fails), and the partner can fall back to
    C(partner-in-maintenance) right after a cancel, on a heartbeat answered before it.
  - A node that went down long enough for its partner to go C(partner-down) comes back to the
    normal state without a cancel; then none is sent.
  - Kea 2.6 with multi-threaded HA can enter C(partner-in-maintenance) twice at the start, and
    then returns to it on every cancel. After O(max_cancels) cancels that ended nothing the
    relationship is returned in RV(stuck) instead of waited for. Then take the node's server down
    until its partner is C(partner-down), start it again, and call the module once more.
  - Fails, naming the states it read last, when the pair is not back in O(normal_state) within
    O(timeout_s).
  - Runs on any host that reaches both control agents. In check mode it reads the states once
    and reports the cancels it would send.
options:
  services:
    description: The HA relationships, by the Kea server that holds each.
    type: list
    elements: str
    choices: [dhcp4, dhcp6]
    default: [dhcp4]
  stable_s:
    description: How long both servers must stay in the normal state to count as back, in seconds.
    type: float
    default: 3.0
  max_cancels:
    description: Successful cancels after which a relationship still in maintenance counts as stuck.
    type: int
    default: 3
"""

EXAMPLES = r"""
- name: End the maintenance of kea1 (both relationships)
  hastack.dns_dhcp.kea_ha_maintenance_end:
    node_url: http://10.0.0.11:8000/
    partner_url: http://10.0.0.12:8000/
    services: [dhcp4, dhcp6]
    normal_state: hot-standby
    url_username: kea-api
    url_password: "{{ kea_ha_api_password }}"
"""

RETURN = r"""
states:
  description: The states read last, per relationship.
  type: dict
  returned: always
  sample: {"dhcp4": {"node": "hot-standby", "partner": "hot-standby"}}
cancels:
  description:
    - Each ha-maintenance-cancel sent (in check mode, each one that would be sent), with its service,
      when (seconds after the start), its result code and text.
  type: list
  elements: dict
  returned: always
stuck:
  description: The relationships still in maintenance after O(max_cancels) cancels (the others are back).
  type: list
  elements: str
  returned: always
elapsed_s:
  description: Seconds until the pair was back in its normal state.
  type: float
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.kea_ha_maintenance import (
    PAIR_ARGS,
    KeaMaintenanceError,
    control_agent_caller,
    end_maintenance,
)


def main():
    module = AnsibleModule(
        argument_spec={
            **PAIR_ARGS,
            "services": {"type": "list", "elements": "str", "choices": ["dhcp4", "dhcp6"], "default": ["dhcp4"]},
            "stable_s": {"type": "float", "default": 3.0},
            "max_cancels": {"type": "int", "default": 3},
        },
        supports_check_mode=True,
    )
    p = module.params
    urls = {"node": p["node_url"], "partner": p["partner_url"]}

    call = control_agent_caller(open_url, urls, p["url_username"], p["url_password"])

    try:
        result = end_maintenance(call, p["services"], p["normal_state"], timeout_s=p["timeout_s"],
                                 stable_s=p["stable_s"], max_cancels=p["max_cancels"],
                                 check_mode=module.check_mode)
    except KeaMaintenanceError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=bool(result["cancels"]), **result)


if __name__ == "__main__":
    main()
