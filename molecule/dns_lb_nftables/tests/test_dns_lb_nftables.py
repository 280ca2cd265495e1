"""nftables DNAT in front of two BIND backends: UDP, TCP, DoT, DoH through the VIP; no health checks."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.awx_jobs import job_template_test  # noqa: E402

# idempotence, as AWX runs the variant (in place of Molecule's idempotence step); first
test_the_awx_job_template_runs_and_changes_nothing = job_template_test(
    "dns_lb_nftables", SCENARIO / "inventory.yml")
from tests.dns_lb_checks import *  # noqa: E402,F401,F403  (the shared tests)
from tests.dns_lb_checks import (  # noqa: E402
    ANSWERS,
    NAME,
    Scenario,
    backend_maintenance,
    drained_through_a_converge,
    pool_rows,
)
from tests.labkit import DnsProbe  # noqa: E402


@pytest.fixture(scope="module")
def scenario():
    return Scenario(SCENARIO, "dns_lb_nftables", udp=True, service=None, balancing_checked=False)


POOLS = ("ipv4", "ipv6")


def assured_flows(scenario, proxy: str, backend: str) -> int:
    """UDP flows through the VIP to `backend` on `proxy` that have gone on for seconds
    (conntrack ASSURED: a probe keeps one socket; a single query's flow never gets there)."""
    out = scenario.lab.check(proxy, f"conntrack -L -p udp -d {scenario.vip} -r {backend}")
    return sum("[ASSURED]" in line for line in out.splitlines())


def pool_map(scenario, proxy: str, family: str) -> list[str]:
    """The backends of a pool's map on a proxy, slot by slot."""
    data = json.loads(scenario.lab.check(proxy, f"nft -j list map {family} hastack_dns_lb backends"))
    return [value for item in data["nftables"] if "map" in item for _, value in item["map"]["elem"]]


def test_maintenance_of_a_backend_moves_its_slots_and_ends_its_flows(scenario, capsys):
    """playbooks/maintenance.yml on a backend: on each node its round-robin slots go to the
    other backend and its UDP flows end, its named restarts as the work, then it is back.
    Conntrack keeps a flow on the backend its first packet went to, so a client that keeps
    its socket (the probe) would stay on the drained backend: probes start until one of them
    is on be2, and none may lose a query."""
    lab, holder, backend = scenario.lab, scenario.proxies[0], scenario.backends[1]
    be2 = scenario.vars["hastack_dns_backends"]["be2"]
    probes = {}
    while not probes or not assured_flows(scenario, holder, be2):
        assert len(probes) < 4, "no probe's flow went to be2 (round robin per new flow)"
        probes[f"{scenario.vip}#{len(probes) + 1}"] = DnsProbe(lab, scenario.client, scenario.vip, NAME,
                                                               duration_s=300)
        deadline = time.monotonic() + 6
        while not assured_flows(scenario, holder, be2) and time.monotonic() < deadline:
            time.sleep(0.5)
    out, figures = backend_maintenance(scenario, capsys, tcp=False, probes=probes)
    for proxy in scenario.proxies:
        assert pool_rows(out, proxy, "drained", backend) == {pool: ("down", "0") for pool in POOLS}, out[-3000:]
        assert {pool: state for pool, (state, _) in pool_rows(out, proxy, "restored", backend).items()} == \
            {pool: "up" for pool in POOLS}, out[-3000:]
        assert lab.check(proxy, "cat /etc/nftables.hastack-dns-lb.drained") == "", proxy
        assert pool_map(scenario, proxy, "ip") == list(scenario.vars["hastack_dns_backends"].values()), proxy
    assert set(scenario.answers(6)) == ANSWERS
    for label, got in figures.items():
        assert got["sent"] > 100 and got["unanswered"] == 0, (label, got)


def test_a_drained_backend_stays_out_through_a_converge_and_a_reload_until_restored(scenario):
    """Drained by hand (maintenance_action=drain), the backend stays out of both pools when
    the variant converges (the converge changes nothing) and when the table is loaded again
    (a restart of hastack-dns-lb: the unit loads it through hastack-dns-lb-pool), gets no
    query, and is back after maintenance_action=restore."""
    be1, be1_6 = scenario.vars["hastack_dns_backends"]["be1"], scenario.vars["hastack_dns_backends6"]["be1"]

    def slots_on_be1(scenario):
        for proxy in scenario.proxies:
            assert pool_map(scenario, proxy, "ip") == [be1, be1], proxy
            assert pool_map(scenario, proxy, "ip6") == [be1_6, be1_6], proxy
        scenario.lab.check(scenario.proxies[0], "systemctl restart hastack-dns-lb")
        assert pool_map(scenario, scenario.proxies[0], "ip") == [be1, be1]
        assert set(scenario.answers(4, server=scenario.vip6, qtype="AAAA")) == {"2001:db8::4"}

    drained_through_a_converge(scenario, slots_on_be1)
