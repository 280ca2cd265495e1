"""dnsmasq active/active: both nodes answer DNS, DHCP hands out both, split scope."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.labkit import assert_rejected_before_any_change, dig, leased_addresses, scenario_fixtures  # noqa: E402
from tests.awx_jobs import job_template_test  # noqa: E402

CLIENT = "hastack-mol-aa-client"
ADDRESS = {"hastack-mol-aa1": "10.213.31.11", "hastack-mol-aa2": "10.213.31.12"}
HALVES = {"hastack-mol-aa1": (100, 149), "hastack-mol-aa2": (150, 199)}
ADDRESS6 = {"hastack-mol-aa1": "fd00:213:31::11", "hastack-mol-aa2": "fd00:213:31::12"}
HALVES6 = {"hastack-mol-aa1": (0x1000, 0x107f), "hastack-mol-aa2": (0x1080, 0x10ff)}


lab, nodes, dhcp = scenario_fixtures(SCENARIO / "inventory.yml", "dnsmasq_active_active", CLIENT)


def in_half(address, node):
    if ":" in address:  # a DHCPv6 lease
        low, high = HALVES6[node]
        return low <= int(address.rsplit(":", 1)[1], 16) <= high
    low, high = HALVES[node]
    return low <= int(address.rsplit(".", 1)[1]) <= high


# idempotence, as AWX runs the variant (in place of Molecule's idempotence step)
test_the_awx_job_template_runs_and_changes_nothing = job_template_test(
    "dnsmasq_active_active", SCENARIO / "inventory.yml")


def test_no_vip_and_no_keepalived(lab, nodes):
    for node in nodes:
        assert lab.run(node, "systemctl is-active keepalived").stdout.strip() != "active"


def test_both_nodes_answer_dns(lab, nodes):
    for node in nodes:
        assert dig(lab, CLIENT, ADDRESS[node], "www.lab.hastack.internal") == "10.213.31.80", node
        # and on their own IPv6 addresses, A and AAAA
        assert dig(lab, CLIENT, ADDRESS6[node], "www.lab.hastack.internal") == "10.213.31.80", node
        assert dig(lab, CLIENT, ADDRESS6[node], "www.lab.hastack.internal", "AAAA") == "fd00:213:31::80", node


@pytest.mark.parametrize("alone", [0, 1])
def test_each_node_alone_leases_from_its_half_and_hands_out_both_dns_servers(lab, nodes, dhcp, alone):
    node, other = nodes[alone], nodes[1 - alone]
    lab.check(other, "systemctl stop dnsmasq")
    try:
        lease = dhcp.lease()
        lease6 = dhcp.lease6()
    finally:
        lab.check(other, "systemctl start dnsmasq")
    assert lease["dhcp-server-identifier"] == ADDRESS[node], lease
    assert in_half(lease6["address"], node), lease6
    assert lease6["name-servers"] == ",".join(ADDRESS6.values()), lease6
    assert in_half(lease["address"], node), lease
    assert lease["domain-name-servers"] == "10.213.31.11,10.213.31.12"
    assert lease["routers"] == "10.213.31.254"


def test_dns_keeps_working_on_the_other_node_when_one_dies(lab, nodes):
    lab.check(nodes[0], "systemctl stop dnsmasq")
    try:
        assert dig(lab, CLIENT, ADDRESS[nodes[1]], "www.lab.hastack.internal") == "10.213.31.80"
        assert dig(lab, CLIENT, ADDRESS6[nodes[1]], "www.lab.hastack.internal", "AAAA") == "fd00:213:31::80"
    finally:
        lab.check(nodes[0], "systemctl start dnsmasq")


def test_the_leases_are_disjoint_and_in_each_nodes_half(lab, nodes):
    leases = {node: leased_addresses(lab, node) for node in nodes}
    assert all(leases.values()), leases
    assert all(any(":" in address for address in leases[node]) for node in nodes), leases
    assert not leases[nodes[0]] & leases[nodes[1]], leases
    for node in nodes:
        assert all(in_half(address, node) for address in leases[node]), (node, leases[node])


POOL = {"subnet": "10.213.31.0/24", "start": "10.213.31.100", "end": "10.213.31.199"}


@pytest.mark.parametrize("extra,named", [
    ({"dnsmasq_dhcp_pools": [POOL, dict(POOL, start="10.213.31.150", end="10.213.31.220")]}, "overlaps"),
    ({"dnsmasq_dhcp_hosts": [{"mac": "02:00:00:00:00:01", "ip": "10.213.31.120"}]},
     "dnsmasq_dhcp_hosts[0].ip: 10.213.31.120 is inside the dynamic range 10.213.31.100-10.213.31.149 of hastack-mol-aa1"),
    ({"dnsmasq_dhcp_pools": [dict(POOL, split=False)]}, "dnsmasq_dhcp_pools[0].split"),
    ({"dnsmasq_dhcp_pools": [POOL, {"subnet": "fd00:213:31::/64", "start": "fd00:213:31::1000",
                                    "end": "fd00:213:31::1"}]},
     "dnsmasq_dhcp_pools[1]: start fd00:213:31::1000 is after end"),
    ({"dnsmasq_dhcp_hosts": [{"mac": "02:00:00:00:00:01", "ip": "fd00:213:31::20"}]},
     "dnsmasq_dhcp_hosts[0].ip: fd00:213:31::20 is IPv6"),
], ids=["overlapping pools", "reservation in a dynamic range", "unsplit pool on two servers",
        "IPv6 pool ending before its start", "IPv6 reservation"])
def test_bad_input_stops_the_play_before_any_host_is_touched(lab, nodes, extra, named):
    assert_rejected_before_any_change(lab, SCENARIO / "converge.yml", nodes, extra, named,
                                      "/etc/dnsmasq.d/hastack.conf")
