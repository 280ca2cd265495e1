# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the nginx stream proxy: resolve the DNS services, derive a source build's paths."""

from __future__ import annotations

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.nginx_stream import (
    NginxStreamError,
    configure_paths,
    resolve_services,
)
from ansible_collections.hastack.dns_dhcp.plugins.plugin_utils.filters import (
    raising_filter_errors,
    requiring_netaddr,
)

_wrap = raising_filter_errors(NginxStreamError)


class FilterModule:
    def filters(self):
        return requiring_netaddr({
            "nginx_stream_plan": _wrap(resolve_services),
            "nginx_configure_paths": _wrap(configure_paths),
        })
