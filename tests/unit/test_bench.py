"""bench/dns_lb.py: how it reaches the client (ssh with the lab key, podman exec without one)."""

from __future__ import annotations

import importlib.util
import shlex
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("dns_lb", Path(__file__).resolve().parents[2] / "bench/dns_lb.py")
dns_lb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dns_lb)

COMMAND = ["sh", "-c", "cat > /tmp/bench-x.queries"]


def test_a_container_client_is_reached_with_podman_exec():
    argv = dns_lb.client_command({"hastack-demo-client": {}}, "hastack-demo-client")(COMMAND)
    assert argv == ["podman", "exec", "-i", "hastack-demo-client", *COMMAND]


def test_a_vm_client_is_reached_with_ssh_and_one_quoted_remote_command():
    hostvars = {"vm-client": {"ansible_ssh_private_key_file": "/var/cache/hastack-lab/vm-lab-key",
                              "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o LogLevel=ERROR",
                              "ansible_host": "10.213.57.50"}}
    argv = dns_lb.client_command(hostvars, "vm-client")(COMMAND)
    assert argv[:7] == ["ssh", "-i", "/var/cache/hastack-lab/vm-lab-key", "-o", "StrictHostKeyChecking=no",
                        "-o", "LogLevel=ERROR"]
    assert argv[7] == "root@10.213.57.50"
    assert shlex.split(argv[8]) == COMMAND  # the remote shell sees the same words


def test_a_container_lab_client_is_reached_with_ssh_at_its_first_lab_address():
    hostvars = {"c": {"ansible_ssh_private_key_file": "/var/lib/hastack-lab/ssh/{{ lab_name }}",
                      "lab_name": "hastack-demo", "ansible_user": "root",
                      "ansible_host": "{{ (lab_addresses.values() | first) if lab_addresses is defined else x }}",
                      "lab_addresses": {"lan": "10.213.10.50", "lan_as": "10.213.12.50"}}}
    argv = dns_lb.client_command(hostvars, "c")(COMMAND)
    assert argv[:3] == ["ssh", "-i", "/var/lib/hastack-lab/ssh/hastack-demo"]
    assert argv[-2] == "root@10.213.10.50"


def test_an_unknown_client_is_named():
    with pytest.raises(SystemExit, match="nobody: not a host of the inventory"):
        dns_lb.client_command({}, "nobody")
