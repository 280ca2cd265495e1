# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netaddr library, imported so that its absence shows at first use, not at plugin load.

Without netaddr on the controller, Ansible would skip every filter plugin whose module
imports it ("Skipping filter plugins", then "No filter named ..."). The filters import
netaddr from here instead; plugin_utils.filters.requiring_netaddr turns a missing library
into one clear error when such a filter is called.
"""

from __future__ import annotations

__all__ = ("netaddr", "NETADDR_IMPORT_ERROR", "MISSING_NETADDR")

try:
    import netaddr
except ImportError as exc:  # recorded, raised by the filters at first use
    netaddr = None
    NETADDR_IMPORT_ERROR = exc
else:
    NETADDR_IMPORT_ERROR = None

MISSING_NETADDR = (
    "The filter {name} of hastack.dns_dhcp needs the Python library netaddr on the "
    "controller (the Python that runs ansible-playbook): pip install netaddr, or "
    "pip install -r requirements.txt from the installed collection "
    "(ansible_collections/hastack/dns_dhcp/requirements.txt)."
)
