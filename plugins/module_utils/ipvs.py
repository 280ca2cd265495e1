# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolve and cross-check keepalived's LVS half: virtual_server_group, virtual_server,
real_server and their health checkers, as keepalived 2.2.7 (Debian 12) accepts them.

The inventory holds dicts keyed by name (keepalived_virtual_servers,
keepalived_virtual_server_groups); what can be derived is derived: the real server port
from the virtual port, the checker from the role's default (DNS_CHECK), the MISC_CHECK
command line of the shipped DNS check script from the real server. The checks are the
ones keepalived makes late (a config test passes, the director then balances nothing)
or never: a real server on the VIP, a DR/TUN real server on another port than the
virtual one, a quorum no set of live real servers can reach, persistence on top of
source hashing, a nameserver of the director that is one of its own virtual servers.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.netaddr_import import netaddr

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.inventory_checks import int_in

VAR = "keepalived_virtual_servers"
GROUP_VAR = "keepalived_virtual_server_groups"
DEFAULTS_VAR = "keepalived_virtual_server_defaults"
CHECK_VAR = "keepalived_real_server_check"
NAME_VAR = "keepalived_dns_check_name"

# IPVS schedulers keepalived 2.2.7 knows (lb_algo / lvs_sched); twos came later.
LB_ALGOS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "dh", "mh", "fo", "ovf", "sed", "nq")
LB_KINDS = ("DR", "NAT", "TUN")
PROTOCOLS = ("UDP", "TCP", "SCTP")
DNS_TYPES = ("A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA")
CHECKERS = ("DNS_CHECK", "UDP_CHECK", "TCP_CHECK", "MISC_CHECK", "HTTP_GET", "SSL_GET")
MAX_PERSISTENCE = 86400 * 31  # LVS_MAX_TIMEOUT in keepalived
MAX_WEIGHT = 65535

VS_KEYS = {
    "address", "port", "fwmark", "group", "protocol", "lb_algo", "lb_kind", "ops", "delay_loop",
    "persistence_timeout", "persistence_granularity", "ha_suspend", "alpha", "omega",
    "quorum", "quorum_up", "quorum_down", "hysteresis", "sorry_server", "sorry_server_inhibit",
    "inhibit_on_failure", "virtualhost", "check", "real_servers",
}
DEFAULT_KEYS = {"protocol", "lb_algo", "lb_kind", "ops", "delay_loop", "persistence_timeout",
                "persistence_granularity", "ha_suspend", "alpha", "omega", "inhibit_on_failure"}
RS_KEYS = {"address", "port", "weight", "inhibit_on_failure", "notify_up", "notify_down", "check"}
GROUP_KEYS = {"addresses", "fwmarks"}

# Options every connecting checker shares, in keepalived's order; MISC_CHECK has only the
# timing ones (it connects nowhere itself).
CONNECT_OPTIONS = ("connect_ip", "connect_port", "bindto", "bind_port", "connect_timeout")
TIMING_OPTIONS = ("retry", "delay_before_retry", "warmup", "delay_loop")
CHECKER_KEYS = {
    "DNS_CHECK": set(CONNECT_OPTIONS + TIMING_OPTIONS) | {"type", "name"},
    "UDP_CHECK": set(CONNECT_OPTIONS + TIMING_OPTIONS) | {"payload", "require_reply"},
    "TCP_CHECK": set(CONNECT_OPTIONS + TIMING_OPTIONS),
    "HTTP_GET": set(CONNECT_OPTIONS + TIMING_OPTIONS) | {"urls", "virtualhost"},
    "SSL_GET": set(CONNECT_OPTIONS + TIMING_OPTIONS) | {"urls", "virtualhost", "enable_sni"},
    "MISC_CHECK": set(TIMING_OPTIONS) | {"misc_path", "misc_timeout", "misc_dynamic", "user",
                                         "type", "name", "connect_port"},
}
URL_KEYS = {"path", "status_code", "digest"}


class IpvsError(ValueError):
    """A problem in the inventory, with the variable it is about."""


def _fail(path, msg):
    raise IpvsError(f"{path}: {msg}")


def _int(path, value, low, high):
    return int_in(path, value, low, high, IpvsError)


