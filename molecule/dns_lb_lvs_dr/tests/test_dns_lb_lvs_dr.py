"""LVS-DR on VMs with a real IPVS kernel: two keepalived directors, two BIND real servers
with the VIP on lo, queried from a client VM (never from a director: DR's loopback)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.labkit import REPO  # noqa: E402
from tests.lvs_dr_checks import lvs_dr_fixtures  # noqa: E402

VIP = "10.213.56.100"
DIRECTORS = ["hastack-vm-lvs-d1", "hastack-vm-lvs-d2"]
REAL_SERVERS = {"hastack-vm-lvs-rs1": "10.213.56.21", "hastack-vm-lvs-rs2": "10.213.56.22"}
CLIENT = "hastack-vm-lvs-client"
NAME = "www.abc.local"
ANSWERS = {"1.2.3.4", "1.2.3.5"}


lab, lvs = lvs_dr_fixtures(SCENARIO / "inventory.yml", VIP, CLIENT, NAME, REAL_SERVERS)


def test_the_vip_is_on_the_first_director_only(lab):
    assert lab.wait_for_holders(VIP, DIRECTORS, [DIRECTORS[0]]) == [DIRECTORS[0]]
    # the real servers hold it on lo only
    for server in REAL_SERVERS:
        assert f"{VIP}/32" in lab.check(server, "ip -4 -o addr show dev lo")


def test_both_directors_hold_both_real_servers_in_ipvs(lab, lvs):
    for director in DIRECTORS:
        assert lvs.pool(director) == lvs.full_pool()
    assert "Route" in lab.check(DIRECTORS[0], "ipvsadm -Ln")  # direct routing


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_queries_through_the_vip_alternate_between_the_real_servers(lvs, tcp):
    lvs.assert_alternating(ANSWERS, tcp)


def test_a_stopped_dns_server_leaves_the_pool_and_no_query_fails(lvs):
    lvs.assert_dead_server_leaves_the_pool(DIRECTORS[0], "hastack-vm-lvs-rs2", "1.2.3.4")


def test_stopping_keepalived_on_the_master_hands_over_the_vip_and_the_service(lab, lvs):
    master, backup = DIRECTORS
    lab.check(master, "systemctl stop keepalived")
    try:
        assert lab.wait_for_holders(VIP, DIRECTORS, [backup], timeout=10) == [backup]
        assert lvs.pool(backup) == lvs.full_pool()
        assert set(lvs.answers(4, False) + lvs.answers(4, True)) == ANSWERS
    finally:
        lab.check(master, "systemctl start keepalived")
    assert lab.wait_for_holders(VIP, DIRECTORS, [master], timeout=20) == [master]


def test_the_failover_drill(lab, capsys):
    # no link method here: the drill reaches the VMs over that same link
    methods = ["keepalived", "priority"]
    extra = {"drill_group": "dns_lb_lvs_dr", "drill_query_name": NAME, "drill_methods": methods,
             "drill_service": "keepalived"}
    result = lab.playbook(REPO / "playbooks/failover_drill.yml", "-e", json.dumps(extra))
    rows = [line.strip().strip('"- ').replace("DRILL ", "") for line in result.stdout.splitlines() if "DRILL " in line]
    with capsys.disabled():
        print("\nDRILL dns_lb_lvs_dr\n" + "\n".join(f"DRILL {row}" for row in rows))
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(rows) == len(methods) + 1, rows
    for row in rows[1:]:
        _method, sent, unanswered, _outage, holder = row.split()
        assert int(sent) > 20 and int(unanswered) < int(sent) and holder == DIRECTORS[1], row
    assert lab.wait_for_holders(VIP, DIRECTORS, [DIRECTORS[0]], timeout=20) == [DIRECTORS[0]]
