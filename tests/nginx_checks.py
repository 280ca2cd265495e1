"""Checks of the nginx_stream role shared by the scenarios that run it (nginx_stream alone,
the dns_lb_nginx variant): a change is a reload, a refused value changes nothing; the
package proxy runs the distro's unit, the source proxy the release's Debian source.

`converge(extra)` runs the scenario's play with extra vars; `answered(proxy)` says whether
DNS is still answered through that proxy (or through the VIP in front of it).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.labkit import main_pid, poll

FILES = "/etc/nginx/nginx.conf /etc/nginx/stream_conf.d/hastack-dns.conf"
FRAGMENT = "/etc/nginx/stream_conf.d/hastack-dns.conf"


def assert_the_distro_unit_runs_nginx(lab, proxy: str) -> None:
    """systemd loads nginx.service from the path the distro's package ships it at
    (/lib/systemd/system on bookworm, /usr/lib/systemd/system on trixie: merged /usr)."""
    shipped = [line for line in lab.check(proxy, "dpkg-query -L nginx-common").splitlines()
               if line.endswith("/systemd/system/nginx.service")]
    loaded = lab.check(proxy, "systemctl show -p FragmentPath --value nginx").strip()
    assert len(shipped) == 1 and loaded == shipped[0], \
        f"{proxy}: expected the unit nginx-common ships ({shipped}), systemd loaded {loaded!r}"


def release_source_version(lab, inventory: Path, proxy: str, package_proxy: str) -> str:
    """The nginx version the source proxy builds: its release's entry of the inventory's
    hastack_nginx_debian_source (the release read from the host, not from the lab's env),
    which is the upstream version of that release's nginx package on package_proxy."""
    release = lab.check(proxy, "sh -c '. /etc/os-release && echo $VERSION_CODENAME'").strip()

    def host_vars(group: dict) -> dict | None:
        if proxy in (group.get("hosts") or {}):
            return group["hosts"][proxy]
        return next((found for child in (group.get("children") or {}).values()
                     if (found := host_vars(child or {})) is not None), None)

    sources = host_vars(yaml.safe_load(inventory.read_text())["all"])["hastack_nginx_debian_source"]
    assert release in sources, f"{proxy} runs {release!r}: no nginx source for it in {inventory}: {sources}"
    version = str(sources[release]["version"])
    packaged = lab.check(package_proxy, "dpkg-query -W -f='${Version}' nginx").strip()
    assert packaged.startswith(f"{version}-"), \
        f"{release}'s nginx package is {packaged}, the inventory builds {version} on {proxy}"
    return version


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
