"""The tests of the dns_lb_* scenarios (two proxies with a VIP, two BIND backends, a
client), imported by each scenario's test module, which defines the `scenario` fixture.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import yaml

from tests.labkit import (REPO, DnsProbe, Lab, assert_rejected_before_any_change, probe_figures, recap_changes,
                          run_drill)

ANSWERS = {"1.2.3.4", "1.2.3.5"}
# the backends' AAAA answers for NAME (2001:db8::/32: documentation data, never routed)
ANSWERS6 = {"2001:db8::4", "2001:db8::5"}
NAME = "www.abc.local"
TLS_NAME = "dns.abc.local"
CA_ON_CLIENT = "/tmp/hastack-lab-ca.crt"


class Scenario:
    def __init__(self, directory: Path, variant: str, udp: bool, service: str | None, balancing_checked: bool):
        self.dir, self.variant, self.udp, self.service = directory, variant, udp, service
        self.balancing_checked = balancing_checked
        data = yaml.safe_load((directory / "inventory.yml").read_text())
        self.vars = data["all"]["vars"]
        self.vip = self.vars["hastack_dns_vip"]
        self.vip6 = self.vars["hastack_dns_vip6"]
        children = data["all"]["children"]
        self.proxies = list(children[variant]["hosts"])
        self.backends = list(children[f"{variant}_backends"]["hosts"])
        self.proxy_vars = children[variant]["vars"]
        self.client = next(iter(children["clients"]["hosts"]))
        self.lab = Lab(directory / "inventory.yml")
        ca = Path.home() / ".local/share/hastack/lab-ca" / self.vars["lab_name"] / "ca.crt"
        subprocess.run(["podman", "cp", str(ca), f"{self.client}:{CA_ON_CLIENT}"], check=True)

    def query(self, *options: str, server: str | None = None, qtype: str = "A") -> str:
        """One answer through the VIP (or server) from the client; '' when none."""
        result = self.lab.run(self.client, f"kdig +short +timeout=2 +retry=0 {' '.join(options)} "
                                           f"@{server or self.vip} {NAME} {qtype}")
        lines = [line for line in result.stdout.splitlines() if line and not line.startswith(";;")]
        return lines[0].strip() if result.rc == 0 and lines else ""

    def tls(self, *options: str) -> tuple[str, ...]:
        return (f"+tls-ca={CA_ON_CLIENT}", f"+tls-hostname={TLS_NAME}", *options)

    def answers(self, count: int, *options: str, **where) -> list[str]:
        return [self.query(*options, **where) for _ in range(count)]

    def protocols(self) -> list[tuple[str, ...]]:
        """kdig options of every protocol the variant serves: TCP, DoT, DoH, and UDP where it has it."""
        return [("+tcp",), self.tls("+tls"), self.tls("+https")] + ([("+notcp",)] if self.udp else [])


def test_the_vip_is_on_the_first_proxy_only(scenario):
    for vip in (scenario.vip, scenario.vip6):
        assert scenario.lab.wait_for_holders(vip, scenario.proxies, [scenario.proxies[0]]) == \
            [scenario.proxies[0]], vip


def test_udp_and_tcp_through_the_vip(scenario):
    assert scenario.query("+tcp") in ANSWERS
    if scenario.udp:
        assert scenario.query("+notcp") in ANSWERS
    else:
        # HAProxy's community edition has no UDP: nothing answers UDP 53 on the VIP
        assert scenario.query("+notcp") == ""


def test_each_client_gets_its_own_dns_cookie_back(scenario):
    """dig sends a new client cookie (RFC 7873) with each query and warns when the answer
    echoes another: a cache that served another client's cookie would have clients that check
    cookies (BIND as a resolver) discard the answer as forged. The second and third queries
    are answered from dnsdist's packet cache."""
    for transport in (["+notcp"] if scenario.udp else []) + ["+tcp"]:
        for _ in range(3):
            out = scenario.lab.check(scenario.client, f"dig +cookie +time=2 +tries=1 {transport} "
                                                      f"@{scenario.vip} {NAME} A")
            assert "COOKIE mismatch" not in out and "status: NOERROR" in out, (transport, out)


