# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side helpers the collection's filter plugins share."""

from __future__ import annotations

import functools

from ansible.errors import AnsibleFilterError

from ansible_collections.hastack.dns_dhcp.plugins.module_utils import netaddr_import


def raising_filter_errors(error_type):
    """Decorate a function so that error_type comes out as AnsibleFilterError (a clean play failure)."""
    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except error_type as exc:
                raise AnsibleFilterError(str(exc)) from exc
        return wrapper
    return decorate


def requiring_netaddr(filters):
    """Wrap each filter of a {name: function} map so that, without the netaddr library, calling
    it fails with one clear message (pip install netaddr) instead of the plugin not loading."""
    def guard(name, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if netaddr_import.NETADDR_IMPORT_ERROR is not None:
                raise AnsibleFilterError(
                    netaddr_import.MISSING_NETADDR.format(name=f"hastack.dns_dhcp.{name}")
                ) from netaddr_import.NETADDR_IMPORT_ERROR
            return func(*args, **kwargs)
        return wrapper
    return {name: guard(name, func) for name, func in filters.items()}
