"""The HA metrics collector (roles/metrics/files/hastack-metrics) and monitoring.yml's
target derivation (plugins/module_utils/monitoring.py)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

import pytest

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.monitoring import MonitoringError, monitoring_targets

REPO = Path(__file__).resolve().parents[2]
loader = importlib.machinery.SourceFileLoader("hastack_metrics", str(REPO / "roles/metrics/files/hastack-metrics"))
spec = importlib.util.spec_from_loader("hastack_metrics", loader)
collector = importlib.util.module_from_spec(spec)
loader.exec_module(collector)

KEEPALIVED_CONF = """\
! Managed by Ansible
global_defs {
    router_id lb1
}

vrrp_script chk_dns {
    script "/usr/local/libexec/hastack/dnsdist-check-dns"
}

vrrp_instance VI_DNS {
    state BACKUP
    interface eth0
    virtual_router_id 58
    virtual_ipaddress {
        10.213.58.100/24 dev eth0
    }
    track_script {
        chk_dns weight -60
    }
}

vrrp_instance VI_DNS6 {
    state BACKUP
    interface eth0
    virtual_ipaddress {
        fd00:213:58::100/64 dev eth0
    }
    virtual_ipaddress_excluded {
        fd00:213:58::101 dev eth0
    }
}
"""

NOTIFY_LOG = """\
2026-12-01T10:00:00.000+0000 lb1 INSTANCE VI_DNS BACKUP priority=100
2026-12-01T10:00:00.400+0000 lb1 INSTANCE VI_DNS MASTER priority=100
2026-12-01T10:00:00.400+0000 lb1 GROUP G_DNS MASTER priority=100
2026-12-01T10:05:00.000+0000 lb1 INSTANCE VI_DNS6 BACKUP priority=100
2026-12-01T10:06:00.000+0000 lb1 INSTANCE VI_DNS FAULT priority=100
"""

LEASES = """\
failover peer "lan" state {
  my state startup at 2 2026/12/01 10:00:00;
  partner state unknown-state at 2 2026/12/01 10:00:00;
}

