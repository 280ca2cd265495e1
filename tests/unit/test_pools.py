"""Unit tests of the DHCP pool arithmetic (plugins/module_utils/pools.py)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.hastack.dns_dhcp.plugins.filter.pools import FilterModule
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.pools import (
    PoolError,
    dhcp_plan,
    split_pool,
)

POOL = {"subnet": "192.168.1.0/24", "start": "192.168.1.100", "end": "192.168.1.199"}


def test_the_seed_split_into_halves():
    assert split_pool(POOL, 2) == [
        {"start": "192.168.1.100", "end": "192.168.1.149", "size": 50},
        {"start": "192.168.1.150", "end": "192.168.1.199", "size": 50},
    ]


@pytest.mark.parametrize("size,parts", [(101, 2), (7, 3), (10, 4), (1, 1), (5, 5), (256, 3)])
def test_parts_are_contiguous_disjoint_and_cover_the_pool(size, parts):
    pool = {"subnet": "10.0.0.0/16", "start": "10.0.1.0", "end": f"10.0.{1 + (size - 1) // 256}.{(size - 1) % 256}"}
    result = split_pool(pool, parts)
    assert len(result) == parts
    assert result[0]["start"] == "10.0.1.0" and result[-1]["end"] == pool["end"]
    assert sum(p["size"] for p in result) == size
    assert max(p["size"] for p in result) - min(p["size"] for p in result) <= 1
    import netaddr
    for left, right in zip(result, result[1:]):
        assert int(netaddr.IPAddress(right["start"])) == int(netaddr.IPAddress(left["end"])) + 1


def test_odd_size_gives_the_first_part_one_more():
    sizes = [p["size"] for p in split_pool({"subnet": "10.0.0.0/24", "start": "10.0.0.10", "end": "10.0.0.20"}, 2)]
    assert sizes == [6, 5]


def test_one_address_pool():
    assert split_pool({"subnet": "10.0.0.0/24", "start": "10.0.0.5", "end": "10.0.0.5"}, 1) == [
        {"start": "10.0.0.5", "end": "10.0.0.5", "size": 1}]


@pytest.mark.parametrize("pool,parts,message", [
    ({"subnet": "10.0.0.0/24", "start": "10.0.1.5", "end": "10.0.0.9"}, 2, r"pool.start: 10.0.1.5 is outside the subnet 10.0.0.0/24"),
    ({"subnet": "10.0.0.0/24", "start": "10.0.0.5", "end": "10.0.1.9"}, 2, r"pool.end: 10.0.1.9 is outside"),
    ({"subnet": "10.0.0.0/24", "start": "10.0.0.50", "end": "10.0.0.10"}, 2, r"pool: start 10.0.0.50 is after end 10.0.0.10"),
    ({"subnet": "10.0.0.0/24", "start": "10.0.0.5", "end": "10.0.0.5"}, 2, r"has 1 address\(es\) .* too few for 2 parts"),
    ({"subnet": "10.0.0.0/24", "start": "10.0.0.5", "end": "10.0.0.6"}, 0, r"whole number of parts >= 1"),
    ({"subnet": "10.0.0.0/24", "start": "10.0.0.0", "end": "10.0.0.6"}, 1, r"network or broadcast address"),
    ({"subnet": "10.0.0.1/24", "start": "10.0.0.5", "end": "10.0.0.6"}, 1, r"pool.subnet: 10.0.0.1/24 has host bits set"),
    ({"subnet": "10.0.0.0/24", "start": "ten", "end": "10.0.0.6"}, 1, r"pool.start: 'ten' is not an IP address"),
    ({"subnet": "10.0.0.0/24", "end": "10.0.0.6"}, 1, r"pool.start: is required"),
])
def test_bad_pools_are_refused_with_a_clear_message(pool, parts, message):
    with pytest.raises(PoolError, match=message):
        split_pool(pool, parts)


def test_plan_gives_each_node_its_own_half():
    a = dhcp_plan([dict(POOL, lease_time="24h")], "a", ["a", "b"])
    b = dhcp_plan([dict(POOL, lease_time="24h")], "b", ["a", "b"])
    assert a["ranges"] == [{"tag": "pool0", "start": "192.168.1.100", "end": "192.168.1.149",
                            "netmask": "255.255.255.0", "lease_time": "24h", "subnet": "192.168.1.0/24",
                            "family": 4}]
    assert (b["ranges"][0]["start"], b["ranges"][0]["end"]) == ("192.168.1.150", "192.168.1.199")


def test_plan_with_one_server_keeps_the_whole_pool_and_may_be_authoritative():
    plan = dhcp_plan([dict(POOL, split=False)], "a", ["a"], authoritative=True)
    assert (plan["ranges"][0]["start"], plan["ranges"][0]["end"]) == ("192.168.1.100", "192.168.1.199")


def test_plan_normalises_reservations():
    plan = dhcp_plan([POOL], "a", ["a", "b"], [{"mac": "02-00-00-00-00-0A", "ip": "192.168.1.20", "name": "printer"}])
    assert plan["hosts"] == [{"mac": "02:00:00:00:00:0a", "ip": "192.168.1.20", "name": "printer"}]


@pytest.mark.parametrize("pools,reservations,authoritative,message", [
    ([POOL, dict(POOL, start="192.168.1.150", end="192.168.1.220")], [], False,
     r"dnsmasq_dhcp_pools: dnsmasq_dhcp_pools\[0\] .* overlaps dnsmasq_dhcp_pools\[1\]"),
    ([dict(POOL, split=False)], [], False, r"dnsmasq_dhcp_pools\[0\].split: false with 2 DHCP servers"),
    ([POOL], [], True, r"dnsmasq_dhcp_authoritative: must be false when 2 servers split"),
    ([dict(POOL, end="192.168.2.10")], [], False, r"dnsmasq_dhcp_pools\[0\].end: 192.168.2.10 is outside"),
    ([POOL], [{"mac": "02:00:00:00:00:01", "ip": "192.168.1.160"}], False,
     r"dnsmasq_dhcp_hosts\[0\].ip: 192.168.1.160 is inside the dynamic range 192.168.1.150-192.168.1.199 of b"),
    ([POOL], [{"mac": "02:00:00:00:00:01", "ip": "10.9.9.9"}], False, r"dnsmasq_dhcp_hosts\[0\].ip: 10.9.9.9 is in none"),
    ([POOL], [{"mac": "zz", "ip": "192.168.1.20"}], False, r"dnsmasq_dhcp_hosts\[0\].mac: 'zz' is not a MAC"),
    ([POOL], [{"mac": "02:00:00:00:00:01", "ip": "192.168.1.20"}, {"mac": "02:00:00:00:00:01", "ip": "192.168.1.21"}],
     False, r"dnsmasq_dhcp_hosts\[1\].mac: 02:00:00:00:00:01 is reserved twice"),
    ([POOL], [{"ip": "192.168.1.20"}], False, r"dnsmasq_dhcp_hosts\[0\]: needs mac and ip"),
])
def test_bad_plans_name_the_variable(pools, reservations, authoritative, message):
    with pytest.raises(PoolError, match=message):
        dhcp_plan(pools, "a", ["a", "b"], reservations, authoritative)


def test_filters_raise_ansible_errors():
    filters = FilterModule().filters()
    assert len(filters["split_pool"](POOL, 2)) == 2
    with pytest.raises(AnsibleFilterError, match="too few"):
        filters["split_pool"](dict(POOL, end=POOL["start"]), 2)


POOL6 = {"subnet": "fd00:213:99::/64", "start": "fd00:213:99::1000", "end": "fd00:213:99::10ff",
         "lease_time": "1h", "tag": "lan6"}


def test_an_ipv6_pool_is_split_like_an_ipv4_one():
    a = dhcp_plan([POOL, POOL6], "a", ["a", "b"])
    b = dhcp_plan([POOL, POOL6], "b", ["a", "b"])
    six_a, six_b = a["ranges"][1], b["ranges"][1]
    assert (six_a["start"], six_a["end"]) == ("fd00:213:99::1000", "fd00:213:99::107f")
    assert (six_b["start"], six_b["end"]) == ("fd00:213:99::1080", "fd00:213:99::10ff")
    assert six_a["netmask"] == "64" and six_a["family"] == 6 and six_a["subnet"] == "fd00:213:99::/64"
    assert a["ranges"][0]["family"] == 4 and a["ranges"][0]["netmask"] == "255.255.255.0"


def test_pools_of_both_families_never_count_as_overlapping():
    # an IPv6 range whose integer value would fall into the IPv4 range (::c0a8:196) is still IPv6
    odd = {"subnet": "::/64", "start": "::c0a8:196", "end": "::c0a8:1ff"}
    assert len(dhcp_plan([POOL, odd], "a", ["a", "b"])["ranges"]) == 2


@pytest.mark.parametrize("pools,reservations,message", [
    ([dict(POOL6, subnet="fd00:213:99::/56")], [],
     r"dnsmasq_dhcp_pools\[0\].subnet: fd00:213:99::/56 is shorter than /64"),
    ([POOL6, dict(POOL6, start="fd00:213:99::10f0", end="fd00:213:99::11ff")], [],
     r"dnsmasq_dhcp_pools: dnsmasq_dhcp_pools\[0\] \(fd00:213:99::1000-fd00:213:99::10ff\) overlaps"),
    ([dict(POOL6, end="fd00:213:98::1")], [], r"dnsmasq_dhcp_pools\[0\].end: fd00:213:98::1 is outside"),
    ([dict(POOL6, start="192.168.1.10")], [], r"dnsmasq_dhcp_pools\[0\].start: 192.168.1.10 is outside"),
    ([dict(POOL6, subnet="fd00:213:99::1/64")], [], r"dnsmasq_dhcp_pools\[0\].subnet: .* has host bits set"),
    ([POOL6], [{"mac": "02:00:00:00:00:01", "ip": "fd00:213:99::20"}],
     r"dnsmasq_dhcp_hosts\[0\].ip: fd00:213:99::20 is IPv6"),
], ids=["prefix shorter than /64", "overlapping IPv6 pools", "end outside the prefix",
        "IPv4 start in an IPv6 pool", "host bits set", "IPv6 reservation"])
def test_bad_ipv6_pools_name_the_variable(pools, reservations, message):
    with pytest.raises(PoolError, match=message):
        dhcp_plan(pools, "a", ["a", "b"], reservations)
