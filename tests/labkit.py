"""Helpers the Molecule verifiers share: reach lab hosts, find VIPs, rerun playbooks.

Every wait here is bounded (count and time) and ends in an assertion by the
caller; nothing sleeps in place of checking.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import random
import re
import shlex
import sys
import subprocess
import threading
import time
from pathlib import Path

import testinfra
import yaml

REPO = Path(__file__).resolve().parent.parent


def venv_bin(name: str) -> str:
    """A tool from the venv that runs the tests (ansible-playbook, ...)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


class Lab:
    """The hosts of a scenario inventory, reached over ssh with the lab's key (podman exec where
    the inventory gives no key)."""

    def __init__(self, inventory: Path):
        self.inventory = Path(inventory)
        data = yaml.safe_load(self.inventory.read_text())
        self.groups: dict[str, list[str]] = {}
        self.addresses: dict[str, dict[str, str]] = {}
        self.addresses6: dict[str, dict[str, str]] = {}  # IPv6 lab addresses, dual-stack labs
        self._walk("all", data["all"])
        top = data["all"].get("vars") or {}
        self.key = str(top.get("ansible_ssh_private_key_file", "")).replace("{{ lab_name }}",
                                                                             str(top.get("lab_name", "")))
        if self.key:  # as Ansible reaches them: ssh as root to the first address with the lab's key
            self.hosts = {name: testinfra.get_host(
                f"ssh://root@{next(iter(addresses.values()))}", ssh_identity_file=self.key,
                ssh_extra_args=top.get("ansible_ssh_common_args", "")) for name, addresses in self.addresses.items()}
        else:
            self.hosts = {name: testinfra.get_host(f"podman://{name}") for name in self.addresses}

    def _walk(self, group: str, node: dict) -> list[str]:
        members = []
        for name, host_vars in (node.get("hosts") or {}).items():
            self.addresses[name] = (host_vars or {}).get("lab_addresses", {})
            self.addresses6[name] = (host_vars or {}).get("lab_addresses6", {})
            members.append(name)
        for child, child_node in (node.get("children") or {}).items():
            members += self._walk(child, child_node or {})
        self.groups[group] = members
        return members

    def run(self, host: str, command: str, *args) -> subprocess.CompletedProcess:
        """Run a command on a lab host and return the result (no check)."""
        return self.hosts[host].run(command, *args)

    def reachable(self, host: str) -> bool:
        """Whether a command runs on the host now (False while ssh cannot connect)."""
        try:
            return self.hosts[host].run("true").rc == 0
        except RuntimeError:  # testinfra's ssh backend: ssh itself failed (exit 255)
            return False

    def restart(self, host: str, timeout: float = 90.0) -> bool:
        """Power-cycle a host's container (podman: the lab's plumbing) and wait, bounded, until
        ssh reaches it again (its sshd starts late in the boot); return whether it did."""
        subprocess.run(["podman", "restart", "--time", "5", host], check=True, capture_output=True)
        return poll(lambda: self.reachable(host), bool, timeout=timeout, interval=1.0)

    def check(self, host: str, command: str, *args) -> str:
        """Run a command that must succeed; return its stdout."""
        result = self.hosts[host].run(command, *args)
        assert result.rc == 0, (f"{host}: `{result.command}` exited {result.rc}: "
                                f"{result.stdout}{result.stderr}")
        return result.stdout

    def holders(self, vip: str, nodes: list[str]) -> list[str]:
        """The nodes that have vip configured on any interface."""
        wanted = ipaddress.ip_address(vip)
        held = []
        for node in nodes:
            out = self.check(node, f"ip -o -{wanted.version} addr show")
            if any(ipaddress.ip_address(line.split()[3].split("/")[0]) == wanted
                   for line in out.splitlines()):
                held.append(node)
        return held

    def wait_for_holders(self, vip: str, nodes: list[str], expected: list[str],
                         timeout: float = 10.0, interval: float = 0.1) -> list[str]:
        """Poll until exactly `expected` hold the VIP or time runs out; return the last seen."""
        deadline = time.monotonic() + timeout
        seen = self.holders(vip, nodes)
        while sorted(seen) != sorted(expected) and time.monotonic() < deadline:
            time.sleep(interval)
            seen = self.holders(vip, nodes)
        return seen

    def playbook(self, playbook: Path, *extra: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """Run ansible-playbook against this lab's inventory; return the result (no check)."""
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                   ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
        cmd = [venv_bin("ansible-playbook"), "-i", str(self.inventory), str(playbook), *extra]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                              cwd=REPO)


