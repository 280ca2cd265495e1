"""Unit tests of the zone data checks (plugins/module_utils/bind_zones.py, filter bind_zones)."""

from __future__ import annotations

import dns.zone
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.hastack.dns_dhcp.plugins.filter.bind import FilterModule
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.bind_zones import (
    BindZoneError,
    bind_zones,
    rdata,
)

ZONES = {
    "abc.local": {
        "records": [
            {"name": "www", "type": "A", "value": "1.2.3.4"},
            {"name": "dns", "type": "A", "value": "10.213.50.100"},
            {"name": "@", "type": "MX", "value": "10 www"},
            {"name": "v6", "type": "aaaa", "value": "2001:DB8::1", "ttl": 60},
        ]
    },
    "B.example.": {"ttl": 3600, "records": [{"name": "alias", "type": "CNAME", "value": "www.abc.local."}]},
}


def _zone(result, name):
    return next(zone for zone in result if zone["name"] == name)


def test_zones_are_normalised_and_sorted():
    result = bind_zones(ZONES)
    assert [zone["name"] for zone in result] == ["abc.local", "b.example"]
    abc = _zone(result, "abc.local")
    assert abc["ttl"] == 300 and abc["own_ns"] is False
    assert abc["records"][0] == {"name": "www", "type": "A", "ttl": None, "rdata": "1.2.3.4"}
    assert abc["records"][3] == {"name": "v6", "type": "AAAA", "ttl": 60, "rdata": "2001:db8::1"}
    assert _zone(result, "b.example")["ttl"] == 3600


def test_host_records_replace_the_same_name_and_type_in_place():
    result = bind_zones(ZONES, {"abc.local": [{"name": "www", "type": "A", "value": "1.2.3.5"}]})
    records = _zone(result, "abc.local")["records"]
    assert records[0]["rdata"] == "1.2.3.5"
    assert [r["rdata"] for r in records if r["name"] == "www"] == ["1.2.3.5"]
    # the group's data is not changed for the next host
    assert ZONES["abc.local"]["records"][0]["value"] == "1.2.3.4"


def test_host_records_of_a_new_name_are_added_and_several_values_kept():
    zones = {"z.local": {"records": [{"name": "a", "type": "A", "value": "10.0.0.1"},
                                     {"name": "a", "type": "A", "value": "10.0.0.2"},
                                     {"name": "b", "type": "A", "value": "10.0.0.3"}]}}
    host = {"z.local.": [{"name": "a", "type": "A", "value": "10.0.0.9"},
                         {"name": "a", "type": "A", "value": "10.0.0.8"},
                         {"name": "c", "type": "TXT", "value": "only here"}]}
    records = bind_zones(zones, host)[0]["records"]
    assert [(r["name"], r["rdata"]) for r in records] == [
        ("a", "10.0.0.9"), ("a", "10.0.0.8"), ("b", "10.0.0.3"), ("c", '"only here"')]


def test_a_zone_with_its_own_apex_ns():
    zones = {"z.local": {"records": [{"name": "@", "type": "NS", "value": "ns1"},
                                     {"name": "ns1", "type": "A", "value": "10.0.0.1"}]}}
    assert bind_zones(zones)[0]["own_ns"] is True


@pytest.mark.parametrize("rtype,value,expected", [
    ("A", " 10.0.0.1 ", "10.0.0.1"),
    ("AAAA", "::1", "::1"),
    ("CNAME", "www", "www"),
    ("NS", "ns.example.", "ns.example."),
    ("PTR", "host.abc.local.", "host.abc.local."),
    ("MX", "10   mail", "10 mail"),
    ("MX", "0 .", "0 ."),
    ("SRV", "0 5 853 dns", "0 5 853 dns"),
    ("TXT", 'say "hi" \\ there', '"say \\"hi\\" \\\\ there"'),
    ("TXT", "é", '"\\195\\169"'),
    ("TXT", 42, '"42"'),
])
def test_rdata_by_type(rtype, value, expected):
    assert rdata(rtype, value, "x") == expected


def test_long_txt_is_split_into_255_byte_strings():
    text = rdata("TXT", "a" * 600, "x")
    assert [len(part.strip('"')) for part in text.split(" ")] == [255, 255, 90]


def test_the_rendered_records_read_back_as_a_zone():
    zone = _zone(bind_zones(ZONES, {"abc.local": [{"name": "t", "type": "TXT", "value": 'x "y"; z'}]}),
                 "abc.local")
    lines = ["$ORIGIN abc.local.", "$TTL 300", "@ IN SOA ns1 hostmaster 1 3600 600 604800 300",
             "@ IN NS ns1", "ns1 IN A 10.0.0.1"]
    lines += [f"{r['name']} {r['ttl'] or ''} IN {r['type']} {r['rdata']}" for r in zone["records"]]
    parsed = dns.zone.from_text("\n".join(lines) + "\n", origin="abc.local.", relativize=True)
    assert parsed.find_rdataset("t", "TXT")[0].strings == (b'x "y"; z',)
    assert str(parsed.find_rdataset("@", "MX")[0]) == "10 www"


