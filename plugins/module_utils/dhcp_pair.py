# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One DHCP intent for a pair of servers (ISC dhcpd failover, Kea HA).

The inventory states the subnets once (a dict keyed by name) and which two hosts
serve them; these functions check that intent and derive what each daemon needs.
A subnet's address family follows its `subnet`: IPv4 subnets go to DHCPv4 (both
daemons), IPv6 subnets to DHCPv6 (Kea only: ISC dhcpd has no DHCPv6 failover).
Every error names the variable it is about.
"""

from __future__ import annotations

import zlib
from urllib.parse import urlsplit

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.netaddr_import import netaddr

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.pools import (
    PoolError,
    _address,
    _fail,
    check_disjoint,
    claim,
    in_range,
    pool_bounds,
    reservation,
    split_pool,
)

# keys of a subnet in the shared intent
SUBNET_KEYS = {"subnet", "ranges", "routers", "dns_servers", "domain_name", "domain_search", "hosts",
               "default_lease_time", "max_lease_time"}
# keys that only one family has: DHCPv6 gives no default gateway (routers come from router
# advertisements) and has no domain-name option (domain-search instead)
IPV4_ONLY_KEYS = {
    "routers": "DHCPv6 has no routers option: IPv6 clients learn their routers from router "
               "advertisements (radvd, or the router itself), not from DHCP",
    "domain_name": "DHCPv6 has no domain-name option: give the search domains in domain_search",
}
IPV6_ONLY_KEYS = {
    "domain_search": "is a DHCPv6 option (domain-search) here; an IPv4 subnet takes domain_name",
}
# servers of the intent that cannot serve every family, and why
NO_DHCPV6 = {
    "dhcpd_failover": "ISC dhcpd has no DHCPv6 failover (its failover protocol pairs DHCPv4 "
                      "servers only, and dhcpd -6 cannot take part): serve IPv6 subnets with the "
                      "kea_ha variant (kea-dhcp6 with the HA hook), which takes the same "
                      "hastack_dhcp_subnets",
}


def _same_family(path, addr, network):
    """Fail when addr is not of the subnet's family (one family per subnet entry)."""
    if addr.version != network.version:
        _fail(path, f"{addr} is an IPv{addr.version} address in the IPv{network.version} subnet "
                    f"{network.cidr}: one address family per subnet entry (give the IPv{addr.version} "
                    f"subnet an entry of its own)")


def _addresses(path, values, network=None, family=None):
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        _fail(path, f"must be a list of IP addresses, got {values!r}")
    result = []
    for index, value in enumerate(values):
        addr = _address(f"{path}[{index}]", value)
        if family is not None:
            _same_family(f"{path}[{index}]", addr, family)
        if network is not None and addr not in network:
            _fail(f"{path}[{index}]", f"{addr} is outside the subnet {network.cidr}")
        result.append(str(addr))
    return result


def _domains(path, values):
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip(".") for v in values):
        _fail(path, f"must be a list of domain names, got {values!r}")
    for index, value in enumerate(values):
        labels = value.rstrip(".").split(".")
        if any(not label or len(label) > 63 or not all(c.isalnum() or c == "-" for c in label)
               for label in labels):
            _fail(f"{path}[{index}]", f"{value!r} is not a domain name")
    return [v.rstrip(".") for v in values]


def _duid(path, value):
    """A DUID as colon-separated lowercase hex bytes (2 to 130 bytes, RFC 8415)."""
    text = str(value).strip().lower()
    parts = text.split(":") if ":" in text else [text[i:i + 2] for i in range(0, len(text), 2)]
    if not 2 <= len(parts) <= 130 or any(len(p) not in (1, 2) or any(c not in "0123456789abcdef" for c in p)
                                         for p in parts):
        _fail(path, f"{value!r} is not a DUID (2 to 130 hex bytes, e.g. 00:03:00:01:02:00:0a:d5:29:f1)")
    return ":".join(p.zfill(2) for p in parts)


