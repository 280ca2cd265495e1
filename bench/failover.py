#!/usr/bin/env python3
"""VRRP advert interval study: node-death outage and spurious transitions under load.

For each advert interval asked (keepalived_instance_defaults.advert_int), per variant:
re-converges the variant's nodes with it (the variant's playbook, --limit to its group),
then
  1. saturates the VIP with dnsperf from the client for --load seconds and counts the
     VRRP transitions the nodes' notify logs gained meanwhile: with nothing broken, every
     one is spurious (a backup that missed adverts under load and took over);
  2. runs the failover drill's link method (the holder's interface goes down: a dead node
     as its peer sees it) --runs times while dnsperf keeps the VIP saturated, and takes
     the outage the drill's prober measured (20 ms probes from the same client).
Prints one table (interval, q/s under saturation, spurious transitions, outage median,
min and max, the transitions each drill caused: equal counts mean no spurious one during
the drills either), then converges the variant back to its default interval (what the
variant derives, or the inventory sets).

    python3 bench/failover.py -i inventories/lab dns_lb_dnsdist [--adverts 0.1,0.05,0.03]
        [--runs 5] [--load 60]

Queries only the lab's VIPs from the lab's client; every load is bounded by --load (at
most 60 s) and the drill by --runs (at most 10).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dns_lb import REPO, client_command, inventory, variant_settings  # noqa: E402

NOTIFY_LOG = "/var/log/keepalived-transitions.log"
TCP_ONLY = {"dns_lb_haproxy"}


def playbook(inv: str, path: str, *extra: str, timeout: int = 900) -> str:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", inv, path, *extra],
                            capture_output=True, text=True, cwd=REPO, env=env, timeout=timeout)
    if result.returncode != 0:
        raise SystemExit(f"{path} {' '.join(extra)} failed:\n{result.stdout[-3000:]}{result.stderr[-1000:]}")
    return result.stdout


def converge(inv: str, group: str, advert: float | None) -> None:
    extra = ["--limit", group]
    if advert is not None:
        extra += ["-e", json.dumps({"keepalived_instance_defaults": {"version": 3, "advert_int": advert}})]
    playbook(inv, f"playbooks/{group}.yml", *extra)


def transitions(run_on, nodes: list[str]) -> int:
    """Lines in the nodes' notify logs (one per VRRP transition)."""
    total = 0
    for node in nodes:
        out = subprocess.run(run_on(node, ["sh", "-c", f"cat {NOTIFY_LOG} 2>/dev/null | wc -l"]),
                             capture_output=True, text=True, timeout=30)
        total += int(out.stdout.strip() or 0)
    return total


def start_load(client, vip: str, seconds: int, tcp: bool) -> subprocess.Popen:
    mode = ["-m", "tcp"] if tcp else []
    cmd = client(["dnsperf", "-s", vip, "-d", "/tmp/bench-failover.queries", "-l", str(seconds),
                  "-c", "4", "-t", "1", *mode])
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def qps(process: subprocess.Popen, seconds: int) -> float:
    out, err = process.communicate(timeout=seconds + 60)
    match = re.search(r"Queries per second:\s+([0-9.]+)", out)
    if not match:
        raise SystemExit(f"dnsperf failed: {out[-500:]}{err[-500:]}")
    return float(match.group(1))


