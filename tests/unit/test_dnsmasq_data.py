"""Unit tests of the dnsmasq DNS data checks (plugins/module_utils/dnsmasq_data.py)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.hastack.dns_dhcp.plugins.filter.dnsmasq_data import FilterModule
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.dnsmasq_data import (
    DnsDataError,
    cluster_addresses,
    dnsmasq_data,
    lease_time,
)

RECORDS = {"www.lab.example": "10.0.0.80", "nas.lab.example": ["10.0.0.81", "fd00::81"], "ns": "10.0.0.53"}
PEERS = ["n1", "n2"]
HOSTVARS = {
    "n1": {"__dnsmasq_address": "10.0.0.11", "__dnsmasq_address6": "fd00::11",
           "dnsmasq_extra_listen_addresses": ["10.0.0.100"],
           "keepalived_instances": {"VI_DNS": {"virtual_ipaddresses": ["10.0.0.100/24"]}}},
    "n2": {"__dnsmasq_address": "10.0.0.12",
           "keepalived_instances": {"VI_DNS": {"virtual_ipaddresses": ["10.0.0.100/24"]}}},
}


def check(**changes):
    args = dict(cnames={"files.lab.example": "nas.lab.example", "dns": "ns"}, ptr_records={},
                upstream_servers=["192.0.2.53"], peers=PEERS, hostvars=HOSTVARS, listen_addresses=[],
                cache_size=1000, domain="lab.example",
                pools=[{"subnet": "10.0.0.0/24", "lease_time": "12h"}],
                dhcp_hosts=[{"mac": "02:00:00:00:00:01", "ip": "10.0.0.20", "name": "printer"}])
    args.update(changes)
    return dnsmasq_data(args.pop("host_records", RECORDS), **args)


def test_good_data_is_accepted_and_returns_the_upstream_servers():
    assert check() == ["192.0.2.53"]
    # a CNAME may point at a reservation's name, with or without the domain
    assert check(cnames={"lp": "printer.lab.example"}) == ["192.0.2.53"]
    # an extra var on the command line (-e dnsmasq_cache_size=2000) is a string of digits
    assert check(cache_size="2000") == ["192.0.2.53"]
    assert check(dhcp_options=["option:ntp-server,10.0.0.1", "tag:lan,option:domain-search,lab.example",
                               "42,10.0.0.1", "option6:ntp-server,[fd00::1]", "tag:a,tag:b,option:mtu,1400"]) \
        == ["192.0.2.53"]


@pytest.mark.parametrize("changes,message", [
    ({"host_records": {"www": "10.0.0.300"}},
     r"dnsmasq_host_records.www: '10.0.0.300' is not an IP address \(dnsmasq would drop the line\)"),
    ({"host_records": {"www": ["10.0.0.8", "nas"]}}, r"dnsmasq_host_records.www\[1\]: 'nas' is not an IP address"),
    ({"host_records": {"bad name": "10.0.0.8"}}, r"dnsmasq_host_records.bad name: 'bad name' is not a DNS name"),
    ({"host_records": {"www": []}}, "dnsmasq_host_records.www: must be an address or a list of addresses"),
    ({"host_records": ["www"]}, "dnsmasq_host_records: must be a dict"),
    ({"cnames": {"alias": "-bad"}}, "dnsmasq_cnames.alias: '-bad' is not a DNS name"),
    ({"cnames": {"alias": "elsewhere.example"}}, "dnsmasq_cnames.alias: elsewhere.example is no local name"),
    ({"ptr_records": {"10.0.0.10.in-addr.arpa": "a..b"}}, "dnsmasq_ptr_records.10.0.0.10.in-addr.arpa: 'a..b'"),
    ({"domain": "lab example"}, "dnsmasq_domain: 'lab example' is not a DNS name"),
    ({"upstream_servers": ["10.0.0.100"]},
     r"dnsmasq_upstream_servers\[0\]: 10.0.0.100 is a listen address of n1 .*forward queries to itself"),
    ({"upstream_servers": ["192.0.2.1", "10.0.0.12"]},
     r"dnsmasq_upstream_servers\[1\]: 10.0.0.12 is the own address of the DNS group's member n2"),
    ({"upstream_servers": ["fd00::11"]}, r"dnsmasq_upstream_servers\[0\]: fd00::11 is the own address .* n1"),
    ({"upstream_servers": ["127.0.0.1"]}, r"127.0.0.1 is where dnsmasq itself listens"),
    ({"upstream_servers": ["10.0.0.200"], "listen_addresses": ["10.0.0.200"]}, "10.0.0.200 is a listen address"),
    ({"upstream_servers": ["dns.example"]}, r"dnsmasq_upstream_servers\[0\]: 'dns.example' is not an IP address"),
    ({"cache_size": -1}, "dnsmasq_cache_size: must be a number of entries from 0 to 5000000"),
    ({"cache_size": 6000000}, "dnsmasq_cache_size: must be a number of entries from 0 to 5000000"),
    ({"cache_size": "1k"}, "dnsmasq_cache_size: must be a number of entries"),
    ({"pools": [{"lease_time": "12 hours"}]}, r"dnsmasq_dhcp_pools\[0\].lease_time: '12 hours' is not a dnsmasq"),
    ({"pools": [{"lease_time": 60}]}, r"dnsmasq_dhcp_pools\[0\].lease_time: 60 is shorter than dnsmasq's minimum"),
    ({"dhcp_hosts": [{"name": "my printer"}]}, r"dnsmasq_dhcp_hosts\[0\].name: 'my printer' is not a DNS name"),
    ({"dhcp_options": ["option:ntp-server,10.0.0.1", "ntp-server,10.0.0.1"]},
     r"dnsmasq_dhcp_options\[1\]: 'ntp-server,10.0.0.1' is not in dnsmasq's dhcp-option syntax"),
    ({"dhcp_options": ["option:domain name,lab"]}, r"dnsmasq_dhcp_options\[0\]: 'option:domain name,lab'"),
])
def test_bad_data_is_refused_naming_the_variable_and_the_item(changes, message):
    with pytest.raises(DnsDataError, match=message):
        check(**changes)


@pytest.mark.parametrize("value,expected", [("12h", "12h"), ("infinite", "infinite"), (3600, "3600"),
                                            ("2m", "2m"), ("1w", "1w"), ("120", "120")])
def test_lease_times_dnsmasq_accepts(value, expected):
    assert lease_time("x", value) == expected


@pytest.mark.parametrize("value", ["1.5h", "h", "", "-1h", "119", "1m", True, "12hours"])
def test_lease_times_dnsmasq_refuses_or_shortens(value):
    with pytest.raises(DnsDataError, match="^x: "):
        lease_time("x", value)


def test_the_cluster_is_every_member_address_listen_address_and_vip():
    assert cluster_addresses(PEERS, HOSTVARS, ["10.0.0.9"]) == {
        "10.0.0.9": "a listen address of dnsmasq (dnsmasq_extra_listen_addresses)",
        "10.0.0.11": "the own address of the DNS group's member n1",
        "fd00::11": "the own address of the DNS group's member n1",
        "10.0.0.100": "a listen address of n1 (dnsmasq_extra_listen_addresses)",
        "10.0.0.12": "the own address of the DNS group's member n2",
    }


def test_the_filter_raises_or_returns_the_refusal():
    dnsmasq_data_filter = FilterModule().filters()["dnsmasq_data"]
    with pytest.raises(AnsibleFilterError, match="dnsmasq_cache_size"):
        dnsmasq_data_filter({}, cache_size=-5)
    assert dnsmasq_data_filter({}, cache_size=-5, errors="return") == {
        "result": None, "error": "dnsmasq_cache_size: must be a number of entries from 0 to 5000000 (dnsmasq "
                                 "clamps others silently), got -5"}
    assert dnsmasq_data_filter({}, upstream_servers=["192.0.2.1"], errors="return") == {
        "result": ["192.0.2.1"], "error": ""}
    with pytest.raises(AnsibleFilterError, match="errors must be 'strict' or 'return'"):
        dnsmasq_data_filter({}, errors="ignore")
