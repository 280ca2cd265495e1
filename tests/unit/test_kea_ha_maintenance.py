"""Unit tests of the end of a Kea server's maintenance (plugins/module_utils/kea_ha_maintenance.py),
against a fake pair that behaves as Kea did in the lab: a restarted node that comes back
through waiting, syncing and ready; a partner that falls back into partner-in-maintenance
after a cancel; a partner that went partner-down."""

from __future__ import annotations

import pytest

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.kea_ha_maintenance import (
    KeaMaintenanceError,
    end_maintenance,
)


class FakePair:
    """The node's states over time (a list of (from second, state)), the partner in
    partner-in-maintenance until a cancel; `bounces` cancels that the partner undoes (it reads
    a stale in-maintenance and goes back, the node follows)."""

    def __init__(self, node_states, partner="partner-in-maintenance", bounces=0, normal="hot-standby", sticky=False):
        self.now, self.node_states, self.partner, self.bounces, self.normal = 0.0, node_states, partner, bounces, normal
        self.sticky = sticky  # the partner's state before the maintenance is partner-in-maintenance itself
        self.node_override = None
        self.calls = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        if self.node_override == "bounce-pending":  # the stale heartbeat lands half a second later
            self.partner, self.node_override = "partner-in-maintenance", "in-maintenance"

    def node(self):
        if self.node_override:
            return "in-maintenance" if self.node_override == "in-maintenance" else self.node_override
        return [state for start, state in self.node_states if start <= self.now][-1]

    def call(self, who, command, service):
        self.calls.append((who, command, service))
        if command == "ha-heartbeat":
            state = self.node() if who == "node" else self.partner
            return (0, {"state": state}) if state != "down" else (-1, "connection refused")
        assert (who, command) == ("partner", "ha-maintenance-cancel")
        if self.partner != "partner-in-maintenance":
            return 1, "Unable to cancel maintenance request because the server is not in the partner-in-maintenance state."
        if self.node() != "in-maintenance":
            return 1, "Unable to cancel the maintenance for the server not in the in-maintenance state."
        if self.sticky:
            return 0, "Server maintenance successfully canceled."
        self.partner, self.node_override = self.normal, self.normal
        if self.bounces:
            self.bounces -= 1
            self.node_override = "bounce-pending"
        return 0, "Server maintenance successfully canceled."


def run(pair, **kwargs):
    return end_maintenance(pair.call, ["dhcp4"], pair.normal, clock=pair.clock, sleep=pair.sleep, **kwargs)


def test_a_node_that_stayed_up_is_canceled_once():
    pair = FakePair([(0, "in-maintenance")])
    result = run(pair)
    assert [c["result"] for c in result["cancels"]] == [0]
    assert result["states"] == {"dhcp4": {"node": "hot-standby", "partner": "hot-standby"}}


def test_a_restarted_node_is_canceled_only_once_back_in_maintenance():
    pair = FakePair([(0, "down"), (1, "waiting"), (2, "syncing"), (2.5, "ready"), (3, "in-maintenance")])
    result = run(pair)
    assert [c["result"] for c in result["cancels"]] == [0]
    assert result["cancels"][0]["after_s"] >= 3
    assert ("partner", "ha-maintenance-cancel", "dhcp4") in pair.calls


def test_a_pair_that_falls_back_into_the_maintenance_is_canceled_again():
    pair = FakePair([(0, "in-maintenance")], bounces=2)
    result = run(pair)
    assert [c["result"] for c in result["cancels"]] == [0, 0, 0]
    assert result["states"]["dhcp4"] == {"node": "hot-standby", "partner": "hot-standby"}


def test_the_pair_must_stay_normal_for_stable_s():
    pair = FakePair([(0, "in-maintenance")], bounces=1)
    result = run(pair, stable_s=3.0)
    assert result["elapsed_s"] >= 3.0 and len(result["cancels"]) == 2


def test_a_node_back_through_partner_down_needs_no_cancel():
    pair = FakePair([(0, "waiting"), (2, "hot-standby")], partner="hot-standby")
    result = run(pair)
    assert result["cancels"] == []
    assert not [call for call in pair.calls if call[1] == "ha-maintenance-cancel"]


def test_a_pair_that_never_comes_back_fails_naming_the_states():
    pair = FakePair([(0, "waiting")])
    with pytest.raises(KeaMaintenanceError, match=r"did not return to hot-standby within 10 s \(0 ha-maintenance-cancel "
                                                  r"sent\): dhcp4: node waiting, partner partner-in-maintenance"):
        run(pair, timeout_s=10)


def test_check_mode_reads_once_and_sends_nothing():
    pair = FakePair([(0, "in-maintenance")])
    result = run(pair, check_mode=True)
    assert result["cancels"] == [{"service": "dhcp4"}]
    assert all(call[1] == "ha-heartbeat" for call in pair.calls)


def test_each_relationship_is_ended():
    pair = FakePair([(0, "in-maintenance")])
    result = end_maintenance(pair.call, ["dhcp4", "dhcp6"], "hot-standby", clock=pair.clock, sleep=pair.sleep)
    assert set(result["states"]) == {"dhcp4", "dhcp6"}
    assert {call[2] for call in pair.calls} == {"dhcp4", "dhcp6"}


def test_a_partner_that_returns_to_partner_in_maintenance_on_every_cancel_is_reported_stuck():
    pair = FakePair([(0, "in-maintenance")], sticky=True)
    result = run(pair, max_cancels=3)
    assert result["stuck"] == ["dhcp4"] and len(result["cancels"]) == 3
    assert result["states"]["dhcp4"] == {"node": "in-maintenance", "partner": "partner-in-maintenance"}
