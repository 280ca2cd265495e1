"""ISC dhcpd's lease file and the leases a Kea pair takes over (plugins/module_utils/dhcpd_leases.py)."""

from __future__ import annotations

import calendar
import csv
import io

import pytest

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.dhcpd_leases import (
    KEA_LEASE4_COLUMNS,
    LeaseError,
    kea_lease_import,
    parse_leases,
    switch_plan,
)

NOW = calendar.timegm((2026, 12, 2, 2, 0, 0))
SUBNETS = [{"id": 181217280, "family": 4, "subnet": "10.205.40.0/24"},
           {"id": 1, "family": 6, "subnet": "fd00:213:40::/64"}]

PRIMARY = """\
# The format of this file is documented in the dhcpd.leases(5) manual page.
# This lease file was written by isc-dhcp-4.4.3-P1

# authoring-byte-order entry is generated, DO NOT DELETE
authoring-byte-order little-endian;

failover peer "dhcp" state {
  my state normal at 3 2026/12/02 01:50:00;
  partner state normal at 3 2026/12/02 01:50:00;
}

lease 10.205.40.100 {
  starts 3 2026/12/02 01:40:00;
  ends 3 2026/12/02 01:41:00;
  tstp 3 2026/12/02 01:41:00;
  cltt 3 2026/12/02 01:40:00;
  binding state active;
  next binding state expired;
  hardware ethernet 02:00:0A:CD:28:01;
  uid "\\001\\002\\000\\012\\315(\\001";
  client-hostname "old";
}
lease 10.205.40.100 {
  starts 3 2026/12/02 01:55:00;
  ends 3 2026/12/02 02:05:00;
  tstp 3 2026/12/02 02:05:00;
  cltt 3 2026/12/02 01:55:00;
  binding state active;
  next binding state expired;
  hardware ethernet 02:00:0a:cd:28:01;
  uid "\\001\\002\\000\\012\\315(\\001";
  client-hostname "one,two";
}
lease 10.205.40.101 {
  starts 3 2026/12/02 01:30:00;
  ends 3 2026/12/02 01:40:00;
  binding state active;
  hardware ethernet 02:00:0a:cd:28:02;
}
lease 10.205.40.102 {
  starts 3 2026/12/02 01:30:00;
  ends 3 2026/12/02 01:40:00;
  binding state free;
  hardware ethernet 02:00:0a:cd:28:03;
}
lease 10.205.40.103 {
  starts epoch 1796176200; # Wed Dec 02 01:50:00 2026
  ends epoch 1796177400; # Wed Dec 02 02:10:00 2026
  cltt epoch 1796176200; # Wed Dec 02 01:50:00 2026
  binding state active;
  hardware ethernet 02:00:0a:cd:28:04;
  uid 01:02:00:0a:cd:28:04;
}
lease 10.205.40.104 {
  starts 3 2026/12/02 01:50:00;
  ends never;
  binding state active;
  hardware ethernet 02:00:0a:cd:28:05;
}
lease 10.205.40.105 {
  starts 3 2026/12/02 01:50:00;
  ends 3 2026/12/02 02:50:00;
  binding state abandoned;
}
lease 10.205.41.5 {
  starts 3 2026/12/02 01:50:00;
  ends 3 2026/12/02 02:50:00;
  binding state active;
  hardware ethernet 02:00:0a:cd:29:05;
}
lease 10.205.40.106 {
  starts 3 2026/12/02 01:50:00;
  ends 3 2026/12/02 02:50:00;
  binding state active;
}
"""

SECONDARY = """\
lease 10.205.40.100 {
  starts 3 2026/12/02 01:40:00;
  ends 3 2026/12/02 01:41:00;
  cltt 3 2026/12/02 01:40:00;
  binding state active;
  hardware ethernet 02:00:0a:cd:28:01;
}
lease 10.205.40.110 {
  starts 3 2026/12/02 01:58:00;
  ends 3 2026/12/02 02:08:00;
  cltt 3 2026/12/02 01:58:00;
  binding state active;
  hardware ethernet 02:00:0a:cd:28:10;
}
"""


def by_address(leases):
    return {lease["address"]: lease for lease in leases}


def test_the_last_record_of_an_address_is_its_state():
    leases = by_address(parse_leases(PRIMARY))
    first = leases["10.205.40.100"]
    assert first["starts"] == calendar.timegm((2026, 12, 2, 1, 55, 0))
    assert first["ends"] == calendar.timegm((2026, 12, 2, 2, 5, 0))
    assert first["hwaddr"] == "02:00:0a:cd:28:01"
    assert first["client_id"] == "01:02:00:0a:cd:28:01"  # octal escapes, '(' is 0x28
    assert first["hostname"] == "one,two"
    assert leases["10.205.40.102"]["state"] == "free"
    assert leases["10.205.40.104"]["ends"] is None
    assert list(leases)[0] == "10.205.40.100"


def test_epoch_times_and_hex_client_ids():
    lease = by_address(parse_leases(PRIMARY))["10.205.40.103"]
    assert (lease["starts"], lease["ends"], lease["cltt"]) == (1796176200, 1796177400, 1796176200)
    assert lease["client_id"] == "01:02:00:0a:cd:28:04"


