#!/usr/bin/env python3
"""The hastack VM lab: small Debian VMs under qemu, for what containers cannot do.

The container lab shares this machine's kernel, which has no IPVS; an LVS director
needs a kernel of its own. These VMs boot Debian's kernel (ip_vs is a module there)
under qemu's software emulation (TCG: /dev/kvm is not usable here), from one image
built with mmdebstrap and a copy-on-write overlay per VM.

    vm.py install            install qemu and the tools (idempotent)
    vm.py image [--rebuild]  build the VM image, or reuse the cached one
    vm.py up SPEC            create the networks and VMs a spec describes, wait for ssh
    vm.py down SPEC          remove them again
    vm.py down --all         remove every VM and network the VM lab made
    vm.py status SPEC        one line per VM: state and addresses

SPEC is the same Ansible YAML inventory as for lab/lab.py (lab_name, lab_networks,
lab_addresses; lab_networks6 and lab_addresses6 for a dual-stack lab: each VM gets its
IPv6 address on the same interface, from the kernel command line like the IPv4 one).
The inventory connects with ssh as root to each VM's first address with the lab key
(ansible_host, ansible_ssh_private_key_file: see `vm.py status`).

Safety: each lab network is a bridge of its own with no uplink; an nftables table
(hastack_vm_lab) drops everything forwarded to or from the lab bridges, so nothing
leaves them but the controller's ssh to the VMs. The VMs get no default route.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lab import (CACHE_DIR, DEFAULT_RELEASE, SSH_OPTIONS, LabError, cache_lock, command_line,  # noqa: E402
                 install_host_packages, load_spec, log, packages, run, run_command)

HOST_PACKAGES = ["qemu-system-x86", "qemu-utils", "mmdebstrap", "openssh-client", "nftables", "iproute2"]
VM_PACKAGES = ["linux-image-amd64", "initramfs-tools", "udev", "kmod"]
KEY = CACHE_DIR / "vm-lab-key"
STATE = Path(os.environ.get("HASTACK_VM_STATE", "/var/tmp/hastack-vm-lab"))
NFT_TABLE = "hastack_vm_lab"
MEMORY_MB = int(os.environ.get("HASTACK_VM_MEMORY", "448"))
BOOT_TIMEOUT = float(os.environ.get("HASTACK_VM_BOOT_TIMEOUT", "300"))

# Sets the hostname and the addresses from the kernel command line (hastack.hostname=,
# hastack.net=eth0:10.0.0.11/24,eth1:...), before the network comes up.
NET_SCRIPT = r"""#!/bin/sh
set -eu
for word in $(cat /proc/cmdline); do
    case $word in
        hastack.hostname=*) hostname "${word#*=}"; echo "${word#*=}" > /etc/hostname ;;
        hastack.net=*) nets=${word#*=} ;;
    esac
done
for item in $(echo "${nets:-}" | tr ',' ' '); do
    dev=${item%%:*}
    i=0
    while [ ! -e "/sys/class/net/$dev" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    ip addr replace "${item#*:}" dev "$dev"
    ip link set "$dev" up
done
ip link set lo up
"""
NET_UNIT = """[Unit]
Description=hastack VM lab: hostname and addresses from the kernel command line
DefaultDependencies=no
After=systemd-udevd.service
Before=network-pre.target ssh.service
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/hastack-vm-net

[Install]
WantedBy=multi-user.target
"""


def cmd_install(_args) -> None:
    install_host_packages(HOST_PACKAGES, "--no-install-recommends")
    log("qemu ready: " + run(["qemu-system-x86_64", "--version"], capture=True).stdout.splitlines()[0])


def public_key() -> str:
    if not KEY.exists():
        KEY.parent.mkdir(parents=True, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hastack-vm-lab", "-f", str(KEY)])
    return Path(f"{KEY}.pub").read_text()


def customize_script(workdir: Path) -> str:
    (workdir / "hastack-vm-net").write_text(NET_SCRIPT)
    (workdir / "hastack-vm-net.service").write_text(NET_UNIT)
    (workdir / "authorized_keys").write_text(public_key())
    return f"""set -e
root="$1"
install -m 0755 {workdir}/hastack-vm-net "$root/usr/local/sbin/hastack-vm-net"
install -m 0644 {workdir}/hastack-vm-net.service "$root/etc/systemd/system/hastack-vm-net.service"
chroot "$root" systemctl enable hastack-vm-net.service >/dev/null
install -d -m 0700 "$root/root/.ssh"
install -m 0600 {workdir}/authorized_keys "$root/root/.ssh/authorized_keys"
echo '/dev/vda / ext4 defaults,noatime 0 1' > "$root/etc/fstab"
echo 'hastack-vm' > "$root/etc/hostname"
for svc in keepalived dnsmasq haproxy dnsdist nginx isc-dhcp-server isc-dhcp-server6 kea-dhcp4-server \
           kea-ctrl-agent named chrony nftables ipvsadm apt-daily.timer apt-daily-upgrade.timer \
           e2scrub_all.timer fstrim.timer systemd-timesyncd; do
    chroot "$root" systemctl disable "$svc" >/dev/null 2>&1 || true
done
chroot "$root" systemctl mask systemd-networkd-wait-online.service serial-getty@ttyS0.service >/dev/null
rm -f "$root/etc/machine-id" "$root/var/lib/dbus/machine-id" "$root/etc/ssh/ssh_host_"*
: > "$root/etc/machine-id"
chroot "$root" ssh-keygen -A >/dev/null
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
"""


def image_hash(release: str) -> str:
    digest = hashlib.sha256(release.encode())
    digest.update("\n".join(packages(release) + VM_PACKAGES).encode())
    digest.update(NET_SCRIPT.encode() + NET_UNIT.encode() + public_key().encode())
    with tempfile.TemporaryDirectory() as tmp:
        digest.update(customize_script(Path(tmp)).replace(tmp, "").encode())
    return digest.hexdigest()[:16]


def image_paths(release: str, want: str) -> dict[str, Path]:
    base = CACHE_DIR / f"hastack-vm-{release}-{want}"
    return {"disk": base.with_suffix(".img"), "kernel": base.with_suffix(".vmlinuz"),
            "initrd": base.with_suffix(".initrd")}


def cmd_image(args) -> dict[str, Path]:
    with cache_lock("vm-image"):
        return current_image(getattr(args, "release", None) or DEFAULT_RELEASE, getattr(args, "rebuild", False))


def current_image(release: str, rebuild: bool) -> dict[str, Path]:
    want = image_hash(release)
    paths = image_paths(release, want)
    if all(p.exists() for p in paths.values()) and not rebuild:
        log(f"VM image {release} is current ({want})")
        return paths
    log(f"building the VM image {release} ({want}) with mmdebstrap; a few minutes")
    started = time.monotonic()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE_DIR) as tmp:
        work = Path(tmp)
        hook = work / "customize.sh"
        hook.write_text(customize_script(work))
        root = work / "root"
        run(["mmdebstrap", "--quiet", "--variant=minbase",
             "--include=" + ",".join(packages(release) + VM_PACKAGES),
             f"--customize-hook=sh {hook} \"$1\"", release, str(root)], capture=True)
        kernel = sorted((root / "boot").glob("vmlinuz-*"))[-1]
        initrd = sorted((root / "boot").glob("initrd.img-*"))[-1]
        for old in CACHE_DIR.glob(f"hastack-vm-{release}-*"):  # this release's older builds only
            if old.is_file():
                old.unlink()
        run(["cp", str(kernel), str(paths["kernel"])])
        run(["cp", str(initrd), str(paths["initrd"])])
        partial = paths["disk"].with_suffix(".partial")
        run(["mkfs.ext4", "-q", "-F", "-L", "hastack-vm", "-d", str(root), str(partial), "3G"], capture=True)
        partial.rename(paths["disk"])
    log(f"VM image built in {time.monotonic() - started:.0f} s: {paths['disk']}")
    return paths


# ---------------------------------------------------------------- names
def short(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:8]


def bridge_name(lab: str, key: str) -> str:
    return f"hvb{short(lab, key)}"  # within IFNAMSIZ (15)


def tap_name(lab: str, host: str, key: str) -> str:
    return f"hvt{short(lab, host, key)}"


def mac(lab: str, host: str, key: str) -> str:
    digest = short(lab, host, key, "mac")
    return "52:54:00:" + ":".join(digest[i:i + 2] for i in (0, 2, 4))


def lab_dir(lab: str) -> Path:
    return STATE / lab


def link_exists(name: str) -> bool:
    return run(["ip", "link", "show", name], check=False, capture=True).returncode == 0


# ---------------------------------------------------------------- network
def ensure_firewall() -> None:
    """Drop everything the host would forward to or from a lab bridge (idempotent)."""
    if run(["nft", "list", "table", "inet", NFT_TABLE], check=False, capture=True).returncode == 0:
        return
    rules = (f"table inet {NFT_TABLE} {{\n"
             "  chain forward {\n"
             "    type filter hook forward priority -10; policy accept;\n"
             '    iifname "hvb*" oifname != "hvb*" oifname != "hvt*" drop\n'
             '    iifname "hvt*" oifname != "hvb*" oifname != "hvt*" drop\n'
             '    oifname "hvb*" iifname != "hvb*" iifname != "hvt*" drop\n'
             '    oifname "hvt*" iifname != "hvb*" iifname != "hvt*" drop\n'
             "  }\n"
             "}\n")
    run(["nft", "-f", "-"], input=rules, capture=True)


def ensure_bridge(name: str, subnet: str) -> None:
    if link_exists(name):
        return
    network = ipaddress.ip_network(subnet)
    run(["ip", "link", "add", name, "type", "bridge"], capture=True)
    # the controller's address on the lab network (the first of the subnet), for ssh
    run(["ip", "addr", "add", f"{next(network.hosts())}/{network.prefixlen}", "dev", name], capture=True)
    run(["ip", "link", "set", name, "up"], capture=True)
    log(f"network {name} {subnet} (bridge, no uplink)")


def ensure_tap(name: str, bridge: str) -> None:
    if not link_exists(name):
        run(["ip", "tuntap", "add", "dev", name, "mode", "tap"], capture=True)
    run(["ip", "link", "set", name, "master", bridge], capture=True)
    run(["ip", "link", "set", name, "up"], capture=True)


# ---------------------------------------------------------------- VMs
def pid_of(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def first_address(spec: dict, host: dict) -> str:
    return next(iter(host["networks"].values()))


def ssh(address: str, command: str, timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run(["ssh", *SSH_OPTIONS, "-i", str(KEY), f"root@{address}", command],
                          capture_output=True, text=True, timeout=timeout, check=False)


def start_vm(spec: dict, host: dict, image: dict[str, Path]) -> None:
    lab, name = spec["lab"], host["name"]
    directory = lab_dir(lab) / name
    directory.mkdir(parents=True, exist_ok=True)
    pidfile = directory / "qemu.pid"
    if pid_of(pidfile):
        return
    overlay = directory / "disk.qcow2"
    if not overlay.exists():
        run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(image["disk"]), "-F", "raw", str(overlay)],
            capture=True)
    nets, devices = [], []
    for index, (key, address) in enumerate(host["networks"].items()):
        prefix = ipaddress.ip_network(spec["networks"][key]["subnet"]).prefixlen
        nets.append(f"eth{index}:{address}/{prefix}")
        if key in host["networks6"]:  # the IPv6 address (lab_addresses6) on the same interface
            prefix6 = ipaddress.ip_network(spec["networks"][key]["subnet6"]).prefixlen
            nets.append(f"eth{index}:{host['networks6'][key]}/{prefix6}")
        tap = tap_name(lab, name, key)
        ensure_tap(tap, bridge_name(lab, key))
        devices += ["-netdev", f"tap,id=n{index},ifname={tap},script=no,downscript=no",
                    "-device", f"virtio-net-pci,netdev=n{index},mac={mac(lab, name, key)}"]
    append = (f"console=ttyS0 root=/dev/vda rw quiet net.ifnames=0 panic=5 "
              f"hastack.hostname={name} hastack.net={','.join(nets)}")
    run(["nice", "-n", "19", "qemu-system-x86_64", "-name", name, "-accel", "tcg,thread=multi", "-smp", "1",
         "-m", str(MEMORY_MB), "-display", "none", "-daemonize", "-pidfile", str(pidfile),
         "-serial", f"file:{directory / 'console.log'}",  # a reboot restarts the guest (maintenance.yml)
         "-kernel", str(image["kernel"]), "-initrd", str(image["initrd"]), "-append", append,
         "-drive", f"file={overlay},if=virtio,format=qcow2,cache=unsafe", *devices], capture=True)
    log(f"vm {name} {' '.join([*host['networks'].values(), *host['networks6'].values()])}")


def wait_for_boot(spec: dict, timeout: float = BOOT_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    waiting = {host["name"]: first_address(spec, host) for host in spec["hosts"]}
    started = time.monotonic()
    while waiting and time.monotonic() < deadline:
        for name, address in list(waiting.items()):
            try:
                state = ssh(address, "systemctl is-system-running").stdout.strip()
            except subprocess.TimeoutExpired:
                continue
            if state in ("running", "degraded"):
                log(f"vm {name} booted ({time.monotonic() - started:.0f} s, {state})")
                del waiting[name]
        time.sleep(2)
    if waiting:
        raise LabError(f"not booted within {timeout:.0f} s: {sorted(waiting)} "
                       f"(consoles in {lab_dir(spec['lab'])}/<vm>/console.log)")


def cmd_up(args) -> None:
    spec = load_spec(args.spec)
    cmd_install(args)
    releases = {host["release"] for host in spec["hosts"]}
    if len(releases) != 1:
        raise LabError(f"{args.spec}: the VMs of one lab run one release (got {sorted(releases)})")
    image = cmd_image(argparse.Namespace(rebuild=False, release=releases.pop()))
    ensure_firewall()
    for key, net in spec["networks"].items():
        ensure_bridge(bridge_name(spec["lab"], key), net["subnet"])
    for host in spec["hosts"]:
        start_vm(spec, host, image)
    wait_for_boot(spec)
    log(f"VM lab '{spec['lab']}' is up: {len(spec['hosts'])} VMs (ssh key {KEY})")


def stop_lab(lab: str) -> int:
    directory = lab_dir(lab)
    stopped = 0
    for pidfile in directory.glob("*/qemu.pid"):
        pid = pid_of(pidfile)
        if pid:
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not pid_of(pidfile):
                    break
                time.sleep(0.1)
            stopped += 1
    if directory.exists():
        run(["rm", "-rf", str(directory)])
    return stopped


def cmd_down(args) -> None:
    if args.all:
        labs = [d.name for d in STATE.glob("*") if d.is_dir()] if STATE.exists() else []
        for lab in labs:
            stop_lab(lab)
        for link in run(["ip", "-o", "link", "show"], capture=True).stdout.splitlines():
            name = link.split(":")[1].strip().split("@")[0]
            if name.startswith(("hvt", "hvb")):
                run(["ip", "link", "del", name], check=False, capture=True)
        run(["nft", "delete", "table", "inet", NFT_TABLE], check=False, capture=True)
        log(f"removed {len(labs)} VM labs")
        return
    spec = load_spec(args.spec)
    lab = spec["lab"]
    stopped = stop_lab(lab)
    for host in spec["hosts"]:
        for key in host["networks"]:
            run(["ip", "link", "del", tap_name(lab, host["name"], key)], check=False, capture=True)
    for key in spec["networks"]:
        run(["ip", "link", "del", bridge_name(lab, key)], check=False, capture=True)
    log(f"removed VM lab '{lab}': {stopped} VMs")


def cmd_status(args) -> None:
    spec = load_spec(args.spec)
    for host in spec["hosts"]:
        pid = pid_of(lab_dir(spec["lab"]) / host["name"] / "qemu.pid")
        addresses = [*host["networks"].values(), *host["networks6"].values()]
        print(f"{host['name']}: {'running' if pid else 'absent'} {' '.join(addresses)}")
    print(f"ssh key: {KEY}")


def main(argv: list[str] | None = None) -> int:
    commands = {"install": cmd_install, "image": cmd_image, "up": cmd_up, "down": cmd_down, "status": cmd_status}
    _parser, args = command_line(__doc__, commands, argv, "the VM lab needs root (bridges, taps)")
    return run_command(args, "vm")


if __name__ == "__main__":
    sys.exit(main())
