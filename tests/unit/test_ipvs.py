"""Unit tests of the LVS virtual server resolution and cross-checks (plugins/module_utils/ipvs.py)."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.hastack.dns_dhcp.plugins.filter.ipvs import FilterModule
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.ipvs import (
    IpvsError,
    resolve_groups,
    resolve_virtual_servers,
    resolver_conflicts,
)

DEFAULTS = {"lb_algo": "wrr", "lb_kind": "DR", "delay_loop": 3}
CHECK = {"checker": "DNS_CHECK", "type": "A", "connect_timeout": 2, "retry": 2, "delay_before_retry": 1}
SCRIPT = "/usr/local/libexec/hastack/keepalived-dns-check"
REAL = {"dns1": {"address": "10.0.0.21"}, "dns2": {"address": "10.0.0.22", "weight": 2}}
BASE = {
    "dns_udp": {"address": "10.0.0.100", "port": 53, "protocol": "UDP", "real_servers": REAL},
    "dns_tcp": {"address": "10.0.0.100", "port": 53, "protocol": "TCP",
                "check": {"checker": "MISC_CHECK"}, "real_servers": REAL},
}


def resolve(servers=None, **kwargs):
    kwargs.setdefault("defaults", DEFAULTS)
    kwargs.setdefault("check", CHECK)
    kwargs.setdefault("dns_check_name", "www.abc.local")
    kwargs.setdefault("vips", ["10.0.0.100/24"])
    return resolve_virtual_servers(copy.deepcopy(BASE if servers is None else servers), **kwargs)


def one(vs=None, **kwargs):
    """A single UDP virtual server dns with the given changes."""
    data = {"address": "10.0.0.100", "port": 53, "protocol": "UDP", "real_servers": copy.deepcopy(REAL)}
    data.update(vs or {})
    return resolve({"dns": data}, **kwargs)["virtual_servers"]["dns"]


def test_the_seed_udp_and_tcp_53_in_dr_mode():
    out = resolve()
    assert out["groups"] == {}
    udp = out["virtual_servers"]["dns_udp"]
    assert (udp["kind"], udp["address"], udp["port"], udp["protocol"]) == ("address", "10.0.0.100", 53, "UDP")
    assert (udp["lb_algo"], udp["lb_kind"], udp["delay_loop"], udp["quorum"]) == ("wrr", "DR", 3, 1)
    assert [(rs["name"], rs["address"], rs["port"], rs["weight"]) for rs in udp["real_servers"]] == [
        ("dns1", "10.0.0.21", 53, 1), ("dns2", "10.0.0.22", 53, 2)]
    assert udp["real_servers"][0]["check"] == {
        "checker": "DNS_CHECK", "type": "A", "name": "www.abc.local", "connect_timeout": 2, "retry": 2,
        "delay_before_retry": 1}


def test_misc_check_without_path_runs_the_dns_script_over_tcp_for_tcp():
    tcp = resolve()["virtual_servers"]["dns_tcp"]
    check = tcp["real_servers"][1]["check"]
    assert check == {"checker": "MISC_CHECK", "misc_timeout": 3,
                     "misc_path": f"{SCRIPT} -s 10.0.0.22 -p 53 -n www.abc.local -t A -w 2 -T"}
    udp = one({"check": {"checker": "MISC_CHECK", "misc_timeout": 5, "type": "soa", "name": "abc.local"}})
    assert udp["real_servers"][0]["check"]["misc_path"] == f"{SCRIPT} -s 10.0.0.21 -p 53 -n abc.local -t SOA -w 4"


def test_checks_merge_over_the_default_and_another_checker_replaces_it():
    vs = one({"check": {"retry": 5}, "real_servers": {
        "a": {"address": "10.0.0.21", "check": {"name": "ns.abc.local"}},
        "b": {"address": "10.0.0.22", "check": {"checker": "tcp_check", "connect_timeout": 1.5}},
        "c": {"address": "10.0.0.23", "check": {"checker": "UDP_CHECK", "require_reply": True,
                                                 "payload": "00 01"}},
    }})
    a, b, c = vs["real_servers"]
    assert a["check"]["retry"] == 5 and a["check"]["name"] == "ns.abc.local" and a["check"]["type"] == "A"
    assert b["check"] == {"checker": "TCP_CHECK", "connect_timeout": 1.5}
    assert c["check"] == {"checker": "UDP_CHECK", "require_reply": True, "payload": "00 01"}


def test_http_and_ssl_get():
    vs = one({"protocol": "TCP", "port": 443, "check": {
        "checker": "SSL_GET", "enable_sni": True, "virtualhost": "dns.example",
        "urls": [{"path": "/dns-query?dns=AAABAAABAAAAAAAAA3d3dwNhYmMFbG9jYWwAAAEAAQ", "status_code": 200},
                 {"path": "/health", "digest": "9B3A0C85A887A256D6939DA88AABD8CD"}]}})
    check = vs["real_servers"][0]["check"]
    assert check["checker"] == "SSL_GET" and check["enable_sni"] is True
    assert check["urls"][1] == {"path": "/health", "digest": "9b3a0c85a887a256d6939da88aabd8cd"}
    assert vs["real_servers"][0]["port"] == 443


def test_fwmark_and_group_virtual_servers():
    groups = {"DNS": {"addresses": [{"address": "10.0.0.100", "port": 53},
                                    {"address": "10.0.0.101-102", "port": 53}], "fwmarks": [7]}}
    out = resolve({
        "by_group": {"group": "DNS", "protocol": "UDP", "real_servers": REAL},
        "by_mark": {"fwmark": 5, "real_servers": {"dns1": {"address": "10.0.0.21", "port": 53}}},
    }, groups={**groups, "unused": {"fwmarks": [9]}})
    assert out["groups"] == {"DNS": {"name": "DNS", "fwmarks": [7], "addresses": [
        {"address": "10.0.0.100", "port": 53}, {"address": "10.0.0.101-102", "port": 53}]}}
    group_vs = out["virtual_servers"]["by_group"]
    assert group_vs["kind"] == "group" and group_vs["real_servers"][0]["port"] == 53
    mark_vs = out["virtual_servers"]["by_mark"]
    assert (mark_vs["kind"], mark_vs["fwmark"], mark_vs["protocol"]) == ("fwmark", 5, None)


def test_optional_settings_pass_through():
    vs = one({"lb_algo": "WLC", "persistence_timeout": 60, "persistence_granularity": "255.255.255.0",
              "ops": True, "alpha": True, "omega": True, "ha_suspend": True, "quorum": 2, "hysteresis": 1,
              "quorum_up": "/usr/local/bin/up", "quorum_down": "/usr/local/bin/down",
              "sorry_server": "10.0.0.30 53", "inhibit_on_failure": True, "delay_loop": "1.5"})
    assert vs["lb_algo"] == "wlc" and vs["persistence_timeout"] == 60 and vs["delay_loop"] == 1.5
    assert vs["sorry_server"] == {"address": "10.0.0.30", "port": 53}
    assert (vs["quorum"], vs["hysteresis"], vs["quorum_up"]) == (2, 1, "/usr/local/bin/up")
    assert one({"persistence_timeout": 0})["persistence_timeout"] is None


def test_nat_maps_ports_and_dns_on_another_port():
    vs = one({"lb_kind": "NAT", "real_servers": {"dns1": {"address": "10.1.0.21", "port": 5353}}})
    assert vs["real_servers"][0]["port"] == 5353
    assert vs["real_servers"][0]["check"]["name"] == "www.abc.local"


@pytest.mark.parametrize("vs, match", [
    ({"port": 0}, r"keepalived_virtual_servers.dns.port: must be from 1 to 65535, got 0"),
    ({"port": None}, r"keepalived_virtual_servers.dns.port: is required with address"),
    ({"address": "10.0.0.300"}, r"keepalived_virtual_servers.dns.address: must be an IP address"),
    ({"fwmark": 3}, r"keepalived_virtual_servers.dns: needs exactly one of address \(with port\), fwmark or group"),
    ({"protocol": None}, r"keepalived_virtual_servers.dns.protocol: is required: one of UDP, TCP, SCTP"),
    ({"protocol": "ICMP"}, r"keepalived_virtual_servers.dns.protocol: must be one of UDP, TCP, SCTP"),
    ({"lb_algo": "random"}, r"keepalived_virtual_servers.dns.lb_algo: must be one of rr, wrr"),
    ({"lb_kind": "FULLNAT"}, r"keepalived_virtual_servers.dns.lb_kind: must be one of DR, NAT, TUN"),
    ({"lb_algo": "sh", "persistence_timeout": 300}, r"dns.persistence_timeout: lb_algo sh already sends"),
    ({"persistence_granularity": "255.255.255.0"}, r"dns.persistence_granularity: needs persistence_timeout"),
    ({"persistence_timeout": 60, "persistence_granularity": "255.0.255.0"}, r"dns.persistence_granularity: must be a netmask"),
    ({"persistence_timeout": 86400 * 32}, r"dns.persistence_timeout: must be from 0 to 2678400"),
    ({"delay_loop": 0}, r"keepalived_virtual_servers.dns.delay_loop: must be more than 0"),
    ({"delay_loop": "soon"}, r"keepalived_virtual_servers.dns.delay_loop: must be a number of seconds"),
    ({"ops": True, "protocol": "TCP"}, r"keepalived_virtual_servers.dns.ops: one-packet scheduling is for UDP only"),
    ({"alpha": "yes"}, r"keepalived_virtual_servers.dns.alpha: must be true or false"),
    ({"quorum": 4}, r"keepalived_virtual_servers.dns.quorum: 4 is more than the weight of all real servers together \(3\)"),
    ({"quorum": 2, "hysteresis": 2}, r"keepalived_virtual_servers.dns.hysteresis: must be less than quorum 2"),
    ({"quorum_up": 'echo "up"'}, r"keepalived_virtual_servers.dns.quorum_up: must not contain double quotes"),
    ({"sorry_server": "10.0.0.100 53"}, r"dns.sorry_server.address: 10.0.0.100 is a virtual address"),
    ({"sorry_server": {"address": "10.0.0.30", "port": 5353}}, r"dns.sorry_server.port: must be the virtual port 53 with lb_kind DR"),
    ({"group": "DNS", "address": None, "port": None}, r"keepalived_virtual_servers.dns.group: DNS is not defined in keepalived_virtual_server_groups"),
    ({"real_servers": {}}, r"keepalived_virtual_servers.dns.real_servers: needs at least one real server"),
    ({"real_servers": ["10.0.0.21"]}, r"keepalived_virtual_servers.dns.real_servers: needs at least one real server, keyed by name"),
    ({"lb_kind": "nat"}, None),
    ({"weight": 3}, r"keepalived_virtual_servers.dns: unknown keys \['weight'\]"),
])
def test_bad_virtual_servers_name_the_variable(vs, match):
    if match is None:
        assert one(vs)["lb_kind"] == "NAT"
        return
    with pytest.raises(IpvsError, match=match):
        one(vs)


@pytest.mark.parametrize("rs, match", [
    ({"address": "10.0.0.100"}, r"dns.real_servers.bad.address: 10.0.0.100 is the virtual server's own address"),
    ({"address": "10.0.0.21", "port": 5353}, r"dns.real_servers.bad.port: must be the virtual port 53 with lb_kind DR"),
    ({"address": "10.0.0.21", "port": 70000}, r"dns.real_servers.bad.port: must be from 1 to 65535"),
    ({"address": "10.0.0.23", "weight": -1}, r"dns.real_servers.bad.weight: must be from 0 to 65535, got -1"),
    ({"address": "10.0.0.23", "weight": True}, r"dns.real_servers.bad.weight: must be an integer"),
    ({"address": "2001:db8::21"}, r"dns.real_servers.bad.address: is IPv6 but the virtual server is IPv4"),
    ({"address": "10.0.0.21"}, r"dns.real_servers.dns1: is the same address and port as bad"),
    ({"port": 53}, r"dns.real_servers.bad.address: is required"),
    ({"address": "10.0.0.23", "notify_up": ""}, r"dns.real_servers.bad.notify_up: must be a command line"),
    ({"address": "10.0.0.23", "backup": True}, r"dns.real_servers.bad: unknown keys \['backup'\]"),
])
def test_bad_real_servers_name_the_variable(rs, match):
    real = {**copy.deepcopy(REAL), "bad": rs}
    with pytest.raises(IpvsError, match=match):
        one({"real_servers": real})


def test_a_real_server_name_that_cannot_name_a_file_is_refused():
    with pytest.raises(IpvsError, match=r"dns.real_servers: a real server's name is a word .* got 'dns 1'"):
        one({"real_servers": {"dns 1": {"address": "10.0.0.21"}}})


def test_a_real_server_on_a_vrrp_vip_is_refused():
    with pytest.raises(IpvsError, match=r"dns.real_servers.dns1.address: 10.0.0.21 is a VRRP virtual IP"):
        one(vips=["10.0.0.100/24", "10.0.0.21"])


def test_inhibit_on_failure_cannot_be_undone_per_real_server():
    with pytest.raises(IpvsError, match=r"dns.real_servers.dns1.inhibit_on_failure: cannot be turned off"):
        one({"inhibit_on_failure": True, "real_servers": {"dns1": {"address": "10.0.0.21",
                                                                   "inhibit_on_failure": False}}})


def test_all_weights_zero_is_refused():
    with pytest.raises(IpvsError, match=r"dns.real_servers: all real servers have weight 0"):
        one({"quorum": 1, "real_servers": {"dns1": {"address": "10.0.0.21", "weight": 0}}})


@pytest.mark.parametrize("check, where, match", [
    ({"checker": "PING"}, "vs", r"keepalived_virtual_servers.dns.check.checker: must be one of DNS_CHECK"),
    ({"type": "PTR"}, "vs", r"keepalived_virtual_servers.dns.check.type: must be one of A, NS"),
    ({"name": 5}, "rs", r"dns.real_servers.dns1.check.name: must be a DNS name, got 5"),
    ({"name": "two words"}, "rs", r"dns.real_servers.dns1.check.name: must be a DNS name"),
    ({"connect_timeout": -1}, "vs", r"keepalived_virtual_servers.dns.check.connect_timeout: must be more than 0"),
    ({"retry": "x"}, "vs", r"keepalived_virtual_servers.dns.check.retry: must be an integer"),
    ({"connect_port": 65536}, "rs", r"dns.real_servers.dns1.check.connect_port: must be from 1 to 65535"),
    ({"bindto": "eth0"}, "vs", r"keepalived_virtual_servers.dns.check.bindto: must be an IP address"),
    ({"misc_path": "/bin/true"}, "vs", r"keepalived_virtual_servers.dns.check: unknown keys \['misc_path'\]"),
    ({"checker": "MISC_CHECK", "misc_path": "/bin/check", "name": "x"}, "vs",
     r"dns.check.name: is for the shipped DNS check script"),
    ({"checker": "MISC_CHECK", "connect_timeout": 2}, "vs", r"dns.check: unknown keys \['connect_timeout'\]"),
    ({"checker": "MISC_CHECK", "misc_timeout": 0}, "vs", r"dns.check.misc_timeout: must be from 1 to 3600"),
    ({"checker": "MISC_CHECK", "misc_dynamic": "yes"}, "vs", r"dns.check.misc_dynamic: must be true or false"),
    ({"checker": "UDP_CHECK", "payload": "hello"}, "vs", r"dns.check.payload: must be a hex string"),
    ({"checker": "UDP_CHECK", "require_reply": "zz"}, "vs", r"dns.check.require_reply: must be a hex string or true"),
    ({"checker": "HTTP_GET"}, "vs", r"dns.check.urls: needs at least one url"),
    ({"checker": "HTTP_GET", "urls": [{"path": "health", "status_code": 200}]}, "vs",
     r"dns.check.urls\[0\]: must be a dict with a path starting with /"),
    ({"checker": "HTTP_GET", "urls": [{"path": "/"}]}, "vs", r"dns.check.urls\[0\]: needs status_code or digest"),
    ({"checker": "HTTP_GET", "urls": [{"path": "/", "status_code": 700}]}, "vs",
     r"dns.check.urls\[0\].status_code: must be from 100 to 599"),
    ({"checker": "SSL_GET", "urls": [{"path": "/", "digest": "abc"}]}, "vs",
     r"dns.check.urls\[0\].digest: must be an MD5 digest"),
    ({"checker": "TCP_CHECK", "enable_sni": True}, "vs", r"dns.check: unknown keys \['enable_sni'\]"),
    ("DNS_CHECK", "vs", r"keepalived_virtual_servers.dns.check: must be a dict with `checker`"),
])
def test_bad_checks_name_where_they_were_set(check, where, match):
    if where == "vs":
        vs = {"check": check}
    else:
        vs = {"real_servers": {"dns1": {"address": "10.0.0.21", "check": check}}}
    with pytest.raises(IpvsError, match=match):
        one(vs)


def test_a_dns_check_without_a_name_names_the_role_default():
    with pytest.raises(IpvsError, match=r"^keepalived_real_server_check.name: the DNS name to query is not set"):
        one(dns_check_name="")


def test_a_fwmark_real_server_without_port_needs_a_connect_port():
    servers = {"mark": {"fwmark": 5, "real_servers": {"dns1": {"address": "10.0.0.21"}}}}
    with pytest.raises(IpvsError, match=r"^keepalived_real_server_check.connect_port: is needed: real server dns1"):
        resolve(servers)
    servers["mark"]["check"] = {"connect_port": 53}
    rs = resolve(servers)["virtual_servers"]["mark"]["real_servers"][0]
    assert rs["port"] is None and rs["check"]["connect_port"] == 53


def test_two_virtual_servers_on_one_service_are_refused():
    servers = copy.deepcopy(BASE)
    servers["again"] = copy.deepcopy(servers["dns_udp"])
    with pytest.raises(IpvsError, match=r"keepalived_virtual_servers.dns_udp: UDP 10.0.0.100 port 53 is already "
                                        r"the virtual server again"):
        resolve(servers)
    marks = {"a": {"fwmark": 1, "real_servers": REAL}, "b": {"fwmark": 1, "real_servers": REAL}}
    with pytest.raises(IpvsError, match=r"keepalived_virtual_servers.b: fwmark 1 is already"):
        resolve(marks, check={"checker": "TCP_CHECK", "connect_port": 53})


@pytest.mark.parametrize("groups, match", [
    ([], r"^keepalived_virtual_server_groups: must be a dict keyed by group name"),
    ({"G": {}}, r"keepalived_virtual_server_groups.G: needs at least one entry in addresses or fwmarks"),
    ({"G": {"addresses": ["10.0.0.1 53"]}}, r"keepalived_virtual_server_groups.G.addresses\[0\]: must be a dict"),
    ({"G": {"addresses": [{"address": "10.0.0.9-3", "port": 53}]}}, r"G.addresses\[0\].address: must be an IP address, a range"),
    ({"G": {"addresses": [{"address": "10.0.0.1", "port": 0}]}}, r"G.addresses\[0\].port: must be from 1 to 65535"),
    ({"G": {"addresses": [{"address": "10.0.0.1", "port": 53}] * 2}}, r"G.addresses: lists 10.0.0.1 port 53 twice"),
    ({"G": {"fwmarks": [1, 1]}}, r"G.fwmarks: lists a mark twice"),
    ({"G": {"fwmarks": [0]}}, r"G.fwmarks\[0\]: must be from 1 to 4294967295"),
    ({"G": {"marks": [1]}}, r"keepalived_virtual_server_groups.G: unknown keys \['marks'\]"),
])
def test_bad_groups_name_the_variable(groups, match):
    with pytest.raises(IpvsError, match=match):
        resolve_groups(groups)


def test_group_ranges_and_the_dr_port_rule():
    groups = resolve_groups({"G": {"addresses": [{"address": "10.0.0.100-10.0.1.2", "port": 53},
                                                 {"address": "10.0.2.8/29", "port": 853},
                                                 {"address": "2001:db8::1-a", "port": 53}]}})
    ranges = groups["G"]["ranges"]
    assert (str(ranges[0][0]), str(ranges[0][-1]), len(ranges[1]), str(ranges[2][-1])) == (
        "10.0.0.100", "10.0.1.2", 8, "2001:db8::a")
    servers = {"g": {"group": "G", "protocol": "TCP", "lb_kind": "DR",
                     "real_servers": {"dns1": {"address": "10.0.3.21", "port": 53}}}}
    with pytest.raises(IpvsError, match=r"g.real_servers.dns1.port: must be the virtual port 853 with lb_kind DR"):
        resolve(servers, groups={"G": {"addresses": [{"address": "10.0.0.100", "port": 53},
                                                     {"address": "10.0.0.100", "port": 853}]}})
    servers["g"]["real_servers"]["dns1"]["address"] = "10.0.0.101"
    with pytest.raises(IpvsError, match=r"g.real_servers.dns1.address: 10.0.0.101 is the virtual server's own"):
        resolve(servers, groups={"G": {"addresses": [{"address": "10.0.0.100-110", "port": 53}]}})


def test_bad_defaults_and_top_level_name_the_variable():
    with pytest.raises(IpvsError, match=r"^keepalived_virtual_server_defaults: unknown keys \['quorum'\]"):
        resolve(defaults={"quorum": 2})
    with pytest.raises(IpvsError, match=r"^keepalived_virtual_servers: must be a dict keyed by virtual server name"):
        resolve([])
    with pytest.raises(IpvsError, match=r"^keepalived_virtual_servers.dns_udp: must be a dict"):
        resolve({"dns_udp": "10.0.0.100:53"})
    with pytest.raises(IpvsError, match=r"^keepalived_virtual_servers.dns.lb_kind: must be one of DR"):
        one(defaults={"lb_kind": "direct"})


def test_no_virtual_servers_is_an_empty_plan():
    assert resolve_virtual_servers({}) == {"virtual_servers": {}, "groups": {}}
    assert resolve_virtual_servers(None, groups=None) == {"virtual_servers": {}, "groups": {}}


def test_resolver_conflicts_find_the_vip_and_group_ranges():
    groups = {"G": {"addresses": [{"address": "10.0.0.200-210", "port": 53}]}}
    servers = resolve({**BASE, "grp": {"group": "G", "protocol": "UDP", "real_servers": REAL}},
                      groups=groups)["virtual_servers"]
    text = ("# written by hand\nsearch lab\nnameserver 10.0.0.21\nnameserver 10.0.0.100 # the VIP\n"
            "nameserver 10.0.0.205\nnameserver fe80::1%eth0\nnameserver not-an-ip\noptions edns0\n")
    found = resolver_conflicts(text, servers, groups, source="/etc/resolv.conf")
    assert len(found) == 2
    assert found[0].startswith("nameserver 10.0.0.100 in /etc/resolv.conf is the address of the virtual server "
                               "keepalived_virtual_servers.dns_")
    assert "keepalived_virtual_servers.grp" in found[1]
    assert resolver_conflicts("nameserver 10.0.0.21\n", servers, groups) == []
    assert resolver_conflicts("", {}, None) == []


def test_the_filters_turn_errors_into_filter_errors():
    filters = FilterModule().filters()
    with pytest.raises(AnsibleFilterError, match=r"keepalived_virtual_servers.dns.port"):
        filters["keepalived_virtual_servers"]({"dns": {"address": "10.0.0.1", "port": 0}})
    plan = filters["keepalived_virtual_servers"](copy.deepcopy(BASE), defaults=DEFAULTS, check=CHECK,
                                                 dns_check_name="www.abc.local")
    assert filters["ipvs_resolver_conflicts"]("nameserver 10.0.0.100\n", plan["virtual_servers"])
