"""keepalived.conf.j2 with virtual servers, rendered by Ansible itself (ansible-playbook on
localhost, the role's defaults, the role's filters, the template module with the role's
lstrip_blocks), and the text compared with what keepalived.conf(5) expects. When
keepalived is installed, `keepalived -t` checks the files too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "keepalived"

REAL = {"dns1": {"address": "10.0.0.21"}, "dns2": {"address": "10.0.0.22", "weight": 2}}
DR = {
    "keepalived_instances": {"VI_DNS": {"interface": "eth0", "virtual_router_id": 51,
                                        "virtual_ipaddresses": ["10.0.0.100/24"]}},
    "keepalived_dns_check_name": "www.abc.local",
    "keepalived_virtual_servers": {
        "dns_udp": {"address": "10.0.0.100", "port": 53, "protocol": "UDP", "real_servers": REAL},
        "dns_tcp": {"address": "10.0.0.100", "port": 53, "protocol": "TCP", "persistence_timeout": 50,
                    "check": {"checker": "MISC_CHECK"}, "real_servers": REAL},
    },
}
OTHERS = {
    "keepalived_instances": {},
    "keepalived_dns_check_name": "www.abc.local",
    "keepalived_virtual_server_groups": {
        "DNS": {"addresses": [{"address": "10.0.0.100-101", "port": 53}], "fwmarks": [7]}},
    "keepalived_virtual_servers": {
        "a_group": {"group": "DNS", "protocol": "UDP", "ops": True, "alpha": True, "quorum": 2, "hysteresis": 1,
                    "quorum_down": "/usr/local/bin/page ops", "sorry_server": {"address": "10.0.0.30"},
                    "check": {"checker": "UDP_CHECK", "require_reply": True, "connect_timeout": 4},
                    "real_servers": {"dns1": {"address": "10.0.0.21", "inhibit_on_failure": True,
                                              "notify_down": "/usr/local/bin/rs-down dns1"},
                                     "dns2": {"address": "10.0.0.22", "weight": 2,
                                              "check": {"checker": "TCP_CHECK"}}}},
        "b_mark": {"fwmark": 5, "lb_algo": "sh", "lb_kind": "TUN",
                   "check": {"checker": "DNS_CHECK", "type": "SOA", "name": "abc.local", "connect_port": 53},
                   "real_servers": {"dns1": {"address": "10.0.0.21"}}},
        "c_doh": {"address": "10.0.0.100", "port": 443, "protocol": "TCP", "lb_kind": "NAT",
                  "persistence_timeout": 300, "persistence_granularity": "255.255.255.0",
                  "check": {"checker": "SSL_GET", "enable_sni": True,
                            "urls": [{"path": "/health", "status_code": 200},
                                     {"path": "/", "digest": "9b3a0c85a887a256d6939da88aabd8cd"}]},
                  "real_servers": {"dns1": {"address": "10.1.0.21", "port": 8443}}},
    },
}

PLAYBOOK = """
- name: Render keepalived.conf as the role does
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files:
    - {defaults}
    - "{{{{ case }}}}.yml"
  tasks:
    - name: Resolve like tasks/validate.yml
      ansible.builtin.import_tasks: {validate}
    - name: Render keepalived.conf
      ansible.builtin.template:
        src: {template}
        dest: "{{{{ out }}}}/{{{{ case }}}}.conf"
        lstrip_blocks: true
        mode: "0600"
