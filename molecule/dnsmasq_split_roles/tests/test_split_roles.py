"""dnsmasq split roles: the DNS VIP's master is node 1, the DHCP VIP's master node 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.labkit import assert_rejected_before_any_change, dig, scenario_fixtures  # noqa: E402
from tests.awx_jobs import job_template_test  # noqa: E402

CLIENT = "hastack-mol-sr-client"
DNS_VIP, DHCP_VIP = "10.213.32.100", "10.213.32.101"
DNS_VIP6, DHCP_VIP6 = "fd00:213:32::100", "fd00:213:32::101"
TWIN = {DNS_VIP: DNS_VIP6, DHCP_VIP: DHCP_VIP6}
HALVES6 = [(0x1000, 0x107f), (0x1080, 0x10ff)]


def in_half6(address, index):
    low, high = HALVES6[index]
    return low <= int(address.rsplit(":", 1)[1], 16) <= high


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
    assert 150 <= int(lease["address"].rsplit(".", 1)[1]) <= 199, lease


def test_aaaa_and_a_through_the_ipv6_dns_vip_and_a_dhcpv6_lease(lab, dhcp):
    assert dig(lab, CLIENT, DNS_VIP6, "www.lab.hastack.internal", "AAAA") == "fd00:213:32::80"
    assert dig(lab, CLIENT, DNS_VIP6, "www.lab.hastack.internal") == "10.213.32.80"
    lease = dhcp.lease6()
    assert lease["name-servers"] == DNS_VIP6, lease
    assert in_half6(lease["address"], 0) or in_half6(lease["address"], 1), lease


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
        lease = dhcp.lease()
        assert lease["dhcp-server-identifier"] == f"10.213.32.1{survivor + 1}", lease
        lease6 = dhcp.lease6()
        assert in_half6(lease6["address"], survivor), lease6
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
