"""Without the netaddr library on the controller, the filter plugins still load (Ansible
would otherwise skip them: "No filter named ...") and calling one that needs netaddr fails
with one clear message naming `pip install netaddr`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NETADDR_FILTERS = ["split_pool", "dhcp_plan", "dhcp_subnets", "pair_peers", "dhcpd_failover", "split_ranges",
                   "peer_addresses", "kea_ha", "keepalived_virtual_servers", "ipvs_resolver_conflicts",
                   "nginx_stream_plan", "nginx_configure_paths", "vrrp_instances", "variant_wiring", "vrrp_vips"]
# every filter plugin module of the collection, so that a new one is imported without netaddr too
FILTER_MODULES = sorted(path.stem for path in (REPO / "plugins/filter").glob("*.py"))
POOL = {"subnet": "192.168.1.0/24", "start": "192.168.1.100", "end": "192.168.1.199"}


def adhoc(tmp_path, expression, block_netaddr):
    """`ansible localhost -m debug` evaluating expression, with netaddr made unimportable by
    a module of that name on PYTHONPATH that raises ImportError."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    if block_netaddr:
        shadow = tmp_path / "shadow"
        shadow.mkdir(exist_ok=True)
        (shadow / "netaddr.py").write_text("raise ImportError(\"No module named 'netaddr'\")\n")
        env["PYTHONPATH"] = str(shadow)
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local", "-i", "localhost,",
         "-m", "ansible.builtin.debug", "-a", f"msg={{{{ {expression} }}}}", "-e", json.dumps({"pool": POOL})],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120)


def test_a_netaddr_filter_without_netaddr_says_pip_install_netaddr(tmp_path):
    run = adhoc(tmp_path, "pool | hastack.dns_dhcp.split_pool(2)", block_netaddr=True)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert "No filter named" not in out and "Skipping filter plugins" not in out, out
    assert "The filter hastack.dns_dhcp.split_pool of hastack.dns_dhcp needs the Python library netaddr" in out, out
    assert "pip install netaddr" in out and "requirements.txt" in out, out


def test_filters_without_netaddr_keep_working_without_it(tmp_path):
    run = adhoc(tmp_path, "'example.org' | hastack.dns_dhcp.dns_tcp_query_hex | length > 0", block_netaddr=True)
    assert run.returncode == 0 and '"msg": true' in run.stdout, run.stdout + run.stderr


def test_with_netaddr_the_same_filter_works(tmp_path):
    run = adhoc(tmp_path, "pool | hastack.dns_dhcp.split_pool(2) | map(attribute='size') | list", block_netaddr=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "50" in run.stdout and "netaddr" not in run.stdout + run.stderr


def test_every_netaddr_filter_is_guarded():
    """In a Python where `import netaddr` fails, every filter module imports and each filter
    that needs netaddr raises AnsibleFilterError with the message (a fresh interpreter: the
    collection's modules are imported anew there)."""
    script = f"""
import importlib, sys
sys.modules['netaddr'] = None
sys.path[:0] = [{str(REPO / 'collections')!r}]
from ansible.errors import AnsibleFilterError
found = {{}}
for name in {FILTER_MODULES!r}:
    module = importlib.import_module('ansible_collections.hastack.dns_dhcp.plugins.filter.' + name)
    found.update(module.FilterModule().filters())
for name in {NETADDR_FILTERS!r}:
    try:
        found[name]({{}}, 2)
    except AnsibleFilterError as exc:
        assert 'pip install netaddr' in str(exc) and 'hastack.dns_dhcp.' + name in str(exc), (name, exc)
    else:
        raise AssertionError(name + ' ran without netaddr')
print('guarded', len({NETADDR_FILTERS!r}))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60)
    assert run.returncode == 0 and f"guarded {len(NETADDR_FILTERS)}" in run.stdout, run.stdout + run.stderr


@pytest.mark.parametrize("name", NETADDR_FILTERS)
def test_the_guarded_list_is_the_plugins_list(name):
    """Each name above is a filter of the collection (so the guard test covers real filters)."""
    assert (REPO / "plugins/filter" / f"{name}.yml").is_file()
