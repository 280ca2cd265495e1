# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolve and check the nginx stream services of a DNS load balancer.

The inventory says which DNS servers sit behind the proxy (nginx_stream_backends,
name => address) and which services the proxy offers (nginx_stream_services, keyed
by name: a port, udp or tcp, optionally TLS ended here). Everything else is derived:
the upstream of each service holds every backend on the service's own port (DNS over
TLS ended here goes on as plain DNS over TCP to port 53), timeouts and the passive
health settings come from the role's defaults. The checks are the ones that should
stop a play before any host is touched, each naming the variable it is about; values
that nginx itself understands better (time strings) are left to `nginx -t`.
"""

from __future__ import annotations

import re

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.netaddr_import import netaddr

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.inventory_checks import int_in

SERVICES = "nginx_stream_services"
BACKENDS = "nginx_stream_backends"

SERVICE_KEYS = {
    "listen", "protocol", "address", "address6", "backend_port", "backends", "balance", "tls", "enabled",
    "proxy_timeout", "proxy_connect_timeout", "proxy_responses", "max_fails", "fail_timeout",
    "reuseport", "next_upstream_tries",
}
BACKEND_KEYS = {"address", "weight", "backup", "max_fails", "fail_timeout"}
PROTOCOLS = ("udp", "tcp")
# balance => the upstream directive ('' is nginx's weighted round robin)
BALANCE = {
    "round_robin": "",
    "least_conn": "least_conn",
    "random": "random",
    "hash_remote_addr": "hash $remote_addr consistent",
}
# the role variable each service setting falls back to
DEFAULT_VARS = {
    "address": "nginx_stream_listen_address",
    "address6": "nginx_stream_listen_address6",
    "balance": "nginx_stream_balance",
    "udp_proxy_timeout": "nginx_stream_udp_proxy_timeout",
    "tcp_proxy_timeout": "nginx_stream_tcp_proxy_timeout",
    "proxy_connect_timeout": "nginx_stream_proxy_connect_timeout",
    "proxy_responses": "nginx_stream_proxy_responses",
    "max_fails": "nginx_stream_max_fails",
    "fail_timeout": "nginx_stream_fail_timeout",
    "reuseport": "nginx_stream_udp_reuseport",
    "next_upstream_tries": "nginx_stream_next_upstream_tries",
}
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# DNS over TLS ended on the proxy goes on to the backends as plain DNS over TCP
PLAIN_DNS_PORT = 53


class NginxStreamError(ValueError):
    """A problem in the inventory, with the variable it is about."""


def _fail(path, msg):
    raise NginxStreamError(f"{path}: {msg}")


def _int_in(path, value, low, high):
    return int_in(path, value, low, high, NginxStreamError)


def _bool(path, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.lower() in ("true", "yes", "on", "1")
    _fail(path, f"must be true or false, got {value!r}")


def _ip(path, value, allow_empty=False):
    if allow_empty and value in ("", None, "*"):
        return ""
    if not isinstance(value, str) or not value:
        _fail(path, f"must be an IP address{' or empty (all addresses)' if allow_empty else ''}, got {value!r}")
    try:
        return str(netaddr.IPAddress(value.strip("[]")))
    except (netaddr.AddrFormatError, ValueError):
        _fail(path, f"{value!r} is not an IP address")


def _ip6(path, value):
    """An IPv6 listen address: '' for none, '::' for every IPv6 address."""
    if value in ("", None):
        return ""
    if not isinstance(value, str):
        _fail(path, f"must be an IPv6 address, '::' (every IPv6 address) or empty (no IPv6), got {value!r}")
    try:
        address = netaddr.IPAddress(value.strip("[]"))
    except (netaddr.AddrFormatError, ValueError):
        address = None
    if address is None or address.version != 6:
        _fail(path, f"{value!r} is not an IPv6 address ('::' for every IPv6 address, empty for no IPv6)")
    return str(address)


def _listeners(service):
    """{(family, address or '*', port, protocol): listen as nginx writes it} of a service's sockets."""
    found = []
    for key, listen in (("address", service["listen"]), ("address6", service["listen6"])):
        address = service[key]
        if key == "address6" and not address:
            continue
        if not address:
            found.append(((4, "*"), listen))
        elif ":" in address:
            found.append(((6, "*" if address == "::" else address), listen))
        else:
            found.append(((4, "*" if address == "0.0.0.0" else address), listen))
    return [((family, address, service["port"], service["protocol"]), listen)
            for (family, address), listen in found]


