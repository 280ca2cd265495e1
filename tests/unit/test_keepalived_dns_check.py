"""The MISC_CHECK script roles/keepalived/files/keepalived-dns-check, run by sh against a
stand-in dig or kdig that prints what the real tools print for each server state."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "roles" / "keepalived" / "files" / "keepalived-dns-check"

DIG_ANSWER = """
; <<>> DiG 9.18.28-1~deb12u2-Debian <<>> @10.0.0.21 -p 53 www.abc.local A +time=2 +tries=1
;; global options: +cmd
;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: {status}, id: 19615
;; flags: qr aa rd ra; QUERY: 1, ANSWER: {answers}, AUTHORITY: 1, ADDITIONAL: 1

;; QUESTION SECTION:
;www.abc.local.                 IN      A
"""
DIG_TIMEOUT = """
; <<>> DiG 9.18.28-1~deb12u2-Debian <<>> @10.0.0.21 -p 53 www.abc.local A +time=2 +tries=1
;; global options: +cmd
;; connection timed out; no servers could be reached
"""
KDIG_ANSWER = """;; ->>HEADER<<- opcode: QUERY; status: {status}; id: 4242
;; Flags: qr aa rd; QUERY: 1; ANSWER: {answers}; AUTHORITY: 0; ADDITIONAL: 1

;; QUESTION SECTION:
;; www.abc.local.              IN      A
"""


def run(tmp_path, tool, output, *args, exit_code=0):
    """Run the script with only `tool` (dig or kdig) on PATH besides the basic commands."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in ("sed", "head", "printf", "cat"):
        found = shutil.which(name)
        if found and not (bin_dir / name).exists():
            (bin_dir / name).symlink_to(found)
    (tmp_path / "out.txt").write_text(output)
    for old in ("dig", "kdig"):
        (bin_dir / old).unlink(missing_ok=True)
    stub = bin_dir / tool
    stub.write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/args.txt"\ncat "{tmp_path}/out.txt"\nexit {exit_code}\n')
    stub.chmod(0o755)
    env = {**os.environ, "PATH": str(bin_dir)}
    sh = shutil.which("sh")
    done = subprocess.run([sh, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30,
                          check=False)
    called = (tmp_path / "args.txt").read_text().split() if (tmp_path / "args.txt").exists() else []
    return done.returncode, done.stderr, called


ARGS = ("-s", "10.0.0.21", "-p", "53", "-n", "www.abc.local", "-t", "A", "-w", "2")


@pytest.mark.parametrize("tool, template", [("dig", DIG_ANSWER), ("kdig", KDIG_ANSWER)])
def test_noerror_with_an_answer_is_up(tmp_path, tool, template):
    rc, err, called = run(tmp_path, tool, template.format(status="NOERROR", answers=1), *ARGS)
    assert (rc, err) == (0, "")
    assert called[:5] == ["@10.0.0.21", "-p", "53", "www.abc.local", "A"]
    assert "+tcp" not in called


@pytest.mark.parametrize("tool, template", [("dig", DIG_ANSWER), ("kdig", KDIG_ANSWER)])
@pytest.mark.parametrize("status, answers, reason", [
    ("SERVFAIL", 0, "SERVFAIL"), ("REFUSED", 0, "REFUSED"), ("NXDOMAIN", 0, "NXDOMAIN"),
    ("NOERROR", 0, "NOERROR without an answer"),
])
def test_an_error_or_an_empty_answer_is_down(tmp_path, tool, template, status, answers, reason):
    rc, err, _ = run(tmp_path, tool, template.format(status=status, answers=answers), *ARGS)
    assert rc == 1, f"expected exit 1 (down) for {status}/{answers} answers, got {rc}"
    assert f"10.0.0.21 port 53: www.abc.local A: {reason}" in err


def test_no_answer_in_time_is_down(tmp_path):
    rc, err, called = run(tmp_path, "dig", DIG_TIMEOUT, *ARGS, "-T", exit_code=9)
    assert rc == 1 and "10.0.0.21 port 53 tcp: www.abc.local A: no answer" in err
    assert "+tcp" in called and "+time=2" in called and "+tries=1" in called


def test_usage_and_missing_tools_are_down_never_another_code(tmp_path):
    rc, err, _ = run(tmp_path, "dig", "", "-s", "10.0.0.21")
    assert rc == 1 and "usage:" in err
    rc, err, _ = run(tmp_path, "nothing", "", *ARGS)
    assert rc == 1 and "neither dig nor kdig" in err
