# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Local DNS zones from inventory data, checked and put into zone-file form (role bind).

Data shape (documented in roles/bind/defaults/main.yml):

    bind_zones:
      abc.local:
        ttl: 300                 # optional, the zone's $TTL
        records:
          - {name: www, type: A, value: 1.2.3.4}
          - {name: "@", type: MX, value: "10 mail", ttl: 60}
    bind_host_records:           # per host: replace (name, type) of a zone, or add
      abc.local:
        - {name: www, type: A, value: 1.2.3.5}

Every error names the variable and the item it is about, so a bad inventory stops the
play with a message an operator can act on. Pure Python (ipaddress only).
"""

from __future__ import annotations

import ipaddress
import re

RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "PTR", "SRV", "TXT")
# Zones Debian's named.conf.default-zones already defines: a second definition stops named.
DEFAULT_ZONES = ("localhost", "127.in-addr.arpa", "0.in-addr.arpa", "255.in-addr.arpa")
# The name server a zone gets when its records bring no NS at the apex.
NS_LABEL = "ns1"

_LABEL = r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)"
_ZONE = re.compile(rf"^{_LABEL}(\.{_LABEL})*\.?$")
_OWNER = re.compile(rf"^(\*|{_LABEL})(\.{_LABEL})*$")
_TARGET = re.compile(rf"^(@|{_LABEL}(\.{_LABEL})*\.?|\.)$")
_RECORD_KEYS = {"name", "type", "value", "ttl"}
_ZONE_KEYS = {"records", "ttl"}
MAX_TTL = 2147483647


class BindZoneError(ValueError):
    """A problem in the zone data, with the variable it is about."""


def _fail(path, msg):
    raise BindZoneError(f"{path}: {msg}")


def zone_key(name, path):
    """The canonical name of a zone (lower case, no trailing dot); fails on a bad name."""
    if not isinstance(name, str) or not _ZONE.match(name) or len(name.rstrip(".")) > 253:
        _fail(path, f"{name!r} is not a zone name (labels of letters, digits, '-' and '_', dot-separated)")
    return name.rstrip(".").lower()


def _ttl(value, path):
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        else:
            _fail(path, f"{value!r} is not a TTL in seconds")
    if not 0 <= value <= MAX_TTL:
        _fail(path, f"{value} is not a TTL between 0 and {MAX_TTL} seconds")
    return value


def _target(value, path, what="a host name"):
    if not isinstance(value, str) or not _TARGET.match(value):
        _fail(path, f"{value!r} is not {what} (relative to the zone, or absolute with a trailing dot)")
    return value


def _number(value, path, what, low=0, high=65535):
    if not re.fullmatch(r"[0-9]+", value) or not low <= int(value) <= high:
        _fail(path, f"{what} {value!r} is not a number from {low} to {high}")
    return int(value)


def _txt(value):
    """TXT data as quoted strings of at most 255 bytes each."""
    raw = value.encode("utf-8")
    chunks = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
    quoted = []
    for chunk in chunks:
        text = "".join(chr(b) if 0x20 <= b < 0x7F and chr(b) not in '"\\' else
                       ("\\" + chr(b) if chr(b) in '"\\' else f"\\{b:03d}") for b in chunk)
        quoted.append(f'"{text}"')
    return " ".join(quoted)


def rdata(rtype, value, path):
    """The record's data as the zone file writes it; fails when value does not fit the type."""
    if rtype == "TXT":
        if isinstance(value, (dict, list)) or value is None:
            _fail(path, f"{value!r} is not text")
        return _txt(str(value))
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        _fail(path, f"{value!r} cannot be the data of a {rtype} record")
    value = str(value).strip()
    if rtype == "A":
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError:
            _fail(path, f"{value!r} is not an IPv4 address")
    if rtype == "AAAA":
        try:
            return str(ipaddress.IPv6Address(value))
        except ValueError:
            _fail(path, f"{value!r} is not an IPv6 address")
    if rtype in ("CNAME", "NS", "PTR"):
        return _target(value, path)
    parts = value.split()
    if rtype == "MX":
        if len(parts) != 2:
            _fail(path, f"{value!r} is not 'preference host' (e.g. '10 mail')")
        return f"{_number(parts[0], path, 'preference')} {_target(parts[1], path)}"
    # SRV
    if len(parts) != 4:
        _fail(path, f"{value!r} is not 'priority weight port target' (e.g. '0 5 853 dns')")
    numbers = [_number(part, path, what) for part, what in zip(parts, ("priority", "weight", "port"))]
    return " ".join(str(n) for n in numbers) + " " + _target(parts[3], path)