def _host_port(address, port):
    """address:port as nginx writes it (IPv6 in brackets); the port alone for all addresses."""
    if not address:
        return str(port)
    if ":" in address:
        return f"[{address}]:{port}"
    return f"{address}:{port}"


def _time(path, value):
    if isinstance(value, bool) or not isinstance(value, (int, str)) or str(value).strip() == "":
        _fail(path, f"must be an nginx time such as 1s or 500ms, got {value!r}")
    return str(value)


def resolve_backends(backends):
    """nginx_stream_backends normalised to name => {address, weight, backup, max_fails, fail_timeout}."""
    if not isinstance(backends, dict) or not backends:
        _fail(BACKENDS, "must be a non-empty dict of name => IP address (or => {address: ...})")
    resolved = {}
    for name, raw in sorted(backends.items()):
        path = f"{BACKENDS}.{name}"
        if not NAME.match(str(name)):
            _fail(path, "names start with a letter and hold letters, digits and _ only")
        entry = {"address": raw} if isinstance(raw, str) else raw
        if not isinstance(entry, dict) or "address" not in entry:
            _fail(path, f"must be an IP address or a dict with 'address', got {raw!r}")
        unknown = set(entry) - BACKEND_KEYS
        if unknown:
            _fail(path, f"unknown keys {sorted(unknown)}; allowed: {sorted(BACKEND_KEYS)}")
        item = {"address": _ip(f"{path}.address" if isinstance(raw, dict) else path, entry["address"])}
        if "weight" in entry:
            item["weight"] = _int_in(f"{path}.weight", entry["weight"], 1, 1000)
        item["backup"] = _bool(f"{path}.backup", entry.get("backup", False))
        if "max_fails" in entry:
            item["max_fails"] = _int_in(f"{path}.max_fails", entry["max_fails"], 0, 1000)
        if "fail_timeout" in entry:
            item["fail_timeout"] = _time(f"{path}.fail_timeout", entry["fail_timeout"])
        resolved[name] = item
    addresses = [b["address"] for b in resolved.values()]
    if len(set(addresses)) != len(addresses):
        _fail(BACKENDS, f"lists an address twice: {addresses}")
    return resolved