def _seconds(path, value):
    """A positive number of seconds (keepalived timers take fractions)."""
    if isinstance(value, bool):
        _fail(path, f"must be a number of seconds, got {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        _fail(path, f"must be a number of seconds, got {value!r}")
    if not number.is_finite() or not 0 < number <= 86400:
        _fail(path, f"must be more than 0 and at most 86400 seconds, got {value}")
    return int(number) if number == number.to_integral_value() else float(number)


def _bool(path, value):
    if not isinstance(value, bool):
        _fail(path, f"must be true or false, got {value!r}")
    return value


def _choice(path, value, choices, upper=False):
    text = str(value).upper() if upper else str(value).lower()
    if text not in choices:
        _fail(path, f"must be one of {', '.join(choices)}, got {value!r}")
    return text


def _ip(path, value):
    if not isinstance(value, str) or not value or "/" in value:
        _fail(path, f"must be an IP address, got {value!r}")
    try:
        return netaddr.IPAddress(value)
    except (netaddr.AddrFormatError, ValueError):
        _fail(path, f"must be an IP address, got {value!r}")
    return None  # not reached


def _script(path, value):
    if not isinstance(value, str) or not value.strip():
        _fail(path, f"must be a command line, got {value!r}")
    if '"' in value:
        _fail(path, "must not contain double quotes (keepalived quotes the whole command line)")
    return value


def _unknown(path, data, allowed):
    unknown = set(data) - set(allowed)
    if unknown:
        _fail(path, f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")


def _range(path, text):
    """A keepalived address range: 10.0.0.1-10, 10.0.0.250-10.0.1.10 or 10.0.0.8/29."""
    text = str(text)
    try:
        if "/" in text:
            net = netaddr.IPNetwork(text)
            return netaddr.IPRange(net.first, net.last), str(net.cidr)
        if "-" in text:
            first, last = text.split("-", 1)
            start = netaddr.IPAddress(first)
            if start.version == 4 and "." not in last:
                octets = first.split(".")
                end = netaddr.IPAddress(".".join(octets[:3] + [last]))
            elif start.version == 6 and ":" not in last:
                end = netaddr.IPAddress(int(start) - (int(start) & 0xFFFF) + int(last, 16), 6)
            else:
                end = netaddr.IPAddress(last)
            if end.version != start.version or end < start:
                raise ValueError
            return netaddr.IPRange(start, end), text
        address = netaddr.IPAddress(text)
        return netaddr.IPRange(address, address), str(address)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        _fail(path, f"must be an IP address, a range (10.0.0.1-10) or a CIDR block, got {text!r}")
    return None  # not reached


def resolve_groups(groups):
    """keepalived_virtual_server_groups -> {name: {addresses: [...], fwmarks: [...], ranges}}."""
    if groups is None:
        groups = {}
    if not isinstance(groups, dict):
        _fail(GROUP_VAR, "must be a dict keyed by group name")
    resolved = {}
    for name, raw in sorted(groups.items()):
        path = f"{GROUP_VAR}.{name}"
        if not isinstance(raw, dict):
            _fail(path, f"must be a dict with addresses and/or fwmarks, got {type(raw).__name__}")
        _unknown(path, raw, GROUP_KEYS)
        addresses, ranges, ports = [], [], set()
        for index, entry in enumerate(raw.get("addresses") or []):
            item = f"{path}.addresses[{index}]"
            if not isinstance(entry, dict) or "address" not in entry:
                _fail(item, f"must be a dict with address and port, got {entry!r}")
            _unknown(item, entry, {"address", "port"})
            ip_range, text = _range(f"{item}.address", entry["address"])
            port = _int(f"{item}.port", entry.get("port"), 1, 65535) if entry.get("port") is not None else None
            addresses.append({"address": text, "port": port})
            ranges.append(ip_range)
            ports.add(port)
        fwmarks = [_int(f"{path}.fwmarks[{i}]", m, 1, 2 ** 32 - 1)
                   for i, m in enumerate(raw.get("fwmarks") or [])]
        if not addresses and not fwmarks:
            _fail(path, "needs at least one entry in addresses or fwmarks")
        seen = set()
        for entry in addresses:
            key = (entry["address"], entry["port"])
            if key in seen:
                _fail(f"{path}.addresses", f"lists {entry['address']} port {entry['port']} twice")
            seen.add(key)
        if len(set(fwmarks)) != len(fwmarks):
            _fail(f"{path}.fwmarks", f"lists a mark twice: {fwmarks}")
        resolved[name] = {"name": name, "addresses": addresses, "fwmarks": fwmarks,
                          "ranges": ranges, "ports": sorted(p for p in ports if p is not None),
                          "portless": None in ports}
    return resolved


def _merge_check(layers):
    """The checker of a real server: the most specific layer names it; a layer with the
    same checker (or none) is merged over the one below, another checker replaces it."""
    check, origin = {}, None
    for path, layer in layers:
        if layer is None:
            continue
        if not isinstance(layer, dict):
            _fail(path, f"must be a dict with `checker` and its options, got {layer!r}")
        kind = layer.get("checker")
        if kind is not None and str(kind).upper() != str(check.get("checker", "")).upper():
            check = {}
        check = {**check, **layer}
        origin = path
    return check, origin


def _dns_query(path, check, dns_name):
    qtype = _choice(f"{path}.type", check.get("type", "A"), DNS_TYPES, upper=True)
    name = check.get("name")
    if name is None or name == "":
        name = dns_name
    if name is None or name == "":
        _fail(f"{path}.name", f"the DNS name to query is not set: set {NAME_VAR} (a name every real "
                              f"server answers, e.g. a record of its zone) or name in the check")
    if not isinstance(name, str) or any(c.isspace() for c in name) or '"' in name:
        _fail(f"{path}.name", f"must be a DNS name, got {name!r}")
    return qtype, name


def _check(path, check, rs, vs, dns_name, script):
    """Normalise one checker; path names where it was set."""
    if not check:
        return None
    kind = _choice(f"{path}.checker", check.get("checker"), CHECKERS, upper=True)
    _unknown(path, {k: v for k, v in check.items() if k != "checker"}, CHECKER_KEYS[kind])
    out = {"checker": kind}
    for key in ("connect_ip", "bindto"):
        if check.get(key) is not None:
            out[key] = str(_ip(f"{path}.{key}", check[key]))
    for key in ("connect_port", "bind_port"):
        if check.get(key) is not None:
            out[key] = _int(f"{path}.{key}", check[key], 1, 65535)
    for key in ("connect_timeout", "delay_before_retry", "warmup", "delay_loop"):
        if check.get(key) is not None:
            out[key] = _seconds(f"{path}.{key}", check[key])
    if check.get("retry") is not None:
        out["retry"] = _int(f"{path}.retry", check["retry"], 0, 1000)
    port = out.get("connect_port", rs["port"])
    if kind != "MISC_CHECK" and port is None:
        _fail(f"{path}.connect_port", f"is needed: real server {rs['name']} has no port to check")

    if kind == "DNS_CHECK":
        out["type"], out["name"] = _dns_query(path, check, dns_name)
    elif kind == "UDP_CHECK":
        for key in ("payload", "require_reply"):
            value = check.get(key)
            if value is None or value is False:
                continue
            if value is True and key == "require_reply":
                out[key] = True
                continue
            text = str(value).replace(" ", "")
            if not text or any(c not in "0123456789abcdefABCDEFxX" for c in text):
                _fail(f"{path}.{key}", f"must be a hex string{' or true' if key == 'require_reply' else ''}, "
                                       f"got {value!r}")
            out[key] = str(value)
    elif kind in ("HTTP_GET", "SSL_GET"):
        urls = check.get("urls")
        if not isinstance(urls, list) or not urls:
            _fail(f"{path}.urls", "needs at least one url: {path: /..., status_code: 200} or a digest")
        out["urls"] = []
        for index, url in enumerate(urls):
            item = f"{path}.urls[{index}]"
            if not isinstance(url, dict) or not str(url.get("path", "")).startswith("/"):
                _fail(item, f"must be a dict with a path starting with /, got {url!r}")
            _unknown(item, url, URL_KEYS)
            if url.get("status_code") is None and not url.get("digest"):
                _fail(item, "needs status_code or digest (genhash computes a digest)")
            entry = {"path": url["path"]}
            if url.get("status_code") is not None:
                entry["status_code"] = _int(f"{item}.status_code", url["status_code"], 100, 599)
            if url.get("digest"):
                digest = str(url["digest"]).lower()
                if len(digest) != 32 or any(c not in "0123456789abcdef" for c in digest):
                    _fail(f"{item}.digest", f"must be an MD5 digest (32 hex digits), got {url['digest']!r}")
                entry["digest"] = digest
            out["urls"].append(entry)
        if check.get("virtualhost"):
            out["virtualhost"] = str(check["virtualhost"])
        if kind == "SSL_GET" and check.get("enable_sni") is not None:
            out["enable_sni"] = _bool(f"{path}.enable_sni", check["enable_sni"])
    elif kind == "MISC_CHECK":
        timeout = _int(f"{path}.misc_timeout", check.get("misc_timeout", 3), 1, 3600)
        out["misc_timeout"] = timeout
        if check.get("misc_path"):
            out["misc_path"] = _script(f"{path}.misc_path", check["misc_path"])
            for key in ("type", "name", "connect_port"):
                if check.get(key) is not None:
                    _fail(f"{path}.{key}", "is for the shipped DNS check script; with your own "
                                           "misc_path, pass it in the command line")
        else:
            if port is None:
                _fail(f"{path}.connect_port", f"is needed: real server {rs['name']} has no port to query")
            qtype, name = _dns_query(path, check, dns_name)
            wait = max(1, timeout - 1)
            tcp = " -T" if vs["protocol"] == "TCP" else ""
            out["misc_path"] = (f"{script} -s {rs['address']} -p {port} -n {name} -t {qtype}"
                                f" -w {wait}{tcp}")
        if check.get("misc_dynamic") is not None:
            out["misc_dynamic"] = _bool(f"{path}.misc_dynamic", check["misc_dynamic"])
        if check.get("user"):
            out["user"] = str(check["user"])
    return out


def _default_port(vs, groups):
    """The port of a real server that sets none: the virtual port, or a group's only port."""
    if vs["kind"] == "group":
        group = groups[vs["group"]]
        return group["ports"][0] if len(group["ports"]) == 1 and not group["portless"] else None
    return vs["port"]


def _virtual_ports(vs, groups):
    if vs["kind"] == "address":
        return [vs["port"]]
    return list(groups[vs["group"]]["ports"]) if vs["kind"] == "group" else []


def _same_port(path, port, vs, groups):
    """DR and TUN forward the packet unchanged: the real server listens on the virtual port."""
    if vs["lb_kind"] not in ("DR", "TUN") or port is None:
        return
    wrong = [p for p in _virtual_ports(vs, groups) if p is not None and p != port]
    if wrong:
        _fail(path, f"must be the virtual port {wrong[0]} with lb_kind {vs['lb_kind']} "
                    f"(the director does not rewrite ports; only NAT maps {wrong[0]} to {port}), got {port}")


def _sorry_server(path, value, vs, groups):
    if isinstance(value, str):
        parts = value.split()
        value = {"address": parts[0]} if len(parts) == 1 else (
            {"address": parts[0], "port": parts[1]} if len(parts) == 2 else value)
    if not isinstance(value, dict) or "address" not in value:
        _fail(path, f"must be a dict with address and port (or 'ADDRESS PORT'), got {value!r}")
    _unknown(path, value, {"address", "port"})
    address = _ip(f"{path}.address", value["address"])
    port = value.get("port", _default_port(vs, groups))
    port = _int(f"{path}.port", port, 1, 65535) if port is not None else None
    _same_port(f"{path}.port", port, vs, groups)
    return {"address": str(address), "port": port, "ip": address}


def _vs_addresses(vs, groups):
    """The ranges of virtual addresses a virtual server answers on."""
    if vs["kind"] == "address":
        ip = netaddr.IPAddress(vs["address"])
        return [netaddr.IPRange(ip, ip)]
    if vs["kind"] == "group":
        return list(groups[vs["group"]]["ranges"])
    return []


def _real_server(path, name, raw, vs, groups, vips, dns_name, script, layers):
    if isinstance(raw, str):
        raw = {"address": raw}
    if not isinstance(raw, dict):
        _fail(path, f"must be a dict with address (and port, weight, check...), got {raw!r}")
    _unknown(path, raw, RS_KEYS)
    if "address" not in raw:
        _fail(f"{path}.address", "is required")
    address = _ip(f"{path}.address", raw["address"])
    if vs["family"] and address.version != vs["family"] and vs["lb_kind"] != "TUN":
        _fail(f"{path}.address", f"is IPv{address.version} but the virtual server is "
                                 f"IPv{vs['family']} (only TUN mixes address families)")
    for ip_range in _vs_addresses(vs, groups):
        if address in ip_range:
            _fail(f"{path}.address", f"{address} is the virtual server's own address: a real "
                                     f"server must be another host")
    if str(address) in vips:
        _fail(f"{path}.address", f"{address} is a VRRP virtual IP of keepalived_instances, not a real server")

    port = raw.get("port", _default_port(vs, groups))
    port = _int(f"{path}.port", port, 1, 65535) if port is not None else None
    _same_port(f"{path}.port", port, vs, groups)
    weight = _int(f"{path}.weight", raw.get("weight", 1), 0, MAX_WEIGHT)
    rs = {"name": name, "address": str(address), "port": port, "weight": weight}
    if raw.get("inhibit_on_failure") is not None:
        rs["inhibit_on_failure"] = _bool(f"{path}.inhibit_on_failure", raw["inhibit_on_failure"])
        if not rs["inhibit_on_failure"] and vs.get("inhibit_on_failure"):
            _fail(f"{path}.inhibit_on_failure", "cannot be turned off when the virtual server sets it; "
                                                "set it on the real servers that need it instead")
    for key in ("notify_up", "notify_down"):
        if raw.get(key) is not None:
            rs[key] = _script(f"{path}.{key}", raw[key])
    check, origin = _merge_check(layers + [(f"{path}.check", raw.get("check"))])
    rs["check"] = _check(origin, check, rs, vs, dns_name, script)
    return rs


def _virtual_server(name, raw, defaults, groups, vips, check_default, dns_name, script):
    path = f"{VAR}.{name}"
    if not isinstance(raw, dict):
        _fail(path, f"must be a dict of virtual server settings, got {type(raw).__name__}")
    _unknown(path, raw, VS_KEYS)
    data = {**defaults, **raw}
    kinds = [k for k in ("address", "fwmark", "group") if raw.get(k) is not None]
    if len(kinds) != 1:
        _fail(path, f"needs exactly one of address (with port), fwmark or group, got {kinds or 'none'}")
    vs = {"name": name, "kind": kinds[0], "address": None, "port": None, "fwmark": None,
          "group": None, "family": None}
    if vs["kind"] == "address":
        address = _ip(f"{path}.address", raw["address"])
        vs.update(address=str(address), family=address.version)
        if raw.get("port") is None:
            _fail(f"{path}.port", "is required with address (the virtual port, e.g. 53)")
        vs["port"] = _int(f"{path}.port", raw["port"], 1, 65535)
    elif raw.get("port") is not None:
        _fail(f"{path}.port", f"goes with address; a {vs['kind']} virtual server takes its ports "
                              f"from the {'group' if vs['kind'] == 'group' else 'marked packets'}")
    if vs["kind"] == "fwmark":
        vs["fwmark"] = _int(f"{path}.fwmark", raw["fwmark"], 1, 2 ** 32 - 1)
    if vs["kind"] == "group":
        if raw["group"] not in groups:
            _fail(f"{path}.group", f"{raw['group']} is not defined in {GROUP_VAR} "
                                   f"(defined: {sorted(groups)})")
        vs["group"] = raw["group"]
        versions = {r.version for r in groups[vs["group"]]["ranges"]}
        vs["family"] = versions.pop() if len(versions) == 1 else None

    if data.get("protocol") is None:
        if vs["kind"] != "fwmark":
            _fail(f"{path}.protocol", f"is required: one of {', '.join(PROTOCOLS)} (DNS needs one "
                                      f"virtual server for UDP and one for TCP)")
        vs["protocol"] = None
    else:
        vs["protocol"] = _choice(f"{path}.protocol", data["protocol"], PROTOCOLS, upper=True)
    vs["lb_algo"] = _choice(f"{path}.lb_algo", data.get("lb_algo", "wrr"), LB_ALGOS)
    vs["lb_kind"] = _choice(f"{path}.lb_kind", data.get("lb_kind", "DR"), LB_KINDS, upper=True)
    if data.get("delay_loop") is not None:
        vs["delay_loop"] = _seconds(f"{path}.delay_loop", data["delay_loop"])
    timeout = data.get("persistence_timeout")
    vs["persistence_timeout"] = None
    if timeout is not None:  # 0 (or none) means no persistence
        vs["persistence_timeout"] = _int(f"{path}.persistence_timeout", timeout, 0, MAX_PERSISTENCE) or None
    if vs["persistence_timeout"] and vs["lb_algo"] == "sh":
        _fail(f"{path}.persistence_timeout", "lb_algo sh already sends each client to the same real "
                                             "server; persistence on top only pins it after that server "
                                             "fails over. Drop one of them")
    granularity = data.get("persistence_granularity")
    if granularity is not None:
        if not vs["persistence_timeout"]:
            _fail(f"{path}.persistence_granularity", "needs persistence_timeout")
        text = str(granularity)
        try:
            ok = netaddr.IPAddress(text).is_netmask() if "." in text or ":" in text else \
                0 < int(text) <= 128
        except (netaddr.AddrFormatError, ValueError):
            ok = False
        if not ok:
            _fail(f"{path}.persistence_granularity", f"must be a netmask (255.255.255.0) or an IPv6 "
                                                     f"prefix length, got {granularity!r}")
        vs["persistence_granularity"] = text
    for key in ("ops", "ha_suspend", "alpha", "omega", "inhibit_on_failure", "sorry_server_inhibit"):
        if data.get(key) is not None:
            vs[key] = _bool(f"{path}.{key}", data[key])
    if vs.get("ops") and vs["protocol"] != "UDP":
        _fail(f"{path}.ops", f"one-packet scheduling is for UDP only, the protocol is {vs['protocol']}")
    vs["quorum"] = _int(f"{path}.quorum", data.get("quorum", 1), 1, MAX_WEIGHT * 1000)
    vs["hysteresis"] = _int(f"{path}.hysteresis", data.get("hysteresis", 0), 0, MAX_WEIGHT * 1000)
    if vs["hysteresis"] >= vs["quorum"]:
        _fail(f"{path}.hysteresis", f"must be less than quorum {vs['quorum']} (or quorum is never lost), "
                                    f"got {vs['hysteresis']}")
    for key in ("quorum_up", "quorum_down"):
        if data.get(key) is not None:
            vs[key] = _script(f"{path}.{key}", data[key])
    if data.get("virtualhost"):
        vs["virtualhost"] = str(data["virtualhost"])
    if data.get("sorry_server") is not None:
        sorry = _sorry_server(f"{path}.sorry_server", data["sorry_server"], vs, groups)
        if any(sorry["ip"] in r for r in _vs_addresses(vs, groups)) or sorry["address"] in vips:
            _fail(f"{path}.sorry_server.address", f"{sorry['address']} is a virtual address, "
                                                  f"not a server")
        vs["sorry_server"] = {"address": sorry["address"], "port": sorry["port"]}

    servers = raw.get("real_servers")
    if not isinstance(servers, dict) or not servers:
        _fail(f"{path}.real_servers", "needs at least one real server, keyed by name")
    layers = [(CHECK_VAR, check_default), (f"{path}.check", raw.get("check"))]
    vs["real_servers"] = []
    seen = {}
    for rs_name, rs_raw in sorted(servers.items()):
        if not isinstance(rs_name, str) or not re.match(r"^[A-Za-z0-9_.-]+$", rs_name):
            _fail(f"{path}.real_servers", f"a real server's name is a word of letters, digits, '_', '.' "
                                          f"and '-' (it names its drain file), got {rs_name!r}")
        rs = _real_server(f"{path}.real_servers.{rs_name}", rs_name, rs_raw, vs, groups, vips,
                          dns_name, script, layers)
        key = (rs["address"], rs["port"])
        if key in seen:
            _fail(f"{path}.real_servers.{rs_name}", f"is the same address and port as {seen[key]}")
        seen[key] = rs_name
        vs["real_servers"].append(rs)
    total = sum(rs["weight"] for rs in vs["real_servers"])
    if total == 0:
        _fail(f"{path}.real_servers", "all real servers have weight 0: the virtual server would send "
                                      "nothing anywhere")
    if vs["quorum"] > total:
        _fail(f"{path}.quorum", f"{vs['quorum']} is more than the weight of all real servers together "
                                f"({total}): the virtual server would never be up")
    return vs


def resolve_virtual_servers(servers, groups=None, defaults=None, check=None, dns_check_name=None,
                            dns_check_script="/usr/local/libexec/hastack/keepalived-dns-check",
                            vips=()):
    """Return {name: virtual server} fully resolved, or raise IpvsError naming the variable.

    servers: keepalived_virtual_servers; groups: keepalived_virtual_server_groups;
    defaults: keepalived_virtual_server_defaults (protocol, lb_algo, lb_kind, delay_loop,
    persistence, ...); check: keepalived_real_server_check, the checker of every real
    server that names none; dns_check_name: keepalived_dns_check_name, the name DNS
    checks query; dns_check_script: the shipped MISC_CHECK script; vips: the VRRP
    virtual IPs (real servers must not be one of them).
    """
    if servers is None:
        servers = {}
    if not isinstance(servers, dict):
        _fail(VAR, "must be a dict keyed by virtual server name")
    defaults = defaults or {}
    if not isinstance(defaults, dict):
        _fail(DEFAULTS_VAR, "must be a dict")
    _unknown(DEFAULTS_VAR, defaults, DEFAULT_KEYS)
    resolved_groups = resolve_groups(groups)
    vips = {str(netaddr.IPAddress(str(v).split("/", maxsplit=1)[0])) for v in (vips or ())}
    result = {}
    services = {}
    for name, raw in sorted(servers.items()):
        vs = _virtual_server(name, raw, defaults, resolved_groups, vips, check, dns_check_name,
                             dns_check_script)
        if vs["kind"] == "address":
            key = ("address", vs["address"], vs["port"], vs["protocol"])
            what = f"{vs['protocol']} {vs['address']} port {vs['port']}"
        elif vs["kind"] == "fwmark":
            key = ("fwmark", vs["fwmark"])
            what = f"fwmark {vs['fwmark']}"
        else:
            key = ("group", vs["group"], vs["protocol"])
            what = f"{vs['protocol']} on group {vs['group']} (keepalived allows one per protocol)"
        if key in services:
            _fail(f"{VAR}.{name}", f"{what} is already the virtual server {services[key]}")
        services[key] = name
        result[name] = vs
    used = {vs["group"] for vs in result.values() if vs["group"]}
    groups_out = {name: {"name": name, "addresses": g["addresses"], "fwmarks": g["fwmarks"]}
                  for name, g in resolved_groups.items() if name in used}
    return {"virtual_servers": result, "groups": groups_out}


def virtual_addresses(virtual_servers, groups=None):
    """Every IP address the resolved virtual servers answer on, as netaddr ranges by name."""
    resolved_groups = resolve_groups(groups) if groups else {}
    out = []
    for name, vs in sorted((virtual_servers or {}).items()):
        if vs.get("kind") == "address":
            ip = netaddr.IPAddress(vs["address"])
            out.append((name, netaddr.IPRange(ip, ip)))
        elif vs.get("group") in resolved_groups:
            out.extend((name, r) for r in resolved_groups[vs["group"]]["ranges"])
    return out


def resolver_conflicts(resolv_conf, virtual_servers, groups=None, source="/etc/resolv.conf"):
    """Nameservers of a director (resolv.conf text) that are one of its own virtual servers.

    LVS-DR cannot serve the director that holds the VIP: its query leaves with the VIP as
    source, and the real server (VIP on lo) answers itself. Returns one message per
    conflict (empty when there is none)."""
    ranges = virtual_addresses(virtual_servers, groups)
    messages = []
    for line in (resolv_conf or "").splitlines():
        parts = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(parts) < 2 or parts[0] != "nameserver":
            continue
        try:
            address = netaddr.IPAddress(parts[1].split("%", 1)[0])
        except (netaddr.AddrFormatError, ValueError):
            continue
        for name, ip_range in ranges:
            if address in ip_range:
                messages.append(f"nameserver {address} in {source} is the address of the virtual server "
                                f"{VAR}.{name}: a director cannot resolve through its own LVS-DR VIP; "
                                f"use the real servers' own addresses (or another resolver)")
                break
    return messages
