# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the bind role: local zones from inventory data, checked."""

from __future__ import annotations

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.bind_zones import BindZoneError, bind_zones
from ansible_collections.hastack.dns_dhcp.plugins.plugin_utils.filters import raising_filter_errors

_wrap = raising_filter_errors(BindZoneError)


class FilterModule:
    def filters(self):
        return {"bind_zones": _wrap(bind_zones)}
