"""LVS-DR on VMs with a real IPVS kernel: two keepalived directors, two BIND real servers
with the VIPs on lo, queried from a client VM (never from a director: DR's loopback) over
IPv4 and IPv6."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.labkit import run_drill  # noqa: E402
from tests.lvs_dr_checks import assert_dead_server_leaves_the_pools, lvs_dr_fixtures  # noqa: E402

VIP = "10.213.56.100"
VIP6 = "fd00:213:56::100"
DIRECTORS = ["hastack-vm-lvs-d1", "hastack-vm-lvs-d2"]
REAL_SERVERS = {"hastack-vm-lvs-rs1": "10.213.56.21", "hastack-vm-lvs-rs2": "10.213.56.22"}
REAL_SERVERS6 = {"hastack-vm-lvs-rs1": "fd00:213:56::21", "hastack-vm-lvs-rs2": "fd00:213:56::22"}
CLIENT = "hastack-vm-lvs-client"
NAME = "www.abc.local"
ANSWERS = {"1.2.3.4", "1.2.3.5"}
ANSWERS6 = {"fd00:abc::4", "fd00:abc::5"}


lab, lvs, lvs6 = lvs_dr_fixtures(SCENARIO / "inventory.yml", VIP, CLIENT, NAME, REAL_SERVERS, VIP6, REAL_SERVERS6)


def test_the_vips_are_on_the_first_director_only(lab):
    assert lab.wait_for_holders(VIP, DIRECTORS, [DIRECTORS[0]]) == [DIRECTORS[0]]
    assert lab.wait_for_holders(VIP6, DIRECTORS, [DIRECTORS[0]]) == [DIRECTORS[0]]
    # the real servers hold them on lo only
    for server in REAL_SERVERS:
        assert f"{VIP}/32" in lab.check(server, "ip -4 -o addr show dev lo")
        assert f"{VIP6}/128" in lab.check(server, "ip -6 -o addr show dev lo")


def test_both_directors_hold_both_real_servers_in_ipvs(lab, lvs, lvs6):
    for director in DIRECTORS:
        assert lvs.pool(director) == lvs.full_pool()
        assert lvs6.pool(director) == lvs6.full_pool()
    assert "Route" in lab.check(DIRECTORS[0], "ipvsadm -Ln")  # direct routing


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_queries_through_the_vip_alternate_between_the_real_servers(lvs, tcp):
    lvs.assert_alternating(ANSWERS, tcp)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_aaaa_queries_through_the_ipv6_vip_alternate_between_the_real_servers(lvs6, tcp):
    lvs6.assert_alternating(ANSWERS6, tcp, qtype="AAAA")


def test_a_stopped_dns_server_leaves_the_pools_and_no_query_fails(lvs, lvs6):
    assert_dead_server_leaves_the_pools(DIRECTORS[0], "hastack-vm-lvs-rs2", {lvs: "1.2.3.4", lvs6: "1.2.3.4"})


def test_stopping_keepalived_on_the_master_hands_over_the_vips_and_the_service(lab, lvs, lvs6):
    master, backup = DIRECTORS
    lab.check(master, "systemctl stop keepalived")
    try:
        for vip in (VIP, VIP6):
            assert lab.wait_for_holders(vip, DIRECTORS, [backup], timeout=10) == [backup], vip
        assert lvs.pool(backup) == lvs.full_pool() and lvs6.pool(backup) == lvs6.full_pool()
        assert set(lvs.answers(4, False) + lvs.answers(4, True)) == ANSWERS
        assert set(lvs6.answers(4, False, "AAAA") + lvs6.answers(4, True, "AAAA")) == ANSWERS6
    finally:
        lab.check(master, "systemctl start keepalived")
    for vip in (VIP, VIP6):
        assert lab.wait_for_holders(vip, DIRECTORS, [master], timeout=20) == [master], vip


def test_the_failover_drill(lab, capsys):
    # no link method here: the drill reaches the VMs over that same link
    methods = ["keepalived", "priority"]
    extra = {"drill_group": "dns_lb_lvs_dr", "drill_query_name": NAME, "drill_methods": methods}
    tables = run_drill(lab, "dns_lb_lvs_dr", extra, capsys)
    for table, rows in tables.items():
        assert [row[1] for row in rows] == methods, (table, rows)
        for _instance, _method, sent, unanswered, _outage, holder in rows:
            assert int(sent) > 20 and int(unanswered) < int(sent) and holder == DIRECTORS[1], (table, rows)
    for vip in (VIP, VIP6):
        assert lab.wait_for_holders(vip, DIRECTORS, [DIRECTORS[0]], timeout=20) == [DIRECTORS[0]], vip
