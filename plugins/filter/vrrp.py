# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for VRRP (keepalived) configuration."""

from __future__ import annotations

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.vrrp import (
    VrrpError,
    resolve_instances,
)
from ansible_collections.hastack.dns_dhcp.plugins.plugin_utils.filters import (
    raising_filter_errors,
    requiring_netaddr,
)


@raising_filter_errors(VrrpError)
def vrrp_instances(instances, host, peers, hostvars, defaults=None, scripts=(), processes=(),
                   notify=None, files=()):
    """Resolve keepalived_instances for one host; fail with the variable's name on bad input."""
    return resolve_instances(host, instances, peers, hostvars, defaults=defaults,
                             scripts=list(scripts or ()), processes=list(processes or ()),
                             notify=notify, files=list(files or ()))


class FilterModule:
    def filters(self):
        return requiring_netaddr({"vrrp_instances": vrrp_instances})
