#!/usr/bin/env python3
"""DNS load-balancer benchmark: dnsperf through the VIP vs straight to one backend.

For every variant group named, runs dnsperf once from the lab's client against the
variant's VIP and once against its first backend, with the same query file and the
same duration, and prints queries per second for each and their ratio.

    python3 bench/dns_lb.py -i inventories/lab dns_lb_nginx dns_lb_nftables [--duration 10]
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


def dnsperf(client, server: str, queryfile: str, duration: int, max_qps: int, tcp: bool) -> float:
    mode = ["-m", "tcp"] if tcp else []
    cmd = client(["dnsperf", "-s", server, "-d", queryfile, "-l", str(duration),
                  "-Q", str(max_qps), "-c", "4", "-t", "2", *mode])
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30)
    match = re.search(r"Queries per second:\s+([0-9.]+)", result.stdout)
    if result.returncode != 0 or not match:
        raise SystemExit(f"dnsperf against {server} failed: {result.stdout[-500:]}{result.stderr[-500:]}")
    lost = re.search(r"Queries lost:\s+(\d+)", result.stdout)
    if lost and int(lost.group(1)):
        print(f"  note: {lost.group(1)} queries lost against {server}", file=sys.stderr)
    return float(match.group(1))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", help="variant groups, e.g. dns_lb_nginx")
    parser.add_argument("-i", "--inventory", default="inventories/lab")
    parser.add_argument("--client", default="hastack-demo-client", help="lab host that runs dnsperf")
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (1-60)")
    parser.add_argument("--max-qps", type=int, default=200000, help="upper bound on queries per second")
    parser.add_argument("--tcp", action="store_true", help="DNS over TCP instead of UDP")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 60:
        parser.error("--duration must be 1-60 seconds")
    data = inventory(args.inventory)
    client = client_command(data["_meta"]["hostvars"], args.client)
    rows = []
    for group in args.variants:
        settings = variant_settings(data, group)
        backend = next(iter(settings["backends"].values()))
        queryfile = f"/tmp/bench-{group}.queries"
        lines = "\n".join(f"{settings['name']} A" for _ in range(100)) + "\n"
        subprocess.run(client(["sh", "-c", f"cat > {queryfile}"]),
                       input=lines, text=True, check=True)
        pairs = [("IPv4", settings["vip"], backend)]
        if settings["vip6"]:
            pairs.append(("IPv6", settings["vip6"], settings["backend6"]))
        for family, vip, direct_to in pairs:
            through = dnsperf(client, vip, queryfile, args.duration, args.max_qps, args.tcp)
            direct = dnsperf(client, direct_to, queryfile, args.duration, args.max_qps, args.tcp)
            rows.append((group, family, vip, through, direct_to, direct))
    print(table(rows, args))
    return 0


def table(rows, args) -> str:
    """The figures: one line per variant and address family."""
    proto = "TCP" if args.tcp else "UDP"
    lines = [f"\ndnsperf, {proto}, {args.duration} s per run, at most {args.max_qps} q/s, 4 clients",
             f"{'variant':<18} {'family':<6} {'via VIP':>12} {'direct':>12} {'ratio':>7}"]
    for group, family, vip, through, backend, direct in rows:
        lines.append(f"{group:<18} {family:<6} {through:>10.0f}/s {direct:>10.0f}/s {through / direct:>7.2f}"
                     f"   ({vip} vs {backend})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
