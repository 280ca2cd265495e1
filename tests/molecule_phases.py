#!/usr/bin/env python3
"""Where a `molecule test` run spends its time, for the summary of tests/run.

    molecule test -s X 2>&1 | python tests/molecule_phases.py stamp > LOG
    python tests/molecule_phases.py summary LOG      ->  "create/destroy 21 s 9%, converge ..."

`stamp` copies its input with the epoch second in front of each line; `summary` adds up
the actions between Molecule's "➜ ACTION: Executing" and "➜ ACTION: Executed" lines.
"""

from __future__ import annotations

import re
import sys
import time

# "keepalived ➜ converge: Executing" (colour) or "[keepalived > converge] Executing" (NO_COLOR)
_SGR = r"(?:\x1b\[[0-9;]*m)*"
ACTION = re.compile(rf"(?:➜\s+{_SGR}(\w+){_SGR}:|\[[\w.-]+ > (\w+)\]) {_SGR}(Executing|Executed)")
GROUPS = {"create": "create/destroy", "destroy": "create/destroy", "converge": "converge",
          "idempotence": "converge", "verify": "verify"}


def stamp(source, sink) -> None:
    for line in source:
        sink.write(f"{time.time():.1f} {line}")
        sink.flush()


def phases(lines) -> dict[str, float]:
    """Seconds per group of actions (create/destroy, converge, verify, other)."""
    totals: dict[str, float] = {}
    started: dict[str, float] = {}
    for line in lines:
        stamp_text, _, text = line.partition(" ")
        match = ACTION.search(text)
        if not match:
            continue
        when, action, what = float(stamp_text), match.group(1) or match.group(2), match.group(3)
        if what == "Executing":
            started.setdefault(action, when)
        elif action in started:
            group = GROUPS.get(action, "other")
            totals[group] = totals.get(group, 0.0) + when - started.pop(action)
    return totals


def summary(lines) -> str:
    totals = phases(lines)
    whole = sum(totals.values()) or 1.0
    order = ["create/destroy", "converge", "verify", "other"]
    return ", ".join(f"{name} {totals[name]:.0f} s {100 * totals[name] / whole:.0f}%"
                     for name in order if name in totals)


def main(argv: list[str]) -> int:
    if argv[1:2] == ["stamp"]:
        stamp(sys.stdin, sys.stdout)
        return 0
    if argv[1:2] == ["summary"] and len(argv) == 3:
        with open(argv[2], encoding="utf-8", errors="replace") as handle:
            print(summary(handle))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