class _Probe:
    """A probe module of the collection run from a lab host in the background (an ad-hoc
    ansible run against the scenario's inventory) for at most duration_s seconds while the
    test does something else; stop() ends it early, result() waits for it (bounded) and
    returns the module's figures (sent, answered, unanswered, outage_ms, outages)."""

    module = ""

    def __init__(self, lab: Lab, host: str, duration_s: float, args: str):
        self.lab, self.host, self.duration_s = lab, host, duration_s
        self.stop_file = f"/run/hastack-test-probe-{random.randrange(1 << 32):08x}.stop"
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                   ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_FORCE_COLOR="0")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [venv_bin("ansible"), "-i", str(lab.inventory), host, "-m", self.module, "-a",
             f"{args} duration_s={duration_s} stop_file={self.stop_file}"],
            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def stop(self) -> None:
        """End the probe's window now (it answers result() within about 100 ms)."""
        self.lab.check(self.host, f"touch {self.stop_file}")

    def running(self) -> bool:
        """Whether the probe's window is still open (it still queries)."""
        return self.process.poll() is None and time.monotonic() - self.started < self.duration_s

    def result(self) -> dict:
        out, err = self.process.communicate(timeout=self.duration_s + 60)
        self.lab.run(self.host, f"rm -f {self.stop_file}")
        assert self.process.returncode == 0, f"{self.module} on {self.host} failed: {out[-2000:]}{err[-2000:]}"
        data = json.loads(out)
        return data["plays"][0]["tasks"][0]["hosts"][self.host]


class DnsProbe(_Probe):
    """dns_probe: queries `server` for `name` every interval_ms (over TCP with tcp=True); a
    query not answered within timeout_ms counts as lost."""

    module = "hastack.dns_dhcp.dns_probe"

    def __init__(self, lab: Lab, host: str, server: str, name: str, duration_s: float,
                 interval_ms: int = 20, tcp: bool = False, timeout_ms: int = 250):
        super().__init__(lab, host, duration_s, f"server={server} name={name} interval_ms={interval_ms} "
                                                f"tcp={'true' if tcp else 'false'} timeout_ms={timeout_ms}")


class DhcpProbe(_Probe):
    """dhcp_probe: asks the DHCP server `server` for configuration (DHCPINFORM) every interval_ms."""

    module = "hastack.dns_dhcp.dhcp_probe"

    def __init__(self, lab: Lab, host: str, server: str, duration_s: float, interval_ms: int = 100):
        super().__init__(lab, host, duration_s, f"server={server} interval_ms={interval_ms}")


def probe_figures(probes: dict, label: str, capsys) -> dict:
    """Stop the probes ({target: probe}), print their figures past pytest's capture (one line
    `label target sent ... outages ...` each: the scenario's figures) and return them."""
    for probe in probes.values():
        probe.stop()
    figures = {target: probe.result() for target, probe in probes.items()}
    with capsys.disabled():
        for target, got in figures.items():
            print(f"\n{label} {target} sent {got['sent']} unanswered {got['unanswered']} "
                  f"outage_ms {got['outage_ms']:.0f} outages {got['outages']}")
    return figures


@contextlib.contextmanager
def cut(lab: Lab, hosts: list[str], *matches: str):
    """Drop the packets each nftables match (e.g. 'meta l4proto vrrp', 'ip saddr 10.0.0.5')
    selects, in and out of each host, inside the host's own network namespace, until the
    block ends."""
    table = "inet hastack_test_cut"
    rules = " ".join(f"{match} drop;" for match in matches)
    try:
        for host in hosts:
            lab.check(host, f"nft -f - <<'EOF'\ntable {table} {{\n"
                            f"  chain input {{ type filter hook input priority -200; {rules} }}\n"
                            f"  chain output {{ type filter hook output priority -200; {rules} }}\n"
                            "}\nEOF")
        yield
    finally:
        for host in hosts:
            lab.run(host, f"nft delete table {table}")

def parse_dhclient_lease(text: str) -> dict:
    """The last lease of a dhclient lease file as a dict of its options."""
    block = text.rsplit("lease {", 1)[-1]
    lease = {}
    for line in block.splitlines():
        line = line.strip().rstrip(";")
        if line.startswith("fixed-address "):
            lease["address"] = line.split()[1]
        elif line.startswith("option "):
            _, name, value = line.split(" ", 2)
            lease[name] = value.strip('"')
    return lease


