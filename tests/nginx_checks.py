"""Checks of the nginx_stream role shared by the scenarios that run it (nginx_stream alone,
the dns_lb_nginx variant): a change is a reload, a refused value changes nothing.

`converge(extra)` runs the scenario's play with extra vars; `answered(proxy)` says whether
DNS is still answered through that proxy (or through the VIP in front of it).
"""

from __future__ import annotations

from tests.labkit import main_pid, poll

FILES = "/etc/nginx/nginx.conf /etc/nginx/stream_conf.d/hastack-dns.conf"
FRAGMENT = "/etc/nginx/stream_conf.d/hastack-dns.conf"


def workers(lab, proxy: str) -> set[str]:
    return set(lab.check(proxy, f"pgrep -P {main_pid(lab, proxy, 'nginx')}").split())


def assert_a_config_change_is_a_reload(lab, proxies: list[str], converge, answered) -> None:
    """A new tcp proxy_timeout is applied by a reload: the same master, new workers."""
    before = {proxy: (main_pid(lab, proxy, "nginx"), workers(lab, proxy)) for proxy in proxies}
    result = converge({"nginx_stream_tcp_proxy_timeout": "4s"})
    try:
        assert result.returncode == 0, result.stdout[-3000:]
        for proxy in proxies:
            pid, old = before[proxy]
            assert "proxy_timeout 4s;" in lab.check(proxy, f"cat {FRAGMENT}")
            assert main_pid(lab, proxy, "nginx") == pid, f"{proxy}: nginx was restarted, not reloaded"
            # a reload starts new workers under the same master
            now = poll(lambda p=proxy: workers(lab, p), lambda w: not w & old, timeout=10)
            assert now and not now & old, f"{proxy}: the old workers {old} still run: {now}"
            assert answered(proxy), f"{proxy}: DNS not answered after the reload"
    finally:
        restored = converge({})
    assert restored.returncode == 0, restored.stdout[-3000:]
    for proxy in proxies:
        assert "proxy_timeout 3s;" in lab.check(proxy, f"cat {FRAGMENT}")
        assert main_pid(lab, proxy, "nginx") == before[proxy][0]


def assert_a_refused_value_changes_nothing(lab, proxies: list[str], converge, answered) -> None:
    """A proxy_timeout nginx -t refuses fails the play; files and the running nginx stay."""
    before = {proxy: (main_pid(lab, proxy, "nginx"), lab.check(proxy, f"sha256sum {FILES}")) for proxy in proxies}
    result = converge({"nginx_stream_tcp_proxy_timeout": "3 seconds"})
    assert result.returncode != 0, "the play accepted a proxy_timeout that nginx refuses"
    assert "nginx-check-config" in result.stdout and "proxy_timeout" in result.stdout, result.stdout[-3000:]
    for proxy in proxies:
        pid, files = before[proxy]
        assert lab.check(proxy, f"sha256sum {FILES}") == files, f"{proxy}: the refused config was written"
        assert main_pid(lab, proxy, "nginx") == pid, f"{proxy}: nginx was restarted"
        assert answered(proxy), f"{proxy}: DNS not answered after a refused config"
