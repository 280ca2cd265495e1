# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side helpers the collection's filter plugins share."""

from __future__ import annotations

import functools

from ansible.errors import AnsibleFilterError

from ansible_collections.hastack.dns_dhcp.plugins.module_utils import netaddr_import


def raising_filter_errors(error_type):
    """Decorate a function so that error_type comes out as AnsibleFilterError (a clean play failure).

    The decorated filter also takes errors='return': it then returns {"result": value, "error": ""}
    on good input and {"result": None, "error": message} on bad input, for a validation task that
    leads with an ansible.builtin.assert whose fail_msg is the message. A filter error in a task's
    arguments reaches the operator after Ansible's "Finalization of task args ... failed" wrapper;
    an assert's fail_msg is the first line of the failure.
    """
    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, errors="strict", **kwargs):
            if errors not in ("strict", "return"):
                raise AnsibleFilterError(f"errors must be 'strict' or 'return', got {errors!r}")
            try:
                result = func(*args, **kwargs)
            except error_type as exc:
                if errors == "return":
                    return {"result": None, "error": str(exc)}
                raise AnsibleFilterError(str(exc)) from exc
            return {"result": result, "error": ""} if errors == "return" else result
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
