"""The lvs_real_server role on two containers: the VIP on lo as /32, ARP kept quiet for it,
both back after a restart, check mode, `state: absent` undoing all of it, bad input."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.labkit import assert_rejected_before_any_change, poll, scenario_fixtures  # noqa: E402

VIP = "10.213.55.100"
CLIENT = "hastack-mol-rs-client"
UNIT = "hastack-lvs-real-server"
FILES = f"/etc/sysctl.d/60-lvs-real-server.conf /etc/systemd/system/{UNIT}.service"
ARP = {"lo.arp_ignore": "1", "all.arp_ignore": "1", "lo.arp_announce": "2", "all.arp_announce": "2"}
CONVERGE = SCENARIO / "converge.yml"

lab, nodes, _dhcp = scenario_fixtures(SCENARIO / "inventory.yml", "lvs_real_servers", CLIENT)


def lo_addresses(lab, node):
    """The IPv4 addresses on lo, as ip prints them (a.b.c.d/nn)."""
    return set(re.findall(r"inet (\S+)", lab.check(node, "ip -4 -o addr show dev lo")))


def arp(lab, node):
    return {key: lab.check(node, f"cat /proc/sys/net/ipv4/conf/{key.replace('.', '/')}").strip() for key in ARP}


def neighbour_of_the_vip(lab):
    """The MAC address the client learned for the VIP by ARP after one ping ('' when none)."""
    lab.check(CLIENT, "ip neigh flush dev eth0")
    lab.run(CLIENT, f"ping -c 1 -W 1 {VIP}")
    fields = lab.check(CLIENT, f"ip neigh show {VIP}").split()
    return fields[fields.index("lladdr") + 1] if "lladdr" in fields else ""


def mac(lab, node):
    return lab.check(node, "cat /sys/class/net/eth0/address").strip()


def test_the_vip_is_on_lo_as_a_host_address(lab, nodes):
    for node in nodes:
        assert f"{VIP}/32" in lo_addresses(lab, node), lab.check(node, "ip -4 addr show dev lo")
        assert VIP not in lab.check(node, "ip -4 addr show dev eth0")


def test_the_arp_settings_are_in_force_and_persisted(lab, nodes):
    for node in nodes:
        assert arp(lab, node) == ARP
        persisted = lab.check(node, "cat /etc/sysctl.d/60-lvs-real-server.conf")
        for key, value in ARP.items():
            assert f"net.ipv4.conf.{key}={value}" in persisted.replace(" ", ""), persisted


def test_no_real_server_answers_arp_for_the_vip(lab, nodes):
    assert neighbour_of_the_vip(lab) == ""
    # the control: with the kernel's default arp_ignore the same node does answer
    node = nodes[0]
    lab.check(node, "sysctl -q -w net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.lo.arp_ignore=0")
    try:
        assert neighbour_of_the_vip(lab) == mac(lab, node)
    finally:
        lab.check(node, "sysctl -q -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.lo.arp_ignore=1")
    assert neighbour_of_the_vip(lab) == ""


def test_the_vip_and_the_arp_settings_come_back_after_a_restart(lab, nodes):
    node = nodes[1]
    assert lab.restart(node), f"{node}: no ssh to it within 90 s of a restart"
    state = poll(lambda: lab.run(node, f"systemctl is-active {UNIT}").stdout.strip(),
                 lambda s: s in ("active", "failed"), timeout=60)
    assert state == "active", lab.run(node, f"systemctl status {UNIT}").stdout
    assert f"{VIP}/32" in lo_addresses(lab, node)
    assert arp(lab, node) == ARP
    assert neighbour_of_the_vip(lab) == ""


def test_check_mode_shows_a_new_vip_and_changes_nothing(lab, nodes):
    before = {node: (lab.check(node, f"sha256sum {FILES}"), lo_addresses(lab, node)) for node in nodes}
    result = lab.playbook(CONVERGE, "--check", "--diff", "-e",
                          json.dumps({"lvs_real_server_vips": [VIP, "10.213.55.101"]}))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "+ExecStart=ip addr replace 10.213.55.101/32 dev lo" in result.stdout, result.stdout[-3000:]
    for node in nodes:
        assert (lab.check(node, f"sha256sum {FILES}"), lo_addresses(lab, node)) == before[node]


def test_a_changed_vip_list_moves_the_addresses_on_lo(lab, nodes):
    result = lab.playbook(CONVERGE, "-e", json.dumps({"lvs_real_server_vips": ["10.213.55.101"]}))
    try:
        assert result.returncode == 0, result.stdout[-3000:]
        for node in nodes:
            addresses = lo_addresses(lab, node)
            assert "10.213.55.101/32" in addresses and f"{VIP}/32" not in addresses, addresses
    finally:
        restored = lab.playbook(CONVERGE)
    assert restored.returncode == 0, restored.stdout[-3000:]
    for node in nodes:
        assert {a for a in lo_addresses(lab, node) if not a.startswith("127.")} == {f"{VIP}/32"}


def test_state_absent_undoes_all_of_it(lab, nodes):
    result = lab.playbook(CONVERGE, "-e", json.dumps({"lvs_real_server_state": "absent"}))
    try:
        assert result.returncode == 0, result.stdout[-3000:]
        for node in nodes:
            assert {a for a in lo_addresses(lab, node) if not a.startswith("127.")} == set()
            assert set(arp(lab, node).values()) == {"0"}
            left = lab.check(node, f"sh -c 'for f in {FILES}; do [ ! -e $f ] || echo $f; done'").split()
            assert left == [], f"{node}: left behind: {left}"
            assert lab.run(node, f"systemctl is-enabled {UNIT}").rc != 0
        again = lab.playbook(CONVERGE, "-e", json.dumps({"lvs_real_server_state": "absent"}))
        assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-2000:]
    finally:
        restored = lab.playbook(CONVERGE)
    assert restored.returncode == 0, restored.stdout[-3000:]
    for node in nodes:
        assert f"{VIP}/32" in lo_addresses(lab, node) and arp(lab, node) == ARP


def test_bad_input_stops_the_play_before_any_host_is_touched(lab, nodes):
    for vips in (["10.213.55.300"], ["127.0.0.2"], ["vip.abc.local"]):
        assert_rejected_before_any_change(lab, CONVERGE, nodes, {"lvs_real_server_vips": vips},
                                          "lvs_real_server_vips", FILES)