def _service(name, raw, backends, defaults, tls_material):
    path = f"{SERVICES}.{name}"
    if not NAME.match(str(name)):
        _fail(path, "names start with a letter and hold letters, digits and _ only (they name the upstream)")
    if not isinstance(raw, dict):
        _fail(path, f"must be a dict with at least listen (a port), got {raw!r}")
    unknown = set(raw) - SERVICE_KEYS
    if unknown:
        _fail(path, f"unknown keys {sorted(unknown)}; allowed: {sorted(SERVICE_KEYS)}")

    def setting(key, default_key=None):
        """(value, the variable it came from)"""
        if key in raw:
            return raw[key], f"{path}.{key}"
        default_key = default_key or key
        return defaults.get(default_key), DEFAULT_VARS[default_key]

    if "listen" not in raw:
        _fail(f"{path}.listen", "is required (the port the proxy listens on)")
    listen = _int_in(f"{path}.listen", raw["listen"], 1, 65535)
    protocol = str(raw.get("protocol", "tcp")).lower()
    if protocol not in PROTOCOLS:
        _fail(f"{path}.protocol", f"must be udp or tcp, got {raw.get('protocol')!r}")
    udp = protocol == "udp"
    tls = _bool(f"{path}.tls", raw.get("tls", False))
    if tls and udp:
        _fail(f"{path}.tls", "TLS ends on TCP services only (DNS over TLS is TCP), not on udp")
    if tls and not all(tls_material.values()):
        missing = [var for var, value in tls_material.items() if not value]
        _fail(f"{path}.tls", f"TLS termination needs {' and '.join(missing)} (paths on the host)")

    value, var = setting("address")
    address = _ip(var, value, allow_empty=True)
    value, var = setting("address6")
    address6 = _ip6(var, value)
    backend_port = _int_in(f"{path}.backend_port",
                           raw.get("backend_port", PLAIN_DNS_PORT if tls else listen), 1, 65535)

    names = raw.get("backends", sorted(backends))
    if not isinstance(names, list) or not names:
        _fail(f"{path}.backends", f"must be a non-empty list of names from {BACKENDS}, got {names!r}")
    unknown = [n for n in names if n not in backends]
    if unknown:
        _fail(f"{path}.backends", f"unknown backends {unknown}; {BACKENDS} defines {sorted(backends)}")
    if len(set(names)) != len(names):
        _fail(f"{path}.backends", f"names a backend twice: {names}")

    value, var = setting("balance")
    if value not in BALANCE:
        _fail(var, f"must be one of {sorted(BALANCE)}, got {value!r}")
    balance = BALANCE[value]
    chosen = [backends[n] for n in names]
    if balance.startswith(("hash", "random")) and any(b["backup"] for b in chosen):
        _fail(var, f"{value} cannot be combined with backup servers (nginx refuses it); "
                   f"backups: {[n for n in names if backends[n]['backup']]}")
    if all(b["backup"] for b in chosen):
        _fail(f"{path}.backends", "needs at least one backend that is not a backup")

    value, var = setting("max_fails")
    max_fails = _int_in(var, value, 0, 1000)
    value, var = setting("fail_timeout")
    fail_timeout = _time(var, value)
    servers = []
    for backend_name in names:
        backend = backends[backend_name]
        if backend["address"] in (address, address6) and backend_port == listen:
            _fail(f"{BACKENDS}.{backend_name}", f"{backend['address']} port {listen} is where {path} listens: "
                                                f"the proxy would forward the queries to itself")
        servers.append({
            "name": backend_name,
            "address": _host_port(backend["address"], backend_port),
            "weight": backend.get("weight", 1),
            "max_fails": backend.get("max_fails", max_fails),
            "fail_timeout": backend.get("fail_timeout", fail_timeout),
            "backup": backend["backup"],
        })

    value, var = setting("proxy_timeout", f"{protocol}_proxy_timeout")
    proxy_timeout = _time(var, value)
    value, var = setting("proxy_connect_timeout")
    proxy_connect_timeout = _time(var, value)
    value, var = setting("next_upstream_tries")
    next_upstream_tries = _int_in(var, value, 0, 1000)
    result = {
        "name": name,
        "protocol": protocol,
        "port": listen,
        "address": address,
        "listen": _host_port(address, listen),
        "address6": address6,
        "listen6": _host_port(address6, listen) if address6 else "",
        "tls": tls,
        "backend_port": backend_port,
        "balance": balance,
        "servers": servers,
        "proxy_timeout": proxy_timeout,
        "next_upstream_tries": next_upstream_tries,
    }
    if udp:
        value, var = setting("proxy_responses")
        result["proxy_responses"] = _int_in(var, value, 0, 1000)
        value, var = setting("reuseport")
        result["reuseport"] = _bool(var, value)
    else:
        result["proxy_connect_timeout"] = proxy_connect_timeout
        if "reuseport" in raw:
            result["reuseport"] = _bool(f"{path}.reuseport", raw["reuseport"])
        else:
            result["reuseport"] = False
    return result