def parse_dhclient6_lease(text: str) -> dict:
    """The last lease of a dhclient -6 lease file: address, the IA_NA times, and the options
    (server-id, name-servers, domain-search...) without their dhcp6. prefix."""
    block = text.rsplit("lease6 {", 1)[-1]
    lease = {}
    for line in block.splitlines():
        words = line.strip().rstrip(";").split(None, 2)
        if words[:1] == ["iaaddr"]:
            lease.setdefault("address", words[1])
        elif words[:1] == ["option"] and len(words) == 3:
            lease[words[1].removeprefix("dhcp6.")] = words[2].strip('"')
        elif len(words) == 2 and words[0] in ("starts", "renew", "rebind", "preferred-life", "max-life"):
            lease.setdefault(words[0], int(words[1]))  # the IA's starts first, then the address's
    return lease


def duid(text: str) -> str:
    """A DUID as lowercase two-digit hex bytes (dhclient writes 0:1:..., Kea 00:01:...)."""
    return ":".join(part.zfill(2) for part in text.strip().lower().split(":"))


class DhcpClient6:
    """One real DHCPv6 client (dhclient -6) on its own macvlan interface.

    Its DUID is DUID-LL from the interface's MAC (-D LL), so a MAC gives a known DUID. The
    interface gets a fixed link-local address without duplicate address detection: dhclient
    cannot bind to a tentative one, and /proc/sys (where DAD could be turned off) is
    read-only in the containers. Addresses it gets are never configured (-sf /bin/true).
    """

    def __init__(self, lab: Lab, host: str, name: str, parent: str = "eth0", mac: str | None = None):
        self.lab, self.host, self.name = lab, host, name
        self.leasefile, self.pidfile = f"/tmp/{name}.leases6", f"/tmp/{name}.pid6"
        # a random locally administered unicast MAC unless given
        self.mac = mac or ":".join(f"{b:02x}" for b in [0x02] + list(random.randbytes(5)))
        octets = [int(part, 16) for part in self.mac.split(":")]
        eui64 = [octets[0] ^ 2] + octets[1:3] + [0xFF, 0xFE] + octets[3:]
        link_local = ipaddress.IPv6Address(bytes([0xFE, 0x80] + [0] * 6 + eui64))
        self.duid = duid("00:03:00:01:" + self.mac)
        self.lab.check(host, "sh -c " + shlex.quote(
            f"{self._stop_cmd()}; ip link del {name} 2>/dev/null; rm -f {self.leasefile}; "
            f"ip link add {name} address {self.mac} link {parent} type macvlan mode bridge && "
            f"ip link set {name} addrgenmode none && ip addr add {link_local}/64 dev {name} nodad && "
            f"ip link set {name} up"))

    def _stop_cmd(self) -> str:
        return f"kill $(cat {self.pidfile} 2>/dev/null) 2>/dev/null; rm -f {self.pidfile}"

    def _dhclient(self, timeout: int, fresh: bool) -> str:
        """Run dhclient -6 once (a fresh lease file, or the one it has); stop the copy it leaves
        renewing in the background unless asked to leave it; return the lease file."""
        result = self.lab.run(self.host, "sh -c " + shlex.quote(
            f"{self._stop_cmd()}; {'rm -f ' + self.leasefile if fresh else 'true'}; "
            f"timeout {timeout} dhclient -6 -1 -D LL -lf {self.leasefile} -pf {self.pidfile} -sf /bin/true "
            f"{self.name}; rc=$?; cat {self.leasefile}; exit $rc"))
        assert result.rc == 0, f"{self.host}/{self.name} ({self.duid}): no DHCPv6 lease within {timeout} s: " \
                               f"{result.stdout}{result.stderr}"
        return result.stdout

    def obtain(self, timeout: int = 40) -> dict:
        """Solicit an address (a fresh client); returns the lease (address, server-id, options, times)."""
        try:
            lease = parse_dhclient6_lease(self._dhclient(timeout, fresh=True))
        finally:  # dhclient stays in the background to renew; the tests renew on their own terms
            self.lab.run(self.host, self._stop_cmd())
        assert "address" in lease and "server-id" in lease, lease
        return lease

    def rebind(self, timeout: int = 20) -> dict:
        """Rebind the address this client holds, as it does once T2 has passed and its server
        stayed silent: the lease's start is moved back past T2 (still within its valid
        lifetime), dhclient confirms it and rebinds at once (a Rebind names no server: any
        server may extend it). Returns the lease it gets; fails when none comes."""
        lease = parse_dhclient6_lease(self.lab.check(self.host, f"cat {self.leasefile}"))
        back = lease["rebind"] + 2
        assert back < lease["max-life"], f"T2 ({lease['rebind']} s) is not within the valid lifetime: {lease}"
        moved = f"s/starts [0-9]+;/starts {lease['starts'] - back};/"
        self.lab.check(self.host, f"sed -i -E {shlex.quote(moved)} {self.leasefile}")
        self._dhclient(timeout, fresh=False)  # confirms, then rebinds in the background

        def rebound(text: str) -> bool:  # a lease that starts now, not the one moved back
            return parse_dhclient6_lease(text).get("starts", 0) >= lease["starts"]

        try:
            last = poll(lambda: self.lab.check(self.host, f"cat {self.leasefile}"), rebound, timeout=timeout)
        finally:
            self.lab.run(self.host, self._stop_cmd())
        assert rebound(last), f"{self.name}: no reply to its Rebind within {timeout} s: {last[-800:]}"
        return parse_dhclient6_lease(last)

    def remove(self) -> None:
        self.lab.run(self.host, "sh -c " + shlex.quote(f"{self._stop_cmd()}; ip link del {self.name}"))


