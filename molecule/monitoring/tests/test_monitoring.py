"""Metrics and alerts on the lab's Prometheus: each alert fires on a real break of the
variants beside it (a dnsdist pair, a Kea HA pair) and clears after the repair."""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.labkit import (  # noqa: E402
    DhcpClients,
    KeaPair,
    Lab,
    assert_rejected_before_any_change,
    cut,
    kdig,
    poll,
    recap_changes,
)

REPO = SCENARIO.parent.parent
VIP, VIP6 = "10.213.59.100", "fd00:213:59::100"  # dnsdist's
HP_VIP, HP_VIP6 = "10.213.59.101", "fd00:213:59::101"  # haproxy's
SUBNET = "10.213.59.0/24"


class Prometheus:
    """The lab's Prometheus, asked through its HTTP API from its own host."""

    def __init__(self, lab: Lab, host: str, address: str):
        self.lab, self.host, self.url = lab, host, f"http://{address}:9090"

    def api(self, path: str, **params: str) -> dict:
        args = " ".join(f"--data-urlencode {shlex.quote(f'{key}={value}')}" for key, value in params.items())
        out = self.lab.check(self.host, f"curl -sS --max-time 5 -G {args} {self.url}/api/v1/{path}")
        answer = json.loads(out)
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, expr: str) -> list[dict]:
        return self.api("query", query=expr)["result"]

    def alerts(self, name: str, **labels: str) -> list[dict]:
        return [alert for alert in self.api("alerts")["alerts"] if alert["labels"]["alertname"] == name
                and all(alert["labels"].get(key) == value for key, value in labels.items())]

    def wait_firing(self, name: str, timeout: float = 90.0, **labels: str) -> list[dict]:
        seen = poll(lambda: self.alerts(name, **labels),
                    lambda alerts: any(alert["state"] == "firing" for alert in alerts), timeout, 2)
        assert any(alert["state"] == "firing" for alert in seen), \
            f"{name} {labels} did not fire within {timeout} s: {seen}"
        return seen

    def wait_cleared(self, name: str, timeout: float = 90.0, **labels: str) -> None:
        seen = poll(lambda: self.alerts(name, **labels), lambda alerts: not alerts, timeout, 2)
        assert not seen, f"{name} {labels} did not clear within {timeout} s: {seen}"


@pytest.fixture(scope="module")
def lab():
    return Lab(SCENARIO / "inventory.yml")


@pytest.fixture(scope="module")
def prom(lab):
    return Prometheus(lab, lab.groups["monitoring"][0], "10.213.59.30")


@pytest.fixture(scope="module")
def kea(lab):
    return KeaPair(lab, lab.groups["clients"][0], {"hastack-mol-mon-kea1": "10.213.59.41",
                                                   "hastack-mol-mon-kea2": "10.213.59.42"})


def quiet(prom: Prometheus) -> list[dict]:
    """The alerts pending or firing now (the tests start from and return to none)."""
    return prom.api("alerts")["alerts"]


