#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reload a Kea HA server's new config while its pair is whole, and wait until the pair is whole again."""

from __future__ import annotations

DOCUMENTATION = r"""
module: kea_ha_reload
short_description: Reload a Kea HA server's config one peer at a time, gated by the pair's HA state
version_added: 0.1.0
author: hastack.dns_dhcp contributors (@hastack)
extends_documentation_fragment:
  - hastack.dns_dhcp.kea_ha_pair
description:
  - Runs on a Kea HA peer whose config file changed (O(pending_file) marks it; the role writes it
    beside the new config and this module removes it once the server runs that config). Does
    nothing when the mark is absent; only removes the mark when O(unit) is not running (it reads
    the file when it starts).
  - A reload restarts the server's HA service (waiting, syncing, ready, then the normal state);
    while it does, its share of clients (all of them, for a hot-standby primary) has no answer for
    about one heartbeat. So the pair takes its peers one at a time (the task has C(throttle) 1). The module
    reads the HA state of this server and its partner through their control agents
    (C(ha-heartbeat)), sends C(config-reload) only when both are in O(normal_state), then waits
    until both have stayed there for O(stable_s) seconds, which is the next peer's gate.
  - Fails without reloading, naming the states, when both servers report an HA state but the pair
    is not in O(normal_state) (a maintenance, a peer still starting, a reload that did not come
    back); the mark stays, so the next run reloads. When either server reports no HA state (down,
    or still on Debian's example config at the first deploy), there is no pair to keep, and it
    reloads at once, without waiting.
  - Fails, quoting Kea, when the server refuses the new config (it keeps the running one), and when
    the pair is not back in O(normal_state) within O(timeout_s); the partner then keeps its running
    config, as its own gate finds the pair not whole.
  - In check mode it reads the states and reports the reload it would send.
options:
  service:
    description: The HA relationship, by the Kea server that holds it.
    type: str
    choices: [dhcp4, dhcp6]
    default: dhcp4
  unit:
    description: The server's systemd unit.
    type: str
    required: true
  pending_file:
    description: The mark of a config the server does not run yet.
    type: path
    required: true
  stable_s:
    description: How long both servers must stay in the normal state to count as back, in seconds.
    type: float
    default: 2.0
"""

EXAMPLES = r"""
- name: Reload kea-dhcp4 where its config changed, one peer at a time
  hastack.dns_dhcp.kea_ha_reload:
    unit: kea-dhcp4-server
    pending_file: /run/kea/hastack-reload-kea-dhcp4-server
    node_url: http://10.0.0.11:8000/
    partner_url: http://10.0.0.12:8000/
    normal_state: hot-standby
    url_username: kea-api
    url_password: "{{ kea_ha_api_password }}"
  throttle: 1
"""

RETURN = r"""
reloaded:
  description: Whether the server reloaded its config (in check mode, whether it would).
  type: bool
  returned: always
before:
  description: The states read before the reload (absent when nothing was pending or the unit does not run).
  type: dict
  returned: when a reload was due
  sample: {"node": "hot-standby", "partner": "hot-standby"}
states:
  description: The states read last.
  type: dict
  returned: when a reload was due
waited:
  description: Whether it waited for the pair's normal state (not when a server reported no HA state).
  type: bool
  returned: when a reload was due
elapsed_s:
  description: Seconds from the reload until the pair was back in its normal state.
  type: float
  returned: when a reload was due
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.kea_ha_maintenance import (
    PAIR_ARGS,
    KeaReloadError,
    control_agent_caller,
    reload_in_turn,
)


def main():
    module = AnsibleModule(
        argument_spec={
            **PAIR_ARGS,
            "service": {"type": "str", "choices": ["dhcp4", "dhcp6"], "default": "dhcp4"},
            "unit": {"type": "str", "required": True},
            "pending_file": {"type": "path", "required": True},
            "stable_s": {"type": "float", "default": 2.0},
        },
        supports_check_mode=True,
    )
    p = module.params
    if not os.path.exists(p["pending_file"]):
        module.exit_json(changed=False, reloaded=False)
    rc, out, err = module.run_command(["systemctl", "is-active", p["unit"]])
    if out.strip() != "active":
        if not module.check_mode:
            os.remove(p["pending_file"])
        module.exit_json(changed=False, reloaded=False, msg=f"{p['unit']} is {out.strip() or err.strip()}: "
                                                            "it reads its new config when it starts")

    def signal_reload():
        rc, out, err = module.run_command(["systemctl", "reload", p["unit"]])
        return rc, (err or out).strip()

    call = control_agent_caller(open_url, {"node": p["node_url"], "partner": p["partner_url"]},
                                p["url_username"], p["url_password"])
    try:
        result = reload_in_turn(call, p["service"], p["normal_state"], signal_reload, timeout_s=p["timeout_s"],
                                stable_s=p["stable_s"], check_mode=module.check_mode)
    except KeaReloadError as exc:
        if exc.reloaded:
            os.remove(p["pending_file"])
        module.fail_json(msg=str(exc), reloaded=exc.reloaded)
    if not module.check_mode:
        os.remove(p["pending_file"])
    if not result["waited"] and not module.check_mode:
        module.warn(f"kea-{p['service']} reloaded without waiting for its pair: node {result['before']['node']}, "
                    f"partner {result['before']['partner']}")
    module.exit_json(changed=True, reloaded=True, **result)


if __name__ == "__main__":
    main()
