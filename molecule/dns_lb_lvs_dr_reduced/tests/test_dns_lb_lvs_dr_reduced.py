"""LVS-DR on a real IPVS kernel, reduced for every CI run: one keepalived director, two
BIND real servers with the VIP on lo, queried from a client VM. Director failover and the
drill are in the full suite (molecule/dns_lb_lvs_dr)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.lvs_dr_checks import lvs_dr_fixtures  # noqa: E402

VIP = "10.213.57.100"
DIRECTOR = "hastack-vm-lvsr-d1"
REAL_SERVERS = {"hastack-vm-lvsr-rs1": "10.213.57.21", "hastack-vm-lvsr-rs2": "10.213.57.22"}
CLIENT = "hastack-vm-lvsr-client"
NAME = "www.abc.local"
ANSWERS = {"1.2.3.4", "1.2.3.5"}


lab, lvs = lvs_dr_fixtures(SCENARIO / "inventory.yml", VIP, CLIENT, NAME, REAL_SERVERS)


def test_the_director_holds_the_vip_and_the_real_servers_hold_it_on_lo(lab):
    assert lab.wait_for_holders(VIP, [DIRECTOR], [DIRECTOR]) == [DIRECTOR]
    assert f"{VIP}/" in lab.check(DIRECTOR, "ip -4 -o addr show dev eth0")
    for server in REAL_SERVERS:
        assert f"{VIP}/32" in lab.check(server, "ip -4 -o addr show dev lo")
        assert VIP not in lab.check(server, "ip -4 -o addr show dev eth0")


def test_the_director_loads_ip_vs_at_boot_and_drops_entries_of_removed_servers(lab):
    assert lab.check(DIRECTOR, "cat /etc/modules-load.d/ip_vs.conf").split() == ["ip_vs"]
    assert lab.check(DIRECTOR, "sysctl -n net.ipv4.vs.expire_nodest_conn").strip() == "1"


def test_ipvs_holds_both_real_servers_with_direct_routing(lab, lvs):
    assert lvs.pool(DIRECTOR) == lvs.full_pool()
    routes = [line.split()[2] for line in lab.check(DIRECTOR, "ipvsadm -Ln").splitlines()
              if line.split()[:1] == ["->"] and line.split()[1] != "RemoteAddress:Port"]
    assert routes and set(routes) == {"Route"}, routes


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_queries_through_the_vip_alternate_between_the_real_servers(lvs, tcp):
    lvs.assert_alternating(ANSWERS, tcp)


def test_a_stopped_dns_server_leaves_the_pool_and_no_query_fails(lvs):
    lvs.assert_dead_server_leaves_the_pool(DIRECTOR, "hastack-vm-lvsr-rs2", "1.2.3.4")
