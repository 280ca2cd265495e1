"""dnsdist.conf.j2 rendered by Ansible itself (ansible-playbook on localhost with the role's
defaults and vars, the template module with the role's lstrip_blocks), and the Lua it
produces compared with what dnsdist reads: listeners (IPv6 in brackets), the health
check's own listener, the ACL with loopback, backends with their checks and weights, the
policy, the cache, the rate limit, the console and the web server."""

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
ROLE = REPO / "roles" / "dnsdist"
PLAYBOOK = shutil.which("ansible-playbook") or str(Path(sys.executable).parent / "ansible-playbook")

BASE = {"dnsdist_backends": {"be1": "10.0.0.21", "be2": "fd00::22"}, "dnsdist_acl": ["10.0.0.0/24"],
        "dnsdist_console_key": "bGFiLW9ubHktZG5zZGlzdC1jb25zb2xlLWtleS0zMmI=",
        "dnsdist_webserver_password": "w", "dnsdist_webserver_api_key": "k"}
VIP = dict(BASE, dnsdist_listen_address="10.0.0.100", dnsdist_listen_address6="fd00::100",
           dnsdist_dot_enabled=True, dnsdist_doh_enabled=True, dnsdist_tls_certificate="/c", dnsdist_tls_key="/k",
           dnsdist_policy="wrandom", dnsdist_backend_weights={"be2": 3}, dnsdist_check_name="www.abc.local",
           dnsdist_rate_limit_qps=50, dnsdist_rate_limit_action="refuse", dnsdist_webserver_address="10.0.0.11")
PLAIN = dict(BASE, dnsdist_packet_cache_size=0, dnsdist_webserver_enabled=False)

