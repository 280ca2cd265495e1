"""tests/labkit.py helpers that parse what the lab prints."""

from __future__ import annotations

from tests.labkit import drill_tables

OUTPUT = '''
ok: [hastack-mol-as-client] => {
    "msg": [
        "DRILL method      sent  unanswered  outage_ms  holder_after",
        "DRILL service       200           1         20  hastack-mol-as2",
        "DRILL keepalived    200           2         40  hastack-mol-as2"
    ]
}
ok: [hastack-mol-as-client] => {
    "msg": [
        "DRILL6 method      sent  unanswered  outage_ms  holder_after",
        "DRILL6 service       199           3         60  hastack-mol-as2"
    ]
}
'''


def test_the_drill_tables_are_split_by_address_family():
    tables = drill_tables(OUTPUT)
    assert tables["DRILL"] == [["service", "200", "1", "20", "hastack-mol-as2"],
                               ["keepalived", "200", "2", "40", "hastack-mol-as2"]]
    assert tables["DRILL6"] == [["service", "199", "3", "60", "hastack-mol-as2"]]


def test_an_ipv4_only_drill_has_no_ipv6_rows():
    assert drill_tables(OUTPUT.split("ok: [hastack-mol-as-client]")[1])["DRILL6"] == []
