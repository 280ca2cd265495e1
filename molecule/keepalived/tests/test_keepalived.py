"""The keepalived role on a real pair: VIP placement, failover, preemption, safe reloads.

Runs against the containers of inventory.yml after converge; some tests converge
again with other variables and restore the scenario's own at the end.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO.parent.parent))

from tests.labkit import assert_rejected_before_any_change, poll, scenario_fixtures  # noqa: E402
from tests.awx_jobs import job_template_test  # noqa: E402

VIP = "10.213.21.100"
VIP6 = "fd00:213:21::100"
CLIENT = "hastack-mol-ka-client"
CONFIG = "/etc/keepalived/keepalived.conf"
TRANSITIONS = "/var/log/keepalived-transitions.log"
CONVERGE = SCENARIO / "converge.yml"


lab, nodes, _dhcp = scenario_fixtures(SCENARIO / "inventory.yml", "vrrp_vip")


def scenario_instances():
    """keepalived_instances as inventory.yml defines them."""
    import yaml

    data = yaml.safe_load((SCENARIO / "inventory.yml").read_text())
    return data["all"]["children"]["vrrp_vip"]["vars"]["keepalived_instances"]


def scenario_instance(name="VI_TEST", **changes):
    """An instance as inventory.yml defines it, with some keys changed."""
    instance = dict(scenario_instances()[name])
    instance.update(changes)
    return instance


def converge_with(lab, **extra_vars):
    """Converge with other variables; instances given replace the scenario's of that name only."""
    if "keepalived_instances" in extra_vars:
        extra_vars["keepalived_instances"] = {**scenario_instances(), **extra_vars["keepalived_instances"]}
    return lab.playbook(CONVERGE, "-e", json.dumps(extra_vars))


def config_digest(lab, node):
    return lab.check(node, f"sha256sum {CONFIG}").split()[0]


# idempotence, as AWX runs the variant (in place of Molecule's idempotence step)
test_the_awx_job_template_runs_and_changes_nothing = job_template_test(
    "vrrp_vip", SCENARIO / "inventory.yml")


def test_vip_is_on_exactly_the_first_node(lab, nodes):
    assert lab.holders(VIP, nodes) == [nodes[0]]


def test_client_reaches_the_vip(lab):
    lab.check(CLIENT, f"ping -c 1 -W 2 {VIP}")


def test_ipv6_vip_is_on_exactly_the_first_node_and_reaches_the_client(lab, nodes):
    assert lab.holders(VIP6, nodes) == [nodes[0]]
    lab.check(CLIENT, f"ping -6 -c 1 -W 2 {VIP6}")
    # the client learnt the VIP's link-layer address from the first node
    mac = lab.check(nodes[0], "cat /sys/class/net/eth0/address").strip()
    assert mac in lab.check(CLIENT, f"ip -6 neigh show {VIP6}"), "neighbour entry is not the holder's"


def test_ipv6_instance_speaks_vrrpv3_unicast_to_the_peers_ipv6_address(lab, nodes):
    config = lab.check(nodes[1], f"cat {CONFIG}")
    block = config[config.index("vrrp_instance VI_TEST6"):]
    block = block[:block.index("\n}")]
    assert "version 3" in block
    assert "unicast_src_ip fd00:213:21::12" in block, block
    assert "fd00:213:21::11" in block, block


def test_rendered_priorities_follow_the_peer_order(lab, nodes):
    assert "priority 150" in lab.check(nodes[0], f"cat {CONFIG}")
    assert "priority 140" in lab.check(nodes[1], f"cat {CONFIG}")
    assert "unicast_peer" in lab.check(nodes[1], f"cat {CONFIG}")


def test_role_set_nonlocal_bind_in_the_node_namespace(lab, nodes):
    for node in nodes:
        for family in ("ipv4", "ipv6"):
            assert lab.check(node, f"cat /proc/sys/net/{family}/ip_nonlocal_bind").strip() == "1", node
            assert f"net.{family}.ip_nonlocal_bind=1" in lab.check(node, "cat /etc/sysctl.d/60-keepalived.conf")
    # the client did not run the role: the lab itself presets nothing
    for family in ("ipv4", "ipv6"):
        assert lab.check(CLIENT, f"cat /proc/sys/net/{family}/ip_nonlocal_bind").strip() == "0"


