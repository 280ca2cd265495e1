"""Unit tests of the health-check DNS queries (plugins/module_utils/dns_wire.py)."""

from __future__ import annotations

import base64
import re

import dns.message
import pytest

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.dns_wire import (
    DnsWireError,
    doh_get_param,
    query,
    tcp_answer_regex,
    tcp_query_hex,
)


def test_dnspython_reads_the_query():
    message = dns.message.from_wire(query("www.abc.local", "A"))
    assert message.id == 0xBEEF
    assert str(message.question[0]) == "www.abc.local. IN A"
    assert not message.flags & dns.flags.RD


def test_the_tcp_form_has_the_length_first():
    raw = bytes.fromhex(tcp_query_hex("abc.local.", "SOA"))
    assert int.from_bytes(raw[:2], "big") == len(raw) - 2
    assert str(dns.message.from_wire(raw[2:]).question[0]) == "abc.local. IN SOA"


def test_the_doh_form_is_base64url_without_padding():
    param = doh_get_param("abc.local")
    assert "=" not in param and "+" not in param and "/" not in param
    wire = base64.urlsafe_b64decode(param + "=" * (-len(param) % 4))
    assert dns.message.from_wire(wire).id == 0


def _answer_hex(rcode=0, aa=True):
    question = dns.message.from_wire(query("abc.local"))
    response = dns.message.make_response(question)
    response.set_rcode(rcode)
    if aa:
        response.flags |= dns.flags.AA
    wire = response.to_wire()
    return (len(wire).to_bytes(2, "big") + wire).hex().upper()


def test_the_answer_regex_takes_noerror_and_refuses_errors():
    assert re.match(tcp_answer_regex(), _answer_hex())
    assert re.match(tcp_answer_regex(), _answer_hex(aa=False))
    assert not re.match(tcp_answer_regex(), _answer_hex(rcode=dns.rcode.REFUSED))
    assert not re.match(tcp_answer_regex(), _answer_hex(rcode=dns.rcode.SERVFAIL))
    assert not re.match(tcp_answer_regex(), tcp_query_hex("abc.local").upper())


@pytest.mark.parametrize("name,qtype", [("a" * 64 + ".local", "A"), ("x.local", "BOGUS"), ("a..b", "A")])
def test_bad_questions_are_refused(name, qtype):
    with pytest.raises(DnsWireError):
        query(name, qtype)
