"""Unit tests of hastack-dns-lb-pool (roles/nftables_lb/files), the nftables_lb role's tool that
loads the DNS load-balancing table and drains backends from its pool maps: nft and conntrack are
faked, the files live in a temporary directory."""

from __future__ import annotations

import importlib.util
import json
from importlib.machinery import SourceFileLoader
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "roles/nftables_lb/files/hastack-dns-lb-pool"
BE1, BE2, BE3 = "10.0.0.21", "10.0.0.22", "10.0.0.23"
BE1_6, BE2_6 = "fd00::21", "fd00::22"


@pytest.fixture
def tool(tmp_path, monkeypatch):
    loader = SourceFileLoader("hastack_dns_lb_pool", str(TOOL))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    (tmp_path / "pools.json").write_text(json.dumps({"ipv4": [BE1, BE2, BE3], "ipv6": [BE1_6, BE2_6]}))
    (tmp_path / "table.nft").write_text("table ip hastack_dns_lb\n")
    monkeypatch.setattr(module, "POOLS_FILE", str(tmp_path / "pools.json"))
    monkeypatch.setattr(module, "DRAINED_FILE", str(tmp_path / "drained"))
    monkeypatch.setattr(module, "TABLE_FILE", str(tmp_path / "table.nft"))
    module.calls = []
    monkeypatch.setattr(module, "nft", lambda text: module.calls.append(("nft", text)))
    monkeypatch.setattr(module, "conntrack", lambda *args: module.calls.append(("conntrack", args)) or [])
    return module


def elements(text: str, family: str) -> str:
    line = next(line for line in text.splitlines() if line.startswith(f"add element {family} "))
    return line.split("{ ", 1)[1].rstrip(" }")


def test_a_drained_backend_s_slots_go_to_the_others_in_turn(tool):
    assert tool.slots([BE1, BE2, BE3], []) == [f"0 : {BE1}", f"1 : {BE2}", f"2 : {BE3}"]
    assert tool.slots([BE1, BE2, BE3], [BE2]) == [f"0 : {BE1}", f"1 : {BE1}", f"2 : {BE3}"]
    assert tool.slots([BE1, BE2, BE3], [BE1, BE2]) == [f"0 : {BE3}", f"1 : {BE3}", f"2 : {BE3}"]
    assert tool.slots([BE1, BE2, BE3], [BE1]) == [f"0 : {BE2}", f"1 : {BE2}", f"2 : {BE3}"]
    assert tool.slots([BE1, BE2], [BE1, "10.9.9.9"]) == [f"0 : {BE2}", f"1 : {BE2}"]


def test_a_drain_that_would_empty_a_pool_is_refused_and_a_load_keeps_them_all(tool, capsys):
    with pytest.raises(SystemExit):
        tool.slots([BE1, BE2], [BE1, BE2])
    assert "every backend of a pool would be drained" in capsys.readouterr().err
    assert tool.slots([BE1, BE2], [BE1, BE2], strict=False) == [f"0 : {BE1}", f"1 : {BE2}"]


def test_drain_sets_every_pool_in_one_transaction_notes_it_and_ends_its_udp_flows(tool, tmp_path):
    tool.main(["drain", "be2", BE2, BE2_6])
    (kind, text), *flushes = tool.calls
    assert kind == "nft" and text.count("delete element") == 2
    assert elements(text, "ip") == f"0 : {BE1}, 1 : {BE1}, 2 : {BE3}"
    assert elements(text, "ip6") == f"0 : {BE1_6}, 1 : {BE1_6}"
    assert (tmp_path / "drained").read_text() == f"{BE2}\n{BE2_6}\n"
    assert flushes == [("conntrack", ("-D", "-f", "ipv4", "-p", "udp", "-r", BE2)),
                       ("conntrack", ("-D", "-f", "ipv6", "-p", "udp", "-r", BE2_6))]


def test_restore_puts_back_only_the_named_backend_and_load_reads_the_drained_file(tool, tmp_path):
    (tmp_path / "drained").write_text(f"{BE2}\n{BE3}\n")
    tool.main(["restore", "be2", BE2])
    assert elements(tool.calls[0][1], "ip") == f"0 : {BE1}, 1 : {BE2}, 2 : {BE1}"
    assert (tmp_path / "drained").read_text() == f"{BE3}\n"
    tool.calls.clear()
    tool.main(["load"])
    (kind, text), = tool.calls
    assert text.startswith("table ip hastack_dns_lb\n")
    assert elements(text, "ip") == f"0 : {BE1}, 1 : {BE2}, 2 : {BE1}"


def test_state_names_the_backend_and_counts_its_open_flows(tool, monkeypatch, capsys):
    flows = {BE2: ["udp      17 29 src=10.0.0.5 dst=10.0.0.100 sport=4000 dport=53 src=10.0.0.22 ...",
                   "tcp      6 431999 ESTABLISHED src=10.0.0.5 dst=10.0.0.100 ...",
                   "tcp      6 100 TIME_WAIT src=10.0.0.5 dst=10.0.0.100 ..."]}
    monkeypatch.setattr(tool, "conntrack", lambda *args: flows.get(args[-1], []))
    monkeypatch.setattr(tool, "live_slots", lambda pool: {"ipv4": {BE1, BE3}, "ipv6": {BE1_6, BE2_6}}[pool])
    tool.main(["state", "be2", BE2, BE2_6])
    assert capsys.readouterr().out.splitlines() == [
        f"ipv4 {BE1} up 0", "ipv4 be2 down 2", f"ipv4 {BE3} up 0", f"ipv6 {BE1_6} up 0", "ipv6 be2 up 0"]
