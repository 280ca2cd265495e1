"""Bad input stops the play before any host is touched, and the refusal's first line is the
useful sentence naming the variable (not Ansible's "Finalization of task args ... failed"
wrapper around a filter error). Runs ansible-playbook on local hosts with each role's
validate tasks (include_role tasks_from: validate) or the variants' wiring tasks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = shutil.which("ansible-playbook") or str(Path(sys.executable).parent / "ansible-playbook")
VIP_A = {"interface": "eth0", "virtual_router_id": 51, "virtual_ipaddresses": ["10.0.0.100/24"]}

pytestmark = pytest.mark.skipif(not Path(PLAYBOOK).exists(), reason="ansible-playbook is not installed")


def run_play(tmp_path, group_vars, tasks, gather_facts=False, hosts=("n1", "n2"), group="g"):
    """Run tasks on local hosts in group with group_vars; return the completed process."""
    inventory = {"all": {"children": {group: {
        "hosts": {host: {} for host in hosts},
        "vars": dict(group_vars, ansible_connection="local", ansible_python_interpreter=sys.executable)}}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    play = [{"name": "Refuse bad input", "hosts": group, "gather_facts": gather_facts,
             "gather_subset": ["network"], "tasks": tasks}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_FORCE_COLOR": "0"}
    return subprocess.run([PLAYBOOK, "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)


def refusal(tmp_path, group_vars, tasks, **kwargs):
    """Run tasks (run_play) that must be refused; return the first [ERROR] line and the output."""
    run = run_play(tmp_path, group_vars, tasks, **kwargs)
    output = run.stdout + run.stderr
    assert run.returncode != 0, f"the play was not refused:\n{output}"
    errors = [line for line in output.splitlines() if line.startswith("[ERROR]")]
    assert errors, f"no [ERROR] line:\n{output}"
    return errors[0], output


def role_validate(role, **extra):
    return [{"name": f"Validate {role}", "ansible.builtin.include_role": {
        "name": f"hastack.dns_dhcp.{role}", "tasks_from": "validate"}, **extra}]


def assert_leads_with(line, output, sentence):
    # the error line: "[ERROR]: Task failed: Action failed: <sentence>" (an assert's fail_msg)
    assert line.startswith("[ERROR]: Task failed: Action failed: " + sentence), \
        f"expected the refusal to lead with {sentence!r}, got {line!r}\n{output}"
    assert "Finalization" not in output, output


def test_the_same_vip_in_two_vrrp_instances(tmp_path):
    line, output = refusal(tmp_path, {
        "keepalived_peer_group": "g",
        "keepalived_instances": {"VI_A": VIP_A, "VI_B": dict(VIP_A, virtual_router_id=52)}},
        role_validate("keepalived"))
    assert_leads_with(line, output, "keepalived_instances.VI_B.virtual_ipaddresses: 10.0.0.100 is already a "
                                    "VIP of VI_A: one address, one instance")


def test_a_vip_that_is_a_members_address(tmp_path):
    line, output = refusal(tmp_path, {
        "keepalived_peer_group": "g", "lab_addresses": {"lan": "10.0.0.100"},
        "keepalived_instances": {"VI_A": VIP_A}}, role_validate("keepalived"))
    assert_leads_with(line, output, "keepalived_instances.VI_A.virtual_ipaddresses: 10.0.0.100 is n1's "
                                    "lab_addresses.lan: a VIP must be an address no host holds itself")


def test_a_vrrp_number_keepalived_would_refuse(tmp_path):
    line, output = refusal(tmp_path, {
        "keepalived_peer_group": "g", "keepalived_instances": {"VI_A": dict(VIP_A, advert_int="fast")}},
        role_validate("keepalived"))
    assert_leads_with(line, output, "keepalived_instances.VI_A.advert_int: must be a number of seconds")


def test_two_intent_vips_on_one_address(tmp_path):
    line, output = refusal(tmp_path, {
        "hastack_dns_vip": "10.0.0.100", "hastack_dns_vrid": 30,
        "hastack_dhcp_vip": "10.0.0.100", "hastack_dhcp_vrid": 31},
        [{"name": "Wiring", "ansible.builtin.include_tasks": str(REPO / "playbooks" / "tasks" / "variant_wiring.yml"),
          "vars": {"variant_wiring_group": "dnsmasq_split_roles"}}], group="dnsmasq_split_roles")
    assert_leads_with(line, output, "hastack_dhcp_vip: 10.0.0.100 is hastack_dns_vip too: one address, one VIP")


def test_a_dns_upstream_that_loops_back_into_the_cluster(tmp_path):
    line, output = refusal(tmp_path, {
        "dnsmasq_peer_group": "g", "dnsmasq_interface": "lo",
        "dnsmasq_extra_listen_addresses": ["10.0.0.100"], "dnsmasq_upstream_servers": ["10.0.0.100"]},
        role_validate("dnsmasq"), gather_facts=True, hosts=("n1",))
    assert_leads_with(line, output, "dnsmasq_upstream_servers[0]: 10.0.0.100 is a listen address of dnsmasq")


def test_a_host_record_that_is_no_address(tmp_path):
    line, output = refusal(tmp_path, {
        "dnsmasq_peer_group": "g", "dnsmasq_interface": "lo",
        "dnsmasq_host_records": {"www.lab.example": "10.0.0.300"}},
        role_validate("dnsmasq"), gather_facts=True, hosts=("n1",))
    assert_leads_with(line, output, "dnsmasq_host_records.www.lab.example: '10.0.0.300' is not an IP address")


def test_a_lease_time_dnsmasq_would_refuse(tmp_path):
    line, output = refusal(tmp_path, {
        "dnsmasq_peer_group": "g", "dnsmasq_interface": "lo",
        "dnsmasq_dhcp_pools": [{"subnet": "127.0.0.0/8", "start": "127.0.0.100", "end": "127.0.0.199",
                                "lease_time": "12 hours"}]},
        role_validate("dnsmasq"), gather_facts=True, hosts=("n1",))
    assert_leads_with(line, output, "dnsmasq_dhcp_pools[0].lease_time: '12 hours' is not a dnsmasq lease time")


def test_a_bad_mac_in_a_reservation(tmp_path):
    line, output = refusal(tmp_path, {
        "dnsmasq_peer_group": "g", "dnsmasq_interface": "lo",
        "dnsmasq_dhcp_pools": [{"subnet": "127.0.0.0/8", "start": "127.0.0.100", "end": "127.0.0.199"}],
        "dnsmasq_dhcp_hosts": [{"mac": "02:00:00:00:00", "ip": "127.0.0.20"}]},
        role_validate("dnsmasq"), gather_facts=True, hosts=("n1",))
    assert_leads_with(line, output, "dnsmasq_dhcp_hosts[0].mac: '02:00:00:00:00' is not a MAC address")


@pytest.mark.parametrize("group_vars,sentence", [
    ({"haproxy_timeout_client": "30 seconds"},
     'haproxy_timeout_client: must be a haproxy time (a number with an optional unit us, ms, s, m, h or d, e.g. 5s), '
     'got "30 seconds"'),
    ({"haproxy_check_name": "bad name"}, 'haproxy_check_name: "bad name" is not a DNS name'),
    ({"haproxy_backends": {"b1": "10.0.0.21", "b2": "10.0.0.100"}},
     "haproxy_backends.b2: 10.0.0.100 is where haproxy listens"),
])
def test_haproxy_values_the_daemon_would_refuse_or_loop(tmp_path, group_vars, sentence):
    base = {"haproxy_backends": {"b1": "10.0.0.21"}, "haproxy_listen_address": "10.0.0.100",
            "haproxy_stats_enabled": False}
    line, output = refusal(tmp_path, dict(base, **group_vars), role_validate("haproxy"), hosts=("n1",))
    assert_leads_with(line, output, sentence)


DNSDIST = {"dnsdist_backends": {"b1": "10.0.0.21", "b2": "10.0.0.22"}, "dnsdist_listen_address": "10.0.0.100",
           "dnsdist_acl": ["10.0.0.0/24"], "dnsdist_console_key": "bGFiLW9ubHktZG5zZGlzdC1jb25zb2xlLWtleS0zMmI=",
           "dnsdist_webserver_password": "w", "dnsdist_webserver_api_key": "k"}


@pytest.mark.parametrize("group_vars,sentence", [
    ({"dnsdist_backends": {"b1": "10.0.0.100"}}, "dnsdist_backends.b1: 10.0.0.100 is where dnsdist listens"),
    ({"dnsdist_backends": {"b1": "dns1"}}, 'dnsdist_backends.b1: "dns1" is not an IP address'),
    ({"dnsdist_acl": []}, "dnsdist_acl: name the client networks dnsdist answers"),
    ({"dnsdist_acl": ["10.0.0.0/24", "0.0.0.0/0"]}, "dnsdist_acl: admits every address"),
    ({"dnsdist_acl": ["10.0.0.0/33"]}, 'dnsdist_acl: "10.0.0.0/33" is not a network'),
    ({"dnsdist_console_key": "secret"}, "dnsdist_console_key: must be 32 bytes in base64"),
    ({"dnsdist_console_key": ""}, "dnsdist_console_key: required"),
    ({"dnsdist_console_address": "10.0.0.11"}, "dnsdist_console_address: the console stays on localhost"),
    ({"dnsdist_webserver_api_key": ""}, "dnsdist_webserver_password, dnsdist_webserver_api_key: the web server "
                                        "needs both"),
    ({"dnsdist_webserver_address": "10.0.0.100"}, "dnsdist_webserver_address: 10.0.0.100 is where the clients"),
    ({"dnsdist_ports": {"dns": 53, "dot": 853, "doh": 70000}}, "dnsdist_ports.doh: must be a port, 1-65535, got 70000"),
    ({"dnsdist_check_interval": "1s"}, 'dnsdist_check_interval: whole seconds, 1 or more, got "1s"'),
    ({"dnsdist_check_timeout": 3000}, "dnsdist_check_timeout: 3000 ms is longer than dnsdist_check_interval (1 s)"),
    ({"dnsdist_check_name": "bad name"}, 'dnsdist_check_name: "bad name" is not a DNS name'),
    ({"dnsdist_rate_limit_action": "block"}, 'dnsdist_rate_limit_action: one of drop, refuse, truncate, got "block"'),
    ({"dnsdist_backend_weights": {"b3": 2}}, "dnsdist_backend_weights.b3: must name a backend"),
    ({"dnsdist_dot_enabled": True}, "dnsdist_tls_certificate, dnsdist_tls_key: DoT and DoH need both"),
])
def test_dnsdist_values_the_daemon_would_refuse_or_that_open_it(tmp_path, group_vars, sentence):
    line, output = refusal(tmp_path, dict(DNSDIST, **group_vars), role_validate("dnsdist"), hosts=("n1",))
    assert_leads_with(line, output, sentence)


def test_an_nginx_backend_that_is_the_proxy_itself(tmp_path):
    line, output = refusal(tmp_path, {"nginx_stream_backends": {"b1": "10.0.0.100"},
                                      "nginx_stream_listen_address": "10.0.0.100"},
                           role_validate("nginx_stream"), hosts=("n1",))
    assert_leads_with(line, output, "nginx_stream_backends.b1: 10.0.0.100 port 53 is where")


def test_a_chrony_makestep_chronyd_would_refuse(tmp_path):
    line, output = refusal(tmp_path, {"chrony_makestep": "1s"},
                           [{"name": "Chrony", "ansible.builtin.include_role": {"name": "hastack.dns_dhcp.chrony"}}],
                           hosts=("n1",))
    assert_leads_with(line, output, 'chrony_makestep: must be "threshold limit"')


def test_chrony_servers_that_are_no_names(tmp_path):
    line, output = refusal(tmp_path, {"chrony_servers": ["ntp.example", "not a name"]},
                           [{"name": "Chrony", "ansible.builtin.include_role": {"name": "hastack.dns_dhcp.chrony"}}],
                           hosts=("n1",))
    assert_leads_with(line, output, 'chrony_servers: ["not a name"] are neither addresses nor host names')


@pytest.mark.parametrize("role,group_vars,kwargs", [
    ("keepalived", {"keepalived_peer_group": "g", "lab_addresses": {"lan": "10.0.0.11"},
                    "keepalived_instances": {"VI_A": VIP_A, "VI_B": dict(VIP_A, virtual_router_id=52,
                                                                          virtual_ipaddresses=["10.0.0.101"])}}, {}),
    ("dnsmasq", {"dnsmasq_peer_group": "g", "dnsmasq_interface": "lo", "dnsmasq_domain": "lab.example",
                 "dnsmasq_extra_listen_addresses": ["10.0.0.100"], "dnsmasq_upstream_servers": ["192.0.2.53"],
                 "dnsmasq_host_records": {"www": "10.0.0.80", "nas.lab.example": ["10.0.0.81", "fd00::81"]},
                 "dnsmasq_cnames": {"files.lab.example": "nas"},
                 "dnsmasq_dhcp_pools": [{"subnet": "127.0.0.0/8", "start": "127.0.0.100", "end": "127.0.0.199",
                                         "lease_time": "1h"}],
                 "dnsmasq_dhcp_hosts": [{"mac": "02:00:00:00:00:01", "ip": "127.0.0.20", "name": "printer"}]},
     {"gather_facts": True, "hosts": ("n1",)}),
    ("haproxy", {"haproxy_backends": {"b1": "10.0.0.21"}, "haproxy_listen_address": "10.0.0.100",
                 "haproxy_stats_enabled": False, "haproxy_timeout_client": "1m", "haproxy_check_name": "a.example."},
     {"hosts": ("n1",)}),
    ("dnsdist", dict(DNSDIST, dnsdist_listen_address6="fd00::100", dnsdist_acl=["10.0.0.0/24", "fd00::/64"],
                     dnsdist_backend_weights={"b2": 3}, dnsdist_policy="wrandom", dnsdist_rate_limit_qps=50,
                     dnsdist_webserver_address="10.0.0.11", dnsdist_check_name="a.example."),
     {"hosts": ("n1",)}),
])
def test_good_values_pass_the_checks(tmp_path, role, group_vars, kwargs):
    run = run_play(tmp_path, group_vars, role_validate(role), **kwargs)
    assert run.returncode == 0, f"{role}'s checks refused good values:\n{run.stdout}\n{run.stderr}"


@pytest.mark.parametrize("group,group_vars,sentence", [
    ("kea_ha", {"kea_ha_api_password": "x", "kea_ha_heartbeat_delay": -5},
     "kea_ha_heartbeat_delay: must be a whole number >= 1, got "),
    ("dhcpd_failover", {"dhcpd_failover_omapi_key": "MTIzNA==", "dhcpd_failover_split": 300},
     "dhcpd_failover_split: must be a whole number from 0 to 256"),
    ("kea_ha", {"kea_ha_api_password": "x", "kea_ha_subnets": {"lo": {
        "subnet": "127.0.0.0/8", "ranges": [{"start": "127.0.0.100", "end": "127.0.0.199"}],
        "default_lease_time": "1 day"}}}, "kea_ha_subnets.lo.default_lease_time: "),
])
def test_dhcp_pair_settings_the_daemon_would_refuse(tmp_path, group, group_vars, sentence):
    subnets = {"lo": {"subnet": "127.0.0.0/8", "ranges": [{"start": "127.0.0.100", "end": "127.0.0.199"}]}}
    base = {f"{group}_interface": "lo", f"{group}_subnets": subnets}
    line, output = refusal(tmp_path, dict(base, **group_vars), role_validate(group), gather_facts=True, group=group)
    assert_leads_with(line, output, sentence)


PACKAGE_ROLES = ["bind", "dhcpd_failover", "dnsdist", "dnsmasq", "haproxy", "kea_ha", "keepalived", "metrics",
                 "nginx_stream", "prometheus", "chrony", "nftables_lb"]


def test_a_package_state_that_is_neither_present_nor_latest(tmp_path):
    """Each role's validate tasks check its <role>_package_state first; one play runs them all
    (in check mode, each failure ignored: the validate tasks only read)."""
    tasks = [{"name": f"Validate {role}", "ansible.builtin.include_role": {
        "name": f"hastack.dns_dhcp.{role}", "tasks_from": "validate",
        "apply": {"ignore_errors": True, "check_mode": True}}} for role in PACKAGE_ROLES]
    tasks.append({"name": "A good value passes", "ansible.builtin.include_role": {
        "name": "hastack.dns_dhcp.base", "tasks_from": "package_state"},
        "vars": {"base_package_state": "latest", "base_package_state_var": "x_package_state"}})
    run = run_play(tmp_path, {f"{role}_package_state": "newest" for role in PACKAGE_ROLES}, tasks, hosts=("n1",))
    output = run.stdout + run.stderr
    assert run.returncode == 0, output  # every refusal ignored, the good value passed
    for role in PACKAGE_ROLES:
        sentence = (f"{role}_package_state: must be present (install once, leave the version alone) or latest "
                    f"(upgrade to the newest version of the host's apt sources), got \"newest\"")
        assert f"Check {role}_package_state" in output and sentence in output, f"{role}:\n{output}"
    assert "changed=0" in output, output