class DhcpClient:
    """One real DHCP client (dhclient) with its own macvlan interface, so its own MAC.

    obtain() runs dhclient once; renew() runs it again on the same interface and lease
    file, so the client asks for the address it holds (INIT-REBOOT REQUEST) from
    whichever server answers. The address is never configured on the interface.
    """

    def __init__(self, lab: Lab, host: str, name: str, parent: str = "eth0", mac: str | None = None):
        self.lab, self.host, self.name, self.parent = lab, host, name, parent
        self.leasefile, self.pidfile = f"/tmp/{name}.leases", f"/tmp/{name}.pid"
        self.lab.run(host, f"sh -c 'kill $(cat {self.pidfile} 2>/dev/null) 2>/dev/null; ip link del {name}; "
                           f"rm -f {self.leasefile}'")
        address = f" address {mac}" if mac else ""
        self.lab.check(host, f"ip link add {name}{address} link {parent} type macvlan mode bridge")
        self.lab.check(host, f"ip link set {name} up")
        self.mac = self.lab.check(host, f"cat /sys/class/net/{name}/address").strip()

    def _run(self, timeout: int) -> dict:
        self.lab.run(self.host, f"sh -c 'kill $(cat {self.pidfile} 2>/dev/null) 2>/dev/null'")
        result = self.lab.run(self.host, f"timeout {timeout} dhclient -1 -lf {self.leasefile} "
                                         f"-pf {self.pidfile} -sf /bin/true {self.name}")
        assert result.rc == 0, f"{self.host}/{self.name} ({self.mac}): no lease within {timeout} s: " \
                               f"{result.stdout}{result.stderr}"
        # dhclient stays in the background to renew; the tests renew on their own terms
        self.lab.run(self.host, f"sh -c 'kill $(cat {self.pidfile} 2>/dev/null) 2>/dev/null'")
        text = self.lab.check(self.host, f"cat {self.leasefile}")
        lease = parse_dhclient_lease(text)
        assert "address" in lease, lease
        return lease

    def obtain(self, timeout: int = 30) -> dict:
        """A lease for this client's MAC; returns its options (address, routers, ...)."""
        return self._run(timeout)

    def renew(self, timeout: int = 30) -> dict:
        """Ask again for the address this client holds; returns the lease it gets."""
        return self._run(timeout)

    def remove(self) -> None:
        self.lab.run(self.host, f"sh -c 'kill $(cat {self.pidfile} 2>/dev/null) 2>/dev/null; "
                                f"ip link del {self.name}'")


