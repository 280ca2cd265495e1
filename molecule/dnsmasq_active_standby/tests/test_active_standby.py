"""dnsmasq active/standby behind a keepalived VIP: DNS on the VIP, split DHCP, failover, drill."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

SCENARIO = Path(__file__).resolve().parent.parent
REPO = SCENARIO.parent.parent
sys.path.insert(0, str(REPO))

from tests.labkit import (  # noqa: E402
    DnsProbe, assert_rejected_before_any_change, cut, dig, run_drill, leased_addresses, main_pid,
    poll, probe_figures, scenario_fixtures)
from tests.awx_jobs import job_template_test  # noqa: E402

VIP, VIP6 = "10.213.30.100", "fd00:213:30::100"
CLIENT = "hastack-mol-as-client"
CONVERGE = SCENARIO / "converge.yml"
HALVES = {"hastack-mol-as1": ("10.213.30.150", "10.213.30.174"),
          "hastack-mol-as2": ("10.213.30.175", "10.213.30.199")}
ADDRESS = {"hastack-mol-as1": "10.213.30.11", "hastack-mol-as2": "10.213.30.12"}
ADDRESS6 = {"hastack-mol-as1": "fd00:213:30::11", "hastack-mol-as2": "fd00:213:30::12"}
HALVES6 = {"hastack-mol-as1": (0x1000, 0x107f), "hastack-mol-as2": (0x1080, 0x10ff)}


lab, nodes, dhcp = scenario_fixtures(SCENARIO / "inventory.yml", "dnsmasq_active_standby", CLIENT)


def last_octet(address):
    return int(address.rsplit(".", 1)[1])


def in_half(address, node):
    if ":" in address:  # a DHCPv6 lease: the pool is fd00:213:30::1000-10ff
        low, high = HALVES6[node]
        return low <= int(address.rsplit(":", 1)[1], 16) <= high
    start, end = HALVES[node]
    return last_octet(start) <= last_octet(address) <= last_octet(end)


def server_of(lease):
    return next(node for node, addr in ADDRESS.items() if addr == lease["dhcp-server-identifier"])


# idempotence, as AWX runs the variant (in place of Molecule's idempotence step)
test_the_awx_job_template_runs_and_changes_nothing = job_template_test(
    "dnsmasq_active_standby", SCENARIO / "inventory.yml")


def test_vip_is_on_the_first_node_only(lab, nodes):
    assert lab.holders(VIP, nodes) == [nodes[0]]
    assert lab.holders(VIP6, nodes) == [nodes[0]]


@pytest.mark.parametrize("name,expected", [
    ("www.lab.hastack.internal", "10.213.30.80"),
    ("files.lab.hastack.internal", "nas.lab.hastack.internal.\n10.213.30.81"),
])
def test_dns_is_answered_through_the_vip(lab, name, expected):
    assert dig(lab, CLIENT, VIP, name) == expected


def test_aaaa_and_ptr_records(lab):
    assert dig(lab, CLIENT, VIP, "nas.lab.hastack.internal", "AAAA") == "fd00:213:30::81"
    assert dig(lab, CLIENT, VIP, "-x 10.213.30.81") == "nas.lab.hastack.internal."


def test_aaaa_and_a_are_answered_through_the_ipv6_vip(lab):
    assert dig(lab, CLIENT, VIP6, "nas.lab.hastack.internal", "AAAA") == "fd00:213:30::81"
    assert dig(lab, CLIENT, VIP6, "www.lab.hastack.internal") == "10.213.30.80"
    assert dig(lab, CLIENT, VIP6, "-x fd00:213:30::81") == "nas.lab.hastack.internal."


def test_both_nodes_serve_the_same_data(lab, nodes):
    for node in nodes:
        assert dig(lab, CLIENT, ADDRESS[node], "www.lab.hastack.internal") == "10.213.30.80"
    hosts = {lab.check(node, "sha256sum /etc/dnsmasq.hastack.hosts").split()[0] for node in nodes}
    assert len(hosts) == 1, "the hosts files differ between the nodes"


def test_dnsmasq_listens_only_on_its_addresses(lab, nodes):
    for node in nodes:
        sockets = lab.check(node, "ss -Hlnu 'sport = :53'")
        bound = sorted(line.split()[3].rsplit(":", 1)[0].strip("[]") for line in sockets.splitlines())
        assert bound == sorted(["127.0.0.1", ADDRESS[node], ADDRESS6[node], VIP, VIP6]), f"{node}: {bound}"


def test_names_that_are_not_local_are_not_resolved(lab):
    """No upstream servers: an outside name gets no answer (and no query leaves the lab)."""
    assert dig(lab, CLIENT, VIP, "example.com") == ""


def test_each_node_serves_only_its_half_of_the_pool(lab, nodes):
    for node in nodes:
        conf = lab.check(node, "cat /etc/dnsmasq.d/hastack.conf")
        start, end = HALVES[node]
        assert f"dhcp-range=set:lan,{start},{end},255.255.255.0,1h" in conf
        low, high = HALVES6[node]
        assert f"dhcp-range=set:lan6,fd00:213:30::{low:x},fd00:213:30::{high:x},64,1h" in conf
        assert f"dhcp-option=tag:lan6,option6:dns-server,[{VIP6}]" in conf
        assert "dhcp-authoritative" not in conf
        assert "enable-ra" not in conf  # no router advertisements from a server that is no router


def test_a_dhcp_client_gets_a_lease_in_its_servers_half(lab, dhcp):
    lease = dhcp.lease()
    node = server_of(lease)
    assert in_half(lease["address"], node), lease
    assert lease["routers"] == "10.213.30.254"
    assert lease["domain-name-servers"] == VIP
    assert lease["domain-name"] == "lab.hastack.internal"


def test_the_first_node_grants_from_its_half_when_it_answers_alone(lab, nodes, dhcp):
    master, backup = nodes
    lab.check(backup, "systemctl stop dnsmasq")
    try:
        lease = dhcp.lease()
        lease6 = dhcp.lease6()
    finally:
        lab.check(backup, "systemctl start dnsmasq")
    assert server_of(lease) == master and in_half(lease["address"], master), lease
    # DHCPv6: a real client (dhclient -6) gets an address of the master's half and the IPv6 VIP as DNS
    assert in_half(lease6["address"], master), lease6
    assert lease6["name-servers"] == VIP6, lease6
    assert lease6["address"] in leased_addresses(lab, master)


def test_health_checks_tell_a_dead_dnsmasq(lab, nodes):
    backup = nodes[1]
    for check in ("dnsmasq-check-dns", "dnsmasq-check-dhcp"):
        lab.check(backup, f"/usr/local/libexec/hastack/{check}")
    lab.check(backup, "systemctl start hastack-dnsmasq-monitor.service")
    lab.check(backup, "systemctl stop dnsmasq")
    try:
        for check in ("dnsmasq-check-dns", "dnsmasq-check-dhcp"):
            assert lab.run(backup, f"/usr/local/libexec/hastack/{check}").rc != 0, check
        assert lab.check(backup, "cat /run/hastack/dnsmasq.down").strip() == "1"
        assert lab.run(backup, "systemctl start hastack-dnsmasq-monitor.service").rc != 0
        assert "ALERT" in lab.check(backup, "journalctl -t dnsmasq-monitor --no-pager -n 5")
    finally:
        lab.check(backup, "systemctl start dnsmasq")
    assert lab.check(backup, "cat /run/hastack/dnsmasq.down").strip() == "0"


def test_systemd_restarts_a_crashed_dnsmasq(lab, nodes):
    backup = nodes[1]
    # earlier tests started dnsmasq by hand: clear the start-rate counter (StartLimitBurst)
    lab.check(backup, "systemctl reset-failed dnsmasq")
    before = lab.check(backup, "systemctl show -p MainPID --value dnsmasq").strip()
    lab.check(backup, "kill -9 " + before)
    deadline = time.monotonic() + 20  # RestartSec=5
    after = before
    while time.monotonic() < deadline and after in (before, "0"):
        time.sleep(0.5)
        after = lab.check(backup, "systemctl show -p MainPID --value dnsmasq").strip()
    assert after not in (before, "0"), "dnsmasq was not restarted"
    assert dig(lab, CLIENT, ADDRESS[backup], "www.lab.hastack.internal") == "10.213.30.80"


def test_stopping_dnsmasq_on_the_master_moves_the_vip_at_once(lab, nodes, dhcp):
    master, backup = nodes
    lab.check(master, "systemctl stop dnsmasq")
    try:
        assert lab.wait_for_holders(VIP, nodes, [backup], timeout=5) == [backup]
        assert lab.wait_for_holders(VIP6, nodes, [backup], timeout=5) == [backup]
        assert dig(lab, CLIENT, VIP, "www.lab.hastack.internal") == "10.213.30.80"
        assert dig(lab, CLIENT, VIP6, "nas.lab.hastack.internal", "AAAA") == "fd00:213:30::81"
        lease = dhcp.lease()
        assert server_of(lease) == backup and in_half(lease["address"], backup), lease
        # DHCPv6 goes on from the other half while the first node's DHCP is down
        lease6 = dhcp.lease6()
        assert in_half(lease6["address"], backup) and lease6["address"] in leased_addresses(lab, backup), lease6
    finally:
        lab.check(master, "systemctl start dnsmasq")
    assert lab.wait_for_holders(VIP, nodes, [master]) == [master]
    assert lab.wait_for_holders(VIP6, nodes, [master]) == [master]


def test_a_dead_master_node_hands_over_dns_and_dhcp(lab, nodes, dhcp):
    master, backup = nodes
    subprocess.run(["podman", "pause", master], check=True, capture_output=True)
    try:
        assert lab.wait_for_holders(VIP, [backup], [backup], timeout=5) == [backup]
        assert lab.wait_for_holders(VIP6, [backup], [backup], timeout=5) == [backup]
        assert dig(lab, CLIENT, VIP, "www.lab.hastack.internal") == "10.213.30.80"
        assert dig(lab, CLIENT, VIP6, "www.lab.hastack.internal") == "10.213.30.80"
        lease = dhcp.lease()
        assert server_of(lease) == backup and in_half(lease["address"], backup), lease
    finally:
        subprocess.run(["podman", "unpause", master], check=True, capture_output=True)
    assert lab.wait_for_holders(VIP, nodes, [master]) == [master]
    assert lab.wait_for_holders(VIP6, nodes, [master]) == [master]


def test_no_address_was_handed_out_by_both_nodes(lab, nodes):
    leases = {node: leased_addresses(lab, node) for node in nodes}
    assert all(leases.values()), f"each node should have granted leases by now: {leases}"
    # DHCPv6 leases too, the first node's kept across its dnsmasq stop and its pause
    assert all(any(":" in address for address in leases[node]) for node in nodes), leases
    assert not leases[nodes[0]] & leases[nodes[1]], leases
    for node in nodes:
        assert all(in_half(address, node) for address in leases[node]), (node, leases[node])


def test_the_failover_drill(lab, capsys):
    tables = run_drill(lab, "dnsmasq_active_standby", {"drill_group": "dnsmasq_active_standby"}, capsys)
    # four methods on the IPv4 VIP, and on the IPv6 VIP when the pair has one
    dual = bool(yaml.safe_load((SCENARIO / "inventory.yml").read_text())["all"]["children"]
                ["dnsmasq_active_standby"]["vars"].get("hastack_dns_vip6"))
    assert [len(tables["DRILL"]), len(tables["DRILL6"])] == [4, 4 if dual else 0], tables
    for instance, method, sent, unanswered, _outage, holder in tables["DRILL"] + tables["DRILL6"]:
        assert instance in ("VI_DNS", "VI_DNS6"), instance
        assert int(sent) > 100 and int(unanswered) < int(sent), (method, sent, unanswered)
        assert holder == "hastack-mol-as2", (method, holder)


def test_a_vrrp_partition_makes_two_masters_and_its_heal_one(lab, nodes, capsys):
    """Drop VRRP between the nodes while the client still reaches both: both take the VIPs
    (split brain), vip_status names it, and after the heal the master by priority alone
    keeps them within a few adverts. The prober shows what the client saw meanwhile."""
    [master] = lab.holders(VIP, nodes)
    probes = {vip: DnsProbe(lab, CLIENT, vip, "www.lab.hastack.internal", duration_s=120) for vip in (VIP, VIP6)}
    with cut(lab, nodes, "meta l4proto vrrp"):
        split = {vip: lab.wait_for_holders(vip, nodes, nodes, timeout=10) for vip in (VIP, VIP6)}
        status = lab.playbook(REPO / "playbooks/vip_status.yml")
    healed = {vip: lab.wait_for_holders(vip, nodes, [master], timeout=10) for vip in (VIP, VIP6)}
    # after the heal every VIP answers the client again: its ARP and neighbour caches follow
    # the master's ARPs and NAs (bounded: 10 runs of vip_status, about 30 s)
    healed_at = time.monotonic()
    status_healed = poll(lambda: lab.playbook(REPO / "playbooks/vip_status.yml"),
                         lambda status: status.returncode == 0, timeout=30, interval=1)
    answered_after_s = time.monotonic() - healed_at
    figures = probe_figures(probes, "PARTITION dnsmasq_active_standby", capsys)
    with capsys.disabled():
        print(f"PARTITION dnsmasq_active_standby vip_status passes {answered_after_s:.1f} s after the heal")
    assert all(sorted(holders) == sorted(nodes) for holders in split.values()), split
    assert status.returncode != 0
    assert f"split brain: VIP {VIP} is held by {' and '.join(nodes)}" in status.stdout, status.stdout[-3000:]
    assert healed == {VIP: [master], VIP6: [master]}, healed
    assert status_healed.returncode == 0, status_healed.stdout[-3000:]
    # a query every 20 ms through the split and the heal (the number depends on how fast they go)
    assert all(f["sent"] > 100 for f in figures.values()), figures


def test_the_quorum_guard_moves_the_vips_off_a_node_cut_from_its_clients(lab, nodes):
    """hastack_vrrp_quorum_address (the client here): the master stops reaching it while VRRP
    between the nodes still flows; its priority drops by 100 and the backup takes the VIPs."""
    [master] = lab.holders(VIP, nodes)
    [backup] = [node for node in nodes if node != master]
    client, client6 = lab.addresses[CLIENT]["lan"], lab.addresses6[CLIENT]["lan"]
    with cut(lab, [master], f"ip saddr {client}", f"ip daddr {client}", f"ip6 saddr {client6}",
             f"ip6 daddr {client6}"):
        moved = {vip: lab.wait_for_holders(vip, nodes, [backup], timeout=15) for vip in (VIP, VIP6)}
        answer = dig(lab, CLIENT, VIP, "www.lab.hastack.internal")
    back = {vip: lab.wait_for_holders(vip, nodes, [master], timeout=15) for vip in (VIP, VIP6)}
    assert moved == {VIP: [backup], VIP6: [backup]}, moved
    assert answer == "10.213.30.80"
    assert back == {VIP: [master], VIP6: [master]}, back


def test_a_host_record_change_is_applied_by_a_reload(lab, nodes):
    pids = {node: lab.check(node, "systemctl show -p MainPID --value dnsmasq").strip() for node in nodes}
    records = {"www.lab.hastack.internal": "10.213.30.80", "new.lab.hastack.internal": "10.213.30.82",
               "nas.lab.hastack.internal": ["10.213.30.81", "fd00:213:30::81"]}
    result = lab.playbook(CONVERGE, "-e", json.dumps({"dnsmasq_host_records": records}))
    try:
        assert result.returncode == 0, result.stdout[-3000:]
        assert dig(lab, CLIENT, VIP, "new.lab.hastack.internal") == "10.213.30.82"
        for node in nodes:
            now = lab.check(node, "systemctl show -p MainPID --value dnsmasq").strip()
            assert now == pids[node], f"{node}: dnsmasq was restarted for a hosts change"
    finally:
        assert lab.playbook(CONVERGE).returncode == 0
    assert dig(lab, CLIENT, VIP, "new.lab.hastack.internal") == ""


def test_a_broken_option_is_rejected_and_dnsmasq_keeps_running(lab, nodes):
    before = {node: lab.check(node, "sha256sum /etc/dnsmasq.d/hastack.conf") for node in nodes}
    result = lab.playbook(CONVERGE, "-e", json.dumps({"dnsmasq_extra_options": ["cache-sise=100"]}))
    assert result.returncode != 0
    assert "bad option" in result.stdout or "unrecognized option" in result.stdout, result.stdout[-2000:]
    for node in nodes:
        assert lab.check(node, "sha256sum /etc/dnsmasq.d/hastack.conf") == before[node]
        assert lab.check(node, "systemctl is-active dnsmasq").strip() == "active"
    assert dig(lab, CLIENT, VIP, "www.lab.hastack.internal") == "10.213.30.80"


POOL = {"subnet": "10.213.30.0/24", "start": "10.213.30.150", "end": "10.213.30.199", "tag": "lan"}
BAD_INPUTS = [
    ("overlapping pools",
     {"dnsmasq_dhcp_pools": [POOL, dict(POOL, start="10.213.30.190", end="10.213.30.210", tag="b")]},
     "dnsmasq_dhcp_pools"),
    ("range outside the subnet", {"dnsmasq_dhcp_pools": [dict(POOL, end="10.213.31.20")]},
     "dnsmasq_dhcp_pools[0].end"),
    ("pool not on the DHCP interface", {"dnsmasq_dhcp_pools": [dict(POOL, subnet="10.213.99.0/24",
                                                                   start="10.213.99.10", end="10.213.99.20")],
                                      "dnsmasq_dhcp_hosts": []},
     "dnsmasq_dhcp_pools: 10.213.99.0/24 is not the subnet of eth0"),
    ("reservation inside the other node's range",
     {"dnsmasq_dhcp_hosts": [{"mac": "02:42:0a:d5:1e:15", "ip": "10.213.30.180"}]},
     "dnsmasq_dhcp_hosts[0].ip: 10.213.30.180 is inside the dynamic range"),
    ("authoritative on a split pool", {"dnsmasq_dhcp_authoritative": True}, "dnsmasq_dhcp_authoritative"),
    ("IPv6 pool on a prefix shorter than /64",
     {"dnsmasq_dhcp_pools": [POOL, {"subnet": "fd00:213:30::/56", "start": "fd00:213:30::1000",
                                    "end": "fd00:213:30::10ff"}]},
     "dnsmasq_dhcp_pools[1].subnet: fd00:213:30::/56 is shorter than /64"),
    ("IPv6 pool not on the DHCP interface",
     {"dnsmasq_dhcp_pools": [POOL, {"subnet": "fd00:213:99::/64", "start": "fd00:213:99::1000",
                                    "end": "fd00:213:99::10ff"}]},
     "dnsmasq_dhcp_pools: fd00:213:99::/64 is not the subnet of eth0"),
    ("IPv6 VIP off the nodes' prefix", {"hastack_dns_vip6": "fd00:213:99::100"},
     "hastack_dns_vip6: fd00:213:99::100 is not inside the subnet of any interface"),
    ("VIP outside the subnet",
     {"keepalived_instances": {"VI_DNS": {"interface": "eth0", "virtual_router_id": 30,
                                          "virtual_ipaddresses": ["10.213.99.100/24"], "unicast": True}}},
     "keepalived_instances.VI_DNS.virtual_ipaddresses"),
]


@pytest.mark.parametrize("what,extra,named", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_stops_the_play_before_any_host_is_touched(lab, nodes, what, extra, named):
    assert_rejected_before_any_change(lab, CONVERGE, nodes, extra, named,
                                      "/etc/dnsmasq.d/hastack.conf /etc/keepalived/keepalived.conf")


def converge_under_probe(lab, nodes, *args):
    """Converge with `args` while the client queries the VIP: the master and the backup
    before it, the playbook's result and the probe's figures."""
    [master] = lab.holders(VIP, nodes)
    [backup] = [node for node in nodes if node != master]
    probe = DnsProbe(lab, CLIENT, VIP, "www.lab.hastack.internal", duration_s=240)
    result = lab.playbook(CONVERGE, *args)
    assert probe.running(), "the converge outlasted the probe's window: raise duration_s"
    probe.stop()
    return master, backup, result, probe.result()


def test_a_config_dnsmasq_cannot_start_with_stops_the_rolling_restart_without_an_outage(lab, nodes):
    """dnsmasq --test passes it (syntax), the start fails. The rolling restart takes the
    backup first: its previous config comes back, the master never restarts, and a client
    querying the VIP all along loses nothing."""
    files = "/etc/dnsmasq.d/hastack.conf"
    before = {node: lab.check(node, f"sha256sum {files}") for node in nodes}
    pids = {node: main_pid(lab, node, "dnsmasq") for node in nodes}
    master, backup, result, figures = converge_under_probe(
        lab, nodes, "-e", "dnsmasq_dhcp_leasefile=/nonexistent/dir/dnsmasq.leases")
    assert result.returncode != 0, "dnsmasq started with a lease file it cannot create"
    assert f"dnsmasq on {backup} did not start or serve with the new" in result.stdout, result.stdout[-3000:]
    assert "the previous config is back and dnsmasq runs with it" in result.stdout, result.stdout[-3000:]
    assert f"{master} kept the previous config and never restarted" in result.stdout, result.stdout[-3000:]
    for node in nodes:
        assert lab.check(node, f"sha256sum {files}") == before[node], f"{node}: config not restored"
        assert lab.check(node, "systemctl is-active dnsmasq").strip() == "active", node
    assert main_pid(lab, master, "dnsmasq") == pids[master], "the master's dnsmasq restarted"
    # a query every 20 ms through the whole converge (10 to 30 s, by the host)
    assert figures["sent"] > 200 and figures["unanswered"] == 0, figures
    assert dig(lab, CLIENT, VIP, "www.lab.hastack.internal") == "10.213.30.80"
    assert lab.playbook(CONVERGE).returncode == 0


def test_a_config_change_restarts_one_node_at_a_time_the_vip_holder_last(lab, nodes, capsys):
    """A valid change that needs a restart (the cache size): the backup restarts and answers
    again before the master restarts; the VIP stays where it is. The prober shows what the
    master's own restart costs (dnsmasq is down for tens of milliseconds)."""
    master, backup, result, figures = converge_under_probe(lab, nodes, "-e", "dnsmasq_cache_size=2000")
    assert result.returncode == 0, result.stdout[-3000:]
    started = {node: int(lab.check(node, "systemctl show -p ExecMainStartTimestampMonotonic --value dnsmasq"))
               for node in nodes}
    assert started[backup] < started[master], f"the VIP holder {master} restarted first: {started}"
    with capsys.disabled():
        print(f"\nROLLING dnsmasq_active_standby sent {figures['sent']} unanswered {figures['unanswered']} "
              f"outage_ms {figures['outage_ms']:.0f}")
    assert lab.holders(VIP, nodes) == [master]
    assert figures["sent"] > 200 and figures["answered"] > 0, figures
    assert lab.playbook(CONVERGE).returncode == 0


