# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the probes of a failover drill share (modules dns_probe, dhcp_probe): the options
that time them, the loop that sends one request per interval over UDP and matches the
answers, and the summary of the outages."""

from __future__ import annotations

import os
import selectors
import time

MAX_DURATION_S = 900

# The timing options of every probe module (merged into its argument_spec).
TIMING_ARGS = dict(
    interval_ms=dict(type="int", default=20),
    timeout_ms=dict(type="int", default=250),
    duration_s=dict(type="float", required=True),
    max_queries=dict(type="int", default=20000),
    stop_file=dict(type="path"),
)

# The result of a probe in check mode (nothing sent).
NOTHING_SENT = dict(sent=0, answered=0, unanswered=0, outage_ms=0.0, outages=[], answers={})


def timing_error(params):
    """What is wrong with the timing options (None: nothing)."""
    if not 0 < params["duration_s"] <= MAX_DURATION_S:
        return f"duration_s must be above 0 and at most {MAX_DURATION_S}, got {params['duration_s']}"
    if params["interval_ms"] < 1 or params["timeout_ms"] < 1 or params["max_queries"] < 1:
        return "interval_ms, timeout_ms and max_queries must be positive"
    return None


def stop_when_file_exists(path, every=0.1):
    """A stop test for the probes: true once path exists (looked at every `every` seconds at
    most), so whoever starts a long probe can end it when the work it measures is done.
    A file left from an earlier probe is removed first. None without a path."""
    if not path:
        return None
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    state = {"next": 0.0}

    def stop(now):
        if now < state["next"]:
            return False
        state["next"] = now + every
        return os.path.exists(path)
    return stop


def summarise(results, interval_ms):
    """results: list of (sent_at_seconds, answer_or_None) in send order."""
    outages, run_start, run_count = [], None, 0
    first = results[0][0] if results else 0.0
    for sent_at, answer in results:
        if answer is None:
            if run_start is None:
                run_start, run_count = sent_at, 0
            run_count += 1
        elif run_start is not None:
            outages.append({"start_ms": round((run_start - first) * 1000, 1),
                            "duration_ms": round((sent_at - run_start) * 1000, 1),
                            "queries": run_count})
            run_start = None
    if run_start is not None:
        last = results[-1][0]
        outages.append({"start_ms": round((run_start - first) * 1000, 1),
                        "duration_ms": round((last - run_start) * 1000 + interval_ms, 1),
                        "queries": run_count, "unresolved": True})
    answers = {}
    for dummy, answer in results:
        if answer is not None:
            answers[answer] = answers.get(answer, 0) + 1
    unanswered = sum(1 for dummy, answer in results if answer is None)
    return {
        "sent": len(results),
        "answered": len(results) - unanswered,
        "unanswered": unanswered,
        "outage_ms": max((o["duration_ms"] for o in outages), default=0.0),
        "outages": outages,
        "answers": answers,
    }


def probe_datagrams(sock, destination, make_request, read_answer, interval, timeout, duration, max_queries,
                    stop=None):
    """Send one request every interval seconds for duration seconds over the UDP socket sock
    (non-blocking is set here) to destination, each answered or not within timeout.

    make_request(pending) returns (wire, key) for a new request whose key (the DNS id, the
    DHCP transaction id) is not in pending; read_answer(wire) returns (key, answer) for a
    datagram received, answer None for a failed one, or None for a datagram to ignore.
    stop(now), when given, ends the sending early once it returns true.
    Returns [(sent_at, answer or None)] in send order. sock is closed at the end."""
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    pending = {}   # key -> index in results
    results = []   # [sent_at, answer, deadline]
    start = time.monotonic()
    next_send = start
    end = start + duration
    try:
        while True:
            now = time.monotonic()
            if stop is not None and now < end and stop(now):
                end = now
            if now >= next_send and now < end and len(results) < max_queries:
                wire, key = make_request(pending)
                try:
                    sock.sendto(wire, destination)
                except OSError:
                    pass  # unreachable right now: counts as a failed request
                pending[key] = len(results)
                results.append([now, None, now + timeout])
                next_send += interval
                if next_send < now:  # fell behind: do not burst to catch up
                    next_send = now + interval
            for key in [k for k, i in pending.items() if results[i][2] <= now]:
                del pending[key]
            if now >= end and not pending:
                break
            if now >= end + timeout or len(results) >= max_queries and not pending:
                break
            wait = max(0.0, min(next_send, end + timeout) - time.monotonic())
            for _key, _events in sel.select(timeout=wait):
                try:
                    wire, _addr = sock.recvfrom(65535)
                except OSError:
                    continue
                read = read_answer(wire)
                if read is None:
                    continue
                index = pending.pop(read[0], None)
                if index is not None and time.monotonic() <= results[index][2]:
                    results[index][1] = read[1]
    finally:
        sel.close()
        sock.close()
    return [(sent_at, answer) for sent_at, answer, dummy in results]