def test_config_check_passes_the_running_config(lab, nodes):
    # scripts run as keepalived_script: keepalived 2.2.7 -t kills itself here (exit 143),
    # the wrapper must still pass a good config; from 2.2.8 on it must not retry at all
    result = lab.run(nodes[0], f"/usr/local/sbin/keepalived-check-config {CONFIG}")
    assert result.rc == 0, result.stdout + result.stderr
    banner = lab.check(nodes[0], "keepalived --version 2>&1 | head -n 1")
    version = tuple(int(part) for part in banner.split()[1].lstrip("v").split("."))
    retried = "retrying with scripts as root" in result.stdout
    assert retried == (version < (2, 2, 8)), (banner, result.stdout)


@pytest.mark.parametrize("breakage", [
    "s/advert_int 0.1/advert_itn 0.1/",          # unknown keyword
    "s/priority 150/priority abc/",              # bad number
    "s/interface eth0/interface nosuch0/",       # interface that does not exist
    "0,/^}/{/^}/d}",                             # unbalanced braces
])
def test_config_check_fails_a_broken_config(lab, nodes, breakage):
    bad = "/tmp/keepalived-broken.conf"
    lab.check(nodes[0], f"sed '{breakage}' {CONFIG} > {bad}")
    assert lab.check(nodes[0], f"cmp -s {CONFIG} {bad} && echo same || echo differs").strip() == "differs"
    result = lab.run(nodes[0], f"/usr/local/sbin/keepalived-check-config {bad}")
    assert result.rc != 0, f"broken config ({breakage}) passed the check: {result.stdout}"


def test_notify_script_logged_the_transition_to_master(lab, nodes):
    log = lab.check(nodes[0], "cat /var/log/keepalived-transitions.log")
    assert "INSTANCE VI_TEST MASTER" in log, log


def test_stopping_keepalived_on_the_master_moves_the_vip_and_its_return_preempts(lab, nodes):
    master, backup = nodes
    lab.check(master, "systemctl stop keepalived")
    try:
        assert lab.wait_for_holders(VIP, nodes, [backup]) == [backup]
        assert lab.wait_for_holders(VIP6, nodes, [backup]) == [backup]
        lab.check(CLIENT, f"ping -c 1 -W 2 {VIP}")
        lab.check(CLIENT, f"ping -6 -c 1 -W 2 {VIP6}")
        # the new holder's unsolicited neighbour advertisement moved the client's entry
        mac = lab.check(backup, "cat /sys/class/net/eth0/address").strip()
        assert mac in lab.check(CLIENT, f"ip -6 neigh show {VIP6}")
        log = lab.check(backup, "cat /var/log/keepalived-transitions.log")
        assert "INSTANCE VI_TEST MASTER" in log and "INSTANCE VI_TEST6 MASTER" in log
    finally:
        lab.check(master, "systemctl start keepalived")
    assert lab.wait_for_holders(VIP, nodes, [master]) == [master]
    assert lab.wait_for_holders(VIP6, nodes, [master]) == [master]


def test_a_sync_group_moves_the_ipv4_and_ipv6_vips_together(lab, nodes):
    master, backup = nodes
    # only VI_TEST watches the maintenance file: the sync group must take VI_TEST6 along.
    # keepalived ignores a weighted track script in a sync group (its config test says so):
    # weight 0 puts the instance in FAULT, and the group follows
    result = converge_with(lab, keepalived_instances={
        "VI_TEST": scenario_instance(track_scripts=[{"name": "chk_maintenance", "weight": 0}]),
        "VI_TEST6": scenario_instance("VI_TEST6", track_scripts=[])},
        keepalived_sync_groups={"SG_DUAL": {"group": ["VI_TEST", "VI_TEST6"]}})
    try:
        assert result.returncode == 0, result.stdout[-3000:]
        assert "vrrp_sync_group SG_DUAL" in lab.check(master, f"cat {CONFIG}")
        lab.check(master, "touch /run/keepalived-maintenance")
        try:
            assert lab.wait_for_holders(VIP, nodes, [backup]) == [backup]
            assert lab.wait_for_holders(VIP6, nodes, [backup]) == [backup]
            lab.check(CLIENT, f"ping -6 -c 1 -W 2 {VIP6}")
        finally:
            lab.check(master, "rm -f /run/keepalived-maintenance")
        assert lab.wait_for_holders(VIP, nodes, [master]) == [master]
        assert lab.wait_for_holders(VIP6, nodes, [master]) == [master]
    finally:
        restored = lab.playbook(CONVERGE)
        assert restored.returncode == 0, restored.stdout[-3000:]