MAINTENANCE = REPO / "playbooks/maintenance.yml"


def maintenance(lab, node, **extra):
    return lab.playbook(MAINTENANCE, "-e", json.dumps({"maintenance_group": "dnsmasq_active_standby",
                                                       "maintenance_node": node, **extra}))


def test_maintenance_of_the_master_loses_no_query(lab, nodes, capsys):
    """Drain the VIP holder, restart its keepalived and dnsmasq as the work, restore it: both
    VIPs go to the backup by priority and stay there through the restart (the drain file
    survives it), then come back (the group preempts). A client queries both VIPs all along."""
    [master] = lab.holders(VIP, nodes)
    [backup] = [node for node in nodes if node != master]
    probes = {vip: DnsProbe(lab, CLIENT, vip, "www.lab.hastack.internal", duration_s=240) for vip in (VIP, VIP6)}
    result = maintenance(lab, master, maintenance_work=["restart"])
    assert all(probe.running() for probe in probes.values()), \
        "the maintenance outlasted the probe's window: raise duration_s"
    figures = probe_figures(probes, "MAINTENANCE dnsmasq_active_standby", capsys)
    assert result.returncode == 0, result.stdout[-3000:]
    for vip in (VIP, VIP6):
        assert f"MAINTENANCE {master} drained {vip} {backup}" in result.stdout, result.stdout[-3000:]
        assert f"MAINTENANCE {master} restored {vip} {master}" in result.stdout, result.stdout[-3000:]
    assert lab.holders(VIP, nodes) == [master] and lab.holders(VIP6, nodes) == [master]
    assert lab.check(master, "cat /etc/keepalived/hastack-drain").strip() == "0"
    # the goal is 0; measured: 1 query of about 840 per family (20 ms), the one in flight
    # when the VIP changes hands; more than one per move is a regression
    for vip, got in figures.items():
        assert got["sent"] > 200 and got["unanswered"] <= 2, (vip, got)


