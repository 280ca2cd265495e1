#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Send DNS queries at a fixed rate for a bounded time and measure the outages."""

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_probe
short_description: Query a DNS server at a fixed rate for a bounded time and report outages
version_added: 0.1.0
author: hastack.dns_dhcp contributors (@hastack)
extends_documentation_fragment:
  - hastack.dns_dhcp.probe_timing
description:
  - Sends one query every O(interval_ms) to O(server) for O(duration_s) seconds (at most
    O(max_queries) queries), each answered or not within O(timeout_ms).
  - Reports how many were sent, answered and failed, every run of consecutive failures
    with its length in milliseconds, and how often each answer was seen (which backend
    answered, where backends answer differently).
  - Runs on the host it is given (the client of a failover drill); needs dnspython there.
  - Meant to run with C(async) while something else breaks the service.
options:
  server:
    description: Address of the DNS server (a VIP, a backend).
    type: str
    required: true
  name:
    description: Name to query.
    type: str
    required: true
  qtype:
    description: Record type to query.
    type: str
    default: A
  port:
    description: Server port.
    type: int
    default: 53
  tcp:
    description: Query over TCP, one connection per query, instead of UDP.
    type: bool
    default: false
requirements:
  - dnspython on the host that runs the probe
"""

EXAMPLES = r"""
- name: Probe the DNS VIP for 5 seconds while the master is broken
  hastack.dns_dhcp.dns_probe:
    server: 10.0.0.100
    name: www.lab.example
    duration_s: 5
  async: 30
  poll: 0
  register: probe
"""

RETURN = r"""
sent:
  description: Queries sent.
  type: int
  returned: always
answered:
  description: Queries answered with NOERROR and at least one record, in time.
  type: int
  returned: always
unanswered:
  description: Queries not answered in time, or answered with an error or no record.
  type: int
  returned: always
outage_ms:
  description: Longest run of failures, from the first failed query to the next answered one.
  type: float
  returned: always
outages:
  description: Every run of failures, with its start (ms after the first query), length (ms) and queries.
  type: list
  elements: dict
  returned: always
answers:
  description: How often each answer (the records' text, sorted and joined) was seen.
  type: dict
  returned: always
"""

import socket
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.probe import (  # noqa: F401 (summarise: the module's API)
    NOTHING_SENT,
    TIMING_ARGS,
    probe_datagrams,
    stop_when_file_exists,
    summarise,
    timing_error,
)

try:
    import dns.exception
    import dns.message
    import dns.rcode
    import dns.rdatatype
    HAS_DNSPYTHON = True
    DNS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - depends on the host
    HAS_DNSPYTHON = False
    DNS_IMPORT_ERROR = traceback.format_exc()


def answer_text(response):
    """The answer records of a response as one comparable string, or None when it failed."""
    if response.rcode() != dns.rcode.NOERROR:
        return None
    records = sorted(rd.to_text() for rrset in response.answer for rd in rrset)
    return " ".join(records) if records else None


def probe_udp(server, port, qname, qtype, interval, timeout, duration, max_queries, stop=None):
    family = socket.AF_INET6 if ":" in server else socket.AF_INET

    def make_request(pending):
        query = dns.message.make_query(qname, qtype)
        while query.id in pending:
            query.id = (query.id + 1) % 65536
        return query.to_wire(), query.id

    def read_answer(wire):
        try:
            response = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        return response.id, answer_text(response)

    return probe_datagrams(socket.socket(family, socket.SOCK_DGRAM), (server, port), make_request,
                           read_answer, interval, timeout, duration, max_queries, stop)


def probe_tcp(server, port, qname, qtype, interval, timeout, duration, max_queries, stop=None):
    import dns.query

    results = []
    start = time.monotonic()
    next_send = start
    while time.monotonic() < start + duration and len(results) < max_queries:
        if stop is not None and stop(time.monotonic()):
            break
        now = time.monotonic()
        if now < next_send:
            time.sleep(next_send - now)
        sent_at = time.monotonic()
        try:
            response = dns.query.tcp(dns.message.make_query(qname, qtype), server, port=port,
                                     timeout=timeout)
            answer = answer_text(response)
        except (OSError, EOFError, dns.exception.DNSException):
            # EOFError: the server closed the connection before answering (a proxy
            # that is stopping, or has no backend left)
            answer = None
        results.append((sent_at, answer))
        next_send = max(next_send + interval, time.monotonic())
    return results


def main():
    module = AnsibleModule(
        argument_spec=dict(
            server=dict(type="str", required=True),
            name=dict(type="str", required=True),
            qtype=dict(type="str", default="A"),
            port=dict(type="int", default=53),
            tcp=dict(type="bool", default=False),
            **TIMING_ARGS,
        ),
        supports_check_mode=True,
    )
    if not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=DNS_IMPORT_ERROR)
    p = module.params
    error = timing_error(p)
    if error:
        module.fail_json(msg=error)
    if module.check_mode:
        module.exit_json(changed=False, **NOTHING_SENT)
    probe = probe_tcp if p["tcp"] else probe_udp
    results = probe(p["server"], p["port"], p["name"], dns.rdatatype.from_text(p["qtype"]),
                    p["interval_ms"] / 1000.0, p["timeout_ms"] / 1000.0, p["duration_s"],
                    p["max_queries"], stop_when_file_exists(p["stop_file"]))
    module.exit_json(changed=False, **summarise(results, p["interval_ms"]))


if __name__ == "__main__":
    main()
