# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ending a Kea HA server's maintenance (ha-maintenance-cancel) so that it stays ended.

Kea's maintenance is ended by ha-maintenance-cancel, sent to the server in the
partner-in-maintenance state: it notifies its partner (in-maintenance), and both return to
the states they had before. Two things make a single cancel unreliable:

- a server restarted during its maintenance comes back through waiting, syncing and ready,
  and only then returns to in-maintenance (its partner still holds the maintenance); a
  cancel sent before that fails;
- the partner-in-maintenance server returns to its normal state with the state of its
  partner it read last, from a heartbeat that may have been in flight during the cancel:
  it reads in-maintenance, goes back to partner-in-maintenance, and its partner follows.

So the pair is read again and again: a cancel is sent whenever the node is in-maintenance and
its partner partner-in-maintenance, and the maintenance counts as ended only when both have
stayed in the normal state for a while.

A third one a cancel cannot mend: Kea 2.6 with multi-threaded HA can enter
partner-in-maintenance twice at the start (the command and a heartbeat's answer at once), so
the state it returns to on a cancel is partner-in-maintenance itself. After max_cancels
cancels that ended nothing, the relationship is reported as stuck: the caller takes the
node's server down, its partner goes partner-down (it serves every client there), and the
node comes back as after any outage.
"""

from __future__ import annotations

import json
import time

# The options of the modules that read a pair (doc fragment hastack.dns_dhcp.kea_ha_pair).
PAIR_ARGS = {
    "node_url": {"type": "str", "required": True},
    "partner_url": {"type": "str", "required": True},
    "normal_state": {"type": "str", "choices": ["hot-standby", "load-balancing"], "required": True},
    "url_username": {"type": "str", "required": True},
    "url_password": {"type": "str", "required": True, "no_log": True},
    "timeout_s": {"type": "int", "default": 120},
}

IN_MAINTENANCE = "in-maintenance"
PARTNER_IN_MAINTENANCE = "partner-in-maintenance"


class KeaMaintenanceError(Exception):
    """The pair did not return to its normal state in time."""


def read_state(call, who: str, service: str) -> str:
    """The HA state `who` ('node' or 'partner') reports for `service` (ha-heartbeat), or
    'unreachable (...)' when it does not answer."""
    code, answer = call(who, "ha-heartbeat", service)
    if code == 0 and isinstance(answer, dict) and answer.get("state"):
        return answer["state"]
    return f"unreachable ({answer})"


def describe(states: dict) -> str:
    return "; ".join(f"{service}: node {pair['node']}, partner {pair['partner']}" for service, pair in states.items())


def end_maintenance(call, services: list, normal: str, timeout_s: float = 120.0, stable_s: float = 3.0,
                    interval_s: float = 0.5, cancel_gap_s: float = 2.0, max_cancels: int = 3,
                    check_mode: bool = False, clock=time.monotonic, sleep=time.sleep) -> dict:
    """End the maintenance of the node in each HA relationship (`services`: dhcp4, dhcp6).

    call(who, command, service) sends a control agent command to 'node' or 'partner' and
    returns (result code, arguments or error text). Returns the states read last, the
    cancels sent ({service, after_s, result, text}), the relationships still in maintenance
    after max_cancels successful cancels (`stuck`; the others are back in `normal`), and the
    seconds it took; in check mode one reading, with the cancels it would send. Raises
    KeaMaintenanceError, naming the states, when the pair is neither back in `normal` nor
    stuck within timeout_s.
    """
    started = clock()
    cancels: list = []
    last_cancel: dict = {}
    normal_since = None
    while True:
        now = clock()
        states = {service: {who: read_state(call, who, service) for who in ("node", "partner")}
                  for service in services}
        pending = [service for service, pair in states.items()
                   if pair["node"] == IN_MAINTENANCE and pair["partner"] == PARTNER_IN_MAINTENANCE]
        if check_mode:
            return {"states": states, "cancels": [{"service": service} for service in pending], "stuck": [],
                    "elapsed_s": 0.0}
        ended = {service: sum(1 for c in cancels if c["service"] == service and c["result"] == 0)
                 for service in services}
        stuck = [service for service in pending if ended[service] >= max_cancels]
        if all(pair["node"] == normal and pair["partner"] == normal
               for service, pair in states.items() if service not in stuck):
            normal_since = now if normal_since is None else normal_since
            if now - normal_since >= stable_s:
                return {"states": states, "cancels": cancels, "stuck": stuck, "elapsed_s": round(now - started, 1)}
        else:
            normal_since = None
        for service in pending:
            if service not in stuck and now - last_cancel.get(service, now - cancel_gap_s) >= cancel_gap_s:
                code, text = call("partner", "ha-maintenance-cancel", service)
                cancels.append({"service": service, "after_s": round(now - started, 1), "result": code,
                                "text": text if isinstance(text, str) else ""})
                last_cancel[service] = now
        if now - started >= timeout_s:
            raise KeaMaintenanceError(
                f"the Kea pair did not return to {normal} within {timeout_s:g} s "
                f"({len(cancels)} ha-maintenance-cancel sent): {describe(states)}")
        sleep(interval_s)


class KeaReloadError(Exception):
    """A server refused its new config, or the pair did not return to its normal state after a
    reload (then `reloaded` is true: the server runs the new config)."""

    def __init__(self, message: str, reloaded: bool = False):
        super().__init__(message)
        self.reloaded = reloaded


def reload_in_turn(call, service: str, normal: str, signal_reload, timeout_s: float = 120.0,
                   stable_s: float = 2.0, interval_s: float = 0.25, check_mode: bool = False,
                   clock=time.monotonic, sleep=time.sleep) -> dict:
    """Reload the node's config (config-reload) in one HA relationship (`service`), gated by the pair.

    A reload restarts the node's HA service (waiting, syncing, ready, then the normal state),
    so a pair takes its peers one at a time: the node reloads only while both servers are in
    `normal`, and the call returns only once both have stayed there for stable_s, so the
    partner's turn finds the pair whole. A pair that is not whole is left alone: the
    reload is refused, naming the states. When either server has no HA state to read (down,
    or still on a config without HA, as right after Debian installs Kea), there is no pair to
    keep: the node reloads at once, without waiting. call(who, command, service) is
    as for end_maintenance. The reload is Kea's config-reload, which answers whether the
    new config took; a node whose HA state cannot be read may not take commands either (a
    first deploy: Debian's example config), so it gets signal_reload() instead (SIGHUP
    through its unit), which returns (return code, text). Returns the states before and after, whether it waited, and the
    seconds until the pair was back; raises KeaReloadError when the node refuses the new
    config (it keeps the running one), when the pair is not whole, or when it is not back in
    `normal` within timeout_s.
    """
    started = clock()
    before = {who: read_state(call, who, service) for who in ("node", "partner")}
    whole = before["node"] == normal and before["partner"] == normal
    in_pair = not any(state.startswith("unreachable") for state in before.values())
    if in_pair and not whole:
        raise KeaReloadError(
            f"kea-{service} not reloaded: the pair is not in its normal state ({normal}): node {before['node']}, "
            f"partner {before['partner']}. A reload restarts the node's HA service, so it waits for a whole pair "
            f"(end a maintenance, or let the partner finish its own reload, and run again)")
    if check_mode:
        return {"before": before, "states": before, "waited": False, "elapsed_s": 0.0}
    node_in_ha = not before["node"].startswith("unreachable")
    code, text = call("node", "config-reload", service) if node_in_ha else signal_reload()
    if code != 0:
        raise KeaReloadError(f"kea-{service} refused its new config and keeps the running one: {text}")
    if not whole:
        return {"before": before, "states": {who: read_state(call, who, service) for who in before},
                "waited": False, "elapsed_s": round(clock() - started, 1)}
    normal_since = None
    while True:
        now = clock()
        states = {who: read_state(call, who, service) for who in before}
        if states["node"] == normal and states["partner"] == normal:
            normal_since = now if normal_since is None else normal_since
            if now - normal_since >= stable_s:
                return {"before": before, "states": states, "waited": True, "elapsed_s": round(now - started, 1)}
        else:
            normal_since = None
        if now - started >= timeout_s:
            raise KeaReloadError(
                f"the {service} pair did not return to {normal} within {timeout_s:g} s after kea-{service} reloaded "
                f"its new config: node {states['node']}, partner {states['partner']}. The rollout stops here: "
                f"the partner keeps its running config", reloaded=True)
        sleep(interval_s)


def control_agent_caller(open_url, urls: dict, user: str, password: str, timeout: float = 5.0):
    """call(who, command, service) for the functions above: sends `command` for `service`
    to the control agent at urls[who] (basic auth) and returns (result code, arguments on
    success or Kea's text), or (-1, why) when the agent does not answer."""
    def call(who, command, service):
        try:
            response = open_url(urls[who], data=json.dumps({"command": command, "service": [service]}),
                                method="POST", headers={"Content-Type": "application/json"},
                                url_username=user, url_password=password, force_basic_auth=True, timeout=timeout)
            answer = json.loads(response.read())
        except Exception as exc:  # an agent restarting: read again on the next round
            return -1, str(exc)
        first = answer[0] if isinstance(answer, list) and answer else answer
        if not isinstance(first, dict):
            return -1, f"unexpected answer {answer!r}"
        return first.get("result", 1), first.get("arguments") if first.get("result") == 0 else first.get("text", "")
    return call