def test_a_second_run_of_monitoring_yml_changes_nothing(lab):
    result = lab.playbook(REPO / "playbooks/monitoring.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    changes = recap_changes(result.stdout)
    assert len(changes) == 11 and set(changes.values()) == {0}, changes


def test_every_target_is_scraped_and_every_probe_answers(lab, prom):
    # every node of the variants (8) and both DNS backends (node exporter and BIND exporter),
    # both dnsdist web servers and haproxy stats listeners, the 6 DNS probes (dnsdist's IPv4
    # and IPv6 VIP over UDP and TCP, haproxy's over TCP), Prometheus itself: all up
    targets = poll(lambda: prom.api("targets")["activeTargets"],
                   lambda ts: len(ts) == 23 and all(t["health"] == "up" for t in ts), 60, 2)
    health = {(t["labels"]["job"], t["labels"].get("host") or t["labels"].get("__param_target")
               or t["labels"]["instance"], t["labels"].get("protocol", "")): t["health"] for t in targets}
    assert len(targets) == 23 and set(health.values()) == {"up"}, health
    probes = poll(lambda: prom.query('probe_success{job="dns_vip"}'),
                  lambda r: len(r) == 6 and all(x["value"][1] == "1" for x in r), 60, 2)
    assert sorted((p["metric"]["vip"], p["metric"]["protocol"], p["value"][1]) for p in probes) == sorted([
        (VIP, "tcp", "1"), (VIP, "udp", "1"), (VIP6, "tcp", "1"), (VIP6, "udp", "1"),
        (HP_VIP, "tcp", "1"), (HP_VIP6, "tcp", "1")])


def test_the_ha_metrics_show_the_pairs(prom):
    held = {(r["metric"]["vip"], r["metric"]["host"]): r["value"][1]
            for r in prom.query('hastack_vrrp_vip_held{variant="dns_lb_dnsdist"}')}
    assert held == {(VIP, "hastack-mol-mon-lb1"): "1", (VIP, "hastack-mol-mon-lb2"): "0",
                    (VIP6, "hastack-mol-mon-lb1"): "1", (VIP6, "hastack-mol-mon-lb2"): "0"}, held
    master = {r["metric"]["host"] for r in prom.query('hastack_vrrp_state{state="MASTER"} == 1')}
    assert master == {"hastack-mol-mon-lb1", "hastack-mol-mon-hp1"}, master
    ha = {r["metric"]["host"]: r["metric"]["state"] for r in prom.query("hastack_dhcp_ha_state == 1")}
    assert ha == {"hastack-mol-mon-kea1": "hot-standby", "hastack-mol-mon-kea2": "hot-standby"}, ha
    pool = {r["metric"]["host"]: r["value"][1] for r in prom.query(f'hastack_dhcp_pool_addresses{{subnet="{SUBNET}"}}')}
    assert pool == {"hastack-mol-mon-kea1": "5", "hastack-mol-mon-kea2": "5"}, pool
    failover = {(r["metric"]["host"], r["metric"]["side"]): r["metric"]["state"]
                for r in prom.query("hastack_dhcp_failover_state == 1")}
    assert failover == {(host, side): "normal" for host in ("hastack-mol-mon-dh1", "hastack-mol-mon-dh2")
                        for side in ("my", "partner")}, failover
    backends = {(r["metric"]["host"], r["metric"]["server"]): r["value"][1] for r in prom.query("dnsdist_server_status")}
    assert set(backends.values()) == {"1"} and len(backends) == 4, backends
    # BIND's own statistics: up, and the queries it answered counted
    bind = {r["metric"]["host"]: r["value"][1] for r in prom.query("bind_up")}
    assert bind == {"hastack-mol-mon-be1": "1", "hastack-mol-mon-be2": "1"}, bind
    queries = prom.query('sum by (host) (bind_incoming_queries_total{type="A"})')
    assert len(queries) == 2 and all(float(r["value"][1]) > 0 for r in queries), queries
    up = {(r["metric"]["host"], r["metric"]["server"]) for r in prom.query('haproxy_server_status{state="UP"} == 1')}
    assert {server for _, server in up} == {"be1", "be2"} and {host for host, _ in up} == {
        "hastack-mol-mon-hp1", "hastack-mol-mon-hp2"}, up
    assert quiet(prom) == [], "alerts before any break"


def test_metrics_only_on_management_addresses_and_no_secret_in_the_clear(lab, prom):
    client, lb1 = lab.groups["clients"][0], "hastack-mol-mon-lb1"
    # node exporter answers on the node's own address, not on the VIP it holds
    assert "hastack_vrrp_vip_held" in lab.check(client, "curl -sS --max-time 5 http://10.213.59.11:9100/metrics")
    assert lab.run(client, f"curl -sS --max-time 5 http://{VIP}:9100/metrics").rc != 0
    # the blackbox exporter answers Prometheus's host only (127.0.0.1)
    assert lab.run(client, "curl -sS --max-time 5 http://10.213.59.30:9115/metrics").rc != 0
    # dnsdist's metrics need the password (and the client is outside the web server's ACL)
    prom_host = lab.groups["monitoring"][0]
    assert lab.check(prom_host, "curl -s -o /dev/null -w '%{http_code}' --max-time 5 "
                                "http://10.213.59.11:8083/metrics").strip() == "401"
    assert lab.run(client, "curl -s --max-time 5 -u x:lab-only-web http://10.213.59.11:8083/metrics").stdout == ""
    # so do haproxy's
    assert lab.check(prom_host, "curl -s -o /dev/null -w '%{http_code}' --max-time 5 "
                                "http://10.213.59.13:8404/metrics").strip() == "401"
    # the passwords live in files only root and Prometheus read, never in prometheus.yml
    for secret in (f"dnsdist-{lb1}", "haproxy-hastack-mol-mon-hp1"):
        assert lab.check(prom_host, f"stat -c '%a %U %G' /etc/prometheus/secrets/{secret}").split() == \
            ["640", "root", "prometheus"]
    config = lab.check(prom_host, "cat /etc/prometheus/prometheus.yml")
    assert "lab-only-web" not in config and "lab-only-stats" not in config


def test_a_backend_down_fires_and_clears(lab, prom):
    be1 = "hastack-mol-mon-be1"
    lab.check(be1, "systemctl stop named")
    try:
        prom.wait_firing("HastackDNSBackendDown", server="be1", host="hastack-mol-mon-lb1")
        prom.wait_firing("HastackDNSBackendDown", server="be1", host="hastack-mol-mon-hp1")
        # the VIPs still answer (dnsdist and haproxy send every query to be2)
        assert kdig(lab, lab.groups["clients"][0], VIP, "www.abc.local") == "10.213.59.80"
        assert kdig(lab, lab.groups["clients"][0], HP_VIP, "www.abc.local", "+tcp") == "10.213.59.80"
    finally:
        lab.check(be1, "systemctl start named")
    prom.wait_cleared("HastackDNSBackendDown")


def test_a_vip_held_by_no_node_fires_and_clears(lab, prom):
    lbs = lab.groups["dns_lb_dnsdist"]
    for lb in lbs:
        lab.check(lb, "systemctl stop keepalived")
    try:
        prom.wait_firing("HastackVIPNotHeld", vip=VIP)
        prom.wait_firing("HastackVIPNotHeld", vip=VIP6)
        prom.wait_firing("HastackDNSVIPNotAnswering", vip=VIP, protocol="udp")
    finally:
        for lb in lbs:
            lab.check(lb, "systemctl start keepalived")
    prom.wait_cleared("HastackVIPNotHeld")
    prom.wait_cleared("HastackDNSVIPNotAnswering")


def test_a_vip_held_by_two_nodes_fires_and_clears(lab, prom):
    # lb2 hears no advert: it takes the VIPs while lb1 keeps them (a split brain)
    with cut(lab, ["hastack-mol-mon-lb2"], "meta l4proto vrrp"):
        firing = prom.wait_firing("HastackVIPHeldTwice", vip=VIP)
        assert firing[0]["value"].startswith("2"), firing
    prom.wait_cleared("HastackVIPHeldTwice")


def test_a_flapping_vrrp_instance_fires_and_clears(lab, prom):
    # lb2 loses lb1's adverts 4 times: 8 transitions (to MASTER and back) within seconds,
    # over the threshold of 4 in the lab's 30 s window; the alert clears once the window
    # has none
    lb2 = "hastack-mol-mon-lb2"
    for _ in range(4):
        with cut(lab, [lb2], "meta l4proto vrrp"):
            both = ["hastack-mol-mon-lb1", lb2]
            assert sorted(lab.wait_for_holders(VIP, both, both)) == both, "lb2 did not take the VIP"
        assert lab.wait_for_holders(VIP, both, ["hastack-mol-mon-lb1"]) == ["hastack-mol-mon-lb1"]
    prom.wait_firing("HastackVRRPFlapping", host=lb2)
    prom.wait_cleared("HastackVRRPFlapping", timeout=120)


def test_a_full_dhcp_pool_fires_and_clears(lab, prom, kea):
    dhcp = DhcpClients(lab, lab.groups["clients"][0])
    leased = [dhcp.lease()["address"] for _ in range(5)]
    try:
        assert sorted(leased) == [f"10.213.59.{n}" for n in range(200, 205)], leased
        firing = prom.wait_firing("HastackDHCPPoolFull", subnet=SUBNET)
        assert firing[0]["value"].startswith("1"), firing
    finally:
        # the repair: the leases released on both servers
        for server in kea.addresses:
            for address in leased:
                kea.answer(server, "lease4-del", {"ip-address": address})
    prom.wait_cleared("HastackDHCPPoolFull")


def test_an_ha_pair_out_of_its_normal_state_fires_and_clears(lab, prom, kea):
    kea2 = "hastack-mol-mon-kea2"
    lab.check(kea2, "systemctl stop kea-dhcp4-server")
    try:
        prom.wait_firing("HastackDHCPHANotNormal", host="hastack-mol-mon-kea1")
        prom.wait_firing("HastackDHCPKeaDown", host=kea2)
    finally:
        lab.check(kea2, "systemctl start kea-dhcp4-server")
    assert kea.wait_for_states({server: "hot-standby" for server in kea.addresses}, timeout=90) == \
        {server: "hot-standby" for server in kea.addresses}
    prom.wait_cleared("HastackDHCPHANotNormal")
    prom.wait_cleared("HastackDHCPKeaDown")


def test_a_dhcpd_failover_pair_out_of_its_normal_state_fires_and_clears(lab, prom):
    dh2 = "hastack-mol-mon-dh2"
    lab.check(dh2, "systemctl stop isc-dhcp-server")
    try:
        firing = prom.wait_firing("HastackDHCPFailoverNotNormal", host="hastack-mol-mon-dh1")
        assert firing[0]["labels"]["state"] == "communications-interrupted", firing
    finally:
        lab.check(dh2, "systemctl start isc-dhcp-server")
    prom.wait_cleared("HastackDHCPFailoverNotNormal", timeout=120)


def test_a_node_whose_metrics_are_gone_fires_and_clears(lab, prom):
    kea2 = "hastack-mol-mon-kea2"
    lab.check(kea2, "systemctl stop prometheus-node-exporter")
    try:
        prom.wait_firing("HastackMetricsDown", host=kea2)
    finally:
        lab.check(kea2, "systemctl start prometheus-node-exporter")
    prom.wait_cleared("HastackMetricsDown")
    assert poll(lambda: quiet(prom), lambda alerts: alerts == [], 90, 2) == [], "alerts left after the repairs"


def test_bad_input_is_refused_before_any_host_is_touched(lab):
    prom_host = lab.groups["monitoring"][0]
    assert_rejected_before_any_change(
        lab, REPO / "playbooks/monitoring.yml", [prom_host], {"prometheus_alert_pool_fill": 80},
        "prometheus_alert_pool_fill", "/etc/prometheus/prometheus.yml /etc/prometheus/rules/hastack-alerts.yml")