def test_maintenance_script_hands_the_vip_away_and_back(lab, nodes):
    master, backup = nodes
    lab.check(master, "touch /run/keepalived-maintenance")
    try:
        assert lab.wait_for_holders(VIP, nodes, [backup]) == [backup]
        assert lab.wait_for_holders(VIP6, nodes, [backup]) == [backup]
    finally:
        lab.check(master, "rm -f /run/keepalived-maintenance")
    assert lab.wait_for_holders(VIP, nodes, [master]) == [master]
    assert lab.wait_for_holders(VIP6, nodes, [master]) == [master]


def test_a_broken_value_is_rejected_and_the_vip_stays(lab, nodes):
    before = {node: config_digest(lab, node) for node in nodes}
    broken = scenario_instance(extra_options=["advert_int_typo 1"])
    result = converge_with(lab, keepalived_instances={"VI_TEST": broken})
    assert result.returncode != 0, "a config keepalived rejects was deployed"
    assert "not a valid keepalived config" in result.stdout, result.stdout[-3000:]
    for node in nodes:
        assert config_digest(lab, node) == before[node], f"{node}: config replaced"
        assert lab.check(node, "systemctl is-active keepalived").strip() == "active"
    assert lab.holders(VIP, nodes) == [nodes[0]]


def test_virtual_servers_on_a_kernel_without_ipvs_fail_by_name_and_touch_nothing(lab, nodes):
    """The lab's shared kernel has no IPVS: the role must say so, not hand keepalived virtual
    servers its checker cannot program."""
    before = {node: config_digest(lab, node) for node in nodes}
    pids = {node: main_pid(lab, node) for node in nodes}
    virtual_servers = {"dns_udp": {"address": VIP, "port": 53, "protocol": "UDP",
                                   "real_servers": {"rs1": {"address": "10.213.21.50"}}}}
    result = converge_with(lab, keepalived_virtual_servers=virtual_servers,
                           keepalived_dns_check_name="www.abc.local")
    assert result.returncode != 0, "virtual servers were deployed on a kernel without IPVS"
    assert "this kernel has no IPVS (ip_vs): /proc/net/ip_vs is absent on" in result.stdout, \
        result.stdout[-3000:]
    for node in nodes:
        assert config_digest(lab, node) == before[node], f"{node}: config replaced"
        assert main_pid(lab, node) == pids[node], f"{node}: keepalived restarted"
        assert "virtual_server" not in lab.check(node, f"cat {CONFIG}")
    assert lab.holders(VIP, nodes) == [nodes[0]]


def test_a_director_resolving_through_its_own_vip_is_refused_before_any_change(lab, nodes):
    """Seed 003's caveat, checked before IPVS or anything else on the host."""
    before = {node: config_digest(lab, node) for node in nodes}
    node = nodes[1]
    lab.check(node, "cp /etc/resolv.conf /root/resolv.conf.test && echo 'nameserver 10.213.21.100' > /etc/resolv.conf")
    try:
        virtual_servers = {"dns_udp": {"address": VIP, "port": 53, "protocol": "UDP",
                                       "real_servers": {"rs1": {"address": "10.213.21.50"}}}}
        result = converge_with(lab, keepalived_virtual_servers=virtual_servers,
                               keepalived_dns_check_name="www.abc.local")
    finally:
        lab.check(node, "cat /root/resolv.conf.test > /etc/resolv.conf && rm /root/resolv.conf.test")
    assert result.returncode != 0, "a director resolving through its own VIP was deployed"
    assert (f"nameserver {VIP} in /etc/resolv.conf is the address of the virtual server "
            "keepalived_virtual_servers.dns_udp") in result.stdout, result.stdout[-3000:]
    for each in nodes:
        assert config_digest(lab, each) == before[each], f"{each}: config replaced"
    assert lab.holders(VIP, nodes) == [nodes[0]]