"""


def render(tmp_path, case, data):
    (tmp_path / f"{case}.yml").write_text(yaml.safe_dump(data))
    play = tmp_path / "render.yml"
    play.write_text(PLAYBOOK.format(defaults=ROLE / "defaults" / "main.yml",
                                    validate=ROLE / "tasks" / "validate.yml",
                                    template=ROLE / "templates" / "keepalived.conf.j2"))
    playbook = shutil.which("ansible-playbook") or str(Path(sys.executable).parent / "ansible-playbook")
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"}
    run = subprocess.run([playbook, "-i", "localhost,", str(play), "-e", f"case={case}", "-e", f"out={tmp_path}",
                          "-e", json.dumps({"keepalived_peers": ["localhost"], "keepalived_router_id": "lvs1",
                                            "ansible_python_interpreter": sys.executable})],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, f"ansible-playbook failed:\n{run.stdout}\n{run.stderr}"
    return (tmp_path / f"{case}.conf").read_text()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    if not (shutil.which("ansible-playbook") or (Path(sys.executable).parent / "ansible-playbook").exists()):
        pytest.skip("ansible-playbook is not installed")
    tmp = tmp_path_factory.mktemp("keepalived")
    # the real servers' drain files are left out here (their own test below)
    return {"dr": render(tmp, "dr", {**DR, "keepalived_real_server_drain_dir": None}),
            "others": render(tmp, "others", {**OTHERS, "keepalived_real_server_drain_dir": None}), "dir": tmp}


DR_VIRTUAL_SERVERS = '''
# virtual server dns_tcp
virtual_server 10.0.0.100 53 {
    delay_loop 3
    lb_algo wrr
    lb_kind DR
    persistence_timeout 50
    protocol TCP

    # dns1
    real_server 10.0.0.21 53 {
        weight 1
        MISC_CHECK {
            misc_path "/usr/local/libexec/hastack/keepalived-dns-check -s 10.0.0.21 -p 53 -n www.abc.local -t A -w 2 -T"
            misc_timeout 3
        }
    }

    # dns2
    real_server 10.0.0.22 53 {
        weight 2
        MISC_CHECK {
            misc_path "/usr/local/libexec/hastack/keepalived-dns-check -s 10.0.0.22 -p 53 -n www.abc.local -t A -w 2 -T"
            misc_timeout 3
        }
    }
}

# virtual server dns_udp
virtual_server 10.0.0.100 53 {
    delay_loop 3
    lb_algo wrr
    lb_kind DR
    protocol UDP

    # dns1
    real_server 10.0.0.21 53 {
        weight 1
        DNS_CHECK {
            connect_timeout 2
            retry 2
            delay_before_retry 1
            type A
            name www.abc.local
        }
    }

    # dns2
    real_server 10.0.0.22 53 {
        weight 2
        DNS_CHECK {
            connect_timeout 2
            retry 2
            delay_before_retry 1
            type A
            name www.abc.local
        }
    }
}
'''


def test_dr_udp_and_tcp_53_read_like_keepalived_conf(rendered):
    text = rendered["dr"]
    assert text.endswith(DR_VIRTUAL_SERVERS), f"expected the file to end with:\n{DR_VIRTUAL_SERVERS}\nsaw:\n{text}"
    vrrp = text.index("vrrp_instance VI_DNS {")
    assert vrrp < text.index("virtual_server 10.0.0.100 53 {"), "virtual servers come after the VRRP instance"
    assert "10.0.0.100/24 dev eth0" in text
    assert "virtual_server_group" not in text


def test_no_trailing_blanks_and_no_double_blank_lines(rendered):
    for name in ("dr", "others"):
        text = rendered[name]
        assert "\n\n\n" not in text, f"{name}: a double blank line"
        bad = [line for line in text.splitlines() if line != line.rstrip()]
        assert not bad, f"{name}: lines with trailing blanks: {bad}"


OTHERS_EXPECTED = [
    "virtual_server_group DNS {\n    10.0.0.100-101 53\n    fwmark 7\n}\n",
    "virtual_server group DNS {\n    delay_loop 3\n    lb_algo wrr\n    lb_kind DR\n    ops\n    protocol UDP\n"
    "    alpha\n    quorum 2\n    hysteresis 1\n    quorum_down \"/usr/local/bin/page ops\"\n"
    "    sorry_server 10.0.0.30 53\n",
    "    real_server 10.0.0.21 53 {\n        weight 1\n        inhibit_on_failure\n"
    "        notify_down \"/usr/local/bin/rs-down dns1\"\n        UDP_CHECK {\n            connect_timeout 4\n"
    "            require_reply\n        }\n    }\n",
    "    real_server 10.0.0.22 53 {\n        weight 2\n        TCP_CHECK {\n        }\n    }\n",
    "virtual_server fwmark 5 {\n    delay_loop 3\n    lb_algo sh\n    lb_kind TUN\n\n",
    "    real_server 10.0.0.21 {\n        weight 1\n        DNS_CHECK {\n            connect_port 53\n"
    "            connect_timeout 2\n            retry 2\n            delay_before_retry 1\n            type SOA\n            name abc.local\n        }\n    }\n",
    "virtual_server 10.0.0.100 443 {\n    delay_loop 3\n    lb_algo wrr\n    lb_kind NAT\n"
    "    persistence_timeout 300\n    persistence_granularity 255.255.255.0\n    protocol TCP\n",
    "    real_server 10.1.0.21 8443 {\n        weight 1\n        SSL_GET {\n            enable_sni\n"
    "            url {\n                path /health\n                status_code 200\n            }\n"
    "            url {\n                path /\n                digest 9b3a0c85a887a256d6939da88aabd8cd\n"
    "            }\n        }\n    }\n",
]


@pytest.mark.parametrize("block", OTHERS_EXPECTED)
def test_groups_fwmarks_and_the_other_checkers(rendered, block):
    assert block in rendered["others"], f"expected:\n{block}\nin:\n{rendered['others']}"


def test_no_virtual_servers_renders_no_lvs_block(tmp_path):
    text = render(tmp_path, "vrrp_only", {"keepalived_instances": DR["keepalived_instances"]})
    assert "virtual_server" not in text
    assert text.rstrip().endswith("}")


@pytest.mark.skipif(not shutil.which("keepalived"), reason="keepalived is not installed here")
def test_keepalived_accepts_the_rendered_files(rendered):
    checker = ROLE / "files" / "keepalived-check-config"
    for name in ("dr", "others"):
        conf = rendered["dir"] / f"{name}.conf"
        run = subprocess.run(["sh", str(checker), str(conf)], capture_output=True, text=True, check=False)
        assert run.returncode == 0, f"keepalived refused {name}:\n{run.stdout}{run.stderr}"


def test_every_instance_tracks_the_drain_file_a_sync_group_by_fault(tmp_path):
    instances = {name: {"interface": "eth0", "virtual_router_id": vrid, "virtual_ipaddresses": [vip]}
                 for name, vrid, vip in [("VI_DNS", 51, "10.0.0.100/24"), ("VI_LAN", 52, "10.0.0.1/24"),
                                         ("VI_UP", 53, "10.0.1.1/24")]}
    text = render(tmp_path, "drain", {"keepalived_instances": instances,
                                      "keepalived_sync_groups": {"GW": {"group": ["VI_LAN", "VI_UP"]}}})
    assert ('vrrp_track_file hastack_drain {\n    file "/etc/keepalived/hastack-drain"\n    weight -1\n'
            '    init_file 0\n}\n') in text, text
    assert 'vrrp_track_file hastack_drain_fault {\n    file "/etc/keepalived/hastack-drain"\n    weight 0\n}\n' in text
    blocks = {name: text[text.index(f"vrrp_instance {name} {{"):] for name in instances}
    assert "track_file {\n        hastack_drain\n    }" in blocks["VI_DNS"].split("\n}\n")[0]
    for name in ("VI_LAN", "VI_UP"):
        assert "track_file {\n        hastack_drain_fault\n    }" in blocks[name].split("\n}\n")[0], name
    # null leaves it out
    text = render(tmp_path, "no_drain", {"keepalived_instances": instances, "keepalived_drain_file": None})
    assert "hastack_drain" not in text


def test_every_real_server_tracks_its_drain_file(tmp_path):
    """One track_file per real server name (created with 0 by keepalived), and a FILE_CHECK
    with weight 0 in every real_server of that name: a value other than 0 takes it out."""
    text = render(tmp_path, "rs_drain", DR)
    for name in ("dns1", "dns2"):
        assert (f'track_file hastack_rs_{name} {{\n    file "/etc/keepalived/hastack-drained-rs/{name}"\n'
                f'    weight 0\n    init_file 0\n}}\n') in text, text
    blocks = text.split("    real_server ")[1:]
    assert len(blocks) == 4, text
    for block in blocks:
        name = "dns1" if block.startswith("10.0.0.21 ") else "dns2"
        assert (f"        FILE_CHECK {{\n            track_file hastack_rs_{name}\n            weight 0\n"
                f"        }}\n") in block.split("\n    }\n")[0] + "\n", block
