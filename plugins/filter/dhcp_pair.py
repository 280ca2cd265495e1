# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for a pair of DHCP servers sharing one intent (ISC dhcpd failover, Kea HA)."""

from __future__ import annotations

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.dhcp_pair import (
    dhcp_subnets,
    dhcpd_failover,
    interface_networks,
    kea_ha,
    pair_peers,
    peer_addresses,
    peer_ports,
    peer_values,
    split_ranges,
)
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.dhcpd_leases import LeaseError, kea_lease_import
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.pools import PoolError
from ansible_collections.hastack.dns_dhcp.plugins.plugin_utils.filters import (
    raising_filter_errors,
    requiring_netaddr,
)

_wrap = raising_filter_errors(PoolError)


class FilterModule:
    def filters(self):
        return requiring_netaddr({
            "dhcp_subnets": _wrap(dhcp_subnets),
            "pair_peers": _wrap(pair_peers),
            "dhcpd_failover": _wrap(dhcpd_failover),
            "split_ranges": _wrap(split_ranges),
            "peer_addresses": peer_addresses,
            "peer_ports": peer_ports,
            "peer_values": peer_values,
            "kea_ha": _wrap(kea_ha),
            "interface_networks": interface_networks,
            "kea_lease_import": raising_filter_errors(LeaseError)(kea_lease_import),
        })
