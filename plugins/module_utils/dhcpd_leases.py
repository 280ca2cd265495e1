# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ISC dhcpd's lease file, and the leases a Kea server takes over from a dhcpd failover pair.

dhcpd appends a record each time a lease changes, so the last record of an address is its
state (dhcpd.leases(5)). A failover pair keeps two such files, one per peer; the record with
the latest client transaction (cltt) is the one the client last heard.
"""

from __future__ import annotations

import calendar
import ipaddress
import re
import time

# The IPv4 lease file's columns of Kea's memfile (csv_lease_file4.h); Kea 2.5.3 and later
# add pool_id. Kea reads a file of an older schema and upgrades it.
KEA_LEASE4_COLUMNS = ["address", "hwaddr", "client_id", "valid_lifetime", "expire", "subnet_id",
                      "fqdn_fwd", "fqdn_rev", "hostname", "state", "user_context"]

_BLOCK = re.compile(r"^lease\s+(\S+)\s*\{(.*?)^\}", re.S | re.M)
_TIME = re.compile(r"^\s*(starts|ends|cltt|tstp)\s+(.+?);", re.M)


class LeaseError(Exception):
    """Bad input to the lease plan, with the sentence to show."""


def _when(text):
    """A lease time: 'W YYYY/MM/DD HH:MM:SS' (UTC), 'epoch N; # ...', or 'never' (None)."""
    text = text.strip()
    if text == "never":
        return None
    if text.startswith("epoch "):
        return int(text.split()[1])
    weekday_date_time = text.split()
    if len(weekday_date_time) != 3:
        raise ValueError(f"unknown lease time {text!r}")
    return calendar.timegm(time.strptime(" ".join(weekday_date_time[1:]), "%Y/%m/%d %H:%M:%S"))


def _octets(text):
    """A client identifier as dhcpd writes it (a quoted string with octal escapes, or
    colon-separated hex) as colon-separated hex."""
    text = text.strip()
    if text.startswith('"') and text.endswith('"'):
        raw = bytearray()
        position = 0
        body = text[1:-1]
        while position < len(body):
            char = body[position]
            if char == "\\" and position + 1 < len(body):
                octal = body[position + 1:position + 4]
                if re.fullmatch(r"[0-7]{3}", octal):
                    raw.append(int(octal, 8))
                    position += 4
                    continue
                raw.extend(body[position + 1].encode())
                position += 2
                continue
            raw.extend(char.encode())
            position += 1
        return ":".join(f"{byte:02x}" for byte in raw)
    return ":".join(f"{int(part, 16):02x}" for part in text.split(":") if part)


def _string(text):
    text = text.strip()
    return text[1:-1].replace('\\"', '"') if text.startswith('"') and text.endswith('"') else text


def parse_leases(text):
    """The current record of every address in a dhcpd lease file's text: a list of dicts
    (address, state, starts, ends, cltt, hwaddr, client_id, hostname), times as epoch
    seconds (ends None for 'never'), in the order the addresses first appear."""
    current = {}
    for match in _BLOCK.finditer(text):
        address, body = match.group(1), match.group(2)
        lease = {"address": address, "state": "", "starts": None, "ends": None, "cltt": None,
                 "hwaddr": "", "client_id": "", "hostname": ""}
        for key, value in _TIME.findall(body):
            if key != "tstp":
                lease[key] = _when(value)
        for line in body.splitlines():
            line = line.strip().rstrip(";")
            if line.startswith("binding state "):
                lease["state"] = line.split()[2]
            elif line.startswith("hardware ethernet "):
                lease["hwaddr"] = line.split()[2].lower()
            elif line.startswith("uid "):
                lease["client_id"] = _octets(line[4:])
            elif line.startswith("client-hostname "):
                lease["hostname"] = _string(line[len("client-hostname "):])
        current.pop(address, None)
        current[address] = lease
    return list(current.values())


def _csv_field(value):
    """A field as Kea's memfile writes it: commas escaped, one line."""
    return str(value).replace(",", "&#x2c").replace("\n", " ")


