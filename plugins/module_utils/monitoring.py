# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the lab's Prometheus scrapes, derived from the inventory's variant groups.

monitoring_targets() reads the nodes' variables (after the metrics role ran on them, so
that metrics_scrape_address is set) and returns the prometheus role's targets: every
node's exporter, every dnsdist web server and haproxy stats listener on a management
address, and one DNS probe per
DNS VIP that has a name to ask (hastack_dns_check_name).
"""

from __future__ import annotations

import ipaddress


# variants that serve no DNS on hastack_dns_vip (a group may still inherit it from all:vars)
DHCP_ONLY = ("kea_ha", "dhcpd_failover")
# the protocols a variant's DNS VIP serves, where not both (haproxy's community edition has no UDP)
PROTOCOLS = {"dns_lb_haproxy": ["tcp"]}


# Services with their own Prometheus endpoint behind a password, scraped where they listen
# on a management address (not their default 127.0.0.1): job -> (address variable, port
# variable and its role default, user variable and its role default (dnsdist takes any
# user), password variable, enabled variable).
SERVICES = {
    "dnsdist": ("dnsdist_webserver_address", "dnsdist_webserver_port", 8083, "", "prometheus",
                "dnsdist_webserver_password", "dnsdist_webserver_enabled"),
    "haproxy": ("haproxy_stats_address", "haproxy_stats_port", 8404, "haproxy_stats_user", "admin",
                "haproxy_stats_password", "haproxy_stats_enabled"),
}


class MonitoringError(ValueError):
    """An inventory the targets cannot be derived from; the message names the variable."""


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _listen(address: str, port) -> str:
    return f"[{address}]:{port}" if ":" in str(address) else f"{address}:{port}"


def monitoring_targets(hostvars, groups: dict, variants: list, backends: list | None = None) -> dict:
    """{node: [...], services: [...], dns_probes: [...], bind: [...]} for the prometheus role.

    variants: the variant groups; backends: the DNS backends' groups, whose nodes are
    scraped for node exporter and prometheus-bind-exporter (metrics_bind_scrape_address),
    labelled with their group, and get no DNS probe.

    A node in several variant groups is scraped once, labelled with the first. dnsdist's
    web server and haproxy's stats listener are scraped where they listen on a management
    address (not their default 127.0.0.1), with their password; DNS probes ask each
    group's hastack_dns_vip and hastack_dns_vip6 for hastack_dns_check_name over UDP and
    TCP (dns_lb_haproxy: TCP only), once per VIP (the DHCP variants serve no DNS and get none).
    """
    node, services, probes, bind = [], [], [], []
    seen, probed = set(), set()
    backends = list(backends or [])
    for variant in list(variants) + backends:
        hosts = list(groups.get(variant) or [])
        for host in hosts:
            if host in seen:
                continue
            seen.add(host)
            hvars = hostvars[host]
            address = hvars.get("metrics_scrape_address")
            if not address:
                raise MonitoringError(f"metrics_scrape_address: {host} (group {variant}) has none: run "
                                      "hastack.dns_dhcp.metrics on it first (monitoring.yml's first play)")
            node.append({"address": address, "host": host, "variant": variant})
            if hvars.get("metrics_bind_scrape_address"):
                bind.append({"address": hvars["metrics_bind_scrape_address"], "host": host, "variant": variant})
            for job, (address_var, port_var, port, user_var, user, password_var, enabled_var) in SERVICES.items():
                if address_var not in hvars or not hvars.get(enabled_var, True):
                    continue
                web = str(hvars[address_var])
                if _loopback(web):
                    continue
                password = hvars.get(password_var) or ""
                if not password:
                    raise MonitoringError(f"{password_var}: {host} serves {job}'s metrics on {web} without one")
                services.append({"job": job, "address": _listen(web, hvars.get(port_var, port)), "host": host,
                                 "variant": variant, "username": hvars.get(user_var, user) if user_var else user,
                                 "password": password})
        if hosts and variant not in DHCP_ONLY and variant not in backends:
            first = hostvars[hosts[0]]
            query = first.get("hastack_dns_check_name")
            for key in ("hastack_dns_vip", "hastack_dns_vip6"):
                vip = first.get(key)
                if vip and query and str(vip) not in probed:
                    probed.add(str(vip))
                    probes.append({"vip": str(vip), "query": query,
                                   "query_type": "AAAA" if ":" in str(vip) else "A",
                                   "protocols": PROTOCOLS.get(variant, ["udp", "tcp"]), "variant": variant})
    return {"node": node, "services": services, "dns_probes": probes, "bind": bind}
