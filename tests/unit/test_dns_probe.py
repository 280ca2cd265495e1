"""Unit tests of the DNS probe module against a DNS responder on loopback."""

from __future__ import annotations

import socket
import threading
import time

import dns.message
import dns.rdatatype
import dns.rrset
import pytest

from ansible_collections.hastack.dns_dhcp.plugins.modules import dns_probe
from tests.unit.loopback import UdpResponder


class Responder(UdpResponder):
    """A UDP DNS server on 127.0.0.1 that answers A queries, and can be muted."""

    def __init__(self, address="10.0.0.1"):
        self.address = address
        super().__init__()

    def answer(self, wire):
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        response.answer.append(dns.rrset.from_text(query.question[0].name, 60, "IN", "A", self.address))
        return response.to_wire()


@pytest.fixture
def responder():
    r = Responder()
    yield r
    r.close()


def test_all_answered(responder):
    results = dns_probe.probe_udp("127.0.0.1", responder.port, "a.test", dns.rdatatype.A,
                                  0.01, 0.2, 0.3, 1000)
    summary = dns_probe.summarise(results, 10)
    assert summary["sent"] >= 20
    assert summary["unanswered"] == 0 and summary["outage_ms"] == 0.0
    assert summary["answers"] == {"10.0.0.1": summary["sent"]}


def test_an_outage_is_measured(responder):
    def mute_for_a_while():
        time.sleep(0.2)
        responder.muted = True
        time.sleep(0.3)
        responder.muted = False

    threading.Thread(target=mute_for_a_while).start()
    results = dns_probe.probe_udp("127.0.0.1", responder.port, "a.test", dns.rdatatype.A,
                                  0.01, 0.1, 0.8, 1000)
    summary = dns_probe.summarise(results, 10)
    assert summary["unanswered"] > 10, summary
    assert len(summary["outages"]) == 1, summary["outages"]
    assert 200 <= summary["outage_ms"] <= 450, summary["outage_ms"]


def test_max_queries_bounds_the_run(responder):
    results = dns_probe.probe_udp("127.0.0.1", responder.port, "a.test", dns.rdatatype.A,
                                  0.001, 0.1, 5.0, 15)
    assert len(results) == 15


def test_a_silent_server_is_one_unresolved_outage():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))  # bound, never answers
    try:
        results = dns_probe.probe_udp("127.0.0.1", sock.getsockname()[1], "a.test", dns.rdatatype.A,
                                      0.02, 0.05, 0.2, 100)
    finally:
        sock.close()
    summary = dns_probe.summarise(results, 20)
    assert summary["answered"] == 0
    assert summary["outages"][0]["unresolved"] is True


def test_summarise_counts_runs_and_answers():
    results = [(0.00, "a"), (0.02, None), (0.04, None), (0.06, "b"), (0.08, None), (0.10, "a")]
    summary = dns_probe.summarise(results, 20)
    assert (summary["sent"], summary["answered"], summary["unanswered"]) == (6, 3, 3)
    assert [o["queries"] for o in summary["outages"]] == [2, 1]
    assert summary["outage_ms"] == 40.0
    assert summary["answers"] == {"a": 2, "b": 1}


def test_tcp_connections_closed_unanswered_are_failed_queries():
    """A proxy that accepts and closes (stopping, or no backend left): dnspython raises
    EOFError, which must count as a failed query, not end the probe."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def accept_and_close():
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _peer = server.accept()
            except socket.timeout:
                continue
            conn.close()

    thread = threading.Thread(target=accept_and_close, daemon=True)
    thread.start()
    try:
        results = dns_probe.probe_tcp("127.0.0.1", server.getsockname()[1], "a.test", dns.rdatatype.A,
                                      0.02, 0.2, 0.3, 100)
    finally:
        stop.set()
        thread.join()
        server.close()
    summary = dns_probe.summarise(results, 20)
    assert summary["sent"] >= 5
    assert summary["answered"] == 0, summary


def test_a_stop_file_ends_the_probe_early(responder, tmp_path):
    stop_file = tmp_path / "stop"
    stop_file.write_text("left from an earlier probe: removed at the start")
    stop = dns_probe.stop_when_file_exists(str(stop_file))
    assert not stop_file.exists()
    threading.Timer(0.3, stop_file.touch).start()
    results = dns_probe.probe_udp("127.0.0.1", responder.port, "a.test", dns.rdatatype.A,
                                  0.01, 0.1, 20.0, 10000, stop)
    assert 10 <= len(results) <= 100, len(results)  # 20 s would have sent 2000
    assert dns_probe.summarise(results, 10)["unanswered"] == 0
