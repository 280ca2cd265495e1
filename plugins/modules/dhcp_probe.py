#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ask a DHCP server for configuration at a fixed rate for a bounded time and measure the outages."""

from __future__ import annotations

DOCUMENTATION = r"""
module: dhcp_probe
short_description: Ask a DHCP server (a DHCP VIP) for configuration at a fixed rate and report outages
version_added: 0.1.0
author: hastack.dns_dhcp contributors (@hastack)
extends_documentation_fragment:
  - hastack.dns_dhcp.probe_timing
description:
  - Sends one request every O(interval_ms) to O(server) for O(duration_s) seconds (at most
    O(max_queries) requests), each answered or not within O(timeout_ms); to an IPv4 server a
    DHCPINFORM (RFC 2131 3.4), answered by a DHCPACK; to an IPv6 server a DHCPv6
    Information-request (RFC 8415 18.2.6), answered by a Reply. Neither leases an address,
    so the probe changes nothing on the server.
  - Sent by unicast to the server, so only the node that holds a DHCP VIP answers, and the drill
    of a DHCP VIP measures the time no node serves it.
  - Reports the same figures as M(hastack.dns_dhcp.dns_probe); the answers are counted by the
    server that sent them (the DHCP server identifier, the DHCPv6 server DUID), which shows
    the node that took over.
  - Binds the DHCP client port (68, or 546 for IPv6) on the host's own source address towards
    the server with SO_REUSEADDR, beside a DHCP client that holds the port on all addresses;
    fails, naming the port, when another program holds it on that address.
  - Runs on the host it is given (the client of a failover drill), as root for the client port.
options:
  server:
    description: Address of the DHCP server (a DHCP VIP); IPv6 sends DHCPv6.
    type: str
    required: true
  port:
    description: Server port; 67, or 547 for IPv6, when not given.
    type: int
  client_port:
    description: Port to send from and receive on; 68, or 546 for IPv6, when not given (0 for any free port).
    type: int
"""

EXAMPLES = r"""
- name: Probe the DHCP VIP for 5 seconds while its holder is broken
  hastack.dns_dhcp.dhcp_probe:
    server: 10.0.0.101
    duration_s: 5
  async: 30
  poll: 0
  register: probe
"""

RETURN = r"""
sent:
  description: Requests sent.
  type: int
  returned: always
answered:
  description: Requests answered in time (DHCPACK, DHCPv6 Reply without an error status).
  type: int
  returned: always
unanswered:
  description: Requests not answered in time, or answered with DHCPNAK or an error status.
  type: int
  returned: always
outage_ms:
  description: Longest run of failures, from the first failed request to the next answered one.
  type: float
  returned: always
outages:
  description: Every run of failures, with its start (ms after the first request), length (ms) and requests.
  type: list
  elements: dict
  returned: always
answers:
  description: How often each server (server identifier or DUID) answered.
  type: dict
  returned: always
"""

import errno
import os
import socket
import struct
import uuid

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.probe import (
    NOTHING_SENT,
    TIMING_ARGS,
    probe_datagrams,
    stop_when_file_exists,
    summarise,
    timing_error,
)

MAGIC_COOKIE = b"\x63\x82\x53\x63"
DHCPACK = 5
DHCPNAK = 6
DHCPINFORM = 8
DHCP6_REPLY = 7
DHCP6_INFORMATION_REQUEST = 11
OPTION6_CLIENT_ID = 1
OPTION6_SERVER_ID = 2
OPTION6_ORO = 6
OPTION6_ELAPSED_TIME = 8
OPTION6_STATUS_CODE = 13
OPTION6_DNS_SERVERS = 23


def _mac():
    """The host's MAC address as 6 bytes (uuid's node: a real one, or a random local one)."""
    return uuid.getnode().to_bytes(6, "big")


def inform(xid, ciaddr, mac):
    """A DHCPINFORM (RFC 2131 3.4) from ciaddr: asks for the subnet mask, router and DNS servers."""
    header = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0,
                         socket.inet_aton(ciaddr), bytes(4), bytes(4), bytes(4), mac.ljust(16, b"\0"),
                         bytes(64), bytes(128))
    options = bytes([53, 1, DHCPINFORM, 61, 7, 1]) + mac + bytes([55, 3, 1, 3, 6, 255])
    return header + MAGIC_COOKIE + options


def _options4(wire):
    """The options of a DHCPv4 message, {code: bytes}."""
    options, index = {}, 240
    while index < len(wire):
        code = wire[index]
        if code == 255:
            break
        if code == 0:
            index += 1
            continue
        if index + 1 >= len(wire):
            break
        length = wire[index + 1]
        options[code] = wire[index + 2:index + 2 + length]
        index += 2 + length
    return options


