# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wiring of a variant, derived from its intent.

A variant's inventory states what the user wants (the DNS VIP, its VRID, the backends,
the pools and the DNS data); the roles' variables that connect the pieces (keepalived's
instances, track files and check scripts, the proxy's listen address and backends,
dnsmasq's listen addresses on the VIP) follow from it. variant_wiring() returns those
role variables for one host; playbooks/tasks/variant_wiring.yml sets each one the
inventory does not set itself, so an inventory value always wins.
"""

from __future__ import annotations

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.netaddr_import import netaddr
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.vrrp import interface_networks

LIBEXEC = "/usr/local/libexec/hastack"

# The intent variables of each variant: name -> (required, description). The README's
# "Minimal inventories per variant" and the filter's documentation describe the same.
_DNS_VIP = {
    "hastack_dns_vip": (True, "The DNS VIP (an IPv4 address on a subnet of the nodes; "
                              "a /prefix is taken from that subnet unless given)."),
    "hastack_dns_vrid": (True, "The VRRP virtual_router_id of the DNS VIP (1-255, unique on the LAN)."),
    "hastack_dns_vip6": (False, "The DNS VIP's IPv6 address (on an IPv6 prefix of the nodes): "
                                "VRRPv3 instance VI_DNS6 beside VI_DNS, same VRID (VRIDs are per "
                                "address family), same tracking."),
}
_BACKENDS = {
    "hastack_dns_backends": (True, "The DNS backends, a dict of name to address (the proxies reach them "
                                   "over this address for both VIPs: IPv4 backends serve the IPv6 VIP too)."),
    "hastack_dns_check_name": (False, "A name the backends answer, asked by the health checks."),
}
_BACKENDS6 = {
    "hastack_dns_backends6": (False, "The DNS backends' IPv6 addresses, a dict of name to address: needed with "
                                     "hastack_dns_vip6, because the forwarded packet keeps its address family "
                                     "(NAT does not translate IPv4 to IPv6, direct routing rewrites nothing)."),
}
_QUORUM = {
    "hastack_vrrp_quorum_address": (False, "A third party every VRRP node must reach, such as the clients' "
                                           "gateway (an IPv4 or IPv6 address, neither a VIP nor a node): a "
                                           "node that cannot ping it lowers the priority of each of its "
                                           "instances by 100 (vrrp_script chk_quorum), so a node cut off "
                                           "from its clients hands its VIPs to a peer that still reaches "
                                           "it, and a quorum address down for every node moves nothing."),
}
_DHCP_SUBNETS = {
    "hastack_dhcp_subnets": (True, "The DHCP subnets the pair serves, a dict of name to subnet, "
                                   "ranges, options and reservations (the same for both pair variants)."),
}
INTENT = {
    "dnsmasq_active_standby": dict(_DNS_VIP, **_QUORUM),
    "dnsmasq_active_active": {},
    "dnsmasq_split_roles": dict(_DNS_VIP, **_QUORUM, **{
        "hastack_dhcp_vip": (True, "The DHCP VIP, its master is the second node."),
        "hastack_dhcp_vrid": (True, "The VRRP virtual_router_id of the DHCP VIP."),
        "hastack_dhcp_vip6": (False, "The DHCP VIP's IPv6 address: instance VI_DHCP6, same VRID."),
    }),
    "gateway_vrrp": {
        "hastack_lan_vip": (True, "The LAN VIP: the clients' gateway, DNS server and DHCP router option."),
        "hastack_lan_vrid": (True, "The VRRP virtual_router_id of the LAN VIP."),
        "hastack_lan_vip6": (False, "The LAN VIP's IPv6 address: instance VI_LAN6, same VRID, in the "
                                    "gateway's sync group, led by the virtual router's link-local "
                                    "address (fe80::200:5eff:fe00:2XX, XX the VRID in hex) that the "
                                    "master alone sends router advertisements from; the IPv6 DNS "
                                    "server handed out."),
        "hastack_wan_vip": (True, "The upstream VIP, kept on the router that holds the LAN VIP."),
        "hastack_wan_vrid": (True, "The VRRP virtual_router_id of the upstream VIP."),
        "hastack_wan_vip6": (False, "The upstream VIP's IPv6 address (the upstream side's route back "
                                    "to the LAN's IPv6 prefix): instance VI_WAN6 in the sync group."),
    },
    "dns_lb_haproxy": dict(_DNS_VIP, **_BACKENDS, **_QUORUM),
    "dns_lb_nginx": dict(_DNS_VIP, **_BACKENDS, **_QUORUM),
    "dns_lb_dnsdist": dict(_DNS_VIP, **_BACKENDS, **_QUORUM),
    "dns_lb_nftables": dict(_DNS_VIP, hastack_dns_backends=(True, "The DNS backends, a dict of name to "
                                                                  "IPv4 address."), **_BACKENDS6, **_QUORUM),
    "dns_lb_lvs_dr": dict(_DNS_VIP, **_BACKENDS, **_BACKENDS6, **_QUORUM),
    "dhcpd_failover": dict(_DHCP_SUBNETS),
    "kea_ha": dict(_DHCP_SUBNETS),
}


class WiringError(Exception):
    """An intent variable is missing or wrong."""


def _require(hostvars, variant, name):
    value = hostvars.get(name)
    if value is None or value == "":
        raise WiringError(f"{name}: variant {variant} needs it ({INTENT[variant][name][1]})")
    return value


def _vrid(hostvars, variant, name):
    value = _require(hostvars, variant, name)
    try:
        vrid = int(value)
    except (TypeError, ValueError):
        vrid = None
    if vrid is None or isinstance(value, bool) or not 1 <= vrid <= 255:
        raise WiringError(f"{name}: must be an integer from 1 to 255, got {value!r}")
    return vrid


def _networks(facts, family=4):
    """(interface, network) for every IPv4 (or global IPv6) address of the host, from Ansible facts."""
    return [(iface, net) for iface in facts.get("interfaces") or []
            for net in interface_networks(facts, iface, family) or []]


def vip_on(hostvars, variant, name, host="", family=4):
    """The VIP of intent variable name as (address, address/prefix, interface).

    The interface is the one whose subnet holds the VIP, the prefix that subnet's unless
    the variable carries one. family 6: an IPv6 VIP on a global (ULA or public) prefix.
    """
    raw = str(_require(hostvars, variant, name))
    kind = f"IPv{family} address"
    try:
        given = netaddr.IPNetwork(raw)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise WiringError(f"{name}: {raw!r} is not an {kind}") from None
    if given.version != family:
        raise WiringError(f"{name}: {raw!r} is not an {kind}")
    if family == 6 and (given.ip.is_link_local() or given.ip.is_multicast()):
        raise WiringError(f"{name}: {given.ip} is link-local or multicast; the VIP needs a global "
                          f"(ULA or public) address on the nodes' prefix")
    facts = hostvars.get("ansible_facts") or {}
    networks = _networks(facts, family)
    if not networks:
        if family == 6 and _networks(facts):
            raise WiringError(f"{name}: {host or 'the host'} has no global IPv6 address on any "
                              f"interface to find the VIP's prefix")
        raise WiringError(f"{name}: no network facts for {host or 'the host'} to find the VIP's "
                          f"interface (gather facts, subset network)")
    for iface, net in networks:
        # (the master holds the VIP itself too: its address counts as one of the subnet's)
        if given.ip in net:
            prefix = given.prefixlen if "/" in raw else net.prefixlen
            return str(given.ip), f"{given.ip}/{prefix}", iface
    have = ", ".join(f"{iface} {net.cidr}" for iface, net in networks)
    raise WiringError(f"{name}: {given.ip} is not inside the subnet of any interface of "
                      f"{host or 'the host'} ({have})")


def add_vip6(wiring, hostvars, variant, instance, host=""):
    """Add instance+"6", the IPv6 twin of VRRP instance (VI_DNS -> VI_DNS6), when the intent
    sets its IPv6 VIP: same VRID (VRRPv3 keeps one VRID space per address family), same
    tracking and mastership, the VIP's interface from its prefix. Returns the IPv6 VIP
    address (None when the intent has none)."""
    vip_name = INTENT_VIPS[instance + "6"][0]
    if not hostvars.get(vip_name):
        return None
    vip, cidr, iface = vip_on(hostvars, variant, vip_name, host, family=6)
    twin = dict(wiring["keepalived_instances"][instance], interface=iface, virtual_ipaddresses=[cidr])
    wiring["keepalived_instances"][instance + "6"] = twin
    for group in (wiring.get("keepalived_sync_groups") or {}).values():
        if instance in group["group"]:
            group["group"].append(instance + "6")
    return vip


def _backends(hostvars, variant):
    backends = _require(hostvars, variant, "hastack_dns_backends")
    if not isinstance(backends, dict) or not backends:
        raise WiringError("hastack_dns_backends: must be a non-empty dict of name to address")
    return dict(backends)


def _backends6(hostvars, variant):
    """hastack_dns_backends6 as a dict of name to IPv6 address; required with the IPv6 VIP."""
    backends = hostvars.get("hastack_dns_backends6")
    if backends is None or backends == "" or backends == {}:
        raise WiringError(f"hastack_dns_backends6: variant {variant} needs it with hastack_dns_vip6 "
                          f"({INTENT[variant]['hastack_dns_backends6'][1]})")
    if not isinstance(backends, dict):
        raise WiringError(f"hastack_dns_backends6: must be a non-empty dict of name to IPv6 address, "
                          f"got {backends!r}")
    addresses = {}
    for name, raw in backends.items():
        try:
            address = netaddr.IPAddress(str(raw))
        except (netaddr.AddrFormatError, ValueError, TypeError):
            address = None
        if address is None or address.version != 6:
            raise WiringError(f"hastack_dns_backends6.{name}: {raw!r} is not an IPv6 address")
        if address.is_link_local() or address.is_multicast():
            raise WiringError(f"hastack_dns_backends6.{name}: {address} is link-local or multicast; "
                              f"the IPv6 VIP needs the backend's global (ULA or public) address")
        addresses[name] = str(address)
    if len(set(addresses.values())) != len(addresses):
        raise WiringError(f"hastack_dns_backends6: lists an address twice: {list(addresses.values())}")
    return addresses


def _track_file(name, path):
    return {name: {"file": path, "weight": 0, "init_file": 1}}


def _check_script(script):
    """A keepalived vrrp_script that asks the local daemon a real question each second."""
    return {"script": script, "interval": 1, "timeout": 2, "fall": 2, "rise": 2, "weight": -60}


def _instance(vip, iface, vrid, peers, **extra):
    inst = {"interface": iface, "virtual_router_id": vrid, "virtual_ipaddresses": [vip]}
    if len(peers) > 1:
        inst["unicast"] = True
    inst.update(extra)
    return inst


def _dnsmasq_vip(hostvars, variant, peers, host):
    vip, cidr, iface = vip_on(hostvars, variant, "hastack_dns_vip", host)
    vrid = _vrid(hostvars, variant, "hastack_dns_vrid")
    wiring = {
        "dnsmasq_nonlocal_bind": True,
        "dnsmasq_extra_listen_addresses": [vip],
        "dnsmasq_dhcp_dns_servers": [vip],
        "keepalived_track_files": _track_file(
            "dnsmasq_down", hostvars.get("dnsmasq_state_file") or "/run/hastack/dnsmasq.down"),
        "keepalived_vrrp_scripts": {"chk_dns": _check_script(f"{LIBEXEC}/dnsmasq-check-dns")},
        "keepalived_instances": {"VI_DNS": _instance(cidr, iface, vrid, peers,
                                                     track_files=["dnsmasq_down"],
                                                     track_scripts=["chk_dns"])},
    }
    vip6 = add_vip6(wiring, hostvars, variant, "VI_DNS", host)
    if vip6:
        wiring["dnsmasq_extra_listen_addresses"].append(vip6)
        wiring["dnsmasq_dhcp_dns_servers"].append(vip6)
    return wiring


def router_link_local(vrid):
    """The IPv6 virtual router's link-local address: the EUI-64 address of the VRRP virtual
    MAC 00:00:5e:00:02:<vrid> (RFC 5798 7.3), so unique per router id on the link."""
    return str(netaddr.EUI(f"00-00-5e-00-02-{vrid:02x}").ipv6_link_local())


def _split_roles(hostvars, variant, peers, host):
    wiring = _dnsmasq_vip(hostvars, variant, peers, host)
    _vip, cidr, iface = vip_on(hostvars, variant, "hastack_dhcp_vip", host)
    vrid = _vrid(hostvars, variant, "hastack_dhcp_vrid")
    if vrid == wiring["keepalived_instances"]["VI_DNS"]["virtual_router_id"]:
        raise WiringError(f"hastack_dhcp_vrid: {vrid} is hastack_dns_vrid too (each VIP needs its own)")
    wiring["keepalived_vrrp_scripts"]["chk_dhcp"] = _check_script(f"{LIBEXEC}/dnsmasq-check-dhcp")
    extra = {"track_files": ["dnsmasq_down"], "track_scripts": ["chk_dhcp"]}
    if len(peers) > 1:
        extra["master"] = peers[1]
    wiring["keepalived_instances"]["VI_DHCP"] = _instance(cidr, iface, vrid, peers, **extra)
    add_vip6(wiring, hostvars, variant, "VI_DHCP", host)
    return wiring


def _gateway(hostvars, variant, peers, host):
    lan, lan_cidr, lan_iface = vip_on(hostvars, variant, "hastack_lan_vip", host)
    _wan, wan_cidr, wan_iface = vip_on(hostvars, variant, "hastack_wan_vip", host)
    lan_vrid = _vrid(hostvars, variant, "hastack_lan_vrid")
    wan_vrid = _vrid(hostvars, variant, "hastack_wan_vrid")
    if lan_iface == wan_iface:
        raise WiringError(f"hastack_wan_vip: on the LAN VIP's interface {lan_iface}; the upstream "
                          f"VIP belongs on the upstream side")
    wiring = {
        "keepalived_sysctls": {"net.ipv4.ip_forward": 1},
        "dnsmasq_nonlocal_bind": True,
        "dnsmasq_extra_listen_addresses": [lan],
        "dnsmasq_dhcp_router": lan,
        "dnsmasq_dhcp_dns_servers": [lan],
        "keepalived_track_files": _track_file(
            "dnsmasq_down", hostvars.get("dnsmasq_state_file") or "/run/hastack/dnsmasq.down"),
        # both sides move together: the LAN's master is the upstream master
        "keepalived_sync_groups": {"VG_GATEWAY": {"group": ["VI_LAN", "VI_WAN"]}},
        "keepalived_instances": {
            "VI_LAN": _instance(lan_cidr, lan_iface, lan_vrid, peers, track_files=["dnsmasq_down"]),
            "VI_WAN": _instance(wan_cidr, wan_iface, wan_vrid, peers),
        },
    }
    lan6 = add_vip6(wiring, hostvars, variant, "VI_LAN", host)
    if lan6:
        wiring["dnsmasq_extra_listen_addresses"].append(lan6)
        wiring["dnsmasq_dhcp_dns_servers"].append(lan6)
        wiring["keepalived_sysctls"]["net.ipv6.conf.all.forwarding"] = 1
        # the clients' IPv6 default router is the virtual router's link-local address: first
        # VIP of VI_LAN6 (RFC 5798), and the only source dnsmasq may send RAs from, so only
        # the master advertises and the default route moves with the VIPs
        router = router_link_local(lan_vrid)
        lan6_instance = wiring["keepalived_instances"]["VI_LAN6"]
        lan6_instance["virtual_ipaddresses"] = [f"{router}/64", *lan6_instance["virtual_ipaddresses"]]
        wiring["dnsmasq_ra_enabled"] = True
        wiring["dnsmasq_ra_source"] = router
    if hostvars.get("hastack_wan_vip6") and not lan6:
        raise WiringError("hastack_wan_vip6: needs hastack_lan_vip6 (the LAN side's IPv6 VIP) too")
    if add_vip6(wiring, hostvars, variant, "VI_WAN", host):
        wan6_iface = wiring["keepalived_instances"]["VI_WAN6"]["interface"]
        if wan6_iface == wiring["keepalived_instances"]["VI_LAN6"]["interface"]:
            raise WiringError(f"hastack_wan_vip6: on the LAN VIP's interface {wan6_iface}; the "
                              f"upstream VIP belongs on the upstream side")
    return wiring


def _proxy(prefix, down):
    def derive(hostvars, variant, peers, host):
        vip, cidr, iface = vip_on(hostvars, variant, "hastack_dns_vip", host)
        vrid = _vrid(hostvars, variant, "hastack_dns_vrid")
        state = hostvars.get(f"{prefix}_state_file") or f"/run/hastack/{down}.down"
        wiring = {
            f"{prefix}_backends": _backends(hostvars, variant),
            f"{prefix}_listen_address": vip,
            f"{prefix}_nonlocal_bind": True,
            "keepalived_track_files": _track_file(f"{down}_down", state),
            "keepalived_instances": {"VI_DNS": _instance(cidr, iface, vrid, peers,
                                                         track_files=[f"{down}_down"])},
        }
        if prefix == "haproxy" and hostvars.get("hastack_dns_check_name"):
            wiring["haproxy_check_name"] = hostvars["hastack_dns_check_name"]
        vip6 = add_vip6(wiring, hostvars, variant, "VI_DNS", host)
        if vip6:
            # the proxy ends the client's connection: IPv4 backends serve the IPv6 VIP too
            wiring[f"{prefix}_listen_address6"] = vip6
        return wiring
    return derive


def _dnsdist(hostvars, variant, peers, host):
    """dnsdist as the other proxies, plus: the client networks it admits (the VIPs' subnets),
    the health checks' question, and keepalived asking the local dnsdist a real question (a
    hung dnsdist keeps its state file at 0)."""
    wiring = _proxy("dnsdist", "dnsdist")(hostvars, variant, peers, host)
    acl = [str(netaddr.IPNetwork(cidr).cidr) for inst in wiring["keepalived_instances"].values()
           for cidr in inst["virtual_ipaddresses"]]
    wiring["dnsdist_acl"] = list(dict.fromkeys(acl))
    if hostvars.get("hastack_dns_check_name"):
        wiring["dnsdist_check_name"] = hostvars["hastack_dns_check_name"]
    script = hostvars.get("dnsdist_health_script") or f"{LIBEXEC}/dnsdist-check-dns"
    wiring["keepalived_vrrp_scripts"] = {"chk_dns": _check_script(script)}
    for inst in wiring["keepalived_instances"].values():
        inst["track_scripts"] = ["chk_dns"]
    return wiring


def _nftables(hostvars, variant, peers, host):
    vip, cidr, iface = vip_on(hostvars, variant, "hastack_dns_vip", host)
    vrid = _vrid(hostvars, variant, "hastack_dns_vrid")
    wiring = {
        "nftables_lb_vip": vip,
        "nftables_lb_interface": iface,
        "nftables_lb_backends": list(_backends(hostvars, variant).values()),
        "keepalived_instances": {"VI_DNS": _instance(cidr, iface, vrid, peers)},
    }
    if hostvars.get("hastack_dns_vip6"):
        # NAT keeps the address family: the IPv6 VIP needs the backends' IPv6 addresses
        backends6 = _backends6(hostvars, variant)
        vip6 = add_vip6(wiring, hostvars, variant, "VI_DNS", host)
        iface6 = wiring["keepalived_instances"]["VI_DNS6"]["interface"]
        if iface6 != iface:
            raise WiringError(f"hastack_dns_vip6: {vip6} is on {iface6}, hastack_dns_vip on {iface}; "
                              f"nftables_lb DNATs on one interface")
        wiring["nftables_lb_vip6"] = vip6
        wiring["nftables_lb_backends6"] = list(backends6.values())
    return wiring


def _lvs_dr(hostvars, variant, peers, host):
    vip, cidr, iface = vip_on(hostvars, variant, "hastack_dns_vip", host)
    vrid = _vrid(hostvars, variant, "hastack_dns_vrid")
    wiring = {
        "keepalived_instances": {"VI_DNS": _instance(cidr, iface, vrid, peers)},
        "keepalived_virtual_servers": _lvs_dns_services(vip, _backends(hostvars, variant), ""),
    }
    if hostvars.get("hastack_dns_vip6"):
        # direct routing forwards the client's packet unchanged: an IPv6 virtual server
        # needs IPv6 real servers (the backends' IPv6 addresses, the VIP6 on their lo)
        backends6 = _backends6(hostvars, variant)
        vip6 = add_vip6(wiring, hostvars, variant, "VI_DNS", host)
        # deprecated (preferred_lft 0): IPv6 has no secondary addresses, and the newest
        # address of a prefix becomes the director's source address; its health checks
        # would then leave from the VIP, which every real server holds on lo and answers
        # itself. Deprecated, the VIP still draws the clients' queries.
        instance6 = wiring["keepalived_instances"]["VI_DNS6"]
        instance6["virtual_ipaddresses"] = [{"address": cidr6, "preferred_lft": 0}
                                            for cidr6 in instance6["virtual_ipaddresses"]]
        wiring["keepalived_virtual_servers"].update(_lvs_dns_services(vip6, backends6, "6"))
    if hostvars.get("hastack_dns_check_name"):
        wiring["keepalived_dns_check_name"] = hostvars["hastack_dns_check_name"]
    return wiring


def _lvs_dns_services(vip, backends, suffix):
    """The IPVS virtual servers of DNS on vip: UDP checked by keepalived's DNS_CHECK (the
    role's default checker), TCP by the DNS check script (dig over TCP: 10 s, more than
    keepalived's 3 s default)."""
    real_servers = {name: {"address": address} for name, address in backends.items()}
    return {
        f"dns_udp{suffix}": {"address": vip, "port": 53, "protocol": "UDP", "lb_algo": "rr",
                             "ops": True, "real_servers": real_servers},
        f"dns_tcp{suffix}": {"address": vip, "port": 53, "protocol": "TCP", "lb_algo": "rr",
                             "check": {"checker": "MISC_CHECK", "misc_timeout": 10},
                             "real_servers": real_servers},
    }