def test_dot_and_doh_through_the_vip_verified_against_the_lab_ca(scenario):
    assert scenario.query(*scenario.tls("+tls")) in ANSWERS
    assert scenario.query(*scenario.tls("+https")) in ANSWERS
    # the same queries with a CA that did not sign the certificate are refused
    wrong = ("+tls-ca=/etc/ssl/certs/ca-certificates.crt", f"+tls-hostname={TLS_NAME}")
    assert scenario.query(*wrong, "+tls") == ""
    assert scenario.query(*wrong, "+https") == ""


def test_a_and_aaaa_through_the_ipv6_vip(scenario):
    # every protocol the IPv4 VIP serves, on the IPv6 VIP, for both record types
    for options in scenario.protocols():
        got = (scenario.query(*options, server=scenario.vip6),
               scenario.query(*options, server=scenario.vip6, qtype="AAAA"))
        assert got[0] in ANSWERS and got[1] in ANSWERS6, f"{options} @{scenario.vip6}: A, AAAA {got}"
    if not scenario.udp:
        assert scenario.query("+notcp", server=scenario.vip6) == ""
    # both backends behind the IPv6 VIP too
    protocol = "+notcp" if scenario.udp else "+tcp"
    seen = scenario.answers(6, protocol, server=scenario.vip6, qtype="AAAA")
    assert set(seen) == ANSWERS6, f"{protocol} @{scenario.vip6}: expected both backends, saw {seen}"
    # a CA that did not sign the certificate is refused on the IPv6 VIP too
    wrong = ("+tls-ca=/etc/ssl/certs/ca-certificates.crt", f"+tls-hostname={TLS_NAME}", "+tls")
    assert scenario.query(*wrong, server=scenario.vip6) == ""


def answered_through(scenario, vip: str, tries: int = 10) -> list[str]:
    """A over TCP and AAAA over DoH through vip, retried (bounded: tries x 0.5 s) while the
    client's neighbour cache follows a moved VIP; the last answers."""
    got = []
    for _ in range(tries):
        got = [scenario.query("+tcp", server=vip), scenario.query(*scenario.tls("+https"), server=vip, qtype="AAAA")]
        if got[0] in ANSWERS and got[1] in ANSWERS6:
            break
        time.sleep(0.5)
    return got


def test_answers_alternate_between_the_backends(scenario):
    for protocol in ["+tcp", "+tls", "+https"] + (["+notcp"] if scenario.udp else []):
        options = scenario.tls(protocol) if protocol in ("+tls", "+https") else (protocol,)
        seen = scenario.answers(6, *options)
        assert set(seen) == ANSWERS, f"{protocol}: expected both backends, saw {seen}"


def test_a_stopped_backend(scenario):
    lab, dead = scenario.lab, scenario.backends[1]
    lab.check(dead, "systemctl stop named")
    try:
        if scenario.balancing_checked:
            # after the health checks take it out, every query is answered by the other
            # (UDP too where the proxy has it: the queries lost while the proxy learns
            # that the backend is dead are the passive health check's price)
            protocols = ["+tcp"] + (["+notcp"] if scenario.udp else [])
            deadline, window = time.monotonic() + 20, []
            while time.monotonic() < deadline:
                window = [answer for protocol in protocols for answer in scenario.answers(6, protocol)]
                if window == ["1.2.3.4"] * len(window):
                    break
                time.sleep(0.5)
            assert window == ["1.2.3.4"] * 6 * len(protocols), window
            assert scenario.answers(4, *scenario.tls("+tls")) == ["1.2.3.4"] * 4
            assert scenario.answers(4, *scenario.tls("+https")) == ["1.2.3.4"] * 4
        else:
            # no health checks (the documented limit): the dead backend keeps its share
            seen = scenario.answers(8, "+notcp")
            assert "1.2.3.4" in seen and "" in seen, seen
    finally:
        lab.check(dead, "systemctl start named")
    deadline, seen = time.monotonic() + 20, set()
    while time.monotonic() < deadline and seen != ANSWERS:
        seen = set(scenario.answers(4, "+tcp"))
    assert seen == ANSWERS, seen


