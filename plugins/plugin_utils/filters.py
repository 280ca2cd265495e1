# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side helpers the collection's filter plugins share."""

from __future__ import annotations

import functools

from ansible.errors import AnsibleFilterError


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
