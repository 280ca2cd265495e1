"""ISC dhcpd failover pair: state through OMAPI, real clients, the primary stopped and back."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.awx_jobs import job_template_test  # noqa: E402
from tests.labkit import (  # noqa: E402
    assert_rejected_before_any_change,
    dhcpd_failover_state,
    scenario_fixtures,
)

CLIENT = "hastack-mol-dh-client"
PRIMARY, SECONDARY = "hastack-mol-dh1", "hastack-mol-dh2"
SERVER_ID = {PRIMARY: "10.213.40.11", SECONDARY: "10.213.40.12"}
KEY = "bGFiLW9ubHktb21hcGkta2V5LWZvci1oYXN0YWNrLWRoY3A="
RANGES = [(100, 139), (160, 199)]

lab, nodes, dhcp = scenario_fixtures(SCENARIO / "inventory.yml", "dhcpd_failover", CLIENT)


def states(lab):
    return {node: (s["local_state"], s["partner_state"])
            for node in (PRIMARY, SECONDARY)
            for s in [dhcpd_failover_state(lab, node, "dhcp", KEY)]}


def wait_for_states(lab, expected, timeout=120.0):
    """Poll OMAPI on both peers until their states are `expected` or time runs out."""
    deadline = time.monotonic() + timeout
    seen = states(lab)
    while seen != expected and time.monotonic() < deadline:
        time.sleep(1)
        seen = states(lab)
    return seen


def in_ranges(address):
    last = int(address.rsplit(".", 1)[1])
    return address.startswith("10.213.40.") and any(lo <= last <= hi for lo, hi in RANGES)


def active_leases(lab, node):
    """{address: mac} of the active leases in a server's lease file (the last record wins)."""
    text = lab.check(node, "cat /var/lib/dhcp/dhcpd.leases")
    leases = {}
    for block in text.split("\nlease ")[1:]:
        address = block.split()[0]
        state = next((line.split()[2].rstrip(";") for line in block.splitlines()
                      if line.strip().startswith("binding state")), "")
        mac = next((line.split()[2].rstrip(";") for line in block.splitlines()
                    if line.strip().startswith("hardware ethernet")), "")
        leases[address] = mac if state == "active" else None
    return {address: mac for address, mac in leases.items() if mac}


# idempotence, as AWX runs the variant (in place of Molecule's idempotence step)
test_the_awx_job_template_runs_and_changes_nothing = job_template_test(
    "dhcpd_failover", SCENARIO / "inventory.yml")


def test_both_peers_are_normal_through_omapi(lab):
    normal = {PRIMARY: ("normal", "normal"), SECONDARY: ("normal", "normal")}
    assert wait_for_states(lab, normal) == normal


def test_only_the_primary_carries_mclt_and_split(lab):
    primary = lab.check(PRIMARY, "cat /etc/dhcp/dhcpd.conf")
    secondary = lab.check(SECONDARY, "cat /etc/dhcp/dhcpd.conf")
    assert "  primary;" in primary and "mclt 60;" in primary and "split 128;" in primary
    assert "  secondary;" in secondary and "mclt" not in secondary and "split" not in secondary
    assert lab.check(PRIMARY, "stat -c %a /etc/dhcp/dhcpd.omapi.conf").strip() == "600"


def test_the_secondary_takes_its_time_from_the_primary(lab):
    deadline = time.monotonic() + 60
    tracking = ""
    while time.monotonic() < deadline:
        tracking = lab.check(SECONDARY, "chronyc -n -c tracking")
        if tracking.split(",")[1] == SERVER_ID[PRIMARY]:
            break
        time.sleep(2)
    assert tracking.split(",")[1] == SERVER_ID[PRIMARY], tracking


def test_clients_get_leases_with_the_options_from_both_servers(dhcp):
    servers = set()
    for _ in range(16):
        lease = dhcp.lease()
        assert in_ranges(lease["address"]), lease
        assert lease["routers"] == "10.213.40.254", lease
        assert lease["domain-name-servers"] == "10.213.40.53,10.213.40.54", lease
        assert lease["domain-name"] == "lab.hastack.internal", lease
        # failover caps a lease the partner does not know yet at the MCLT (60 s here)
        assert lease["dhcp-lease-time"] in ("60", "600"), lease
        servers.add(lease["dhcp-server-identifier"])
        if len(servers) == 2:
            break
    assert servers == set(SERVER_ID.values()), f"split 128: expected both servers to answer, saw {servers}"


def test_a_reserved_client_gets_its_address(dhcp):
    client = dhcp.client(mac="02:00:0a:d5:28:f0")
    try:
        assert client.obtain()["address"] == "10.213.40.240"
    finally:
        client.remove()


def test_the_secondary_serves_while_the_primary_is_stopped(lab, dhcp):
    renewing = dhcp.client()
    first = renewing.obtain()
    lab.check(PRIMARY, "systemctl stop isc-dhcp-server")
    try:
        deadline = time.monotonic() + 30
        state = dhcpd_failover_state(lab, SECONDARY, "dhcp", KEY)["local_state"]
        while state != "communications-interrupted" and time.monotonic() < deadline:
            time.sleep(1)
            state = dhcpd_failover_state(lab, SECONDARY, "dhcp", KEY)["local_state"]
        assert state == "communications-interrupted", state
        renewed = renewing.renew()
        assert renewed["address"] == first["address"], (first, renewed)
        assert renewed["dhcp-server-identifier"] == SERVER_ID[SECONDARY], renewed
        for _ in range(3):
            lease = dhcp.lease()
            assert in_ranges(lease["address"]), lease
            assert lease["dhcp-server-identifier"] == SERVER_ID[SECONDARY], lease
    finally:
        lab.check(PRIMARY, "systemctl start isc-dhcp-server")
        renewing.remove()
    normal = {PRIMARY: ("normal", "normal"), SECONDARY: ("normal", "normal")}
    assert wait_for_states(lab, normal) == normal
    # after the pair is back, both servers agree: no address is held by two clients
    primary, secondary = active_leases(lab, PRIMARY), active_leases(lab, SECONDARY)
    assert primary, "no active leases on the primary"
    for address in set(primary) & set(secondary):
        assert primary[address] == secondary[address], f"{address}: {primary[address]} vs {secondary[address]}"
    by_address = {}
    for table in (primary, secondary):
        for address, mac in table.items():
            by_address.setdefault(address, set()).add(mac)
    assert all(len(m) == 1 for m in by_address.values()), by_address


