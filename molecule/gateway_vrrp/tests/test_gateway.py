"""VRRP gateway: clients use the LAN VIP as gateway and DNS; a dead router is replaced."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.labkit import DhcpClients, Lab, assert_rejected_before_any_change, dig  # noqa: E402
from tests.awx_jobs import job_template_test  # noqa: E402

CLIENT, SERVER = "hastack-mol-gw-client", "hastack-mol-gw-server"
LAN_VIP, WAN_VIP, SERVER_IP = "10.213.33.254", "10.213.34.254", "10.213.34.50"


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
    return lab


@pytest.fixture(scope="module")
def routers(lab):
    return lab.groups["gateway_vrrp"]


def test_first_router_holds_both_vips(lab, routers):
    assert lab.holders(LAN_VIP, routers) == [routers[0]]
    assert lab.holders(WAN_VIP, routers) == [routers[0]]


def test_the_role_set_forwarding_and_nonlocal_bind_on_the_routers(lab, routers):
    for router in routers:
        assert lab.check(router, "cat /proc/sys/net/ipv4/ip_forward").strip() == "1", router
        assert "net.ipv4.ip_forward=1" in lab.check(router, "cat /etc/sysctl.d/60-keepalived.conf")
        assert lab.check(router, "cat /proc/sys/net/ipv4/ip_nonlocal_bind").strip() == "1", router
    # a new network namespace starts with ip_nonlocal_bind 0: the client shows the lab presets nothing
    assert lab.check(CLIENT, "cat /proc/sys/net/ipv4/ip_nonlocal_bind").strip() == "0"


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
        # neither the client's nor the server's routes changed, yet traffic flows
        lab.check(CLIENT, f"ping -c 2 -W 2 {SERVER_IP}")
        assert dig(lab, CLIENT, LAN_VIP, "server.lab.hastack.internal") == SERVER_IP
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


def test_a_sync_group_naming_an_unknown_instance_is_refused(lab, routers):
    assert_rejected_before_any_change(
        lab, SCENARIO / "converge.yml", routers,
        {"keepalived_sync_groups": {"VG_GATEWAY": {"group": ["VI_LAN", "VI_UPSTREAM"]}}},
        "keepalived_sync_groups.VG_GATEWAY.group: unknown instances", "/etc/keepalived/keepalived.conf")