def resolve_services(services, backends, defaults, tls_certificate="", tls_key=""):
    """The enabled services, sorted by name, each with its upstream servers; or raise NginxStreamError.

    services: nginx_stream_services; backends: nginx_stream_backends; defaults: the role's
    fallback settings keyed like DEFAULT_VARS; tls_certificate/tls_key: paths on the host.
    """
    defaults = dict(defaults or {})
    defaults.setdefault("address6", "")
    missing = sorted(set(DEFAULT_VARS) - set(defaults))
    if missing:
        raise NginxStreamError(f"defaults: missing {missing}")
    if not isinstance(services, dict):
        _fail(SERVICES, "must be a dict keyed by service name")
    resolved_backends = resolve_backends(backends)
    tls_material = {"nginx_stream_tls_certificate": tls_certificate, "nginx_stream_tls_key": tls_key}
    result = []
    seen = {}
    for name, raw in sorted(services.items(), key=lambda item: str(item[0])):
        if isinstance(raw, dict) and not _bool(f"{SERVICES}.{name}.enabled", raw.get("enabled", True)):
            continue
        service = _service(name, dict(raw) if isinstance(raw, dict) else raw, resolved_backends, defaults,
                           tls_material)
        mine = _listeners(service)
        if len({key for key, dummy in mine}) != len(mine):
            _fail(f"{SERVICES}.{name}.address6", f"{service['listen6']} is the service's other listen too "
                                                 f"(address {service['address']!r})")
        for (family, address, port, protocol), listen in mine:
            for (other_family, other_address, other_port, other_protocol), other in seen.items():
                if (family, port, protocol) == (other_family, other_port, other_protocol) and (
                        address == other_address or "*" in (address, other_address)):
                    _fail(f"{SERVICES}.{name}.listen", f"{protocol} {listen} is also the listen of {other}")
        for key, dummy in mine:
            seen[key] = name
        result.append(service)
    if not result:
        _fail(SERVICES, "no enabled service: the proxy would listen on nothing")
    return result


# ---------------------------------------------------------------- source build
def configure_paths(flags, version=""):
    """Paths of a source build derived from its ./configure flags (nginx's own defaults otherwise).

    Fails, naming nginx_stream_configure_flags, when --with-stream is missing or a flag is
    not an option (each list item is one argument to ./configure, passed without a shell).
    """
    var = "nginx_stream_configure_flags"
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        _fail(var, f"must be a list of ./configure options, got {flags!r}")
    if "--with-stream" not in flags and "--with-stream=dynamic" not in flags:
        _fail(var, "needs --with-stream (the reason for building nginx from source)")
    if "--with-stream=dynamic" in flags:
        _fail(var, "--with-stream=dynamic builds a module that the role does not load; use --with-stream")
    bad = [f for f in flags if not f.startswith("--")]
    if bad:
        _fail(var, f"every item is one ./configure option starting with --, got {bad}")
    options = {}
    for flag in flags:
        key, sep, value = flag.partition("=")
        if sep:
            options[key] = value
    prefix = options.get("--prefix", "/usr/local/nginx")

    def under_prefix(path):
        return path if path.startswith("/") else f"{prefix}/{path}"

    conf_path = under_prefix(options.get("--conf-path", "conf/nginx.conf"))
    if version and not re.match(r"^[0-9]+\.[0-9]+\.[0-9]+$", str(version)):
        _fail("nginx_stream_version", f"must look like 1.22.1, got {version!r}")
    return {
        "prefix": prefix,
        "sbin_path": under_prefix(options.get("--sbin-path", "sbin/nginx")),
        "conf_path": conf_path,
        "conf_dir": conf_path.rsplit("/", 1)[0],
        "pid_path": under_prefix(options.get("--pid-path", "logs/nginx.pid")),
        "error_log_path": under_prefix(options.get("--error-log-path", "logs/error.log")),
        "stream_ssl": "--with-stream_ssl_module" in flags,
    }