def test_a_file_without_leases_has_none():
    assert parse_leases("authoring-byte-order little-endian;\n") == []


def test_a_lease_time_of_an_unknown_form_is_an_error():
    with pytest.raises(ValueError, match="unknown lease time"):
        parse_leases("lease 10.0.0.1 {\n  ends soon;\n}\n")


def plan(now=NOW, columns=None):
    return kea_lease_import({"dh1": parse_leases(PRIMARY), "dh2": parse_leases(SECONDARY)}, SUBNETS, now, columns)


def test_active_leases_are_carried_with_their_times_kept():
    carry = by_address(plan()["carry"])
    assert sorted(carry) == ["10.205.40.100", "10.205.40.103", "10.205.40.110"]
    lease = carry["10.205.40.100"]
    # the primary's later record wins over the secondary's older one for the same address
    assert lease["peer"] == "dh1"
    assert lease["expire"] == calendar.timegm((2026, 12, 2, 2, 5, 0))
    assert lease["valid_lifetime"] == 600
    assert lease["subnet_id"] == 181217280
    assert carry["10.205.40.110"]["peer"] == "dh2"


def test_what_cannot_be_carried_is_named():
    skip = {lease["address"]: lease["why"] for lease in plan()["skip"]}
    assert "infinite lease" in skip["10.205.40.104"]
    assert "abandoned" in skip["10.205.40.105"]
    assert "in no subnet" in skip["10.205.41.5"]
    assert "no hardware address" in skip["10.205.40.106"]
    # ended and free leases are neither carried nor named
    assert "10.205.40.101" not in skip and "10.205.40.102" not in skip


def test_a_lease_that_ends_before_the_move_is_not_carried():
    later = calendar.timegm((2026, 12, 2, 2, 6, 0))
    assert sorted(by_address(plan(later)["carry"])) == ["10.205.40.103", "10.205.40.110"]


def test_the_memfile_reads_back_as_kea_writes_it():
    rows = list(csv.DictReader(io.StringIO(plan()["csv"])))
    assert list(rows[0]) == KEA_LEASE4_COLUMNS
    first = rows[0]
    assert first["address"] == "10.205.40.100" and first["hwaddr"] == "02:00:0a:cd:28:01"
    assert first["client_id"] == "01:02:00:0a:cd:28:01"
    assert (first["valid_lifetime"], first["expire"], first["subnet_id"]) == (
        "600", str(calendar.timegm((2026, 12, 2, 2, 5, 0))), "181217280")
    assert first["hostname"] == "one&#x2ctwo" and first["state"] == "0"


def test_kea_2_6_columns_add_the_pool_id():
    text = plan(columns=KEA_LEASE4_COLUMNS + ["pool_id"])["csv"]
    header, first = text.splitlines()[:2]
    assert header.endswith(",user_context,pool_id") and first.endswith(",0,,0")


def test_columns_in_another_order_are_refused():
    with pytest.raises(LeaseError, match="columns must start with"):
        plan(columns=list(reversed(KEA_LEASE4_COLUMNS)))


def test_the_input_must_be_keyed_by_peer():
    with pytest.raises(LeaseError, match="keyed by peer"):
        kea_lease_import([], SUBNETS, NOW)


def test_a_line_for_each_lease_that_moves_or_cannot():
    lines = plan()["lines"]
    assert "MIGRATE carry 10.205.40.100 02:00:0a:cd:28:01 until 2026-12-02T02:05:00Z (from dh1)" in lines
    assert any(line.startswith("MIGRATE skip 10.205.40.105 -: abandoned") for line in lines)


def test_at_the_switch_a_peer_takes_its_own_final_read_and_its_partners_last_one():
    """dh1's final read (after its dhcpd stopped) has a lease granted after the read before
    the switch, and a release; dh2's leases are those read last while its dhcpd served."""
    before = {"dh1": parse_leases(PRIMARY), "dh2": parse_leases(SECONDARY)}
    final = parse_leases(PRIMARY + """
lease 10.205.40.120 {
  starts 3 2026/12/02 01:59:00;
  ends 3 2026/12/02 02:09:00;
  cltt 3 2026/12/02 01:59:00;
  binding state active;
  hardware ethernet 02:00:0a:cd:28:78;
}
lease 10.205.40.103 {
  starts 3 2026/12/02 01:59:30;
  ends 3 2026/12/02 01:59:30;
  cltt 3 2026/12/02 01:59:30;
  binding state free;
  hardware ethernet 02:00:0a:cd:28:67;
}
""")
    carry = by_address(switch_plan(before, "dh1", final, SUBNETS, NOW)["carry"])
    assert carry["10.205.40.120"]["peer"] == "dh1" and carry["10.205.40.120"]["hwaddr"] == "02:00:0a:cd:28:78"
    assert "10.205.40.103" not in carry  # released after the read before the switch
    assert carry["10.205.40.110"]["peer"] == "dh2"  # the partner's, from its last read
    with pytest.raises(LeaseError, match="must include this peer, dh3"):
        switch_plan(before, "dh3", final, SUBNETS, NOW)
