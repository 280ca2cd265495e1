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
  interval_ms:
    description: Time between two queries.
    type: int
    default: 20
  timeout_ms:
    description: How long a query may wait for its answer.
    type: int
    default: 250
  duration_s:
    description: How long to send queries (at most 300 s).
    type: float
    required: true
  max_queries:
    description: Upper bound on the queries sent, whatever the duration.
    type: int
    default: 20000
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

import selectors
import socket
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

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

MAX_DURATION_S = 300


def answer_text(response):
    """The answer records of a response as one comparable string, or None when it failed."""
    if response.rcode() != dns.rcode.NOERROR:
        return None
    records = sorted(rd.to_text() for rrset in response.answer for rd in rrset)
    return " ".join(records) if records else None


def summarise(results, interval_ms):
    """results: list of (sent_at_seconds, answer_or_None) in send order."""
    outages, run_start, run_count = [], None, 0
    first = results[0][0] if results else 0.0
    for sent_at, answer in results:
        if answer is None:
            if run_start is None:
                run_start, run_count = sent_at, 0
            run_count += 1
        elif run_start is not None:
            outages.append({"start_ms": round((run_start - first) * 1000, 1),
                            "duration_ms": round((sent_at - run_start) * 1000, 1),
                            "queries": run_count})
            run_start = None
    if run_start is not None:
        last = results[-1][0]
        outages.append({"start_ms": round((run_start - first) * 1000, 1),
                        "duration_ms": round((last - run_start) * 1000 + interval_ms, 1),
                        "queries": run_count, "unresolved": True})
    answers = {}
    for dummy, answer in results:
        if answer is not None:
            answers[answer] = answers.get(answer, 0) + 1
    unanswered = sum(1 for dummy, answer in results if answer is None)
    return {
        "sent": len(results),
        "answered": len(results) - unanswered,
        "unanswered": unanswered,
        "outage_ms": max((o["duration_ms"] for o in outages), default=0.0),
        "outages": outages,
        "answers": answers,
    }


def probe_udp(server, port, qname, qtype, interval, timeout, duration, max_queries):
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    pending = {}   # query id -> index in results
    results = []   # [sent_at, answer, deadline]
    start = time.monotonic()
    next_send = start
    end = start + duration
    try:
        while True:
            now = time.monotonic()
            if now >= next_send and now < end and len(results) < max_queries:
                query = dns.message.make_query(qname, qtype)
                while query.id in pending:
                    query.id = (query.id + 1) % 65536
                try:
                    sock.sendto(query.to_wire(), (server, port))
                except OSError:
                    pass  # unreachable right now: counts as a failed query
                pending[query.id] = len(results)
                results.append([now, None, now + timeout])
                next_send += interval
                if next_send < now:  # fell behind: do not burst to catch up
                    next_send = now + interval
            for qid in [q for q, i in pending.items() if results[i][2] <= now]:
                del pending[qid]
            if now >= end and not pending:
                break
            if now >= end + timeout or len(results) >= max_queries and not pending:
                break
            wait = max(0.0, min(next_send, end + timeout) - time.monotonic())
            for _key, _events in sel.select(timeout=wait):
                try:
                    wire, _addr = sock.recvfrom(65535)
                    response = dns.message.from_wire(wire)
                except (OSError, dns.exception.DNSException):
                    continue
                index = pending.pop(response.id, None)
                if index is not None and time.monotonic() <= results[index][2]:
                    results[index][1] = answer_text(response)
    finally:
        sel.close()
        sock.close()
    return [(sent_at, answer) for sent_at, answer, dummy in results]


def probe_tcp(server, port, qname, qtype, interval, timeout, duration, max_queries):
    import dns.query

    results = []
    start = time.monotonic()
    next_send = start
    while time.monotonic() < start + duration and len(results) < max_queries:
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
            interval_ms=dict(type="int", default=20),
            timeout_ms=dict(type="int", default=250),
            duration_s=dict(type="float", required=True),
            max_queries=dict(type="int", default=20000),
        ),
        supports_check_mode=True,
    )
    if not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=DNS_IMPORT_ERROR)
    p = module.params
    if not 0 < p["duration_s"] <= MAX_DURATION_S:
        module.fail_json(msg=f"duration_s must be above 0 and at most {MAX_DURATION_S}, got {p['duration_s']}")
    if p["interval_ms"] < 1 or p["timeout_ms"] < 1 or p["max_queries"] < 1:
        module.fail_json(msg="interval_ms, timeout_ms and max_queries must be positive")
    if module.check_mode:
        module.exit_json(changed=False, sent=0, answered=0, unanswered=0, outage_ms=0.0, outages=[], answers={})
    probe = probe_tcp if p["tcp"] else probe_udp
    results = probe(p["server"], p["port"], p["name"], dns.rdatatype.from_text(p["qtype"]),
                    p["interval_ms"] / 1000.0, p["timeout_ms"] / 1000.0, p["duration_s"],
                    p["max_queries"])
    module.exit_json(changed=False, **summarise(results, p["interval_ms"]))


if __name__ == "__main__":
    main()
