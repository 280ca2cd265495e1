"""Unit tests of the failover drill's plan (plugins/module_utils/drill.py, filters drill_plan,
drill_expected, drill_preferred)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.hastack.dns_dhcp.plugins.filter.drill import FilterModule
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.drill import (
    DrillError,
    drill_plan,
    expected_holder,
    preferred_vips,
)

NODES = ["n1", "n2", "n3"]
FILTERS = FilterModule().filters()


def facts(address, address6=None):
    eth0 = {"ipv4": {"address": address, "netmask": "255.255.255.0"}}
    if address6:
        eth0["ipv6"] = [{"address": address6, "prefix": "64", "scope": "global"}]
    return {"interfaces": ["eth0", "lo"], "eth0": eth0}


def split_roles(count=3, **extra):
    """A dnsmasq_split_roles group of count nodes, dual stack, from its intent alone."""
    intent = {"hastack_dns_vip": "10.0.0.100", "hastack_dns_vrid": 30, "hastack_dhcp_vip": "10.0.0.101",
              "hastack_dhcp_vrid": 31, "hastack_dns_vip6": "fd00::100", "hastack_dhcp_vip6": "fd00::101"}
    intent.update(extra)
    return {f"n{i}": dict(intent, ansible_facts=facts(f"10.0.0.1{i}", f"fd00::1{i}"))
            for i in range(1, count + 1)}


def by_name(plan):
    return {entry["name"]: entry for entry in plan}


def test_split_roles_on_three_nodes_drills_the_dns_and_the_dhcp_vip_with_their_twins():
    plan = by_name(drill_plan(split_roles(), NODES, "dnsmasq_split_roles"))
    assert sorted(plan) == ["VI_DHCP", "VI_DNS"]
    dns, dhcp = plan["VI_DNS"], plan["VI_DHCP"]
    assert (dns["vip"], dns["vip6"], dns["instance6"], dns["interface"]) == ("10.0.0.100", "fd00::100", "VI_DNS6", "eth0")
    assert (dhcp["vip"], dhcp["vip6"], dhcp["instance6"]) == ("10.0.0.101", "fd00::101", "VI_DHCP6")
    assert (dns["service"], dns["probe"]) == ("dnsmasq", "dns")
    assert (dhcp["service"], dhcp["probe"]) == ("dnsmasq", "dhcp")
    # the DNS VIP's master is the first node, the DHCP VIP's the second; the rest follow in order
    assert dns["priorities"] == {"n1": 150, "n2": 140, "n3": 130}
    assert dhcp["priorities"] == {"n2": 150, "n1": 140, "n3": 130}


def test_the_expected_holder_is_the_remaining_node_with_the_highest_priority():
    plan = by_name(drill_plan(split_roles(), NODES, "dnsmasq_split_roles"))
    assert expected_holder(plan["VI_DNS"], "n1") == "n2"
    assert expected_holder(plan["VI_DNS"], "n2") == "n1"
    assert expected_holder(plan["VI_DHCP"], "n2") == "n1"
    assert expected_holder(plan["VI_DHCP"], "n3") == "n2"
    assert FILTERS["drill_expected"](plan["VI_DHCP"], "n1") == "n2"


def test_a_node_takes_back_only_the_vips_it_wins_by_priority_where_the_group_preempts():
    plan = drill_plan(split_roles(), NODES, "dnsmasq_split_roles")
    # n1 masters the DNS VIP, n2 the DHCP VIP, n3 none: each VIP with its IPv6 twin
    assert preferred_vips(plan, "n1") == ["10.0.0.100", "fd00::100"]
    assert FILTERS["drill_preferred"](plan, "n2") == ["10.0.0.101", "fd00::101"]
    assert preferred_vips(plan, "n3") == []
    for entry in plan:
        entry["nopreempt"] = True
    assert preferred_vips(plan, "n1") == [] and preferred_vips(plan, "n2") == []


def test_an_ipv4_only_group_has_no_twins():
    hostvars = split_roles(2)
    for node_vars in hostvars.values():
        del node_vars["hastack_dns_vip6"], node_vars["hastack_dhcp_vip6"]
    plan = by_name(drill_plan(hostvars, ["n1", "n2"], "dnsmasq_split_roles"))
    assert (plan["VI_DNS"]["vip6"], plan["VI_DNS"]["instance6"]) == ("", "")


def test_drill_instances_selects_by_ipv4_or_ipv6_name():
    assert [e["name"] for e in drill_plan(split_roles(), NODES, "dnsmasq_split_roles", ["VI_DHCP"])] == ["VI_DHCP"]
    assert [e["name"] for e in drill_plan(split_roles(), NODES, "dnsmasq_split_roles", "VI_DNS6")] == ["VI_DNS"]
    with pytest.raises(DrillError, match=r"drill_instances: \['VI_NOPE'\] are not VRRP instances"):
        drill_plan(split_roles(), NODES, "dnsmasq_split_roles", ["VI_NOPE"])


def test_the_inventorys_own_instances_win_with_their_priorities_interface_and_tracked_service():
    instances = {"VI_WEB": {"interface": "eth1", "virtual_router_id": 7, "virtual_ipaddresses": ["10.0.1.5/24"],
                            "nopreempt": True, "priority_base": 200, "priority_step": 50,
                            "track_files": ["haproxy_down"]}}
    node = {"keepalived_instances": instances,
            "keepalived_track_files": {"haproxy_down": {"file": "/run/hastack/haproxy.down", "weight": 0}}}
    hostvars = {n: dict(node) for n in NODES}
    hostvars["n3"] = dict(node, keepalived_instances={"VI_WEB": dict(instances["VI_WEB"], priority=254)})
    [entry] = drill_plan(hostvars, NODES, "dns_lb_haproxy")
    assert (entry["interface"], entry["vip"], entry["service"], entry["probe"]) == ("eth1", "10.0.1.5", "haproxy", "dns")
    assert entry["priorities"] == {"n1": 200, "n2": 150, "n3": 254} and entry["nopreempt"]
    assert expected_holder(entry, "n1") == "n3"


@pytest.mark.parametrize("tracking,service,probe", [
    ({"track_processes": ["kea"]}, "kea-dhcp4-server", "dhcp"),
    ({"track_scripts": ["chk"]}, "nginx", "dns"),
    ({}, "keepalived", "dns"),
], ids=["tracked process", "check script", "nothing tracked"])
def test_the_guarded_service_comes_from_the_tracking(tracking, service, probe):
    instances = {"VI_X": dict({"interface": "eth0", "virtual_router_id": 9,
                               "virtual_ipaddresses": ["10.0.0.9"]}, **tracking)}
    node = {"keepalived_instances": instances,
            "keepalived_track_processes": {"kea": {"process": "kea-dhcp4"}},
            "keepalived_vrrp_scripts": {"chk": {"script": "/usr/local/bin/nginx-check --quick"}}}
    [entry] = drill_plan({n: node for n in NODES}, NODES)
    assert (entry["service"], entry["probe"]) == (service, probe)


def test_an_ipv6_only_instance_is_drilled_on_its_own():
    instances = {"VI_V6": {"interface": "eth0", "virtual_router_id": 9, "virtual_ipaddresses": ["fd00::9"]}}
    [entry] = drill_plan({n: {"keepalived_instances": instances} for n in NODES}, NODES)
    assert (entry["name"], entry["vip"], entry["vip6"], entry["instance6"]) == ("VI_V6", "", "fd00::9", "VI_V6")


@pytest.mark.parametrize("nodes,hostvars,message", [
    (["n1"], split_roles(1), r"drill_group: a VRRP group of two or more nodes, got \['n1'\]"),
    (["n1", "n1"], split_roles(1), "drill_group: a VRRP group of two or more nodes"),
    (["n1", "nx"], split_roles(1), "drill_group: nx has no variables"),
    (NODES, {n: {} for n in NODES}, "drill_group: n1 has no keepalived_instances"),
], ids=["one node", "a node twice", "unknown node", "no VRRP node"])
def test_a_group_that_cannot_be_drilled_is_refused_by_name(nodes, hostvars, message):
    with pytest.raises(DrillError, match=message):
        drill_plan(hostvars, nodes, "dnsmasq_split_roles" if hostvars.get("n1") else "")


def test_bad_intent_and_peers_that_disagree_are_refused_by_name():
    with pytest.raises(AnsibleFilterError, match="hastack_dhcp_vrid: 30 is hastack_dns_vrid too"):
        FILTERS["drill_plan"](split_roles(hastack_dhcp_vrid=30), NODES, "dnsmasq_split_roles")
    hostvars = split_roles()
    hostvars["n3"]["hastack_dns_vrid"] = 40
    with pytest.raises(AnsibleFilterError, match=r"keepalived_instances.VI_DNS.virtual_router_id: must be the same"):
        FILTERS["drill_plan"](hostvars, NODES, "dnsmasq_split_roles")