BAD_INPUTS = [
    ("auth_pass longer than 8",
     {"keepalived_instances": {"VI_TEST": {"version": 2, "advert_int": 1,
                                           "authentication": {"auth_pass": "123456789"}}}},
     "keepalived_instances.VI_TEST.authentication.auth_pass"),
    ("virtual_router_id out of range", {"keepalived_instances": {"VI_TEST": {"virtual_router_id": 300}}},
     "keepalived_instances.VI_TEST.virtual_router_id"),
    ("nopreempt with MASTER", {"keepalived_instances": {"VI_TEST": {"nopreempt": True, "state": "MASTER"}}},
     "keepalived_instances.VI_TEST.nopreempt"),
    ("VIP outside the subnet", {"keepalived_instances": {"VI_TEST": {"virtual_ipaddresses": ["10.213.99.100/24"]}}},
     "keepalived_instances.VI_TEST.virtual_ipaddresses"),
    ("same priority on both peers", {"keepalived_instances": {"VI_TEST": {"priority": 100}}},
     "keepalived_instances.VI_TEST.priority"),
    ("unicast peers that are not the members", {"keepalived_instances": {"VI_TEST": {"unicast_peers": ["10.213.21.99"]}}},
     "keepalived_instances.VI_TEST.unicast_peers"),
    ("fractional advert_int with version 2", {"keepalived_instances": {"VI_TEST": {"version": 2, "advert_int": 0.5}}},
     "keepalived_instances.VI_TEST.advert_int"),
    ("unknown global_defs keyword", {"keepalived_global_defs": {"vrrp_garp_interva": 1}},
     "vrrp_garp_interva"),
    ("IPv4 and IPv6 VIPs in one instance",
     {"keepalived_instances": {"VI_TEST": {"virtual_ipaddresses": ["10.213.21.100/24", "fd00:213:21::101/64"]}}},
     "keepalived_instances.VI_TEST.virtual_ipaddresses: mixes IPv4 and IPv6"),
    ("IPv6 VIP outside the interface's prefix",
     {"keepalived_instances": {"VI_TEST6": {"virtual_ipaddresses": ["fd00:213:99::100/64"]}}},
     "keepalived_instances.VI_TEST6.virtual_ipaddresses: fd00:213:99::100 is not inside the subnet"),
    ("link-local IPv6 VIP", {"keepalived_instances": {"VI_TEST6": {"virtual_ipaddresses": ["fe80::100/64"]}}},
     "keepalived_instances.VI_TEST6.virtual_ipaddresses[0]: fe80::100 is link-local"),
    ("IPv6 VIP with VRRP version 2",
     {"keepalived_instances": {"VI_TEST6": {"version": 2, "advert_int": 1}}},
     "keepalived_instances.VI_TEST6.version: must be 3 for IPv6 VIPs"),
    ("the same VIP in two instances",
     {"keepalived_instances": {"VI_TEST6": {"virtual_router_id": 72, "virtual_ipaddresses": ["10.213.21.100/24"]}}},
     "is already a VIP of VI_TEST"),
]


