"""The move from this dhcpd failover pair to Kea HA (playbooks/dhcpd_to_kea.yml), leases kept.

Runs after test_dhcpd_failover.py (pytest takes the files in order) and leaves the pair
running Kea: real clients hold leases from dhcpd, the dry run lists them, the move carries
them with their end times, the holders renew the same addresses from Kea, and another client
asking for a held address gets a different one.
"""

from __future__ import annotations

import calendar
import re
import sys
import time
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.labkit import (  # noqa: E402
    DhcpProbe,
    KeaPair,
    assert_rejected_before_any_change,
    scenario_fixtures,
)

CLIENT = "hastack-mol-dh-client"
PRIMARY, SECONDARY = "hastack-mol-dh1", "hastack-mol-dh2"
SERVER_ID = {PRIMARY: "10.213.40.11", SECONDARY: "10.213.40.12"}
MIGRATION = SCENARIO.parent.parent / "playbooks" / "dhcpd_to_kea.yml"

lab, nodes, dhcp = scenario_fixtures(SCENARIO / "inventory.yml", "dhcpd_failover", CLIENT)


@pytest.fixture(scope="module")
def kea(lab):
    return KeaPair(lab, CLIENT, SERVER_ID)


@pytest.fixture(scope="module")
def holders(dhcp):
    """Three real clients holding leases from dhcpd before the move."""
    clients = [dhcp.client() for _ in range(3)]
    leases = [client.obtain() for client in clients]
    yield list(zip(clients, leases))
    for client in clients:
        client.remove()


def lease_ends(lab, node):
    """{address: (mac, ends as dhcpd wrote it)} of the active leases in a peer's lease file."""
    ends = {}
    for block in lab.check(node, "cat /var/lib/dhcp/dhcpd.leases").split("\nlease ")[1:]:
        lines = [line.strip().rstrip(";") for line in block.splitlines()]
        state = next((line.split()[2] for line in lines if line.startswith("binding state")), "")
        mac = next((line.split()[2] for line in lines if line.startswith("hardware ethernet")), "")
        end = next((" ".join(line.split()[2:4]) for line in lines if line.startswith("ends ")), "")
        ends[block.split()[0]] = (mac, end) if state == "active" else None
    return {address: value for address, value in ends.items() if value}


def test_the_dry_run_lists_the_leases_and_changes_nothing(lab, nodes, holders):
    pids = {node: lab.check(node, "cat /var/run/dhcpd.pid").strip() for node in nodes}
    # the lab image has Kea's packages (disabled): its config must stay Debian's
    kea_conf = {node: lab.check(node, "sha256sum /etc/kea/kea-dhcp4.conf") for node in nodes}
    result = lab.playbook(MIGRATION, "--check")
    assert result.returncode == 0, result.stdout[-3000:]
    for _client, lease in holders:
        assert f"MIGRATE carry {lease['address']} " in result.stdout, (lease, result.stdout[-3000:])
    assert "changed=0" in result.stdout and "changed=1" not in result.stdout, result.stdout[-2000:]
    for node in nodes:
        assert lab.check(node, "cat /var/run/dhcpd.pid").strip() == pids[node], f"{node}: dhcpd restarted"
        assert lab.check(node, "sha256sum /etc/kea/kea-dhcp4.conf") == kea_conf[node], f"{node}: Kea configured"
        assert lab.run(node, "systemctl is-active kea-dhcp4-server").stdout.strip() != "active", node


def test_a_move_without_the_kea_password_is_refused_before_any_host_is_touched(lab, nodes):
    assert_rejected_before_any_change(lab, MIGRATION, nodes, {"kea_ha_api_password": ""},
                                      "kea_ha_api_password", "/etc/dhcp/dhcpd.conf /var/lib/dhcp/dhcpd.leases")
    for node in nodes:
        assert lab.run(node, "systemctl is-active isc-dhcp-server").stdout.strip() == "active"


def test_the_move_carries_every_lease_with_its_end_time(lab, nodes, holders, kea, capsys):
    before = {node: lease_ends(lab, node) for node in nodes}
    probe = DhcpProbe(lab, CLIENT, SERVER_ID[PRIMARY], duration_s=280, interval_ms=100)
    try:
        result = lab.playbook(MIGRATION, timeout=900)
    finally:
        probe.stop()
    figures = probe.result()
    assert result.returncode == 0, result.stdout[-4000:]
    # the callback folds the line: read it from the output with the whitespace normalized
    switched = re.findall(r"MIGRATE switched .*? leases carried", " ".join(result.stdout.split()))
    with capsys.disabled():
        print(f"\nMIGRATION dhcpd -> Kea: {switched[0] if switched else '?'}; probe of the primary "
              f"(DHCPINFORM every 100 ms): {figures['sent']} sent, {figures['unanswered']} unanswered, "
              f"longest gap {figures['outage_ms']:.0f} ms")
    assert switched, result.stdout[-3000:]
    assert kea.wait_for_states({PRIMARY: "hot-standby", SECONDARY: "hot-standby"}) == {
        PRIMARY: "hot-standby", SECONDARY: "hot-standby"}
    for node in nodes:
        assert lab.run(node, "systemctl is-active isc-dhcp-server").stdout.strip() != "active", node
        assert lab.run(node, "systemctl is-enabled isc-dhcp-server").stdout.strip() != "enabled", node
    for client, lease in holders:
        address = lease["address"]
        for node in nodes:
            answer = kea.command(node, "lease4-get", {"ip-address": address})
            held = answer["arguments"]
            assert held["hw-address"] == client.mac, (node, held)
            # the end the client was told is kept: dhcpd's "ends" (UTC) is Kea's cltt + valid-lft
            ends = max(time.strptime(peer[address][1], "%Y/%m/%d %H:%M:%S")
                       for peer in before.values() if address in peer)
            assert held["cltt"] + held["valid-lft"] == calendar.timegm(ends), (address, ends, held)
    # the probe saw the pair answer before and after the move: what it missed is the switch
    assert figures["answered"] > 0 and figures["answers"].get(SERVER_ID[PRIMARY]), figures


def test_the_holders_renew_their_addresses_from_kea(holders):
    for client, lease in holders:
        renewed = client.renew()
        assert renewed["address"] == lease["address"], (lease, renewed)
        assert renewed["dhcp-server-identifier"] == SERVER_ID[PRIMARY], renewed


def test_a_client_asking_for_a_held_address_gets_another(lab, dhcp, holders):
    held = {lease["address"] for _client, lease in holders}
    taken = holders[0][1]["address"]
    other = dhcp.client()
    try:
        # the new client claims the first holder's address (INIT-REBOOT): Kea has it leased
        lab.check(CLIENT, "sed %s %s > %s", f's/interface "{holders[0][0].name}"/interface "{other.name}"/',
                  holders[0][0].leasefile, other.leasefile)
        assert f'interface "{other.name}"' in lab.check(CLIENT, f"cat {other.leasefile}")
        lease = other.renew(timeout=60)
        assert lease["address"] != taken, f"Kea gave {taken}, leased to {holders[0][0].mac}, to {other.mac}"
        assert lease["address"] not in held, (lease, held)
    finally:
        other.remove()


def test_a_second_run_finds_kea_running_and_changes_nothing(lab):
    result = lab.playbook(MIGRATION)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "MIGRATE done: Kea runs and dhcpd does not" in result.stdout, result.stdout[-2000:]
    assert "changed=0" in result.stdout and "changed=1" not in result.stdout, result.stdout[-2000:]
