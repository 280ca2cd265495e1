"""What the LVS-DR scenarios (full and reduced) check through IPVS on the VM lab: queries
from the client VM (never from a director: DR's loopback problem) and the pools the
directors hold (ipvsadm -Ln), for the IPv4 VIP and the IPv6 one."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import pytest

from tests.dns_lb_checks import pool_rows
from tests.labkit import REPO, DnsProbe, Lab, kdig, poll, probe_figures


class LvsDr:
    """One VIP (IPv4 or IPv6) of an LVS-DR lab: its real servers' addresses of that family."""

    def __init__(self, lab: Lab, vip: str, client: str, name: str, real_servers: dict[str, str]):
        self.lab, self.vip, self.client, self.name = lab, vip, client, name
        self.real_servers = real_servers  # host: address
        # ipvsadm -Ln writes an IPv6 address in brackets: [fd00::100]:53
        self.service = f"[{vip}]:53" if ipaddress.ip_address(vip).version == 6 else f"{vip}:53"

    def query(self, tcp: bool, qtype: str = "A") -> str:
        """The first answer of one query through the VIP, or '' when none came (no retry:
        a lost query counts; 5 s, because the VMs are emulated)."""
        return kdig(self.lab, self.client, self.vip, self.name, "+tcp" if tcp else "+notcp", qtype=qtype,
                    timeout=5, retry=0)

    def answers(self, count: int, tcp: bool, qtype: str = "A") -> list[str]:
        return [self.query(tcp, qtype) for _ in range(count)]

    def pool(self, director: str) -> dict[str, set[str]]:
        """The real servers IPVS holds per virtual service of the VIP ({'UDP': {...}, 'TCP': {...}})."""
        services: dict[str, set[str]] = {}
        current = None
        for line in self.lab.check(director, "ipvsadm -Ln").splitlines():
            fields = line.split()
            if fields and fields[0] in ("UDP", "TCP"):
                current = fields[0] if fields[1] == self.service else None
                if current:
                    services[current] = set()
            elif current and fields and fields[0] == "->" and fields[1] != "RemoteAddress:Port":
                services[current].add(fields[1].rsplit(":", 1)[0].strip("[]"))
        return services

    def neighbour_advertisers(self, address: str | None = None) -> list[str]:
        """The MAC addresses that answer the client's neighbour solicitation for the IPv6 VIP
        (or another address; ndisc6 -m: every answer within 1 s, one solicitation; [] when
        none answers)."""
        result = self.lab.run(self.client, f"ndisc6 -m -n -r 1 -w 1000 {address or self.vip} eth0")
        return sorted(mac.lower() for mac in re.findall(r"Target link-layer address:\s+(\S+)", result.stdout))

    def full_pool(self) -> dict[str, set[str]]:
        every = set(self.real_servers.values())
        return {"UDP": every, "TCP": set(every)}

    def assert_alternating(self, answers: set[str], tcp: bool, count: int = 6, qtype: str = "A") -> None:
        seen = self.answers(count, tcp, qtype)
        assert set(seen) == answers and all(a != b for a, b in zip(seen, seen[1:])), seen

    def assert_left(self, director: str, dead: str, remaining_answer: str) -> None:
        """dead's address is out of both pools and every query is answered by the other server."""
        address = self.real_servers[dead]
        left = poll(lambda: self.pool(director), lambda p: all(address not in s for s in p.values()),
                    timeout=30, interval=1)
        assert all(address not in servers for servers in left.values()), left
        assert self.answers(6, False) + self.answers(6, True) == [remaining_answer] * 12

    def assert_back(self, director: str, server: str) -> None:
        address = self.real_servers[server]
        back = poll(lambda: self.pool(director), lambda p: all(address in s for s in p.values()),
                    timeout=30, interval=1)
        assert all(address in servers for servers in back.values()), back