@pytest.mark.parametrize("zones,host,message", [
    ([], None, "bind_zones: must be a dict keyed by zone name"),
    ({"bad zone": {}}, None, "bind_zones['bad zone']: 'bad zone' is not a zone name"),
    ({"-x.local": {}}, None, "is not a zone name"),
    ({"abc.local": {}, "ABC.local.": {}}, None, "bind_zones['ABC.local.']: is the same zone as bind_zones['abc.local']"),
    ({"localhost": {}}, None, "named.conf.default-zones"),
    ({"abc.local": {"record": []}}, None, "bind_zones['abc.local']: unknown keys ['record']"),
    ({"abc.local": {"records": {"www": "1.2.3.4"}}}, None, "bind_zones['abc.local'].records: must be a list"),
    ({"abc.local": {"records": ["www"]}}, None, "bind_zones['abc.local'].records[0]: must be a dict"),
    ({"abc.local": {"records": [{"name": "www", "type": "A"}]}}, None,
     "bind_zones['abc.local'].records[0].value: is required"),
    ({"abc.local": {"records": [{"name": "www", "type": "A", "value": "1.2.3.999"}]}}, None,
     "bind_zones['abc.local'].records[0].value: '1.2.3.999' is not an IPv4 address"),
    ({"abc.local": {"records": [{"name": "www", "type": "AAAA", "value": "1.2.3.4"}]}}, None,
     "is not an IPv6 address"),
    ({"abc.local": {"records": [{"name": "www", "type": "SPF", "value": "x"}]}}, None,
     "bind_zones['abc.local'].records[0].type: 'SPF' is not one of A, AAAA"),
    ({"abc.local": {"records": [{"name": "www.abc.local.", "type": "A", "value": "1.2.3.4"}]}}, None,
     "records[0].name: 'www.abc.local.' is not '@' or a name relative to the zone"),
    ({"abc.local": {"records": [{"name": "a b", "type": "A", "value": "1.2.3.4"}]}}, None, "records[0].name"),
    ({"abc.local": {"records": [{"name": "w", "type": "A", "value": "1.2.3.4", "ttl": "1h"}]}}, None,
     "records[0].ttl: '1h' is not a TTL in seconds"),
    ({"abc.local": {"records": [{"name": "w", "type": "A", "value": "1.2.3.4", "ttl": -1}]}}, None,
     "records[0].ttl: -1 is not a TTL"),
    ({"abc.local": {"records": [{"name": "w", "type": "A", "value": "1.2.3.4", "prio": 1}]}}, None,
     "records[0]: unknown keys ['prio']"),
    ({"abc.local": {"records": [{"name": "w", "type": "MX", "value": "mail"}]}}, None,
     "records[0].value: 'mail' is not 'preference host'"),
    ({"abc.local": {"records": [{"name": "w", "type": "MX", "value": "70000 mail"}]}}, None,
     "preference '70000' is not a number from 0 to 65535"),
    ({"abc.local": {"records": [{"name": "w", "type": "SRV", "value": "0 5 dns"}]}}, None,
     "is not 'priority weight port target'"),
    ({"abc.local": {"records": [{"name": "w", "type": "CNAME", "value": "not a name"}]}}, None,
     "records[0].value: 'not a name' is not a host name"),
    ({"abc.local": {"records": [{"name": "w", "type": "A", "value": True}]}}, None, "cannot be the data of a A record"),
    ({"abc.local": {"records": [{"name": "w", "type": "A", "value": "1.2.3.4"},
                                {"name": "w", "type": "CNAME", "value": "x"}]}}, None,
     "bind_zones['abc.local'].records[1]: w has a CNAME and other records"),
    ({"abc.local": {"records": [{"name": "@", "type": "CNAME", "value": "x"}]}}, None,
     "the zone apex (@) cannot be a CNAME"),
    ({"abc.local": {"records": [{"name": "ns1", "type": "A", "value": "1.2.3.4"}]}}, None,
     "records[0]: ns1 is the name server the role adds"),
    ({"abc.local": {"ttl": "x"}}, None, "bind_zones['abc.local'].ttl: 'x' is not a TTL"),
    ({"abc.local": {}}, [], "bind_host_records: must be a dict keyed by zone name"),
    ({"abc.local": {}}, {"other.local": []}, "bind_host_records['other.local']: other.local is not a zone of "
                                             "bind_zones (abc.local)"),
    ({"abc.local": {}}, {"abc.local": [{"name": "www", "type": "A", "value": "x"}]},
     "bind_host_records['abc.local'][0].value: 'x' is not an IPv4 address"),
    ({"abc.local": {"records": [{"name": "www", "type": "A", "value": "1.2.3.4"}]}},
     {"abc.local": [{"name": "www", "type": "CNAME", "value": "x"}]},
     "bind_host_records['abc.local'][0]: www has a CNAME and other records"),
])
def test_bad_input_names_the_variable(zones, host, message):
    with pytest.raises(BindZoneError) as err:
        bind_zones(zones, host)
    assert message in str(err.value)


def test_a_bad_default_ttl():
    with pytest.raises(BindZoneError, match="bind_default_ttl"):
        bind_zones({}, None, "five minutes")


def test_the_filter_raises_a_play_error():
    bind_zones_filter = FilterModule().filters()["bind_zones"]
    assert bind_zones_filter({})[:1] == []
    with pytest.raises(AnsibleFilterError, match=r"bind_zones\['abc.local'\].records\[0\].value"):
        bind_zones_filter({"abc.local": {"records": [{"name": "w", "type": "A", "value": "300.0.0.1"}]}})
