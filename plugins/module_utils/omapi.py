# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Talk to ISC dhcpd's OMAPI through omshell: read the state of a failover relationship."""

from __future__ import annotations

import re

# dhcpd's enum failover_state (server/failover.c, includes/failover.h)
FAILOVER_STATES = {
    0: "unknown",
    1: "startup",
    2: "normal",
    3: "communications-interrupted",
    4: "partner-down",
    5: "potential-conflict",
    6: "recover",
    7: "paused",
    8: "shutdown",
    9: "recover-done",
    10: "resolution-interrupted",
    11: "conflict-done",
    254: "recover-wait",
}


class OmapiError(RuntimeError):
    """omshell could not connect, authenticate or find the object."""


def failover_state_script(name, server="127.0.0.1", port=7911, key_name="", key=""):
    """The omshell input that opens the failover-state object `name`."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", str(name)):
        raise OmapiError(f"failover name {name!r}: letters, digits, '.', '_' and '-' only")
    lines = [f"server {server}", f"port {int(port)}"]
    if key:
        lines.append(f"key {key_name} {key}")
    lines += ["connect", "new failover-state", f'set name = "{name}"', "open", ""]
    return "\n".join(lines)


def decode(value):
    """An omshell attribute value: "text" -> str, colon-separated hex bytes -> int."""
    value = value.strip()
    if value.startswith('"') and value.endswith('"'):
        return value[1:-1]
    if re.fullmatch(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*", value):
        return int(value.replace(":", ""), 16)
    return value


def parse_object(output):
    """The attributes of the last object omshell printed; OmapiError when it printed an error."""
    errors = [line.strip("> ").strip() for line in output.splitlines()
              if re.search(r"can't|not found|no key|invalid|dhcpctl_\w+: |timed out|refused", line)]
    blocks = output.split("obj: ")
    attrs = {}
    for line in blocks[-1].splitlines()[1:] if len(blocks) > 1 else []:
        if " = " in line:
            key, value = line.lstrip("> ").split(" = ", 1)
            attrs[key.strip()] = decode(value)
    if errors and "local-state" not in attrs:
        raise OmapiError("; ".join(errors))
    return attrs


def failover_state(output):
    """local_state / partner_state (names) and the raw attributes of a failover-state object."""
    attrs = parse_object(output)
    if "local-state" not in attrs:
        raise OmapiError(f"no failover state in omshell's answer: {output.strip()[-300:]!r}")
    return {
        "local_state": FAILOVER_STATES.get(attrs["local-state"], str(attrs["local-state"])),
        "partner_state": FAILOVER_STATES.get(attrs.get("partner-state"), str(attrs.get("partner-state"))),
        "attributes": dict(attrs),
    }