def assert_dead_server_leaves_the_pools(director: str, dead: str, remaining: dict[LvsDr, str]) -> None:
    """Stop named on `dead`: it leaves the UDP and TCP pools of every VIP in `remaining`
    (LvsDr: the answer left), every query is answered by the other server, and it is back
    in every pool once named runs again."""
    lab = next(iter(remaining)).lab
    lab.check(dead, "systemctl stop named")
    try:
        for lvs, answer in remaining.items():
            lvs.assert_left(director, dead, answer)
    finally:
        lab.check(dead, "systemctl start named")
    for lvs in remaining:
        lvs.assert_back(director, dead)


def real_server_maintenance(director: str, server: str, name: str, lvs: LvsDr, lvs6: LvsDr, capsys) -> None:
    """playbooks/maintenance.yml (a cycle, named restarted as the work) on the real server
    `server` (`name` in hastack_dns_backends) while the client queries both VIPs over UDP
    every 50 ms: on the director its weight goes to 0 and its drain file takes it out of
    every virtual server before named restarts, and it is back in every pool after the
    restore. Prints the probes' figures (BACKEND-MAINTENANCE) and asserts none was lost.

    A query counts as lost after 1 s, not the probe's 250 ms: under qemu TCG the client VM's
    own vCPU stalls for up to 300 ms while named restarts on another VM (measured: a
    client loop stalled 295 ms, and every query of 1 800 per VIP answered, the slowest in
    358 ms), so 250 ms timed the emulator, not the director. 1 s is still well under a stub
    resolver's first retry (glibc: 5 s)."""
    lab = lvs.lab
    probes = {vip.vip: DnsProbe(lab, vip.client, vip.vip, vip.name, duration_s=900, interval_ms=50, timeout_ms=1000)
              for vip in (lvs, lvs6)}
    result = lab.playbook(REPO / "playbooks/maintenance.yml", "-e", json.dumps(
        {"maintenance_group": "dns_lb_lvs_dr_backends", "maintenance_node": server, "maintenance_work": ["restart"]}),
        timeout=1500)
    assert all(probe.running() for probe in probes.values()), "the maintenance outlasted the probes: raise duration_s"
    figures = probe_figures(probes, "BACKEND-MAINTENANCE dns_lb_lvs_dr", capsys)
    assert result.returncode == 0, result.stdout[-3000:]
    out = re.sub(r"\s+", " ", result.stdout)
    pools = [f"{proto}-{vip.service}" for vip in (lvs, lvs6) for proto in ("tcp", "udp")]
    assert pool_rows(out, director, "drained", server, name) == {pool: ("down", "0") for pool in pools}, out[-3000:]
    assert {pool: state for pool, (state, _) in pool_rows(out, director, "restored", server, name).items()} == \
        {pool: "up" for pool in pools}, out[-3000:]
    assert lab.check(director, f"cat /etc/keepalived/hastack-drained-rs/{name}").strip() == "0"
    for vip in (lvs, lvs6):
        assert vip.pool(director) == vip.full_pool(), vip.vip
    for vip, got in figures.items():
        assert got["sent"] > 100 and got["unanswered"] == 0, (vip, got)


def lvs_dr_fixtures(inventory: Path, vip: str, client: str, name: str, real_servers: dict[str, str],
                    vip6: str, real_servers6: dict[str, str]):
    """The `lab`, `lvs` and `lvs6` fixtures of an LVS-DR scenario (assign all three in the
    test module): lvs for the IPv4 VIP, lvs6 for the IPv6 one."""

    @pytest.fixture(scope="module", name="lab")
    def lab_fixture():
        return Lab(inventory)

    @pytest.fixture(scope="module", name="lvs")
    def lvs_fixture(lab):
        return LvsDr(lab, vip, client, name, real_servers)

    @pytest.fixture(scope="module", name="lvs6")
    def lvs6_fixture(lab):
        return LvsDr(lab, vip6, client, name, real_servers6)

    return lab_fixture, lvs_fixture, lvs6_fixture
