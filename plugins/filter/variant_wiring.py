# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters: the role variables a variant derives from its intent variables, a node's VIPs,
whether a group's nodes run releases tested together."""

from __future__ import annotations

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.release_mix import release_mix
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.variant_wiring import (
    WiringError,
    missing_wiring,
    vrrp_vips,
)
from ansible_collections.hastack.dns_dhcp.plugins.plugin_utils.filters import (
    raising_filter_errors,
    requiring_netaddr,
)


class FilterModule:
    def filters(self):
        return requiring_netaddr({"variant_wiring": raising_filter_errors(WiringError)(missing_wiring),
                                  "vrrp_vips": vrrp_vips, "release_mix": release_mix})
