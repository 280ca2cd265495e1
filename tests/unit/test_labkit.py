"""tests/labkit.py helpers that parse what the lab prints."""

from __future__ import annotations

from tests.labkit import drill_tables, duid, parse_dhclient6_lease

OUTPUT = '''
ok: [hastack-mol-as-client] => {
    "msg": [
        "DRILL instance  method      sent  unanswered  outage_ms  holder_after",
        "DRILL VI_DNS    service       200           1         20  hastack-mol-as2",
        "DRILL VI_DNS    keepalived    200           2         40  hastack-mol-as2"
    ]
}
ok: [hastack-mol-as-client] => {
    "msg": [
        "DRILL6 instance  method      sent  unanswered  outage_ms  holder_after",
        "DRILL6 VI_DNS6   service       199           3         60  hastack-mol-as2"
    ]
}
'''


def test_the_drill_tables_are_split_by_address_family():
    tables = drill_tables(OUTPUT)
    assert tables["DRILL"] == [["VI_DNS", "service", "200", "1", "20", "hastack-mol-as2"],
                               ["VI_DNS", "keepalived", "200", "2", "40", "hastack-mol-as2"]]
    assert tables["DRILL6"] == [["VI_DNS6", "service", "199", "3", "60", "hastack-mol-as2"]]


def test_an_ipv4_only_drill_has_no_ipv6_rows():
    assert drill_tables(OUTPUT.split("ok: [hastack-mol-as-client]")[1])["DRILL6"] == []


LEASE6 = '''lease6 {
  interface "d6c1";
  ia-na 8a:1c:be:1f {
    starts 1764560000;
    renew 300;
    rebind 480;
    iaaddr fd00:213:41::105 {
      starts 1764560001;
      preferred-life 450;
      max-life 600;
    }
  }
  option dhcp6.server-id 0:1:0:1:2e:a9:e6:6:2:0:a:d5:29:b;
  option dhcp6.name-servers fd00:213:41::53,fd00:213:41::54;
}'''


def test_a_dhcpv6_lease_gives_the_address_the_ia_times_and_the_options():
    lease = parse_dhclient6_lease("lease6 {\n  iaaddr fd00::1 {\n  }\n}\n" + LEASE6)  # the last lease counts
    assert lease["address"] == "fd00:213:41::105"
    assert (lease["starts"], lease["renew"], lease["rebind"], lease["max-life"]) == (1764560000, 300, 480, 600)
    assert lease["name-servers"] == "fd00:213:41::53,fd00:213:41::54"
    assert duid(lease["server-id"]) == "00:01:00:01:2e:a9:e6:06:02:00:0a:d5:29:0b"
