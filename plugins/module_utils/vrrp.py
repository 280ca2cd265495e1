# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolve and cross-check VRRP instances across the peers of a keepalived cluster.

Every peer carries the same instance definitions (group_vars); what differs per
node (priority, state, unicast source and peers) is derived from the position
of the node in the peer list, unless a node sets it explicitly. The checks here
are the ones keepalived itself does not make, or makes silently:
mismatched virtual_router_id, equal priorities, a truncated auth_pass, a VIP
outside the interface's subnet, IPv4 and IPv6 VIPs mixed in one instance (keepalived
runs one address family per instance), an IPv6 VIP with VRRP version 2 or a link-local
one anywhere but first beside global ones, the same VIP in two instances, a VIP that is a
member's own address (or any inventory host's lab address or ansible_host).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.netaddr_import import netaddr

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.inventory_checks import int_in

VAR = "keepalived_instances"

INSTANCE_KEYS = {
    "interface", "virtual_router_id", "priority", "state", "master", "priority_base",
    "priority_step", "version", "advert_int", "authentication", "virtual_ipaddresses",
    "virtual_routes", "unicast", "unicast_src_ip", "unicast_peers", "track_interfaces",
    "track_scripts", "track_processes", "track_files", "nopreempt", "preempt_delay", "garp_master_delay",
    "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify",
    "extra_options",
}
VIP_KEYS = {"address", "dev", "label", "brd", "scope", "preferred_lft"}
STATES = ("MASTER", "BACKUP")


class VrrpError(ValueError):
    """A problem in the inventory, with the variable it is about."""


def _fail(path, msg):
    raise VrrpError(f"{path}: {msg}")


def _int_in(path, value, low, high):
    return int_in(path, value, low, high, VrrpError)


def _advert_int(path, value, version):
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        _fail(path, f"must be a number of seconds, got {value!r}")
    if version == 2:
        if number != number.to_integral_value() or not 1 <= number <= 255:
            _fail(path, f"must be a whole number of seconds from 1 to 255 with version 2 "
                        f"(fractions need version 3), got {value}")
        return int(number)
    if number * 100 != (number * 100).to_integral_value() or not Decimal("0.01") <= number <= Decimal("40.95"):
        _fail(path, f"must be from 0.01 to 40.95 in steps of 0.01 with version 3, got {value}")
    return float(number) if number != number.to_integral_value() else int(number)


def interface_networks(facts, interface, family=4):
    """IPv4 (family 4) or global IPv6 (family 6) networks configured on an interface,
    from Ansible facts (None: no facts). Link-local IPv6 addresses are left out."""
    if not facts:
        return None
    iface = facts.get(interface.replace("-", "_").replace(".", "_")) or {}
    addresses = []
    if family == 6:
        for entry in iface.get("ipv6") or []:
            if entry and entry.get("address") and entry.get("scope", "global") != "link":
                network = netaddr.IPNetwork(f"{entry['address']}/{entry.get('prefix', 128)}")
                if not network.ip.is_link_local():
                    addresses.append(network)
        return addresses
    for entry in [iface.get("ipv4")] + list(iface.get("ipv4_secondaries") or []):
        if entry and entry.get("address") and entry.get("netmask"):
            addresses.append(netaddr.IPNetwork(f"{entry['address']}/{entry['netmask']}"))
    return addresses


