"""The variants' wiring derived from their intent (plugins/module_utils/variant_wiring.py, filter
variant_wiring, playbooks/tasks/variant_wiring.yml): what each variant derives, the errors that
name the intent variable, that an inventory value wins (rendered by ansible-playbook on
localhost), and that the README's minimal inventories are the ones the scenarios deploy."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.hastack.dns_dhcp.plugins.filter.variant_wiring import FilterModule
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.variant_wiring import (
    INTENT,
    WIRING,
    WiringError,
    missing_wiring,
    variant_wiring,
    vrrp_vips,
)

REPO = Path(__file__).resolve().parents[2]
PEERS = ["n1", "n2"]


def facts(**interfaces):
    """Network facts: facts(eth0="10.0.0.11/24", eth1="10.0.1.11/24")."""
    result = {"interfaces": list(interfaces) + ["lo"], "lo": {"ipv4": {"address": "127.0.0.1",
                                                                         "netmask": "255.0.0.0"}}}
    for name, cidr in interfaces.items():
        address, prefix = cidr.split("/")
        mask = str((0xFFFFFFFF << (32 - int(prefix))) & 0xFFFFFFFF)
        mask = ".".join(str((int(mask) >> s) & 255) for s in (24, 16, 8, 0))
        result[name] = {"ipv4": {"address": address, "netmask": mask}}
    return result


LAN = {"ansible_facts": facts(eth0="10.0.0.11/24")}
DNS = dict(LAN, hastack_dns_vip="10.0.0.100", hastack_dns_vrid=30)
BACKENDS = {"be1": "10.0.0.21", "be2": "10.0.0.22"}


def test_active_standby_derives_the_vip_wiring():
    wiring = variant_wiring("dnsmasq_active_standby", DNS, PEERS)
    assert wiring == {
        "dnsmasq_nonlocal_bind": True,
        "dnsmasq_extra_listen_addresses": ["10.0.0.100"],
        "dnsmasq_dhcp_dns_servers": ["10.0.0.100"],
        "keepalived_track_files": {"dnsmasq_down": {"file": "/run/hastack/dnsmasq.down", "weight": 0,
                                                    "init_file": 1}},
        "keepalived_vrrp_scripts": {"chk_dns": {"script": "/usr/local/libexec/hastack/dnsmasq-check-dns",
                                                "interval": 1, "timeout": 2, "fall": 2, "rise": 2,
                                                "weight": -60}},
        "keepalived_instances": {"VI_DNS": {"interface": "eth0", "virtual_router_id": 30,
                                            "virtual_ipaddresses": ["10.0.0.100/24"], "unicast": True,
                                            "track_files": ["dnsmasq_down"], "track_scripts": ["chk_dns"]}},
    }
    assert set(wiring) == set(WIRING["dnsmasq_active_standby"])


def test_the_vip_keeps_its_own_prefix_and_a_moved_state_file_is_tracked():
    wiring = variant_wiring("dnsmasq_active_standby",
                            dict(DNS, hastack_dns_vip="10.0.0.100/25", dnsmasq_state_file="/run/x.down"), PEERS)
    assert wiring["keepalived_instances"]["VI_DNS"]["virtual_ipaddresses"] == ["10.0.0.100/25"]
    assert wiring["dnsmasq_extra_listen_addresses"] == ["10.0.0.100"]
    assert wiring["keepalived_track_files"]["dnsmasq_down"]["file"] == "/run/x.down"


def test_split_roles_puts_the_dhcp_vip_on_the_second_node():
    wiring = variant_wiring("dnsmasq_split_roles",
                            dict(DNS, hastack_dhcp_vip="10.0.0.101", hastack_dhcp_vrid=31), PEERS)
    dhcp = wiring["keepalived_instances"]["VI_DHCP"]
    assert dhcp["master"] == "n2" and dhcp["virtual_router_id"] == 31
    assert dhcp["track_scripts"] == ["chk_dhcp"] and "master" not in wiring["keepalived_instances"]["VI_DNS"]
    assert set(wiring["keepalived_vrrp_scripts"]) == {"chk_dns", "chk_dhcp"}
    with pytest.raises(WiringError, match="hastack_dhcp_vrid: 30 is hastack_dns_vrid too"):
        variant_wiring("dnsmasq_split_roles", dict(DNS, hastack_dhcp_vip="10.0.0.101", hastack_dhcp_vrid=30), PEERS)


def test_gateway_finds_each_vip_on_its_side():
    hostvars = {"ansible_facts": facts(eth0="10.0.0.11/24", eth1="10.0.1.11/24"),
                "hastack_lan_vip": "10.0.0.254", "hastack_lan_vrid": 34,
                "hastack_wan_vip": "10.0.1.254", "hastack_wan_vrid": 35}
    wiring = variant_wiring("gateway_vrrp", hostvars, PEERS)
    instances = wiring["keepalived_instances"]
    assert (instances["VI_LAN"]["interface"], instances["VI_WAN"]["interface"]) == ("eth0", "eth1")
    assert instances["VI_LAN"]["track_files"] == ["dnsmasq_down"] and "track_files" not in instances["VI_WAN"]
    assert wiring["dnsmasq_dhcp_router"] == "10.0.0.254"
    assert wiring["keepalived_sync_groups"] == {"VG_GATEWAY": {"group": ["VI_LAN", "VI_WAN"]}}
    assert wiring["keepalived_sysctls"] == {"net.ipv4.ip_forward": 1}
    with pytest.raises(WiringError, match="hastack_wan_vip: on the LAN VIP's interface eth0"):
        variant_wiring("gateway_vrrp", dict(hostvars, hastack_wan_vip="10.0.0.253"), PEERS)


@pytest.mark.parametrize("variant,prefix,down", [("dns_lb_haproxy", "haproxy", "haproxy"),
                                                 ("dns_lb_nginx", "nginx_stream", "nginx")])
def test_proxies_listen_on_the_vip_and_the_vip_follows_the_proxy(variant, prefix, down):
    wiring = variant_wiring(variant, dict(DNS, hastack_dns_backends=BACKENDS,
                                          hastack_dns_check_name="www.abc.local"), PEERS)
    assert wiring[f"{prefix}_backends"] == BACKENDS
    assert wiring[f"{prefix}_listen_address"] == "10.0.0.100" and wiring[f"{prefix}_nonlocal_bind"] is True
    assert wiring["keepalived_instances"]["VI_DNS"]["track_files"] == [f"{down}_down"]
    assert wiring["keepalived_track_files"][f"{down}_down"]["file"] == f"/run/hastack/{down}.down"
    assert ("haproxy_check_name" in wiring) == (variant == "dns_lb_haproxy")


def test_dnsdist_admits_the_vips_subnets_and_keepalived_asks_it_a_real_question():
    wiring = variant_wiring("dns_lb_dnsdist", dict(DNS6, hastack_dns_backends=BACKENDS,
                                                   hastack_dns_check_name="www.abc.local"), PEERS, "n1")
    assert wiring["dnsdist_backends"] == BACKENDS
    assert (wiring["dnsdist_listen_address"], wiring["dnsdist_listen_address6"]) == ("10.0.0.100", "fd00:10::100")
    assert wiring["dnsdist_nonlocal_bind"] is True and wiring["dnsdist_check_name"] == "www.abc.local"
    # the ACL: the subnets the VIPs are on, nothing wider
    assert wiring["dnsdist_acl"] == ["10.0.0.0/24", "fd00:10::/64"]
    # a stop or a crash (the state file) and a hang (a real query) move the VIPs
    assert wiring["keepalived_vrrp_scripts"]["chk_dns"]["script"] == "/usr/local/libexec/hastack/dnsdist-check-dns"
    for name in ("VI_DNS", "VI_DNS6"):
        inst = wiring["keepalived_instances"][name]
        assert (inst["track_files"], inst["track_scripts"]) == (["dnsdist_down"], ["chk_dns"]), name
    assert wiring["keepalived_track_files"]["dnsdist_down"]["file"] == "/run/hastack/dnsdist.down"
    assert set(wiring) <= set(WIRING["dns_lb_dnsdist"])
    # what the inventory sets wins
    assert "dnsdist_acl" not in missing_wiring("dns_lb_dnsdist", dict(DNS, hastack_dns_backends=BACKENDS,
                                                                      dnsdist_acl=["10.0.0.48/29"]), PEERS)


def test_nftables_dnats_on_the_vips_interface():
    wiring = variant_wiring("dns_lb_nftables", dict(DNS, hastack_dns_backends=BACKENDS), PEERS)
    assert wiring["nftables_lb_backends"] == ["10.0.0.21", "10.0.0.22"]
    assert (wiring["nftables_lb_vip"], wiring["nftables_lb_interface"]) == ("10.0.0.100", "eth0")


def test_lvs_dr_balances_udp_and_tcp_over_the_backends_and_one_director_needs_no_unicast():
    wiring = variant_wiring("dns_lb_lvs_dr", dict(DNS, hastack_dns_backends=BACKENDS,
                                                  hastack_dns_check_name="www.abc.local"), ["d1"])
    servers = wiring["keepalived_virtual_servers"]
    assert {s["protocol"] for s in servers.values()} == {"UDP", "TCP"}
    assert servers["dns_udp"]["real_servers"] == {"be1": {"address": "10.0.0.21"}, "be2": {"address": "10.0.0.22"}}
    assert "unicast" not in wiring["keepalived_instances"]["VI_DNS"]
    assert wiring["keepalived_dns_check_name"] == "www.abc.local"


def test_active_active_hands_out_both_nodes():
    assert variant_wiring("dnsmasq_active_active", LAN, PEERS) == {"dnsmasq_dhcp_dns_servers_from_peers": True}


@pytest.mark.parametrize("variant", ["dhcpd_failover", "kea_ha"])
def test_a_dhcp_pair_serves_the_intent_subnets_unless_the_inventory_sets_its_own(variant):
    subnets = {"lan": {"subnet": "10.0.0.0/24", "ranges": [{"start": "10.0.0.100", "end": "10.0.0.199"}]}}
    assert missing_wiring(variant, dict(LAN, hastack_dhcp_subnets=subnets), PEERS) == {f"{variant}_subnets": subnets}
    assert missing_wiring(variant, {f"{variant}_subnets": {"own": {}}}, PEERS) == {}
    with pytest.raises(WiringError, match=f"hastack_dhcp_subnets: variant {variant} needs it"):
        variant_wiring(variant, LAN, PEERS)


@pytest.mark.parametrize("hostvars,message", [
    (dict(LAN, hastack_dns_vrid=30), "hastack_dns_vip: variant dnsmasq_active_standby needs it"),
    (dict(LAN, hastack_dns_vip="10.0.0.100"), "hastack_dns_vrid: variant dnsmasq_active_standby needs it"),
    (dict(DNS, hastack_dns_vrid=256), "hastack_dns_vrid: must be an integer from 1 to 255"),
    (dict(DNS, hastack_dns_vrid="x"), "hastack_dns_vrid: must be an integer from 1 to 255"),
    (dict(DNS, hastack_dns_vip="10.9.0.100"), r"hastack_dns_vip: 10.9.0.100 is not inside the subnet of any "
                                              r"interface of n1 \(eth0 10.0.0.0/24, lo 127.0.0.0/8\)"),
    (dict(DNS, hastack_dns_vip="fd00::1"), "hastack_dns_vip: 'fd00::1' is not an IPv4 address"),
    (dict(DNS, ansible_facts={}), "hastack_dns_vip: no network facts for n1"),
])
def test_bad_intent_names_the_variable(hostvars, message):
    with pytest.raises(WiringError, match=message):
        variant_wiring("dnsmasq_active_standby", hostvars, PEERS, "n1")



def dual(v4="10.0.0.11/24", v6="fd00:10::11/64", **more):
    result = facts(eth0=v4, **more)
    result["eth0"]["ipv6"] = [{"address": v6.split("/")[0], "prefix": v6.split("/")[1], "scope": "global"},
                              {"address": "fe80::11", "prefix": "64", "scope": "link"}]
    return result


DNS6 = dict(DNS, ansible_facts=dual(), hastack_dns_vip6="fd00:10::100")
BACKENDS6 = {"be1": "fd00:10::21", "be2": "fd00:10::22"}


def test_an_ipv6_vip_becomes_a_twin_instance_with_the_same_vrid_and_tracking():
    wiring = variant_wiring("dnsmasq_active_standby", DNS6, PEERS, "n1")
    four, six = wiring["keepalived_instances"]["VI_DNS"], wiring["keepalived_instances"]["VI_DNS6"]
    assert six == dict(four, virtual_ipaddresses=["fd00:10::100/64"])
    assert wiring["dnsmasq_extra_listen_addresses"] == ["10.0.0.100", "fd00:10::100"]
    assert vrrp_vips(DNS6) == ["10.0.0.100", "fd00:10::100"]


def test_the_gateway_keeps_its_ipv6_lan_vip_in_the_sync_group():
    hv = dict(LAN, ansible_facts=dual(eth1="10.0.1.11/24"), hastack_lan_vip="10.0.0.254", hastack_lan_vrid=34,
              hastack_wan_vip="10.0.1.254", hastack_wan_vrid=35, hastack_lan_vip6="fd00:10::fe/64")
    wiring = variant_wiring("gateway_vrrp", hv, PEERS, "n1")
    assert wiring["keepalived_sync_groups"] == {"VG_GATEWAY": {"group": ["VI_LAN", "VI_WAN", "VI_LAN6"]}}
    # led by the virtual router's link-local address, the EUI-64 of MAC 00:00:5e:00:02:22 (VRID 34)
    assert wiring["keepalived_instances"]["VI_LAN6"]["virtual_ipaddresses"] == [
        "fe80::200:5eff:fe00:222/64", "fd00:10::fe/64"]
    assert wiring["keepalived_instances"]["VI_LAN6"]["virtual_router_id"] == 34
    # only the holder of that address sends router advertisements, from it
    assert wiring["dnsmasq_ra_enabled"] is True
    assert wiring["dnsmasq_ra_source"] == "fe80::200:5eff:fe00:222"
    assert wiring["dnsmasq_dhcp_dns_servers"] == ["10.0.0.254", "fd00:10::fe"]
    assert wiring["keepalived_sysctls"] == {"net.ipv4.ip_forward": 1, "net.ipv6.conf.all.forwarding": 1}
    assert "VI_WAN6" not in wiring["keepalived_instances"]


def gateway6(**more):
    v6_facts = dual(eth1="10.0.1.11/24")
    v6_facts["eth1"]["ipv6"] = [{"address": "fd00:11::11", "prefix": "64", "scope": "global"}]
    return dict(LAN, ansible_facts=v6_facts, hastack_lan_vip="10.0.0.254", hastack_lan_vrid=34,
                hastack_wan_vip="10.0.1.254", hastack_wan_vrid=35, **more)


def test_the_gateway_moves_its_ipv6_upstream_vip_with_the_lan_side():
    wiring = variant_wiring("gateway_vrrp", gateway6(hastack_lan_vip6="fd00:10::fe",
                                                     hastack_wan_vip6="fd00:11::fe"), PEERS, "n1")
    assert wiring["keepalived_sync_groups"]["VG_GATEWAY"]["group"] == ["VI_LAN", "VI_WAN", "VI_LAN6", "VI_WAN6"]
    wan6 = wiring["keepalived_instances"]["VI_WAN6"]
    assert (wan6["interface"], wan6["virtual_ipaddresses"], wan6["virtual_router_id"]) == (
        "eth1", ["fd00:11::fe/64"], 35)


def test_an_ipv4_only_gateway_sends_no_router_advertisements():
    wiring = variant_wiring("gateway_vrrp", gateway6(), PEERS, "n1")
    assert "dnsmasq_ra_enabled" not in wiring and "VI_LAN6" not in wiring["keepalived_instances"]
    assert wiring["keepalived_sysctls"] == {"net.ipv4.ip_forward": 1}


@pytest.mark.parametrize("more,message", [
    ({"hastack_wan_vip6": "fd00:11::fe"}, "hastack_wan_vip6: needs hastack_lan_vip6"),
    ({"hastack_lan_vip6": "fd00:10::fe", "hastack_wan_vip6": "fd00:10::fd"},
     "hastack_wan_vip6: on the LAN VIP's interface eth0"),
    ({"hastack_lan_vip6": "fd00:10::fe", "hastack_wan_vip6": "fe80::1"},
     "hastack_wan_vip6: fe80::1 is link-local or multicast"),
    ({"hastack_lan_vip6": "fe80::1"}, "hastack_lan_vip6: fe80::1 is link-local or multicast"),
], ids=["upstream without LAN", "upstream on the LAN", "link-local upstream", "link-local LAN VIP"])
def test_bad_gateway_ipv6_intent_names_the_variable(more, message):
    with pytest.raises(WiringError, match=message):
        variant_wiring("gateway_vrrp", gateway6(**more), PEERS, "n1")


def test_active_standby_hands_out_the_ipv6_vip_as_dns_server_too():
    wiring = variant_wiring("dnsmasq_active_standby", DNS6, PEERS, "n1")
    assert wiring["dnsmasq_dhcp_dns_servers"] == ["10.0.0.100", "fd00:10::100"]


def test_split_roles_and_proxies_get_their_ipv6_twins():
    hv = dict(DNS6, hastack_dhcp_vip="10.0.0.101", hastack_dhcp_vrid=31, hastack_dhcp_vip6="fd00:10::101",
              hastack_dns_backends=BACKENDS, hastack_dns_backends6=BACKENDS6)
    split = variant_wiring("dnsmasq_split_roles", hv, PEERS, "n1")["keepalived_instances"]
    assert sorted(split) == ["VI_DHCP", "VI_DHCP6", "VI_DNS", "VI_DNS6"]
    assert split["VI_DHCP6"]["master"] == "n2"
    for variant in ("dns_lb_haproxy", "dns_lb_nginx", "dns_lb_dnsdist", "dns_lb_nftables"):
        assert "VI_DNS6" in variant_wiring(variant, hv, PEERS, "n1")["keepalived_instances"], variant


@pytest.mark.parametrize("variant,prefix", [("dns_lb_haproxy", "haproxy"), ("dns_lb_nginx", "nginx_stream")])
def test_proxies_listen_on_the_ipv6_vip_too_with_the_same_backends(variant, prefix):
    wiring = variant_wiring(variant, dict(DNS6, hastack_dns_backends=BACKENDS), PEERS, "n1")
    assert (wiring[f"{prefix}_listen_address"], wiring[f"{prefix}_listen_address6"]) == ("10.0.0.100", "fd00:10::100")
    # the proxy ends the client's connection: the IPv4 backends serve the IPv6 VIP
    assert wiring[f"{prefix}_backends"] == BACKENDS
    assert wiring["keepalived_instances"]["VI_DNS6"]["track_files"] == \
        wiring["keepalived_instances"]["VI_DNS"]["track_files"]
    assert f"{prefix}_listen_address6" not in variant_wiring(variant, dict(DNS, hastack_dns_backends=BACKENDS),
                                                             PEERS, "n1")


def test_nftables_dnats_the_ipv6_vip_to_the_ipv6_backends():
    wiring = variant_wiring("dns_lb_nftables", dict(DNS6, hastack_dns_backends=BACKENDS,
                                                    hastack_dns_backends6=BACKENDS6), PEERS, "n1")
    assert (wiring["nftables_lb_vip6"], wiring["nftables_lb_backends6"]) == ("fd00:10::100",
                                                                             ["fd00:10::21", "fd00:10::22"])
    assert wiring["nftables_lb_backends"] == ["10.0.0.21", "10.0.0.22"]
    assert wiring["keepalived_instances"]["VI_DNS6"]["virtual_ipaddresses"] == ["fd00:10::100/64"]
    assert set(wiring) <= set(WIRING["dns_lb_nftables"])
    without = variant_wiring("dns_lb_nftables", dict(DNS, hastack_dns_backends=BACKENDS), PEERS, "n1")
    assert "nftables_lb_vip6" not in without and "VI_DNS6" not in without["keepalived_instances"]


@pytest.mark.parametrize("backends6,message", [
    (None, "hastack_dns_backends6: variant dns_lb_nftables needs it with hastack_dns_vip6 "
           r"\(The DNS backends' IPv6 addresses.*NAT does not translate IPv4 to IPv6"),
    ({}, "hastack_dns_backends6: variant dns_lb_nftables needs it with hastack_dns_vip6"),
    (["fd00:10::21"], r"hastack_dns_backends6: must be a non-empty dict of name to IPv6 address"),
    ({"be1": "10.0.0.21"}, r"hastack_dns_backends6.be1: '10.0.0.21' is not an IPv6 address"),
    ({"be1": "fe80::21"}, r"hastack_dns_backends6.be1: fe80::21 is link-local or multicast"),
    ({"be1": "fd00:10::21", "be2": "fd00:10:0::21"}, r"hastack_dns_backends6: lists an address twice"),
])
def test_nftables_refuses_an_ipv6_vip_without_ipv6_backends_by_name(backends6, message):
    hostvars = dict(DNS6, hastack_dns_backends=BACKENDS)
    if backends6 is not None:
        hostvars["hastack_dns_backends6"] = backends6
    with pytest.raises(WiringError, match=message):
        variant_wiring("dns_lb_nftables", hostvars, PEERS, "n1")


def test_nftables_refuses_an_ipv6_vip_on_another_interface():
    hv = dict(DNS6, ansible_facts=dual(eth1="10.0.1.11/24"), hastack_dns_backends=BACKENDS,
              hastack_dns_backends6=BACKENDS6)
    hv["ansible_facts"]["eth1"]["ipv6"] = [{"address": "fd00:11::11", "prefix": "64", "scope": "global"}]
    with pytest.raises(WiringError, match="hastack_dns_vip6: fd00:11::100 is on eth1, hastack_dns_vip on eth0"):
        variant_wiring("dns_lb_nftables", dict(hv, hastack_dns_vip6="fd00:11::100"), PEERS, "n1")


def test_an_inventory_that_wires_a_proxy_itself_needs_no_optional_intent():
    own = {name: "own" for name in WIRING["dns_lb_haproxy"]
           if name not in ("haproxy_check_name", "haproxy_listen_address6")}
    assert missing_wiring("dns_lb_haproxy", dict(LAN, **own), PEERS) == {}


@pytest.mark.parametrize("hostvars,message", [
    (dict(DNS6, hastack_dns_vip6="10.0.0.100"), "hastack_dns_vip6: '10.0.0.100' is not an IPv6 address"),
    (dict(DNS6, hastack_dns_vip6="fe80::100"), "hastack_dns_vip6: fe80::100 is link-local or multicast"),
    (dict(DNS6, hastack_dns_vip6="ff02::12"), "hastack_dns_vip6: ff02::12 is link-local or multicast"),
    (dict(DNS6, hastack_dns_vip6="fd00:99::100"), r"hastack_dns_vip6: fd00:99::100 is not inside the subnet of "
                                                  r"any interface of n1 \(eth0 fd00:10::/64\)"),
    (dict(DNS, hastack_dns_vip6="fd00:10::100"), "hastack_dns_vip6: n1 has no global IPv6 address"),
    (dict(DNS6, hastack_dns_vip6="nope"), "hastack_dns_vip6: 'nope' is not an IPv6 address"),
])
def test_bad_ipv6_intent_names_the_variable(hostvars, message):
    with pytest.raises(WiringError, match=message):
        variant_wiring("dnsmasq_active_standby", hostvars, PEERS, "n1")


def test_lvs_dr_balances_the_ipv6_vip_over_the_ipv6_backends():
    wiring = variant_wiring("dns_lb_lvs_dr", dict(DNS6, hastack_dns_backends=BACKENDS,
                                                  hastack_dns_backends6=BACKENDS6), PEERS, "n1")
    servers = wiring["keepalived_virtual_servers"]
    assert sorted(servers) == ["dns_tcp", "dns_tcp6", "dns_udp", "dns_udp6"]
    # direct routing rewrites nothing: the IPv6 virtual servers forward to IPv6 real servers
    assert servers["dns_udp6"]["address"] == servers["dns_tcp6"]["address"] == "fd00:10::100"
    assert servers["dns_udp6"]["real_servers"] == {"be1": {"address": "fd00:10::21"},
                                                   "be2": {"address": "fd00:10::22"}}
    assert servers["dns_udp"]["real_servers"] == {"be1": {"address": "10.0.0.21"}, "be2": {"address": "10.0.0.22"}}
    assert {k: v for k, v in servers["dns_tcp6"].items() if k not in ("address", "real_servers")} == \
        {k: v for k, v in servers["dns_tcp"].items() if k not in ("address", "real_servers")}
    # deprecated: the director's own checks leave from its own address, never from the VIP
    assert wiring["keepalived_instances"]["VI_DNS6"]["virtual_ipaddresses"] == [
        {"address": "fd00:10::100/64", "preferred_lft": 0}]
    assert set(wiring) <= set(WIRING["dns_lb_lvs_dr"])


def test_lvs_dr_needs_the_ipv6_backends_with_the_ipv6_vip():
    with pytest.raises(WiringError, match="hastack_dns_backends6: variant dns_lb_lvs_dr needs it with "
                                          r"hastack_dns_vip6 \(.*direct routing rewrites nothing"):
        variant_wiring("dns_lb_lvs_dr", dict(DNS6, hastack_dns_backends=BACKENDS), PEERS, "n1")


def test_the_filter_leaves_out_what_the_inventory_sets_and_fails_as_a_filter():
    derive = FilterModule().filters()["variant_wiring"]
    wiring = derive("dnsmasq_active_standby", dict(DNS, dnsmasq_nonlocal_bind=False), PEERS, "n1")
    assert "dnsmasq_nonlocal_bind" not in wiring and "keepalived_instances" in wiring
    with pytest.raises(AnsibleFilterError, match="hastack_dns_vrid"):
        derive("dnsmasq_active_standby", dict(LAN, hastack_dns_vip="10.0.0.100"), PEERS)
    with pytest.raises(AnsibleFilterError, match="unknown variant"):
        derive("nosuch", DNS, PEERS)


def test_an_inventory_that_wires_everything_itself_needs_no_intent():
    own = {name: "own" for name in WIRING["dnsmasq_active_standby"]}
    assert missing_wiring("dnsmasq_active_standby", dict(LAN, **own), PEERS) == {}


def test_every_variant_documents_its_intent_and_derives_only_known_variables():
    assert set(INTENT) == set(WIRING)
    full = dict(DNS, hastack_dns_backends=BACKENDS, hastack_dns_check_name="www.abc.local",
                hastack_dhcp_vip="10.0.0.101", hastack_dhcp_vrid=31,
                hastack_lan_vip="10.0.0.254", hastack_lan_vrid=34, hastack_wan_vip="10.0.1.254", hastack_wan_vrid=35,
                hastack_dhcp_subnets={"lan": {"subnet": "10.0.0.0/24"}},
                ansible_facts=facts(eth0="10.0.0.11/24", eth1="10.0.1.11/24"))
    for variant in INTENT:
        assert set(variant_wiring(variant, full, PEERS)) <= set(WIRING[variant]), variant


def test_vrrp_vips_from_instances_or_from_the_intent():
    assert vrrp_vips({"keepalived_instances": {"VI_B": {"virtual_ipaddresses": ["10.0.0.2/24"]},
                                               "VI_A": {"virtual_ipaddresses": [{"address": "10.0.0.1/24"}]}}}) \
        == ["10.0.0.1", "10.0.0.2"]
    assert vrrp_vips(dict(DNS, hastack_dhcp_vip="10.0.0.101", hastack_dhcp_vrid=31)) == ["10.0.0.101", "10.0.0.100"]
    # a backend knows the DNS VIP but holds it by no VRRP instance
    assert vrrp_vips({"hastack_dns_vip": "10.0.0.100"}) == []


# An inventory value wins over the derived one, as the variant playbooks run the derivation:
# rendered by ansible-playbook on localhost (the VIP on lo's 127.0.0.0/8), with a play
# variable and the keepalived role's cross-checks of the peers' derived instances.
INVENTORY = """
all:
  vars:
    ansible_connection: local
  children:
    dnsmasq_active_standby:
      hosts:
        n1: {}
        n2: {dnsmasq_nonlocal_bind: false}
      vars:
        hastack_dns_vip: 127.0.0.100
        hastack_dns_vrid: 30
        dnsmasq_extra_listen_addresses: ["127.0.0.53"]
