#!/usr/bin/env python3
"""The hastack lab: systemd containers on internal podman networks.

    lab.py install            install and configure podman, set the host's inotify
                              limits (/etc/sysctl.d/60-hastack-lab.conf), mount
                              /dev/mqueue (ansible-navigator); idempotent
    lab.py image [--release R] [--rebuild]
                              build the lab image of each release (or of R), or reuse
                              the cached one
    lab.py ee-base [--release R] [--rebuild]
                              build the execution environment's base image (Debian with
                              Python, pip and an SSH client; docs/execution-environment.md),
                              or reuse the cached one
    lab.py up SPEC            create the networks and hosts a spec describes and put the
                              lab's SSH key on them
    lab.py down SPEC          remove them again (only what the spec names)
    lab.py down --all         remove every container and network the lab made
    lab.py status SPEC        one line per host: state, release and addresses

SPEC is an Ansible YAML inventory that carries the lab in its variables:

    all:
      vars:
        lab_name: hastack-demo        # label, and prefix of the network names
        lab_networks: {lan: 10.213.10.0/24}
        lab_networks6: {lan: "fd00:213:10::/64"}   # optional: the IPv6 ULA prefix beside it
      children:
        vrrp_vip:
          hosts:
            hastack-demo-ka1:
              lab_addresses: {lan: 10.213.10.11}
              lab_addresses6: {lan: "fd00:213:10::11"}

IPv6 (dual-stack labs): podman gets only the IPv4 subnet; `up` puts each host's IPv6
address on its interface from inside the container (`ip -6 addr replace ... nodad`,
addresses kept across a link down). The host has no address in the lab's IPv6 prefix and
does not forward IPv6 for it, so an IPv6 packet of the lab cannot leave the bridge. The
prefixes must be ULA (inside fd00::/8) and must not overlap any prefix the host itself has.

Releases: every host runs the Debian release `lab_release` names (bookworm or trixie),
set for a host or for the whole lab in all.vars; HASTACK_LAB_RELEASE in the environment
replaces the lab-wide value (so `tests/run --release` runs any scenario on either), a
host's own value always wins; the default is trixie, Debian's stable release.

Hosts run sshd: `up` makes one key per lab (KEY_DIR/<lab_name>, 0600, outside the
checkout) and authorizes it for root on every host, so the inventory reaches its hosts
with ansible.builtin.ssh at their first address, as a user's inventory does. podman
exec is used only for the lab's own plumbing (booting, the key, pause/restart in tests).

Safety: networks are always `--internal` (no route off the machine), and
containers are never privileged and never get /proc/sys unmasked.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import ipaddress
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMAGE_DIR = HERE / "image"
RELEASES = ("bookworm", "trixie")
DEFAULT_RELEASE = "trixie"
CACHE_DIR = Path(os.environ.get("HASTACK_LAB_CACHE", "/var/cache/hastack-lab"))
KEY_DIR = Path(os.environ.get("HASTACK_LAB_KEYS", "/var/lib/hastack-lab/ssh"))
SSH_OPTIONS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5", "-o", "BatchMode=yes"]
# What the host needs for many systemd containers: each container's systemd, logind and
# dbus hold inotify instances (about 7 measured; 8 planned); the kernel's default of 128
# per user runs out around the 22nd container.
SYSCTL_CONF = Path("/etc/sysctl.d/60-hastack-lab.conf")
HOST_SYSCTLS = {"fs.inotify.max_user_instances": 1024, "fs.inotify.max_user_watches": 524288}
INOTIFY_PER_CONTAINER = 8
OWNER_LABEL = "owner=hastack-lab"
HOST_PACKAGES = ["podman", "netavark", "aardvark-dns", "iptables", "runc",
                 "mmdebstrap", "zstd", "uidmap", "openssh-client"]
CAPABILITIES = ["NET_ADMIN", "NET_RAW", "NET_BROADCAST", "SYS_ADMIN"]
CONTAINERS_CONF = Path("/etc/containers/containers.conf")

# Units that cannot work in a container, and services the roles enable themselves.
MASKED_UNITS = [
    "systemd-udevd.service", "systemd-udevd-control.socket", "systemd-udevd-kernel.socket",
    "systemd-udev-trigger.service", "systemd-udev-settle.service",
    "getty@.service", "getty.target", "console-getty.service", "serial-getty@.service",
    "systemd-modules-load.service", "systemd-remount-fs.service",
    "sys-kernel-config.mount", "sys-kernel-debug.mount", "sys-kernel-tracing.mount",
    "sys-fs-fuse-connections.mount", "systemd-sysusers.service",
    "apt-daily.timer", "apt-daily-upgrade.timer", "fstrim.timer", "e2scrub_all.timer",
    "systemd-networkd-wait-online.service", "systemd-timesyncd.service",
]
DISABLED_SERVICES = [
    "keepalived", "dnsmasq", "haproxy", "dnsdist", "nginx", "isc-dhcp-server", "isc-dhcp-server6",
    "kea-dhcp4-server", "kea-dhcp6-server", "kea-dhcp-ddns-server", "kea-ctrl-agent",
    "named", "chrony", "nftables", "ipvsadm",
]


class LabError(Exception):
    pass


def log(msg: str) -> None:
    print(f"lab: {msg}", flush=True)


def run(cmd: list[str], check: bool = True, capture: bool = False,
        **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, text=True, capture_output=capture, **kwargs)
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout or "").strip() if capture else ""
        raise LabError(f"{' '.join(cmd)} failed (exit {result.returncode}) {detail}")
    return result


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(["podman", *args], check=check, capture=True)


# ---------------------------------------------------------------- install
def containers_conf() -> str:
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    if nproc == resource.RLIM_INFINITY or nproc > 32768:
        nproc = 32768
    if nofile == resource.RLIM_INFINITY:
        nofile = 1048576
    return (
        "# Written by the hastack lab (lab/lab.py install).\n"
        "# The sandbox cannot raise rlimits: keep container ulimits within the hard limits.\n"
        "# crun rejects this machine's cgroup layout: use runc.\n"
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "\n[engine]\n"
        'runtime = "runc"\n'
    )


def install_host_packages(packages: list[str], *options: str) -> None:
    """apt-get install what of `packages` the host lacks (both labs)."""
    missing = [p for p in packages
               if run(["dpkg-query", "-W", "-f=${Status}", p], check=False,
                      capture=True).stdout != "install ok installed"]
    if missing:
        log(f"installing {' '.join(missing)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "update", "-qq"], env=env)
        run(["apt-get", "install", "-y", "-qq", *options, *missing], env=env, capture=True)


# promtool (checks and unit tests of the alert rules), taken out of Debian's prometheus
# package without installing it: installing would start a Prometheus on the host.
PROMTOOL = Path(os.environ.get("HASTACK_PROMTOOL", "/var/lib/hastack-lab/bin/promtool"))


def host_promtool() -> None:
    """Extract promtool from the prometheus package (apt-get download, dpkg-deb), once."""
    if PROMTOOL.exists():
        return
    log(f"extracting promtool from Debian's prometheus package into {PROMTOOL}")
    with tempfile.TemporaryDirectory() as tmp:
        run(["apt-get", "download", "-qq", "prometheus"], cwd=tmp, capture=True)
        deb = next(Path(tmp).glob("prometheus_*.deb"))
        run(["sh", "-c", f"dpkg-deb --fsys-tarfile {deb} | tar -x -C {tmp} ./usr/bin/promtool"])
        PROMTOOL.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(tmp) / "usr/bin/promtool", PROMTOOL)


def sysctl_path(key: str) -> Path:
    return Path("/proc/sys") / key.replace(".", "/")


def host_sysctls() -> None:
    """Raise the host settings the lab needs (never lower one) and keep them across boots."""
    lines = ["# Written by the hastack lab (lab/lab.py install): many systemd containers need",
             "# more inotify instances than the kernel's default of 128 per user."]
    for key, wanted in HOST_SYSCTLS.items():
        current = int(sysctl_path(key).read_text().split()[0])
        value = max(current, wanted)
        lines.append(f"{key} = {value}")
        if current < wanted:
            sysctl_path(key).write_text(f"{value}\n")
            log(f"set {key} = {value} (was {current})")
    text = "\n".join(lines) + "\n"
    if not SYSCTL_CONF.exists() or SYSCTL_CONF.read_text() != text:
        SYSCTL_CONF.parent.mkdir(parents=True, exist_ok=True)
        SYSCTL_CONF.write_text(text)
        log(f"wrote {SYSCTL_CONF} (kept across reboots)")


def inotify_in_use() -> int:
    """inotify instances open on this machine now (all users: an upper bound for root's)."""
    count = 0
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            for fd in fd_dir.iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == "anon_inode:inotify":
                        count += 1
        except OSError:
            continue
    return count


def check_headroom(new_containers: int) -> None:
    """Fail before starting containers whose systemd would hang for want of inotify instances."""
    if not new_containers:
        return
    key = "fs.inotify.max_user_instances"
    limit = int(sysctl_path(key).read_text().split()[0])
    used = inotify_in_use()
    need = new_containers * INOTIFY_PER_CONTAINER
    if used + need > limit:
        raise LabError(f"{key} is {limit}: {used} inotify instances are in use and {new_containers} more "
                       f"containers need about {need}; their systemd would hang in 'initializing'. "
                       f"Run 'lab.py install' (sets {key} = {HOST_SYSCTLS[key]} in {SYSCTL_CONF}) "
                       f"or 'sysctl -w {key}={HOST_SYSCTLS[key]}'")


def host_mqueue() -> None:
    """ansible-navigator runs an execution environment with podman's --ipc=host, which
    needs the host's POSIX message queue file system at /dev/mqueue (systemd mounts it at
    boot; a machine without systemd may lack it)."""
    mqueue = Path("/dev/mqueue")
    if not os.path.ismount(mqueue):
        mqueue.mkdir(exist_ok=True)
        run(["mount", "-t", "mqueue", "mqueue", str(mqueue)], capture=True)
        log(f"mounted {mqueue} (ansible-navigator's execution environments need it)")


def cmd_install(_args) -> None:
    install_host_packages(HOST_PACKAGES)
    host_sysctls()
    host_mqueue()
    host_promtool()
    wanted = containers_conf()
    if not CONTAINERS_CONF.exists() or CONTAINERS_CONF.read_text() != wanted:
        CONTAINERS_CONF.parent.mkdir(parents=True, exist_ok=True)
        CONTAINERS_CONF.write_text(wanted)
        log(f"wrote {CONTAINERS_CONF}")
    log("podman ready: " + podman("--version").stdout.strip())


# ---------------------------------------------------------------- image
# Two kinds of image are built from Debian packages with mmdebstrap and cached the same
# way: the lab hosts' image and the execution environment's base image (ee-base).
LAB_IMAGE = "hastack-lab"
EE_BASE_IMAGE = "hastack-ee-base"
# The build host's own CA certificates (a TLS-inspecting proxy's, a company CA): the EE
# base trusts them too, so pip reaches PyPI from inside `ansible-builder build`.
LOCAL_CA_DIR = Path(os.environ.get("HASTACK_LAB_LOCAL_CAS", "/usr/local/share/ca-certificates"))


def image_name(release: str, kind: str = LAB_IMAGE) -> str:
    return f"localhost/{kind}:{release}"


def package_list(*paths: Path) -> list[str]:
    names = []
    for path in paths:
        if path.exists():
            lines = path.read_text().splitlines()
            names += [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    return names


def packages(release: str = DEFAULT_RELEASE) -> list[str]:
    """The image's packages: packages.txt, then packages-RELEASE.txt where one exists."""
    return package_list(IMAGE_DIR / "packages.txt", IMAGE_DIR / f"packages-{release}.txt")


def customize_script() -> str:
    masks = " ".join(MASKED_UNITS)
    services = " ".join(DISABLED_SERVICES)
    return f"""set -e
root="$1"
for unit in {masks}; do ln -sf /dev/null "$root/etc/systemd/system/$unit"; done
for svc in {services}; do
    chroot "$root" systemctl disable "$svc" >/dev/null 2>&1 || true
done
install -m 0755 {IMAGE_DIR}/sysctl "$root/usr/local/sbin/sysctl"
echo 'hastack-lab' > "$root/etc/hostname"
passwd --root "$root" -d root >/dev/null
# sshd: root by key only; a container cannot set its audit login uid
chroot "$root" systemctl enable ssh.service >/dev/null 2>&1
sed -i 's/^session\\s\\+required\\s\\+pam_loginuid.so/session optional pam_loginuid.so/' "$root/etc/pam.d/sshd"
install -d -m 0700 "$root/root/.ssh"
rm -f "$root/etc/machine-id" "$root/var/lib/dbus/machine-id"
: > "$root/etc/machine-id"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
"""


def local_cas() -> list[Path]:
    return sorted(LOCAL_CA_DIR.glob("*.crt")) if LOCAL_CA_DIR.is_dir() else []


def ee_base_script() -> str:
    return f"""set -e
root="$1"
# ansible-builder's package manager (options.package_manager_path in execution-environment.yml)
install -m 0755 {IMAGE_DIR}/ee-pkg "$root/usr/local/sbin/ee-pkg"
for ca in {LOCAL_CA_DIR}/*.crt; do
    [ -e "$ca" ] || continue
    install -m 0644 "$ca" "$root/usr/local/share/ca-certificates/"
done
chroot "$root" update-ca-certificates >/dev/null
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
"""


def image_kind(kind: str, release: str) -> dict:
    """What an image of `kind` is made of: packages, the mmdebstrap customize hook, the
    files the hook installs (hashed by content) and the image's config."""
    if kind == LAB_IMAGE:
        return {"packages": packages(release), "script": customize_script(),
                "files": [IMAGE_DIR / "sysctl"],
                "changes": ['CMD ["/sbin/init"]', "STOPSIGNAL SIGRTMIN+3", "ENV container=podman"]}
    if kind == EE_BASE_IMAGE:
        return {"packages": package_list(IMAGE_DIR / "ee-base-packages.txt"), "script": ee_base_script(),
                "files": [IMAGE_DIR / "ee-pkg", *local_cas()],
                "changes": ['CMD ["/bin/bash"]', "ENV LANG=C.UTF-8"]}
    raise LabError(f"unknown image kind {kind}")


def image_hash(release: str, kind: str = LAB_IMAGE) -> str:
    spec = image_kind(kind, release)
    digest = hashlib.sha256(release.encode())
    digest.update("\n".join(spec["packages"]).encode())
    # without the checkout's own path, so every clone shares one cached image
    digest.update(spec["script"].replace(str(IMAGE_DIR), "").encode())
    if kind != LAB_IMAGE:  # (the lab image's hash stays what it was before ee-base)
        digest.update("\n".join(spec["changes"]).encode())
    for path in spec["files"]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def image_label(release: str, kind: str = LAB_IMAGE) -> str | None:
    result = podman("image", "inspect", "--format",
                    '{{ index .Labels "hastack.lab.hash" }}', image_name(release, kind), check=False)
    return result.stdout.strip() if result.returncode == 0 else None


@contextlib.contextmanager
def cache_lock(name: str):
    """One image build at a time: a second run (two scenarios started at once) waits here,
    then finds the image the first one built."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / f"{name}.lock", "w", encoding="ascii") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def cmd_image(args) -> None:
    releases = [args.release] if getattr(args, "release", None) else list(RELEASES)
    with cache_lock("lab-image"):
        for release in releases:
            current_image(release, getattr(args, "rebuild", False))


def cmd_ee_base(args) -> None:
    with cache_lock("ee-base-image"):
        current_image(args.release or DEFAULT_RELEASE, args.rebuild, EE_BASE_IMAGE)


def current_image(release: str, rebuild: bool = False, kind: str = LAB_IMAGE) -> None:
    want = image_hash(release, kind)
    image = image_name(release, kind)
    if not rebuild and image_label(release, kind) == want:
        log(f"image {image} is current ({want})")
        return
    cache = CACHE_DIR / f"{kind}-{release}-{want}.tar.zst"
    if cache.exists() and not rebuild:
        log(f"loading cached image {cache}")
        with subprocess.Popen(["zstd", "-dc", str(cache)], stdout=subprocess.PIPE) as unz:
            run(["podman", "load", "-q"], stdin=unz.stdout, capture=True)
        run(["podman", "tag", f"localhost/{kind}:{want}", image], capture=True)
        if image_label(release, kind) == want:
            return
        log("cached image did not carry the expected label: rebuilding")
    build_image(release, want, cache, kind)


def build_image(release: str, want: str, cache: Path, kind: str = LAB_IMAGE) -> None:
    image = image_name(release, kind)
    spec = image_kind(kind, release)
    log(f"building {image} ({want}) with mmdebstrap; one to two minutes")
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        hook = Path(tmp) / "customize.sh"
        hook.write_text(spec["script"])
        tarball = Path(tmp) / "rootfs.tar"
        run(["mmdebstrap", "--quiet", "--variant=minbase",
             "--include=" + ",".join(spec["packages"]),
             f"--customize-hook=sh {hook} \"$1\"",
             release, str(tarball)], capture=True)
        changes = [item for change in [*spec["changes"], f"LABEL hastack.lab.hash={want}"]
                   for item in ("--change", change)]
        run(["podman", "import", *changes, str(tarball), f"localhost/{kind}:{want}"], capture=True)
    run(["podman", "tag", f"localhost/{kind}:{want}", image], capture=True)
    log(f"built in {time.monotonic() - started:.0f} s")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    for old in CACHE_DIR.glob(f"{kind}-{release}-*.tar.zst"):  # this release's older builds only
        old.unlink()
    partial = cache.with_suffix(".partial")
    with open(partial, "wb") as out:
        with subprocess.Popen(["podman", "save", f"localhost/{kind}:{want}"],
                              stdout=subprocess.PIPE) as save:
            run(["zstd", "-q", "-T0", "-3", "-c"], stdin=save.stdout, stdout=out)
    partial.rename(cache)
    log(f"cached as {cache}")


# ---------------------------------------------------------------- spec
def load_spec(path: str) -> dict:
    """Read the lab out of an Ansible YAML inventory.

    The inventory is the one source of truth: `all.vars.lab_name` and
    `all.vars.lab_networks` (key -> subnet) describe the networks, and every
    host with `lab_addresses` (network key -> address) becomes a container
    named like the inventory host.
    """
    import yaml  # PyYAML: from the project's venv or python3-yaml

    inventory = yaml.safe_load(Path(path).read_text()) or {}
    top = inventory.get("all") or {}
    top_vars = top.get("vars") or {}
    if "lab_name" not in top_vars or "lab_networks" not in top_vars:
        raise LabError(f"{path}: all.vars needs lab_name and lab_networks")
    hosts: dict[str, dict] = {}

    release = os.environ.get("HASTACK_LAB_RELEASE") or top_vars.get("lab_release") or DEFAULT_RELEASE

    def walk(group: dict, group_release: str) -> None:
        group_release = (group.get("vars") or {}).get("lab_release", group_release)
        for name, host_vars in (group.get("hosts") or {}).items():
            addresses = (host_vars or {}).get("lab_addresses")
            if addresses:
                hosts[name] = {"name": name, "networks": dict(addresses),
                               "networks6": dict((host_vars or {}).get("lab_addresses6") or {}),
                               "release": (host_vars or {}).get("lab_release", group_release)}
        for child in (group.get("children") or {}).values():
            walk(child or {}, group_release)

    walk({**top, "vars": {}}, release)
    lab = top_vars["lab_name"]
    spec = {
        "lab": lab,
        "key": str(key_path(lab)),
        "networks": {key: {"name": f"{lab}-{key}", "subnet": subnet,
                           "subnet6": (top_vars.get("lab_networks6") or {}).get(key)}
                     for key, subnet in top_vars["lab_networks"].items()},
        "hosts": list(hosts.values()),
    }
    check_spec(spec, path)
    return spec


def key_path(lab: str) -> Path:
    """The lab's SSH private key (the inventory's ansible_ssh_private_key_file)."""
    return KEY_DIR / lab


def check_spec(spec: dict, path: str) -> None:
    if not spec["hosts"]:
        raise LabError(f"{path}: no host has lab_addresses")
    for host in spec["hosts"]:
        if host["release"] not in RELEASES:
            raise LabError(f"{path}: host {host['name']}: lab_release {host['release']!r} is not one of "
                           f"{', '.join(RELEASES)}")
    subnets = {}
    for key, net in spec["networks"].items():
        subnet = ipaddress.ip_network(net["subnet"])
        if not subnet.is_private:
            raise LabError(f"{path}: network {key}: {subnet} is not a private range")
        subnets[key] = subnet
    subnets6 = {}
    host_prefixes = host_ipv6_prefixes()
    for key, net in spec["networks"].items():
        if net.get("subnet6") is None:
            continue
        subnet6 = ipaddress.ip_network(net["subnet6"])
        if subnet6.version != 6 or not subnet6.subnet_of(ULA):
            raise LabError(f"{path}: lab_networks6.{key}: {subnet6} is not inside the ULA range {ULA}")
        for prefix in host_prefixes:
            if subnet6.overlaps(prefix):
                raise LabError(f"{path}: lab_networks6.{key}: {subnet6} overlaps {prefix}, a prefix "
                               f"of this machine: choose another lab prefix")
        subnets6[key] = subnet6
    for host in spec["hosts"]:
        for key, address in host["networks"].items():
            if key not in subnets:
                raise LabError(f"{path}: host {host['name']}: unknown network {key}")
            if ipaddress.ip_address(address) not in subnets[key]:
                raise LabError(f"{path}: host {host['name']}: {address} is outside {subnets[key]}")
        for key, address in host.get("networks6", {}).items():
            if key not in host["networks"]:
                raise LabError(f"{path}: host {host['name']}: lab_addresses6.{key} needs an IPv4 "
                               f"address on {key} in lab_addresses too")
            if key not in subnets6:
                raise LabError(f"{path}: host {host['name']}: lab_addresses6.{key}: network {key} "
                               f"has no IPv6 prefix in lab_networks6")
            if ipaddress.ip_address(address) not in subnets6[key]:
                raise LabError(f"{path}: host {host['name']}: {address} is outside {subnets6[key]}")


ULA = ipaddress.ip_network("fd00::/8")


def host_ipv6_prefixes() -> list:
    """The IPv6 prefixes of this machine's own (root namespace) addresses."""
    try:
        out = subprocess.run(["ip", "-6", "-o", "addr", "show"], capture_output=True, text=True,
                             check=False).stdout
    except FileNotFoundError:
        return []
    prefixes = []
    for line in out.splitlines():
        fields = line.split()
        if "inet6" in fields:
            prefixes.append(ipaddress.ip_interface(fields[fields.index("inet6") + 1]).network)
    return [prefix for prefix in prefixes if not prefix.is_link_local and not prefix.is_loopback]


def gateway(subnet: str) -> str:
    return str(next(ipaddress.ip_network(subnet).hosts()))


def container_state(name: str) -> str | None:
    result = podman("container", "inspect", "--format", "{{.State.Status}}", name, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def wait_for_systemd(name: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    state = "unknown"
    while time.monotonic() < deadline:
        result = podman("exec", name, "systemctl", "is-system-running", check=False)
        state = result.stdout.strip()
        if state in ("running", "degraded"):
            return state
        time.sleep(0.3)
    jobs = podman("exec", name, "systemctl", "list-jobs", "--no-pager", check=False).stdout.strip()
    failed = podman("exec", name, "systemctl", "list-units", "--failed", "--no-pager", "--plain",
                    "--no-legend", check=False).stdout.strip()
    raise LabError(f"{name}: systemd did not finish booting within {timeout:.0f} s (state {state})\n"
                   f"stuck jobs:\n{jobs or '(none)'}\nfailed units:\n{failed or '(none)'}\n"
                   f"(units failed with 'Result: resources' mean the host is short of inotify "
                   f"instances: see 'lab.py install')")


def ensure_key(lab: str) -> Path:
    """The lab's SSH key pair (made once; the private key 0600 in a 0700 folder)."""
    key = key_path(lab)
    if not key.exists():
        KEY_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(KEY_DIR, 0o700)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"hastack-lab {lab}", "-f", str(key)],
            capture=True)
        log(f"ssh key {key}")
    os.chmod(key, 0o600)
    return key


def authorize_key(name: str, address: str, key: Path) -> None:
    """Put the lab's public key on a host (podman exec: plumbing), then prove ssh reaches it."""
    run(["podman", "exec", "-i", name, "sh", "-c",
         "umask 077 && mkdir -p /root/.ssh && cat > /root/.ssh/authorized_keys"],
        input=Path(f"{key}.pub").read_text(), capture=True)
    deadline = time.monotonic() + 30
    while True:
        result = run(["ssh", *SSH_OPTIONS, "-i", str(key), f"root@{address}", "true"], check=False, capture=True)
        if result.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise LabError(f"{name}: no ssh to root@{address} within 30 s: {result.stderr.strip()}")
        time.sleep(0.3)


def cmd_up(args) -> None:
    spec = load_spec(args.spec)
    for release in sorted({host["release"] for host in spec["hosts"]}):
        cmd_image(argparse.Namespace(rebuild=False, release=release))
    states = {host["name"]: container_state(host["name"]) for host in spec["hosts"]}
    check_headroom(sum(1 for state in states.values() if state != "running"))
    key = ensure_key(spec["lab"])
    lab_label = f"hastack.lab={spec['lab']}"
    for net in spec["networks"].values():
        if podman("network", "exists", net["name"], check=False).returncode != 0:
            podman("network", "create", "--internal", "--label", OWNER_LABEL,
                   "--label", lab_label, "--subnet", net["subnet"],
                   "--gateway", gateway(net["subnet"]), net["name"])
            log(f"network {net['name']} {net['subnet']} (internal)")
    for host in spec["hosts"]:
        name = host["name"]
        state = states[name]
        if state is not None:
            have = set(podman("container", "inspect", "--format",
                              "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
                              name).stdout.split())
            want = {spec["networks"][key]["name"] for key in host["networks"]}
            if have != want:
                raise LabError(f"{name} exists on networks {sorted(have)}, the inventory wants "
                               f"{sorted(want)}: remove the lab first (lab.py down {args.spec})")
            image = podman("container", "inspect", "--format", "{{.ImageName}}", name).stdout.strip()
            if image != image_name(host["release"]):
                raise LabError(f"{name} runs {image}, the inventory wants {host['release']}: "
                               f"remove the lab first (lab.py down {args.spec})")
        if state == "running":
            continue
        if state is not None:
            podman("start", name)
        else:
            cmd = ["run", "-d", "--name", name, "--hostname", name,
                   "--systemd=always", "--label", OWNER_LABEL, "--label", lab_label,
                   "--cap-add", ",".join(CAPABILITIES)]
            # IPv6 addresses stay on an interface that goes down and up (the link drill)
            cmd += ["--sysctl", "net.ipv6.conf.all.keep_addr_on_down=1",
                    "--sysctl", "net.ipv6.conf.default.keep_addr_on_down=1"]
            # interfaces are named in the order the inventory lists the networks
            for index, (key_name, address) in enumerate(host["networks"].items()):
                cmd += ["--network",
                        f"{spec['networks'][key_name]['name']}:ip={address},interface_name=eth{index}"]
            podman(*cmd, image_name(host["release"]))
        log(f"host {name} {host['release']} {' '.join(host['networks'].values())}")
    for host in spec["hosts"]:
        wait_for_systemd(host["name"])
        add_ipv6_addresses(spec, host)
        authorize_key(host["name"], next(iter(host["networks"].values())), key)
    log(f"lab '{spec['lab']}' is up: {len(spec['hosts'])} hosts, reached over ssh as root with {key}")


def add_ipv6_addresses(spec: dict, host: dict) -> None:
    """Put the host's IPv6 lab addresses on its interfaces (ethN in the inventory's order)."""
    keys = list(host["networks"])
    for key, address in host.get("networks6", {}).items():
        prefixlen = ipaddress.ip_network(spec["networks"][key]["subnet6"]).prefixlen
        interface = f"eth{keys.index(key)}"
        podman("exec", host["name"], "sysctl", "-q", "-w",
               f"net.ipv6.conf.{interface}.keep_addr_on_down=1")
        podman("exec", host["name"], "ip", "-6", "addr", "replace", f"{address}/{prefixlen}",
               "dev", interface, "nodad")


def remove(filters: list[str]) -> None:
    ids = podman("ps", "-aq", *filters).stdout.split()
    if ids:
        podman("rm", "-f", "-t", "0", *ids)
    nets = podman("network", "ls", "-q", *filters).stdout.split()
    for net in nets:
        podman("network", "rm", "-f", net)
    log(f"removed {len(ids)} containers, {len(nets)} networks")


def cmd_down(args) -> None:
    if args.all:
        remove(["--filter", f"label={OWNER_LABEL}"])
        return
    spec = load_spec(args.spec)
    remove(["--filter", f"label={OWNER_LABEL}", "--filter", f"label=hastack.lab={spec['lab']}"])


def cmd_status(args) -> None:
    spec = load_spec(args.spec)
    for host in spec["hosts"]:
        print(f"{host['name']}: {container_state(host['name']) or 'absent'} {host['release']} "
              f"{' '.join([*host['networks'].values(), *host['networks6'].values()])}")
    print(f"ssh key: {spec['key']}")


def command_line(description: str, commands: dict, argv: list[str] | None, root_needed: str):
    """The command line of both labs (this one and vm.py): install, image [--rebuild],
    up SPEC, down SPEC|--all, status SPEC. Returns the parser and the parsed arguments."""
    parser = argparse.ArgumentParser(description=description.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install").set_defaults(func=commands["install"])
    image = sub.add_parser("image")
    image.add_argument("--rebuild", action="store_true")
    image.add_argument("--release", choices=RELEASES, help="only this release (default: every release)")
    image.set_defaults(func=commands["image"])
    if "ee-base" in commands:
        ee_base = sub.add_parser("ee-base", help="the execution environment's base image")
        ee_base.add_argument("--rebuild", action="store_true")
        ee_base.add_argument("--release", choices=RELEASES, help=f"Debian release (default: {DEFAULT_RELEASE})")
        ee_base.set_defaults(func=commands["ee-base"])
    for name in ("up", "down", "status"):
        command = sub.add_parser(name)
        command.add_argument("spec", nargs="?" if name == "down" else None)
        command.set_defaults(func=commands[name])
    sub.choices["down"].add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "down" and not (args.all or args.spec):
        parser.error("down needs a SPEC or --all")
    if os.geteuid() != 0:
        parser.error(root_needed)
    return parser, args


def run_command(args, prefix: str) -> int:
    try:
        args.func(args)
    except LabError as exc:
        print(f"{prefix}: error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    commands = {"install": cmd_install, "image": cmd_image, "ee-base": cmd_ee_base,
                "up": cmd_up, "down": cmd_down, "status": cmd_status}
    parser, args = command_line(__doc__, commands, argv, "the lab needs root (rootful podman)")
    if args.command != "install" and not shutil.which("podman"):
        parser.error("podman is missing: run 'lab.py install' first")
    return run_command(args, "lab")


if __name__ == "__main__":
    sys.exit(main())
