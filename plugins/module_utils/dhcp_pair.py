# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One DHCP intent for a pair of servers (ISC dhcpd failover, Kea HA).

The inventory states the subnets once (a dict keyed by name) and which two hosts
serve them; these functions check that intent and derive what each daemon needs.
Every error names the variable it is about.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.netaddr_import import netaddr

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.pools import (
    PoolError,
    _address,
    _fail,
    check_disjoint,
    in_range,
    pool_bounds,
    reservation,
    split_pool,
)

# keys of a subnet in the shared intent
SUBNET_KEYS = {"subnet", "ranges", "routers", "dns_servers", "domain_name", "hosts",
               "default_lease_time", "max_lease_time"}


def _addresses(path, values, network=None):
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        _fail(path, f"must be a list of IP addresses, got {values!r}")
    result = []
    for index, value in enumerate(values):
        addr = _address(f"{path}[{index}]", value)
        if network is not None and addr not in network:
            _fail(f"{path}[{index}]", f"{addr} is outside the subnet {network.cidr}")
        result.append(str(addr))
    return result


def _lifetime(path, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        _fail(path, f"must be a number of seconds >= 1, got {value!r}")
    return value


def dhcp_subnets(subnets, var="dhcp_subnets"):
    """Check the subnets of the intent and return them as a list sorted by name.

    subnets: {name: {subnet, ranges: [{start, end}], routers, dns_servers, domain_name,
    hosts: {name: {mac, ip}}, default_lease_time, max_lease_time}}.
    Fails on a range outside its subnet, overlapping ranges (in any subnets), a
    reservation inside a dynamic range or outside its subnet, a MAC or IP reserved twice.
    """
    if not isinstance(subnets, dict) or not subnets:
        _fail(var, f"must be a non-empty dict of subnets keyed by name, got {subnets!r}")
    result, spans, seen_macs, seen_ips = [], [], {}, {}
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
        ranges_in = spec.get("ranges") or []
        if not isinstance(ranges_in, list):
            _fail(f"{path}.ranges", f"must be a list of {{start, end}}, got {ranges_in!r}")
        network = None
        ranges = []
        for index, rng in enumerate(ranges_in):
            rpath = f"{path}.ranges[{index}]"
            if not isinstance(rng, dict):
                _fail(rpath, f"must be a dict with start and end, got {rng!r}")
            network, first, last = pool_bounds(dict(rng, subnet=spec["subnet"]), rpath)
            ranges.append({"start": str(first), "end": str(last), "size": int(last) - int(first) + 1})
            spans.append({"name": rpath, "start": str(first), "end": str(last)})
        if network is None:
            network = _network(f"{path}.subnet", spec["subnet"])
        hosts = []
        hosts_in = spec.get("hosts") or {}
        if not isinstance(hosts_in, dict):
            _fail(f"{path}.hosts", f"must be a dict of reservations keyed by name, got {hosts_in!r}")
        for host_name in sorted(hosts_in):
            res = hosts_in[host_name]
            hpath = f"{path}.hosts.{host_name}"
            mac, ip = reservation(hpath, res, seen_macs, seen_ips)
            if ip not in network:
                _fail(f"{hpath}.ip", f"{ip} is outside the subnet {network.cidr}")
            for rng in ranges:
                if in_range(ip, rng["start"], rng["end"]):
                    _fail(f"{hpath}.ip", f"{ip} is inside the dynamic range {rng['start']}-{rng['end']}: "
                                         f"reserve it outside the pools, or two clients may get it")
            hosts.append({"name": host_name, "mac": mac, "ip": str(ip)})
        result.append({
            "name": name,
            "subnet": str(network.cidr),
            "network": str(network.network),
            "netmask": str(network.netmask),
            "ranges": ranges,
            "routers": _addresses(f"{path}.routers", spec.get("routers"), network),
            "dns_servers": _addresses(f"{path}.dns_servers", spec.get("dns_servers")),
            "domain_name": spec.get("domain_name") or "",
            "default_lease_time": _lifetime(f"{path}.default_lease_time", spec.get("default_lease_time")),
            "max_lease_time": _lifetime(f"{path}.max_lease_time", spec.get("max_lease_time")),
            "hosts": hosts,
        })
    check_disjoint(spans, var)
    networks = [(s["name"], netaddr.IPNetwork(s["subnet"])) for s in result]
    for i, (n1, net1) in enumerate(networks):
        for n2, net2 in networks[i + 1:]:
            if net1.first <= net2.last and net2.first <= net1.last:
                _fail(f"{var}.{n2}.subnet", f"{net2.cidr} overlaps {var}.{n1}.subnet {net1.cidr}")
    return result


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
        parts = split_pool({"subnet": "0.0.0.0/0", "start": rng["start"], "end": rng["end"]}, len(names),
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
        value = peer.get("port", settings.get("port", 647))
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            _fail(f"{var}.{peer['host']}.port", f"must be a port number 1-65535, got {value!r}")
        return value

    primary = peers[0]
    mclt = primary.get("mclt", settings.get("mclt", 3600))
    if isinstance(mclt, bool) or not isinstance(mclt, int) or mclt < 1:
        _fail("dhcpd_failover_mclt", f"must be a number of seconds >= 1, got {mclt!r}")
    hba = primary.get("hba", settings.get("hba")) or ""
    split = primary.get("split", settings.get("split", 128))
    split_path = f"{var}.{primary['host']}.split" if "split" in primary else "dhcpd_failover_split"
    if hba:
        hex_bytes = str(hba).split(":")
        if len(hex_bytes) != 32 or any(len(b) != 2 or any(c not in "0123456789abcdefABCDEF" for c in b)
                                       for b in hex_bytes):
            _fail("dhcpd_failover_hba", "must be 32 colon-separated hex bytes (a 256-bit bitmap)")
    elif isinstance(split, bool) or not isinstance(split, int) or not 0 <= split <= 256:
        _fail(split_path, f"must be a whole number from 0 to 256 (the primary's share of 256 "
                          f"hash buckets), got {split!r}")
    for key, low, high in (("max_response_delay", 1, 3600), ("max_unacked_updates", 1, 1000),
                           ("load_balance_max_seconds", 0, 3600)):
        value = settings.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            _fail(f"dhcpd_failover_{key}", f"must be a whole number from {low} to {high}, got {value!r}")
    result = {
        "name": settings.get("name", "dhcp"),
        "role": "primary" if me["primary"] else "secondary",
        "address": address_of(me),
        "port": port_of(me),
        "peer_address": address_of(partner),
        "peer_port": port_of(partner),
        "max_response_delay": settings["max_response_delay"],
        "max_unacked_updates": settings["max_unacked_updates"],
        "load_balance_max_seconds": settings["load_balance_max_seconds"],
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


KEA_ROLES = {"hot-standby": ("primary", "standby"), "load-balancing": ("primary", "secondary")}


def kea_ha(peers, host, addresses, settings, var="kea_ha_peers"):
    """The HA hook parameters of `host` for Kea (one relationship, two peers).

    peers: the output of pair_peers (server names are the inventory hostnames);
    addresses: {host: address}; settings: {mode, port, heartbeat_delay,
    max_response_delay, max_ack_delay, max_unacked_clients} and optionally
    peer_port and dedicated_listener. `port` is the control agent's; peer URLs use
    `peer_port` (default: `port`, the partner's HA hook goes through the control
    agent). With `dedicated_listener` (Kea 2.6: the HA hook runs its own HTTP
    listener on this server's URL) the peer URLs must not be the control agent's
    address and port. A peer's `url` or `address` setting overrides the derived URL.
    """
    mode = settings.get("mode")
    if mode not in KEA_ROLES:
        _fail("kea_ha_mode", f"must be one of {sorted(KEA_ROLES)}, got {mode!r}")
    names = [p["host"] for p in peers]
    if host not in names:
        _fail(var, f"{host} is not one of the pair {names}")
    port = settings.get("port", 8000)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        _fail("kea_ha_api_port", f"must be a port number 1-65535, got {port!r}")
    dedicated = bool(settings.get("dedicated_listener", False))
    peer_port = settings.get("peer_port", port)
    if isinstance(peer_port, bool) or not isinstance(peer_port, int) or not 1 <= peer_port <= 65535:
        _fail("kea_ha_peer_port", f"must be a port number 1-65535, got {peer_port!r}")
    if dedicated and peer_port == port:
        _fail("kea_ha_peer_port", f"({peer_port}) must differ from kea_ha_api_port ({port}): the HA hook "
                                  f"listens on it itself, next to the control agent")
    timers = {}
    for key in ("heartbeat_delay", "max_response_delay", "max_ack_delay", "max_unacked_clients"):
        value = settings.get(key)
        low = 0 if key == "max_unacked_clients" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            _fail(f"kea_ha_{key}", f"must be a whole number >= {low}, got {value!r}")
        timers[key] = value
    if timers["max_response_delay"] <= timers["heartbeat_delay"]:
        _fail("kea_ha_max_response_delay", f"({timers['max_response_delay']} ms) must be greater than "
                                           f"kea_ha_heartbeat_delay ({timers['heartbeat_delay']} ms)")
    result_peers, me = [], None
    for peer, role in zip(peers, KEA_ROLES[mode]):
        address = peer.get("address") or (addresses or {}).get(peer["host"])
        url = peer.get("url")
        path = f"{var}.{peer['host']}.address"
        if not url:
            if not address:
                _fail(path, f"no address for {peer['host']}: give one, or gather its facts")
            url = f"http://{_address(path, address)}:{peer_port}/"
        elif dedicated and address and _url_endpoint(url) == (str(_address(path, address)), port):
            _fail(f"{var}.{peer['host']}.url", f"{url} is the control agent's address and port "
                                               f"(kea_ha_api_port): the HA hook needs a port of its own")
        entry = {"name": peer["host"], "url": url, "role": role, "address": str(address or "")}
        result_peers.append(entry)
        if peer["host"] == host:
            me = entry
    partner = next(p for p in result_peers if p["name"] != host)
    return dict(timers, mode=mode, this_server_name=host, role=me["role"], address=me["address"],
                partner_address=partner["address"], dedicated_listener=dedicated, peers=result_peers)


def _url_endpoint(url):
    """(host, port) of an http(s) URL, the port defaulting to the scheme's."""
    parts = urlsplit(str(url))
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.hostname or "", port or (443 if parts.scheme == "https" else 80)
