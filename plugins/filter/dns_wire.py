# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that put a DNS question into the forms health checks send."""

from __future__ import annotations

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.dns_wire import (
    DnsWireError,
    doh_get_param,
    tcp_answer_regex,
    tcp_query_hex,
)
from ansible_collections.hastack.dns_dhcp.plugins.plugin_utils.filters import raising_filter_errors

_wrap = raising_filter_errors(DnsWireError)


class FilterModule:
    def filters(self):
        return {
            "dns_tcp_query_hex": _wrap(tcp_query_hex),
            "dns_tcp_answer_regex": lambda _ignored=None: tcp_answer_regex(),
            "dns_doh_get_param": _wrap(doh_get_param),
        }