class DhcpClients:
    """Fresh DHCP clients on a lab host: every lease() is a new interface with a new MAC
    (DHCPv6 clients, DhcpClient6, with v6=True; lease6() gives one either way)."""

    def __init__(self, lab: Lab, host: str, parent: str = "eth0", v6: bool = False):
        self.lab, self.host, self.parent, self.v6, self.count = lab, host, parent, v6, 0

    def client(self, mac: str | None = None):
        """A new client (a random MAC unless given) that keeps its interface until remove()."""
        self.count += 1
        if self.v6:
            return DhcpClient6(self.lab, self.host, f"d6c{self.count}", self.parent, mac)
        return DhcpClient(self.lab, self.host, f"dh{self.count}", self.parent, mac)

    def lease(self, timeout: int | None = None) -> dict:
        """Obtain a lease on a fresh interface that is removed afterwards; returns the lease
        (IPv4: its options; DHCPv6: the address, server-id, options and times)."""
        client = self.client()
        try:
            return client.obtain(timeout or (40 if self.v6 else 30))
        finally:
            client.remove()

    def lease6(self, timeout: int = 40) -> dict:
        """A DHCPv6 lease (IA_NA) as a fresh client (interface, MAC, DUID)."""
        return DhcpClients(self.lab, self.host, self.parent, v6=True).lease(timeout)


@contextlib.contextmanager
def asking_for_leases(lab: Lab, host: str, timeout: int = 12, macs: int = 12):
    """A client on `host` asking for a lease again and again (DISCOVER to ACK by broadcast),
    in a thread, until the block ends (at most 300 leases). The MACs cycle through `macs`
    fixed ones, so a long block does not exhaust a small pool. Yields the list it fills:
    (seconds to the lease, server identifier or None when none came within `timeout`)."""
    tries: list = []
    done = threading.Event()
    dhcp = DhcpClients(lab, host)

    def ask():
        for count in range(300):
            if done.is_set():
                return
            client = dhcp.client(f"02:00:5e:10:00:{count % macs:02x}")
            started = time.monotonic()
            try:
                lease = client.obtain(timeout)
                tries.append((time.monotonic() - started, lease.get("dhcp-server-identifier")))
            except AssertionError:
                tries.append((time.monotonic() - started, None))
            finally:
                client.remove()

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    try:
        yield tries
    finally:
        done.set()
        asking.join(timeout + 30)


def lease_figures(tries: list, label: str, capsys) -> dict:
    """Print past pytest's capture the figures of asking_for_leases (one line `label leases N
    unanswered N over_4s N slowest_s S by [servers]`; over 4 s means the client retransmitted,
    RFC 2131's first retry) and return them."""
    got = {"leases": len(tries), "unanswered": sum(1 for t in tries if t[1] is None),
           "over_4s": sum(1 for t in tries if t[0] > 4),
           "slowest_s": max((t[0] for t in tries), default=0.0),
           "servers": sorted({t[1] for t in tries if t[1]})}
    with capsys.disabled():
        print(f"\n{label} leases {got['leases']} unanswered {got['unanswered']} over_4s {got['over_4s']} "
              f"slowest_s {got['slowest_s']:.1f} by {got['servers']}")
    return got


def dhcpd_failover_state(lab: Lab, host: str, name: str, key: str, key_name: str = "omapi_key") -> dict:
    """local_state and partner_state of a dhcpd failover peer, read through OMAPI (omshell)."""
    sys.path.insert(0, str(REPO / "collections"))
    from ansible_collections.hastack.dns_dhcp.plugins.module_utils.omapi import (
        failover_state,
        failover_state_script,
    )

    script = failover_state_script(name, key_name=key_name, key=key)
    result = lab.run(host, f"sh -c 'printf \"%s\" \"$0\" | omshell' {shlex.quote(script)}")
    return failover_state(result.stdout + result.stderr)


def dig(lab: Lab, host: str, server: str, name: str, *options: str) -> str:
    """Answer of a query from a lab host (dig +short), '' when none."""
    return lab.check(host, f"dig +time=1 +tries=2 +short {' '.join(options)} @{server} {name}").strip()


def leased_addresses(lab: Lab, host: str, leasefile: str = "/var/lib/misc/dnsmasq.leases") -> set:
    """Addresses in a dnsmasq lease file (IPv4 and DHCPv6 leases; not its server DUID line)."""
    out = lab.run(host, f"cat {leasefile}").stdout
    return {line.split()[2] for line in out.splitlines() if len(line.split()) > 2}


