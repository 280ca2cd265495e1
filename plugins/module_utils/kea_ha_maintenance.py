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

import time

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