"""
PLAYBOOK = """
- name: Derive the wiring as the variant playbooks do
  hosts: dnsmasq_active_standby
  gather_facts: true
  gather_subset: [network]
  vars:
    keepalived_peer_group: dnsmasq_active_standby
  tasks:
    - name: Derive
      ansible.builtin.include_tasks: {tasks}
      vars:
        variant_wiring_group: dnsmasq_active_standby
    - name: Cross-check the peers' instances
      ansible.builtin.include_role:
        name: hastack.dns_dhcp.keepalived
        tasks_from: validate
    - name: Write the result
      ansible.builtin.copy:
        dest: "{{{{ out }}}}/{{{{ inventory_hostname }}}}.json"
        content: >-
          {{{{ {{'instances': keepalived_instances, 'listen': dnsmasq_extra_listen_addresses,
               'nonlocal': dnsmasq_nonlocal_bind, 'scripts': keepalived_vrrp_scripts}} | to_json }}}}
        mode: "0600"
      delegate_to: localhost
"""


def test_an_inventory_value_wins_over_the_derived_one(tmp_path):
    playbook = shutil.which("ansible-playbook") or str(Path(sys.executable).parent / "ansible-playbook")
    if not Path(playbook).exists():
        pytest.skip("ansible-playbook is not installed")
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    (tmp_path / "play.yml").write_text(PLAYBOOK.format(tasks=REPO / "playbooks" / "tasks" / "variant_wiring.yml"))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}

    def run(*extra):
        result = subprocess.run([playbook, "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml"),
                                 "-e", f"out={tmp_path}", "-e", f"ansible_python_interpreter={sys.executable}",
                                 *extra], cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
                                check=False)
        assert result.returncode == 0, f"ansible-playbook failed:\n{result.stdout}\n{result.stderr}"
        return {host: json.loads((tmp_path / f"{host}.json").read_text()) for host in PEERS}

    got = run()
    for host in PEERS:
        assert got[host]["instances"]["VI_DNS"]["virtual_ipaddresses"] == ["127.0.0.100/8"]
        assert got[host]["instances"]["VI_DNS"]["interface"] == "lo"
        assert got[host]["listen"] == ["127.0.0.53"]  # the group's value, not the VIP
    assert (got["n1"]["nonlocal"], got["n2"]["nonlocal"]) == (True, False)  # n2's own value
    # extra vars win too (AWX survey answers, the scenarios' bad-input runs)
    assert got["n1"]["scripts"]["chk_dns"]["script"] == "/usr/local/libexec/hastack/dnsmasq-check-dns"
    got = run("-e", json.dumps({"keepalived_vrrp_scripts": {"chk_dns": {"script": "/bin/true"}}}))
    assert got["n1"]["scripts"] == {"chk_dns": {"script": "/bin/true"}}


# README section "Minimal inventories per variant": each example is the group vars (and the
# all:vars intent, without the lab's connection settings) of the scenario it names.
SECTION = re.compile(r"^## Minimal inventories per variant\n(.*?)(?=^## )", re.M | re.S)
EXAMPLE = re.compile(r"<!-- scenario: (\S+) -->\s*```yaml\n(.*?)```", re.S)
LAB_ONLY = re.compile(r"^(ansible_|lab_)")


def readme_examples():
    section = SECTION.search((REPO / "README.md").read_text())
    assert section, "README.md has no section 'Minimal inventories per variant'"
    return EXAMPLE.findall(section.group(1))


def scenario_vars(inventory, group):
    data = yaml.safe_load(inventory.read_text())["all"]
    shared = {k: v for k, v in (data.get("vars") or {}).items() if not LAB_ONLY.match(k)}
    return shared, data["children"][group].get("vars") or {}


def test_the_readme_shows_every_variant_the_scenarios_deploy():
    assert sorted(name for name, _ in readme_examples()) == sorted(
        ["dnsmasq_active_standby", "dnsmasq_active_active", "dnsmasq_split_roles", "gateway_vrrp",
         "dns_lb_haproxy", "dns_lb_nginx", "dns_lb_dnsdist", "dns_lb_nftables", "dns_lb_lvs_dr"])


@pytest.mark.parametrize("scenario,text", readme_examples(), ids=[name for name, _ in readme_examples()])
def test_a_readme_example_is_what_its_scenario_deploys(scenario, text):
    example = yaml.safe_load(text)["all"]
    shared, group = scenario_vars(REPO / "molecule" / scenario / "inventory.yml", scenario)
    assert (example.get("vars") or {}) == shared
    assert (example["children"][scenario].get("vars") or {}) == group
    for name in INTENT[scenario]:
        if INTENT[scenario][name][0]:
            assert name in {**shared, **group}, f"{scenario}: the example lacks {name}"


QUORUM_HOST = dict(DNS, ansible_facts=facts(eth0="10.0.0.11/24"), inventory_hostname="n1")


@pytest.mark.parametrize("variant", ["dnsmasq_active_standby", "dnsmasq_split_roles", "dns_lb_haproxy",
                                     "dns_lb_nginx", "dns_lb_dnsdist", "dns_lb_nftables", "dns_lb_lvs_dr"])
def test_a_quorum_address_makes_every_instance_track_a_ping_of_it(variant):
    intent = dict(QUORUM_HOST, hastack_dns_backends=BACKENDS, hastack_dns_backends6={},
                  hastack_dhcp_vip="10.0.0.101", hastack_dhcp_vrid=31, hastack_vrrp_quorum_address="10.0.0.1")
    wiring = variant_wiring(variant, intent, PEERS)
    script = wiring["keepalived_vrrp_scripts"]["chk_quorum"]
    assert script["script"] == "/usr/bin/ping -c 1 -W 1 10.0.0.1" and script["weight"] == -100
    assert script["user"] == "root"
    for name, inst in wiring["keepalived_instances"].items():
        assert inst["track_scripts"][-1] == "chk_quorum", name
    assert set(wiring) <= set(WIRING[variant])
    without = variant_wiring(variant, dict(intent, hastack_vrrp_quorum_address=""), PEERS)
    assert "chk_quorum" not in without.get("keepalived_vrrp_scripts", {})


@pytest.mark.parametrize("address,message", [
    ("10.0.0.300", "'10.0.0.300' is not an IPv4 or IPv6 address"),
    ("10.0.0.100", "10.0.0.100 is a VIP of this group"),
    ("10.0.0.11", "10.0.0.11 is an address of n1"),
])
def test_a_quorum_address_that_cannot_tell_a_cut_off_node_is_refused(address, message):
    with pytest.raises(WiringError, match="^hastack_vrrp_quorum_address: " + re.escape(message)):
        variant_wiring("dnsmasq_active_standby", dict(QUORUM_HOST, hastack_vrrp_quorum_address=address), PEERS)


def test_the_quorum_guard_is_refused_where_a_sync_group_ignores_its_weight():
    gateway = dict(hastack_lan_vip="10.0.0.254", hastack_lan_vrid=34, hastack_wan_vip="10.0.1.254",
                   hastack_wan_vrid=35, ansible_facts=facts(eth0="10.0.0.11/24", eth1="10.0.1.11/24"),
                   hastack_vrrp_quorum_address="10.0.0.1")
    with pytest.raises(WiringError, match="^hastack_vrrp_quorum_address: gateway_vrrp keeps its VIPs in a sync"):
        variant_wiring("gateway_vrrp", gateway, PEERS)


def test_an_inventory_wiring_a_load_balancer_itself_needs_no_vrrp_scripts():
    own = {name: "own" for name in WIRING["dns_lb_haproxy"] if name != "keepalived_vrrp_scripts"}
    assert missing_wiring("dns_lb_haproxy", dict(LAN, **own), PEERS) == {}


@pytest.mark.parametrize("variant,hostvars,message", [
    ("dnsmasq_split_roles", dict(DNS, hastack_dhcp_vip="10.0.0.100", hastack_dhcp_vrid=31),
     "hastack_dhcp_vip: 10.0.0.100 is hastack_dns_vip too: one address, one VIP"),
    ("dnsmasq_split_roles", dict(DNS, hastack_dhcp_vip="10.0.0.100/24", hastack_dhcp_vrid=31),
     "hastack_dhcp_vip: 10.0.0.100 is hastack_dns_vip too"),
    ("gateway_vrrp", {"ansible_facts": facts(eth0="10.0.0.11/24", eth1="10.0.1.11/24"),
                      "hastack_lan_vip": "10.0.0.1", "hastack_lan_vrid": 1,
                      "hastack_wan_vip": "10.0.0.1", "hastack_wan_vrid": 2},
     "hastack_wan_vip: 10.0.0.1 is hastack_lan_vip too"),
    ("dnsmasq_active_standby", dict(DNS, hastack_dns_vip="10.0.0.11"),
     "hastack_dns_vip: 10.0.0.11 is the own address of n1 on eth0; a VIP must be an address no node holds itself"),
    ("dns_lb_haproxy", dict(DNS, hastack_dns_backends={"be1": "10.0.0.21", "be2": "10.0.0.100"}),
     "hastack_dns_backends.be2: 10.0.0.100 is hastack_dns_vip: the load balancer would forward the queries "
     "to itself"),
    ("dns_lb_nginx", dict(DNS, hastack_dns_backends={"be1": "10.0.0.11"}),
     "hastack_dns_backends.be1: 10.0.0.11 is the own address of n1 on eth0: a backend must be another host"),
])
def test_an_address_claimed_twice_is_refused_naming_both(variant, hostvars, message):
    with pytest.raises(WiringError, match=message):
        variant_wiring(variant, hostvars, PEERS, "n1")
    # the inventory that wires everything itself is checked too
    with pytest.raises(WiringError, match=message):
        missing_wiring(variant, dict(hostvars, **{name: "own" for name in WIRING[variant]}), PEERS, "n1")


def test_the_filter_returns_the_refusal_on_request():
    variant_wiring_filter = FilterModule().filters()["variant_wiring"]
    answer = variant_wiring_filter("dnsmasq_active_standby", dict(DNS, hastack_dns_vrid=0), PEERS, "n1",
                                   errors="return")
    assert answer == {"result": None, "error": "hastack_dns_vrid: must be an integer from 1 to 255, got 0"}
    assert variant_wiring_filter("dnsmasq_active_active", LAN, PEERS, "n1", errors="return") == {
        "result": {"dnsmasq_dhcp_dns_servers_from_peers": True}, "error": ""}


def _facts(distribution, major):
    return {"ansible_facts": {"distribution": distribution, "distribution_major_version": major}}


def test_a_group_of_one_release_or_of_releases_tested_together_passes():
    from ansible_collections.hastack.dns_dhcp.plugins.module_utils.release_mix import release_mix

    hostvars = {"n1": _facts("Debian", "12"), "n2": _facts("Debian", "13"), "n3": _facts("Debian", "13"),
                "n4": {}}
    assert release_mix(["n2", "n3"], hostvars, "g") == ""
    assert release_mix(["n1", "n2", "n3"], hostvars, "g") == ""  # Debian 12 with 13: tested
    assert release_mix(["n1", "n4", "nosuch"], hostvars, "g") == ""  # no facts: left out
    assert release_mix(["n1", "n2"], hostvars, "g", tested=[["Debian 12", "Debian 13", "Debian 14"]]) == ""


def test_a_mix_not_tested_together_is_refused_by_name():
    from ansible_collections.hastack.dns_dhcp.plugins.module_utils.release_mix import release_mix

    hostvars = {"n1": _facts("Debian", "11"), "n2": _facts("Debian", "13"), "n3": _facts("Ubuntu", "24")}
    assert release_mix(["n1", "n2"], hostvars, "kea_ha") == (
        "kea_ha: its nodes run Debian 11 on n1; Debian 13 on n2, a mix of releases not tested together "
        "(tested: Debian 12 with Debian 13); move them to one release first, or add this mix to "
        "hastack_release_mixes once tested")
    assert release_mix(["n2", "n3"], hostvars, "g", tested=[]).startswith(
        "g: its nodes run Debian 13 on n2; Ubuntu 24 on n3, a mix of releases not tested together (tested: none)")
    assert release_mix(["n1", "n2"], hostvars, "g", tested="Debian 11").startswith("hastack_release_mixes: must be")
