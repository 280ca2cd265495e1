# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of the dnsmasq role's DNS data that dnsmasq itself skips silently or refuses only
at start, after the other files were rewritten: a host record whose address is not an
address (dnsmasq logs "bad address" and drops the line), a name that is not a DNS name, an
upstream server that loops back into the cluster, a cache size it clamps, a lease time it
refuses or raises to two minutes. Each error names the variable and the bad item.
"""

from __future__ import annotations

import re

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.netaddr_import import netaddr
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.variant_wiring import vrrp_vips

_LABEL = r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)"
_NAME = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
# dnsmasq's lease time: a number of seconds, minutes, hours, days or weeks, or "infinite"
_LEASE = re.compile(r"^([0-9]+)([smhdw]?)$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# dnsmasq raises shorter lease times to two minutes without a word
MIN_LEASE_SECONDS = 120
# dnsmasq clamps a larger cache-size to this without a word (option.c)
MAX_CACHE_SIZE = 5000000
# a dhcp-option: optional tag:/encap:/vi-encap:/vendor: prefixes, then option:NAME, option6:NAME
# or a number, then the value(s)
_DHCP_OPTION = re.compile(r"^((tag|encap|vi-encap|vendor):[^,]+,)*(option6?:[A-Za-z0-9+-]+|[0-9]+)(,.*)?$")
# dnsmasq always listens here: an upstream on it asks itself
LOOPBACK = ("127.0.0.1", "::1")


class DnsDataError(ValueError):
    """A problem in the DNS data, with the variable it is about."""


def _fail(path, msg):
    raise DnsDataError(f"{path}: {msg}")


def dns_name(path, value):
    """value as a DNS name (letters, digits, '-' and '_' in labels of 1-63, 253 in all)."""
    text = str(value).rstrip(".") if isinstance(value, str) else None
    if not text or len(text) > 253 or not _NAME.match(text):
        _fail(path, f"{value!r} is not a DNS name (labels of letters, digits, '-' and '_', "
                    f"1-63 characters each, joined by dots)")
    return text


def _address(path, value):
    try:
        return str(netaddr.IPAddress(str(value).strip()))
    except (netaddr.AddrFormatError, ValueError, TypeError):
        _fail(path, f"{value!r} is not an IP address (dnsmasq would drop the line)")


def lease_time(path, value):
    """A dnsmasq lease time: "infinite" or a number with an optional unit s, m, h, d, w, of
    at least two minutes."""
    text = str(value).strip().lower()
    if text == "infinite":
        return text
    match = _LEASE.match(text) if not isinstance(value, bool) else None
    if not match:
        _fail(path, f"{value!r} is not a dnsmasq lease time: a number of seconds with an optional "
                    f"unit s, m, h, d or w (e.g. 12h), or 'infinite'")
    seconds = int(match.group(1)) * _UNIT[match.group(2)]
    if seconds < MIN_LEASE_SECONDS:
        _fail(path, f"{value} is shorter than dnsmasq's minimum of two minutes (it would hand out "
                    f"2m leases instead)")
    return text


def cluster_addresses(peers, hostvars, listen_addresses=()):
    """{address: what it is} of the DNS group itself: each peer's own addresses (the facts
    __dnsmasq_address and __dnsmasq_address6 the role sets), its extra listen addresses and its
    VRRP VIPs, and this node's listen_addresses."""
    cluster = {}

    def add(value, what):
        try:
            cluster.setdefault(str(netaddr.IPAddress(str(value).split("/", 1)[0].strip())), what)
        except (netaddr.AddrFormatError, ValueError, TypeError):
            pass  # refused by name elsewhere

    for address in listen_addresses or []:
        add(address, "a listen address of dnsmasq (dnsmasq_extra_listen_addresses)")
    for peer in peers or []:
        peer_vars = (hostvars or {}).get(peer) or {}
        for key in ("__dnsmasq_address", "__dnsmasq_address6"):
            if peer_vars.get(key):
                add(peer_vars[key], f"the own address of the DNS group's member {peer}")
        for address in peer_vars.get("dnsmasq_extra_listen_addresses") or []:
            add(address, f"a listen address of {peer} (dnsmasq_extra_listen_addresses)")
        for address in vrrp_vips(peer_vars):
            add(address, f"a VIP of the DNS group's member {peer}")
    return cluster


