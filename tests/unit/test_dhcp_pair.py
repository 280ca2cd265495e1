"""Unit tests of the shared DHCP pair intent (plugins/module_utils/dhcp_pair.py)."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.hastack.dns_dhcp.plugins.filter.dhcp_pair import FilterModule
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.dhcp_pair import (
    dhcp_subnets,
    dhcpd_failover,
    interface_networks,
    kea_ha,
    pair_peers,
    peer_addresses,
    peer_ports,
    split_ranges,
)
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.pools import PoolError

SUBNETS = {
    "lan": {
        "subnet": "10.18.33.0/24",
        "ranges": [{"start": "10.18.33.30", "end": "10.18.33.240"}],
        "routers": ["10.18.33.254"],
        "dns_servers": ["10.18.33.53"],
        "domain_name": "lab.example",
        "hosts": {"printer": {"mac": "00:0C:29:DB:6F:01", "ip": "10.18.33.241"}},
    },
}
INVENTORY = ["dhcp1", "dhcp2", "client"]
SETTINGS = {"name": "dhcp", "port": 647, "max_response_delay": 10, "max_unacked_updates": 10,
            "load_balance_max_seconds": 3, "mclt": 7200, "split": 128}
ADDRESSES = {"dhcp1": "10.18.33.10", "dhcp2": "10.18.33.20"}


def test_the_seed_subnet():
    [lan] = dhcp_subnets(SUBNETS, "v")
    assert lan["subnet"] == "10.18.33.0/24" and lan["netmask"] == "255.255.255.0"
    assert lan["network"] == "10.18.33.0"
    assert lan["ranges"] == [{"start": "10.18.33.30", "end": "10.18.33.240", "size": 211}]
    assert lan["hosts"] == [{"name": "printer", "mac": "00:0c:29:db:6f:01", "ip": "10.18.33.241"}]
    assert lan["routers"] == ["10.18.33.254"] and lan["domain_name"] == "lab.example"


def _with(path, value, base=None):
    """A deep copy of base (SUBNETS) with the value at path replaced."""
    subnets = copy.deepcopy(SUBNETS if base is None else base)
    node = subnets
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return subnets


@pytest.mark.parametrize("subnets,message", [
    (_with(["lan", "ranges"], [{"start": "10.18.34.30", "end": "10.18.34.40"}]),
     r"v.lan.ranges\[0\].start: 10.18.34.30 is outside the subnet 10.18.33.0/24"),
    (_with(["lan", "ranges"], [{"start": "10.18.33.30", "end": "10.18.33.100"},
                               {"start": "10.18.33.90", "end": "10.18.33.120"}]),
     r"v: v.lan.ranges\[0\] \(10.18.33.30-10.18.33.100\) overlaps v.lan.ranges\[1\]"),
    (_with(["lan", "hosts"], {"pc": {"mac": "00:0c:29:00:00:01", "ip": "10.18.33.50"}}),
     r"v.lan.hosts.pc.ip: 10.18.33.50 is inside the dynamic range"),
    (_with(["lan", "hosts"], {"pc": {"mac": "00:0c:29:00:00:01", "ip": "10.18.40.5"}}),
     r"v.lan.hosts.pc.ip: 10.18.40.5 is outside the subnet"),
    (_with(["lan", "hosts"], {"a": {"mac": "00:0c:29:00:00:01", "ip": "10.18.33.250"},
                              "b": {"mac": "00:0C:29:00:00:01", "ip": "10.18.33.251"}}),
     r"v.lan.hosts.b.mac: 00:0c:29:00:00:01 is reserved twice"),
    (_with(["lan", "hosts"], {"a": {"mac": "nope", "ip": "10.18.33.250"}}), r"v.lan.hosts.a.mac: 'nope' is not a MAC"),
    (_with(["lan", "routers"], ["10.18.99.1"]), r"v.lan.routers\[0\]: 10.18.99.1 is outside the subnet"),
    (_with(["lan", "subnet"], "10.18.33.1/24"), r"has host bits set"),
    (_with(["lan", "pool"], "x"), r"v.lan: unknown key\(s\) \['pool'\]"),
    (_with(["lan", "default_lease_time"], 0), r"v.lan.default_lease_time: must be a number of seconds"),
    (dict(SUBNETS, other={"subnet": "10.18.0.0/16"}), r"v.other.subnet: 10.18.0.0/16 overlaps v.lan.subnet"),
    ({}, r"v: must be a non-empty dict"),
])
def test_bad_subnets_name_the_variable(subnets, message):
    with pytest.raises(PoolError, match=message):
        dhcp_subnets(subnets, "v")


def test_ranges_in_two_subnets_are_checked_together():
    subnets = dict(SUBNETS, srv={"subnet": "10.18.40.0/24", "ranges": [{"start": "10.18.40.10", "end": "10.18.40.20"}]})
    assert [s["name"] for s in dhcp_subnets(subnets, "v")] == ["lan", "srv"]


def test_peers_default_to_the_group_in_order():
    peers = pair_peers({}, ["dhcp1", "dhcp2"], INVENTORY)
    assert [(p["host"], p["primary"]) for p in peers] == [("dhcp1", True), ("dhcp2", False)]


def test_an_explicit_primary_comes_first():
    peers = pair_peers({"dhcp1": {}, "dhcp2": {"mclt": 60}}, [], INVENTORY, primary="dhcp2",
                       primary_only=("mclt",))
    assert [(p["host"], p["primary"]) for p in peers] == [("dhcp2", True), ("dhcp1", False)]
    assert peers[0]["mclt"] == 60


@pytest.mark.parametrize("peers,primary,message", [
    ({"dhcp1": {}, "dhcp2": {"mclt": 60}}, "", r"p.dhcp2.mclt: mclt is set on the primary only, and dhcp2 is the secondary"),
    ({"dhcp1": {}, "dhcp2": {"split": 64}}, "", r"p.dhcp2.split: split is set on the primary only"),
    ({"dhcp1": {}, "nosuch": {}}, "", r"p.nosuch: nosuch is not a host in the inventory"),
    ({"dhcp1": {}, "dhcp2": {}}, "nosuch", r"pr: nosuch is not a host in the inventory"),
    ({"dhcp1": {}, "dhcp2": {}}, "client", r"pr: client is not one of the pair"),
    ({"dhcp1": {}}, "", r"p: a pair needs exactly 2 servers, got 1"),
])
def test_bad_peers_name_the_variable(peers, primary, message):
    with pytest.raises(PoolError, match=message):
        pair_peers(peers, [], INVENTORY, primary=primary, var="p", primary_var="pr",
                   primary_only=("mclt", "split", "hba"))


def test_the_seed_failover_peer_blocks():
    peers = pair_peers({}, ["dhcp1", "dhcp2"], INVENTORY)
    primary = dhcpd_failover(peers, "dhcp1", ADDRESSES, SETTINGS)
    secondary = dhcpd_failover(peers, "dhcp2", ADDRESSES, SETTINGS)
    assert primary == {"name": "dhcp", "role": "primary", "address": "10.18.33.10", "port": 647,
                       "peer_address": "10.18.33.20", "peer_port": 647, "max_response_delay": 10,
                       "max_unacked_updates": 10, "load_balance_max_seconds": 3, "mclt": 7200, "split": 128}
    assert secondary["role"] == "secondary" and "mclt" not in secondary and "split" not in secondary
    assert (secondary["address"], secondary["peer_address"]) == ("10.18.33.20", "10.18.33.10")


def test_per_peer_ports_as_in_the_seed():
    peers = pair_peers({"dhcp1": {"port": 520}, "dhcp2": {"port": 519}}, [], INVENTORY)
    assert dhcpd_failover(peers, "dhcp2", ADDRESSES, SETTINGS)["port"] == 519
    assert dhcpd_failover(peers, "dhcp2", ADDRESSES, SETTINGS)["peer_port"] == 520


def test_hba_replaces_split():
    peers = pair_peers({}, ["dhcp1", "dhcp2"], INVENTORY)
    hba = ":".join(["ff"] * 16 + ["00"] * 16)
    result = dhcpd_failover(peers, "dhcp1", ADDRESSES, dict(SETTINGS, hba=hba))
    assert result["hba"] == hba and "split" not in result


@pytest.mark.parametrize("settings,message", [
    (dict(SETTINGS, split=300), r"dhcpd_failover_split: must be a whole number from 0 to 256"),
    (dict(SETTINGS, split=-1), r"dhcpd_failover_split"),
    (dict(SETTINGS, mclt=0), r"dhcpd_failover_mclt: must be a number of seconds"),
    (dict(SETTINGS, hba="ff:00"), r"dhcpd_failover_hba: must be 32"),
    (dict(SETTINGS, max_response_delay=0), r"dhcpd_failover_max_response_delay"),
    (dict(SETTINGS, port=70000), r"v.dhcp1.port: must be a port number"),
])
def test_bad_failover_settings_name_the_variable(settings, message):
    peers = pair_peers({}, ["dhcp1", "dhcp2"], INVENTORY)
    with pytest.raises(PoolError, match=message):
        dhcpd_failover(peers, "dhcp1", ADDRESSES, settings, var="v")


def test_split_given_on_the_primary_peer_is_named_there():
    peers = pair_peers({"dhcp1": {"split": 999}, "dhcp2": {}}, [], INVENTORY, primary_only=("split",))
    with pytest.raises(PoolError, match=r"v.dhcp1.split: must be a whole number from 0 to 256"):
        dhcpd_failover(peers, "dhcp2", ADDRESSES, SETTINGS, var="v")


def test_a_peer_without_an_address():
    peers = pair_peers({}, ["dhcp1", "dhcp2"], INVENTORY)
    with pytest.raises(PoolError, match=r"v.dhcp2.address: no address for dhcp2"):
        dhcpd_failover(peers, "dhcp1", {"dhcp1": "10.18.33.10"}, SETTINGS, var="v")


def test_split_ranges_for_load_balancing():
    [lan] = dhcp_subnets(SUBNETS, "v")
    parts = split_ranges(lan["ranges"], ["a", "b"])
    assert parts == [{"start": "10.18.33.30", "end": "10.18.33.135", "owner": "a"},
                     {"start": "10.18.33.136", "end": "10.18.33.240", "owner": "b"}]
    with pytest.raises(PoolError, match="too small"):
        split_ranges([{"start": "10.0.0.1", "end": "10.0.0.1", "size": 1}], ["a", "b"])


def test_filters_raise_ansible_errors():
    filters = FilterModule().filters()
    assert set(filters) == {"dhcp_subnets", "pair_peers", "dhcpd_failover", "split_ranges", "peer_addresses", "kea_ha",
                            "interface_networks", "kea_lease_import", "peer_ports", "peer_values"}
    with pytest.raises(AnsibleFilterError, match="v: must be a non-empty dict"):
        filters["dhcp_subnets"]({}, "v")


def test_peer_addresses_from_facts():
    hostvars = {"dhcp1": {"ansible_facts": {"eth_0": {"ipv4": {"address": "10.0.0.1"}}}},
                "dhcp2": {"ansible_facts": {}}}
    peers = pair_peers({}, ["dhcp1", "dhcp2"], INVENTORY)
    assert peer_addresses(peers, hostvars, "eth-0") == {"dhcp1": "10.0.0.1", "dhcp2": ""}
    assert peer_addresses(["nosuch"], hostvars, "eth0") == {"nosuch": ""}


KEA = {"mode": "hot-standby", "port": 8000, "heartbeat_delay": 1000, "max_response_delay": 3000,
       "max_ack_delay": 1000, "max_unacked_clients": 0}


def test_kea_hot_standby_peers():
    peers = pair_peers({}, ["dhcp1", "dhcp2"], INVENTORY)
    standby = kea_ha(peers, "dhcp2", ADDRESSES, KEA)
    assert standby["this_server_name"] == "dhcp2" and standby["role"] == "standby"
    assert standby["partner_address"] == "10.18.33.10"
    assert [(p["name"], p["role"], p["url"]) for p in standby["peers"]] == [
        ("dhcp1", "primary", "http://10.18.33.10:8000/"), ("dhcp2", "standby", "http://10.18.33.20:8000/")]


def test_kea_load_balancing_with_an_explicit_primary_and_url():
    peers = pair_peers({"dhcp1": {"url": "http://mgmt1:8080/"}, "dhcp2": {}}, [], INVENTORY, primary="dhcp2")
    result = kea_ha(peers, "dhcp1", ADDRESSES, dict(KEA, mode="load-balancing"))
    assert [(p["name"], p["role"]) for p in result["peers"]] == [("dhcp2", "primary"), ("dhcp1", "secondary")]
    assert result["peers"][1]["url"] == "http://mgmt1:8080/" and result["role"] == "secondary"


def test_kea_peers_reach_the_dedicated_listener_on_its_own_port():
    peers = pair_peers({}, ["dhcp1", "dhcp2"], INVENTORY)
    result = kea_ha(peers, "dhcp1", ADDRESSES, dict(KEA, peer_port=8001, dedicated_listener=True))
    assert result["dedicated_listener"] is True
    assert [p["url"] for p in result["peers"]] == ["http://10.18.33.10:8001/", "http://10.18.33.20:8001/"]
    # without a dedicated listener the partner goes through the control agent
    assert kea_ha(peers, "dhcp1", ADDRESSES, KEA)["dedicated_listener"] is False


def test_kea_peers_of_two_releases_each_get_the_others_port():
    """A Kea 2.6 node (HA listener on 8001) paired with a Kea 2.2 node (control agent, 8000)."""
    hostvars = {"dhcp1": {"__kea_ha_peer_port": "8000"}, "dhcp2": {"__kea_ha_peer_port": 8001}, "dhcp3": {}}
    peers = pair_peers({}, ["dhcp1", "dhcp2"], INVENTORY)
    ports = peer_ports(peers, hostvars, "__kea_ha_peer_port")
    assert ports == {"dhcp1": 8000, "dhcp2": 8001}
    # a peer outside the play is left out, and then gets this host's own port
    assert peer_ports(["dhcp3", "nosuch"], hostvars, "__kea_ha_peer_port") == {}
    on_26 = kea_ha(peers, "dhcp2", ADDRESSES, dict(KEA, peer_port=8001, dedicated_listener=True, peer_ports=ports))
    on_22 = kea_ha(peers, "dhcp1", ADDRESSES, dict(KEA, peer_ports=ports))
    expected = ["http://10.18.33.10:8000/", "http://10.18.33.20:8001/"]
    assert [p["url"] for p in on_26["peers"]] == expected and [p["url"] for p in on_22["peers"]] == expected
    assert [p["url"] for p in kea_ha(peers, "dhcp1", ADDRESSES, dict(KEA, peer_ports={"dhcp1": 8000}))["peers"]] \
        == ["http://10.18.33.10:8000/", "http://10.18.33.20:8000/"]
    with pytest.raises(PoolError, match=r"kea_ha_peer_port: must be a port number 1-65535, got 0 on dhcp2"):
        kea_ha(peers, "dhcp1", ADDRESSES, dict(KEA, peer_ports={"dhcp2": 0}))


def test_a_pair_of_two_kea_series_runs_hot_standby_with_the_older_one_as_primary():
    """Measured with Kea 2.2 and 2.6 (molecule/mixed_release): after the 2.2 server syncs, the
    2.6 one answers nobody for up to 60 s, so only a 2.6 standby is harmless."""
    peers = pair_peers({}, ["dhcp1", "dhcp2"], INVENTORY)
    mixed = {"dhcp1": "2.2", "dhcp2": "2.6"}
    assert kea_ha(peers, "dhcp2", ADDRESSES, dict(KEA, series=mixed))["role"] == "standby"
    # one series, or a partner outside the play (no series known): nothing to refuse
    for series in ({"dhcp1": "2.6", "dhcp2": "2.6"}, {"dhcp2": "2.6"}, {}):
        assert kea_ha(peers, "dhcp1", ADDRESSES, dict(KEA, mode="load-balancing", series=series))["peers"]
    with pytest.raises(PoolError, match=r"^kea_ha_mode: load-balancing is refused for a pair of two Kea releases "
                                        r"\(Kea 2.2 on dhcp1 and Kea 2.6 on dhcp2\): after Kea 2.2 syncs its leases"):
        kea_ha(peers, "dhcp1", ADDRESSES, dict(KEA, mode="load-balancing", series=mixed))
    newer_first = pair_peers({}, ["dhcp1", "dhcp2"], INVENTORY, primary="dhcp2")
    with pytest.raises(PoolError, match=r"^kea_ha_primary: the primary of a pair of two Kea releases \(Kea 2.6 on dhcp2 "
                                        r"and Kea 2.2 on dhcp1\) must be the older one, dhcp1 \(got dhcp2\)"):
        kea_ha(newer_first, "dhcp1", ADDRESSES, dict(KEA, series=mixed))
    # versions compare as numbers, not as text
    with pytest.raises(PoolError, match=r"must be the older one, dhcp2"):
        kea_ha(peers, "dhcp1", ADDRESSES, dict(KEA, series={"dhcp1": "2.10", "dhcp2": "2.6"}))


def test_kea_dedicated_listener_refuses_the_control_agent_port():
    peers = pair_peers({}, ["dhcp1", "dhcp2"], INVENTORY)
    with pytest.raises(PoolError, match=r"kea_ha_peer_port: \(8000\) must differ from kea_ha_api_port"):
        kea_ha(peers, "dhcp1", ADDRESSES, dict(KEA, peer_port=8000, dedicated_listener=True))
    explicit = pair_peers({"dhcp1": {"url": "http://10.18.33.10:8000/"}, "dhcp2": {}}, [], INVENTORY)
    with pytest.raises(PoolError, match=r"kea_ha_peers.dhcp1.url: http://10.18.33.10:8000/ is the control agent"):
        kea_ha(explicit, "dhcp2", ADDRESSES, dict(KEA, peer_port=8001, dedicated_listener=True))
    # the same URL is right when the partner goes through the control agent
    assert kea_ha(explicit, "dhcp2", ADDRESSES, KEA)["peers"][0]["url"] == "http://10.18.33.10:8000/"


def test_kea_timers_and_ports_given_as_text_are_numbers():
    """-e kea_ha_heartbeat_delay=1000 on the command line is the string '1000'."""
    peers = pair_peers({}, ["dhcp1", "dhcp2"], INVENTORY)
    result = kea_ha(peers, "dhcp1", ADDRESSES, dict(KEA, heartbeat_delay="1000", max_response_delay=" 5000", port="8000"))
    assert result["heartbeat_delay"] == 1000 and result["max_response_delay"] == 5000
    assert result["peers"][0]["url"] == "http://10.18.33.10:8000/"
    with pytest.raises(PoolError, match=r"kea_ha_heartbeat_delay: must be a whole number >= 1, got '1s'"):
        kea_ha(peers, "dhcp1", ADDRESSES, dict(KEA, heartbeat_delay="1s"))


@pytest.mark.parametrize("settings,message", [
    (dict(KEA, mode="active"), r"kea_ha_mode: must be one of"),
    (dict(KEA, max_response_delay=500), r"kea_ha_max_response_delay: \(500 ms\) must be greater"),
    (dict(KEA, port=0), r"kea_ha_api_port"),
    (dict(KEA, peer_port=70000, dedicated_listener=True), r"kea_ha_peer_port: must be a port number"),
    (dict(KEA, max_unacked_clients=-1), r"kea_ha_max_unacked_clients"),
])
def test_bad_kea_settings_name_the_variable(settings, message):
    peers = pair_peers({}, ["dhcp1", "dhcp2"], INVENTORY)
    with pytest.raises(PoolError, match=message):
        kea_ha(peers, "dhcp1", ADDRESSES, settings)


SUBNETS6 = {
    "lan6": {
        "subnet": "fd00:213:41::/64",
        "ranges": [{"start": "fd00:213:41::100", "end": "fd00:213:41::1ff"}],
        "dns_servers": ["fd00:213:41::53"],
        "domain_search": ["lab.example", "example."],
        "default_lease_time": 600,
        "hosts": {"printer": {"duid": "00:03:00:01:02:00:0A:D5:29:F1", "ip": "fd00:213:41::240"},
                  "nas": {"mac": "02:00:0a:d5:29:f2", "ip": "fd00:213:41::241"}},
    },
}


def test_an_ipv6_subnet_beside_an_ipv4_one():
    lan, lan6 = dhcp_subnets(dict(SUBNETS, **SUBNETS6), "v")
    assert lan["family"] == 4 and lan6["family"] == 6
    # Kea subnet ids: the IPv4 network as a number, a CRC32 of the IPv6 prefix (both stable)
    assert lan["id"] == 168960256 and lan6["id"] == 2494224776
    assert lan6["subnet"] == "fd00:213:41::/64" and lan6["dns_servers"] == ["fd00:213:41::53"]
    assert lan6["ranges"] == [{"start": "fd00:213:41::100", "end": "fd00:213:41::1ff", "size": 256}]
    assert lan6["domain_search"] == ["lab.example", "example"] and lan6["routers"] == []
    assert lan6["hosts"] == [
        {"name": "nas", "mac": "02:00:0a:d5:29:f2", "ip": "fd00:213:41::241", "duid": ""},
        {"name": "printer", "mac": "", "ip": "fd00:213:41::240", "duid": "00:03:00:01:02:00:0a:d5:29:f1"}]
    # the same numbers in both families are no overlap
    assert len(dhcp_subnets(dict(SUBNETS, six={"subnet": "::a12:2100/120"}), "v")) == 2


def test_ipv6_ranges_split_for_load_balancing():
    [lan6] = dhcp_subnets(SUBNETS6, "v")
    assert split_ranges(lan6["ranges"], ["a", "b"]) == [
        {"start": "fd00:213:41::100", "end": "fd00:213:41::17f", "owner": "a"},
        {"start": "fd00:213:41::180", "end": "fd00:213:41::1ff", "owner": "b"}]


def _with6(path, value):
    return _with(path, value, SUBNETS6)


@pytest.mark.parametrize("subnets,message", [
    (_with6(["lan6", "ranges"], [{"start": "fd00:213:42::100", "end": "fd00:213:42::1ff"}]),
     r"v.lan6.ranges\[0\].start: fd00:213:42::100 is outside the subnet fd00:213:41::/64"),
    (_with6(["lan6", "ranges"], [{"start": "fd00:213:41::100", "end": "10.213.41.200"}]),
     r"v.lan6.ranges\[0\].end: 10.213.41.200 is an IPv4 address in the IPv6 subnet fd00:213:41::/64: "
     r"one address family per subnet entry"),
    (_with(["lan", "ranges"], [{"start": "fd00::100", "end": "fd00::1ff"}]),
     r"v.lan.ranges\[0\].start: fd00::100 is an IPv6 address in the IPv4 subnet 10.18.33.0/24"),
    (_with6(["lan6", "dns_servers"], ["10.213.41.53"]),
     r"v.lan6.dns_servers\[0\]: 10.213.41.53 is an IPv4 address in the IPv6 subnet"),
    (_with6(["lan6", "hosts"], {"pc": {"duid": "00:01:02", "ip": "10.213.41.5"}}),
     r"v.lan6.hosts.pc.ip: 10.213.41.5 is an IPv4 address in the IPv6 subnet"),
    (_with6(["lan6", "routers"], ["fd00:213:41::1"]),
     r"v.lan6.routers: not for the IPv6 subnet fd00:213:41::/64: DHCPv6 has no routers option"),
    (_with6(["lan6", "domain_name"], "lab.example"),
     r"v.lan6.domain_name: not for the IPv6 subnet .*: DHCPv6 has no domain-name option"),
    (_with(["lan", "domain_search"], ["lab.example"]),
     r"v.lan.domain_search: not for the IPv4 subnet 10.18.33.0/24: is a DHCPv6 option"),
    (_with6(["lan6", "domain_search"], ["bad domain"]), r"v.lan6.domain_search\[0\]: 'bad domain' is not a domain"),
    (_with6(["lan6", "hosts"], {"pc": {"duid": "xyz", "ip": "fd00:213:41::5"}}),
     r"v.lan6.hosts.pc.duid: 'xyz' is not a DUID"),
    (_with6(["lan6", "hosts"], {"pc": {"ip": "fd00:213:41::5"}}), r"v.lan6.hosts.pc: needs ip and one of duid or mac"),
    (_with6(["lan6", "hosts"], {"a": {"duid": "00:01:02", "ip": "fd00:213:41::5"},
                                "b": {"duid": "0:1:2", "ip": "fd00:213:41::6"}}),
     r"v.lan6.hosts.b.duid: 00:01:02 is reserved twice"),
    (_with6(["lan6", "hosts"], {"pc": {"duid": "00:01:02", "ip": "fd00:213:41::150"}}),
     r"v.lan6.hosts.pc.ip: fd00:213:41::150 is inside the dynamic range"),
    (_with(["lan", "hosts"], {"pc": {"duid": "00:01:02", "ip": "10.18.33.250"}}),
     r"v.lan.hosts.pc.duid: reservations by DUID are DHCPv6's"),
    (dict(SUBNETS6, other={"subnet": "fd00:213:40::/44"}), r"v.other.subnet: fd00:213:40::/44 overlaps v.lan6.subnet"),
])
def test_bad_ipv6_subnets_name_the_variable(subnets, message):
    with pytest.raises(PoolError, match=message):
        dhcp_subnets(subnets, "v")


def test_dhcpd_failover_refuses_ipv6_subnets_and_points_to_kea():
    assert [s["name"] for s in dhcp_subnets(SUBNETS, "v", server="dhcpd_failover")] == ["lan"]
    with pytest.raises(PoolError, match=r"dhcpd_failover_subnets.lan6.subnet: fd00:213:41::/64 is an IPv6 subnet, "
                                        r"and ISC dhcpd has no DHCPv6 failover .* kea_ha variant"):
        dhcp_subnets(dict(SUBNETS, **SUBNETS6), "dhcpd_failover_subnets", server="dhcpd_failover")


def test_the_dhcpv6_relationship_has_its_own_urls_and_port():
    peers = pair_peers({"dhcp1": {"url": "http://m1:8001/", "url6": "http://m1:8002/"}, "dhcp2": {}}, [], INVENTORY)
    v6 = dict(KEA, peer_port=8002, dedicated_listener=True, family=6, peer_port_var="kea_ha_peer_port6",
              taken_ports={8001: "kea_ha_peer_port (the DHCPv4 relationship's)"})
    result = kea_ha(peers, "dhcp2", ADDRESSES, v6)
    assert [p["url"] for p in result["peers"]] == ["http://m1:8002/", "http://10.18.33.20:8002/"]
    with pytest.raises(PoolError, match=r"kea_ha_peer_port6: \(8001\) must differ from kea_ha_peer_port"):
        kea_ha(peers, "dhcp2", ADDRESSES, dict(v6, peer_port=8001))
    with pytest.raises(PoolError, match=r"kea_ha_peer_port6: \(8000\) must differ from kea_ha_api_port"):
        kea_ha(peers, "dhcp2", ADDRESSES, dict(v6, peer_port=8000))
    explicit = pair_peers({"dhcp1": {"url6": "http://10.18.33.10:8000/"}, "dhcp2": {}}, [], INVENTORY)
    with pytest.raises(PoolError, match=r"kea_ha_peers.dhcp1.url6: http://10.18.33.10:8000/ is the control agent"):
        kea_ha(explicit, "dhcp2", ADDRESSES, v6)


def test_interface_networks_from_facts():
    facts = {"eth_0": {"ipv4": {"address": "10.213.41.11", "netmask": "255.255.255.0"},
                       "ipv6": [{"address": "fd00:213:41::11", "prefix": "64", "scope": "global"},
                                {"address": "fe80::1", "prefix": "64", "scope": "link"}]}}
    assert interface_networks(facts, "eth-0") == ["10.213.41.0/24", "fd00:213:41::/64"]
    assert interface_networks(facts, "eth1") == [] and interface_networks({}, "eth0") == []


def test_dhcpd_failover_timers_and_ports_given_as_text_are_numbers():
    """-e dhcpd_failover_mclt=60 on the command line is the string '60'."""
    peers = pair_peers({}, ["dhcp1", "dhcp2"], INVENTORY)
    primary = dhcpd_failover(peers, "dhcp1", ADDRESSES, dict(SETTINGS, mclt="60", split=" 128", port="647",
                                                             max_response_delay="5"))
    assert (primary["mclt"], primary["split"], primary["port"], primary["max_response_delay"]) == (60, 128, 647, 5)
    with pytest.raises(PoolError, match=r"dhcpd_failover_mclt: must be a number of seconds >= 1, got '1h'"):
        dhcpd_failover(peers, "dhcp1", ADDRESSES, dict(SETTINGS, mclt="1h"))
