"""tests/molecule_phases.py: where a molecule run spends its time, in both of molecule's log formats."""

from __future__ import annotations

from tests.molecule_phases import phases, summary

PLAIN = """100.0 INFO     [keepalived > create] Executing
106.0 INFO     [keepalived > create] Executed: Successful
106.0 INFO     [keepalived > converge] Executing
136.0 INFO     [keepalived > converge] Executed: Successful
136.0 INFO     [keepalived > verify] Executing
196.0 INFO     [keepalived > verify] Executed: Failed
196.5 INFO     [keepalived > destroy] Executing
200.5 INFO     [keepalived > destroy] Executed: Successful
""".splitlines()

COLOUR = ["10.0 \x1b[36mINFO\x1b[0m \x1b[32mkea\x1b[0m ➜ \x1b[33mconverge\x1b[0m: \x1b[36mExecuting\x1b[0m",
          "25.0 \x1b[36mINFO\x1b[0m \x1b[32mkea\x1b[0m ➜ \x1b[33mconverge\x1b[0m: \x1b[32mExecuted: Successful\x1b[0m"]


def test_plain_log_lines_are_grouped_into_phases():
    assert phases(PLAIN) == {"create/destroy": 10.0, "converge": 30.0, "verify": 60.0}
    assert summary(PLAIN) == "create/destroy 10 s 10%, converge 30 s 30%, verify 60 s 60%"


def test_coloured_log_lines_count_too():
    assert phases(COLOUR) == {"converge": 15.0}
