# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of the modules that read a Kea HA pair through its control agents
(module_utils/kea_ha_maintenance.py PAIR_ARGS)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  node_url:
    description: URL of the control agent of the server the module acts on (C(http://ADDRESS:8000/)).
    type: str
    required: true
  partner_url:
    description: URL of its partner's control agent.
    type: str
    required: true
  normal_state:
    description: The pair's normal HA state (its HA mode).
    type: str
    choices: [hot-standby, load-balancing]
    required: true
  url_username:
    description: User of the control agents' basic authentication.
    type: str
    required: true
  url_password:
    description: Its password.
    type: str
    required: true
  timeout_s:
    description: How long to wait for the pair's normal state, in seconds.
    type: int
    default: 120
"""