@pytest.mark.parametrize("what,extra,named", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_stops_the_play_before_any_host_is_touched(lab, nodes, what, extra, named):
    if "keepalived_instances" in extra:
        extra = {"keepalived_instances": {**scenario_instances(), **{
            name: scenario_instance(name, **changes) for name, changes in extra["keepalived_instances"].items()}}}
    assert_rejected_before_any_change(lab, CONVERGE, nodes, extra, named, CONFIG)


def test_nopreempt_keeps_the_vip_where_it_went(lab, nodes):
    master, backup = nodes
    result = converge_with(lab, keepalived_instances={"VI_TEST": scenario_instance(nopreempt=True)})
    assert result.returncode == 0, result.stdout[-3000:]
    try:
        for node in nodes:
            assert "nopreempt" in lab.check(node, f"cat {CONFIG}")
            assert "state BACKUP" in lab.check(node, f"cat {CONFIG}")
        assert lab.holders(VIP, nodes) == [master], "the reload moved the VIP"
        lab.check(master, "systemctl stop keepalived")
        assert lab.wait_for_holders(VIP, nodes, [backup]) == [backup]
        lab.check(master, "systemctl start keepalived")
        # watch for 3 s (30 advert intervals; preemption takes < 0.5 s): the VIP must stay
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            assert lab.holders(VIP, nodes) == [backup], "the returning node preempted"
            time.sleep(0.2)
        assert lab.check(master, "systemctl is-active keepalived").strip() == "active"
    finally:
        restored = lab.playbook(CONVERGE)
        assert restored.returncode == 0, restored.stdout[-3000:]
    # preemption is back: the first node, now MASTER with the higher priority, takes the VIP
    assert lab.wait_for_holders(VIP, nodes, [master]) == [master]


def main_pid(lab, node):
    return lab.check(node, "systemctl show -p MainPID --value keepalived").strip()


def test_a_config_change_reloads_and_keeps_the_vip(lab, nodes):
    pids = {node: main_pid(lab, node) for node in nodes}
    result = converge_with(lab, keepalived_global_defs={"vrrp_garp_master_refresh": 30})
    try:
        assert result.returncode == 0, result.stdout[-3000:]
        assert "RUNNING HANDLER [hastack.dns_dhcp.keepalived : Reload keepalived]" in result.stdout
        for node in nodes:
            assert "vrrp_garp_master_refresh 30" in lab.check(node, f"cat {CONFIG}")
            assert main_pid(lab, node) == pids[node], f"{node}: keepalived was restarted, not reloaded"
        assert lab.holders(VIP, nodes) == [nodes[0]]
    finally:
        restored = lab.playbook(CONVERGE)
        assert restored.returncode == 0, restored.stdout[-3000:]


def test_every_supported_block_renders_a_config_keepalived_runs(lab, nodes):
    """Sync group, static addresses and routes, track_process, virtual routes, mail settings."""
    extra = {
        "keepalived_global_defs": {
            "vrrp_garp_master_delay": 1, "vrrp_garp_master_repeat": 3, "vrrp_garp_interval": 0.001,
            "vrrp_gna_interval": 0.001, "vrrp_skip_check_adv_addr": True,
            "notification_email": ["noc@example.invalid"],
            "notification_email_from": "keepalived@example.invalid",
            "smtp_server": "127.0.0.1", "smtp_connect_timeout": 5,
        },
        "keepalived_static_ipaddress": ["10.213.121.1/32 dev lo no_track"],
        "keepalived_static_routes": ["blackhole 10.213.122.0/24 no_track"],
        "keepalived_track_processes": {"journald": {"process": "systemd-journal", "weight": 0, "delay": 1}},
        "keepalived_sync_groups": {"SG_TEST": {"group": ["VI_TEST", "VI_TEST2"],
                                               "notify_master": "/usr/bin/true"}},
        "keepalived_instances": {
            "VI_TEST": scenario_instance(
                virtual_ipaddresses=[{"address": "10.213.21.100/24", "label": "eth0:vip"}],
                virtual_routes=["blackhole 10.213.123.0/24 no_track"],
                track_scripts=[], track_processes=["journald"], track_interfaces=["lo"],
                preempt_delay=0, garp_master_delay=1),
            "VI_TEST2": scenario_instance(virtual_router_id=72, track_scripts=[],
                                          virtual_ipaddresses=["10.213.21.101/24"]),
        },
    }
    seen = int(lab.check(nodes[1], f"wc -l < {TRANSITIONS}").strip())
    result = converge_with(lab, **extra)
    try:
        assert result.returncode == 0, result.stdout[-3000:]
        conf = lab.check(nodes[0], f"cat {CONFIG}")
        for expected in ("vrrp_sync_group SG_TEST", "vrrp_track_process journald", "static_routes",
                         "notification_email {", "label eth0:vip", "track_interface {"):
            assert expected in conf, f"{expected!r} missing from the rendered config"
        assert lab.wait_for_holders(VIP, nodes, [nodes[0]]) == [nodes[0]]
        assert lab.wait_for_holders("10.213.21.101", nodes, [nodes[0]]) == [nodes[0]]
        assert "10.213.121.1/32" in lab.check(nodes[0], "ip -o -4 addr show dev lo")
        assert "blackhole 10.213.122.0/24" in lab.check(nodes[0], "ip route show type blackhole")
        assert "blackhole 10.213.123.0/24" in lab.check(nodes[0], "ip route show type blackhole")
        # the backup must end without the master's virtual route (bounded wait, then the check)
        routes = poll(lambda: lab.check(nodes[1], "ip route show type blackhole"),
                      lambda out: "blackhole 10.213.123.0/24" not in out, timeout=10)
        transitions = lab.check(nodes[1], f"tail -n +{seen + 1} {TRANSITIONS}")
        # Seen on keepalived 2.3.3 (Debian 13), about one run in five: the reload that adds the
        # sync group puts the backup's VI_TEST into MASTER for a few milliseconds, and the
        # virtual route it adds then stays after it is back in BACKUP. Reported as an expected
        # failure naming that race; a stale route without the flap fails the test.
        flapped = "INSTANCE VI_TEST MASTER" in transitions
        if "blackhole 10.213.123.0/24" in routes and not flapped:
            raise AssertionError(f"the backup holds the master's virtual route: {routes}\n{transitions}")
        stale_after_flap = "blackhole 10.213.123.0/24" in routes
    finally:
        restored = lab.playbook(CONVERGE)
        assert restored.returncode == 0, restored.stdout[-3000:]
    # the reload back to the scenario's config removed what it no longer names
    assert lab.wait_for_holders(VIP, nodes, [nodes[0]]) == [nodes[0]]
    assert lab.holders("10.213.21.101", nodes) == []
    assert "10.213.121.1" not in lab.check(nodes[0], "ip -o -4 addr show dev lo")
    if stale_after_flap:
        lab.check(nodes[1], "ip route del blackhole 10.213.123.0/24")
        pytest.xfail("keepalived left VI_TEST's virtual route on the backup after a MASTER->BACKUP "
                     "flap during the reload that added the sync group (keepalived race, not the role)")


def test_check_mode_of_site_yml_shows_the_change_and_touches_nothing(lab, nodes):
    """`site.yml --check --diff` against the deployed lab: the diff of a changed
    variable, and no file written, no daemon reloaded or restarted."""
    from tests.labkit import REPO

    marker = "/run/hastack-check-mode.marker"
    before = {}
    for node in nodes:
        lab.check(node, f"touch {marker}")
        before[node] = (main_pid(lab, node), lab.check(node, "date +%s").strip())
    result = lab.playbook(REPO / "site.yml", "--check", "--diff",
                          "-e", json.dumps({"keepalived_global_defs": {"vrrp_garp_master_refresh": 30}}))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "+    vrrp_garp_master_refresh 30" in result.stdout, result.stdout[-3000:]
    for node in nodes:
        pid, since = before[node]
        written = lab.check(node, f"find /etc /usr/local -newer {marker} -type f").split()
        assert written == [], f"{node}: check mode wrote {written}"
        assert "vrrp_garp_master_refresh 60" in lab.check(node, f"cat {CONFIG}"), "check mode changed the config"
        assert main_pid(lab, node) == pid, f"{node}: keepalived was restarted in check mode"
        journal = lab.check(node, f"journalctl -u keepalived --since @{since} -o cat --no-pager")
        assert "Reload" not in journal, f"{node}: keepalived was reloaded in check mode: {journal}"
    assert lab.holders(VIP, nodes) == [nodes[0]]