def _dhcp_pair(prefix):
    def derive(hostvars, variant, peers, host):
        return {f"{prefix}_subnets": _require(hostvars, variant, "hastack_dhcp_subnets")}
    return derive


_DERIVE = {
    "dnsmasq_active_standby": _dnsmasq_vip,
    "dnsmasq_active_active": lambda hostvars, variant, peers, host: {
        "dnsmasq_dhcp_dns_servers_from_peers": True},
    "dnsmasq_split_roles": _split_roles,
    "gateway_vrrp": _gateway,
    "dns_lb_haproxy": _proxy("haproxy", "haproxy"),
    "dns_lb_nginx": _proxy("nginx_stream", "nginx"),
    "dns_lb_dnsdist": _dnsdist,
    "dns_lb_nftables": _nftables,
    "dns_lb_lvs_dr": _lvs_dr,
    "dhcpd_failover": _dhcp_pair("dhcpd_failover"),
    "kea_ha": _dhcp_pair("kea_ha"),
}


_KEEPALIVED_DNSMASQ = ["keepalived_track_files", "keepalived_vrrp_scripts", "keepalived_instances"]
_DNSMASQ_VIP = ["dnsmasq_nonlocal_bind", "dnsmasq_extra_listen_addresses", "dnsmasq_dhcp_dns_servers"]
# The variables each variant derives (variant_wiring may leave out an optional one).
WIRING = {
    "dnsmasq_active_standby": _DNSMASQ_VIP + _KEEPALIVED_DNSMASQ,
    "dnsmasq_active_active": ["dnsmasq_dhcp_dns_servers_from_peers"],
    "dnsmasq_split_roles": _DNSMASQ_VIP + _KEEPALIVED_DNSMASQ,
    "gateway_vrrp": ["keepalived_sysctls", "dnsmasq_dhcp_router", "keepalived_sync_groups",
                     *_DNSMASQ_VIP, "dnsmasq_ra_enabled", "dnsmasq_ra_source",
                     "keepalived_track_files", "keepalived_instances"],
    "dns_lb_haproxy": ["haproxy_backends", "haproxy_listen_address", "haproxy_listen_address6",
                       "haproxy_nonlocal_bind", "haproxy_check_name", "keepalived_track_files",
                       "keepalived_vrrp_scripts", "keepalived_instances"],
    "dns_lb_nginx": ["nginx_stream_backends", "nginx_stream_listen_address", "nginx_stream_listen_address6",
                     "nginx_stream_nonlocal_bind", "keepalived_track_files", "keepalived_vrrp_scripts",
                     "keepalived_instances"],
    "dns_lb_dnsdist": ["dnsdist_backends", "dnsdist_listen_address", "dnsdist_listen_address6",
                       "dnsdist_nonlocal_bind", "dnsdist_acl", "dnsdist_check_name", "keepalived_track_files",
                       "keepalived_vrrp_scripts", "keepalived_instances"],
    "dns_lb_nftables": ["nftables_lb_vip", "nftables_lb_vip6", "nftables_lb_interface", "nftables_lb_backends",
                        "nftables_lb_backends6", "keepalived_vrrp_scripts", "keepalived_instances"],
    "dns_lb_lvs_dr": ["keepalived_instances", "keepalived_virtual_servers", "keepalived_dns_check_name",
                      "keepalived_vrrp_scripts"],
    "dhcpd_failover": ["dhcpd_failover_subnets"],
    "kea_ha": ["kea_ha_subnets"],
}
# Derived only from an optional intent variable (the IPv6 VIP, the check name): an
# inventory that wires everything else itself needs no intent for them either.
OPTIONAL_WIRING = {"haproxy_check_name", "haproxy_listen_address6", "nginx_stream_listen_address6",
                   "dnsdist_check_name", "dnsdist_listen_address6",
                   "nftables_lb_vip6", "nftables_lb_backends6", "dnsmasq_ra_enabled", "dnsmasq_ra_source"}
