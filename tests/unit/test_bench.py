"""bench/dns_lb.py: how it reaches the client (ssh with the lab key, podman exec without one)."""

from __future__ import annotations

import importlib.util
import shlex
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("dns_lb", Path(__file__).resolve().parents[2] / "bench/dns_lb.py")
dns_lb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dns_lb)

COMMAND = ["sh", "-c", "cat > /tmp/bench-x.queries"]


def test_a_container_client_is_reached_with_podman_exec():
    argv = dns_lb.client_command({"hastack-demo-client": {}}, "hastack-demo-client")(COMMAND)
    assert argv == ["podman", "exec", "-i", "hastack-demo-client", *COMMAND]


def test_a_vm_client_is_reached_with_ssh_and_one_quoted_remote_command():
    hostvars = {"vm-client": {"ansible_ssh_private_key_file": "/var/cache/hastack-lab/vm-lab-key",
                              "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o LogLevel=ERROR",
                              "ansible_host": "10.213.57.50"}}
    argv = dns_lb.client_command(hostvars, "vm-client")(COMMAND)
    assert argv[:7] == ["ssh", "-i", "/var/cache/hastack-lab/vm-lab-key", "-o", "StrictHostKeyChecking=no",
                        "-o", "LogLevel=ERROR"]
    assert argv[7] == "root@10.213.57.50"
    assert shlex.split(argv[8]) == COMMAND  # the remote shell sees the same words


def test_a_container_lab_client_is_reached_with_ssh_at_its_first_lab_address():
    hostvars = {"c": {"ansible_ssh_private_key_file": "/var/lib/hastack-lab/ssh/{{ lab_name }}",
                      "lab_name": "hastack-demo", "ansible_user": "root",
                      "ansible_host": "{{ (lab_addresses.values() | first) if lab_addresses is defined else x }}",
                      "lab_addresses": {"lan": "10.213.10.50", "lan_as": "10.213.12.50"}}}
    argv = dns_lb.client_command(hostvars, "c")(COMMAND)
    assert argv[:3] == ["ssh", "-i", "/var/lib/hastack-lab/ssh/hastack-demo"]
    assert argv[-2] == "root@10.213.10.50"


def test_an_unknown_client_is_named():
    with pytest.raises(SystemExit, match="nobody: not a host of the inventory"):
        dns_lb.client_command({}, "nobody")


def bench_inventory(group_vars, backend_vars=None):
    return {"dns_lb_x": {"hosts": ["p1", "p2"]},
            "_meta": {"hostvars": {"p1": group_vars, "p2": group_vars, "be1": backend_vars or {}}}}


BASE = {"hastack_dns_vip": "10.0.0.100", "hastack_dns_backends": {"be1": "10.0.0.21", "be2": "10.0.0.22"}}


def test_an_ipv4_variant_is_benched_over_ipv4_only():
    settings = dns_lb.variant_settings(bench_inventory(BASE), "dns_lb_x")
    assert settings["vip"] == "10.0.0.100" and settings["vip6"] is None


def test_a_dual_stack_variant_is_benched_against_the_backends_ipv6_address():
    dual = dict(BASE, hastack_dns_vip6="fd00:10::100")
    assert dns_lb.variant_settings(bench_inventory(dual, {"lab_addresses6": {"lan": "fd00:10::21"}}),
                                   "dns_lb_x")["backend6"] == "fd00:10::21"
    given = dict(dual, hastack_dns_backends6={"be1": "fd00:10::31"})
    assert dns_lb.variant_settings(bench_inventory(given), "dns_lb_x")["backend6"] == "fd00:10::31"
    # a backend without IPv6: the IPv6 VIP is measured against its IPv4 address
    assert dns_lb.variant_settings(bench_inventory(dual), "dns_lb_x")["backend6"] == "10.0.0.21"


def test_missing_or_empty_backends_are_named():
    with pytest.raises(SystemExit, match="hastack_dns_backends"):
        dns_lb.variant_settings(bench_inventory({"hastack_dns_vip": "10.0.0.100"}), "dns_lb_x")
    with pytest.raises(SystemExit, match="hastack_dns_backends must be a non-empty dict"):
        dns_lb.variant_settings(bench_inventory(dict(BASE, hastack_dns_backends={})), "dns_lb_x")


def test_the_table_prints_the_ipv6_ratio_beside_the_ipv4_one():
    args = dns_lb.argparse.Namespace(duration=10, max_qps=200000)
    text = dns_lb.table([("dns_lb_x", "udp", "IPv4", "10.0.0.100", (9000.0, 0.0004), "10.0.0.21", (10000.0, 0.0003)),
                         ("dns_lb_x", "udp", "IPv6", "fd00:10::100", (8000.0, None), "fd00:10::21", (10000.0, 0.0003))],
                        args)
    lines = [line for line in text.splitlines() if line]
    assert lines[2].split()[:3] == ["dns_lb_x", "UDP", "IPv4"] and " 0.90 " in lines[2] and "0.4 ms" in lines[2]
    assert lines[3].split()[:3] == ["dns_lb_x", "UDP", "IPv6"] and " 0.80 " in lines[3] and "fd00:10::100" in lines[3]


HISTOGRAM = """
Latency bucket (s): answer count
0.000000 - 0.000100: 10
0.000100 - 0.000200: 80
0.000200 - 0.000500: 9
0.000500 - 0.001000: 1
"""


def test_p99_is_the_upper_edge_of_the_bucket_that_reaches_99_percent():
    assert dns_lb.p99(HISTOGRAM) == 0.0005
    assert dns_lb.p99("no histogram") is None


def test_every_dns_lb_group_with_hosts_is_benched_by_default_but_lvs_dr():
    data = {"dns_lb_nginx": {"hosts": ["a"]}, "dns_lb_dnsdist": {"hosts": ["b"]},
            "dns_lb_dnsdist_backends": {"hosts": ["c"]}, "dns_lb_lvs_dr": {"hosts": ["d"]},
            "dns_lb_haproxy": {"children": ["x"]}, "_meta": {}}
    assert dns_lb.variant_groups(data) == ["dns_lb_dnsdist", "dns_lb_nginx"]


def test_a_backend_without_the_protocol_leaves_the_direct_figures_out():
    args = dns_lb.argparse.Namespace(duration=10, max_qps=200000)
    text = dns_lb.table([("dns_lb_x", "dot", "IPv4", "10.0.0.100", (9000.0, 0.0004), "10.0.0.21", (None, None))], args)
    row = [line for line in text.splitlines() if line.startswith("dns_lb_x")][0]
    assert row.split()[:5] == ["dns_lb_x", "DOT", "IPv4", "9000/s", "0.4"] and row.split()[6:8] == ["-", "-"]
