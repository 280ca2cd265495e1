# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: check the dnsmasq role's DNS data before any host is touched."""

from __future__ import annotations

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.dnsmasq_data import (
    DnsDataError,
    dnsmasq_data,
)
from ansible_collections.hastack.dns_dhcp.plugins.plugin_utils.filters import (
    raising_filter_errors,
    requiring_netaddr,
)


class FilterModule:
    def filters(self):
        return requiring_netaddr({"dnsmasq_data": raising_filter_errors(DnsDataError)(dnsmasq_data)})
