# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Value checks shared by the filters that resolve inventory data; each error names the
variable (path) it is about and is raised as the caller's own error class."""

from __future__ import annotations


def int_in(path, value, low, high, error=ValueError):
    """value as an int from low to high (an int or a digit string, never a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise error(f"{path}: must be an integer from {low} to {high}, got {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise error(f"{path}: must be an integer from {low} to {high}, got {value!r}") from None
    if not low <= number <= high:
        raise error(f"{path}: must be from {low} to {high}, got {number}")
    return number
