"""BIND backends: each answers www.abc.local its own way over UDP, TCP, DoT and DoH.

Every query goes from the client to the two backends on the scenario's internal network;
nothing asks anything outside (the "outside name" is asked of the backends themselves).
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
import yaml

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.labkit import (  # noqa: E402
    assert_rejected_before_any_change,
    dig,
    kdig,
    main_pid,
    recap_changes,
    scenario_fixtures,
)

CLIENT = "hastack-mol-bind-client"
BACKENDS = {"hastack-mol-bind1": ("10.213.50.11", "1.2.3.4"), "hastack-mol-bind2": ("10.213.50.12", "1.2.3.5")}
# each backend's IPv6 address and its AAAA answer for NAME
BACKENDS6 = {"hastack-mol-bind1": ("fd00:213:50::11", "2001:db8::4"),
             "hastack-mol-bind2": ("fd00:213:50::12", "2001:db8::5")}
NAME = "www.abc.local"
VIP, SERVICE_NAME = "10.213.50.100", "dns.abc.local"
CA = "/etc/hastack/tls/ca.crt"  # on the client, from lab_ca's trust entry point
CONVERGE = SCENARIO / "converge.yml"
INVENTORY = yaml.safe_load((SCENARIO / "inventory.yml").read_text())
ZONES = INVENTORY["all"]["children"]["dns_backends"]["vars"]["bind_zones"]
LAB_CA_DIR = Path.home() / ".local/share/hastack/lab-ca" / INVENTORY["all"]["vars"]["lab_name"]

lab, nodes, _ = scenario_fixtures(SCENARIO / "inventory.yml", "dns_backends")


def tls(hostname: str, ca: str = CA) -> tuple[str, str]:
    return f"+tls-ca={ca}", f"+tls-hostname={hostname}"


def serial(lab, address: str) -> int:
    return int(dig(lab, CLIENT, address, "abc.local", "SOA").split()[2])


def test_named_listens_on_53_853_443_as_user_bind(lab, nodes):
    for node in nodes:
        address, address6 = BACKENDS[node][0], BACKENDS6[node][0]
        for proto, port in (("u", 53), ("t", 53), ("t", 853), ("t", 443)):
            local = [line.split()[3] for line in lab.check(node, f"ss -Hln{proto}").splitlines()]
            assert f"{address}:{port}" in local, f"{node}: nothing on {proto}/{port}: {local}"
            assert f"[{address6}]:{port}" in local, f"{node}: nothing on IPv6 {proto}/{port}: {local}"
        user = lab.check(node, f"ps -o user= -p {main_pid(lab, node, 'named')}").strip()
        assert user == "bind", f"{node}: named runs as {user}"


@pytest.mark.parametrize("transport", ["+notcp", "+tcp"], ids=["UDP", "TCP"])
def test_each_backend_answers_its_own_address(lab, transport):
    for address, answer in BACKENDS.values():
        assert dig(lab, CLIENT, address, NAME, transport) == answer, f"{transport} @{address}"
        assert dig(lab, CLIENT, address, f"mail.{NAME.split('.', 1)[1]}", transport, "MX") == "10 www.abc.local."


@pytest.mark.parametrize("transport", ["+notcp", "+tcp", "+tls", "+https"], ids=["UDP", "TCP", "DoT", "DoH"])
def test_each_backend_answers_a_and_aaaa_on_its_ipv6_address(lab, transport):
    for node, (address6, answer6) in BACKENDS6.items():
        options = (transport, *tls(node)) if transport in ("+tls", "+https") else (transport,)
        got = (kdig(lab, CLIENT, address6, NAME, *options, qtype="AAAA"), kdig(lab, CLIENT, address6, NAME, *options))
        assert got == (answer6, BACKENDS[node][1]), f"{transport} @{address6}: AAAA, A {got}"


@pytest.mark.parametrize("transport", ["+tls", "+https"], ids=["DoT", "DoH"])
def test_dot_and_doh_verified_against_the_lab_ca(lab, transport):
    for node, (address, answer) in BACKENDS.items():
        # the host name, the host address, and the extra SANs (a VIP, a service name)
        for hostname in (node, address, VIP, SERVICE_NAME):
            got = kdig(lab, CLIENT, address, NAME, transport, *tls(hostname))
            assert got == answer, f"{transport} @{address} as {hostname}: expected {answer}, got {got!r}"
        other = next(name for name in BACKENDS if name != node)
        for hostname, ca in ((other, CA), ("10.213.50.99", CA), (node, "/etc/ssl/certs/ca-certificates.crt")):
            got = kdig(lab, CLIENT, address, NAME, transport, *tls(hostname, ca))
            assert got == "", f"{transport} @{address} as {hostname} with {ca}: verified but must not be, got {got!r}"


def test_doh_endpoint_with_curl(lab):
    # www.abc.local A, RFC 8484 GET (base64url, no padding), HTTP/2, verified against the lab CA
    query = "AAABAAABAAAAAAAAA3d3dwNhYmMFbG9jYWwAAAEAAQ"
    for node, (address, answer) in BACKENDS.items():
        curl = (f"curl -sS --http2 --max-time 5 --cacert {CA} --resolve {SERVICE_NAME}:443:{address} "
                f"-H 'accept: application/dns-message' -o /tmp/doh.bin -w '%{{http_code}} %{{http_version}}' "
                f"https://{SERVICE_NAME}")
        assert lab.check(CLIENT, f"{curl}/dns-query?dns={query}") == "200 2", node
        wire = lab.check(CLIENT, "od -An -tu1 -v /tmp/doh.bin").split()
        assert ".".join(wire[-4:]) == answer, f"{node}: DoH answer {wire}"
        assert lab.check(CLIENT, f"{curl}/not-the-endpoint?dns={query}").startswith("404"), node


def test_outside_names_are_refused_not_recursed(lab):
    # asked of the backends only: authoritative servers refuse, and never go looking
    for address, _ in BACKENDS.values():
        for name in ("www.example.org", "hastack-no-such-zone.test"):
            for transport in ("+notcp", "+tcp"):
                out = lab.check(CLIENT, f"dig +time=2 +tries=1 {transport} @{address} {name}")
                assert "status: REFUSED" in out, f"@{address} {name}: {out}"
                flags = out.split("flags:", 1)[1].split(";", 1)[0].split()
                assert "ra" not in flags, f"@{address} offers recursion: {flags}"
        assert "status: NXDOMAIN" in lab.check(CLIENT, f"dig +time=2 +tries=1 @{address} nothing.abc.local")


def test_the_certificate_names_the_host_and_the_keys_are_private(lab, nodes):
    for node in nodes:
        address = BACKENDS[node][0]
        sans = lab.check(node, "openssl x509 -noout -ext subjectAltName -in /etc/hastack/tls/server.crt")
        for san in (f"DNS:{node}", f"IP Address:{address}", f"IP Address:{VIP}", f"DNS:{SERVICE_NAME}"):
            assert san in sans, f"{node}: {san} missing from {sans}"
        lab.check(node, "openssl verify -CAfile /etc/hastack/tls/ca.crt /etc/hastack/tls/server.crt")
        assert lab.check(node, "stat -c '%a %U %G' /etc/hastack/tls/server.key").strip() == "600 bind bind"
    # the client gets the CA certificate, and no key
    assert lab.check(CLIENT, "ls /etc/hastack/tls").split() == ["ca.crt"]
    # on the controller: the directory and every key private to the user running Ansible
    assert stat.S_IMODE(LAB_CA_DIR.stat().st_mode) == 0o700
    keys = sorted(path.name for path in LAB_CA_DIR.glob("*.key"))
    assert keys == ["ca.key", *sorted(f"{node}.key" for node in nodes)], keys
    for key in LAB_CA_DIR.glob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
        assert key.stat().st_uid == os.getuid(), key


def test_zone_listener_and_certificate_changes_are_reloads_not_restarts(lab, nodes):
    pids = {node: main_pid(lab, node, "named") for node in nodes}
    serials = {node: serial(lab, address) for node, (address, _) in BACKENDS.items()}
    zones = json.loads(json.dumps(ZONES))
    zones["abc.local"]["records"].append({"name": "new", "type": "A", "value": "10.213.50.77"})
    extra = {"bind_zones": zones, "bind_doh_enabled": False,
             "lab_ca_extra_sans": [f"IP:{VIP}", "IP:fd00:213:50::100", f"DNS:{SERVICE_NAME}", "DNS:new.abc.local"]}
    result = lab.playbook(CONVERGE, "-v", "-e", json.dumps(extra))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "PRIVATE KEY" not in result.stdout, "key material in the play's output"
    try:
        for node, (address, answer) in BACKENDS.items():
            assert dig(lab, CLIENT, address, "new.abc.local") == "10.213.50.77", node
            assert dig(lab, CLIENT, address, NAME) == answer, f"{node}: its own answer is gone"
            assert serial(lab, address) > serials[node], node
            assert kdig(lab, CLIENT, address, NAME, "+tls", *tls("new.abc.local")) == answer, \
                f"{node}: the new certificate is not served"
            assert kdig(lab, CLIENT, address, NAME, "+https", *tls(node)) == "", f"{node}: DoH still on"
            assert main_pid(lab, node, "named") == pids[node], f"{node}: named was restarted"
    finally:
        restored = lab.playbook(CONVERGE)
    assert restored.returncode == 0, restored.stdout[-3000:]
    for node, (address, answer) in BACKENDS.items():
        assert dig(lab, CLIENT, address, "new.abc.local") == "", node
        assert kdig(lab, CLIENT, address, NAME, "+https", *tls(node)) == answer, f"{node}: DoH not back"
        assert kdig(lab, CLIENT, address, NAME, "+tls", *tls("new.abc.local")) == "", node
        assert main_pid(lab, node, "named") == pids[node], f"{node}: named was restarted"


def test_a_second_converge_changes_nothing(lab, nodes):
    serials = {node: serial(lab, address) for node, (address, _) in BACKENDS.items()}
    result = lab.playbook(CONVERGE)
    assert result.returncode == 0, result.stdout[-3000:]
    changes = recap_changes(result.stdout)
    assert set(changes) == {*nodes, CLIENT} and not any(changes.values()), changes
    assert {node: serial(lab, address) for node, (address, _) in BACKENDS.items()} == serials


@pytest.mark.parametrize("extra,named", [
    ({"hastack_lab_ca": False}, "bind_tls_certificate"),
    ({"bind_zones": {"abc.local": {"records": [{"name": "www", "type": "A", "value": "1.2.3.999"}]}}},
     "bind_zones['abc.local'].records[0].value"),
    ({"bind_host_records": {"abc.lcoal": [{"name": "www", "type": "A", "value": "1.2.3.6"}]}},
     "bind_host_records['abc.lcoal']"),
    ({"lab_ca_extra_sans": ["VIP:10.213.50.100"]}, "lab_ca_extra_sans"),
    ({"bind_listen_addresses6": ["10.213.50.11"]}, "bind_listen_addresses6"),
    ({"bind_zones": {"abc.local": {"records": [{"name": "www", "type": "AAAA", "value": "1.2.3.4"}]}}},
     "bind_zones['abc.local'].records[0].value"),
], ids=["DoT without certificate", "bad record", "records for a zone that is not there", "bad SAN",
        "IPv4 address in the IPv6 listen", "IPv4 address in an AAAA record"])
def test_bad_input_stops_the_play_before_any_host_is_touched(lab, nodes, extra, named):
    assert_rejected_before_any_change(lab, CONVERGE, nodes, extra, named,
                                      "/etc/bind/named.conf.options /etc/bind/named.conf.local "
                                      "/etc/bind/hastack/db.* /etc/hastack/tls/*")