def report(rows, load: int) -> None:
    print(f"\nnode death (drill link method) under dnsperf saturation from the same client; "
          f"{load} s of saturation per interval for the spurious transitions")
    print(f"{'variant':<16} {'advert':>7} {'q/s':>9} {'spurious':>9} {'median':>8} {'min':>6} {'max':>6}"
          f"  runs  failed  transitions per drill")
    for group, advert, rate, spurious, outages, moves, failures in rows:
        stats = (f"{statistics.median(outages):>6.0f}ms {min(outages):>4}ms {max(outages):>4}ms"
                 if outages else f"{'-':>8} {'-':>6} {'-':>6}")
        print(f"{group:<16} {advert:>6.2f}s {rate:>9.0f} {spurious:>9} {stats}  {len(outages):>4}  {failures:>6}  "
              f"{','.join(str(m) for m in moves)}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", help="variant groups, e.g. dns_lb_dnsdist")
    parser.add_argument("-i", "--inventory", default="inventories/lab")
    parser.add_argument("--client", default="hastack-demo-client", help="lab host that runs dnsperf and the drill")
    parser.add_argument("--adverts", default="0.1,0.05,0.03", help="advert intervals (s), comma-separated")
    parser.add_argument("--runs", type=int, default=5, help="drills per interval (1-10)")
    parser.add_argument("--load", type=int, default=60, help="seconds of saturation (1-60)")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 10 or not 1 <= args.load <= 60:
        parser.error("--runs must be 1-10 and --load 1-60")
    adverts = [float(value) for value in args.adverts.split(",")]
    if any(not 0.01 <= value <= 2.55 for value in adverts):
        parser.error("--adverts: each 0.01-2.55 s (VRRPv3's centiseconds)")
    data = inventory(args.inventory)
    hostvars = data["_meta"]["hostvars"]
    client = client_command(hostvars, args.client)

    def on(node, argv):
        return client_command(hostvars, node)(argv)

    rows = []
    try:
        study(args, adverts, data, client, on, rows)
    finally:
        report(rows, args.load)
    return 0


def study(args, adverts, data, client, on, rows) -> None:
    for group in args.variants:
        settings = variant_settings(data, group)
        nodes = data[group]["hosts"]
        tcp = group in TCP_ONLY
        lines = "\n".join(f"{settings['name']} A" for _ in range(100)) + "\n"
        subprocess.run(client(["sh", "-c", "cat > /tmp/bench-failover.queries"]), input=lines, text=True, check=True)
        try:
            for advert in adverts:
                print(f"{group}: advert_int {advert} s", file=sys.stderr)
                converge(args.inventory, group, advert)
                before = transitions(on, nodes)
                load = start_load(client, settings["vip"], args.load, tcp)
                rate = qps(load, args.load)
                spurious = transitions(on, nodes) - before
                outages, moves, failed = [], [], []
                for _ in range(args.runs):
                    before = transitions(on, nodes)
                    load = start_load(client, settings["vip"], 60, tcp)
                    try:
                        out = playbook(args.inventory, "playbooks/failover_drill.yml", "-e", json.dumps({
                            "drill_group": group, "drill_methods": ["link"], "drill_query_name": settings["name"],
                            "drill_tcp": tcp, "drill_client": args.client}))
                    except SystemExit as exc:
                        # a drill whose VIP did not land on exactly one other node is a finding, not
                        # the end of the study: say what the drill saw and go on
                        reason = re.search(r"(the VIP did not move[^\n]*?holders_after': \[[^\]]*\])", str(exc))
                        failed.append(reason.group(1) if reason else str(exc).splitlines()[0][:200])
                        print(f"{group}: advert_int {advert} s: drill failed: {failed[-1]}", file=sys.stderr)
                        moves.append(transitions(on, nodes) - before)
                        continue
                    finally:
                        load.terminate()
                        load.communicate(timeout=30)
                    # the IPv4 table's row (one instance, one method a run):
                    # DRILL <instance> link <sent> <unanswered> <outage_ms> <holder>
                    match = re.search(r"\bDRILL\s+(\S+)\s+link\s+(\d+)\s+(\d+)\s+(\d+)\s+(\S+)", out)
                    if not match:
                        raise SystemExit(f"the drill printed no link row:\n{out[-2000:]}")
                    outages.append(int(match.group(4)))
                    # a drill's own moves: the holder's fault and return, the peer's takeover
                    # and yield; any more is a spurious transition under load
                    moves.append(transitions(on, nodes) - before)
                rows.append((group, advert, rate, spurious, outages, moves, len(failed)))
        finally:
            converge(args.inventory, group, None)


if __name__ == "__main__":
    sys.exit(main())