# ... per variant: the load balancers' vrrp_scripts come from hastack_vrrp_quorum_address only
OPTIONAL_WIRING_OF = {variant: {"keepalived_vrrp_scripts"}
                      for variant in ("dns_lb_haproxy", "dns_lb_nginx", "dns_lb_nftables", "dns_lb_lvs_dr")}


def _ip(value, family=None):
    """value's address, None when it is no address (of family): refused by name where the
    variable is read."""
    try:
        address = netaddr.IPNetwork(str(value)).ip
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None
    return str(address) if family in (None, address.version) else None


def check_claims(variant, hostvars, host=""):
    """Refuse an address claimed twice by the intent: two VIPs on one address, a DNS backend
    that is a VIP of the group (the proxy would forward to itself) or the node's own address."""
    vips = {}
    for name in INTENT.get(variant, {}):
        if (name.endswith("_vip") or name.endswith("_vip6")) and hostvars.get(name):
            address = _ip(hostvars[name], 6 if name.endswith("6") else 4)
            if address in vips:
                raise WiringError(f"{name}: {address} is {vips[address]} too: one address, one VIP")
            if address:
                vips[address] = name
    facts = hostvars.get("ansible_facts") or {}
    for iface in facts.get("interfaces") or []:
        # the primary IPv4 address: a VIP the master holds is a secondary one
        primary = ((facts.get(iface.replace("-", "_").replace(".", "_")) or {}).get("ipv4") or {}).get("address")
        if primary in vips:
            raise WiringError(f"{vips[primary]}: {primary} is the own address of {host or 'the host'} on "
                              f"{iface}; a VIP must be an address no node holds itself")
    own = {str(net.ip): iface for family in (4, 6) for iface, net in _networks(facts, family)
           if str(net.ip) not in vips}
    for var in ("hastack_dns_backends", "hastack_dns_backends6"):
        backends = hostvars.get(var) if var in INTENT.get(variant, {}) else None
        if not isinstance(backends, dict):
            continue
        for backend, raw in backends.items():
            address = _ip(raw)
            if address in vips:
                raise WiringError(f"{var}.{backend}: {address} is {vips[address]}: the load balancer "
                                  f"would forward the queries to itself")
            if address in own:
                raise WiringError(f"{var}.{backend}: {address} is the own address of {host or 'the host'} "
                                  f"on {own[address]}: a backend must be another host, not a member "
                                  f"of the load-balancing group")