def kea_lease_import(leases_by_peer, subnets, now=None, columns=None):
    """Which of a dhcpd failover pair's leases a Kea server takes over.

    leases_by_peer: {peer: [lease, ...]} as parse_leases returns them, one list per peer.
    subnets: the Kea subnets (dhcp_subnets' output: id, family, subnet). now: epoch seconds.
    columns: the memfile's columns (KEA_LEASE4_COLUMNS, plus pool_id on Kea 2.6).
    Returns {"carry": [...], "skip": [...], "csv": text, "lines": [...]}: carry holds the active leases, each
    with address, hwaddr, client_id, hostname, valid_lifetime, expire (dhcpd's end, kept),
    subnet_id and the peer whose record won; skip holds the others worth naming, each with
    address and why; lines says the same, a MIGRATE line each.
    """
    if not isinstance(leases_by_peer, dict) or not leases_by_peer:
        raise LeaseError("kea_lease_import: the input must be the leases of each dhcpd peer, keyed by peer")
    now = int(time.time() if now is None else now)
    columns = list(columns or KEA_LEASE4_COLUMNS)
    unknown = [column for column in columns if column not in KEA_LEASE4_COLUMNS + ["pool_id"]]
    if unknown or columns[:len(KEA_LEASE4_COLUMNS)] != KEA_LEASE4_COLUMNS:
        raise LeaseError(f"kea_lease_import: columns must start with {KEA_LEASE4_COLUMNS}, got {columns}")
    networks = [(ipaddress.ip_network(s["subnet"]), int(s["id"])) for s in subnets or []
                if int(s.get("family", 4)) == 4]
    latest, skip = {}, []
    for peer in sorted(leases_by_peer):
        for lease in leases_by_peer[peer] or []:
            other = latest.get(lease["address"])
            if other is None or (lease.get("cltt") or 0, lease.get("ends") or 0) > (
                    other.get("cltt") or 0, other.get("ends") or 0):
                latest[lease["address"]] = dict(lease, peer=peer)
    carry = []
    for address in sorted(latest, key=ipaddress.ip_address):
        lease = latest[address]
        why = ""
        subnet_id = next((sid for net, sid in networks if ipaddress.ip_address(address) in net), None)
        if lease["state"] != "active":
            if lease["state"] in ("abandoned",):
                why = "abandoned by dhcpd (an address conflict): left for Kea to hand out again"
            else:
                continue  # free, backup, expired, released: nothing to carry or to name
        elif lease["ends"] is None:
            why = "an infinite lease ('ends never'): make it a reservation in hastack_dhcp_subnets"
        elif lease["ends"] <= now:
            continue  # ran out; Kea may hand it out
        elif subnet_id is None:
            why = "in no subnet of the Kea pair (hastack_dhcp_subnets)"
        elif not lease["hwaddr"]:
            why = "no hardware address in dhcpd's record"
        if why:
            skip.append({"address": address, "hwaddr": lease["hwaddr"], "why": why})
            continue
        starts = lease["starts"] if lease["starts"] is not None else now
        carry.append({
            "address": address, "hwaddr": lease["hwaddr"], "client_id": lease["client_id"],
            "hostname": lease["hostname"], "valid_lifetime": max(lease["ends"] - starts, 1),
            "expire": lease["ends"], "subnet_id": subnet_id, "peer": lease["peer"]})
    rows = [",".join(columns)]
    for lease in carry:
        values = {"address": lease["address"], "hwaddr": lease["hwaddr"], "client_id": lease["client_id"],
                  "valid_lifetime": lease["valid_lifetime"], "expire": lease["expire"],
                  "subnet_id": lease["subnet_id"], "fqdn_fwd": 0, "fqdn_rev": 0,
                  "hostname": _csv_field(lease["hostname"]), "state": 0, "user_context": "", "pool_id": 0}
        rows.append(",".join(str(values[column]) for column in columns))
    lines = [f"MIGRATE carry {lease['address']} {lease['hwaddr']} until "
             f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(lease['expire']))} (from {lease['peer']})"
             for lease in carry]
    lines += [f"MIGRATE skip {lease['address']} {lease['hwaddr'] or '-'}: {lease['why']}" for lease in skip]
    return {"carry": carry, "skip": skip, "csv": "\n".join(rows) + "\n", "lines": lines}


def switch_plan(leases_by_peer, peer, final, subnets, now=None, columns=None):
    """kea_lease_import at the switch, on one peer: its own leases as read after dhcpd stopped
    (final), its partner's as read last while dhcpd still served. What the partner granted in
    between reaches this peer's Kea through Kea's own lease sync when the pair starts."""
    if not isinstance(leases_by_peer, dict) or peer not in leases_by_peer:
        raise LeaseError(f"switch_plan: the leases read before the switch must include this peer, {peer}")
    return kea_lease_import(dict(leases_by_peer, **{peer: final}), subnets, now=now, columns=columns)


def read_lease_file(path):
    """parse_leases of the lease file at path; LeaseError naming the file when it cannot be
    read or parsed."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return parse_leases(handle.read())
    except OSError as exc:
        raise LeaseError(f"dhcpd's lease file {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise LeaseError(f"dhcpd's lease file {path}: {exc}") from exc
