"""Prints how long each step of the execution environment suite took (after the results)."""

import sys


def pytest_terminal_summary(terminalreporter):
    for module in list(sys.modules.values()):
        times = getattr(module, "EE_SUITE_TIMES", None)
        if isinstance(times, dict):
            for name, seconds in times.items():
                terminalreporter.write_line(f"EE TIME {name}: {seconds:.0f} s")
            return
