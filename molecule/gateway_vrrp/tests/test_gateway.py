"""VRRP gateway: clients use the LAN VIP as gateway and DNS; a dead router is replaced."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.labkit import DhcpClients, Lab, assert_rejected_before_any_change, dig, poll  # noqa: E402
from tests.awx_jobs import job_template_test  # noqa: E402

CLIENT, SERVER = "hastack-mol-gw-client", "hastack-mol-gw-server"
LAN_VIP, WAN_VIP, SERVER_IP = "10.213.33.254", "10.213.34.254", "10.213.34.50"
LAN_VIP6, WAN_VIP6, SERVER_IP6 = "fd00:213:33::254", "fd00:213:34::254", "fd00:213:34::50"
# the virtual router's link-local address: EUI-64 of the VRRP MAC 00:00:5e:00:02:22 (VRID 34)
ROUTER6 = "fe80::200:5eff:fe00:222"
POOL6 = (0x1000, 0x10ff)


# idempotence, as AWX runs the variant (in place of Molecule's idempotence step)
test_the_awx_job_template_runs_and_changes_nothing = job_template_test(
    "gateway_vrrp", SCENARIO / "inventory.yml")


@pytest.fixture(scope="module")
def lab():
    lab = Lab(SCENARIO / "inventory.yml")
    # the static client's gateway is the LAN VIP; the upstream server routes the LAN back
    # through the upstream VIP (both only reach lab hosts: the lab networks are internal)
    lab.check(CLIENT, f"ip route replace default via {LAN_VIP}")
    lab.check(SERVER, f"ip route replace 10.213.33.0/24 via {WAN_VIP}")
    # IPv6: the client's default router comes from the routers' advertisements (below)
    lab.check(SERVER, f"ip -6 route replace fd00:213:33::/64 via {WAN_VIP6}")
    return lab


@pytest.fixture(scope="module")
def routers(lab):
    return lab.groups["gateway_vrrp"]


def test_first_router_holds_both_vips(lab, routers):
    for vip in (LAN_VIP, WAN_VIP, LAN_VIP6, WAN_VIP6, ROUTER6):
        assert lab.holders(vip, routers) == [routers[0]], vip


def router_advertisements(lab):
    """The RAs the client receives within 2 s of a router solicitation (rdisc6), one
    dict per advertising router (its last RA: a router that has just started may send an
    unsolicited one beside its answer): source, prefix, flags, DNS server."""
    out = lab.check(CLIENT, "rdisc6 -m -n -w 2000 -r 1 eth0")
    adverts, current = {}, {}
    for line in out.splitlines():
        key, _, value = (part.strip() for part in line.partition(":"))
        if key in ("Stateful address conf.", "Prefix", "Recursive DNS server", "Router lifetime"):
            current[key] = value.split()[0]
        elif line.startswith(" from "):
            source = line.split()[1]
            adverts[source] = dict(current, source=source)
            current = {}
    return list(adverts.values())


def test_only_the_master_advertises_the_prefix_from_the_virtual_router_address(lab, routers):
    adverts = router_advertisements(lab)
    assert adverts == [{"Stateful address conf.": "Yes", "Prefix": "fd00:213:33::/64",
                        "Recursive DNS server": LAN_VIP6, "Router lifetime": "1800",
                        "source": ROUTER6}], adverts
    # the client's kernel took it as its default router
    assert f"default via {ROUTER6} dev eth0 proto ra" in lab.check(CLIENT, "ip -6 route show default")
    # the backup's own link-local address is deprecated: it cannot advertise
    assert "deprecated" in lab.check(routers[1], "ip -6 -o addr show dev eth0 scope link")


def test_the_client_reaches_upstream_over_ipv6_through_the_advertised_router(lab):
    lab.check(CLIENT, f"ping -6 -c 2 -W 2 {SERVER_IP6}")
    assert dig(lab, CLIENT, LAN_VIP6, "server.lab.hastack.internal", "AAAA") == SERVER_IP6
    assert dig(lab, CLIENT, LAN_VIP6, "server.lab.hastack.internal") == SERVER_IP


def test_dhcpv6_hands_out_the_ipv6_vip_as_dns_server(lab):
    lease = DhcpClients(lab, CLIENT).lease6()
    assert POOL6[0] <= int(lease["address"].rsplit(":", 1)[1], 16) <= POOL6[1], lease
    assert lease["name-servers"] == LAN_VIP6, lease


def test_the_role_set_forwarding_and_nonlocal_bind_on_the_routers(lab, routers):
    for router in routers:
        assert lab.check(router, "cat /proc/sys/net/ipv4/ip_forward").strip() == "1", router
        assert "net.ipv4.ip_forward=1" in lab.check(router, "cat /etc/sysctl.d/60-keepalived.conf")
        assert lab.check(router, "cat /proc/sys/net/ipv4/ip_nonlocal_bind").strip() == "1", router
    # a new network namespace starts with ip_nonlocal_bind 0: the client shows the lab presets nothing
    assert lab.check(CLIENT, "cat /proc/sys/net/ipv4/ip_nonlocal_bind").strip() == "0"
    for router in routers:
        assert lab.check(router, "cat /proc/sys/net/ipv6/conf/all/forwarding").strip() == "1", router


def test_the_static_client_reaches_upstream_through_the_vip(lab):
    lab.check(CLIENT, f"ping -c 2 -W 2 {SERVER_IP}")


def test_dns_on_the_gateway_vip(lab):
    assert dig(lab, CLIENT, LAN_VIP, "server.lab.hastack.internal") == SERVER_IP


def test_dhcp_hands_out_the_vip_as_router_and_dns(lab):
    lease = DhcpClients(lab, CLIENT).lease()
    assert lease["routers"] == LAN_VIP
    assert lease["domain-name-servers"] == LAN_VIP


def test_a_dead_router_is_replaced_and_the_static_client_keeps_its_gateway(lab, routers):
    master, backup = routers
    subprocess.run(["podman", "pause", master], check=True, capture_output=True)
    try:
        assert lab.wait_for_holders(LAN_VIP, [backup], [backup], timeout=5) == [backup]
        assert lab.wait_for_holders(WAN_VIP, [backup], [backup], timeout=5) == [backup]
        for vip in (LAN_VIP6, WAN_VIP6, ROUTER6):
            assert lab.wait_for_holders(vip, [backup], [backup], timeout=5) == [backup], vip
        # neither the client's nor the server's routes changed, yet traffic flows
        lab.check(CLIENT, f"ping -c 2 -W 2 {SERVER_IP}")
        assert dig(lab, CLIENT, LAN_VIP, "server.lab.hastack.internal") == SERVER_IP
        # IPv6: the advertised default router moved with the VIPs (keepalived's unsolicited
        # neighbour advertisement points the client at the backup's MAC)
        ping6 = poll(lambda: lab.run(CLIENT, f"ping -6 -c 1 -W 1 {SERVER_IP6}").rc, lambda rc: rc == 0,
                     timeout=10, interval=0.5)
        assert ping6 == 0, f"no IPv6 path to {SERVER_IP6} through {ROUTER6} within 10 s of the failover"
        assert f"default via {ROUTER6}" in lab.check(CLIENT, "ip -6 route show default")
        assert dig(lab, CLIENT, LAN_VIP6, "server.lab.hastack.internal", "AAAA") == SERVER_IP6
        assert [a["source"] for a in router_advertisements(lab)] == [ROUTER6]
    finally:
        subprocess.run(["podman", "unpause", master], check=True, capture_output=True)
    assert lab.wait_for_holders(LAN_VIP, routers, [master]) == [master]
    assert lab.wait_for_holders(WAN_VIP, routers, [master]) == [master]


def test_stopping_dnsmasq_moves_both_vips_together(lab, routers):
    master, backup = routers
    lab.check(master, "systemctl stop dnsmasq")
    try:
        assert lab.wait_for_holders(LAN_VIP, routers, [backup], timeout=5) == [backup]
        assert lab.wait_for_holders(WAN_VIP, routers, [backup], timeout=5) == [backup]
        lab.check(CLIENT, f"ping -c 1 -W 2 {SERVER_IP}")
    finally:
        lab.check(master, "systemctl start dnsmasq")
    assert lab.wait_for_holders(LAN_VIP, routers, [master]) == [master]


def test_maintenance_drains_the_sync_group_by_fault_and_restores_it(lab, routers):
    """The gateway's instances are in a sync group, which ignores track weights: the drain
    file puts them in FAULT together, so both VIPs move to the backup and the static client
    keeps its gateway; the restore brings them back to the master."""
    master, backup = routers

    def maintenance(action):
        return lab.playbook(SCENARIO.parent.parent / "playbooks/maintenance.yml", "-e", json.dumps(
            {"maintenance_group": "gateway_vrrp", "maintenance_node": master, "maintenance_action": action}))

    result = maintenance("drain")
    try:
        assert result.returncode == 0, result.stdout[-3000:]
        for vip in (LAN_VIP, WAN_VIP, LAN_VIP6, WAN_VIP6):
            assert lab.holders(vip, routers) == [backup], vip
            assert f"MAINTENANCE {master} drained {vip} {backup}" in result.stdout, vip
        lab.check(CLIENT, f"ping -c 1 -W 2 {SERVER_IP}")
    finally:
        result = maintenance("restore")
    assert result.returncode == 0, result.stdout[-3000:]
    for vip in (LAN_VIP, WAN_VIP, LAN_VIP6, WAN_VIP6):
        assert lab.holders(vip, routers) == [master], vip


def test_a_sync_group_naming_an_unknown_instance_is_refused(lab, routers):
    assert_rejected_before_any_change(
        lab, SCENARIO / "converge.yml", routers,
        {"keepalived_sync_groups": {"VG_GATEWAY": {"group": ["VI_LAN", "VI_UPSTREAM"]}}},
        "keepalived_sync_groups.VG_GATEWAY.group: unknown instances", "/etc/keepalived/keepalived.conf")


BAD_IPV6 = [
    ("router advertisements without an IPv6 pool",
     {"dnsmasq_dhcp_pools": [{"subnet": "10.213.33.0/24", "start": "10.213.33.100", "end": "10.213.33.199"}]},
     "dnsmasq_ra_enabled: needs an IPv6 pool in dnsmasq_dhcp_pools"),
    ("IPv6 upstream VIP on the LAN", {"hastack_wan_vip6": "fd00:213:33::253"},
     "hastack_wan_vip6: on the LAN VIP's interface eth0"),
]


@pytest.mark.parametrize("what,extra,named", BAD_IPV6, ids=[b[0] for b in BAD_IPV6])
def test_bad_ipv6_input_is_refused_before_any_host_is_touched(lab, routers, what, extra, named):
    assert_rejected_before_any_change(lab, SCENARIO / "converge.yml", routers, extra, named,
                                      "/etc/dnsmasq.d/hastack.conf /etc/keepalived/keepalived.conf")