def own_addresses(hostvars, peers):
    """{address: owner} of the addresses hosts hold themselves, which no VIP may take: every
    interface's primary IPv4 address of each peer (from its facts), the peers' explicit unicast
    sources, and every inventory host's lab_addresses, lab_addresses6 and ansible_host (when
    an IP address). A VIP the master holds is a secondary address, never the primary one."""
    owned = {}

    def add(value, owner):
        try:
            address = str(netaddr.IPAddress(str(value).split("/", 1)[0].strip()))
        except (netaddr.AddrFormatError, ValueError, TypeError):
            return
        owned.setdefault(address, owner)

    for peer in peers:
        peer_vars = hostvars.get(peer) or {}
        facts = peer_vars.get("ansible_facts") or {}
        for iface in facts.get("interfaces") or []:
            entry = (facts.get(iface.replace("-", "_").replace(".", "_")) or {}).get("ipv4") or {}
            if entry.get("address"):
                add(entry["address"], f"{peer}'s own address on {iface}")
        for key in ("keepalived_unicast_src_ip", "keepalived_unicast_src_ip6"):
            if peer_vars.get(key):
                add(peer_vars[key], f"{peer}'s {key}")
    for name in list(hostvars.keys()):
        host_vars = hostvars.get(name) or {}
        for key in ("lab_addresses", "lab_addresses6", "ansible_host"):
            try:
                value = host_vars.get(key)
            except Exception:  # pylint: disable=broad-except  # a variable of another host that does not template
                continue
            if key == "ansible_host":
                add(value, f"{name}'s ansible_host")
            elif isinstance(value, dict):
                for network, address in value.items():
                    add(address, f"{name}'s {key}.{network}")
    return owned


def _host_address(name, facts, interface, explicit, path, family=4, vips=()):
    if explicit:
        address = netaddr.IPAddress(explicit)
        if address.version != family:
            _fail(path, f"{explicit} (the unicast source of {name}) is IPv{address.version}, the "
                        f"instance's VIPs are IPv{family}")
        return str(address)
    networks = interface_networks(facts, interface, family)
    if networks is not None:
        # the current master has the VIPs on the interface too (IPv6 lists them in no fixed
        # order): a peer's own address is never one of them
        networks = [net for net in networks if str(net.ip) not in vips]
    if networks is None:
        _fail(path, f"no facts for host {name}: gather facts on every peer (do not --limit "
                    f"the peers away) or set keepalived_unicast_src_ip"
                    f"{'6' if family == 6 else ''} on it")
    if not networks:
        _fail(path, f"host {name} has no {'global IPv6' if family == 6 else 'IPv4'} address on "
                    f"interface {interface}")
    return str(networks[0].ip)


def _preferred_lft(path, value, address):
    """An IPv6 VIP's preferred lifetime: 0 deprecates it (the node never picks it as the
    source of its own connections, yet it answers on it), "forever" keeps it preferred."""
    if address.version != 6:
        _fail(path, f"is for IPv6 VIPs only, {address.ip} is IPv4 (IPv4 has primary and secondary addresses instead)")
    if value == "forever":
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2 ** 32 - 2:
        _fail(path, f"must be a number of seconds (0 deprecates the VIP) or 'forever', got {value!r}")
    return value


