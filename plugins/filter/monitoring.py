# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter of monitoring.yml: the Prometheus targets of the inventory's variant groups."""

from __future__ import annotations

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.monitoring import MonitoringError, monitoring_targets
from ansible_collections.hastack.dns_dhcp.plugins.plugin_utils.filters import raising_filter_errors


class FilterModule:
    def filters(self):
        return {"monitoring_targets": raising_filter_errors(MonitoringError)(monitoring_targets)}