def variant_wiring(variant, hostvars, peers, host=""):
    """The role variables variant derives from the intent in hostvars (one host's variables).

    peers: the variant group's hosts, the first the default master. Returns a dict of
    variable name to value; raises WiringError naming the intent variable on bad input.
    """
    if variant not in _DERIVE:
        raise WiringError(f"variant_wiring: unknown variant {variant!r}, one of {sorted(_DERIVE)}")
    check_claims(variant, hostvars, host)
    wiring = _DERIVE[variant](hostvars, variant, list(peers or []), host)
    if "hastack_vrrp_quorum_address" in INTENT[variant]:
        _quorum_guard(wiring, hostvars)
    elif variant == "gateway_vrrp" and hostvars.get("hastack_vrrp_quorum_address"):
        raise WiringError("hastack_vrrp_quorum_address: gateway_vrrp keeps its VIPs in a sync group, where "
                          "keepalived ignores a track script's weight; the guard is not offered there")
    return wiring


def _quorum_guard(wiring, hostvars):
    """hastack_vrrp_quorum_address: every instance tracks a ping of that third party, weight -100."""
    address = str(hostvars.get("hastack_vrrp_quorum_address") or "").strip()
    if not address:
        return
    try:
        parsed = netaddr.IPAddress(address)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise WiringError(f"hastack_vrrp_quorum_address: {address!r} is not an IPv4 or IPv6 address")
    vips = [str(netaddr.IPNetwork(vip if isinstance(vip, str) else vip["address"]).ip)
            for inst in wiring["keepalived_instances"].values() for vip in inst["virtual_ipaddresses"]]
    if str(parsed) in vips:
        raise WiringError(f"hastack_vrrp_quorum_address: {address} is a VIP of this group: the node that "
                          "holds it would always reach it; name a third party such as the clients' gateway")
    facts = hostvars.get("ansible_facts") or {}
    if str(parsed) in {str(net.ip) for family in (4, 6) for _iface, net in _networks(facts, family)}:
        raise WiringError(f"hastack_vrrp_quorum_address: {address} is an address of "
                          f"{hostvars.get('inventory_hostname', 'this node')}: a node always reaches itself; "
                          "name a third party such as the clients' gateway")
    scripts = wiring.setdefault("keepalived_vrrp_scripts", {})
    # as root: an unprivileged user may not ping where net.ipv4.ping_group_range leaves it out
    scripts["chk_quorum"] = {"script": f"/usr/bin/ping -c 1 -W 1 {parsed}", "interval": 2, "timeout": 2,
                             "fall": 2, "rise": 2, "weight": -100, "user": "root"}
    for inst in wiring["keepalived_instances"].values():
        inst["track_scripts"] = list(inst.get("track_scripts", [])) + ["chk_quorum"]