def _reservation(path, res, family, seen_macs, seen_ips, seen_duids):
    """(mac, duid, ip) of a reservation: IPv4 by mac, IPv6 by duid or mac (hw-address)."""
    if family == 4:
        if isinstance(res, dict) and "duid" in res:
            _fail(f"{path}.duid", "reservations by DUID are DHCPv6's; an IPv4 reservation needs mac")
        mac, ip = reservation(path, res, seen_macs, seen_ips)
        return mac, "", ip
    if not isinstance(res, dict) or "ip" not in res or ("mac" in res) == ("duid" in res):
        _fail(path, f"needs ip and one of duid or mac (the client's hw-address), got {res!r}")
    if "mac" in res:
        mac, ip = reservation(path, res, seen_macs, seen_ips)
        return mac, "", ip
    duid = _duid(f"{path}.duid", res["duid"])
    ip = _address(f"{path}.ip", res["ip"])
    claim(f"{path}.duid", duid, seen_duids, path)
    claim(f"{path}.ip", str(ip), seen_ips, path)
    return "", duid, ip


def _lifetime(path, value):
    if value is None:
        return None
    value = _whole(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        _fail(path, f"must be a number of seconds >= 1, got {value!r}")
    return value


def dhcp_subnets(subnets, var="dhcp_subnets", server="kea_ha"):
    """Check the subnets of the intent and return them as a list sorted by name.

    subnets: {name: {subnet, ranges: [{start, end}], routers, dns_servers, domain_name,
    domain_search, hosts: {name: {mac or duid, ip}}, default_lease_time, max_lease_time}}.
    The family follows `subnet`; every address of an entry must be of that family.
    IPv4 only: routers, domain_name, reservations by mac. IPv6 only: domain_search,
    reservations by duid (or by mac, the client's hw-address). server: the daemon the
    subnets are for (dhcpd_failover refuses IPv6 subnets).
    Fails on a range outside its subnet, overlapping ranges (in any subnets), a
    reservation inside a dynamic range or outside its subnet, a MAC, DUID or IP reserved
    twice, mixed families, and an option of the other family.
    """
    if not isinstance(subnets, dict) or not subnets:
        _fail(var, f"must be a non-empty dict of subnets keyed by name, got {subnets!r}")
    result, spans, seen_macs, seen_ips, seen_duids = [], {4: [], 6: []}, {}, {}, {}
    for name in sorted(subnets):
        spec = subnets[name]
        path = f"{var}.{name}"
        if not isinstance(spec, dict):
            _fail(path, f"must be a dict with subnet and ranges, got {spec!r}")
        unknown = sorted(set(spec) - SUBNET_KEYS)
        if unknown:
            _fail(path, f"unknown key(s) {unknown}; known: {sorted(SUBNET_KEYS)}")
        if "subnet" not in spec:
            _fail(f"{path}.subnet", "is required")
        network = _network(f"{path}.subnet", spec["subnet"])
        family = network.version
        if family == 6 and server in NO_DHCPV6:
            _fail(f"{path}.subnet", f"{network.cidr} is an IPv6 subnet, and {NO_DHCPV6[server]}")
        for key, why in (IPV4_ONLY_KEYS if family == 6 else IPV6_ONLY_KEYS).items():
            if spec.get(key):
                _fail(f"{path}.{key}", f"not for the IPv{family} subnet {network.cidr}: {why}")
        ranges_in = spec.get("ranges") or []
        if not isinstance(ranges_in, list):
            _fail(f"{path}.ranges", f"must be a list of {{start, end}}, got {ranges_in!r}")
        ranges = []
        for index, rng in enumerate(ranges_in):
            rpath = f"{path}.ranges[{index}]"
            if not isinstance(rng, dict):
                _fail(rpath, f"must be a dict with start and end, got {rng!r}")
            for key in ("start", "end"):
                if key in rng:
                    _same_family(f"{rpath}.{key}", _address(f"{rpath}.{key}", rng[key]), network)
            first, last = pool_bounds(dict(rng, subnet=spec["subnet"]), rpath)[1:]
            ranges.append({"start": str(first), "end": str(last), "size": int(last) - int(first) + 1})
            spans[family].append({"name": rpath, "start": str(first), "end": str(last)})
        hosts = []
        hosts_in = spec.get("hosts") or {}
        if not isinstance(hosts_in, dict):
            _fail(f"{path}.hosts", f"must be a dict of reservations keyed by name, got {hosts_in!r}")
        for host_name in sorted(hosts_in):
            res = hosts_in[host_name]
            hpath = f"{path}.hosts.{host_name}"
            if isinstance(res, dict) and "ip" in res:
                _same_family(f"{hpath}.ip", _address(f"{hpath}.ip", res["ip"]), network)
            mac, duid, ip = _reservation(hpath, res, family, seen_macs, seen_ips, seen_duids)
            if ip not in network:
                _fail(f"{hpath}.ip", f"{ip} is outside the subnet {network.cidr}")
            for rng in ranges:
                if in_range(ip, rng["start"], rng["end"]):
                    _fail(f"{hpath}.ip", f"{ip} is inside the dynamic range {rng['start']}-{rng['end']}: "
                                         f"reserve it outside the pools, or two clients may get it")
            host = {"name": host_name, "mac": mac, "ip": str(ip)}
            if family == 6:
                host["duid"] = duid
            hosts.append(host)
        result.append({
            "name": name,
            "id": _subnet_id(network),
            "family": family,
            "subnet": str(network.cidr),
            "network": str(network.network),
            "netmask": str(network.netmask),
            "ranges": ranges,
            "routers": _addresses(f"{path}.routers", spec.get("routers"), network),
            "dns_servers": _addresses(f"{path}.dns_servers", spec.get("dns_servers"), family=network),
            "domain_name": spec.get("domain_name") or "",
            "domain_search": _domains(f"{path}.domain_search", spec.get("domain_search")),
            "default_lease_time": _lifetime(f"{path}.default_lease_time", spec.get("default_lease_time")),
            "max_lease_time": _lifetime(f"{path}.max_lease_time", spec.get("max_lease_time")),
            "hosts": hosts,
        })
    for family_spans in spans.values():
        check_disjoint(family_spans, var)
    ids = {}
    for entry in result:
        other = ids.setdefault((entry["family"], entry["id"]), entry["name"])
        if other != entry["name"]:  # a CRC32 collision of two IPv6 prefixes: rare, but Kea would refuse it
            _fail(f"{var}.{entry['name']}.subnet", f"{entry['subnet']} gets the same Kea subnet id "
                                                   f"({entry['id']}) as {var}.{other}: split or renumber it")
    networks = [(s["name"], netaddr.IPNetwork(s["subnet"])) for s in result]
    for i, (n1, net1) in enumerate(networks):
        for n2, net2 in networks[i + 1:]:
            if net1.version == net2.version and net1.first <= net2.last and net2.first <= net1.last:
                _fail(f"{var}.{n2}.subnet", f"{net2.cidr} overlaps {var}.{n1}.subnet {net1.cidr}")
    return result


def _subnet_id(network):
    """A stable Kea subnet id (leases refer to it): an IPv4 subnet's network address as a
    number, an IPv6 one's CRC32 (1 to 2^32-2), so adding a subnet renumbers none."""
    if network.version == 4:
        return int(network.network)
    return zlib.crc32(str(network.cidr).encode()) % 4294967294 + 1


def _network(path, subnet):
    try:
        network = netaddr.IPNetwork(str(subnet))
    except (netaddr.AddrFormatError, ValueError):
        _fail(path, f"{subnet!r} is not a subnet")
    if network.ip != network.network:
        _fail(path, f"{subnet} has host bits set; did you mean {network.cidr}?")
    return network


def split_ranges(ranges, names):
    """Split every range into one part per name (load balancing); returns [{start, end, owner}]."""
    result = []
    for rng in ranges:
        everything = "::/0" if ":" in str(rng["start"]) else "0.0.0.0/0"
        parts = split_pool({"subnet": everything, "start": rng["start"], "end": rng["end"]}, len(names),
                           "range") if rng["size"] >= len(names) else None
        if parts is None:
            raise PoolError(f"range {rng['start']}-{rng['end']} is too small to split "
                            f"between {len(names)} servers")
        for owner, part in zip(names, parts):
            result.append({"start": part["start"], "end": part["end"], "owner": owner})
    return result


def pair_peers(peers, group_hosts, inventory_hosts, primary="", var="peers", primary_var="primary",
               primary_only=()):
    """The two peers of a pair in order, primary first, as [{host, primary, **settings}].

    peers: {inventory hostname: per-peer settings} (may be empty: then the first two
    hosts of group_hosts, no settings). primary: an inventory hostname or '' (the first).
    Keys in primary_only may only be given in the primary's settings.
    """
    if peers in (None, "", [], {}):
        peers = {host: {} for host in (group_hosts or [])}
    elif isinstance(peers, list):
        peers = {host: {} for host in peers}
    if not isinstance(peers, dict):
        _fail(var, f"must be a dict keyed by inventory hostname, got {peers!r}")
    names = list(peers)
    if len(names) != 2:
        _fail(var, f"a pair needs exactly 2 servers, got {len(names)}: {names}")
    for name in names:
        if name not in inventory_hosts:
            _fail(f"{var}.{name}", f"{name} is not a host in the inventory")
        if peers[name] is not None and not isinstance(peers[name], dict):
            _fail(f"{var}.{name}", f"must be a dict of settings, got {peers[name]!r}")
    primary = primary or names[0]
    if primary not in names:
        if primary not in inventory_hosts:
            _fail(primary_var, f"{primary} is not a host in the inventory")
        _fail(primary_var, f"{primary} is not one of the pair {names}")
    ordered = [primary] + [n for n in names if n != primary]
    result = []
    for name in ordered:
        settings = dict(peers[name] or {})
        if name != primary:
            for key in primary_only:
                if key in settings:
                    _fail(f"{var}.{name}.{key}", f"{key} is set on the primary only, and {name} "
                                                 f"is the secondary (the primary is {primary})")
        result.append(dict(settings, host=name, primary=name == primary))
    return result


def peer_addresses(peers, hostvars, interface):
    """{host: IPv4 address of interface} from gathered facts ('' where there are none).

    peers: hostnames or the dicts of pair_peers; hostvars: Ansible's hostvars.
    """
    result = {}
    for peer in peers or []:
        host = peer["host"] if isinstance(peer, dict) else peer
        try:
            facts = hostvars[host]["ansible_facts"]
            result[host] = str(facts[str(interface).replace("-", "_")]["ipv4"]["address"])
        except Exception:  # missing host, facts, interface or address: Ansible raises its own types
            result[host] = ""
    return result


def peer_values(peers, hostvars, name):
    """{host: value} of a variable each peer sets for itself (by its release), as text.

    peers: hostnames or the dicts of pair_peers; hostvars: Ansible's hostvars; name: the
    variable. A peer where it is not defined (not in the play) is left out.
    """
    result = {}
    for peer in peers or []:
        host = peer["host"] if isinstance(peer, dict) else peer
        try:
            value = hostvars[host][name]
        except Exception:  # missing host or variable: Ansible raises its own types
            continue
        result[host] = str(value)
    return result


def peer_ports(peers, hostvars, name):
    """{host: port} from a variable each peer sets for itself (its release's port), as int.

    As peer_values; a value that is not a port is left out too: the caller then uses its
    own value for that peer.
    """
    return {host: int(value) for host, value in peer_values(peers, hostvars, name).items() if value.isdigit()}


def dhcpd_failover(peers, host, addresses, settings, var="dhcpd_failover_peers"):
    """The failover peer statement of `host` for ISC dhcpd.

    peers: the output of pair_peers; addresses: {host: address} (the default address of
    each peer); settings: the pair's defaults {name, port, max_response_delay,
    max_unacked_updates, load_balance_max_seconds, mclt, split, hba}.
    """
    names = [p["host"] for p in peers]
    if host not in names:
        _fail(var, f"{host} is not one of the pair {names}")
    me = next(p for p in peers if p["host"] == host)
    partner = next(p for p in peers if p["host"] != host)

    def address_of(peer):
        path = f"{var}.{peer['host']}.address"
        value = peer.get("address") or (addresses or {}).get(peer["host"])
        if not value:
            _fail(path, f"no address for {peer['host']}: give one, or gather its facts")
        return str(_address(path, value))

    def port_of(peer):
        value = _whole(peer.get("port", settings.get("port", 647)))
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            _fail(f"{var}.{peer['host']}.port", f"must be a port number 1-65535, got {value!r}")
        return value

    primary = peers[0]
    mclt = _whole(primary.get("mclt", settings.get("mclt", 3600)))
    if isinstance(mclt, bool) or not isinstance(mclt, int) or mclt < 1:
        _fail("dhcpd_failover_mclt", f"must be a number of seconds >= 1, got {mclt!r}")
    hba = primary.get("hba", settings.get("hba")) or ""
    split = _whole(primary.get("split", settings.get("split", 128)))
    split_path = f"{var}.{primary['host']}.split" if "split" in primary else "dhcpd_failover_split"
    if hba:
        hex_bytes = str(hba).split(":")
        if len(hex_bytes) != 32 or any(len(b) != 2 or any(c not in "0123456789abcdefABCDEF" for c in b)
                                       for b in hex_bytes):
            _fail("dhcpd_failover_hba", "must be 32 colon-separated hex bytes (a 256-bit bitmap)")
    elif isinstance(split, bool) or not isinstance(split, int) or not 0 <= split <= 256:
        _fail(split_path, f"must be a whole number from 0 to 256 (the primary's share of 256 "
                          f"hash buckets), got {split!r}")
    timers = {}
    for key, low, high in (("max_response_delay", 1, 3600), ("max_unacked_updates", 1, 1000),
                           ("load_balance_max_seconds", 0, 3600)):
        value = timers[key] = _whole(settings.get(key))
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            _fail(f"dhcpd_failover_{key}", f"must be a whole number from {low} to {high}, got {value!r}")
    result = {
        "name": settings.get("name", "dhcp"),
        "role": "primary" if me["primary"] else "secondary",
        "address": address_of(me),
        "port": port_of(me),
        "peer_address": address_of(partner),
        "peer_port": port_of(partner),
        **timers,
    }
    if me["primary"]:
        result["mclt"] = mclt
        if hba:
            result["hba"] = str(hba).lower()
        else:
            result["split"] = split
    if result["address"] == result["peer_address"] and result["port"] == result["peer_port"]:
        _fail(var, f"both peers use {result['address']}:{result['port']}")
    return result


def _whole(value):
    """A whole number given as text (an extra var from the command line, -e name=1000, is a
    string) as an int; any other value unchanged, for the caller's check to name."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


KEA_ROLES = {"hot-standby": ("primary", "standby"), "load-balancing": ("primary", "secondary")}


def kea_ha(peers, host, addresses, settings, var="kea_ha_peers"):
    """The HA hook parameters of `host` for Kea (one relationship, two peers).

    peers: the output of pair_peers (server names are the inventory hostnames);
    addresses: {host: address}; settings: {mode, port, heartbeat_delay,
    max_response_delay, max_ack_delay, max_unacked_clients} and optionally
    peer_port, peer_ports and dedicated_listener. `port` is the control agent's; peer
    URLs use `peer_port` (default: `port`, the partner's HA hook goes through the
    control agent), or a peer's own port in `peer_ports` ({host: port}: where that
    peer listens by its release, so that a Kea 2.2 peer and a Kea 2.6 peer each get
    the other's right URL during a move between releases). With `dedicated_listener`
    (Kea 2.6: the HA hook runs its own HTTP listener on this server's URL) the peer
    URLs must not be the control agent's address and port. A peer's `url` or `address` setting overrides the derived URL.

    The DHCPv6 relationship of the same pair is a second call with family 6: its
    peer URLs come from a peer's `url6` setting, `peer_port` is then named
    `peer_port_var` in errors (kea_ha_peer_port6), and with a dedicated listener it
    must also differ from the ports in `taken_ports` ({port: variable}: the DHCPv4
    relationship's listener).
    """
    mode = settings.get("mode")
    if mode not in KEA_ROLES:
        _fail("kea_ha_mode", f"must be one of {sorted(KEA_ROLES)}, got {mode!r}")
    names = [p["host"] for p in peers]
    if host not in names:
        _fail(var, f"{host} is not one of the pair {names}")
    port = _whole(settings.get("port", 8000))
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        _fail("kea_ha_api_port", f"must be a port number 1-65535, got {port!r}")
    dedicated = bool(settings.get("dedicated_listener", False))
    peer_port = _whole(settings.get("peer_port", port))
    port_var = settings.get("peer_port_var", "kea_ha_peer_port")
    url_key = "url6" if settings.get("family", 4) == 6 else "url"
    peer_ports = {name: peer_port for name in names}
    for name, value in (settings.get("peer_ports") or {}).items():
        if name in peer_ports:
            peer_ports[name] = value
    for name, value in peer_ports.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            _fail(port_var, f"must be a port number 1-65535, got {value!r}" + ("" if name == host else f" on {name}"))
    if dedicated and peer_port == port:
        _fail(port_var, f"({peer_port}) must differ from kea_ha_api_port ({port}): the HA hook "
                        f"listens on it itself, next to the control agent")
    if dedicated and peer_port in (settings.get("taken_ports") or {}):
        _fail(port_var, f"({peer_port}) must differ from {settings['taken_ports'][peer_port]}: each HA "
                        f"relationship (DHCPv4, DHCPv6) listens on a port of its own")
    timers = {}
    for key in ("heartbeat_delay", "max_response_delay", "max_ack_delay", "max_unacked_clients"):
        value = _whole(settings.get(key))
        low = 0 if key == "max_unacked_clients" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            _fail(f"kea_ha_{key}", f"must be a whole number >= {low}, got {value!r}")
        timers[key] = value
    if timers["max_response_delay"] <= timers["heartbeat_delay"]:
        _fail("kea_ha_max_response_delay", f"({timers['max_response_delay']} ms) must be greater than "
                                           f"kea_ha_heartbeat_delay ({timers['heartbeat_delay']} ms)")
    _kea_series_mix(peers, mode, settings.get("series") or {}, var)
    result_peers, me = [], None
    for peer, role in zip(peers, KEA_ROLES[mode]):
        address = peer.get("address") or (addresses or {}).get(peer["host"])
        url = peer.get(url_key)
        path = f"{var}.{peer['host']}.address"
        if not url:
            if not address:
                _fail(path, f"no address for {peer['host']}: give one, or gather its facts")
            url = f"http://{_address(path, address)}:{peer_ports[peer['host']]}/"
        elif dedicated and address and _url_endpoint(url) == (str(_address(path, address)), port):
            _fail(f"{var}.{peer['host']}.{url_key}",
                  f"{url} is the control agent's address and port (kea_ha_api_port): the HA hook needs a "
                  f"port of its own")
        entry = {"name": peer["host"], "url": url, "role": role, "address": str(address or "")}
        result_peers.append(entry)
        if peer["host"] == host:
            me = entry
    partner = next(p for p in result_peers if p["name"] != host)
    return dict(timers, mode=mode, this_server_name=host, role=me["role"], address=me["address"],
                partner_address=partner["address"], dedicated_listener=dedicated, peers=result_peers)


def _series_key(series):
    try:
        return tuple(int(part) for part in str(series).split("."))
    except ValueError:
        return ()


def _kea_series_mix(peers, mode, series, var):
    """Refuse a pair of two Kea series that does not work together (measured in the lab,
    molecule/mixed_release, with Kea 2.2 and Kea 2.6): when the older server syncs its leases
    (at each start or reload) it disables the newer one's DHCP service for the sync, and
    the end of the sync it announces (ha-sync-complete-notify) is not the one the newer
    server waits for: the newer server answers nobody until the disable's own limit
    (sync-timeout, 60 s) while both report the normal state. Harmless where the newer
    server is a standby; so a mixed pair runs hot-standby with the older Kea as primary.

    series: {host: 'major.minor'} (the peers in the play; others are left out)."""
    known = {p["host"]: series[p["host"]] for p in peers if series.get(p["host"])}
    if len(set(known.values())) < 2:
        return
    detail = " and ".join(f"Kea {known[p['host']]} on {p['host']}" for p in peers if p["host"] in known)
    primary = peers[0]["host"]
    older = min(known, key=lambda host: _series_key(known[host]))
    why = (f"after Kea {known[older]} syncs its leases (at each start or reload), the newer server answers no "
           f"client for up to 60 s (sync-timeout) while both report {mode}")
    if mode != "hot-standby":
        _fail("kea_ha_mode", f"{mode} is refused for a pair of two Kea releases ({detail}): {why}; run the pair "
                             f"in hot-standby with {older} as primary (kea_ha_primary) until both run one release")
    if primary != older:
        _fail("kea_ha_primary", f"the primary of a pair of two Kea releases ({detail}) must be the older one, "
                                f"{older} (got {primary}): {why}, and in hot-standby the primary is the one "
                                f"that serves; move the standby to the new release first")


def _url_endpoint(url):
    """(host, port) of an http(s) URL, the port defaulting to the scheme's."""
    parts = urlsplit(str(url))
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.hostname or "", port or (443 if parts.scheme == "https" else 80)


def interface_networks(facts, interface):
    """The subnets (CIDR) of an interface's IPv4 and global IPv6 addresses, from gathered facts.

    facts: a host's ansible_facts; [] when the interface or its addresses are missing.
    """
    try:
        data = facts[str(interface).replace("-", "_")]
    except (KeyError, TypeError):
        return []
    found = []
    ipv4 = data.get("ipv4") or {}
    for entry in [ipv4] + list(data.get("ipv4_secondaries") or []):
        if entry.get("address") and entry.get("netmask"):
            found.append(netaddr.IPNetwork(f"{entry['address']}/{entry['netmask']}"))
    for entry in data.get("ipv6") or []:
        if entry.get("address") and entry.get("scope", "global") == "global":
            found.append(netaddr.IPNetwork(f"{entry['address']}/{entry.get('prefix', 128)}"))
    result = []
    for network in found:
        if str(network.cidr) not in result:
            result.append(str(network.cidr))
    return result
