# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan of a failover drill: which VRRP instances a group holds, and what to expect.

The drill (playbooks/failover_drill.yml) breaks the node that holds a VIP and checks that
the VIP lands on exactly one other node, the one keepalived elects: the remaining node with
the highest priority. drill_plan() reads the group's nodes' variables (keepalived_instances,
or the intent variables the variant derives them from), resolves every node's instances as
the keepalived role does (plugins/module_utils/vrrp.py) and returns, per VIP, what the drill
needs: the interface, the IPv4 VIP and its IPv6 twin, the service that guards it, how to
probe it (DNS, or DHCP for a VIP that only serves DHCP) and each node's priority.
"""

from __future__ import annotations

import posixpath
from collections import ChainMap

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.variant_wiring import (
    WIRING,
    WiringError,
    missing_wiring,
)
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.vrrp import VrrpError, resolve_instances

# The keepalived role's keepalived_instance_defaults (roles/keepalived/defaults/main.yml):
# role defaults are not in hostvars, so an inventory that does not set it gets these.
INSTANCE_DEFAULTS = {"version": 3, "advert_int": 0.1}

# The services a track script, track file or tracked process may guard, by the word that
# names them there (a script /usr/local/libexec/hastack/dnsmasq-check-dns, a track file
# /run/hastack/nginx.down, a process kea-dhcp4), and the systemd unit the drill stops.
SERVICES = (
    ("dnsmasq", "dnsmasq"),
    ("haproxy", "haproxy"),
    ("dnsdist", "dnsdist"),
    ("nginx", "nginx"),
    ("kea-dhcp4", "kea-dhcp4-server"),
    ("kea-dhcp6", "kea-dhcp6-server"),
    ("isc-dhcp-server", "isc-dhcp-server"),
    ("dhcpd", "isc-dhcp-server"),
    ("named", "named"),
    ("unbound", "unbound"),
)
DHCP_SERVICES = {"kea-dhcp4-server", "kea-dhcp6-server", "isc-dhcp-server"}


class DrillError(ValueError):
    """The group cannot be drilled, with the variable it is about."""


def _node_vars(hostvars, node, nodes, variant):
    """A node's variables with the wiring its variant derives (what the inventory sets wins)."""
    found = hostvars.get(node)
    if found is None:
        raise DrillError(f"drill_group: {node} has no variables (is it in the inventory?)")
    # looked up lazily (ChainMap): a variable the drill never reads is never templated
    if variant not in WIRING:
        return found
    try:
        return ChainMap(missing_wiring(variant, found, nodes, node), found)
    except WiringError as exc:
        # an inventory that sets keepalived_instances itself needs no intent for them
        if not found.get("keepalived_instances"):
            raise DrillError(str(exc)) from exc
        return found


def _names(value):
    return list((value or {}).keys()) if isinstance(value, dict) else []


def _guarded_service(inst, node_vars):
    """The service an instance's tracking watches ('keepalived' when it watches none: the
    VIP then depends on keepalived alone), and whether that tracking is about DHCP."""
    words = []
    for key, var, field in (("track_scripts", "keepalived_vrrp_scripts", "script"),
                            ("track_files", "keepalived_track_files", "file"),
                            ("track_processes", "keepalived_track_processes", "process")):
        defined = node_vars.get(var) or {}
        for item in inst.get(key) or []:
            name = item.get("name") if isinstance(item, dict) else item
            spec = defined.get(name) or {}
            target = str(spec.get(field) or "") if isinstance(spec, dict) else ""
            words.append((posixpath.basename(target.split()[0]) if target.strip() else "", str(name)))
    service = next((unit for target, name in words for word, unit in SERVICES
                    if word in target or word in name), "keepalived")
    dhcp = service in DHCP_SERVICES or any("dhcp" in target or "dhcp" in name for target, name in words)
    return service, dhcp


def _selected(plan, instances):
    if instances in (None, "", []):
        return plan
    if isinstance(instances, str):
        instances = [item.strip() for item in instances.split(",") if item.strip()]
    known = {entry["name"] for entry in plan} | {entry["instance6"] for entry in plan if entry["instance6"]}
    unknown = [name for name in instances if name not in known]
    if unknown:
        raise DrillError(f"drill_instances: {unknown} are not VRRP instances of the group "
                         f"(it has {sorted(known)})")
    return [entry for entry in plan if entry["name"] in instances or entry["instance6"] in instances]