def test_a_dead_proxy_node_hands_over_the_vip(scenario):
    lab, master, backup = scenario.lab, *scenario.proxies
    subprocess.run(["podman", "pause", master], check=True, capture_output=True)
    try:
        assert lab.wait_for_holders(scenario.vip, [backup], [backup], timeout=5) == [backup]
        assert scenario.query("+tcp") in ANSWERS
        assert scenario.query(*scenario.tls("+https")) in ANSWERS
        # the IPv6 VIP moves with it (VI_DNS6, same VRID and tracking) and answers there
        assert lab.wait_for_holders(scenario.vip6, [backup], [backup], timeout=5) == [backup]
        got = answered_through(scenario, scenario.vip6)
        assert got[0] in ANSWERS and got[1] in ANSWERS6, f"@{scenario.vip6} on {backup}: A, AAAA {got}"
    finally:
        subprocess.run(["podman", "unpause", master], check=True, capture_output=True)
    assert lab.wait_for_holders(scenario.vip, scenario.proxies, [master]) == [master]
    assert lab.wait_for_holders(scenario.vip6, scenario.proxies, [master]) == [master]
    got = answered_through(scenario, scenario.vip6)
    assert got[0] in ANSWERS and got[1] in ANSWERS6, f"@{scenario.vip6} back on {master}: A, AAAA {got}"


def test_the_failover_drill(scenario, capsys):
    methods = ["service", "keepalived", "link", "priority"] if scenario.service else ["keepalived", "link", "priority"]
    # the service each VIP guards, the interface: derived by the drill from the instance
    extra = {"drill_group": scenario.variant, "drill_query_name": NAME, "drill_methods": methods,
             "drill_tcp": not scenario.udp}
    tables = run_drill(scenario.lab, scenario.variant, extra, capsys)
    # every method on the IPv4 VIP, and on the IPv6 VIP when the pair has one
    dual = bool(scenario.vars.get("hastack_dns_vip6") or scenario.proxy_vars.get("hastack_dns_vip6"))
    assert [len(tables["DRILL"]), len(tables["DRILL6"])] == [len(methods), len(methods) if dual else 0], tables
    for instance, method, sent, unanswered, _outage, holder in tables["DRILL"] + tables["DRILL6"]:
        assert instance in ("VI_DNS", "VI_DNS6"), instance
        assert int(sent) > 50 and int(unanswered) < int(sent), (method, sent, unanswered)
        assert holder == scenario.proxies[1], (method, holder)


def test_bad_input_stops_the_play_before_any_host_is_touched(scenario):
    # an inventory's own keepalived_instances wins over the one the playbook derives
    instance = {"interface": "eth0", "virtual_router_id": scenario.proxy_vars["hastack_dns_vrid"],
                "virtual_ipaddresses": ["10.99.0.100/24"], "unicast": True}
    if scenario.variant == "dns_lb_haproxy":
        port = ({"haproxy_backend_ports": {"dns": 70000, "dot": 853, "doh": 443}}, "haproxy_backend_ports")
        ipv6 = ({"haproxy_listen_address6": scenario.vip}, "haproxy_listen_address6")
    elif scenario.variant == "dns_lb_nginx":
        services = dict(scenario.proxy_vars["nginx_stream_services"])
        services["dns_udp"] = dict(services["dns_udp"], backend_port=70000)
        port = ({"nginx_stream_services": services}, "nginx_stream_services.dns_udp.backend_port")
        ipv6 = ({"nginx_stream_listen_address6": scenario.vip}, "nginx_stream_listen_address6")
    elif scenario.variant == "dns_lb_dnsdist":
        port = ({"dnsdist_ports": {"dns": 53, "dot": 70000, "doh": 443}}, "dnsdist_ports.dot")
        ipv6 = ({"dnsdist_listen_address6": scenario.vip}, "dnsdist_listen_address6")
    else:
        port = ({"nftables_lb_tcp_ports": [53, 70000]}, "nftables_lb_tcp_ports")
        # NAT cannot take the IPv6 VIP to IPv4 backends
        ipv6 = ({"hastack_dns_backends6": dict(scenario.vars["hastack_dns_backends"])}, "hastack_dns_backends6")
    cases = [
        port,
        ({"keepalived_instances": {"VI_DNS": instance}}, "keepalived_instances.VI_DNS.virtual_ipaddresses"),
        # no certificate: the backends refuse where they serve TLS, else the proxies
        ({"hastack_lab_ca": False},
         "dnsdist_tls_certificate" if scenario.variant == "dns_lb_dnsdist" else "bind_tls_certificate"),
        # the proxies' play alone (the backends' play before it checks nothing of this)
        (*ipv6, scenario.variant),
    ]
    if scenario.variant == "dns_lb_dnsdist":
        # an ACL that admits every address: an open resolver
        cases.append(({"dnsdist_acl": ["10.213.0.0/16", "::/0"]}, "dnsdist_acl: admits every address"))
    nodes = scenario.proxies + scenario.backends
    for extra, named, *limit in cases:
        assert_rejected_before_any_change(scenario.lab, scenario.dir / "converge.yml", nodes, extra, named,
                                          "/etc/keepalived/keepalived.conf /etc/bind/named.conf.options "
                                          "/etc/dnsdist/dnsdist.conf 2>/dev/null || true", *limit)


