"""dnsdist in front of two BIND backends: UDP, TCP, DoT, DoH through the VIP, active health
checks, the packet cache, the ACL, the rate limit, the console and the API; a hung dnsdist
hands the VIP over."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
import yaml

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.awx_jobs import job_template_test  # noqa: E402

# idempotence, as AWX runs the variant (in place of Molecule's idempotence step); first
test_the_awx_job_template_runs_and_changes_nothing = job_template_test(
    "dns_lb_dnsdist", SCENARIO / "inventory.yml")
from tests.dns_lb_checks import *  # noqa: E402,F401,F403  (the shared tests)
from tests.dns_lb_checks import ANSWERS, Scenario, answered_through  # noqa: E402
from tests.labkit import kdig, poll  # noqa: E402


@pytest.fixture(scope="module")
def scenario():
    return Scenario(SCENARIO, "dns_lb_dnsdist", udp=True, service="dnsdist", balancing_checked=True)


def test_a_client_outside_the_acl_gets_no_answer(scenario):
    # a backend is on the LAN but outside dnsdist_acl (the clients' /29): dropped, both
    # families, while the client inside it is answered
    outsider = scenario.backends[0]
    for vip in (scenario.vip, scenario.vip6):
        assert kdig(scenario.lab, outsider, vip, "www.abc.local", "+notcp", retry=0) == "", vip
        assert kdig(scenario.lab, outsider, vip, "www.abc.local", "+tcp", retry=0) == "", vip
        assert scenario.query("+notcp", server=vip) in ANSWERS, vip


# sends COUNT UDP queries (distinct ids) as fast as it can for at most 2 s, then counts
# the answers that came back within 1 s more; prints "sent answered seconds"
BLAST = r"""
import socket, struct, sys, time
server, count = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in server else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.setblocking(False)
name = b"".join(bytes([len(p)]) + p for p in b"www.abc.local".split(b".")) + b"\0"
start, sent, answered = time.monotonic(), 0, 0
while sent < count and time.monotonic() - start < 2:
    s.sendto(struct.pack(">HHHHHH", sent, 0x0100, 1, 0, 0, 0) + name + b"\0\1\0\1", (server, 53))
    sent += 1
    try:
        while True:
            s.recv(512); answered += 1
    except BlockingIOError:
        pass
elapsed = time.monotonic() - start
end = time.monotonic() + 1
while time.monotonic() < end:
    try:
        s.recv(512); answered += 1
    except BlockingIOError:
        time.sleep(0.01)
print(sent, answered, round(elapsed, 3))
"""


def test_the_per_client_rate_limit(scenario):
    qps = int(scenario.proxy_vars["dnsdist_rate_limit_qps"])
    script = "/tmp/hastack-test-blast.py"
    scenario.lab.check(scenario.client, f"cat > {script} <<'EOF'\n{BLAST}\nEOF")
    sent, answered, elapsed = scenario.lab.check(scenario.client, f"python3 {script} {scenario.vip} 1000").split()
    sent, answered, elapsed = int(sent), int(answered), float(elapsed)
    print(f"RATE LIMIT {qps}/s: {sent} sent in {elapsed} s, {answered} answered")
    # the bucket holds `burst` (= qps) and refills at qps: what passes is bounded by that
    assert sent >= 5 * qps, f"the client sent only {sent} queries in {elapsed} s: no limit to test"
    assert qps * 0.5 <= answered <= qps + qps * (elapsed + 1) + 10, (sent, answered, elapsed)
    # the limit is per client and lifts at once: a query right after is answered again
    assert poll(lambda: scenario.query("+notcp"), lambda got: got in ANSWERS, timeout=3, interval=0.2) in ANSWERS


def node_address(scenario, node: str) -> str:
    data = yaml.safe_load((SCENARIO / "inventory.yml").read_text())
    return data["all"]["children"]["dns_lb_dnsdist"]["hosts"][node]["lab_addresses"]["lan"]


def test_the_packet_cache_answers_repeated_questions(scenario):
    # cached.abc.local (TTL 300) has another answer on each backend: once cached, every
    # query gets the same one, and dnsdist's cache counts the hits (its Prometheus metrics)
    def cache_hits():
        return sum(float(line.split()[1]) for node in scenario.proxies
                   for line in scenario.lab.check(node, "curl -sf -H 'X-API-Key: lab-only-api' "
                                                        f"http://{node_address(scenario, node)}:8083/metrics"
                                                  ).splitlines()
                   if line.startswith("dnsdist_cache_hits "))
    before = cache_hits()
    seen = [kdig(scenario.lab, scenario.client, scenario.vip, "cached.abc.local", "+notcp") for _ in range(6)]
    assert len(set(seen)) == 1 and seen[0] in ("1.2.4.4", "1.2.4.5"), seen
    assert cache_hits() - before >= 5


def test_the_api_needs_its_key_and_the_console_its_key(scenario):
    lab, node = scenario.lab, scenario.proxies[0]
    address = node_address(scenario, node)
    url = f"http://{address}:8083/api/v1/servers/localhost"
    # the API from the client's side of the LAN: with the key, the backends and their state
    servers = json.loads(lab.check(scenario.client, f"curl -sf -H 'X-API-Key: lab-only-api' {url}"))["servers"]
    assert sorted((s["name"], s["state"]) for s in servers) == [("be1", "up"), ("be2", "up")], servers
    # without it, or with another, refused
    assert lab.run(scenario.client, f"curl -sf {url}").rc != 0
    assert lab.run(scenario.client, f"curl -sf -H 'X-API-Key: wrong' {url}").rc != 0
    # nothing listens on the VIP's web port
    assert lab.run(scenario.client, f"curl -sf -m 2 -H 'X-API-Key: lab-only-api' http://{scenario.vip}:8083/").rc != 0
    # the console answers on localhost with the key (dnsdist -c reads it from the config)
    assert "be1" in lab.check(node, "dnsdist -c -e 'showServers()'")
    # the console port is not reachable from the LAN
    assert lab.run(scenario.client, f"timeout 3 bash -c '</dev/tcp/{address}/5199'").rc != 0
    # the secrets are in a file of their own, for root and dnsdist's group only; the
    # config (whose diff the play shows) holds none
    assert lab.check(node, "stat -c '%a %U %G' /etc/dnsdist/secrets.d/secrets.conf").split() == \
        ["640", "root", "_dnsdist"]
    assert lab.run(node, "grep -E 'lab-only|setKey' /etc/dnsdist/dnsdist.conf").rc == 1


def test_a_hung_dnsdist_hands_over_the_vip(scenario):
    # SIGSTOP: the process stays (its state file says running), only the real query of
    # keepalived's health check notices; the VIP moves and the backup answers
    lab, master, backup = scenario.lab, *scenario.proxies
    lab.check(master, "systemctl kill -s STOP dnsdist")
    try:
        assert lab.wait_for_holders(scenario.vip, scenario.proxies, [backup], timeout=10) == [backup]
        got = answered_through(scenario, scenario.vip6)
        assert got[0] in ANSWERS, got
        assert scenario.query("+notcp") in ANSWERS
    finally:
        lab.check(master, "systemctl kill -s CONT dnsdist")
    assert lab.wait_for_holders(scenario.vip, scenario.proxies, [master], timeout=15) == [master]
