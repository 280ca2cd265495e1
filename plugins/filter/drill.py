# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the failover drill: the VIPs a VRRP group holds, the node expected to take one over,
the VIPs a node takes back by preemption."""

from __future__ import annotations

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.drill import (
    DrillError,
    drill_plan,
    expected_holder,
    preferred_vips,
)
from ansible_collections.hastack.dns_dhcp.plugins.plugin_utils.filters import (
    raising_filter_errors,
    requiring_netaddr,
)


class FilterModule:
    def filters(self):
        return requiring_netaddr({"drill_plan": raising_filter_errors(DrillError)(drill_plan),
                                  "drill_expected": expected_holder,
                                  "drill_preferred": preferred_vips})
