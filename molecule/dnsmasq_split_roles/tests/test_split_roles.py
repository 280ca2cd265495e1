"""dnsmasq split roles on three nodes: the DNS VIP's master is node 1, the DHCP VIP's master
node 2, each the other's first backup, node 3 the last; the failover drill on the group of three."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.labkit import assert_rejected_before_any_change, dig, run_drill, scenario_fixtures  # noqa: E402
from tests.awx_jobs import job_template_test  # noqa: E402

CLIENT = "hastack-mol-sr-client"
DNS_VIP, DHCP_VIP = "10.213.32.100", "10.213.32.101"
DNS_VIP6, DHCP_VIP6 = "fd00:213:32::100", "fd00:213:32::101"
TWIN = {DNS_VIP: DNS_VIP6, DHCP_VIP: DHCP_VIP6}
# each node's part of the pools (filter split_pool: the first parts one address larger)
PARTS = [(150, 166), (167, 183), (184, 199)]
PARTS6 = [(0x1000, 0x1055), (0x1056, 0x10aa), (0x10ab, 0x10ff)]


def part_of(address):
    """The index of the node whose part of the pool holds the leased address."""
    if ":" in address:
        host, parts = int(address.rsplit(":", 1)[1], 16), PARTS6
    else:
        host, parts = int(address.rsplit(".", 1)[1]), PARTS
    return next((index for index, (low, high) in enumerate(parts) if low <= host <= high), None)


lab, nodes, dhcp = scenario_fixtures(SCENARIO / "inventory.yml", "dnsmasq_split_roles", CLIENT)


# idempotence, as AWX runs the variant (in place of Molecule's idempotence step)
test_the_awx_job_template_runs_and_changes_nothing = job_template_test(
    "dnsmasq_split_roles", SCENARIO / "inventory.yml")


def test_each_vip_has_its_own_master(lab, nodes):
    assert lab.holders(DNS_VIP, nodes) == [nodes[0]]
    assert lab.holders(DHCP_VIP, nodes) == [nodes[1]]
    assert lab.holders(DNS_VIP6, nodes) == [nodes[0]]
    assert lab.holders(DHCP_VIP6, nodes) == [nodes[1]]


def test_dns_through_the_dns_vip_and_a_lease(lab, dhcp):
    assert dig(lab, CLIENT, DNS_VIP, "www.lab.hastack.internal") == "10.213.32.80"
    lease = dhcp.lease()
    assert lease["domain-name-servers"] == DNS_VIP
    assert part_of(lease["address"]) is not None, lease


def test_aaaa_and_a_through_the_ipv6_dns_vip_and_a_dhcpv6_lease(lab, dhcp):
    assert dig(lab, CLIENT, DNS_VIP6, "www.lab.hastack.internal", "AAAA") == "fd00:213:32::80"
    assert dig(lab, CLIENT, DNS_VIP6, "www.lab.hastack.internal") == "10.213.32.80"
    lease = dhcp.lease6()
    assert lease["name-servers"] == DNS_VIP6, lease
    assert part_of(lease["address"]) is not None, lease


@pytest.mark.parametrize("dead,vip,survivor", [(1, DHCP_VIP, 0), (0, DNS_VIP, 1)],
                         ids=["DHCP master dies", "DNS master dies"])
def test_each_node_backs_up_the_other(lab, nodes, dhcp, dead, vip, survivor):
    dead_node, survivor_node = nodes[dead], nodes[survivor]
    subprocess.run(["podman", "pause", dead_node], check=True, capture_output=True)
    try:
        assert lab.wait_for_holders(vip, [survivor_node], [survivor_node], timeout=5) == [survivor_node]
        assert lab.wait_for_holders(TWIN[vip], [survivor_node], [survivor_node], timeout=5) == [survivor_node]
        # the survivor now holds all four VIPs and serves both roles
        for address in (DNS_VIP, DHCP_VIP, DNS_VIP6, DHCP_VIP6):
            assert lab.holders(address, [survivor_node]) == [survivor_node], address
        assert dig(lab, CLIENT, DNS_VIP, "www.lab.hastack.internal") == "10.213.32.80"
        assert dig(lab, CLIENT, DNS_VIP6, "www.lab.hastack.internal", "AAAA") == "fd00:213:32::80"
        # every live node serves its part of the pools: not the dead node
        lease = dhcp.lease()
        assert lease["dhcp-server-identifier"] != f"10.213.32.1{dead + 1}", lease
        assert part_of(lease["address"]) not in (None, dead), lease
        lease6 = dhcp.lease6()
        assert part_of(lease6["address"]) not in (None, dead), lease6
    finally:
        subprocess.run(["podman", "unpause", dead_node], check=True, capture_output=True)
    assert lab.wait_for_holders(DNS_VIP, nodes, [nodes[0]]) == [nodes[0]]
    assert lab.wait_for_holders(DHCP_VIP, nodes, [nodes[1]]) == [nodes[1]]
    assert lab.wait_for_holders(DNS_VIP6, nodes, [nodes[0]]) == [nodes[0]]
    assert lab.wait_for_holders(DHCP_VIP6, nodes, [nodes[1]]) == [nodes[1]]


def test_a_master_that_is_not_a_peer_is_refused(lab, nodes):
    # the inventory's own keepalived_instances (here extra vars) win over the derived ones
    instance = {"interface": "eth0", "unicast": True, "track_files": ["dnsmasq_down"]}
    instances = {"VI_DNS": dict(instance, virtual_router_id=32, virtual_ipaddresses=[f"{DNS_VIP}/24"],
                                track_scripts=["chk_dns"]),
                 "VI_DHCP": dict(instance, virtual_router_id=33, virtual_ipaddresses=[f"{DHCP_VIP}/24"],
                                 track_scripts=["chk_dhcp"], master="hastack-mol-nosuch")}
    assert_rejected_before_any_change(lab, SCENARIO / "converge.yml", nodes,
                                      {"keepalived_instances": instances},
                                      "keepalived_instances.VI_DHCP.master", "/etc/keepalived/keepalived.conf")


def test_an_ipv4_dhcp_vip6_is_refused_by_name(lab, nodes):
    assert_rejected_before_any_change(lab, SCENARIO / "converge.yml", nodes,
                                      {"hastack_dhcp_vip6": DHCP_VIP},
                                      "hastack_dhcp_vip6: '10.213.32.101' is not an IPv6 address",
                                      "/etc/dnsmasq.d/hastack.conf /etc/keepalived/keepalived.conf")


def test_the_failover_drill_on_three_nodes(lab, nodes, capsys):
    """Every instance, DNS and DHCP VIP with their IPv6 twins: each VIP lands on the node
    keepalived elects, the other of the first two (priority 140), never the third (130)."""
    extra = {"drill_group": "dnsmasq_split_roles", "drill_methods": ["keepalived", "link"],
             "drill_query_name": "www.lab.hastack.internal", "drill_window_s": 3}
    tables = run_drill(lab, "dnsmasq_split_roles", extra, capsys)
    expected = {"VI_DNS": nodes[1], "VI_DNS6": nodes[1], "VI_DHCP": nodes[0], "VI_DHCP6": nodes[0]}
    drilled = sorted((row[0], row[1]) for row in tables["DRILL"] + tables["DRILL6"])
    assert drilled == sorted((instance, method) for instance in expected for method in extra["drill_methods"])
    for instance, method, sent, unanswered, _outage, holder in tables["DRILL"] + tables["DRILL6"]:
        assert int(sent) > 50 and int(unanswered) < int(sent), (instance, method, sent, unanswered)
        assert holder == expected[instance], (instance, method, holder)
    # back on their masters after the drill
    assert lab.wait_for_holders(DNS_VIP, nodes, [nodes[0]]) == [nodes[0]]
    assert lab.wait_for_holders(DHCP_VIP, nodes, [nodes[1]]) == [nodes[1]]
