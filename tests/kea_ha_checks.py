"""The tests of the kea_ha scenarios (hot-standby and load-balancing), imported by each.

A scenario's test module sets SCENARIO, imports everything from here, and defines the
`scenario` fixture; the mode and addresses come from the scenario's inventory.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
from pathlib import Path

import pytest
import yaml

from tests.labkit import (
    REPO,
    DhcpClients,
    DhcpProbe,
    Lab,
    asking_for_leases,
    assert_rejected_before_any_change,
    duid,
    kea_command,
    lease_figures,
    probe_figures,
)


class Scenario:
    def __init__(self, directory: Path):
        self.dir = directory
        data = yaml.safe_load((directory / "inventory.yml").read_text())
        group = data["all"]["children"]["kea_ha"]
        self.vars = group["vars"]
        # the inventory's mode, else the role's default (the minimal inventory leaves it out)
        defaults = yaml.safe_load((REPO / "roles/kea_ha/defaults/main.yml").read_text())
        self.mode = self.vars.get("kea_ha_mode", defaults["kea_ha_mode"])
        self.servers = list(group["hosts"])
        self.address = {host: spec["lab_addresses"]["lan"] for host, spec in group["hosts"].items()}
        self.client = next(iter(data["all"]["children"]["clients"]["hosts"]))
        self.primary, self.partner = self.servers
        self.lab = Lab(directory / "inventory.yml")
        self.prefix = self.address[self.primary].rsplit(".", 1)[0]
        subnet = self.vars["hastack_dhcp_subnets"]["lan"]
        self.ranges = [(int(r["start"].rsplit(".", 1)[1]), int(r["end"].rsplit(".", 1)[1])) for r in subnet["ranges"]]
        self.reserved = subnet["hosts"]["reserved"]
        subnet6 = self.vars["hastack_dhcp_subnets"]["lan6"]  # the IPv6 subnet beside it (kea-dhcp6)
        self.ranges6 = [(ipaddress.IPv6Address(r["start"]), ipaddress.IPv6Address(r["end"]))
                        for r in subnet6["ranges"]]
        self.subnet6 = subnet6
        self.reserved6 = subnet6["hosts"]["reserved6"]

    def state(self, host: str, service: str = "dhcp4") -> str:
        return kea_command(self.lab, self.client, self.address[host], "ha-heartbeat",
                           service=service)["arguments"]["state"]

    def wait_for_state(self, host: str, expected: str, timeout: float = 60.0, service: str = "dhcp4") -> str:
        deadline = time.monotonic() + timeout
        seen = self.state(host, service)
        while seen != expected and time.monotonic() < deadline:
            time.sleep(0.5)
            seen = self.state(host, service)
        return seen

    def server_duids(self) -> dict:
        """{DUID: server} of the two kea-dhcp6 servers (the server-id they answer with)."""
        return {duid(self.lab.check(host, "cat /var/lib/kea/kea-dhcp6-serverid")): host for host in self.servers}

    def leases6(self, host: str) -> dict:
        """{address: DUID} of the DHCPv6 leases a server holds (lease6-get-all)."""
        answer = kea_command(self.lab, self.client, self.address[host], "lease6-get-all", service="dhcp6")
        return {lease["ip-address"]: duid(lease["duid"]) for lease in answer.get("arguments", {}).get("leases", [])
                if lease.get("state", 0) == 0}

    def in_ranges6(self, address: str) -> bool:
        return any(start <= ipaddress.IPv6Address(address) <= end for start, end in self.ranges6)

    def leases(self, host: str) -> dict:
        """{address: MAC} of the leases a server holds (lease4-get-all)."""
        answer = kea_command(self.lab, self.client, self.address[host], "lease4-get-all")
        return {lease["ip-address"]: lease["hw-address"] for lease in answer.get("arguments", {}).get("leases", [])
                if lease.get("state", 0) == 0}

    def in_ranges(self, address: str) -> bool:
        last = int(address.rsplit(".", 1)[1])
        return address.startswith(self.prefix + ".") and any(lo <= last <= hi for lo, hi in self.ranges)


@pytest.fixture(scope="module")
def dhcp(scenario):
    return DhcpClients(scenario.lab, scenario.client)


@pytest.fixture(scope="module")
def dhcp6(scenario):
    return DhcpClients(scenario.lab, scenario.client, v6=True)


@pytest.mark.parametrize("service", ["dhcp4", "dhcp6"])
def test_both_peers_report_their_normal_state(scenario, service):
    for host in scenario.servers:
        assert scenario.wait_for_state(host, scenario.mode, service=service) == scenario.mode, (host, service)


def test_clients_get_leases_with_the_options(scenario, dhcp):
    servers = set()
    for _ in range(16):
        lease = dhcp.lease()
        assert scenario.in_ranges(lease["address"]), lease
        assert lease["routers"] == f"{scenario.prefix}.254", lease
        assert lease["domain-name-servers"] == f"{scenario.prefix}.53,{scenario.prefix}.54", lease
        assert lease["domain-name"] == "lab.hastack.internal", lease
        assert lease["dhcp-lease-time"] == "600", lease
        servers.add(lease["dhcp-server-identifier"])
        if scenario.mode == "hot-standby" and len(servers) == 1 and _ >= 3:
            break
        if len(servers) == 2:
            break
    if scenario.mode == "hot-standby":
        assert servers == {scenario.address[scenario.primary]}, f"only the primary answers: {servers}"
    else:
        assert servers == set(scenario.address.values()), f"both servers answer some clients: {servers}"


def test_a_reserved_client_gets_its_address(scenario, dhcp):
    client = dhcp.client(mac=scenario.reserved["mac"])
    try:
        assert client.obtain()["address"] == scenario.reserved["ip"]
    finally:
        client.remove()


def test_the_partner_serves_while_the_primary_is_stopped(scenario, dhcp):
    lab, primary, partner = scenario.lab, scenario.primary, scenario.partner
    renewing = dhcp.client()
    first = renewing.obtain()
    lab.check(primary, "systemctl stop kea-dhcp4-server")
    try:
        assert scenario.wait_for_state(partner, "partner-down", timeout=30) == "partner-down"
        renewed = renewing.renew()
        assert renewed["address"] == first["address"], (first, renewed)
        assert renewed["dhcp-server-identifier"] == scenario.address[partner], renewed
        for _ in range(3):
            lease = dhcp.lease()
            assert scenario.in_ranges(lease["address"]), lease
            assert lease["dhcp-server-identifier"] == scenario.address[partner], lease
    finally:
        lab.check(primary, "systemctl start kea-dhcp4-server")
        renewing.remove()
    for host in scenario.servers:
        assert scenario.wait_for_state(host, scenario.mode, timeout=120) == scenario.mode, host
    # back in the normal state, both servers agree and no address is held by two clients
    tables = [scenario.leases(host) for host in scenario.servers]
    assert tables[0], "no leases on the primary"
    by_address = {}
    for table in tables:
        for address, mac in table.items():
            by_address.setdefault(address, set()).add(mac)
    assert all(len(macs) == 1 for macs in by_address.values()), by_address
    assert set(tables[0]) == set(tables[1]), f"the peers disagree: {set(tables[0]) ^ set(tables[1])}"


def test_dhcpv6_clients_get_addresses_with_the_options(scenario, dhcp6):
    duids, servers = scenario.server_duids(), set()
    prefix = scenario.subnet6["subnet"].split("::/")[0]
    for attempt in range(12):
        lease = dhcp6.lease()
        assert scenario.in_ranges6(lease["address"]), lease
        assert lease["name-servers"] == f"{prefix}::53", lease
        assert lease["domain-search"] == "lab.hastack.internal.", lease
        assert 0 < lease["preferred-life"] <= lease["max-life"], lease
        assert duid(lease["server-id"]) in duids, f"answered by neither server ({duids}): {lease}"
        servers.add(duids[duid(lease["server-id"])])
        if len(servers) == 2 or (scenario.mode == "hot-standby" and attempt >= 1):
            break
    if scenario.mode == "hot-standby":
        assert servers == {scenario.primary}, f"only the primary answers: {servers}"
    else:
        assert servers == set(scenario.servers), f"both servers answer some clients (by DUID): {servers}"


def test_a_dhcpv6_client_reserved_by_duid_gets_its_address(scenario, dhcp6):
    mac = scenario.reserved6["duid"].split(":", 4)[4]  # DUID-LL: 00:03 (type), 00:01 (Ethernet), the MAC
    client = dhcp6.client(mac=mac)
    try:
        assert client.duid == scenario.reserved6["duid"]
        assert client.obtain()["address"] == scenario.reserved6["ip"]
    finally:
        client.remove()


def test_a_dhcpv6_client_keeps_its_address_when_its_server_is_lost(scenario, dhcp6):
    lab, duids = scenario.lab, scenario.server_duids()
    client = dhcp6.client()
    try:
        first = client.obtain()
        serving = duids[duid(first["server-id"])]
        survivor = next(host for host in scenario.servers if host != serving)
        lab.check(serving, "systemctl stop kea-dhcp6-server")
        try:
            assert scenario.wait_for_state(survivor, "partner-down", timeout=30, service="dhcp6") == "partner-down"
            rebound = client.rebind()
            assert rebound["address"] == first["address"], (first, rebound)
            assert duids.get(duid(rebound["server-id"])) == survivor, rebound
            lease = dhcp6.lease()
            assert scenario.in_ranges6(lease["address"]), lease
            assert duids.get(duid(lease["server-id"])) == survivor, lease
        finally:
            lab.check(serving, "systemctl start kea-dhcp6-server")
    finally:
        client.remove()
    for host in scenario.servers:
        assert scenario.wait_for_state(host, scenario.mode, timeout=120, service="dhcp6") == scenario.mode, host
    # back in the normal state, the peers agree (the returning one synced what the survivor extended)
    tables = [scenario.leases6(host) for host in scenario.servers]
    assert tables[0].get(first["address"]) == client.duid, tables[0]
    assert tables[0] == tables[1], f"the peers disagree: {set(tables[0].items()) ^ set(tables[1].items())}"


def test_a_change_is_a_reload_one_peer_at_a_time_and_a_refused_config_leaves_kea_running(scenario, capsys):
    """A config Kea's validator refuses changes nothing. A changed config is reloaded (the
    servers keep their PIDs), one peer at a time while the pair is whole (kea_ha_reload): a
    DHCPv4 client asking for leases all along has none unanswered within 12 s. The figures (how
    many needed a retransmission, the primary's longest time without an answer to a DHCPINFORM
    every 100 ms) are printed: KEA-RELOAD."""
    lab = scenario.lab
    units = ("kea-dhcp4-server", "kea-dhcp6-server")
    pids = {(host, unit): lab.check(host, f"systemctl show -p MainPID --value {unit}").strip()
            for host in scenario.servers for unit in units}
    refused = lab.playbook(scenario.dir / "converge.yml", "-e", json.dumps({"kea_ha_max_lease_time": 60}))
    assert refused.returncode != 0 and "failed to validate" in refused.stdout, refused.stdout[-3000:]
    probes = {scenario.address[scenario.primary]: DhcpProbe(lab, scenario.client, scenario.address[scenario.primary],
                                                            duration_s=300)}
    with asking_for_leases(lab, scenario.client) as tries:
        changed = lab.playbook(scenario.dir / "converge.yml", "-e", json.dumps({"kea_ha_default_lease_time": 3600}))
    got = lease_figures(tries, f"KEA-RELOAD {scenario.mode}", capsys)
    probe_figures(probes, f"KEA-RELOAD {scenario.mode} primary", capsys)
    assert changed.returncode == 0, changed.stdout[-3000:]
    try:
        reloads = re.findall(r"changed: \[(\S+)\] => \(item=(kea-dhcp[46]-server)\)",
                             changed.stdout.split("one peer at a time", 1)[-1].split("TASK [", 1)[0])
        assert reloads == [(host, unit) for host in scenario.servers for unit in units], changed.stdout[-3000:]
        for host in scenario.servers:
            assert '"valid-lifetime": 3600' in lab.check(host, "cat /etc/kea/kea-dhcp4.conf")
            assert '"valid-lifetime": 3600' in lab.check(host, "cat /etc/kea/kea-dhcp6.conf")
            assert lab.check(host, "ls /run/kea").count("hastack-reload") == 0, host
            for unit in units:
                assert lab.check(host, f"systemctl show -p MainPID --value {unit}").strip() == pids[host, unit], \
                    f"{host}: {unit} was restarted, not reloaded"
        assert got["leases"] >= 5 and got["unanswered"] == 0, tries
    finally:
        restored = lab.playbook(scenario.dir / "converge.yml")
        assert restored.returncode == 0, restored.stdout[-3000:]
    for host in scenario.servers:
        for service in ("dhcp4", "dhcp6"):
            assert scenario.wait_for_state(host, scenario.mode, service=service) == scenario.mode, (host, service)


def test_a_pair_in_maintenance_is_not_reloaded_until_it_is_whole(scenario):
    """A config change while the primary is drained (playbooks/maintenance.yml): the new files
    are written, the reload is refused by name (the HA states), and the mark stays; once the
    node is restored, the next run reloads."""
    lab = scenario.lab
    maintenance = {"maintenance_group": "kea_ha", "maintenance_node": scenario.primary}
    drained = lab.playbook(REPO / "playbooks/maintenance.yml", "-e",
                           json.dumps(dict(maintenance, maintenance_action="drain")))
    assert drained.returncode == 0, drained.stdout[-3000:]
    try:
        held = lab.playbook(scenario.dir / "converge.yml", "-e", json.dumps({"kea_ha_default_lease_time": 3000}))
        out = " ".join(held.stdout.split())
        assert held.returncode != 0, out[-3000:]
        assert ("kea-dhcp4 not reloaded: the pair is not in its normal state "
                f"({scenario.mode}): node in-maintenance, partner partner-in-maintenance") in out, out[-3000:]
        assert '"valid-lifetime": 3000' in lab.check(scenario.primary, "cat /etc/kea/kea-dhcp4.conf")
        assert "hastack-reload-kea-dhcp4-server" in lab.check(scenario.primary, "ls /run/kea")
    finally:
        restored = lab.playbook(REPO / "playbooks/maintenance.yml", "-e",
                                json.dumps(dict(maintenance, maintenance_action="restore")))
        assert restored.returncode == 0, restored.stdout[-3000:]
    again = lab.playbook(scenario.dir / "converge.yml", "-e", json.dumps({"kea_ha_default_lease_time": 3000}))
    assert again.returncode == 0, again.stdout[-3000:]
    assert "changed: [%s] => (item=kea-dhcp4-server)" % scenario.primary in again.stdout, again.stdout[-3000:]
    for host in scenario.servers:
        assert lab.check(host, "ls /run/kea").count("hastack-reload") == 0, host
    back = lab.playbook(scenario.dir / "converge.yml")
    assert back.returncode == 0, back.stdout[-3000:]


def test_maintenance_of_each_server_in_turn_keeps_both_families_served(scenario, capsys):
    """playbooks/maintenance.yml on every node in turn, Kea restarted as the work: the partner
    takes the clients of both relationships (DHCPv4 and DHCPv6: ha-maintenance-start for each),
    the pair returns to its normal state in both. A DHCPv4 client asks for leases all along:
    none unanswered within 12 s (how many needed a retransmission, over 4 s, is printed)."""
    lab = scenario.lab
    with asking_for_leases(lab, scenario.client) as tries:
        result = lab.playbook(REPO / "playbooks/maintenance.yml", "-e", json.dumps(
            {"maintenance_group": "kea_ha", "maintenance_node": "all", "maintenance_work": ["restart"]}))
    got = lease_figures(tries, f"KEA-MAINTENANCE {scenario.mode}", capsys)
    assert result.returncode == 0, result.stdout[-3000:]
    out = " ".join(result.stdout.split())  # the callback folds long lines
    for node, partner in ((scenario.primary, scenario.partner), (scenario.partner, scenario.primary)):
        for service in ("dhcp4", "dhcp6"):
            assert f"MAINTENANCE {node} drained {partner} {service} partner-in-maintenance" in out, out[-3000:]
            assert f"MAINTENANCE {node} drained {node} {service} in-maintenance" in out, out[-3000:]
            for server in scenario.servers:
                assert f"MAINTENANCE {node} restored {server} {service} {scenario.mode} after" in out, out[-3000:]
    with capsys.disabled():  # how each restore went: cancels sent, an outage where they could not end it
        for node in scenario.servers:
            print(re.search(rf"MAINTENANCE {node} restored {node} dhcp4 .*? sent(, then an outage of its .*? server)?",
                            out).group(0))
    for host in scenario.servers:
        for service in ("dhcp4", "dhcp6"):
            assert scenario.state(host, service) == scenario.mode, (host, service)
    assert got["leases"] >= 5 and got["unanswered"] == 0, tries
    assert got["servers"] == sorted(scenario.address.values()), f"each server took the clients in turn: {tries}"


SUBNET = {"subnet": "10.213.0.0/24", "ranges": [{"start": "10.213.0.100", "end": "10.213.0.139"}]}


@pytest.mark.parametrize("case", ["peer not in inventory", "primary not in inventory", "range outside its subnet",
                                  "overlapping ranges", "response delay under heartbeat",
                                  "IPv4 address in an IPv6 subnet"])
def test_bad_input_stops_the_play_before_any_host_is_touched(scenario, case):
    subnet = dict(scenario.vars["hastack_dhcp_subnets"]["lan"])
    net = subnet["subnet"].rsplit(".", 1)[0]
    extra, named = {
        "peer not in inventory": ({"kea_ha_peers": {scenario.primary: {}, "hastack-mol-nosuch": {}}},
                                  "kea_ha_peers.hastack-mol-nosuch"),
        "primary not in inventory": ({"kea_ha_primary": "hastack-mol-nosuch"}, "kea_ha_primary"),
        "range outside its subnet": ({"kea_ha_subnets": {"lan": dict(subnet, ranges=[
            {"start": "10.99.0.100", "end": "10.99.0.139"}])}}, "kea_ha_subnets.lan.ranges[0].start"),
        "overlapping ranges": ({"kea_ha_subnets": {"lan": dict(subnet, ranges=[
            {"start": f"{net}.100", "end": f"{net}.139"}, {"start": f"{net}.130", "end": f"{net}.150"}])}},
            "overlaps"),
        "response delay under heartbeat": ({"kea_ha_max_response_delay": 500}, "kea_ha_max_response_delay"),
        "IPv4 address in an IPv6 subnet": ({"kea_ha_subnets": {"lan": subnet, "lan6": dict(
            scenario.subnet6, ranges=[{"start": scenario.subnet6["ranges"][0]["start"], "end": f"{net}.200"}])}},
            "kea_ha_subnets.lan6.ranges[0].end"),
    }[case]
    assert_rejected_before_any_change(scenario.lab, scenario.dir / "converge.yml", scenario.servers, extra, named,
                                      "/etc/kea/kea-dhcp4.conf /etc/kea/kea-dhcp6.conf /etc/kea/kea-ctrl-agent.conf")
