"""LVS-DR on a real IPVS kernel, reduced for every CI run: one keepalived director, two
BIND real servers with the VIPs on lo, queried from a client VM over IPv4 and IPv6.
Director failover and the drill are in the full suite (molecule/dns_lb_lvs_dr)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.lvs_dr_checks import (  # noqa: E402
    assert_dead_server_leaves_the_pools,
    lvs_dr_fixtures,
    real_server_maintenance,
)

VIP = "10.213.57.100"
VIP6 = "fd00:213:57::100"
DIRECTOR = "hastack-vm-lvsr-d1"
REAL_SERVERS = {"hastack-vm-lvsr-rs1": "10.213.57.21", "hastack-vm-lvsr-rs2": "10.213.57.22"}
REAL_SERVERS6 = {"hastack-vm-lvsr-rs1": "fd00:213:57::21", "hastack-vm-lvsr-rs2": "fd00:213:57::22"}
CLIENT = "hastack-vm-lvsr-client"
NAME = "www.abc.local"
ANSWERS = {"1.2.3.4", "1.2.3.5"}
ANSWERS6 = {"fd00:abc::4", "fd00:abc::5"}


lab, lvs, lvs6 = lvs_dr_fixtures(SCENARIO / "inventory.yml", VIP, CLIENT, NAME, REAL_SERVERS, VIP6, REAL_SERVERS6)


def test_the_director_holds_the_vips_and_the_real_servers_hold_them_on_lo(lab):
    assert lab.wait_for_holders(VIP, [DIRECTOR], [DIRECTOR]) == [DIRECTOR]
    assert lab.wait_for_holders(VIP6, [DIRECTOR], [DIRECTOR]) == [DIRECTOR]
    assert f"{VIP}/" in lab.check(DIRECTOR, "ip -4 -o addr show dev eth0")
    assert f"{VIP6}/64" in lab.check(DIRECTOR, "ip -6 -o addr show dev eth0")
    for server in REAL_SERVERS:
        assert f"{VIP}/32" in lab.check(server, "ip -4 -o addr show dev lo")
        assert VIP not in lab.check(server, "ip -4 -o addr show dev eth0")
        assert f"{VIP6}/128" in lab.check(server, "ip -6 -o addr show dev lo")
        assert VIP6 not in lab.check(server, "ip -6 -o addr show dev eth0")


def test_the_director_loads_ip_vs_at_boot_and_drops_entries_of_removed_servers(lab):
    assert lab.check(DIRECTOR, "cat /etc/modules-load.d/ip_vs.conf").split() == ["ip_vs"]
    assert lab.check(DIRECTOR, "sysctl -n net.ipv4.vs.expire_nodest_conn").strip() == "1"


def test_ipvs_holds_both_real_servers_of_each_family_with_direct_routing(lab, lvs, lvs6):
    assert lvs.pool(DIRECTOR) == lvs.full_pool()
    assert lvs6.pool(DIRECTOR) == lvs6.full_pool()
    routes = [line.split()[2] for line in lab.check(DIRECTOR, "ipvsadm -Ln").splitlines()
              if line.split()[:1] == ["->"] and line.split()[1] != "RemoteAddress:Port"]
    assert len(routes) == 8 and set(routes) == {"Route"}, routes


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_queries_through_the_vip_alternate_between_the_real_servers(lvs, tcp):
    lvs.assert_alternating(ANSWERS, tcp)


@pytest.mark.parametrize("qtype,answers", [("A", ANSWERS), ("AAAA", ANSWERS6)], ids=["A", "AAAA"])
@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_queries_through_the_ipv6_vip_alternate_between_the_real_servers(lvs6, tcp, qtype, answers):
    lvs6.assert_alternating(answers, tcp, qtype=qtype)


def test_only_the_director_answers_neighbour_solicitations_for_the_ipv6_vip(lab, lvs6):
    """The real servers hold the IPv6 VIP on lo and answer no solicitation for it (Linux
    answers one only for an address of the interface it came in on), so the client's
    neighbour entry for the VIP is the director's and the director alone forwards."""
    director_mac = lab.check(DIRECTOR, "cat /sys/class/net/eth0/address").strip().lower()
    assert lvs6.neighbour_advertisers() == [director_mac]
    # each real server still answers for its own address on eth0
    for server, address in REAL_SERVERS6.items():
        mac = lab.check(server, "cat /sys/class/net/eth0/address").strip().lower()
        assert lvs6.neighbour_advertisers(address) == [mac], server


def test_a_stopped_dns_server_leaves_the_pools_and_no_query_fails(lvs, lvs6):
    assert_dead_server_leaves_the_pools(DIRECTOR, "hastack-vm-lvsr-rs2", {lvs: "1.2.3.4", lvs6: "1.2.3.4"})


def test_maintenance_of_a_real_server_takes_it_out_of_every_pool_first(lvs, lvs6, capsys):
    real_server_maintenance(DIRECTOR, "hastack-vm-lvsr-rs2", "rs2", lvs, lvs6, capsys)


def test_a_drained_real_server_stays_out_through_a_keepalived_reload_until_restored(lab, lvs, lvs6):
    """Drained by hand (maintenance_action=drain), the real server stays out of every pool
    when keepalived reloads (its drain file, not the config, keeps it out), and is back
    after maintenance_action=restore."""
    drain = {"maintenance_group": "dns_lb_lvs_dr_backends", "maintenance_node": "hastack-vm-lvsr-rs2"}
    maintenance = SCENARIO.parent.parent / "playbooks/maintenance.yml"
    drained = lab.playbook(maintenance, "-e", json.dumps(dict(drain, maintenance_action="drain")), timeout=900)
    assert drained.returncode == 0, drained.stdout[-3000:]
    try:
        lab.check(DIRECTOR, "systemctl reload keepalived")
        for vip in (lvs, lvs6):
            vip.assert_left(DIRECTOR, "hastack-vm-lvsr-rs2", "1.2.3.4")  # an A query, through either VIP
    finally:
        restored = lab.playbook(maintenance, "-e", json.dumps(dict(drain, maintenance_action="restore")), timeout=900)
        assert restored.returncode == 0, restored.stdout[-3000:]
    for vip in (lvs, lvs6):
        vip.assert_back(DIRECTOR, "hastack-vm-lvsr-rs2")
