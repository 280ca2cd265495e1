"""LVS-DR on VMs with a real IPVS kernel: two keepalived directors, two BIND real servers
with the VIP on lo, queried from a client VM (never from a director: DR's loopback)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.labkit import REPO, Lab, poll  # noqa: E402

VIP = "10.213.56.100"
DIRECTORS = ["hastack-vm-lvs-d1", "hastack-vm-lvs-d2"]
REAL_SERVERS = {"hastack-vm-lvs-rs1": "10.213.56.21", "hastack-vm-lvs-rs2": "10.213.56.22"}
CLIENT = "hastack-vm-lvs-client"
NAME = "www.abc.local"
ANSWERS = {"1.2.3.4", "1.2.3.5"}


@pytest.fixture(scope="module")
def lab():
    return Lab(SCENARIO / "inventory.yml")


def query(lab, tcp: bool) -> str:
    result = lab.run(CLIENT, f"kdig +short +timeout=5 +retry=0 {'+tcp' if tcp else '+notcp'} @{VIP} {NAME}")
    lines = [line for line in result.stdout.splitlines() if line and not line.startswith(";;")]
    return lines[0].strip() if result.rc == 0 and lines else ""


def answers(lab, count: int, tcp: bool) -> list[str]:
    return [query(lab, tcp) for _ in range(count)]


def pool(lab, director: str) -> dict[str, set[str]]:
    """The real servers IPVS holds per virtual service on a director ({'UDP': {...}, 'TCP': {...}})."""
    services: dict[str, set[str]] = {}
    current = None
    for line in lab.check(director, "ipvsadm -Ln").splitlines():
        fields = line.split()
        if fields and fields[0] in ("UDP", "TCP") and fields[1] == f"{VIP}:53":
            current = fields[0]
            services[current] = set()
        elif current and fields and fields[0] == "->" and fields[1] != "RemoteAddress:Port":
            services[current].add(fields[1].rsplit(":", 1)[0])
    return services


def test_the_vip_is_on_the_first_director_only(lab):
    assert lab.wait_for_holders(VIP, DIRECTORS, [DIRECTORS[0]]) == [DIRECTORS[0]]
    # the real servers hold it on lo only
    for server in REAL_SERVERS:
        assert f"{VIP}/32" in lab.check(server, "ip -4 -o addr show dev lo")


def test_both_directors_hold_both_real_servers_in_ipvs(lab):
    for director in DIRECTORS:
        assert pool(lab, director) == {"UDP": set(REAL_SERVERS.values()), "TCP": set(REAL_SERVERS.values())}
    assert "Route" in lab.check(DIRECTORS[0], "ipvsadm -Ln")  # direct routing


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_queries_through_the_vip_alternate_between_the_real_servers(lab, tcp):
    seen = answers(lab, 6, tcp)
    assert set(seen) == ANSWERS and all(a != b for a, b in zip(seen, seen[1:])), seen


def test_a_stopped_dns_server_leaves_the_pool_and_no_query_fails(lab):
    dead, address = "hastack-vm-lvs-rs2", REAL_SERVERS["hastack-vm-lvs-rs2"]
    lab.check(dead, "systemctl stop named")
    try:
        left = poll(lambda: pool(lab, DIRECTORS[0]), lambda p: all(address not in s for s in p.values()),
                    timeout=30, interval=1)
        assert all(address not in servers for servers in left.values()), left
        assert answers(lab, 6, False) + answers(lab, 6, True) == ["1.2.3.4"] * 12
    finally:
        lab.check(dead, "systemctl start named")
    back = poll(lambda: pool(lab, DIRECTORS[0]), lambda p: all(address in s for s in p.values()),
                timeout=30, interval=1)
    assert all(address in servers for servers in back.values()), back


def test_stopping_keepalived_on_the_master_hands_over_the_vip_and_the_service(lab):
    master, backup = DIRECTORS
    lab.check(master, "systemctl stop keepalived")
    try:
        assert lab.wait_for_holders(VIP, DIRECTORS, [backup], timeout=10) == [backup]
        assert pool(lab, backup) == {"UDP": set(REAL_SERVERS.values()), "TCP": set(REAL_SERVERS.values())}
        assert set(answers(lab, 4, False) + answers(lab, 4, True)) == ANSWERS
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
    time.sleep(0)
    assert lab.wait_for_holders(VIP, DIRECTORS, [DIRECTORS[0]], timeout=20) == [DIRECTORS[0]]
