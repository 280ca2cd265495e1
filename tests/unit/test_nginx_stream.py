"""Unit tests of the nginx stream services and the source build paths (plugins/module_utils/nginx_stream.py)."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.hastack.dns_dhcp.plugins.filter.nginx_stream import FilterModule
from ansible_collections.hastack.dns_dhcp.plugins.module_utils.nginx_stream import (
    NginxStreamError,
    configure_paths,
    resolve_services,
)

DEFAULTS = {
    "address": "",
    "balance": "round_robin",
    "udp_proxy_timeout": "1s",
    "tcp_proxy_timeout": "3s",
    "proxy_connect_timeout": "1s",
    "proxy_responses": 1,
    "max_fails": 2,
    "fail_timeout": "10s",
    "reuseport": True,
    "next_upstream_tries": 2,
}
BACKENDS = {"be1": "10.0.0.21", "be2": "10.0.0.22"}
SEED = {
    "dns_udp": {"listen": 53, "protocol": "udp"},
    "dns_tcp": {"listen": 53, "protocol": "tcp"},
    "dot": {"listen": 853, "protocol": "tcp"},
    "doh": {"listen": 443, "protocol": "tcp"},
}
SEED_FLAGS = [
    "--prefix=/usr/share/nginx", "--sbin-path=/usr/sbin/nginx", "--modules-path=/usr/lib64/nginx/modules",
    "--conf-path=/etc/nginx/nginx.conf", "--error-log-path=/var/log/nginx/error.log",
    "--http-log-path=/var/log/nginx/access.log", "--with-http_stub_status_module", "--with-http_ssl_module",
    "--with-stream", "--pid-path=/run/nginx.pid",
]


def plan(services=None, backends=None, defaults=None, **kwargs):
    return resolve_services(SEED if services is None else services, BACKENDS if backends is None else backends,
                            dict(DEFAULTS, **(defaults or {})), **kwargs)


def by_name(result):
    return {s["name"]: s for s in result}


def changed(name, **changes):
    data = copy.deepcopy(SEED)
    data[name].update(changes)
    return data


def fails(match, *args, **kwargs):
    with pytest.raises(NginxStreamError, match=match):
        plan(*args, **kwargs)


# ---------------------------------------------------------------- the seed's four services
def test_the_seed_four_services_in_front_of_two_backends():
    result = plan()
    assert [s["name"] for s in result] == ["dns_tcp", "dns_udp", "doh", "dot"]
    services = by_name(result)
    assert [(s["address"], s["name"]) for s in services["dns_udp"]["servers"]] == [
        ("10.0.0.21:53", "be1"), ("10.0.0.22:53", "be2")]
    assert [s["address"] for s in services["dot"]["servers"]] == ["10.0.0.21:853", "10.0.0.22:853"]
    assert [s["address"] for s in services["doh"]["servers"]] == ["10.0.0.21:443", "10.0.0.22:443"]
    assert services["dns_udp"]["listen"] == "53" and services["dns_udp"]["protocol"] == "udp"


def test_udp_gets_proxy_responses_reuseport_and_its_own_timeout():
    services = by_name(plan())
    udp, tcp = services["dns_udp"], services["dns_tcp"]
    assert (udp["proxy_responses"], udp["reuseport"], udp["proxy_timeout"]) == (1, True, "1s")
    assert "proxy_connect_timeout" not in udp
    assert "proxy_responses" not in tcp
    assert (tcp["reuseport"], tcp["proxy_timeout"], tcp["proxy_connect_timeout"]) == (False, "3s", "1s")


def test_passive_health_from_the_defaults_a_service_or_a_backend():
    backends = {"be1": "10.0.0.21", "be2": {"address": "10.0.0.22", "max_fails": 5, "weight": 3}}
    services = by_name(plan(changed("dns_udp", fail_timeout="30s"), backends))
    first, second = services["dns_udp"]["servers"]
    assert (first["max_fails"], first["fail_timeout"], first["weight"]) == (2, "30s", 1)
    assert (second["max_fails"], second["fail_timeout"], second["weight"]) == (5, "30s", 3)
    assert services["dns_tcp"]["servers"][0]["fail_timeout"] == "10s"


def test_listen_address_from_the_default_or_the_service_ipv6_in_brackets():
    services = by_name(plan(changed("dot", address="fd00::53"), defaults={"address": "10.0.0.100"}))
    assert services["dns_udp"]["listen"] == "10.0.0.100:53"
    assert services["dot"]["listen"] == "[fd00::53]:853"
    six = by_name(plan(backends={"be1": "fd00::21"}))
    assert six["dns_tcp"]["servers"][0]["address"] == "[fd00::21]:53"


def test_every_service_listens_on_the_ipv6_address_too_and_reaches_the_same_backends():
    services = by_name(plan(defaults={"address": "10.0.0.100", "address6": "fd00:10::100"}))
    for name, port in (("dns_udp", 53), ("dns_tcp", 53), ("dot", 853), ("doh", 443)):
        assert (services[name]["listen"], services[name]["listen6"]) == \
            (f"10.0.0.100:{port}", f"[fd00:10::100]:{port}"), name
        # the proxy translates families: IPv4 backends behind the IPv6 listen
        assert services[name]["servers"][0]["address"] == f"10.0.0.21:{port}", name
    assert by_name(plan())["dns_udp"]["listen6"] == ""
    every = by_name(plan(changed("dot", address6="::")))
    assert (every["dot"]["listen6"], every["doh"]["listen6"]) == ("[::]:853", "")
    # 53 on every IPv4 address and on every IPv6 address: two families, no conflict
    plan({"a": {"listen": 53, "address6": "::"}, "b": {"listen": 54, "address6": "fd00::1"}})


@pytest.mark.parametrize("services,defaults,match", [
    (SEED, {"address6": "10.0.0.100"},
     r"nginx_stream_listen_address6: '10\.0\.0\.100' is not an IPv6 address"),
    (changed("dot", address6="fd00::zz"), {}, r"nginx_stream_services\.dot\.address6: 'fd00::zz' is not an IPv6"),
    (changed("dot", address6=["fd00::1"]), {}, r"nginx_stream_services\.dot\.address6: must be an IPv6 address"),
    ({"a": {"listen": 53, "address": "10.0.0.5", "address6": "::"},
      "b": {"listen": 53, "address": "10.0.0.6", "address6": "fd00::5"}}, {},
     r"nginx_stream_services\.b\.listen: tcp \[fd00::5\]:53 is also the listen of a"),
    ({"a": {"listen": 53, "address": "fd00::5", "address6": "fd00::5"}}, {},
     r"nginx_stream_services\.a\.address6: \[fd00::5\]:53 is the service's other listen too"),
])
def test_bad_ipv6_listen_addresses_name_the_variable(services, defaults, match):
    fails(match, services, defaults=defaults)


def test_tls_ends_on_the_proxy_and_goes_on_as_plain_dns_tcp_53():
    services = by_name(plan(changed("dot", tls=True), tls_certificate="/c.pem", tls_key="/k.pem"))
    assert services["dot"]["tls"] is True and services["dot"]["backend_port"] == 53
    assert services["dot"]["servers"][0]["address"] == "10.0.0.21:53"
    assert services["doh"]["tls"] is False and services["doh"]["backend_port"] == 443
    explicit = by_name(plan(changed("dot", tls=True, backend_port=5353), tls_certificate="/c", tls_key="/k"))
    assert explicit["dot"]["backend_port"] == 5353


def test_a_service_with_its_own_backends_balance_and_disabled_services():
    services = {"dns_udp": {"listen": 53, "protocol": "udp", "backends": ["be2"], "balance": "least_conn"},
                "doh": {"listen": 443, "enabled": False}}
    result = plan(services)
    assert [s["name"] for s in result] == ["dns_udp"]
    assert [s["name"] for s in result[0]["servers"]] == ["be2"]
    assert result[0]["balance"] == "least_conn"
    assert by_name(plan(defaults={"balance": "hash_remote_addr"}))["dns_tcp"]["balance"] == \
        "hash $remote_addr consistent"
    assert by_name(plan())["dns_tcp"]["balance"] == ""


def test_backup_backends():
    backends = {"be1": "10.0.0.21", "be2": {"address": "10.0.0.22", "backup": True}}
    assert [s["backup"] for s in by_name(plan(backends=backends))["dns_udp"]["servers"]] == [False, True]


# ---------------------------------------------------------------- bad input names the variable
@pytest.mark.parametrize("services,match", [
    (changed("dns_udp", backend_port=70000), r"nginx_stream_services\.dns_udp\.backend_port: must be from 1 to 65535"),
    (changed("dns_udp", listen=0), r"nginx_stream_services\.dns_udp\.listen: must be from 1 to 65535"),
    (changed("dns_udp", listen="fifty-three"), r"nginx_stream_services\.dns_udp\.listen: must be an integer"),
    (changed("dns_udp", listen=True), r"nginx_stream_services\.dns_udp\.listen: must be an integer"),
    (changed("dns_udp", protocol="sctp"), r"nginx_stream_services\.dns_udp\.protocol: must be udp or tcp"),
    (changed("dns_udp", lisen=53), r"nginx_stream_services\.dns_udp: unknown keys \['lisen'\]"),
    (changed("dns_udp", address="dns-vip"), r"nginx_stream_services\.dns_udp\.address: 'dns-vip' is not an IP"),
    (changed("dns_udp", backends=["be3"]), r"nginx_stream_services\.dns_udp\.backends: unknown backends \['be3'\]"),
    (changed("dns_udp", backends=[]), r"nginx_stream_services\.dns_udp\.backends: must be a non-empty list"),
    (changed("dns_udp", balance="fastest"), r"nginx_stream_services\.dns_udp\.balance: must be one of"),
    (changed("dns_udp", max_fails=-1), r"nginx_stream_services\.dns_udp\.max_fails: must be from 0"),
    (changed("dns_udp", proxy_responses="x"), r"nginx_stream_services\.dns_udp\.proxy_responses: must be an integer"),
    (changed("dns_udp", tls=True), r"nginx_stream_services\.dns_udp\.tls: TLS ends on TCP services only"),
    (changed("dns_udp", tls="maybe"), r"nginx_stream_services\.dns_udp\.tls: must be true or false"),
    (changed("dns_udp", proxy_timeout=""), r"nginx_stream_services\.dns_udp\.proxy_timeout: must be an nginx time"),
    ({"dns_udp": {"protocol": "udp"}}, r"nginx_stream_services\.dns_udp\.listen: is required"),
    ({"dns udp": {"listen": 53}}, r"nginx_stream_services\.dns udp: names start with a letter"),
    ({"dns_udp": 53}, r"nginx_stream_services\.dns_udp: must be a dict"),
    ({}, r"nginx_stream_services: no enabled service"),
    ({"a": {"listen": 53, "enabled": False}}, r"nginx_stream_services: no enabled service"),
    ([], r"nginx_stream_services: must be a dict"),
    ({"a": {"listen": 53}, "b": {"listen": 53}}, r"nginx_stream_services\.b\.listen: tcp 53 is also the listen of a"),
    ({"a": {"listen": 53}, "b": {"listen": 53, "address": "10.0.0.5"}},
     r"nginx_stream_services\.b\.listen: tcp 10\.0\.0\.5:53 is also the listen of a"),
])
def test_bad_services_name_the_variable(services, match):
    fails(match, services)


def test_the_same_port_on_udp_and_tcp_or_on_two_addresses_is_fine():
    plan({"a": {"listen": 53, "address": "10.0.0.5"}, "b": {"listen": 53, "address": "10.0.0.6"},
          "c": {"listen": 53, "protocol": "udp"}})


@pytest.mark.parametrize("backends,match", [
    ({}, r"nginx_stream_backends: must be a non-empty dict"),
    ({"be1": "backend-one"}, r"nginx_stream_backends\.be1: 'backend-one' is not an IP"),
    ({"be1": {"address": "10.0.0.300"}}, r"nginx_stream_backends\.be1\.address: '10\.0\.0\.300' is not an IP"),
    ({"be1": {"weight": 2}}, r"nginx_stream_backends\.be1: must be an IP address or a dict with 'address'"),
    ({"be1": {"address": "10.0.0.1", "port": 53}}, r"nginx_stream_backends\.be1: unknown keys \['port'\]"),
    ({"be1": {"address": "10.0.0.1", "weight": 0}}, r"nginx_stream_backends\.be1\.weight: must be from 1"),
    ({"be1": "10.0.0.1", "be2": "10.0.0.1"}, r"nginx_stream_backends: lists an address twice"),
    ({"be1": {"address": "10.0.0.1", "backup": True}}, r"nginx_stream_services\.dns_tcp\.backends: needs at least one"),
])
def test_bad_backends_name_the_variable(backends, match):
    fails(match, backends=backends)


@pytest.mark.parametrize("defaults,match", [
    ({"address": "vip"}, r"nginx_stream_listen_address: 'vip' is not an IP address"),
    ({"address": "10.0.0.5/24"}, r"nginx_stream_listen_address: '10\.0\.0\.5/24' is not an IP address"),
    ({"max_fails": "many"}, r"nginx_stream_max_fails: must be an integer"),
    ({"proxy_responses": -1}, r"nginx_stream_proxy_responses: must be from 0"),
    ({"balance": "fastest"}, r"nginx_stream_balance: must be one of"),
    ({"reuseport": "sometimes"}, r"nginx_stream_udp_reuseport: must be true or false"),
    ({"udp_proxy_timeout": None}, r"nginx_stream_udp_proxy_timeout: must be an nginx time"),
    ({"next_upstream_tries": 1001}, r"nginx_stream_next_upstream_tries: must be from 0 to 1000"),
])
def test_bad_defaults_name_the_role_variable(defaults, match):
    fails(match, defaults=defaults)


def test_tls_termination_without_certificate_or_key_names_them():
    fails(r"nginx_stream_services\.dot\.tls: TLS termination needs nginx_stream_tls_certificate and "
          r"nginx_stream_tls_key", changed("dot", tls=True))
    fails(r"needs nginx_stream_tls_key \(", changed("dot", tls=True), tls_certificate="/c.pem")


def test_hash_balancing_refuses_backup_servers():
    backends = {"be1": "10.0.0.21", "be2": {"address": "10.0.0.22", "backup": True}}
    fails(r"nginx_stream_balance: hash_remote_addr cannot be combined with backup servers",
          backends=backends, defaults={"balance": "hash_remote_addr"})


def test_missing_defaults_are_a_programming_error():
    with pytest.raises(NginxStreamError, match=r"defaults: missing \['max_fails'\]"):
        resolve_services(SEED, BACKENDS, {k: v for k, v in DEFAULTS.items() if k != "max_fails"})


# ---------------------------------------------------------------- source build paths
def test_the_seed_flags_give_the_seed_paths():
    assert configure_paths(SEED_FLAGS + ["--with-stream_ssl_module"], "1.27.5") == {
        "prefix": "/usr/share/nginx",
        "sbin_path": "/usr/sbin/nginx",
        "conf_path": "/etc/nginx/nginx.conf",
        "conf_dir": "/etc/nginx",
        "pid_path": "/run/nginx.pid",
        "error_log_path": "/var/log/nginx/error.log",
        "stream_ssl": True,
    }


def test_nginx_defaults_under_the_prefix():
    paths = configure_paths(["--prefix=/opt/ngx", "--with-stream"])
    assert paths["sbin_path"] == "/opt/ngx/sbin/nginx"
    assert paths["conf_path"] == "/opt/ngx/conf/nginx.conf" and paths["conf_dir"] == "/opt/ngx/conf"
    assert paths["pid_path"] == "/opt/ngx/logs/nginx.pid"
    assert paths["stream_ssl"] is False
    assert configure_paths(["--with-stream"])["prefix"] == "/usr/local/nginx"


@pytest.mark.parametrize("flags,version,match", [
    ([f for f in SEED_FLAGS if f != "--with-stream"], "", r"nginx_stream_configure_flags: needs --with-stream"),
    (SEED_FLAGS[:-2] + ["--with-stream=dynamic"], "", r"nginx_stream_configure_flags: --with-stream=dynamic"),
    (SEED_FLAGS + ["--with-cc-opt=-O2", "-g"], "", r"nginx_stream_configure_flags: every item is one"),
    ("--with-stream", "", r"nginx_stream_configure_flags: must be a list"),
    (SEED_FLAGS, "latest", r"nginx_stream_version: must look like 1\.22\.1"),
])
def test_bad_build_settings_name_the_variable(flags, version, match):
    with pytest.raises(NginxStreamError, match=match):
        configure_paths(flags, version)


# ---------------------------------------------------------------- the filters
def test_the_filters_turn_errors_into_filter_errors():
    filters = FilterModule().filters()
    assert filters["nginx_stream_plan"](SEED, BACKENDS, DEFAULTS)[0]["name"] == "dns_tcp"
    with pytest.raises(AnsibleFilterError, match=r"nginx_stream_services\.dns_udp\.backend_port"):
        filters["nginx_stream_plan"](changed("dns_udp", backend_port=70000), BACKENDS, DEFAULTS)
    assert filters["nginx_configure_paths"](SEED_FLAGS)["sbin_path"] == "/usr/sbin/nginx"
    with pytest.raises(AnsibleFilterError, match="--with-stream"):
        filters["nginx_configure_paths"](["--prefix=/x"])


def test_a_backend_that_is_the_proxys_own_listener_is_refused():
    services = {"dns_udp": {"listen": 53, "protocol": "udp"}}
    with pytest.raises(NginxStreamError, match=r"nginx_stream_backends\.be2: 10\.0\.0\.100 port 53 is where "
                                               r"nginx_stream_services\.dns_udp listens: the proxy would forward"):
        resolve_services(services, {"be1": "10.0.0.21", "be2": "10.0.0.100"}, dict(DEFAULTS, address="10.0.0.100"))
    # the same address on another port is another service (a backend on the proxy host itself)
    other = resolve_services({"dot": {"listen": 853, "protocol": "tcp", "backend_port": 53}},
                             {"be1": "10.0.0.100"}, dict(DEFAULTS, address="10.0.0.100"))
    assert other[0]["servers"][0]["address"] == "10.0.0.100:53"
