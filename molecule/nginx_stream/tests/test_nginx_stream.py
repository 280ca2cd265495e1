"""nginx stream in front of two dnsmasq backends: one proxy from Debian's package, one
built from source; UDP/TCP 53 balanced, DoT ending on the package proxy, 853/443 at
layer 4, passive health, reloads that keep the master, and refused input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.labkit import (  # noqa: E402
    assert_rejected_before_any_change,
    poll,
    recap_changes,
    scenario_fixtures,
)
from tests.nginx_checks import (  # noqa: E402
    FILES,
    assert_a_config_change_is_a_reload,
    assert_a_refused_value_changes_nothing,
    assert_the_distro_unit_runs_nginx,
    release_source_version,
)

CLIENT = "hastack-mol-ngx-client"
PACKAGE, SOURCE = "hastack-mol-ngx1", "hastack-mol-ngx-src"
PROXIES = [PACKAGE, SOURCE]
DEAD_BACKEND = "hastack-mol-ngx-be2"
ANSWERS = {"1.2.3.4", "1.2.3.5"}
SURVIVOR_ANSWER = "1.2.3.4"
NAME = "www.abc.local"
UPSTREAMS = {"10.213.51.21", "10.213.51.22"}
ACCESS_LOG, ERROR_LOG = "/var/log/nginx/dns.log", "/var/log/nginx/error.log"
CA_ON_CLIENT = "/tmp/hastack-mol-ngx-ca.crt"
PROXY_PLAY = SCENARIO / "proxies.yml"

lab, nodes, _dhcp = scenario_fixtures(SCENARIO / "inventory.yml", "nginx_stream", CLIENT)


def address(lab, host):
    return lab.addresses[host]["lan"]


def query(lab, proxy, tcp=False, server=None):
    """One answer for NAME through a proxy (or its address server) from the client ('' when none)."""
    result = lab.run(CLIENT, f"dig +time=2 +tries=1 +short {'+tcp' if tcp else '+notcp'} "
                             f"@{server or address(lab, proxy)} {NAME}")
    lines = [line for line in result.stdout.splitlines() if line and not line.startswith(";")]
    return lines[0].strip() if result.rc == 0 and lines else ""


def answers(lab, proxy, count, tcp=False):
    return [query(lab, proxy, tcp) for _ in range(count)]


def whoami(lab, proxy, port):
    """The backend a plain TCP connection to proxy:port reaches (its test listener names it)."""
    result = lab.run(CLIENT, f"curl -s --max-time 3 http://{address(lab, proxy)}:{port}/whoami")
    return result.stdout.strip() if result.rc == 0 else ""


def log_lines(lab, proxy, log=ACCESS_LOG):
    return int(lab.check(proxy, f"sh -c 'wc -l < {log}'").strip())


def new_log_lines(lab, proxy, since, log=ACCESS_LOG):
    return lab.check(proxy, f"tail -n +{since + 1} {log}").splitlines()


def converge_proxies(lab, extra):
    return lab.playbook(PROXY_PLAY, "-e", json.dumps(extra))


@pytest.mark.parametrize("proxy", PROXIES)
def test_udp_and_tcp_are_answered_through_each_proxy(lab, proxy):
    assert query(lab, proxy) in ANSWERS, f"{proxy}: no UDP answer"
    assert query(lab, proxy, tcp=True) in ANSWERS, f"{proxy}: no TCP answer"


def test_the_source_proxy_listens_on_its_ipv6_address_too_in_front_of_ipv4_backends(lab):
    address6 = lab.addresses6[SOURCE]["lan"]
    for proto, port in (("u", 53), ("t", 53), ("t", 853), ("t", 443)):
        local = [line.split()[3] for line in lab.check(SOURCE, f"ss -Hln{proto}").splitlines()]
        assert f"[{address6}]:{port}" in local, f"{SOURCE}: nothing on IPv6 {proto}/{port}: {local}"
    seen = [query(lab, SOURCE, tcp, server=address6) for tcp in (False, False, True, True)]
    assert set(seen) == ANSWERS, f"@{address6}: expected both IPv4 backends over UDP and TCP, saw {seen}"


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
@pytest.mark.parametrize("proxy", PROXIES)
def test_answers_alternate_between_the_backends(lab, proxy, tcp):
    seen = answers(lab, proxy, 6, tcp)
    # one round robin for all workers (zone): strictly one backend, then the other
    assert set(seen) == ANSWERS and all(a != b for a, b in zip(seen, seen[1:])), \
        f"{proxy}: expected alternating answers from both backends, saw {seen}"


@pytest.mark.parametrize("proxy", PROXIES)
def test_the_access_log_names_the_upstream(lab, proxy):
    since = log_lines(lab, proxy)
    for tcp in (False, False, True, True):
        assert query(lab, proxy, tcp) in ANSWERS
    lines = new_log_lines(lab, proxy, since)
    assert len(lines) == 4, f"{proxy}: expected 4 new lines in {ACCESS_LOG}, saw {lines}"
    # $time_local(2 fields) $remote_addr $upstream_addr $protocol $status ...
    seen = {(f[4], f[3].rsplit(":", 1)[0]) for f in (line.split() for line in lines)}
    assert all(line.split()[2] == address(lab, CLIENT) for line in lines), lines
    assert seen == {(p, u) for p in ("UDP", "TCP") for u in UPSTREAMS}, \
        f"{proxy}: expected UDP and TCP sessions to both upstreams in the log, saw {lines}"


def test_dot_ends_on_the_package_proxy(lab):
    import subprocess

    ca = Path.home() / ".local/share/hastack/lab-ca/hastack-mol-ngx/ca.crt"
    subprocess.run(["podman", "cp", str(ca), f"{CLIENT}:{CA_ON_CLIENT}"], check=True)

    def dot(ca_file):
        result = lab.run(CLIENT, f"kdig +short +timeout=2 +retry=0 +tls +tls-ca={ca_file} "
                                 f"+tls-hostname={PACKAGE} @{address(lab, PACKAGE)} {NAME}")
        lines = [line for line in result.stdout.splitlines() if line and not line.startswith(";")]
        return lines[0].strip() if result.rc == 0 and lines else ""

    since = log_lines(lab, PACKAGE)
    seen = [dot(CA_ON_CLIENT) for _ in range(4)]
    assert set(seen) == ANSWERS, f"DoT through {PACKAGE}: expected both backends, saw {seen}"
    # TLS ended on the proxy: the backends were asked over plain DNS TCP 53
    lines = new_log_lines(lab, PACKAGE, since)
    assert {line.split()[3] for line in lines} == {f"{u}:53" for u in UPSTREAMS}, lines
    assert {line.split()[7] for line in lines} == {"853"}, lines
    # a CA that did not sign the proxy's certificate is refused
    assert dot("/etc/ssl/certs/ca-certificates.crt") == ""


@pytest.mark.parametrize("proxy", PROXIES)
def test_nginx_listens_on_853_and_443(lab, proxy):
    listening = lab.check(proxy, "ss -Hltnp")
    for port in (53, 853, 443):
        assert any(f":{port} " in line and "nginx" in line for line in listening.splitlines()), \
            f"{proxy}: nginx does not listen on TCP {port}: {listening}"
    assert "nginx" in lab.check(proxy, "ss -Hlunp sport = :53"), f"{proxy}: nginx does not listen on UDP 53"


@pytest.mark.parametrize("proxy,port", [(PACKAGE, 443), (SOURCE, 443), (SOURCE, 853)])
def test_853_and_443_are_forwarded_at_layer_4(lab, proxy, port):
    # plain TCP through: the backends' test listeners answer, one and then the other
    seen = [whoami(lab, proxy, port) for _ in range(4)]
    assert set(seen) == {"hastack-mol-ngx-be1", "hastack-mol-ngx-be2"}, \
        f"{proxy}:{port}: expected both backends' listeners, saw {seen}"


def test_the_source_build(lab):
    expected = release_source_version(lab, SCENARIO / "inventory.yml", SOURCE, PACKAGE)
    version = lab.check(SOURCE, "sh -c '/usr/sbin/nginx -V 2>&1'")
    assert f"nginx/{expected}" in version and "--with-stream " in version + " " \
        and "--with-stream_ssl_module" in version, version
    assert lab.run(SOURCE, "dpkg-query -W -f='${Status}' nginx").stdout.strip() != "install ok installed", \
        "the distro's nginx is still installed next to the source build"
    unit = lab.check(SOURCE, "systemctl show -p FragmentPath --value nginx").strip()
    assert unit == "/etc/systemd/system/nginx.service", unit
    stamp = lab.check(SOURCE, "cat /usr/local/src/hastack-nginx/installed.stamp")
    assert f"version={expected}\n" in stamp and "--with-stream" in stamp, stamp
    # the package proxy runs Debian's nginx with the stream module as a dynamic module
    assert_the_distro_unit_runs_nginx(lab, PACKAGE)
    assert "install ok installed" in lab.check(PACKAGE, "dpkg-query -W -f='${Status}' libnginx-mod-stream")


def test_check_mode_shows_a_rebuild_for_a_new_flag_and_touches_nothing(lab):
    flags = yaml.safe_load((SCENARIO.parent.parent / "roles/nginx_stream/defaults/main.yml").read_text())[
        "nginx_stream_configure_flags"]
    extra = {"nginx_stream_configure_flags": flags + ["--with-stream_realip_module"]}
    before = {proxy: lab.check(proxy, f"sha256sum {FILES} /usr/sbin/nginx") for proxy in PROXIES}
    result = lab.playbook(PROXY_PLAY, "--check", "--diff", "-e", json.dumps(extra))
    assert result.returncode == 0, result.stdout[-3000:]
    # the package proxy does not build: nothing to change; the source proxy would rebuild
    assert recap_changes(result.stdout)[PACKAGE] == 0, result.stdout[-1500:]
    rebuild = result.stdout.split("Remove the previous build tree]", 1)[-1].split("TASK [", 1)[0]
    assert f"changed: [{SOURCE}]" in rebuild, f"a new configure flag does not start a build: {result.stdout[-3000:]}"
    for proxy in PROXIES:
        assert lab.check(proxy, f"sha256sum {FILES} /usr/sbin/nginx") == before[proxy], f"{proxy}: check mode changed files"


def test_a_stopped_backend_is_left_out(lab):
    lab.check(DEAD_BACKEND, "systemctl stop dnsmasq")
    try:
        for proxy in PROXIES:
            # TCP goes on to the next backend at once; UDP loses the queries that show
            # the backend dead (max_fails), then the backend is left out (fail_timeout)
            window = poll(lambda: answers(lab, proxy, 4) + answers(lab, proxy, 4, tcp=True),
                          lambda seen: seen == [SURVIVOR_ANSWER] * 8, timeout=20)
            assert window == [SURVIVOR_ANSWER] * 8, \
                f"{proxy}: expected every query answered by the surviving backend, saw {window}"
            assert answers(lab, proxy, 4, tcp=True) == [SURVIVOR_ANSWER] * 4
            log = lab.check(proxy, f"tail -n 50 {ERROR_LOG}")
            assert "upstream server temporarily disabled" in log and "10.213.51.22:53" in log, log
    finally:
        lab.check(DEAD_BACKEND, "systemctl start dnsmasq")
    for proxy in PROXIES:
        # after fail_timeout (10 s) the backend gets queries again
        seen = poll(lambda: set(answers(lab, proxy, 4) + answers(lab, proxy, 4, tcp=True)),
                    lambda s: s == ANSWERS, timeout=30, interval=1)
        assert seen == ANSWERS, f"{proxy}: the restarted backend does not answer again: {seen}"


def answered_through(lab):
    return lambda proxy: query(lab, proxy) in ANSWERS and query(lab, proxy, tcp=True) in ANSWERS


def test_a_config_change_is_applied_by_a_reload(lab):
    assert_a_config_change_is_a_reload(lab, PROXIES, lambda extra: converge_proxies(lab, extra),
                                       answered_through(lab))


def test_a_value_nginx_refuses_leaves_nginx_running(lab):
    assert_a_refused_value_changes_nothing(lab, PROXIES, lambda extra: converge_proxies(lab, extra),
                                           answered_through(lab))


@pytest.mark.parametrize("extra,named", [
    ({"nginx_stream_services": {"dns_udp": {"listen": 53, "protocol": "udp", "backend_port": 70000}}},
     "nginx_stream_services.dns_udp.backend_port"),
    ({"nginx_stream_listen_address": "dns-vip.abc.local"}, "nginx_stream_listen_address"),
    ({"nginx_stream_tls_certificate": ""}, "nginx_stream_tls_certificate"),
    ({"nginx_stream_backends": {"be1": "10.213.51.21", "be2": "be2.abc.local"}}, "nginx_stream_backends.be2"),
    ({"nginx_stream_source_checksum": ""}, "nginx_stream_source_checksum"),
], ids=["backend port out of range", "listen address not an IP", "TLS without a certificate",
        "backend not an IP", "URL without a checksum"])
def test_bad_input_stops_the_play_before_any_host_is_touched(lab, nodes, extra, named):
    assert_rejected_before_any_change(lab, PROXY_PLAY, nodes, extra, named, FILES)
