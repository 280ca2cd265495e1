"""Pairs of two Debian releases, as during a move from Debian 12 to 13 one node at a time:
in each pair the first node runs bookworm and the second trixie. What works mixed is shown
working here (VRRP between keepalived 2.2.7 and 2.3.3 in front of dnsdist 1.7 and 2.1 with
BIND 9.18 and 9.20 behind one VIP; Kea 2.2 and Kea 2.6 in one hot-standby HA relationship, Kea 2.2
as primary; two ISC dhcpd 4.4.3 failover peers), with a failover each way, what is refused (Kea
2.2 with 2.6 in load-balancing, or with 2.6 as primary), and a rolling
package upgrade of the mixed pair through playbooks/maintenance.yml with a client querying
all along."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.labkit import (  # noqa: E402
    DhcpClients,
    DnsProbe,
    KeaPair,
    Lab,
    asking_for_leases,
    assert_rejected_before_any_change,
    dhcpd_failover_state,
    dig,
    lease_figures,
    poll,
    probe_figures,
    recap_changes,
    upgrade_repo,
)

REPO = SCENARIO.parent.parent
VIP, VIP6 = "10.213.61.100", "fd00:213:61::100"
WWW, WWW6 = "10.213.61.80", "fd00:213:61::80"
LB1, LB2 = "hastack-mol-mix-lb1", "hastack-mol-mix-lb2"
KEA1, KEA2 = "hastack-mol-mix-kea1", "hastack-mol-mix-kea2"
DH1, DH2 = "hastack-mol-mix-dh1", "hastack-mol-mix-dh2"
CLIENT = "hastack-mol-mix-client"
OMAPI_KEY = "bGFiLW9ubHktb21hcGkta2V5LWZvci1oYXN0YWNrLWRoY3A="
PAIRS = {"dns_lb_dnsdist": (LB1, LB2), "dns_lb_dnsdist_backends": ("hastack-mol-mix-be1", "hastack-mol-mix-be2"),
         "kea_ha": (KEA1, KEA2), "dhcpd_failover": (DH1, DH2)}


MAINTENANCE = REPO / "playbooks/maintenance.yml"
BE1, BE2 = PAIRS["dns_lb_dnsdist_backends"]
LIVE = {BE1: "10.213.61.81", BE2: "10.213.61.82"}  # live.abc.local, TTL 0: each query reaches a backend


def backend_maintenance(lab, node, **extra):
    return lab.playbook(MAINTENANCE, "-e", json.dumps(
        {"maintenance_group": "dns_lb_dnsdist_backends", "maintenance_node": node, **extra}))


def live_answers(lab, count=8):
    """Answers to live.abc.local through the VIP ('' for a query not answered within 1 s)."""
    return [lab.run(CLIENT, f"dig +time=1 +tries=1 +short @{VIP} live.abc.local").stdout.strip()
            for _ in range(count)]


@pytest.fixture(scope="module")
def lab():
    return Lab(SCENARIO / "inventory.yml")


@pytest.fixture(scope="module")
def kea(lab):
    return KeaPair(lab, CLIENT, {KEA1: "10.213.61.41", KEA2: "10.213.61.42"})


def version(lab: Lab, host: str, package: str) -> str:
    return lab.check(host, f"dpkg-query -W -f '${{Version}}' {package}")


def test_each_pair_runs_two_releases(lab):
    for group, (first, second) in PAIRS.items():
        releases = [lab.check(host, "cut -d. -f1 /etc/debian_version").strip() for host in (first, second)]
        assert releases == ["12", "13"], (group, releases)
    # the software whose versions differ between the two nodes of a pair
    assert version(lab, LB1, "keepalived").startswith("1:2.2.7") and version(lab, LB2, "keepalived").startswith("1:2.3.")
    assert version(lab, KEA1, "kea-dhcp4-server").startswith("2.2.") \
        and version(lab, KEA2, "kea-dhcp4-server").startswith("2.6.")


def test_a_second_run_changes_nothing(lab):
    result = lab.playbook(REPO / "playbooks/site.yml", timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:]
    changes = recap_changes(result.stdout)
    assert len(changes) == 8 and set(changes.values()) == {0}, changes


def test_vrrp_between_keepalived_2_2_and_2_3_fails_over_each_way(lab):
    nodes = [LB1, LB2]
    for vip in (VIP, VIP6):
        assert lab.holders(vip, nodes) == [LB1], vip
    assert dig(lab, CLIENT, VIP, "www.abc.local") == WWW
    assert dig(lab, CLIENT, VIP6, "www.abc.local", "AAAA") == WWW6
    # the Debian 13 node takes both VIPs from the Debian 12 node, and gives them back
    lab.check(LB1, "systemctl stop keepalived")
    try:
        for vip in (VIP, VIP6):
            assert lab.wait_for_holders(vip, nodes, [LB2], timeout=10) == [LB2], vip
        assert dig(lab, CLIENT, VIP, "www.abc.local") == WWW
    finally:
        lab.check(LB1, "systemctl start keepalived")
    for vip in (VIP, VIP6):
        assert lab.wait_for_holders(vip, nodes, [LB1], timeout=20) == [LB1], vip
    # and the other way: the Debian 12 node serves while the Debian 13 node is away
    lab.check(LB2, "systemctl stop keepalived")
    try:
        assert lab.holders(VIP, nodes) == [LB1]
        assert dig(lab, CLIENT, VIP6, "www.abc.local", "AAAA") == WWW6
    finally:
        lab.check(LB2, "systemctl start keepalived")


def test_bind_9_18_and_9_20_behind_one_vip_give_the_same_answers(lab):
    answers = {backend: (dig(lab, CLIENT, address, "www.abc.local"),
                         dig(lab, CLIENT, address, "www.abc.local", "AAAA"))
               for backend, address in (("be1", "10.213.61.21"), ("be2", "10.213.61.22"))}
    assert answers == {"be1": (WWW, WWW6), "be2": (WWW, WWW6)}, answers
    # each backend alone behind the VIP (dnsdist's health checks take the stopped one out):
    # live.abc.local is never cached, so each answer names the backend that gave it
    for stopped, serving in ((BE1, BE2), (BE2, BE1)):
        lab.check(stopped, "systemctl stop named")
        try:
            seen = poll(lambda: live_answers(lab, 6), lambda out: out == [LIVE[serving]] * 6, timeout=20, interval=1)
            assert seen == [LIVE[serving]] * 6, (stopped, seen)
        finally:
            lab.check(stopped, "systemctl start named")
        seen = poll(lambda: set(live_answers(lab)), lambda out: out == set(LIVE.values()), timeout=20, interval=1)
        assert seen == set(LIVE.values()), (stopped, seen)


def test_kea_2_2_and_2_6_hold_one_ha_relationship(lab, kea):
    assert kea.wait_for_states({KEA1: "hot-standby", KEA2: "hot-standby"}, timeout=30) == \
        {KEA1: "hot-standby", KEA2: "hot-standby"}
    dhcp = DhcpClients(lab, CLIENT)
    client = dhcp.client()
    try:
        lease = client.obtain()
        address = lease["address"]
        assert lease["dhcp-server-identifier"] == "10.213.61.41", lease  # the primary (Kea 2.2) answers
        # the lease update went from Kea 2.2 to Kea 2.6
        held = poll(lambda: kea.leases(KEA2), lambda leases: address in leases, timeout=10, interval=0.5)
        assert held.get(address) == client.mac, held
        # the Debian 13 standby takes over and renews the same address
        lab.check(KEA1, "systemctl stop kea-dhcp4-server")
        try:
            assert kea.wait_for_states({KEA2: "partner-down"}, timeout=30) == {KEA2: "partner-down"}
            renewed = client.renew()
            assert renewed["address"] == address and renewed["dhcp-server-identifier"] == "10.213.61.42", renewed
        finally:
            lab.check(KEA1, "systemctl start kea-dhcp4-server")
        # the primary syncs the leases back from the standby and both return to hot-standby
        assert kea.wait_for_states({KEA1: "hot-standby", KEA2: "hot-standby"}, timeout=90) == \
            {KEA1: "hot-standby", KEA2: "hot-standby"}
        assert kea.leases(KEA1).get(address) == client.mac
    finally:
        client.remove()


def test_dhcpd_peers_of_two_releases_reach_normal_and_serve(lab):
    def states():
        return {node: (s["local_state"], s["partner_state"])
                for node in (DH1, DH2) for s in [dhcpd_failover_state(lab, node, "dhcp", OMAPI_KEY)]}

    normal = {DH1: ("normal", "normal"), DH2: ("normal", "normal")}
    assert poll(states, lambda seen: seen == normal, timeout=60, interval=2) == normal
    lease = DhcpClients(lab, CLIENT, parent="eth1").lease()
    assert lease["address"].startswith("10.213.62.1"), lease
    assert lease["dhcp-server-identifier"] in ("10.213.62.11", "10.213.62.12"), lease


def test_a_mix_not_listed_as_tested_is_refused_before_any_host_is_touched(lab):
    # with no mix allowed (hastack_release_mixes: []), the pair is refused by name
    assert_rejected_before_any_change(
        lab, REPO / "playbooks/kea_ha.yml", [KEA1, KEA2], {"hastack_release_mixes": []},
        named=f"kea_ha: its nodes run Debian 12 on {KEA1}; Debian 13 on {KEA2}, a mix of releases not tested "
              f"together (tested: none)",
        files="/etc/kea/kea-dhcp4.conf /etc/kea/kea-ctrl-agent.conf")
    # the load balancer variant stops at its first play, the backends' (nothing changed anywhere)
    assert_rejected_before_any_change(
        lab, REPO / "playbooks/dns_lb_dnsdist.yml", [LB1, LB2], {"hastack_release_mixes": []},
        named="dns_lb_dnsdist_backends: its nodes run Debian 12 on hastack-mol-mix-be1; Debian 13 on "
              "hastack-mol-mix-be2",
        files="/etc/keepalived/keepalived.conf /etc/dnsdist/dnsdist.conf")


def test_kea_2_2_and_2_6_are_refused_where_they_do_not_work_together(lab):
    """Measured here: when Kea 2.2 syncs its leases (each start or reload), Kea 2.6 keeps the
    sync's dhcp-disable (status-get: disabled-by-remote-command [2000]) until its 60 s limit,
    while both report the normal state. In load-balancing half the clients got no lease for
    that minute; with Kea 2.6 as the hot-standby primary, none did. So the mixed pair runs
    hot-standby with the Kea 2.2 server as primary, and the role refuses the rest by name."""
    why = "after Kea 2.2 syncs its leases (at each start or reload), the newer server answers no client for up to 60 s"
    assert_rejected_before_any_change(
        lab, REPO / "playbooks/kea_ha.yml", [KEA1, KEA2], {"kea_ha_mode": "load-balancing"},
        named=f"kea_ha_mode: load-balancing is refused for a pair of two Kea releases (Kea 2.2 on {KEA1} and "
              f"Kea 2.6 on {KEA2}): {why}",
        files="/etc/kea/kea-dhcp4.conf /etc/kea/kea-ctrl-agent.conf")
    assert_rejected_before_any_change(
        lab, REPO / "playbooks/kea_ha.yml", [KEA1, KEA2], {"kea_ha_primary": KEA2},
        named=f"kea_ha_primary: the primary of a pair of two Kea releases (Kea 2.6 on {KEA2} and Kea 2.2 on "
              f"{KEA1}) must be the older one, {KEA1} (got {KEA2}): {why}",
        files="/etc/kea/kea-dhcp4.conf /etc/kea/kea-ctrl-agent.conf")


def test_a_rolling_upgrade_of_the_pair_loses_no_query(lab, capsys):
    """maintenance_node=all, work upgrade: each node in turn is drained, upgraded with apt from
    its own sources (here a local repository of keepalived and dnsdist rebuilt at a higher
    version: their maintainer scripts restart both daemons) and restored, the backup's
    upgrade only after the master is back. A client queries both VIPs all along."""
    nodes = [LB1, LB2]
    with upgrade_repo(lab, nodes, ["keepalived", "dnsdist"]) as versions:
        probes = {vip: DnsProbe(lab, CLIENT, vip, "www.abc.local", duration_s=300) for vip in (VIP, VIP6)}
        result = lab.playbook(REPO / "playbooks/maintenance.yml", "-e", json.dumps(
            {"maintenance_group": "dns_lb_dnsdist", "maintenance_node": "all", "maintenance_work": ["upgrade"]}))
        assert all(probe.running() for probe in probes.values()), \
            "the upgrade outlasted the probe's window: raise duration_s"
        figures = probe_figures(probes, "ROLLING-UPGRADE", capsys)
        assert result.returncode == 0, result.stdout[-3000:]
        for node in nodes:
            for package, version in versions[node].items():
                assert lab.check(node, f"dpkg-query -W -f '${{Version}}' {package}") == version, (node, package)
            assert lab.check(node, "systemctl is-active keepalived dnsdist").split() == ["active", "active"]
        # one node at a time, the master first (inventory order), each back before the next
        stages = re.findall(r"MAINTENANCE (\S+) (drained|restored) ", result.stdout)
        assert list(dict.fromkeys(stages)) == [(LB1, "drained"), (LB1, "restored"), (LB2, "drained"),
                                               (LB2, "restored")], result.stdout[-3000:]
        for vip in (VIP, VIP6):
            assert lab.holders(vip, nodes) == [LB1], vip
        # the goal is 0; one query may be in flight when the VIP changes hands (twice: away
        # from the master and back); more is a regression
        for vip, got in figures.items():
            assert got["sent"] > 200 and got["unanswered"] <= 2, (vip, got)


def test_a_drained_backend_gets_no_query_and_the_last_one_is_not_drained(lab):
    assert set(live_answers(lab)) == set(LIVE.values())  # round robin over both
    result = backend_maintenance(lab, BE1, maintenance_action="drain")
    assert result.returncode == 0, result.stdout[-3000:]
    try:
        for lb in (LB1, LB2):
            assert f"MAINTENANCE {BE1} drained {lb} dns be1 down 0" in result.stdout, result.stdout[-3000:]
        assert set(live_answers(lab)) == {LIVE[BE2]}
        # be2 is now the last backend up on both balancers: refused, by name, nothing changed
        refused = backend_maintenance(lab, BE2, maintenance_action="drain")
        assert refused.returncode != 0
        assert f"maintenance_node: {BE2} (be2) is the last backend up in a pool of {LB1}, {LB2}" in refused.stdout, \
            refused.stdout[-3000:]
        assert set(live_answers(lab)) == {LIVE[BE2]}
    finally:
        restored = backend_maintenance(lab, BE1, maintenance_action="restore")
    assert restored.returncode == 0, restored.stdout[-3000:]
    assert set(live_answers(lab)) == set(LIVE.values())


def test_maintenance_of_a_backend_loses_no_query(lab, capsys):
    """Drain be1 from both dnsdist nodes (no new queries, none in flight), restart its named as
    the work, put it back under dnsdist's health checks: a client queries live.abc.local
    (never cached) through the VIP all along."""
    probe = DnsProbe(lab, CLIENT, VIP, "live.abc.local", duration_s=300)
    result = backend_maintenance(lab, BE1, maintenance_work=["restart"])
    assert probe.running(), "the maintenance outlasted the probe's window: raise duration_s"
    got = probe_figures({VIP: probe}, "BACKEND-MAINTENANCE", capsys)[VIP]
    assert result.returncode == 0, result.stdout[-3000:]
    for lb in (LB1, LB2):
        assert f"MAINTENANCE {BE1} drained {lb} dns be1 down 0" in result.stdout, result.stdout[-3000:]
        assert re.search(rf"MAINTENANCE {BE1} restored {lb} .*dns be1 up ", result.stdout), result.stdout[-3000:]
    assert set(live_answers(lab)) == set(LIVE.values())
    # a query every 20 ms over the whole cycle (6 to 12 s on 2 cores)
    assert got["sent"] > 200 and got["unanswered"] == 0, got


def test_maintenance_of_the_kea_primary_keeps_clients_served(lab, kea, capsys):
    """Drain the Kea 2.2 primary (its Kea 2.6 partner takes every client: ha-maintenance-start),
    restart its Kea as the work, and restore the pair's hot-standby state; then the same for
    each node in turn without work (the maintenance canceled on a node that stayed up). A
    client asks for a lease (DISCOVER to ACK by broadcast) again and again all along; each
    must get one within 12 s, before a standard client's third transmission (RFC 2131:
    retransmissions after 4 and 8 more seconds); how many needed a retransmission (over 4 s)
    is printed: the goal is none."""
    with asking_for_leases(lab, CLIENT) as tries:
        result = lab.playbook(MAINTENANCE, "-e", json.dumps(
            {"maintenance_group": "kea_ha", "maintenance_node": KEA1, "maintenance_work": ["restart"]}))
        assert result.returncode == 0, result.stdout[-3000:]
        rolling = lab.playbook(MAINTENANCE, "-e", json.dumps(
            {"maintenance_group": "kea_ha", "maintenance_node": "all"}))
    got = lease_figures(tries, "KEA-MAINTENANCE", capsys)
    assert rolling.returncode == 0, rolling.stdout[-3000:]
    for node, partner, run in ((KEA1, KEA2, result), (KEA1, KEA2, rolling), (KEA2, KEA1, rolling)):
        out = " ".join(run.stdout.split())  # the callback folds long lines
        assert f"MAINTENANCE {node} drained {partner} dhcp4 partner-in-maintenance" in out, out[-3000:]
        assert f"MAINTENANCE {node} drained {node} dhcp4 in-maintenance" in out, out[-3000:]
        for server in (KEA1, KEA2):
            assert f"MAINTENANCE {node} restored {server} dhcp4 hot-standby after" in out, out[-3000:]
        with capsys.disabled():  # how each restore went: cancels sent, an outage where they could not end it
            print(re.search(rf"MAINTENANCE {node} restored {node} dhcp4 .*? sent(, then an outage of its .*? server)?",
                            out).group(0))
    assert kea.states() == {KEA1: "hot-standby", KEA2: "hot-standby"}
    # the partner served while the primary was away
    assert "10.213.61.42" in got["servers"], tries
    assert got["leases"] >= 5 and got["unanswered"] == 0, tries