def missing_wiring(variant, hostvars, peers, host=""):
    """The part of the variant's wiring that hostvars (the inventory, the extra vars) does not set.

    An inventory that sets every wiring variable itself needs no intent variables.
    """
    check_claims(variant, hostvars, host)
    optional = OPTIONAL_WIRING | OPTIONAL_WIRING_OF.get(variant, set())
    if variant in WIRING and all(name in hostvars for name in WIRING[variant] if name not in optional):
        return {}
    wiring = variant_wiring(variant, hostvars, peers, host)
    return {name: value for name, value in wiring.items() if name not in hostvars}


# The VRRP instance each intent VIP becomes, when its VRID is set too.
INTENT_VIPS = {
    "VI_DHCP": ("hastack_dhcp_vip", "hastack_dhcp_vrid"),
    "VI_DHCP6": ("hastack_dhcp_vip6", "hastack_dhcp_vrid"),
    "VI_DNS": ("hastack_dns_vip", "hastack_dns_vrid"),
    "VI_DNS6": ("hastack_dns_vip6", "hastack_dns_vrid"),
    "VI_LAN": ("hastack_lan_vip", "hastack_lan_vrid"),
    "VI_LAN6": ("hastack_lan_vip6", "hastack_lan_vrid"),
    "VI_WAN": ("hastack_wan_vip", "hastack_wan_vrid"),
    "VI_WAN6": ("hastack_wan_vip6", "hastack_wan_vrid"),
}


def vrrp_vips(hostvars):
    """A VRRP node's VIP addresses, in the order of its instances' names (empty: no VRRP node).

    From keepalived_instances when the host's variables set it, else from the intent
    variables (a VIP counts when its VRID is set: a backend that knows the DNS VIP does
    not hold it by VRRP).
    """
    instances = hostvars.get("keepalived_instances")
    if instances is None:
        instances = {name: {"virtual_ipaddresses": [hostvars[vip]]}
                     for name, (vip, vrid) in INTENT_VIPS.items()
                     if hostvars.get(vip) and hostvars.get(vrid) is not None}
    found = []
    for _name, inst in sorted((instances or {}).items()):
        for vip in (inst or {}).get("virtual_ipaddresses") or []:
            address = vip.get("address") if isinstance(vip, dict) else vip
            found.append(str(address).split("/", 1)[0].strip())
    return found