def assert_rejected_before_any_change(lab: Lab, playbook: Path, nodes: list[str], extra: dict,
                                      named: str, files: str, limit: str = "") -> None:
    """Converge with bad extra vars: the play must fail naming `named` and change nothing.

    limit: run the playbook on these hosts only (--limit), e.g. the play that checks the value.
    """
    import json

    before = {node: lab.check(node, f"sha256sum {files}") for node in nodes}
    result = lab.playbook(playbook, "-e", json.dumps(extra), *(["--limit", limit] if limit else []))
    assert result.returncode != 0, f"the play succeeded with {extra}"
    # the callback folds a long message over lines: compare with the whitespace normalized
    assert named in " ".join(result.stdout.split()), f"the message does not name {named}: {result.stdout[-2000:]}"
    assert "changed=0" in result.stdout and "changed=1" not in result.stdout, result.stdout[-2000:]
    for node in nodes:
        assert lab.check(node, f"sha256sum {files}") == before[node], f"{node}: {files} changed"


def scenario_fixtures(inventory: Path, group: str, client: str | None = None):
    """The module fixtures every scenario's tests use: lab, nodes (the group), dhcp (client).

    In a test module: `lab, nodes, dhcp = scenario_fixtures(SCENARIO / "inventory.yml", "group", "client")`.
    """
    import pytest

    @pytest.fixture(scope="module", name="lab")
    def lab_fixture():
        return Lab(inventory)

    @pytest.fixture(scope="module", name="nodes")
    def nodes_fixture(lab):
        return lab.groups[group]

    @pytest.fixture(scope="module", name="dhcp")
    def dhcp_fixture(lab):
        return DhcpClients(lab, client)

    return lab_fixture, nodes_fixture, dhcp_fixture


def kea_command(lab: Lab, host: str, address: str, command: str, arguments: dict | None = None,
                user: str = "kea-api", password: str = "lab-only-kea-api", port: int = 8000,
                service: str = "dhcp4") -> dict:
    """Send a command to a Kea control agent from a lab host; return the answer of `service`
    (dhcp4 or dhcp6; result 0 asserted)."""
    import json

    body = {"command": command, "service": [service]}
    if arguments is not None:
        body["arguments"] = arguments
    out = lab.check(host, f"curl -s --max-time 5 -u {user}:{password} -H 'Content-Type: application/json' "
                          f"-d {shlex.quote(json.dumps(body))} http://{address}:{port}/")
    answer = json.loads(out)[0]
    assert answer["result"] in (0, 3), f"{command} at {address}: {answer}"  # 3: empty result
    return answer


def kdig(lab: Lab, host: str, server: str, name: str, *options: str, qtype: str = "A",
         timeout: int = 2, retry: int = 1) -> str:
    """First answer of a kdig query from a lab host ('' when none or on any error).

    For DoT and DoH pass e.g. "+tls" or "+https" with "+tls-ca=FILE" and "+tls-hostname=NAME":
    kdig then checks the server's certificate against FILE and NAME and gives no answer
    when either does not match.
    """
    result = lab.run(host, f"kdig +short +timeout={timeout} +retry={retry} {' '.join(options)} "
                           f"@{server} {name} {qtype}")
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip() and not line.startswith(";;")]
    return lines[0] if result.rc == 0 and lines else ""


def main_pid(lab: Lab, host: str, service: str) -> int:
    """The MainPID of a systemd service on a lab host (0 when it does not run)."""
    return int(lab.check(host, f"systemctl show -p MainPID --value {service}").strip() or 0)


