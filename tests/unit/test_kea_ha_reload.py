"""Unit tests of the gated reload of a Kea HA server (reload_in_turn in
plugins/module_utils/kea_ha_maintenance.py), against a fake pair: a reloaded node that comes
back through waiting, syncing and ready, one that does not come back, a node that refuses its
new config, a pair that is not whole, and a first deploy (no HA state to read yet)."""

from __future__ import annotations

import pytest

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.kea_ha_maintenance import (
    KeaReloadError,
    reload_in_turn,
)


class FakePair:
    """States before the reload; after it the node goes through `after` ((seconds after the
    reload, state) pairs); config-reload answers `reload_answer`."""

    def __init__(self, node="hot-standby", partner="hot-standby", after=((0, "waiting"), (1, "syncing"),
                 (1.5, "ready"), (2.5, "hot-standby")), reload_answer=(0, "Configuration successful.")):
        self.now, self.node, self.partner, self.after = 0.0, node, partner, after
        self.reload_answer, self.reloaded_at, self.calls, self.signals = reload_answer, None, [], 0

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds

    def state(self, who):
        if who == "partner":
            return self.partner
        if self.reloaded_at is None:
            return self.node
        return [state for start, state in self.after if start <= self.now - self.reloaded_at][-1]

    def call(self, who, command, service):
        self.calls.append((who, command, service))
        if command == "ha-heartbeat":
            state = self.state(who)
            return (-1, "connection refused") if state == "down" else \
                (2, "'ha-heartbeat' command not supported") if state == "no-ha" else (0, {"state": state})
        assert (who, command) == ("node", "config-reload")
        if self.reload_answer[0] == 0:
            self.reloaded_at = self.now
        return self.reload_answer

    def signal(self):
        self.signals += 1
        self.reloaded_at = self.now
        return 0, ""


def run(pair, **kwargs):
    return reload_in_turn(pair.call, "dhcp4", "hot-standby", pair.signal, clock=pair.clock, sleep=pair.sleep, **kwargs)


def test_a_whole_pair_reloads_and_waits_until_it_is_whole_again():
    pair = FakePair()
    result = run(pair)
    assert ("node", "config-reload", "dhcp4") in pair.calls and pair.signals == 0
    assert result["waited"] and result["states"] == {"node": "hot-standby", "partner": "hot-standby"}
    assert 2.5 + 2.0 <= result["elapsed_s"] < 6  # back at 2.5 s, then stable for 2 s


def test_a_pair_that_is_not_whole_is_not_reloaded():
    pair = FakePair(partner="waiting")  # the partner's own reload did not come back
    with pytest.raises(KeaReloadError, match=r"not reloaded: .*node hot-standby, partner waiting") as failure:
        run(pair)
    assert not failure.value.reloaded
    assert ("node", "config-reload", "dhcp4") not in pair.calls


def test_a_pair_in_maintenance_is_not_reloaded():
    with pytest.raises(KeaReloadError, match="node in-maintenance, partner partner-in-maintenance"):
        run(FakePair(node="in-maintenance", partner="partner-in-maintenance"))


def test_a_refused_config_stops_the_rollout_and_says_why():
    pair = FakePair(reload_answer=(1, "unsupported parameter 'foo'"))
    with pytest.raises(KeaReloadError, match="refused its new config and keeps the running one: unsupported") as failure:
        run(pair)
    assert not failure.value.reloaded


def test_a_node_that_does_not_come_back_fails_after_the_timeout_naming_the_states():
    pair = FakePair(after=((0, "waiting"),))
    with pytest.raises(KeaReloadError, match=r"did not return to hot-standby within 30 s .*node waiting") as failure:
        run(pair, timeout_s=30)
    assert failure.value.reloaded  # it runs the new config: the mark goes, the partner's gate stops
    assert 30 <= pair.now < 31


def test_a_partner_that_is_down_does_not_block_the_reload():
    pair = FakePair(node="partner-down", partner="down")
    result = run(pair)
    assert ("node", "config-reload", "dhcp4") in pair.calls and not result["waited"]


def test_a_node_without_ha_yet_is_signalled():
    # the first deploy: Kea runs Debian's example config, which has no HA hook
    pair = FakePair(node="no-ha", partner="waiting")
    result = run(pair)
    assert pair.signals == 1 and ("node", "config-reload", "dhcp4") not in pair.calls
    assert not result["waited"]


def test_check_mode_reads_and_reloads_nothing():
    pair = FakePair()
    result = run(pair, check_mode=True)
    assert result["before"] == {"node": "hot-standby", "partner": "hot-standby"}
    assert [c for c in pair.calls if c[1] != "ha-heartbeat"] == [] and pair.signals == 0