lease 10.0.0.100 {
  starts 2 2026/12/01 10:00:01;
}
failover peer "lan" state {
  my state normal at 2 2026/12/01 10:00:05;
  partner state communications-interrupted at 2 2026/12/01 10:01:00;
  mclt 3600;
}
"""


def test_the_vips_of_each_instance_come_from_keepalived_conf():
    assert collector.keepalived_vips(KEEPALIVED_CONF) == {
        "VI_DNS": ["10.213.58.100"], "VI_DNS6": ["fd00:213:58::100", "fd00:213:58::101"]}


def test_the_notify_log_gives_the_last_state_and_the_transitions_of_each_instance():
    last, count = collector.notify_log(NOTIFY_LOG + "a line that is no transition\n")
    assert last == {"VI_DNS": "FAULT", "VI_DNS6": "BACKUP"}
    assert count == {"VI_DNS": 3, "VI_DNS6": 1}  # (the GROUP line is not an instance's)


def test_the_latest_transition_wins_even_when_its_line_came_first():
    # seen on a loaded host: the MASTER notify (earlier) appended after the BACKUP one
    log = ("2026-12-02T00:19:29.596+0000 hp2 INSTANCE VI_DNS BACKUP priority=140\n"
           "2026-12-02T00:19:29.497+0000 hp2 INSTANCE VI_DNS MASTER priority=140\n")
    assert collector.notify_log(log) == ({"VI_DNS": "BACKUP"}, {"VI_DNS": 2})


def test_the_last_failover_state_of_dhcpd_wins():
    assert collector.dhcpd_failover(LEASES) == {"lan": {"my": "normal", "partner": "communications-interrupted"}}


def test_kea_pools_pair_the_subnets_with_their_statistics():
    config = {"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24"}],
                        "shared-networks": [{"subnet4": [{"id": 7, "subnet": "10.0.7.0/24"}]}]}}
    stats = {"subnet[1].total-addresses": [[80, "2026-12-01 10:00:00"]],
             "subnet[1].assigned-addresses": [[12, "2026-12-01 10:00:00"], [11, "2026-12-01 09:00:00"]],
             "subnet[7].total-addresses": [[5, "x"]]}
    assert collector.kea_pools(config, stats, "dhcp4") == [("10.0.0.0/24", 80, 12), ("10.0.7.0/24", 5, 0)]
    config6 = {"Dhcp6": {"subnet6": [{"id": 2, "subnet": "fd00::/64"}]}}
    stats6 = {"subnet[2].total-nas": [[256, "x"]], "subnet[2].assigned-nas": [[3, "x"]]}
    assert collector.kea_pools(config6, stats6, "dhcp6") == [("fd00::/64", 256, 3)]


def test_the_textfile_holds_every_metric_with_its_help_and_type(tmp_path, monkeypatch):
    (tmp_path / "keepalived.conf").write_text(KEEPALIVED_CONF)
    (tmp_path / "notify.log").write_text(NOTIFY_LOG)
    (tmp_path / "dhcpd.leases").write_text(LEASES)
    monkeypatch.setattr(collector, "addresses_held", lambda: {"10.213.58.100", "127.0.0.1"})
    monkeypatch.setattr(collector, "unit_enabled", lambda unit: False)
    out = tmp_path / "hastack.prom"
    assert collector.main(["--output", str(out), "--keepalived-config", str(tmp_path / "keepalived.conf"),
                           "--notify-log", str(tmp_path / "notify.log"), "--kea-socket",
                           f"dhcp4={tmp_path / 'no-such-socket'}", "--dhcpd-leases",
                           str(tmp_path / "dhcpd.leases")]) == 0
    lines = out.read_text().splitlines()
    assert 'hastack_vrrp_vip_held{vrrp_instance="VI_DNS",vip="10.213.58.100"} 1' in lines
    assert 'hastack_vrrp_vip_held{vrrp_instance="VI_DNS6",vip="fd00:213:58::100"} 0' in lines
    assert 'hastack_vrrp_state{vrrp_instance="VI_DNS",state="FAULT"} 1' in lines
    assert 'hastack_vrrp_state{vrrp_instance="VI_DNS",state="MASTER"} 0' in lines
    assert 'hastack_vrrp_transitions_total{vrrp_instance="VI_DNS"} 3' in lines
    assert 'hastack_dhcp_failover_state{peer="lan",side="partner",state="communications-interrupted"} 1' in lines
    assert "# TYPE hastack_vrrp_transitions_total counter" in lines
    assert not any(line.startswith("hastack_dhcp_kea_up") for line in lines)  # no socket, no unit: no Kea here
    assert out.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".hastack-")] == []


def test_an_enabled_kea_without_its_socket_is_down_and_an_unused_one_is_skipped(tmp_path):
    metrics = collector.Metrics()
    collector.kea(metrics, {"dhcp4": str(tmp_path / "gone4"), "dhcp6": str(tmp_path / "gone6")},
                  enabled=lambda unit: unit == "kea-dhcp4-server")
    assert metrics.render().splitlines()[2:] == ['hastack_dhcp_kea_up{service="dhcp4"} 0']


def test_a_node_without_keepalived_or_dhcp_writes_an_empty_file(tmp_path, monkeypatch):
    monkeypatch.setattr(collector, "unit_enabled", lambda unit: False)
    out = tmp_path / "hastack.prom"
    missing = str(tmp_path / "missing")
    collector.main(["--output", str(out), "--keepalived-config", missing, "--notify-log", missing,
                    "--dhcpd-leases", missing])
    assert out.read_text() == "\n"


def test_label_values_are_escaped():
    metrics = collector.Metrics()
    metrics.add("m", "gauge", "h", {"a": 'x"y\\z'}, 1)
    assert 'm{a="x\\"y\\\\z"} 1' in metrics.render().splitlines()


HOSTVARS = {
    "lb1": {"metrics_scrape_address": "10.0.0.11:9100", "dnsdist_webserver_address": "10.0.0.11",
            "dnsdist_webserver_password": "pw", "hastack_dns_vip": "10.0.0.100", "hastack_dns_vip6": "fd00::100",
            "hastack_dns_check_name": "www.example.lab"},
    "lb2": {"metrics_scrape_address": "10.0.0.12:9100", "dnsdist_webserver_address": "10.0.0.12",
            "dnsdist_webserver_password": "pw", "dnsdist_webserver_port": 8084},
    "kea1": {"metrics_scrape_address": "10.0.0.41:9100", "hastack_dns_vip": "10.0.0.100",
             "hastack_dns_check_name": "www.example.lab"},
    "hp1": {"metrics_scrape_address": "10.0.0.31:9100", "haproxy_stats_address": "10.0.0.31",
            "haproxy_stats_password": "stats", "hastack_dns_vip": "10.0.0.101", "hastack_dns_check_name": "www.example.lab"},
}


def test_the_targets_of_the_variant_groups():
    groups = {"kea_ha": ["kea1"], "dns_lb_dnsdist": ["lb1", "lb2"], "dns_lb_nginx": [], "monitoring": ["prom"],
              "dns_lb_haproxy": ["hp1"]}
    targets = monitoring_targets(HOSTVARS, groups, ["kea_ha", "dns_lb_dnsdist", "dns_lb_haproxy", "dns_lb_nginx"])
    assert targets["node"] == [{"address": "10.0.0.41:9100", "host": "kea1", "variant": "kea_ha"},
                               {"address": "10.0.0.11:9100", "host": "lb1", "variant": "dns_lb_dnsdist"},
                               {"address": "10.0.0.12:9100", "host": "lb2", "variant": "dns_lb_dnsdist"},
                               {"address": "10.0.0.31:9100", "host": "hp1", "variant": "dns_lb_haproxy"}]
    assert [(t["job"], t["host"], t["address"], t["username"], t["password"]) for t in targets["services"]] == [
        ("dnsdist", "lb1", "10.0.0.11:8083", "prometheus", "pw"), ("dnsdist", "lb2", "10.0.0.12:8084", "prometheus", "pw"),
        ("haproxy", "hp1", "10.0.0.31:8404", "admin", "stats")]
    # kea_ha inherits hastack_dns_vip from all:vars but serves no DNS: the probes are dnsdist's
    # and haproxy's (TCP only: haproxy has no UDP)
    assert [(p["vip"], p["query_type"], p["variant"], p["protocols"]) for p in targets["dns_probes"]] == [
        ("10.0.0.100", "A", "dns_lb_dnsdist", ["udp", "tcp"]), ("fd00::100", "AAAA", "dns_lb_dnsdist", ["udp", "tcp"]),
        ("10.0.0.101", "A", "dns_lb_haproxy", ["tcp"])]


def test_the_dns_backends_get_node_and_bind_targets_and_no_probe():
    hostvars = {"be1": {"metrics_scrape_address": "10.0.0.21:9100", "metrics_bind_scrape_address": "10.0.0.21:9119",
                        "hastack_dns_vip": "10.0.0.100", "hastack_dns_check_name": "www.example.lab"},
                "lb1": {"metrics_scrape_address": "10.0.0.11:9100", "hastack_dns_vip": "10.0.0.100",
                        "hastack_dns_check_name": "www.example.lab"}}
    targets = monitoring_targets(hostvars, {"dns_lb_dnsdist": ["lb1"], "dns_lb_dnsdist_backends": ["be1"]},
                                 ["dns_lb_dnsdist"], ["dns_lb_dnsdist_backends"])
    assert [t["host"] for t in targets["node"]] == ["lb1", "be1"]
    assert targets["bind"] == [{"address": "10.0.0.21:9119", "host": "be1", "variant": "dns_lb_dnsdist_backends"}]
    assert [p["variant"] for p in targets["dns_probes"]] == ["dns_lb_dnsdist"]


def test_a_node_in_two_groups_is_scraped_once_and_loopback_web_servers_are_not():
    hostvars = {"a": {"metrics_scrape_address": "10.0.0.1:9100", "dnsdist_webserver_address": "127.0.0.1"}}
    targets = monitoring_targets(hostvars, {"vrrp_vip": ["a"], "dns_lb_dnsdist": ["a"]},
                                 ["vrrp_vip", "dns_lb_dnsdist"])
    assert targets == {"node": [{"address": "10.0.0.1:9100", "host": "a", "variant": "vrrp_vip"}],
                       "services": [], "dns_probes": [], "bind": []}


@pytest.mark.parametrize("hostvars, named", [
    ({"a": {}}, "metrics_scrape_address"),
    ({"a": {"metrics_scrape_address": "10.0.0.1:9100", "dnsdist_webserver_address": "10.0.0.1"}},
     "dnsdist_webserver_password"),
    ({"a": {"metrics_scrape_address": "10.0.0.1:9100", "haproxy_stats_address": "10.0.0.1",
            "haproxy_stats_password": ""}}, "haproxy_stats_password"),
])
def test_what_cannot_be_scraped_is_refused_by_name(hostvars, named):
    with pytest.raises(MonitoringError, match=named):
        monitoring_targets(hostvars, {"dns_lb_dnsdist": ["a"]}, ["dns_lb_dnsdist"])


def test_monitoring_yml_plays_name_the_groups_of_its_vars_file():
    # a play's hosts cannot come from its vars files, so the lists are written twice: pinned here
    import yaml

    plays = yaml.safe_load((REPO / "playbooks/monitoring.yml").read_text())
    groups = yaml.safe_load((REPO / "playbooks/vars/monitoring.yml").read_text())
    assert plays[1]["hosts"] == groups["hastack_monitoring_variants"]
    assert plays[2]["hosts"] == groups["hastack_monitoring_backends"]