def test_the_last_healthy_node_is_not_drained(lab, nodes):
    [master] = lab.holders(VIP, nodes)
    [backup] = [node for node in nodes if node != master]
    lab.check(backup, "systemctl stop keepalived")
    try:
        result = maintenance(lab, master, maintenance_action="drain")
        assert result.returncode != 0
        assert f"maintenance_node: {master} is the last healthy node of dnsmasq_active_standby" in result.stdout, \
            result.stdout[-3000:]
        assert lab.check(master, "cat /etc/keepalived/hastack-drain").strip() == "0"
        assert lab.holders(VIP, nodes) == [master]
    finally:
        lab.check(backup, "systemctl start keepalived")


def test_a_node_whose_keepalived_does_not_track_the_drain_file_is_refused(lab, nodes):
    """maintenance_action=drain with a keepalived_drain_file the node's keepalived.conf does
    not track: refused by name (the keepalived role's drain_check) before anything changes."""
    [master] = lab.holders(VIP, nodes)
    result = maintenance(lab, master, maintenance_action="drain", keepalived_drain_file="/etc/keepalived/not-tracked")
    assert result.returncode != 0
    assert (f"keepalived_drain_file: /etc/keepalived/keepalived.conf on {master} does not track "
            "/etc/keepalived/not-tracked") in re.sub(r"\s+", " ", result.stdout), result.stdout[-3000:]
    assert lab.run(master, "test -e /etc/keepalived/not-tracked").rc != 0
    assert lab.check(master, "cat /etc/keepalived/hastack-drain").strip() == "0"
    assert lab.holders(VIP, nodes) == [master]


def test_a_node_drained_by_hand_stays_drained_through_a_converge_until_restored(lab, nodes):
    [master] = lab.holders(VIP, nodes)
    [backup] = [node for node in nodes if node != master]
    assert maintenance(lab, master, maintenance_action="drain").returncode == 0
    try:
        assert lab.holders(VIP, nodes) == [backup]
        assert lab.playbook(CONVERGE).returncode == 0
        assert lab.holders(VIP, nodes) == [backup] and lab.holders(VIP6, nodes) == [backup]
    finally:
        result = maintenance(lab, master, maintenance_action="restore")
    assert result.returncode == 0, result.stdout[-3000:]
    assert lab.holders(VIP, nodes) == [master] and lab.holders(VIP6, nodes) == [master]