def record(item, path):
    """One record {name, type, value, ttl} checked and normalised (type upper case, rdata added)."""
    if not isinstance(item, dict):
        _fail(path, f"must be a dict with name, type and value, got {item!r}")
    unknown = sorted(set(item) - _RECORD_KEYS)
    if unknown:
        _fail(path, f"unknown keys {unknown}; a record has name, type, value and optional ttl")
    for key in ("name", "type", "value"):
        if key not in item:
            _fail(f"{path}.{key}", "is required")
    name = item["name"]
    if not isinstance(name, str) or not (name == "@" or _OWNER.match(name)):
        _fail(f"{path}.name", f"{name!r} is not '@' or a name relative to the zone (e.g. www)")
    rtype = str(item["type"]).upper()
    if rtype not in RECORD_TYPES:
        _fail(f"{path}.type", f"{item['type']!r} is not one of {', '.join(RECORD_TYPES)}")
    ttl = _ttl(item["ttl"], f"{path}.ttl") if item.get("ttl") is not None else None
    return {"name": name.lower() if name != "@" else "@", "type": rtype, "ttl": ttl,
            "value": item["value"], "rdata": rdata(rtype, item["value"], f"{path}.value")}


def _records(items, path):
    if items is None:
        return []
    if not isinstance(items, list):
        _fail(path, f"must be a list of records, got {items!r}")
    return [dict(record(item, f"{path}[{index}]"), path=f"{path}[{index}]") for index, item in enumerate(items)]


def _check_names(records):
    """A CNAME owns its name alone; the name server the role adds needs its name free."""
    by_name = {}
    for rec in records:
        by_name.setdefault(rec["name"], []).append(rec)
    for name, recs in by_name.items():
        types = [rec["type"] for rec in recs]
        cname = next((rec for rec in recs if rec["type"] == "CNAME"), None)
        if cname and name == "@":
            _fail(cname["path"], "the zone apex (@) cannot be a CNAME")
        if cname and len(recs) > 1:
            _fail(cname["path"], f"{name} has a CNAME and other records ({', '.join(types)}): "
                                 "a CNAME must be the only record of its name")
    own_ns = any(rec["name"] == "@" and rec["type"] == "NS" for rec in records)
    if not own_ns and NS_LABEL in by_name:
        _fail(by_name[NS_LABEL][0]["path"],
              f"{NS_LABEL} is the name server the role adds (with this host's address) to a zone without "
              "NS records at '@': rename the record, or give the zone its own '@' NS records")
    return own_ns


def _override(records, extra):
    """records with every (name, type) that extra has replaced by extra's records of it, in place."""
    def key(rec):
        return rec["name"], rec["type"]

    wanted = {}
    for rec in extra:
        wanted.setdefault(key(rec), []).append(rec)
    merged, placed = [], set()
    for rec in records:
        if key(rec) not in wanted:
            merged.append(rec)
        elif key(rec) not in placed:
            merged += wanted[key(rec)]
            placed.add(key(rec))
    for rec_key, recs in wanted.items():
        if rec_key not in placed:
            merged += recs
    return merged


def bind_zones(zones, host_records=None, default_ttl=300, var="bind_zones", host_var="bind_host_records"):
    """Check the zones and apply one host's records; return [{name, ttl, records, own_ns}] sorted by name.

    host_records maps a zone name to records that replace every record of the zone with the
    same name and type (where the first of them stood), or are added at the end. own_ns is
    false when the zone has no NS records at its apex: the role then adds ns1 with the
    host's address.
    """
    if not isinstance(zones, dict):
        _fail(var, f"must be a dict keyed by zone name, got {type(zones).__name__}")
    default_ttl = _ttl(default_ttl, "bind_default_ttl")
    result, seen = {}, {}
    for raw_name, zone in zones.items():
        path = f"{var}[{raw_name!r}]"
        name = zone_key(raw_name, path)
        if name in seen:
            _fail(path, f"is the same zone as {var}[{seen[name]!r}]")
        if name in DEFAULT_ZONES:
            _fail(path, f"{name} is defined by Debian's named.conf.default-zones already")
        seen[name] = raw_name
        zone = {} if zone is None else zone
        if not isinstance(zone, dict):
            _fail(path, f"must be a dict with records (and optional ttl), got {zone!r}")
        unknown = sorted(set(zone) - _ZONE_KEYS)
        if unknown:
            _fail(path, f"unknown keys {unknown}; a zone has records and optional ttl")
        ttl = _ttl(zone["ttl"], f"{path}.ttl") if zone.get("ttl") is not None else default_ttl
        result[name] = {"name": name, "ttl": ttl, "records": _records(zone.get("records"), f"{path}.records")}

    host_records = {} if host_records is None else host_records
    if not isinstance(host_records, dict):
        _fail(host_var, f"must be a dict keyed by zone name, got {type(host_records).__name__}")
    for raw_name, items in host_records.items():
        path = f"{host_var}[{raw_name!r}]"
        name = zone_key(raw_name, path)
        if name not in result:
            _fail(path, f"{name} is not a zone of {var} ({', '.join(sorted(result)) or 'none'})")
        result[name]["records"] = _override(result[name]["records"], _records(items, path))

    zones_out = []
    for name in sorted(result):
        zone = result[name]
        own_ns = _check_names(zone["records"])
        records = [{key: rec[key] for key in ("name", "type", "ttl", "rdata")} for rec in zone["records"]]
        zones_out.append({"name": name, "ttl": zone["ttl"], "records": records, "own_ns": own_ns})
    return zones_out
