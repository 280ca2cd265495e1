"""The lvs_real_server role on two containers: the VIPs on lo as /32 and /128, ARP and
neighbour discovery kept quiet for them, both back after a restart, check mode,
`state: absent` undoing all of it, bad input."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.labkit import assert_rejected_before_any_change, poll, scenario_fixtures  # noqa: E402

VIP = "10.213.55.100"
VIP6 = "fd00:213:55::100"
ON_LO = {f"{VIP}/32", f"{VIP6}/128"}
CLIENT = "hastack-mol-rs-client"
UNIT = "hastack-lvs-real-server"
FILES = f"/etc/sysctl.d/60-lvs-real-server.conf /etc/systemd/system/{UNIT}.service"
ARP = {"lo.arp_ignore": "1", "all.arp_ignore": "1", "lo.arp_announce": "2", "all.arp_announce": "2"}
CONVERGE = SCENARIO / "converge.yml"

lab, nodes, _dhcp = scenario_fixtures(SCENARIO / "inventory.yml", "lvs_real_servers", CLIENT)


def lo_addresses(lab, node):
    """The addresses on lo but 127.0.0.1 and ::1, as ip prints them (a.b.c.d/nn, x::y/nn)."""
    found = set(re.findall(r"inet6? (\S+)", lab.check(node, "ip -o addr show dev lo")))
    return found - {"127.0.0.1/8", "::1/128"}


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


def neighbour_advertisers(lab, address):
    """The MAC addresses that answer a neighbour solicitation for address on the client's
    link (rdisc6's sibling ndisc6: 2 solicitations, 500 ms each; [] when none answers)."""
    result = lab.run(CLIENT, f"ndisc6 -n -r 2 -w 500 {address} eth0")
    return [mac.lower() for mac in re.findall(r"Target link-layer address:\s+(\S+)", result.stdout)]


def test_the_vips_are_on_lo_as_host_addresses(lab, nodes):
    for node in nodes:
        assert lo_addresses(lab, node) == ON_LO, lab.check(node, "ip addr show dev lo")
        assert VIP not in lab.check(node, "ip -4 addr show dev eth0")
        assert VIP6 not in lab.check(node, "ip -6 addr show dev eth0")


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


def test_no_real_server_answers_neighbour_solicitations_for_the_ipv6_vip(lab, nodes):
    # IPv6 has no arp_ignore: Linux answers a solicitation only for an address of the
    # interface it arrived on, so the VIP on lo stays silent on every node
    assert neighbour_advertisers(lab, VIP6) == []
    # the control: the same nodes answer for their own addresses on eth0
    for node in nodes:
        own = next(iter(lab.addresses6[node].values()))
        assert neighbour_advertisers(lab, own) == [mac(lab, node)], node


def test_a_real_server_takes_the_ipv6_vips_packets_a_director_sends_it(lab, nodes):
    # what an LVS-DR director does: the client's packet for the VIP, to one real server's
    # MAC; the real server accepts it (the VIP is on lo) and answers from the VIP
    node = nodes[0]
    lab.check(CLIENT, f"ip -6 neigh replace {VIP6} lladdr {mac(lab, node)} dev eth0 nud permanent")
    try:
        result = lab.run(CLIENT, f"ping -6 -c 2 -W 1 {VIP6}")
        assert result.rc == 0 and f"from {VIP6}" in result.stdout, result.stdout
    finally:
        lab.check(CLIENT, f"ip -6 neigh del {VIP6} dev eth0")


def test_the_vip_and_the_arp_settings_come_back_after_a_restart(lab, nodes):
    node = nodes[1]
    assert lab.restart(node), f"{node}: no ssh to it within 90 s of a restart"
    state = poll(lambda: lab.run(node, f"systemctl is-active {UNIT}").stdout.strip(),
                 lambda s: s in ("active", "failed"), timeout=60)
    assert state == "active", lab.run(node, f"systemctl status {UNIT}").stdout
    assert lo_addresses(lab, node) == ON_LO
    assert arp(lab, node) == ARP
    assert neighbour_of_the_vip(lab) == ""
    assert neighbour_advertisers(lab, VIP6) == []


def test_check_mode_shows_a_new_vip_and_changes_nothing(lab, nodes):
    before = {node: (lab.check(node, f"sha256sum {FILES}"), lo_addresses(lab, node)) for node in nodes}
    result = lab.playbook(CONVERGE, "--check", "--diff", "-e",
                          json.dumps({"lvs_real_server_vips": [VIP, VIP6, "10.213.55.101"]}))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "+ExecStart=ip addr replace 10.213.55.101/32 dev lo" in result.stdout, result.stdout[-3000:]
    for node in nodes:
        assert (lab.check(node, f"sha256sum {FILES}"), lo_addresses(lab, node)) == before[node]


def test_a_changed_vip_list_moves_the_addresses_on_lo(lab, nodes):
    # an upper-case IPv6 VIP is the same address as ip prints it
    result = lab.playbook(CONVERGE, "-e", json.dumps({"lvs_real_server_vips": ["10.213.55.101", "FD00:213:55::101"]}))
    try:
        assert result.returncode == 0, result.stdout[-3000:]
        for node in nodes:
            assert lo_addresses(lab, node) == {"10.213.55.101/32", "fd00:213:55::101/128"}
    finally:
        restored = lab.playbook(CONVERGE)
    assert restored.returncode == 0, restored.stdout[-3000:]
    for node in nodes:
        assert lo_addresses(lab, node) == ON_LO


def test_state_absent_undoes_all_of_it(lab, nodes):
    result = lab.playbook(CONVERGE, "-e", json.dumps({"lvs_real_server_state": "absent"}))
    try:
        assert result.returncode == 0, result.stdout[-3000:]
        for node in nodes:
            assert lo_addresses(lab, node) == set()
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
        assert lo_addresses(lab, node) == ON_LO and arp(lab, node) == ARP


def test_bad_input_stops_the_play_before_any_host_is_touched(lab, nodes):
    for vips in (["10.213.55.300"], ["127.0.0.2"], ["vip.abc.local"], ["::1"], ["fe80::100"], ["fd00:213:55::1g"]):
        assert_rejected_before_any_change(lab, CONVERGE, nodes, {"lvs_real_server_vips": vips},
                                          "lvs_real_server_vips", FILES)