def _vips(path, vips, interface):
    if not isinstance(vips, list) or not vips:
        _fail(path, "needs at least one virtual IP address")
    result = []
    for index, vip in enumerate(vips):
        item_path = f"{path}[{index}]"
        if isinstance(vip, str):
            vip = {"address": vip}
        if not isinstance(vip, dict) or "address" not in vip:
            _fail(item_path, f"must be an address or a dict with 'address', got {vip!r}")
        unknown = set(vip) - VIP_KEYS
        if unknown:
            _fail(item_path, f"unknown keys {sorted(unknown)}; allowed: {sorted(VIP_KEYS)}")
        try:
            address = netaddr.IPNetwork(str(vip["address"]))
        except (netaddr.AddrFormatError, ValueError):
            _fail(item_path, f"{vip['address']!r} is not an IP address")
        if address.version == 6 and address.ip.is_link_local():
            # RFC 5798 5.2.9: an IPv6 virtual router's first address is its link-local one, the
            # address routers advertise (RAs) and hosts use as default router. Allowed there and
            # only beside a global VIP; anywhere else it serves nobody.
            if index != 0 or len(vips) < 2:
                _fail(item_path, f"{address.ip} is link-local: allowed only as the first of an IPv6 "
                                 f"instance's VIPs, followed by its global ones (RFC 5798's virtual "
                                 f"router address for router advertisements); clients off the link "
                                 f"cannot reach fe80::/10, use a ULA or global address")
            if address.prefixlen != 64 and "/" in str(vip["address"]):
                _fail(item_path, f"{address} must be fe80::/64 like every link-local address")
        if address.ip.is_multicast() or int(address.ip) == 0:
            _fail(item_path, f"{address.ip} is not a unicast address a node can hold")
        entry = dict(vip)
        if "preferred_lft" in vip:
            entry["preferred_lft"] = _preferred_lft(f"{item_path}.preferred_lft", vip["preferred_lft"], address)
        entry["address"] = str(address) if "/" in str(vip["address"]) else str(address.ip)
        entry["ip"] = str(address.ip)
        entry["family"] = address.version
        entry.setdefault("dev", interface)
        result.append(entry)
    families = sorted({entry["family"] for entry in result})
    if len(families) > 1:
        _fail(path, "mixes IPv4 and IPv6 addresses: keepalived runs one address family per "
                    "instance; put the IPv6 VIPs in an instance of their own and both instances "
                    "in a keepalived_sync_groups entry if they must move together")
    return result


def _normalise(name, raw, defaults, path):
    if not isinstance(raw, dict):
        _fail(path, f"must be a dict of instance settings, got {type(raw).__name__}")
    inst = dict(defaults or {})
    inst.update(raw)
    unknown = set(inst) - INSTANCE_KEYS
    if unknown:
        _fail(path, f"unknown keys {sorted(unknown)}; allowed: {sorted(INSTANCE_KEYS)}")
    if not inst.get("interface"):
        _fail(f"{path}.interface", "is required")
    inst["version"] = _int_in(f"{path}.version", inst.get("version", 3), 2, 3)
    inst["virtual_router_id"] = _int_in(f"{path}.virtual_router_id",
                                        inst.get("virtual_router_id"), 1, 255)
    inst["advert_int"] = _advert_int(f"{path}.advert_int", inst.get("advert_int", 1),
                                     inst["version"])
    auth = inst.get("authentication")
    if auth:
        if inst["version"] == 3:
            _fail(f"{path}.authentication",
                  "VRRP version 3 has no authentication (RFC 5798); remove it or use version 2")
        auth_type = str(auth.get("auth_type", "PASS")).upper()
        if auth_type not in ("PASS", "AH"):
            _fail(f"{path}.authentication.auth_type", f"must be PASS or AH, got {auth_type}")
        password = str(auth.get("auth_pass", ""))
        if not 1 <= len(password) <= 8:
            _fail(f"{path}.authentication.auth_pass",
                  f"must be 1 to 8 characters (keepalived silently truncates longer ones), "
                  f"got {len(password)}")
        inst["authentication"] = {"auth_type": auth_type, "auth_pass": password}
    inst["virtual_ipaddresses"] = _vips(f"{path}.virtual_ipaddresses",
                                        inst.get("virtual_ipaddresses"), inst["interface"])
    inst["family"] = inst["virtual_ipaddresses"][0]["family"]
    if inst["family"] == 6 and inst["version"] == 2:
        _fail(f"{path}.version", "must be 3 for IPv6 VIPs: VRRP version 2 carries IPv4 only")
    inst["nopreempt"] = bool(inst.get("nopreempt", False))
    for key in ("track_interfaces", "track_scripts", "track_processes", "track_files", "virtual_routes",
                "extra_options"):
        value = inst.get(key) or []
        if not isinstance(value, list):
            _fail(f"{path}.{key}", f"must be a list, got {value!r}")
        inst[key] = value
    return inst


