# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether the nodes of one group run releases that were tested together (a pair moving from
one Debian release to the next one node at a time is mixed-release for a while)."""

from __future__ import annotations

# Mixes tested in the lab (molecule/mixed_release): keepalived 2.2.7 with 2.3.3 (VRRP),
# dnsdist 1.7 with 1.9, BIND 9.18 with 9.20 behind one VIP, Kea 2.2 with Kea 2.6 in one HA
# relationship (hot-standby), ISC dhcpd 4.4.3 failover peers of both releases.
TESTED_MIXES = [["Debian 12", "Debian 13"]]


def node_release(facts):
    """'Debian 13' from a host's gathered facts; '' without them."""
    try:
        name, major = facts["distribution"], facts["distribution_major_version"]
    except (KeyError, TypeError):
        return ""
    return f"{name} {major}"


def release_mix(hosts, hostvars, group, tested=None, var="hastack_release_mixes"):
    """'' when the hosts of `group` run one release, or releases that one entry of `tested`
    (lists of 'Distribution major'; default TESTED_MIXES) holds together; else the refusal,
    naming the group, each release with its hosts, and `var`. Hosts without gathered facts
    (outside the play) are left out."""
    tested = TESTED_MIXES if tested is None else tested
    if not isinstance(tested, list) or not all(isinstance(mix, list) for mix in tested):
        return f"{var}: must be a list of lists of releases such as [[\"Debian 12\", \"Debian 13\"]], got {tested!r}"
    releases = {}
    for host in hosts or []:
        try:
            facts = hostvars[host]["ansible_facts"]
        except Exception:  # a host outside the play: Ansible raises its own types
            continue
        release = node_release(facts)
        if release:
            releases.setdefault(release, []).append(host)
    if len(releases) < 2 or any(set(releases) <= {str(item) for item in mix} for mix in tested):
        return ""
    detail = "; ".join(f"{release} on {', '.join(members)}" for release, members in sorted(releases.items()))
    known = ", ".join(" with ".join(mix) for mix in tested) or "none"
    return (f"{group}: its nodes run {detail}, a mix of releases not tested together (tested: {known}); "
            f"move them to one release first, or add this mix to {var} once tested")
