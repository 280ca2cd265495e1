"""Unit tests of the omshell dialogue (plugins/module_utils/omapi.py)."""

from __future__ import annotations

import pytest

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.omapi import (
    OmapiError,
    decode,
    failover_state,
    failover_state_script,
)

# what omshell 4.4.3 printed in the lab for a pair in state normal
NORMAL = """> > > > obj: <null>
> obj: failover-state
> obj: failover-state
name = "dhcp"
> obj: failover-state
name = "dhcp"
partner-port = 00:00:02:87
mclt = 00:00:00:3c
load-balance-max-secs = 00:00:00:03
partner-state = 00:00:00:02
local-state = 00:00:00:02
hierarchy = 00:00:00:01
max-response-delay = 00:00:00:05
> """


def test_a_pair_in_state_normal():
    state = failover_state(NORMAL)
    assert (state["local_state"], state["partner_state"]) == ("normal", "normal")
    assert state["attributes"]["mclt"] == 60 and state["attributes"]["partner-port"] == 647
    assert state["attributes"]["name"] == "dhcp"


def test_communications_interrupted():
    text = NORMAL.replace("local-state = 00:00:00:02", "local-state = 00:00:00:03")
    assert failover_state(text)["local_state"] == "communications-interrupted"


@pytest.mark.parametrize("text,message", [
    ('> obj: failover-state\nname = "dhcp"\n> can\'t open object: no key specified\n', "no key specified"),
    ("> dhcpctl_connect: connection refused\n", "connection refused"),
    ('> obj: failover-state\nname = "nosuch"\n> can\'t open object: not found\n', "not found"),
    ("", "no failover state"),
])
def test_errors_are_reported(text, message):
    with pytest.raises(OmapiError, match=message):
        failover_state(text)


def test_the_script_carries_the_key_only_when_given():
    with_key = failover_state_script("dhcp", key_name="k", key="c2VjcmV0")
    assert "key k c2VjcmV0\n" in with_key and 'set name = "dhcp"' in with_key
    assert with_key.index("key k") < with_key.index("connect")
    assert "key " not in failover_state_script("dhcp")


def test_a_name_that_would_break_the_script_is_refused():
    with pytest.raises(OmapiError, match="letters, digits"):
        failover_state_script('dhcp"\nopen')


def test_decode():
    assert decode('"x"') == "x"
    assert decode("00:00:01:00") == 256
    assert decode("plain") == "plain"