def dnsmasq_data(host_records, cnames=None, ptr_records=None, upstream_servers=(), peers=(), hostvars=None,
                 listen_addresses=(), cache_size=1000, domain="", pools=(), dhcp_hosts=(), dhcp_options=()):
    """Check the dnsmasq role's DNS data; returns the upstream servers.

    peers, hostvars, listen_addresses: the DNS group (cluster_addresses): an upstream server
    among its addresses loops queries back into the cluster. pools / dhcp_hosts:
    dnsmasq_dhcp_pools and dnsmasq_dhcp_hosts, for the lease times and the reservations'
    names (the rest is dhcp_plan's). dhcp_options: dnsmasq_dhcp_options, each in dnsmasq's
    dhcp-option syntax.
    """
    if domain:
        dns_name("dnsmasq_domain", domain)
    if not isinstance(host_records, dict):
        _fail("dnsmasq_host_records", f"must be a dict of name to address(es), got {host_records!r}")
    for name, addresses in host_records.items():
        path = f"dnsmasq_host_records.{name}"
        dns_name(path, name)
        items = [addresses] if isinstance(addresses, str) else addresses
        if not isinstance(items, list) or not items:
            _fail(path, f"must be an address or a list of addresses, got {addresses!r}")
        for index, address in enumerate(items):
            _address(path if isinstance(addresses, str) else f"{path}[{index}]", address)
    for var, mapping in (("dnsmasq_cnames", cnames), ("dnsmasq_ptr_records", ptr_records)):
        if not isinstance(mapping or {}, dict):
            _fail(var, f"must be a dict of name to name, got {mapping!r}")
        for name, target in (mapping or {}).items():
            dns_name(f"{var}.{name}", name)
            dns_name(f"{var}.{name}", target)
    local = {str(n).rstrip(".").lower() for n in host_records} | {str(n).rstrip(".").lower() for n in cnames or {}}
    local |= {str(h["name"]).lower() for h in dhcp_hosts or [] if isinstance(h, dict) and h.get("name")}
    if domain:
        suffix = "." + str(domain).rstrip(".").lower()
        local |= {n[:-len(suffix)] for n in local if n.endswith(suffix)} | {n + suffix for n in local}
    for alias, target in (cnames or {}).items():
        if str(target).rstrip(".").lower() not in local:
            _fail(f"dnsmasq_cnames.{alias}", f"{target} is no local name (dnsmasq_host_records, "
                                             f"dnsmasq_dhcp_hosts, dnsmasq_cnames): dnsmasq answers a "
                                             f"CNAME only for a target it knows")
    cluster = cluster_addresses(peers, hostvars, listen_addresses)
    for address in LOOPBACK:
        cluster.setdefault(address, "where dnsmasq itself listens")
    servers = []
    for index, server in enumerate(upstream_servers or []):
        path = f"dnsmasq_upstream_servers[{index}]"
        address = _address(path, server)
        if address in cluster:
            _fail(path, f"{address} is {cluster[address]}: the cluster would forward queries to itself")
        servers.append(address)
    if isinstance(cache_size, str) and cache_size.strip().isdigit():
        cache_size = int(cache_size)  # an extra var given as -e dnsmasq_cache_size=2000
    if isinstance(cache_size, bool) or not isinstance(cache_size, int) or \
            not 0 <= cache_size <= MAX_CACHE_SIZE:
        _fail("dnsmasq_cache_size", f"must be a number of entries from 0 to {MAX_CACHE_SIZE} (dnsmasq "
                                    f"clamps others silently), got {cache_size!r}")
    for index, pool in enumerate(pools or []):
        if isinstance(pool, dict) and "lease_time" in pool:
            lease_time(f"dnsmasq_dhcp_pools[{index}].lease_time", pool["lease_time"])
    for index, host in enumerate(dhcp_hosts or []):
        if isinstance(host, dict) and host.get("name"):
            dns_name(f"dnsmasq_dhcp_hosts[{index}].name", host["name"])
    for index, option in enumerate(dhcp_options or []):
        if not isinstance(option, str) or not _DHCP_OPTION.match(option):
            _fail(f"dnsmasq_dhcp_options[{index}]", f"{option!r} is not in dnsmasq's dhcp-option syntax: "
                                                    f"[tag:NAME,]option:NAME,VALUE or NUMBER,VALUE, e.g. "
                                                    f"option:ntp-server,10.0.0.1 (dnsmasq --test would refuse it "
                                                    f"after the other files were rewritten)")
    return servers