def resolve_instances(host, instances, peers, hostvars, defaults=None, scripts=(),
                      processes=(), notify=None, files=()):
    """Return this host's instances, fully resolved, or raise VrrpError.

    host: this node's inventory name; instances: its keepalived_instances;
    peers: inventory names of the VRRP cluster, in priority order;
    hostvars: the peers' variables (keepalived_instances, ansible_facts,
    keepalived_unicast_src_ip); scripts/processes/files: names of the defined
    vrrp_script / vrrp_track_process / vrrp_track_file blocks; notify: the default notify script.
    """
    peers = list(peers or [])
    if host not in peers:
        _fail("keepalived_peers", f"{host} is not in the peer list {peers}")
    if len(set(peers)) != len(peers):
        _fail("keepalived_peers", f"lists a host twice: {peers}")
    if not isinstance(instances, dict):
        _fail(VAR, "must be a dict keyed by instance name")
    resolved = {}
    vrids = {}
    claimed = {}
    owned = None
    all_vips = set()
    for name, raw in instances.items():
        if isinstance(raw, dict):
            for vip in raw.get("virtual_ipaddresses") or []:
                address = vip.get("address") if isinstance(vip, dict) else vip
                try:
                    all_vips.add(str(netaddr.IPNetwork(str(address)).ip))
                except (netaddr.AddrFormatError, ValueError, TypeError):
                    pass  # refused by name when the instance is normalised
    for name, raw in sorted(instances.items()):
        path = f"{VAR}.{name}"
        mine = _normalise(name, raw, defaults, path)
        per_peer = {}
        for peer in peers:
            if peer == host:
                per_peer[peer] = mine
                continue
            peer_vars = hostvars.get(peer) or {}
            peer_instances = peer_vars.get(VAR) or {}
            if name not in peer_instances:
                _fail(path, f"is defined on {host} but not on its peer {peer}")
            per_peer[peer] = _normalise(name, peer_instances[name],
                                        peer_vars.get("keepalived_instance_defaults", defaults),
                                        f"{path} (on {peer})")
        for key in ("virtual_router_id", "version", "advert_int", "authentication"):
            values = {peer: per_peer[peer].get(key) for peer in peers}
            if len({repr(v) for v in values.values()}) > 1:
                shown = values if key != "authentication" else "(differs)"
                _fail(f"{path}.{key}", f"must be the same on all peers, got {shown}")
        if owned is None:
            owned = own_addresses(hostvars, peers)
        for vip in mine["virtual_ipaddresses"]:
            if vip["ip"] in owned:
                _fail(f"{path}.virtual_ipaddresses", f"{vip['ip']} is {owned[vip['ip']]}: a VIP must be "
                                                     f"an address no host holds itself")
        vips = {peer: sorted(v["ip"] for v in per_peer[peer]["virtual_ipaddresses"])
                for peer in peers}
        if len({tuple(v) for v in vips.values()}) > 1:
            _fail(f"{path}.virtual_ipaddresses", f"must be the same on all peers, got {vips}")

        # VRRPv3 keeps the router ids of IPv4 and IPv6 apart (RFC 5798 5.2.3)
        vrid_key = (mine["interface"], mine["family"], mine["virtual_router_id"])
        if vrid_key in vrids:
            _fail(f"{path}.virtual_router_id", f"{mine['virtual_router_id']} is already used "
                                               f"by {vrids[vrid_key]} on {mine['interface']} "
                                               f"for IPv{mine['family']}")
        vrids[vrid_key] = name
        for vip in mine["virtual_ipaddresses"]:
            if vip["ip"] in claimed:
                _fail(f"{path}.virtual_ipaddresses", f"{vip['ip']} is already a VIP of "
                                                     f"{claimed[vip['ip']]}: one address, one instance")
            claimed[vip["ip"]] = name

        master = mine.get("master", peers[0])
        if master not in peers:
            _fail(f"{path}.master", f"{master} is not one of the peers {peers}")
        order = [master] + [p for p in peers if p != master]
        base = _int_in(f"{path}.priority_base", mine.get("priority_base", 150), 2, 254)
        step = _int_in(f"{path}.priority_step", mine.get("priority_step", 10), 1, 100)
        priorities, states = {}, {}
        for index, peer in enumerate(order):
            inst = per_peer[peer]
            where = path if peer == host else f"{path} (on {peer})"
            priorities[peer] = _int_in(f"{where}.priority", inst.get("priority", base - step * index),
                                       1, 254)
            state = str(inst.get("state") or ("BACKUP" if inst["nopreempt"] or index else "MASTER"))
            if state.upper() not in STATES:
                _fail(f"{where}.state", f"must be MASTER or BACKUP, got {state}")
            states[peer] = state.upper()
            if inst["nopreempt"] and states[peer] != "BACKUP":
                _fail(f"{where}.nopreempt", "needs state BACKUP (keepalived ignores nopreempt "
                                            "on a MASTER)")
        if len(set(priorities.values())) != len(priorities):
            _fail(f"{path}.priority", f"must differ between peers, got {priorities}")

        facts = (hostvars.get(host) or {}).get("ansible_facts")
        for vip in mine["virtual_ipaddresses"]:
            if netaddr.IPAddress(vip["ip"]).is_link_local():
                continue  # the virtual router's link-local address: on every IPv6 link
            dev_networks = interface_networks(facts, vip["dev"], vip["family"])
            if dev_networks is None:
                continue  # no facts gathered: nothing to compare with
            if not any(netaddr.IPAddress(vip["ip"]) in net for net in dev_networks):
                have = ", ".join(str(n.cidr) for n in dev_networks) or (
                    "no global IPv6 address" if vip["family"] == 6 else "no IPv4 address")
                _fail(f"{path}.virtual_ipaddresses", f"{vip['ip']} is not inside the subnet of "
                                                     f"{vip['dev']} on {host} ({have})")

        for key, known, what in (("track_scripts", scripts, "keepalived_vrrp_scripts"),
                                 ("track_processes", processes, "keepalived_track_processes"),
                                 ("track_files", files, "keepalived_track_files")):
            for item in mine[key]:
                item_name = item.get("name") if isinstance(item, dict) else item
                if item_name not in set(known):
                    _fail(f"{path}.{key}", f"{item_name} is not defined in {what}")

        unicast_peers = None
        unicast_src = None
        if mine.get("unicast") or mine.get("unicast_peers"):
            addresses = {}
            for peer in peers:
                peer_vars = hostvars.get(peer) or {}
                host_src = "keepalived_unicast_src_ip6" if mine["family"] == 6 else "keepalived_unicast_src_ip"
                src_ip = per_peer[peer].get("unicast_src_ip") or peer_vars.get(host_src)
                addresses[peer] = _host_address(peer, peer_vars.get("ansible_facts"),
                                                per_peer[peer]["interface"], src_ip,
                                                f"{path}.unicast_peers", mine["family"], all_vips)
            unicast_src = addresses[host]
            others = [addresses[p] for p in peers if p != host]
            if mine.get("unicast_peers"):
                given = [str(netaddr.IPAddress(a)) for a in mine["unicast_peers"]]
                if any(netaddr.IPAddress(a).version != mine["family"] for a in given):
                    _fail(f"{path}.unicast_peers", f"must be IPv{mine['family']} addresses like "
                                                   f"the instance's VIPs, got {sorted(given)}")
                if sorted(given) != sorted(others):
                    _fail(f"{path}.unicast_peers", f"must be the other members' addresses "
                                                   f"{sorted(others)}, got {sorted(given)}")
            unicast_peers = others

        inst = dict(mine)
        inst.pop("master", None)
        inst.pop("unicast", None)
        inst.update(name=name, priority=priorities[host], state=states[host],
                    unicast_src_ip=unicast_src, unicast_peers=unicast_peers)
        if notify and not inst.get("notify"):
            inst["notify"] = notify
        resolved[name] = inst
    return resolved