def backend_maintenance(scenario, capsys, tcp: bool, probes: dict | None = None) -> tuple[str, dict]:
    """playbooks/maintenance.yml (a cycle, named restarted as the work) on the second backend
    while a client queries the VIP every 20 ms (over TCP with tcp=True), or while `probes`
    ({label: DnsProbe}, started by the caller) run; prints the probes' figures
    (BACKEND-MAINTENANCE) and returns the play's output, whitespace folded (the callback folds
    long messages), and the figures by label. Asserts that the play passed."""
    probes = probes or {scenario.vip: DnsProbe(scenario.lab, scenario.client, scenario.vip, NAME,
                                               duration_s=300, tcp=tcp)}
    result = scenario.lab.playbook(REPO / "playbooks/maintenance.yml", "-e", json.dumps(
        {"maintenance_group": f"{scenario.variant}_backends", "maintenance_node": scenario.backends[1],
         "maintenance_work": ["restart"]}))
    assert all(probe.running() for probe in probes.values()), \
        "the maintenance outlasted the probe's window: raise duration_s"
    figures = probe_figures(probes, f"BACKEND-MAINTENANCE {scenario.variant}", capsys)
    assert result.returncode == 0, result.stdout[-3000:]
    return re.sub(r"\s+", " ", result.stdout), figures


def pool_rows(text: str, proxy: str, stage: str, backend: str, name: str = "be2") -> dict[str, tuple[str, str]]:
    """{pool: (state, in-flight)} of the backend named `name` in the pools (its key in
    hastack_dns_backends) in the MAINTENANCE line of `proxy` at `stage`."""
    line = re.search(rf"MAINTENANCE {backend} {stage} {proxy} (.*?)(?=MAINTENANCE|$)", text)
    assert line, text[-3000:]
    return {pool: (state, flight) for pool, state, flight in re.findall(rf"(\S+) {name} (\S+) (\d+)", line.group(1))}


def drained_through_a_converge(scenario, while_drained) -> None:
    """Drain the second backend by hand (maintenance_action=drain) and converge the variant:
    the converge changes nothing on the proxies and the backend gets no query
    (while_drained(scenario) checks the variant's own state too); then restore it, and it
    answers again."""
    lab, backend = scenario.lab, scenario.backends[1]
    drain = {"maintenance_group": f"{scenario.variant}_backends", "maintenance_node": backend}
    maintenance = REPO / "playbooks/maintenance.yml"
    drained = lab.playbook(maintenance, "-e", json.dumps(dict(drain, maintenance_action="drain")))
    assert drained.returncode == 0, drained.stdout[-3000:]
    try:
        converged = lab.playbook(scenario.dir / "converge.yml")
        assert converged.returncode == 0, converged.stdout[-3000:]
        changes = recap_changes(converged.stdout)
        assert sum(changes[proxy] for proxy in scenario.proxies) == 0, converged.stdout[-3000:]
        while_drained(scenario)
        assert set(scenario.answers(6)) == {answer for answer in ANSWERS if answer != "1.2.3.5"}
    finally:
        restored = lab.playbook(maintenance, "-e", json.dumps(dict(drain, maintenance_action="restore")))
        assert restored.returncode == 0, restored.stdout[-3000:]
    assert set(scenario.answers(6)) == ANSWERS