def test_a_config_dhcpd_refuses_leaves_dhcpd_running(lab, nodes):
    pids = {node: lab.check(node, "cat /var/run/dhcpd.pid").strip() for node in nodes}
    result = lab.playbook(SCENARIO / "converge.yml", "-e", json.dumps(
        {"dhcpd_failover_subnets": {"lan": {"subnet": "10.213.40.0/24", "domain_name": 'lab"broken',
                                            "ranges": [{"start": "10.213.40.100", "end": "10.213.40.139"}]}}}))
    assert result.returncode != 0, "dhcpd -t accepted a broken domain name"
    assert "failed to validate" in result.stdout, result.stdout[-3000:]
    for node in nodes:
        assert lab.check(node, "cat /var/run/dhcpd.pid").strip() == pids[node], f"{node}: dhcpd restarted"
        assert 'lab"broken' not in lab.check(node, "cat /etc/dhcp/dhcpd.conf")
        assert lab.run(node, "systemctl is-active isc-dhcp-server").stdout.strip() == "active"



def test_a_config_change_restarts_one_peer_at_a_time(lab, nodes):
    """dhcpd has no reload: the peers restart in turn, the second only once the first runs and
    listens again, and they are back in state normal."""
    result = lab.playbook(SCENARIO / "converge.yml", "-e", "dhcpd_failover_max_lease_time=14401")
    assert result.returncode == 0, result.stdout[-3000:]
    # (isc-dhcp-server is an LSB script: systemd knows when it stopped and was active again)
    times = {node: {key: int(value) for key, value in (line.split("=", 1) for line in lab.check(
        node, "systemctl show -p ActiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic "
              "isc-dhcp-server").split())} for node in nodes}
    first, second = sorted(nodes, key=lambda node: times[node]["ActiveExitTimestampMonotonic"])
    assert times[first]["ActiveEnterTimestampMonotonic"] < times[second]["ActiveExitTimestampMonotonic"], times
    for node in nodes:
        assert "max-lease-time 14401;" in lab.check(node, "cat /etc/dhcp/dhcpd.conf"), node
    assert wait_for_states(lab, {PRIMARY: ("normal", "normal"), SECONDARY: ("normal", "normal")}) == {
        PRIMARY: ("normal", "normal"), SECONDARY: ("normal", "normal")}
    assert lab.playbook(SCENARIO / "converge.yml").returncode == 0


SUBNET = {"subnet": "10.213.40.0/24", "ranges": [{"start": "10.213.40.100", "end": "10.213.40.139"}]}


@pytest.mark.parametrize("extra,named", [
    ({"dhcpd_failover_peers": {PRIMARY: {}, SECONDARY: {"mclt": 600}}}, f"dhcpd_failover_peers.{SECONDARY}.mclt"),
    ({"dhcpd_failover_peers": {PRIMARY: {}, SECONDARY: {"split": 64}}}, f"dhcpd_failover_peers.{SECONDARY}.split"),
    ({"dhcpd_failover_split": 300}, "dhcpd_failover_split"),
    ({"dhcpd_failover_peers": {PRIMARY: {}, "hastack-mol-nosuch": {}}}, "dhcpd_failover_peers.hastack-mol-nosuch"),
    ({"dhcpd_failover_primary": "hastack-mol-nosuch"}, "dhcpd_failover_primary"),
    ({"dhcpd_failover_subnets": {"lan": dict(SUBNET, ranges=[{"start": "10.213.41.100", "end": "10.213.41.139"}])}},
     "dhcpd_failover_subnets.lan.ranges[0].start"),
    ({"dhcpd_failover_subnets": {"lan": dict(SUBNET, ranges=[{"start": "10.213.40.100", "end": "10.213.40.139"},
                                                             {"start": "10.213.40.130", "end": "10.213.40.150"}])}},
     "overlaps"),
    # the intent a dual-stack kea_ha pair takes: dhcpd has no DHCPv6 failover, the message points to kea_ha
    ({"hastack_dhcp_subnets": {"lan": SUBNET, "lan6": {"subnet": "fd00:213:40::/64", "ranges": [
        {"start": "fd00:213:40::100", "end": "fd00:213:40::1ff"}]}}},
     "dhcpd_failover_subnets.lan6.subnet: fd00:213:40::/64 is an IPv6 subnet, and ISC dhcpd has no DHCPv6 failover"),
], ids=["mclt on the secondary", "split on the secondary", "split over 256", "peer not in inventory",
        "primary not in inventory", "range outside its subnet", "overlapping ranges", "IPv6 subnet"])
def test_bad_input_stops_the_play_before_any_host_is_touched(lab, nodes, extra, named):
    assert_rejected_before_any_change(lab, SCENARIO / "converge.yml", nodes, extra, named,
                                      "/etc/dhcp/dhcpd.conf /etc/chrony/chrony.conf")
