"""nginx stream in front of two BIND backends: UDP/TCP 53, DoT (ending on the proxy) and
DoH (layer 4) through the VIP; one proxy from Debian's package, one built from source."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.awx_jobs import job_template_test  # noqa: E402

# idempotence, as AWX runs the variant (in place of Molecule's idempotence step); first
test_the_awx_job_template_runs_and_changes_nothing = job_template_test(
    "dns_lb_nginx", SCENARIO / "inventory.yml")
from tests.dns_lb_checks import *  # noqa: E402,F401,F403  (the shared tests)
from tests.dns_lb_checks import (  # noqa: E402
    ANSWERS,
    Scenario,
    backend_maintenance,
    drained_through_a_converge,
    pool_rows,
)
from tests.nginx_checks import (  # noqa: E402
    assert_a_config_change_is_a_reload,
    assert_a_refused_value_changes_nothing,
    assert_the_distro_unit_runs_nginx,
    release_source_version,
)

PACKAGE, SOURCE = "hastack-mol-lbx1", "hastack-mol-lbx2"
BACKENDS = {"10.213.54.21", "10.213.54.22"}
CLIENT_ADDRESS = "10.213.54.50"
ACCESS_LOG = "/var/log/nginx/dns.log"


@pytest.fixture(scope="module")
def scenario():
    return Scenario(SCENARIO, "dns_lb_nginx", udp=True, service="nginx", balancing_checked=True)


def new_log_lines(scenario, since: int) -> list[list[str]]:
    """Access log lines of the VIP holder after line `since`, split into fields:
    time (2 fields), client, upstream, protocol, status, session time, port, bytes in/out."""
    text = scenario.lab.check(PACKAGE, f"tail -n +{since + 1} {ACCESS_LOG}")
    return [line.split() for line in text.splitlines()]


def log_length(scenario) -> int:
    return int(scenario.lab.check(PACKAGE, f"sh -c 'wc -l < {ACCESS_LOG}'").strip())


def test_one_proxy_from_the_package_one_built_from_source(scenario):
    lab = scenario.lab
    assert "install ok installed" in lab.check(PACKAGE, "dpkg-query -W -f='${Status}' libnginx-mod-stream")
    assert_the_distro_unit_runs_nginx(lab, PACKAGE)
    expected = release_source_version(lab, SCENARIO / "inventory.yml", SOURCE, PACKAGE)
    version = lab.check(SOURCE, "sh -c '/usr/sbin/nginx -V 2>&1'")
    assert f"nginx/{expected}" in version and " --with-stream " in f"{version} " \
        and "--with-stream_ssl_module" in version, version
    # the distro's nginx is not installed next to the build, which has its own unit
    assert lab.run(SOURCE, "dpkg-query -W -f='${Status}' nginx").stdout.strip() != "install ok installed"
    assert lab.check(SOURCE, "systemctl show -p FragmentPath --value nginx").strip() == \
        "/etc/systemd/system/nginx.service"
    stamp = lab.check(SOURCE, "cat /usr/local/src/hastack-nginx/installed.stamp")
    assert f"version={expected}\n" in stamp and "--with-stream" in stamp, stamp
    for proxy in (PACKAGE, SOURCE):
        assert lab.check(proxy, "systemctl is-active nginx").strip() == "active"


def test_the_access_log_names_the_upstream_and_dot_ends_on_the_proxy(scenario):
    assert scenario.lab.wait_for_holders(scenario.vip, scenario.proxies, [PACKAGE]) == [PACKAGE]
    since = log_length(scenario)
    for options in [("+notcp",)] * 2 + [("+tcp",)] * 2 + [scenario.tls("+tls")] * 2:
        assert scenario.query(*options) in ANSWERS
    lines = new_log_lines(scenario, since)
    assert len(lines) == 6, lines
    assert {f[2] for f in lines} == {CLIENT_ADDRESS}, lines
    sessions = {(f[4], f[7], f[3]) for f in lines}
    # UDP and TCP 53 reach both backends on 53; DoT ends here and goes on as DNS over TCP 53
    assert sessions == {(protocol, port, f"{backend}:53") for protocol, port in
                        [("UDP", "53"), ("TCP", "53"), ("TCP", "853")] for backend in BACKENDS}, lines


def converge_with(scenario):
    return lambda extra: scenario.lab.playbook(SCENARIO / "converge.yml", "-e", json.dumps(extra))


def answered_through_the_vip(scenario):
    return lambda _proxy: scenario.query("+notcp") in ANSWERS and scenario.query("+tcp") in ANSWERS


def test_a_config_change_is_applied_by_a_reload(scenario):
    assert_a_config_change_is_a_reload(scenario.lab, scenario.proxies, converge_with(scenario),
                                       answered_through_the_vip(scenario))


def test_a_value_nginx_refuses_leaves_the_running_nginx_alone(scenario):
    assert_a_refused_value_changes_nothing(scenario.lab, scenario.proxies, converge_with(scenario),
                                           answered_through_the_vip(scenario))


def test_the_awx_workflow_runs_through_ansible_runner(scenario):
    """The workflow deploy (site.yml) -> verify -> drill, as the AWX templates of
    awx_configure.yml run them (tests/awx_jobs.py): ansible-runner, the template's playbook,
    the survey's answers."""
    from tests.awx_jobs import run_job

    inventory = SCENARIO / "inventory.yml"
    deploy = run_job("deploy", inventory)
    assert (deploy.status, deploy.rc) == ("successful", 0), deploy.stdout.read()[-3000:]
    # site.yml picks this lab's variant from its groups; the lab is deployed: no change
    assert deploy.stats["changed"] == {}, deploy.stats
    assert set(deploy.stats["ok"]) >= set(scenario.proxies + scenario.backends), deploy.stats

    verify = run_job("vip_status", inventory)
    output = verify.stdout.read()
    assert (verify.status, verify.rc) == ("successful", 0), output[-3000:]
    assert f"VIP {scenario.vip} is on {PACKAGE}" in output, output[-3000:]

    drill = run_job("failover_drill", inventory, {"drill_group": "dns_lb_nginx", "drill_methods": ["priority"],
                                                  "drill_query_name": "www.abc.local"})
    output = drill.stdout.read()
    assert (drill.status, drill.rc) == ("successful", 0), output[-3000:]
    rows = [line.split("DRILL ", 1)[1].strip().strip('",') for line in output.splitlines() if "DRILL " in line]
    assert len(rows) == 2 and rows[1].split()[:2] == ["VI_DNS", "priority"], rows
    _instance, _method, sent, unanswered, _outage, holder = rows[1].split()
    assert holder == SOURCE and int(sent) > 50 and int(unanswered) < int(sent), rows
    assert scenario.lab.wait_for_holders(scenario.vip, scenario.proxies, [PACKAGE]) == [PACKAGE]


