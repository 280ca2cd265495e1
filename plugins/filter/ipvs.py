# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for keepalived's LVS half: resolve the virtual servers, find a director whose
resolver is one of its own virtual servers."""

from __future__ import annotations

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.ipvs import (
    IpvsError,
    resolve_virtual_servers,
    resolver_conflicts,
)
from ansible_collections.hastack.dns_dhcp.plugins.plugin_utils.filters import (
    raising_filter_errors,
    requiring_netaddr,
)

_wrap = raising_filter_errors(IpvsError)


class FilterModule:
    def filters(self):
        return requiring_netaddr({
            "keepalived_virtual_servers": _wrap(resolve_virtual_servers),
            "ipvs_resolver_conflicts": _wrap(resolver_conflicts),
        })
