"""What the LVS-DR scenarios (full and reduced) check through IPVS on the VM lab: queries
from the client VM (never from a director: DR's loopback problem) and the pools the
directors hold (ipvsadm -Ln)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.labkit import Lab, kdig, poll


class LvsDr:
    def __init__(self, lab: Lab, vip: str, client: str, name: str, real_servers: dict[str, str]):
        self.lab, self.vip, self.client, self.name = lab, vip, client, name
        self.real_servers = real_servers  # host: address

    def query(self, tcp: bool) -> str:
        """The first answer of one query through the VIP, or '' when none came (no retry:
        a lost query counts; 5 s, because the VMs are emulated)."""
        return kdig(self.lab, self.client, self.vip, self.name, "+tcp" if tcp else "+notcp", timeout=5, retry=0)

    def answers(self, count: int, tcp: bool) -> list[str]:
        return [self.query(tcp) for _ in range(count)]

    def pool(self, director: str) -> dict[str, set[str]]:
        """The real servers IPVS holds per virtual service of the VIP ({'UDP': {...}, 'TCP': {...}})."""
        services: dict[str, set[str]] = {}
        current = None
        for line in self.lab.check(director, "ipvsadm -Ln").splitlines():
            fields = line.split()
            if fields and fields[0] in ("UDP", "TCP") and fields[1] == f"{self.vip}:53":
                current = fields[0]
                services[current] = set()
            elif current and fields and fields[0] == "->" and fields[1] != "RemoteAddress:Port":
                services[current].add(fields[1].rsplit(":", 1)[0])
        return services

    def full_pool(self) -> dict[str, set[str]]:
        every = set(self.real_servers.values())
        return {"UDP": every, "TCP": set(every)}

    def assert_alternating(self, answers: set[str], tcp: bool, count: int = 6) -> None:
        seen = self.answers(count, tcp)
        assert set(seen) == answers and all(a != b for a, b in zip(seen, seen[1:])), seen

    def assert_dead_server_leaves_the_pool(self, director: str, dead: str, remaining_answer: str) -> None:
        """Stop named on `dead`: it leaves both pools, every query is answered by the other
        server, and it is back in both pools once named runs again."""
        address = self.real_servers[dead]
        self.lab.check(dead, "systemctl stop named")
        try:
            left = poll(lambda: self.pool(director), lambda p: all(address not in s for s in p.values()),
                        timeout=30, interval=1)
            assert all(address not in servers for servers in left.values()), left
            assert self.answers(6, False) + self.answers(6, True) == [remaining_answer] * 12
        finally:
            self.lab.check(dead, "systemctl start named")
        back = poll(lambda: self.pool(director), lambda p: all(address in s for s in p.values()),
                    timeout=30, interval=1)
        assert all(address in servers for servers in back.values()), back


def lvs_dr_fixtures(inventory: Path, vip: str, client: str, name: str, real_servers: dict[str, str]):
    """The `lab` and `lvs` fixtures of an LVS-DR scenario (assign both in the test module)."""

    @pytest.fixture(scope="module", name="lab")
    def lab_fixture():
        return Lab(inventory)

    @pytest.fixture(scope="module", name="lvs")
    def lvs_fixture(lab):
        return LvsDr(lab, vip, client, name, real_servers)

    return lab_fixture, lvs_fixture