POOLS = ("dns_udp", "dns_tcp", "dot", "doh")


def test_maintenance_of_a_backend_marks_it_down_on_both_proxies_first(scenario, capsys):
    """playbooks/maintenance.yml on a backend: on each proxy its server lines go `down` in
    every upstream (a reload: the old workers finish their sessions), its named restarts as
    the work, then it is back. A client queries the VIP over UDP every 20 ms all along."""
    lab, backend = scenario.lab, scenario.backends[1]
    out, figures = backend_maintenance(scenario, capsys, tcp=False)
    got = figures[scenario.vip]
    for proxy in scenario.proxies:
        assert pool_rows(out, proxy, "drained", backend) == {pool: ("down", "0") for pool in POOLS}, out[-3000:]
        assert {pool: state for pool, (state, _) in pool_rows(out, proxy, "restored", backend).items()} == \
            {pool: "up" for pool in POOLS}, out[-3000:]
        assert " down;" not in lab.check(proxy, "cat /etc/nginx/stream_conf.d/hastack-dns.conf"), proxy
    assert set(scenario.answers(6)) == ANSWERS
    assert got["sent"] > 100 and got["unanswered"] == 0, got


def test_a_drained_backend_stays_down_through_a_converge_until_restored(scenario):
    """Drained by hand (maintenance_action=drain), the backend stays `down` when the variant
    converges (the role reads /etc/nginx/hastack-drained; the converge changes nothing), gets
    no query, and is back after maintenance_action=restore."""
    def server_lines_down(scenario):
        for proxy in scenario.proxies:
            conf = scenario.lab.check(proxy, "cat /etc/nginx/stream_conf.d/hastack-dns.conf")
            assert conf.count(" down; # be2") == len(POOLS) and " down; # be1" not in conf, (proxy, conf)

    drained_through_a_converge(scenario, server_lines_down)
