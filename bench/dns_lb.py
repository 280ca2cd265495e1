#!/usr/bin/env python3
"""DNS load-balancer benchmark: dnsperf through the VIP vs straight to one backend.

For every variant group named (by default every dns_lb_* group of the inventory that has
hosts, LVS-DR left out: it runs on the VM lab), and every protocol asked (UDP and TCP by
default; DoT and DoH with --protocols), runs dnsperf once from the lab's client against the
variant's VIP and once against its first backend, with the same query file and the
same duration, and prints one table: queries per second for each, their ratio, and the
99th percentile latency dnsperf's histogram gives. A protocol the variant does not serve
(UDP on haproxy) is left out of its rows.

    python3 bench/dns_lb.py -i inventories/lab [--duration 10] [--protocols udp,tcp,dot,doh]
    python3 bench/dns_lb.py -i inventories/lab dns_lb_nginx dns_lb_nftables
    python3 bench/dns_lb.py -i molecule/dns_lb_lvs_dr_reduced/inventory.yml \
        --client hastack-vm-lvsr-client dns_lb_lvs_dr     (LVS-DR on the VM lab)

Reads hastack_dns_vip, hastack_dns_backends (name: address) and hastack_dns_check_name
from the variant group's variables. On a dual-stack variant (hastack_dns_vip6 set) it runs
the pair again over IPv6: the IPv6 VIP against the first backend's IPv6 address (from
hastack_dns_backends6, else that backend host's lab_addresses6; its IPv4 address when it
has none), and prints the IPv6 ratio beside the IPv4 one. The client is reached with ssh when the inventory
gives it a key (the container and VM labs), with podman exec otherwise. It only queries lab addresses from a lab host;
every run is bounded by --duration (at most 60 s) and --max-qps.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def inventory(path: str) -> dict:
    out = subprocess.run([str(Path(sys.executable).parent / "ansible-inventory"), "-i", path, "--list"],
                         check=True, capture_output=True, text=True, cwd=REPO,
                         env={"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout)


def variant_settings(data: dict, group: str) -> dict:
    hosts = data.get(group, {}).get("hosts", [])
    if not hosts:
        raise SystemExit(f"{group}: no hosts in the inventory")
    hostvars = data["_meta"]["hostvars"][hosts[0]]
    try:
        settings = {"vip": hostvars["hastack_dns_vip"],
                    "backends": hostvars["hastack_dns_backends"],
                    "name": hostvars.get("hastack_dns_check_name", "localhost")}
    except KeyError as exc:
        raise SystemExit(f"{group}: variable {exc} is not set for the group") from exc
    settings["vip6"] = hostvars.get("hastack_dns_vip6") or None
    if not isinstance(settings["backends"], dict) or not settings["backends"]:
        raise SystemExit(f"{group}: hastack_dns_backends must be a non-empty dict of name to address")
    name, backend = next(iter(settings["backends"].items()))
    backend6 = next(iter((hostvars.get("hastack_dns_backends6") or {}).values()), None)
    if backend6 is None:
        own = data["_meta"]["hostvars"].get(name, {}).get("lab_addresses6") or {}
        backend6 = next(iter(own.values()), None)
    settings["backend6"] = backend6 or backend
    return settings


def client_command(hostvars: dict, client: str):
    """A function giving the argv that runs a command on the client: ssh into a lab host
    (the inventory gives it a key), podman exec into a container otherwise."""
    if client not in hostvars:
        raise SystemExit(f"{client}: not a host of the inventory")
    host = hostvars[client]
    if "ansible_ssh_private_key_file" in host:
        # ansible-inventory --list does not template: resolve the lab inventories' two templates
        key = str(host["ansible_ssh_private_key_file"]).replace("{{ lab_name }}", str(host.get("lab_name", "")))
        address = str(host.get("ansible_host", client))
        if "{{" in address:
            address = next(iter((host.get("lab_addresses") or {client: client}).values()))
        ssh = ["ssh", "-i", key, *shlex.split(host.get("ansible_ssh_common_args", "")),
               f"{host.get('ansible_user', 'root')}@{address}"]
        return lambda argv: [*ssh, shlex.join(argv)]  # ssh hands the remote shell one string
    return lambda argv: ["podman", "exec", "-i", client, *argv]


# What a variant does not serve: dnsperf's mode names.
UNSERVED = {"dns_lb_haproxy": {"udp"}}
PROTOCOLS = ("udp", "tcp", "dot", "doh")


def p99(histogram: str) -> float | None:
    """The 99th percentile latency (s) from dnsperf's latency histogram (-O latency-histogram):
    the upper edge of the bucket where the running count reaches 99 % of the answers."""
    buckets = [(float(high), int(count)) for _low, high, count in
               re.findall(r"^\s*([0-9.]+)\s*-\s*([0-9.]+)\s*:\s*(\d+)", histogram, re.M)]
    total = sum(count for _high, count in buckets)
    if not total:
        return None
    running = 0
    for high, count in buckets:
        running += count
        if running >= 0.99 * total:
            return high
    return buckets[-1][0]


def dnsperf(client, server: str, queryfile: str, duration: int, max_qps: int, mode: str) -> tuple[float, float | None]:
    """(queries per second, p99 latency in s) of one dnsperf run."""
    extra = ["-O", "latency-histogram"]
    if mode == "doh":
        extra += ["-O", f"doh-uri=https://{'[' + server + ']' if ':' in server else server}/dns-query"]
    cmd = client(["dnsperf", "-s", server, "-d", queryfile, "-l", str(duration),
                  "-Q", str(max_qps), "-c", "4", "-t", "2", "-m", mode, *extra])
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30)
    match = re.search(r"Queries per second:\s+([0-9.]+)", result.stdout)
    if result.returncode != 0 or not match:
        raise SystemExit(f"dnsperf ({mode}) against {server} failed: {result.stdout[-500:]}{result.stderr[-500:]}")
    lost = re.search(r"Queries lost:\s+(\d+)", result.stdout)
    if lost and int(lost.group(1)):
        print(f"  note: {lost.group(1)} queries lost against {server} ({mode})", file=sys.stderr)
    return float(match.group(1)), p99(result.stdout)


def variant_groups(data: dict) -> list[str]:
    """Every dns_lb_* group with hosts, but LVS-DR (VM lab)."""
    return sorted(group for group, entry in data.items()
                  if re.fullmatch(r"dns_lb_[a-z0-9]+", group) and group != "dns_lb_lvs_dr"
                  and isinstance(entry, dict) and entry.get("hosts"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", help="variant groups, e.g. dns_lb_nginx (default: every dns_lb_* "
                                                    "group of the inventory but dns_lb_lvs_dr)")
    parser.add_argument("-i", "--inventory", default="inventories/lab")
    parser.add_argument("--client", default="hastack-demo-client", help="lab host that runs dnsperf")
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (1-60)")
    parser.add_argument("--max-qps", type=int, default=200000, help="upper bound on queries per second")
    parser.add_argument("--protocols", default="udp,tcp", help="comma-separated: udp, tcp, dot, doh")
    parser.add_argument("--tcp", action="store_true", help="TCP only (the same as --protocols tcp)")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 60:
        parser.error("--duration must be 1-60 seconds")
    protocols = ["tcp"] if args.tcp else [p.strip() for p in args.protocols.split(",") if p.strip()]
    if not protocols or set(protocols) - set(PROTOCOLS):
        parser.error(f"--protocols: one or more of {', '.join(PROTOCOLS)}")
    data = inventory(args.inventory)
    variants = args.variants or variant_groups(data)
    if not variants:
        parser.error("no dns_lb_* group with hosts in the inventory: name the variants")
    client = client_command(data["_meta"]["hostvars"], args.client)
    rows = []
    for group in variants:
        settings = variant_settings(data, group)
        backend = next(iter(settings["backends"].values()))
        queryfile = f"/tmp/bench-{group}.queries"
        lines = "\n".join(f"{settings['name']} A" for _ in range(100)) + "\n"
        subprocess.run(client(["sh", "-c", f"cat > {queryfile}"]),
                       input=lines, text=True, check=True)
        pairs = [("IPv4", settings["vip"], backend)]
        if settings["vip6"]:
            pairs.append(("IPv6", settings["vip6"], settings["backend6"]))
        for mode in protocols:
            if mode in UNSERVED.get(group, set()):
                continue
            for family, vip, direct_to in pairs:
                through = dnsperf(client, vip, queryfile, args.duration, args.max_qps, mode)
                try:
                    direct = dnsperf(client, direct_to, queryfile, args.duration, args.max_qps, mode)
                except SystemExit as exc:  # a backend without DoT/DoH (dnsdist's send plain DNS)
                    print(f"  note: {exc}", file=sys.stderr)
                    direct = (None, None)
                rows.append((group, mode, family, vip, through, direct_to, direct))
    print(table(rows, args))
    return 0


def table(rows, args) -> str:
    """The figures: one line per variant, protocol and address family."""
    def ms(value):
        return f"{value * 1000:.1f} ms" if value is not None else "-"
    lines = [f"\ndnsperf, {args.duration} s per run, at most {args.max_qps} q/s, 4 clients; "
             f"p99: 99th percentile latency",
             f"{'variant':<16} {'proto':<5} {'family':<6} {'via VIP':>11} {'p99':>9} {'direct':>11} {'p99':>9} "
             f"{'ratio':>6}"]
    for group, mode, family, vip, (through, p99_vip), backend, (direct, p99_direct) in rows:
        direct_text = f"{direct:>9.0f}/s" if direct else f"{'-':>11}"
        ratio = f"{through / direct:>6.2f}" if direct else f"{'-':>6}"
        lines.append(f"{group:<16} {mode.upper():<5} {family:<6} {through:>9.0f}/s {ms(p99_vip):>9} "
                     f"{direct_text} {ms(p99_direct):>9} {ratio}   ({vip} vs {backend})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
