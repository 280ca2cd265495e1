"""Unit tests of the VRRP resolution and cross-checks (plugins/module_utils/vrrp.py)."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.hastack.dns_dhcp.plugins.filter.vrrp import FilterModule
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.vrrp import (
    VrrpError,
    resolve_instances,
)

DEFAULTS = {"version": 3, "advert_int": 0.1}
PEERS = ["a", "b"]
BASE = {
    "VI_1": {
        "interface": "eth0",
        "virtual_router_id": 51,
        "virtual_ipaddresses": ["10.0.0.100/24"],
    }
}


def facts(address, secondaries=()):
    return {"eth0": {"ipv4": {"address": address, "netmask": "255.255.255.0"},
                     "ipv4_secondaries": [{"address": a, "netmask": "255.255.255.0"}
                                          for a in secondaries]}}


def hostvars(instances_a=None, instances_b=None, **extra_b):
    return {
        "a": {"keepalived_instances": instances_a or BASE, "ansible_facts": facts("10.0.0.11")},
        "b": {"keepalived_instances": instances_b or BASE, "ansible_facts": facts("10.0.0.12"),
              **extra_b},
    }


def resolve(host="a", instances=None, hv=None, **kwargs):
    instances = instances if instances is not None else BASE
    hv = hv or hostvars(instances, instances)
    return resolve_instances(host, instances, PEERS, hv, defaults=DEFAULTS, **kwargs)


def changed(**changes):
    data = copy.deepcopy(BASE)
    data["VI_1"].update(changes)
    return data


def test_first_peer_is_master_with_the_highest_priority():
    a = resolve("a")["VI_1"]
    b = resolve("b")["VI_1"]
    assert (a["state"], a["priority"]) == ("MASTER", 150)
    assert (b["state"], b["priority"]) == ("BACKUP", 140)
    assert a["version"] == 3 and a["advert_int"] == 0.1


def test_master_key_moves_the_mastership():
    data = changed(master="b")
    assert resolve("b", data)["VI_1"]["state"] == "MASTER"
    assert resolve("a", data)["VI_1"]["priority"] == 140


def test_unicast_peers_are_derived_from_facts():
    data = changed(unicast=True)
    a = resolve("a", data)["VI_1"]
    assert a["unicast_src_ip"] == "10.0.0.11"
    assert a["unicast_peers"] == ["10.0.0.12"]


def test_unicast_peers_given_must_be_the_other_members():
    assert resolve("a", changed(unicast_peers=["10.0.0.12"]))["VI_1"]["unicast_peers"] == ["10.0.0.12"]
    with pytest.raises(VrrpError, match=r"keepalived_instances.VI_1.unicast_peers: must be the other"):
        resolve("a", changed(unicast_peers=["10.0.0.13"]))


def test_unicast_without_peer_facts_says_how_to_fix_it():
    data = changed(unicast=True)
    hv = hostvars(data, data)
    del hv["b"]["ansible_facts"]
    with pytest.raises(VrrpError, match="no facts for host b"):
        resolve("a", data, hv)
    hv["b"]["keepalived_unicast_src_ip"] = "10.0.0.12"
    assert resolve("a", data, hv)["VI_1"]["unicast_peers"] == ["10.0.0.12"]


def test_notify_default_applies_only_without_an_own_notify():
    assert resolve(notify="/n")["VI_1"]["notify"] == "/n"
    assert resolve(instances=changed(notify="/own"), notify="/n")["VI_1"]["notify"] == "/own"


def test_vip_dicts_keep_their_options():
    data = changed(virtual_ipaddresses=[{"address": "10.0.0.100/24", "label": "eth0:vip"}])
    vip = resolve(instances=data)["VI_1"]["virtual_ipaddresses"][0]
    assert vip == {"address": "10.0.0.100/24", "ip": "10.0.0.100", "dev": "eth0", "label": "eth0:vip",
                   "family": 4}


def test_vip_on_a_secondary_subnet_is_accepted():
    data = changed(virtual_ipaddresses=["10.0.1.100/24"])
    hv = hostvars(data, data)
    hv["a"]["ansible_facts"] = facts("10.0.0.11", secondaries=["10.0.1.11"])
    assert resolve("a", data, hv)["VI_1"]["virtual_ipaddresses"][0]["ip"] == "10.0.1.100"


@pytest.mark.parametrize("changes,message", [
    ({"virtual_router_id": 0}, r"VI_1.virtual_router_id: must be from 1 to 255, got 0"),
    ({"virtual_router_id": 256}, r"VI_1.virtual_router_id: must be from 1 to 255"),
    ({"virtual_router_id": "x"}, r"VI_1.virtual_router_id: must be an integer"),
    ({"priority": 255}, r"VI_1.priority: must be from 1 to 254"),
    ({"priority": 100}, r"VI_1.priority: must differ between peers"),
    ({"state": "MASTER", "nopreempt": True}, r"VI_1.nopreempt: needs state BACKUP"),
    ({"state": "LEADER"}, r"VI_1.state: must be MASTER or BACKUP"),
    ({"version": 2, "advert_int": 0.5}, r"VI_1.advert_int: must be a whole number .* version 2"),
    ({"advert_int": 0.001}, r"VI_1.advert_int: must be from 0.01 to 40.95"),
    ({"advert_int": "fast"}, r"VI_1.advert_int: must be a number"),
    ({"version": 4}, r"VI_1.version: must be from 2 to 3"),
    ({"version": 2, "advert_int": 1, "authentication": {"auth_pass": "123456789"}},
     r"VI_1.authentication.auth_pass: must be 1 to 8 characters .* got 9"),
    ({"authentication": {"auth_pass": "secret"}}, r"VI_1.authentication: VRRP version 3 has no"),
    ({"version": 2, "advert_int": 1, "authentication": {"auth_type": "MD5", "auth_pass": "x"}},
     r"auth_type: must be PASS or AH"),
    ({"virtual_ipaddresses": ["10.9.9.9/24"]}, r"VI_1.virtual_ipaddresses: 10.9.9.9 is not inside the subnet of eth0 on a"),
    ({"virtual_ipaddresses": []}, r"VI_1.virtual_ipaddresses: needs at least one"),
    ({"virtual_ipaddresses": ["not-an-ip"]}, r"virtual_ipaddresses\[0\]: 'not-an-ip' is not an IP address"),
    ({"virtual_ipaddresses": [{"address": "10.0.0.100", "colour": "red"}]}, r"virtual_ipaddresses\[0\]: unknown keys \['colour'\]"),
    ({"advert_itn": 1}, r"keepalived_instances.VI_1: unknown keys \['advert_itn'\]"),
    ({"interface": ""}, r"VI_1.interface: is required"),
    ({"master": "c"}, r"VI_1.master: c is not one of the peers"),
    ({"track_scripts": ["chk_missing"]}, r"VI_1.track_scripts: chk_missing is not defined in keepalived_vrrp_scripts"),
    ({"track_processes": ["nginx"]}, r"VI_1.track_processes: nginx is not defined in keepalived_track_processes"),
])
def test_bad_instance_values_name_the_variable(changes, message):
    data = changed(**changes)
    with pytest.raises(VrrpError, match=message):
        resolve("a", data, hostvars(data, data))


def test_peers_must_agree():
    mine = changed(virtual_router_id=51)
    for key, value in [("virtual_router_id", 52), ("advert_int", 0.2), ("version", 2)]:
        theirs = changed(**{key: value})
        if key == "version":
            theirs["VI_1"]["advert_int"] = 1
        with pytest.raises(VrrpError, match=rf"VI_1.{key}: must be the same on all peers"):
            resolve("a", mine, hostvars(mine, theirs))
    theirs = changed(virtual_ipaddresses=["10.0.0.101/24"])
    with pytest.raises(VrrpError, match=r"VI_1.virtual_ipaddresses: must be the same on all peers"):
        resolve("a", mine, hostvars(mine, theirs))


def test_auth_mismatch_does_not_print_the_passwords():
    mine = changed(version=2, advert_int=1, authentication={"auth_pass": "one"})
    theirs = changed(version=2, advert_int=1, authentication={"auth_pass": "two"})
    with pytest.raises(VrrpError) as info:
        resolve("a", mine, hostvars(mine, theirs))
    assert "authentication: must be the same" in str(info.value)
    assert "one" not in str(info.value) and "two" not in str(info.value)


def test_instance_missing_on_a_peer():
    with pytest.raises(VrrpError, match=r"VI_1: is defined on a but not on its peer b"):
        resolve("a", BASE, hostvars(BASE, {"VI_2": BASE["VI_1"]}))


def test_duplicate_vrid_on_one_interface():
    data = {"VI_1": BASE["VI_1"], "VI_2": dict(BASE["VI_1"], virtual_ipaddresses=["10.0.0.101/24"])}
    with pytest.raises(VrrpError, match=r"VI_2.virtual_router_id: 51 is already used by VI_1 on eth0"):
        resolve("a", data, hostvars(data, data))


def test_host_must_be_a_peer_and_peers_unique():
    with pytest.raises(VrrpError, match=r"keepalived_peers: c is not in the peer list"):
        resolve_instances("c", BASE, PEERS, hostvars())
    with pytest.raises(VrrpError, match=r"keepalived_peers: lists a host twice"):
        resolve_instances("a", BASE, ["a", "a"], hostvars())


def test_filter_turns_errors_into_ansible_errors():
    vrrp_instances = FilterModule().filters()["vrrp_instances"]
    data = changed(virtual_router_id=999)
    with pytest.raises(AnsibleFilterError, match="virtual_router_id"):
        vrrp_instances(data, "a", PEERS, hostvars(data, data), defaults=DEFAULTS)
    assert vrrp_instances(BASE, "a", PEERS, hostvars(), defaults=DEFAULTS)["VI_1"]["state"] == "MASTER"


DUAL = {
    "VI_4": {"interface": "eth0", "virtual_router_id": 51, "virtual_ipaddresses": ["10.0.0.100/24"],
             "unicast": True},
    "VI_6": {"interface": "eth0", "virtual_router_id": 51, "virtual_ipaddresses": ["fd00:10::100/64"],
             "unicast": True},
}


def dual_facts(v4, v6):
    result = facts(v4)
    result["eth0"]["ipv6"] = [{"address": v6, "prefix": "64", "scope": "global"},
                              {"address": "fe80::1", "prefix": "64", "scope": "link"}]
    return result


def dual_hostvars(instances):
    return {"a": {"keepalived_instances": instances, "ansible_facts": dual_facts("10.0.0.11", "fd00:10::11")},
            "b": {"keepalived_instances": instances, "ansible_facts": dual_facts("10.0.0.12", "fd00:10::12")}}


def test_an_ipv6_instance_sends_unicast_to_the_peers_global_ipv6_address():
    resolved = resolve("b", DUAL, dual_hostvars(DUAL))
    assert resolved["VI_6"]["family"] == 6
    assert resolved["VI_6"]["unicast_src_ip"] == "fd00:10::12"
    assert resolved["VI_6"]["unicast_peers"] == ["fd00:10::11"]
    # the same router id serves IPv4 and IPv6 apart (RFC 5798)
    assert resolved["VI_4"]["unicast_peers"] == ["10.0.0.11"]


def test_an_ipv6_instance_needs_a_global_ipv6_address_on_the_interface():
    hv = dual_hostvars(DUAL)
    hv["b"]["ansible_facts"]["eth0"]["ipv6"] = [{"address": "fe80::2", "prefix": "64", "scope": "link"}]
    with pytest.raises(VrrpError, match="host b has no global IPv6 address on interface eth0"):
        resolve("a", DUAL, hv)


@pytest.mark.parametrize("changes,message", [
    ({"virtual_ipaddresses": ["10.0.0.100/24", "fd00:10::100/64"]},
     r"VI_6.virtual_ipaddresses: mixes IPv4 and IPv6 addresses"),
    ({"virtual_ipaddresses": ["fe80::100/64"]}, r"VI_6.virtual_ipaddresses\[0\]: fe80::100 is link-local"),
    ({"virtual_ipaddresses": ["fd00:10::100/64", "fe80::100/64"]},
     r"VI_6.virtual_ipaddresses\[1\]: fe80::100 is link-local: allowed only as the first"),
    ({"virtual_ipaddresses": ["fe80::100/10", "fd00:10::100/64"]},
     r"VI_6.virtual_ipaddresses\[0\]: fe80::100/10 must be fe80::/64"),
    ({"virtual_ipaddresses": ["ff02::12"]}, r"ff02::12 is not a unicast address"),
    ({"virtual_ipaddresses": ["fd00:99::100/64"]},
     r"VI_6.virtual_ipaddresses: fd00:99::100 is not inside the subnet of eth0 on a \(fd00:10::/64\)"),
    ({"version": 2, "advert_int": 1}, r"VI_6.version: must be 3 for IPv6 VIPs"),
    ({"virtual_router_id": 52, "virtual_ipaddresses": ["10.0.0.100/24"]},
     r"VI_6.virtual_ipaddresses: 10.0.0.100 is already a VIP of VI_4"),
    ({"unicast_peers": ["10.0.0.12"]}, r"VI_6.unicast_peers: must be IPv6 addresses"),
    ({"unicast_src_ip": "10.0.0.11"}, r"10.0.0.11 \(the unicast source of a\) is IPv4"),
])
def test_bad_ipv6_instances_are_refused_by_name(changes, message):
    data = copy.deepcopy(DUAL)
    data["VI_6"].update(changes)
    with pytest.raises(VrrpError, match=message):
        resolve("a", data, dual_hostvars(data))


def test_the_vip_on_the_masters_interface_is_never_taken_for_its_own_address():
    hv = dual_hostvars(DUAL)
    # the master holds the IPv6 VIP, and the facts list it first
    hv["a"]["ansible_facts"]["eth0"]["ipv6"].insert(0, {"address": "fd00:10::100", "prefix": "64",
                                                        "scope": "global"})
    resolved = resolve("b", DUAL, hv)
    assert resolved["VI_6"]["unicast_peers"] == ["fd00:10::11"]


def test_a_link_local_vip_is_the_virtual_router_address_when_first_beside_a_global_one():
    data = copy.deepcopy(DUAL)
    data["VI_6"]["virtual_ipaddresses"] = ["fe80::200:5eff:fe00:234/64", "fd00:10::100/64"]
    resolved = resolve("a", data, dual_hostvars(data))
    assert [v["ip"] for v in resolved["VI_6"]["virtual_ipaddresses"]] == [
        "fe80::200:5eff:fe00:234", "fd00:10::100"]
    # the peers' unicast addresses stay their global ones, never a VIP
    assert resolved["VI_6"]["unicast_peers"] == ["fd00:10::12"]


def test_an_ipv6_vip_can_be_deprecated_so_the_node_never_sources_from_it():
    instances = copy.deepcopy(DUAL)
    instances["VI_6"]["virtual_ipaddresses"] = [{"address": "fd00:10::100/64", "preferred_lft": 0}]
    vip = resolve("a", instances, dual_hostvars(instances))["VI_6"]["virtual_ipaddresses"][0]
    assert (vip["address"], vip["preferred_lft"]) == ("fd00:10::100/64", 0)
    instances["VI_6"]["virtual_ipaddresses"] = [{"address": "fd00:10::100/64", "preferred_lft": "forever"}]
    assert resolve("a", instances, dual_hostvars(instances))["VI_6"]["virtual_ipaddresses"][0][
        "preferred_lft"] == "forever"


@pytest.mark.parametrize("instance,vip,message", [
    ("VI_4", {"address": "10.0.0.100/24", "preferred_lft": 0},
     r"keepalived_instances.VI_4.virtual_ipaddresses\[0\].preferred_lft: is for IPv6 VIPs only"),
    ("VI_6", {"address": "fd00:10::100/64", "preferred_lft": "never"},
     r"keepalived_instances.VI_6.virtual_ipaddresses\[0\].preferred_lft: must be a number of seconds"),
    ("VI_6", {"address": "fd00:10::100/64", "preferred_lft": -1}, "must be a number of seconds"),
    ("VI_6", {"address": "fd00:10::100/64", "preferred_lft": True}, "must be a number of seconds"),
])
def test_a_bad_preferred_lifetime_names_the_vip(instance, vip, message):
    instances = copy.deepcopy(DUAL)
    instances[instance]["virtual_ipaddresses"] = [vip]
    with pytest.raises(VrrpError, match=message):
        resolve("a", instances, dual_hostvars(instances))


@pytest.mark.parametrize("vip,extra,message", [
    ("10.0.0.12/24", {}, r"keepalived_instances.VI_1.virtual_ipaddresses: 10.0.0.12 is b's own address on eth0: "
                         r"a VIP must be an address no host holds itself"),
    ("10.0.0.30", {"lab_addresses": {"lan": "10.0.0.30"}}, r"10.0.0.30 is b's lab_addresses.lan"),
    ("10.0.0.31", {"ansible_host": "10.0.0.31"}, r"10.0.0.31 is b's ansible_host"),
    ("10.0.0.32", {"keepalived_unicast_src_ip": "10.0.0.32"}, r"10.0.0.32 is b's keepalived_unicast_src_ip"),
])
def test_a_vip_that_a_host_holds_itself_is_refused(vip, extra, message):
    data = changed(virtual_ipaddresses=[vip])
    hv = hostvars(data, data, **extra)
    hv["b"]["ansible_facts"]["interfaces"] = ["eth0"]
    hv["a"]["ansible_facts"]["interfaces"] = ["eth0"]
    with pytest.raises(VrrpError, match=message):
        resolve("a", data, hv)


def test_a_master_holding_its_vip_is_not_a_host_claiming_it():
    # the master lists the VIP among its addresses (a secondary, or an ansible_host that is the VIP)
    hv = hostvars()
    hv["a"]["ansible_facts"] = dict(facts("10.0.0.11", secondaries=["10.0.0.100"]), interfaces=["eth0"])
    hv["b"]["ansible_facts"]["interfaces"] = ["eth0"]
    hv["client"] = {"lab_addresses": {"lan": "10.0.0.50"}, "ansible_host": "client.example"}
    assert resolve("a", BASE, hv)["VI_1"]["virtual_ipaddresses"][0]["ip"] == "10.0.0.100"


def test_the_filter_returns_the_refusal_on_request():
    data = changed(virtual_router_id=300)
    vrrp_instances = FilterModule().filters()["vrrp_instances"]
    answer = vrrp_instances(data, "a", PEERS, hostvars(data, data), defaults=DEFAULTS, errors="return")
    assert answer == {"result": None,
                      "error": "keepalived_instances.VI_1.virtual_router_id: must be from 1 to 255, got 300"}
    good = vrrp_instances(BASE, "a", PEERS, hostvars(), defaults=DEFAULTS, errors="return")
    assert good["error"] == "" and good["result"]["VI_1"]["state"] == "MASTER"


def test_a_host_whose_variables_do_not_template_is_skipped():
    class Broken(dict):
        def get(self, key, default=None):
            if key == "ansible_host":
                raise ValueError("'undefined_thing' is undefined")
            return super().get(key, default)

    hv = hostvars()
    hv["other"] = Broken(lab_addresses={"lan": "10.0.0.60"})
    assert resolve("a", BASE, hv)["VI_1"]["priority"] == 150
    data = changed(virtual_ipaddresses=["10.0.0.60"])
    hv.update({"a": dict(hv["a"], keepalived_instances=data), "b": dict(hv["b"], keepalived_instances=data)})
    with pytest.raises(VrrpError, match="10.0.0.60 is other's lab_addresses.lan"):
        resolve("a", data, hv)