PLAY = """
- name: Render dnsdist.conf as the role does
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [{defaults}, {vars}, "{{{{ case }}}}.yml"]
  tasks:
    - name: Check like tasks/validate.yml
      ansible.builtin.import_tasks: {validate}
    - name: Render dnsdist.conf and the secrets
      ansible.builtin.template:
        src: "{{{{ item }}}}"
        dest: "{{{{ out }}}}/{{{{ case }}}}-{{{{ item | basename | regex_replace('.j2$', '') }}}}"
        lstrip_blocks: true
        mode: "0600"
      loop: [{template}, {secrets}]
"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dnsdist")
    (tmp / "play.yml").write_text(PLAY.format(defaults=ROLE / "defaults/main.yml", vars=ROLE / "vars/main.yml",
                                              validate=ROLE / "tasks/validate.yml",
                                              template=ROLE / "templates/dnsdist.conf.j2",
                                              secrets=ROLE / "templates/secrets.conf.j2"))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"}
    out = {}
    for case, data in (("vip", VIP), ("plain", PLAIN)):
        (tmp / f"{case}.yml").write_text(yaml.safe_dump(data))
        run = subprocess.run([PLAYBOOK, "-i", "localhost,", str(tmp / "play.yml"), "-e", f"case={case}",
                              "-e", f"out={tmp}", "-e", json.dumps({"ansible_python_interpreter": sys.executable})],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert run.returncode == 0, f"ansible-playbook failed:\n{run.stdout}\n{run.stderr}"
        out[case] = (tmp / f"{case}-dnsdist.conf").read_text()
        out[f"{case}-secrets"] = (tmp / f"{case}-secrets.conf").read_text()
    return out


def lines(text):
    return [line for line in text.splitlines() if line and not line.startswith("--")]


def test_listeners_on_both_vips_and_the_health_checks_own_on_loopback(rendered):
    listeners = [line for line in lines(rendered["vip"]) if "Local(" in line]
    assert listeners == [
        'setLocal("10.0.0.100:53", {reusePort=true})',
        'addTLSLocal("10.0.0.100:853", "/etc/dnsdist/tls/server.crt", "/etc/dnsdist/tls/server.key", '
        '{minTLSVersion="tls1.2"})',
        'addDOHLocal("10.0.0.100:443", "/etc/dnsdist/tls/server.crt", "/etc/dnsdist/tls/server.key", "/dns-query", '
        '{minTLSVersion="tls1.2"})',
        'addLocal("[fd00::100]:53", {reusePort=true})',
        'addTLSLocal("[fd00::100]:853", "/etc/dnsdist/tls/server.crt", "/etc/dnsdist/tls/server.key", '
        '{minTLSVersion="tls1.2"})',
        'addDOHLocal("[fd00::100]:443", "/etc/dnsdist/tls/server.crt", "/etc/dnsdist/tls/server.key", "/dns-query", '
        '{minTLSVersion="tls1.2"})',
        'addLocal("127.0.0.1:53")',
    ]
    # every IPv4 address already takes 127.0.0.1: no second listener there
    assert [line for line in lines(rendered["plain"]) if "Local(" in line] == ['setLocal("0.0.0.0:53", {reusePort=true})']


def test_the_acl_admits_the_client_networks_and_loopback_only(rendered):
    assert 'setACL({ "10.0.0.0/24", "127.0.0.0/8", "::1/128" })' in lines(rendered["vip"])


def test_backends_are_checked_with_a_real_question_and_weighted(rendered):
    servers = [line for line in lines(rendered["vip"]) if line.startswith("newServer(")]
    assert servers == [
        'newServer({address="10.0.0.21:53", name="be1", weight=1, checkName="www.abc.local.", checkType="A", '
        'mustResolve=true, checkInterval=1, checkTimeout=1000, maxCheckFailures=2, rise=2})',
        'newServer({address="[fd00::22]:53", name="be2", weight=3, checkName="www.abc.local.", checkType="A", '
        'mustResolve=true, checkInterval=1, checkTimeout=1000, maxCheckFailures=2, rise=2})',
    ]
    assert "setServerPolicy(wrandom)" in lines(rendered["vip"])
    assert "setServerPolicy(roundrobin)" in lines(rendered["plain"])


def test_the_cache_and_the_rate_limit_only_when_asked(rendered):
    vip, plain = lines(rendered["vip"]), lines(rendered["plain"])
    assert 'getPool(""):setCache(newPacketCache(10000, {maxTTL=86400, cookieHashing=true}))' in vip
    assert "addAction(MaxQPSIPRule(50, 32, 64, 50), RCodeAction(DNSRCode.REFUSED))" in vip
    assert not [line for line in plain if "PacketCache" in line or "MaxQPSIPRule" in line]


def test_the_console_on_localhost_and_the_web_server_on_its_management_address(rendered):
    vip, plain = lines(rendered["vip"]), lines(rendered["plain"])
    assert 'controlSocket("127.0.0.1:5199")' in vip and 'setConsoleACL({"127.0.0.0/8", "::1/128"})' in vip
    assert 'webserver("10.0.0.11:8083")' in vip
    assert not [line for line in plain if line.startswith("webserver(")]
    # and never the security poll (a query to the Internet)
    assert 'setSecurityPollSuffix("")' in vip and 'setSecurityPollSuffix("")' in plain


def test_the_secrets_stay_out_of_the_config_whose_diff_and_check_show(rendered):
    for case in ("vip", "plain"):
        assert 'includeDirectory("/etc/dnsdist/secrets.d")' in lines(rendered[case])
        assert not [line for line in lines(rendered[case]) if "setKey" in line or "password" in line]
    assert lines(rendered["vip-secrets"]) == [
        'setKey("bGFiLW9ubHktZG5zZGlzdC1jb25zb2xlLWtleS0zMmI=")',
        'setWebserverConfig({password="w", apiKey="k", acl="127.0.0.0/8, ::1/128", hashPlaintextCredentials=true})']
    assert lines(rendered["plain-secrets"]) == ['setKey("bGFiLW9ubHktZG5zZGlzdC1jb25zb2xlLWtleS0zMmI=")']