def read_ack(wire):
    """(xid, server identifier or None for a NAK) of a DHCPv4 reply; None for anything else."""
    if len(wire) < 240 or wire[0] != 2 or wire[236:240] != MAGIC_COOKIE:
        return None
    xid = struct.unpack("!I", wire[4:8])[0]
    options = _options4(wire)
    kind = options.get(53, b"")[:1]
    if kind == bytes([DHCPNAK]):
        return xid, None
    if kind != bytes([DHCPACK]):
        return None
    server = options.get(54)
    return xid, socket.inet_ntoa(server) if server and len(server) == 4 else "?"


def information_request(xid, duid):
    """A DHCPv6 Information-request (RFC 8415 18.2.6): client id, elapsed time, asks for DNS servers."""
    options = b"".join([struct.pack("!HH", OPTION6_CLIENT_ID, len(duid)), duid,
                        struct.pack("!HHH", OPTION6_ELAPSED_TIME, 2, 0),
                        struct.pack("!HHH", OPTION6_ORO, 2, OPTION6_DNS_SERVERS)])
    return struct.pack("!I", (DHCP6_INFORMATION_REQUEST << 24) | xid) + options


def read_reply(wire):
    """(xid, server DUID in hex or None for an error status) of a DHCPv6 Reply; None for anything else."""
    if len(wire) < 4 or wire[0] != DHCP6_REPLY:
        return None
    xid = struct.unpack("!I", wire[:4])[0] & 0xFFFFFF
    options, index = {}, 4
    while index + 4 <= len(wire):
        code, length = struct.unpack("!HH", wire[index:index + 4])
        if index + 4 + length > len(wire):
            break  # truncated: the rest is no option
        options.setdefault(code, wire[index + 4:index + 4 + length])
        index += 4 + length
    status = options.get(OPTION6_STATUS_CODE)
    if status and len(status) >= 2 and struct.unpack("!H", status[:2])[0] != 0:
        return xid, None
    return xid, options[OPTION6_SERVER_ID].hex() if OPTION6_SERVER_ID in options else "?"


def client_socket(server, port, client_port):
    """A UDP socket bound to client_port on the host's source address towards server."""
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as route:
        route.connect((server, port))
        source = route.getsockname()[0]
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        # beside a DHCP client bound to the port on every address (it sets SO_REUSEADDR too);
        # bound to the one source address, the unicast answers come here
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((source, client_port))
    except OSError:
        sock.close()
        raise
    return sock, source


def probe_dhcp(server, port, client_port, interval, timeout, duration, max_queries, stop=None):
    """Probe server; returns (results, source address) like probe_datagrams."""
    sock, source = client_socket(server, port, client_port)
    mac, duid = _mac(), None
    if ":" in server:
        duid = struct.pack("!HH", 3, 1) + mac  # DUID-LL (RFC 8415 11.4)

    def make_request(pending):
        mask = 0xFFFFFF if duid else 0xFFFFFFFF
        xid = int.from_bytes(os.urandom(4), "big") & mask
        while xid in pending:
            xid = (xid + 1) & mask
        return (information_request(xid, duid) if duid else inform(xid, source, mac)), xid

    results = probe_datagrams(sock, (server, port), make_request, read_reply if duid else read_ack,
                              interval, timeout, duration, max_queries, stop)
    return results, source


def address_family(address):
    """True for an IPv6 address, False for an IPv4 one, None for neither."""
    for family, ipv6 in ((socket.AF_INET, False), (socket.AF_INET6, True)):
        try:
            socket.inet_pton(family, address)
            return ipv6
        except OSError:
            continue
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            server=dict(type="str", required=True),
            port=dict(type="int"),
            client_port=dict(type="int"),
            **TIMING_ARGS,
        ),
        supports_check_mode=True,
    )
    p = module.params
    error = timing_error(p)
    if error:
        module.fail_json(msg=error)
    ipv6 = address_family(p["server"])
    if ipv6 is None:
        module.fail_json(msg=f"server must be an IPv4 or IPv6 address, got {p['server']!r}")
    port = p["port"] if p["port"] is not None else (547 if ipv6 else 67)
    client_port = p["client_port"] if p["client_port"] is not None else (546 if ipv6 else 68)
    if module.check_mode:
        module.exit_json(changed=False, **NOTHING_SENT)
    try:
        results, _source = probe_dhcp(p["server"], port, client_port, p["interval_ms"] / 1000.0,
                                      p["timeout_ms"] / 1000.0, p["duration_s"], p["max_queries"],
                                      stop_when_file_exists(p["stop_file"]))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            module.fail_json(msg=f"client_port {client_port} is in use on this host's address towards "
                                 f"{p['server']} by a program without SO_REUSEADDR: stop it or set client_port")
        module.fail_json(msg=f"cannot reach {p['server']}: {exc}")
    module.exit_json(changed=False, **summarise(results, p["interval_ms"]))


if __name__ == "__main__":
    main()