def recap_changes(output: str) -> dict[str, int]:
    """changed= of every host in the PLAY RECAP of an ansible-playbook run."""
    import re

    return {match.group(1): int(match.group(2))
            for match in re.finditer(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", output, re.M)}


def kea_answer(lab: Lab, host: str, address: str, command: str, arguments: dict | None = None,
               user: str = "kea-api", password: str = "lab-only-kea-api", port: int = 8000) -> dict:
    """The dhcp4 answer of a Kea control agent command sent from a lab host, unchecked.

    A failed request comes back as {'result': -1, 'text': ...}, so polls can go on.
    """
    import json

    body = {"command": command, "service": ["dhcp4"]}
    if arguments is not None:
        body["arguments"] = arguments
    result = lab.run(host, f"curl -sS --max-time 5 -u {shlex.quote(f'{user}:{password}')} "
                           f"-H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))} "
                           f"http://{address}:{port}/")
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        return {"result": -1, "text": f"curl exited {result.rc}: {result.stdout}{result.stderr}".strip()}
    answer = answer[0] if isinstance(answer, list) and answer else answer
    return answer if isinstance(answer, dict) else {"result": -1, "text": repr(answer)}


class KeaPair:
    """A Kea HA pair read through the control agents (curl from a lab host, basic auth)."""

    def __init__(self, lab: Lab, via: str, addresses: dict[str, str], user: str = "kea-api",
                 password: str = "lab-only-kea-api", port: int = 8000):
        self.lab, self.via, self.addresses = lab, via, addresses
        self.user, self.password, self.port = user, password, port

    def answer(self, server: str, command: str, arguments: dict | None = None) -> dict:
        return kea_answer(self.lab, self.via, self.addresses[server], command, arguments,
                          self.user, self.password, self.port)

    def command(self, server: str, command: str, arguments: dict | None = None) -> dict:
        """The answer of a command that must succeed (result 0, or 3: nothing found)."""
        answer = self.answer(server, command, arguments)
        assert answer.get("result") in (0, 3), f"{command} at {server}: {answer}"
        return answer

    def state(self, server: str) -> str:
        """The HA state the server reports (ha-heartbeat), or 'unreachable: <why>'."""
        answer = self.answer(server, "ha-heartbeat")
        if answer.get("result") == 0:
            return str((answer.get("arguments") or {}).get("state", ""))
        return f"unreachable: {answer.get('text', answer)}"

    def states(self) -> dict[str, str]:
        return {server: self.state(server) for server in self.addresses}

    def wait_for_states(self, expected: dict[str, str], timeout: float = 60.0,
                        interval: float = 0.5) -> dict[str, str]:
        """Poll until the servers report `expected` ({server: state}) or time runs out; return the last seen."""
        deadline = time.monotonic() + timeout
        seen = {server: self.state(server) for server in expected}
        while seen != expected and time.monotonic() < deadline:
            time.sleep(interval)
            seen = {server: self.state(server) for server in expected}
        return seen

    def leases(self, server: str) -> dict[str, str]:
        """{address: MAC} of the leases the server holds in the default state (lease4-get-all)."""
        answer = self.command(server, "lease4-get-all")
        return {lease["ip-address"]: lease["hw-address"]
                for lease in (answer.get("arguments") or {}).get("leases", []) if lease.get("state", 0) == 0}

    def watch(self, server: str, state: str, timeout: float = 60.0, interval: float = 0.25):
        """Poll `server` in the background until it reports `state` (at most `timeout` seconds).

        Returns a function that waits for the poll to end and returns the seconds from
        this call until the state was seen, or None when it was not.
        """
        started = time.monotonic()
        seen: dict[str, float] = {}

        def poll():
            while time.monotonic() - started < timeout:
                if self.state(server) == state:
                    seen["after"] = time.monotonic() - started
                    return
                time.sleep(interval)

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()

        def result() -> float | None:
            thread.join(timeout + 10)
            return seen.get("after")

        return result


def poll(probe, done, timeout: float = 30.0, interval: float = 0.5):
    """Call probe() until done(its result) or time runs out; return the last result.

    Bounded in time and in count (at most timeout / interval + 1 calls); the caller asserts.
    """
    deadline = time.monotonic() + timeout
    result = probe()
    for _ in range(int(timeout / interval) + 1):
        if done(result) or time.monotonic() >= deadline:
            break
        time.sleep(interval)
        result = probe()
    return result


def drill_tables(output: str) -> dict[str, list[list[str]]]:
    """The failover drill's tables from its playbook output: {"DRILL": rows, "DRILL6": rows}
    (the IPv4 VIPs' and, on a dual-stack group, the IPv6 VIPs'), each row split into instance,
    method, sent, unanswered, outage_ms, holder_after; the header lines left out."""
    tables: dict[str, list[list[str]]] = {"DRILL": [], "DRILL6": []}
    for line in output.splitlines():
        match = re.search(r"\b(DRILL6?) (.*)", line)
        if match:
            row = match.group(2).strip().strip('",').split()
            if len(row) == 6 and row[0] != "instance":
                tables[match.group(1)].append(row)
    return tables


def run_drill(lab: "Lab", label: str, extra: dict, capsys) -> dict[str, list[list[str]]]:
    """Run playbooks/failover_drill.yml with `extra`, print its tables (under `label`, past
    pytest's capture: they are the drill's figures), check that it succeeded and return them."""
    result = lab.playbook(REPO / "playbooks/failover_drill.yml", "-e", json.dumps(extra))
    tables = drill_tables(result.stdout)
    with capsys.disabled():
        for table, rows in tables.items():
            print(f"\n{table} {label}\n" + "\n".join(f"{table} {' '.join(row)}" for row in rows))
    assert result.returncode == 0, result.stdout[-3000:]
    return tables


# Rebuilds each named package from its installed files at version <installed>+hastack1, puts
# the .debs in a flat apt repository on the host (/srv/hastack-upgrade) and makes it the host's
# only apt source (the others set aside in /etc/apt/hastack-saved): `apt-get update && apt-get
# dist-upgrade` then upgrades exactly those packages, with their own maintainer scripts (a
# restart of the daemon). No network: the lab's hosts reach no mirror.
_UPGRADE_REPO_SCRIPT = r"""
set -eu
repo=/srv/hastack-upgrade saved=/etc/apt/hastack-saved
rm -rf "$repo"; mkdir -p "$repo"
for p in "$@"; do
    build=$(mktemp -d)
    mkdir "$build/DEBIAN"
    dpkg-query -W -f='Package: ${Package}\nVersion: ${Version}+hastack1\nArchitecture: ${Architecture}\nMaintainer: ${Maintainer}\nPre-Depends: ${Pre-Depends}\nDepends: ${Depends}\nRecommends: ${Recommends}\nSection: ${Section}\nPriority: ${Priority}\nDescription: ${Description}\n' "$p" \
        | grep -v '^[A-Za-z-]*: $' > "$build/DEBIAN/control"
    # directories first: /lib is a link to usr/lib on a merged /usr, a directory to the package
    dpkg -L "$p" | while read -r f; do
        if [ -d "$f" ]; then mkdir -p "$build$f"; elif [ -L "$f" ] || [ -f "$f" ]; then cp -a --parents "$f" "$build"; fi
    done
    for s in preinst postinst prerm postrm; do
        if [ -f "/var/lib/dpkg/info/$p.$s" ]; then install -m 0755 "/var/lib/dpkg/info/$p.$s" "$build/DEBIAN/$s"; fi
    done
    if [ -f "/var/lib/dpkg/info/$p.conffiles" ]; then
        awk '{print $1}' "/var/lib/dpkg/info/$p.conffiles" | while read -r f; do
            if [ -f "$f" ]; then echo "$f"; fi
        done > "$build/DEBIAN/conffiles"
    fi
    dpkg-deb --root-owner-group -Zgzip --build "$build" "$repo/$p.deb" > /dev/null
    rm -rf "$build"
done
(cd "$repo" && dpkg-scanpackages -m . 2> /dev/null > Packages)
chmod -R a+rX "$repo"
if [ ! -d "$saved" ]; then
    mkdir -p "$saved/sources.list.d"
    if [ -f /etc/apt/sources.list ]; then mv /etc/apt/sources.list "$saved/"; fi
    find /etc/apt/sources.list.d -maxdepth 1 -type f -exec mv {} "$saved/sources.list.d/" \;
fi
echo "deb [trusted=yes] file:$repo ./" > /etc/apt/sources.list.d/hastack-upgrade.list
"""

_UPGRADE_REPO_UNDO = r"""
set -eu
saved=/etc/apt/hastack-saved
rm -f /etc/apt/sources.list.d/hastack-upgrade.list
rm -rf /srv/hastack-upgrade /var/lib/apt/lists/*_srv_hastack-upgrade_*
if [ -d "$saved" ]; then
    if [ -f "$saved/sources.list" ]; then mv "$saved/sources.list" /etc/apt/; fi
    find "$saved/sources.list.d" -maxdepth 1 -type f -exec mv {} /etc/apt/sources.list.d/ \;
    rm -rf "$saved"
fi
"""


@contextlib.contextmanager
def upgrade_repo(lab: Lab, hosts: list[str], packages: list[str]):
    """An apt upgrade for `packages` on each host, from a local repository of the packages
    rebuilt at version <installed>+hastack1 (_UPGRADE_REPO_SCRIPT); the host's apt sources are
    put back on exit. Yields {host: {package: new version}}."""
    versions = {}
    try:
        for host in hosts:
            lab.check(host, f"sh -c {shlex.quote(_UPGRADE_REPO_SCRIPT)} upgrade-repo {' '.join(packages)}")
            versions[host] = {package: lab.check(host, f"dpkg-query -W -f '${{Version}}' {package}") + "+hastack1"
                              for package in packages}
        yield versions
    finally:
        for host in hosts:
            lab.run(host, f"sh -c {shlex.quote(_UPGRADE_REPO_UNDO)}")
