# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DHCP pool arithmetic: split one pool into disjoint parts, check ranges and reservations.

IPv4 and IPv6 (DHCPv6) pools are split the same way; a range's family follows its subnet.
"""

from __future__ import annotations

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.netaddr_import import netaddr


# dnsmasq refuses a DHCPv6 range on a prefix shorter than /64
DHCP6_MIN_PREFIXLEN = 64


class PoolError(ValueError):
    """A problem in a pool definition, with the variable it is about."""


def _fail(path, msg):
    raise PoolError(f"{path}: {msg}")


def _address(path, value):
    try:
        return netaddr.IPAddress(str(value))
    except (netaddr.AddrFormatError, ValueError):
        _fail(path, f"{value!r} is not an IP address")


def pool_bounds(pool, path="pool"):
    """Check a pool {subnet, start, end} and return (network, first, last)."""
    if not isinstance(pool, dict):
        _fail(path, f"must be a dict with subnet, start and end, got {pool!r}")
    for key in ("subnet", "start", "end"):
        if key not in pool:
            _fail(f"{path}.{key}", "is required")
    try:
        network = netaddr.IPNetwork(str(pool["subnet"]))
    except (netaddr.AddrFormatError, ValueError):
        _fail(f"{path}.subnet", f"{pool['subnet']!r} is not a subnet")
    if network.ip != network.network:
        _fail(f"{path}.subnet", f"{pool['subnet']} has host bits set; did you mean {network.cidr}?")
    first = _address(f"{path}.start", pool["start"])
    last = _address(f"{path}.end", pool["end"])
    for key, addr in (("start", first), ("end", last)):
        if addr not in network:
            _fail(f"{path}.{key}", f"{addr} is outside the subnet {network.cidr}")
        if network.size > 2 and addr in (network.network, network.broadcast):
            _fail(f"{path}.{key}", f"{addr} is the network or broadcast address of {network.cidr}")
    if first > last:
        _fail(path, f"start {first} is after end {last}")
    return network, first, last


def split_pool(pool, parts, path="pool"):
    """Split pool into `parts` contiguous, disjoint ranges covering it exactly.

    The first parts get one address more when the size does not divide evenly.
    Returns a list of dicts {start, end, size}.
    """
    first, last = pool_bounds(pool, path)[1:]
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        _fail(path, f"can only be split into a whole number of parts >= 1, got {parts!r}")
    size = int(last) - int(first) + 1
    if parts > size:
        _fail(path, f"has {size} address(es) ({first}-{last}), too few for {parts} parts")
    base, extra = divmod(size, parts)
    result = []
    start = int(first)
    for index in range(parts):
        length = base + (1 if index < extra else 0)
        result.append({"start": str(netaddr.IPAddress(start, first.version)),
                       "end": str(netaddr.IPAddress(start + length - 1, first.version)),
                       "size": length})
        start += length
    return result


def check_disjoint(ranges, path="ranges"):
    """Fail when two ranges ({name, start, end}) overlap."""
    spans = sorted((_address(path, r["start"]).version, int(_address(path, r["start"])),
                    int(_address(path, r["end"])), r.get("name", "?")) for r in ranges)
    for (v1, s1, e1, n1), (v2, s2, e2, n2) in zip(spans, spans[1:]):
        if v1 == v2 and s2 <= e1:
            _fail(path, f"{n1} ({netaddr.IPAddress(s1, v1)}-{netaddr.IPAddress(e1, v1)}) overlaps "
                        f"{n2} ({netaddr.IPAddress(s2, v2)}-{netaddr.IPAddress(e2, v2)})")


def reservation(path, res, seen_macs, seen_ips):
    """Check one reservation {mac, ip} and that neither was reserved before; returns (mac, ip).

    seen_macs / seen_ips map what was reserved so far to its path; this one is added.
    """
    if not isinstance(res, dict) or "mac" not in res or "ip" not in res:
        _fail(path, f"needs mac and ip, got {res!r}")
    try:
        mac = str(netaddr.EUI(str(res["mac"]), dialect=netaddr.mac_unix_expanded))
    except (netaddr.AddrFormatError, ValueError, TypeError):
        _fail(f"{path}.mac", f"{res['mac']!r} is not a MAC address")
    ip = _address(f"{path}.ip", res["ip"])
    claim(f"{path}.mac", mac, seen_macs, path)
    claim(f"{path}.ip", str(ip), seen_ips, path)
    return mac, ip


def claim(path, value, seen, owner):
    """Record value (a MAC, DUID or address) as reserved by owner; fails at path, naming the
    earlier owner, when it was reserved before."""
    if value in seen:
        _fail(path, f"{value} is reserved twice (also {seen[value]})")
    seen[value] = owner


def in_range(address, start, end):
    value, first = netaddr.IPAddress(str(address)), netaddr.IPAddress(str(start))
    return value.version == first.version and first <= value <= netaddr.IPAddress(str(end))


def dhcp_plan(pools, host, peers, reservations=(), authoritative=False, var="dnsmasq_dhcp_pools",
              hosts_var="dnsmasq_dhcp_hosts"):
    """This node's DHCP ranges and reservations, derived from pools shared by all peers.

    A pool is split among the peers (in peer order) unless it says `split: false`,
    which is allowed for a single server only: two servers handing out the same
    range without a shared lease database would give one address to two clients.
    """
    peers = list(peers or [host])
    if host not in peers:
        _fail("dnsmasq_dhcp_peers", f"{host} is not in the peer list {peers}")
    if not isinstance(pools, list):
        _fail(var, f"must be a list of pools, got {type(pools).__name__}")
    ranges, parts_of, spans = [], [], []
    for index, pool in enumerate(pools):
        path = f"{var}[{index}]"
        network = pool_bounds(pool, path)[0]
        if network.version == 6 and network.prefixlen < DHCP6_MIN_PREFIXLEN:
            _fail(f"{path}.subnet", f"{network.cidr} is shorter than /{DHCP6_MIN_PREFIXLEN}: dnsmasq "
                                    f"serves DHCPv6 ranges on /64 or longer prefixes only")
        split = pool.get("split", True)
        if not split and len(peers) > 1:
            _fail(f"{path}.split", f"false with {len(peers)} DHCP servers would hand out one "
                                   f"address twice: split the pool (the default)")
        parts = split_pool(pool, len(peers), path) if split else [
            {"start": str(pool["start"]), "end": str(pool["end"])}]
        owners = peers if split else [host]
        for owner, part in zip(owners, parts):
            parts_of.append((owner, part, path))
        spans.append({"name": path, "start": pool["start"], "end": pool["end"]})
        mine = parts[owners.index(host)]
        ranges.append({
            "tag": pool.get("tag") or f"pool{index}",
            "start": mine["start"], "end": mine["end"],
            # IPv4: the netmask; IPv6 (dnsmasq's DHCPv6 syntax): the prefix length
            "netmask": str(network.netmask) if network.version == 4 else str(network.prefixlen),
            "lease_time": pool.get("lease_time", "12h"),
            "subnet": str(network.cidr),
            "family": network.version,
        })
        if authoritative and len(peers) > 1:
            _fail("dnsmasq_dhcp_authoritative", f"must be false when {len(peers)} servers split "
                  f"{path}: an authoritative server NAKs clients of the other server's part")
    check_disjoint(spans, var)
    networks = [netaddr.IPNetwork(str(p["subnet"])) for p in pools]
    hosts, seen_macs, seen_ips = [], {}, {}
    for index, res in enumerate(reservations or []):
        path = f"{hosts_var}[{index}]"
        mac, ip = reservation(path, res, seen_macs, seen_ips)
        if ip.version == 6:
            _fail(f"{path}.ip", f"{ip} is IPv6: DHCPv6 clients are known by DUID, not MAC; "
                                f"reservations are IPv4 only (give the host an IPv6 host record "
                                f"outside the pool instead)")
        if not any(ip in net for net in networks):
            _fail(f"{path}.ip", f"{ip} is in none of the pools' subnets "
                                f"{[str(n.cidr) for n in networks]}")
        if len(peers) > 1:
            for owner, part, pool_path in parts_of:
                if in_range(ip, part["start"], part["end"]):
                    _fail(f"{path}.ip", f"{ip} is inside the dynamic range {part['start']}-"
                                        f"{part['end']} of {owner} ({pool_path}): reserve it "
                                        f"outside the pool")
        hosts.append({"mac": mac, "ip": str(ip), "name": res.get("name")})
    return {"ranges": ranges, "hosts": hosts}
