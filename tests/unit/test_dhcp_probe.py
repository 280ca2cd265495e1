"""Unit tests of the DHCP probe module (DHCPINFORM, DHCPv6 Information-request) against a
DHCP responder on loopback, and of the timing code it shares with dns_probe."""

from __future__ import annotations

import socket
import struct
import threading

import pytest

from ansible_collections.hastack.dns_dhcp.plugins.module_utils import probe
from ansible_collections.hastack.dns_dhcp.plugins.modules import dhcp_probe
from tests.unit.loopback import UdpResponder


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


class Responder(UdpResponder):
    """A DHCP server on loopback that answers DHCPINFORM with DHCPACK (or an Information-request
    with a Reply), to the request's source port; it can be muted or made to refuse."""

    refuse = False

    def answer(self, wire):
        if self.sock.family == socket.AF_INET6:
            reply = bytes([dhcp_probe.DHCP6_REPLY]) + wire[1:4] + struct.pack("!HH", 2, 4) + b"\x00\x03\xab\xcd"
            if self.refuse:
                reply += struct.pack("!HHH", 13, 2, 1)
            return reply
        kind = dhcp_probe.DHCPNAK if self.refuse else dhcp_probe.DHCPACK
        return (bytes([2]) + wire[1:236] + dhcp_probe.MAGIC_COOKIE
                + bytes([53, 1, kind, 54, 4, 10, 0, 0, 1, 255]))


@pytest.fixture
def responder():
    server = Responder()
    yield server
    server.close()


def run(server, port, duration=0.3):
    results, source = dhcp_probe.probe_dhcp(server, port, 0, 0.01, 0.1, duration, 1000)
    return probe.summarise(results, 10), source


def test_every_dhcpinform_is_answered_and_counted_by_server(responder):
    summary, source = run("127.0.0.1", responder.port)
    assert summary["sent"] >= 10 and summary["unanswered"] == 0, summary
    assert summary["answers"] == {"10.0.0.1": summary["sent"]}
    request = responder.requests[0]
    assert request[0] == 1 and request[12:16] == socket.inet_aton(source)  # ciaddr: the probe's own address
    assert dhcp_probe._options4(request)[53] == bytes([dhcp_probe.DHCPINFORM])


def test_an_outage_and_a_nak_are_failed_requests(responder):
    responder.muted = True
    timer = threading.Timer(0.15, lambda: setattr(responder, "muted", False))
    timer.start()
    summary, _source = run("127.0.0.1", responder.port, 0.4)
    timer.join()
    assert summary["unanswered"] >= 5 and summary["answered"] >= 5, summary
    assert 100 <= summary["outage_ms"] <= 400, summary
    responder.refuse = True
    summary, _source = run("127.0.0.1", responder.port, 0.1)
    assert summary["answered"] == 0 and summary["sent"] >= 3, summary


def test_a_silent_server_is_one_unresolved_outage():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        summary, _source = run("127.0.0.1", silent.getsockname()[1], 0.2)
    assert summary["answered"] == 0 and summary["outages"][0]["unresolved"] is True


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")
def test_dhcpv6_information_requests_are_answered_by_the_servers_duid():
    responder = Responder(socket.AF_INET6)
    try:
        summary, _source = run("::1", responder.port)
        assert summary["unanswered"] == 0 and summary["answers"] == {"0003abcd": summary["sent"]}, summary
        assert responder.requests[0][0] == dhcp_probe.DHCP6_INFORMATION_REQUEST
        responder.refuse = True
        summary, _source = run("::1", responder.port, 0.1)
        assert summary["answered"] == 0, summary
    finally:
        responder.close()


def test_foreign_and_malformed_datagrams_are_ignored():
    assert dhcp_probe.read_ack(b"\x02" + bytes(10)) is None
    offer = bytes([2]) + bytes(235) + dhcp_probe.MAGIC_COOKIE + bytes([53, 1, 2, 255])
    assert dhcp_probe.read_ack(offer) is None  # a DHCPOFFER answers no DHCPINFORM
    assert dhcp_probe.read_reply(bytes([2, 0, 0, 1])) is None  # an Advertise
    assert dhcp_probe.read_reply(bytes([7, 0, 0, 9]) + b"\x00\x02\x00\x09ab") == (9, "?")  # truncated option


def test_the_client_port_held_by_another_program_on_the_address_fails_by_name():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        with pytest.raises(OSError) as caught:
            dhcp_probe.client_socket("127.0.0.1", 67, holder.getsockname()[1])
    assert caught.value.errno == 98  # EADDRINUSE: a holder without SO_REUSEADDR


def test_the_timing_options_are_checked():
    good = {"duration_s": 1.0, "interval_ms": 20, "timeout_ms": 250, "max_queries": 10}
    assert probe.timing_error(good) is None
    assert "duration_s must be above 0 and at most 900" in probe.timing_error(dict(good, duration_s=901))
    assert "must be positive" in probe.timing_error(dict(good, interval_ms=0))
    assert dhcp_probe.address_family("fd00::1") is True and dhcp_probe.address_family("10.0.0.1") is False
    assert dhcp_probe.address_family("dhcp.example") is None
