# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS queries in wire format, for health checks that ask a real question.

Pure Python (no dnspython) so it runs anywhere: a fixed ID, RD off, one question.
"""

from __future__ import annotations

import base64
import struct

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}
CHECK_ID = 0xBEEF


class DnsWireError(ValueError):
    """A name or type that cannot be put into a query."""


def query(name, qtype="A", query_id=CHECK_ID):
    """The query for name/qtype (class IN) as bytes."""
    name = str(name).rstrip(".")
    if str(qtype).upper() not in QTYPES:
        raise DnsWireError(f"query type {qtype!r}: one of {sorted(QTYPES)}")
    try:
        labels = [label.encode("ascii") if label.isascii() else label.encode("idna")
                  for label in name.split(".")] if name else []
    except UnicodeError as exc:
        raise DnsWireError(f"name {name!r}: {exc}") from exc
    for label in labels:
        if not 1 <= len(label) <= 63:
            raise DnsWireError(f"name {name!r}: every label must have 1 to 63 characters")
    qname = b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"
    if len(qname) > 255:
        raise DnsWireError(f"name {name!r} is longer than 255 octets")
    header = struct.pack("!HHHHHH", query_id, 0, 1, 0, 0, 0)
    return header + qname + struct.pack("!HH", QTYPES[str(qtype).upper()], 1)


def tcp_query_hex(name, qtype="A"):
    """The query as DNS over TCP sends it (2-byte length first), in hex: for tcp-check send-binary."""
    wire = query(name, qtype)
    return (struct.pack("!H", len(wire)) + wire).hex()


def tcp_answer_regex():
    """A regex over the hex of a TCP answer: our ID, QR set, RCODE NOERROR (for tcp-check expect rbinary)."""
    return f"^[0-9A-F]{{4}}{CHECK_ID:04X}[89A-F][0-9A-F][0-9A-F]0"


def doh_get_param(name, qtype="A"):
    """The query for a DoH GET (RFC 8484): base64url without padding, ID 0."""
    return base64.urlsafe_b64encode(query(name, qtype, query_id=0)).decode().rstrip("=")