def drill_plan(hostvars, nodes, variant="", instances=None):
    """The VIPs to drill on the VRRP group nodes (inventory names, in the group's order).

    hostvars: the play's hostvars (each node's inventory variables and network facts);
    variant: the group's variant, whose wiring fills in what the inventory does not set
    (keepalived_instances derived from hastack_dns_vip and the like); instances: the
    instance names to drill (None: all). Returns a list, one entry per IPv4 instance (its
    IPv6 twin, the instance with the same router id, rides along), sorted by name:
    name, instance6, interface, vip, vip6 ('' for none), service, probe ('dns' or 'dhcp'),
    priorities ({node: priority}), nopreempt. Raises DrillError naming the variable.
    """
    nodes = list(nodes or [])
    if len(nodes) < 2 or len(set(nodes)) != len(nodes):
        raise DrillError(f"drill_group: a VRRP group of two or more nodes, got {nodes}")
    node_vars = {node: _node_vars(hostvars, node, nodes, variant) for node in nodes}
    resolved = {}
    for node in nodes:
        mine = node_vars[node]
        if not mine.get("keepalived_instances"):
            raise DrillError(f"drill_group: {node} has no keepalived_instances (and variant "
                             f"{variant or '(none)'} derives none): not a VRRP node")
        try:
            resolved[node] = resolve_instances(
                node, mine["keepalived_instances"], nodes, node_vars,
                defaults=mine.get("keepalived_instance_defaults", INSTANCE_DEFAULTS),
                scripts=_names(mine.get("keepalived_vrrp_scripts")),
                processes=_names(mine.get("keepalived_track_processes")),
                files=_names(mine.get("keepalived_track_files")))
        except VrrpError as exc:
            raise DrillError(f"drill_group {nodes}: {exc}") from exc
    first = resolved[nodes[0]]
    twins = {}
    for name, inst in first.items():
        if inst["family"] == 6:
            twins.setdefault((inst["virtual_router_id"], inst["interface"]), name)
            twins.setdefault(inst["virtual_router_id"], name)
    plan, paired = [], set()
    for name, inst in sorted(first.items()):
        if inst["family"] != 4:
            continue
        twin = twins.get((inst["virtual_router_id"], inst["interface"])) or twins.get(inst["virtual_router_id"])
        if twin in paired:
            twin = None
        if twin:
            paired.add(twin)
        plan.append(_entry(name, inst, twin, first, resolved, node_vars[nodes[0]], nodes))
    for name, inst in sorted(first.items()):
        if inst["family"] == 6 and name not in paired:
            plan.append(_entry("", None, name, first, resolved, node_vars[nodes[0]], nodes))
    return _selected(plan, instances)


def _vip(inst):
    """The first VIP clients use: a link-local one leads an IPv6 instance only for RAs."""
    addresses = [vip["ip"] for vip in inst["virtual_ipaddresses"]]
    return next((a for a in addresses if not a.lower().startswith("fe80:")), addresses[0])


def _entry(name, inst, twin, first, resolved, node_vars, nodes):
    main = inst or first[twin]
    service, dhcp = _guarded_service(main, node_vars)
    return {
        "name": name or twin,
        "instance6": twin or "",
        "interface": main["interface"],
        "vip": _vip(inst) if inst else "",
        "vip6": _vip(first[twin]) if twin else "",
        "service": service,
        "probe": "dhcp" if dhcp else "dns",
        "priorities": {node: resolved[node][main["name"]]["priority"] for node in nodes},
        "nopreempt": any(resolved[node][main["name"]]["nopreempt"] for node in nodes),
    }


def expected_holder(entry, holder):
    """The node keepalived elects when holder fails: the other node with the highest priority."""
    others = {node: prio for node, prio in entry["priorities"].items() if node != holder}
    return max(others, key=others.get) if others else ""


def preferred_vips(plan, node):
    """The VIPs (IPv4 and IPv6) node holds whenever it is up: those of the plan's instances
    that preempt and where its priority is above every other node's."""
    vips = []
    for entry in plan or []:
        others = [prio for other, prio in entry["priorities"].items() if other != node]
        if not entry["nopreempt"] and node in entry["priorities"] and \
                all(entry["priorities"][node] > prio for prio in others):
            vips += [vip for vip in (entry["vip"], entry["vip6"]) if vip]
    return vips
