# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for DHCP pools: split one pool among servers, derive one node's ranges."""

from __future__ import annotations

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.pools import (
    PoolError,
    dhcp_plan,
    split_pool,
)
from ansible_collections.hastack.dns_dhcp.plugins.plugin_utils.filters import (
    raising_filter_errors,
    requiring_netaddr,
)

_wrap = raising_filter_errors(PoolError)


class FilterModule:
    def filters(self):
        return requiring_netaddr({"split_pool": _wrap(split_pool), "dhcp_plan": _wrap(dhcp_plan)})
