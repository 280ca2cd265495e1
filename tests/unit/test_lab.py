"""Unit tests of the lab's inventory reading (lab/lab.py), and of every lab inventory."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from lab import lab

REPO = Path(__file__).resolve().parents[2]
LAB_INVENTORIES = [REPO / "inventories/lab/hosts.yml", *sorted(REPO.glob("molecule/*/inventory.yml"))]


def write(tmp_path, text):
    path = tmp_path / "inventory.yml"
    path.write_text(text)
    return str(path)


def test_spec_comes_from_the_inventory(tmp_path, monkeypatch):
    monkeypatch.delenv("HASTACK_LAB_RELEASE", raising=False)
    spec = lab.load_spec(write(tmp_path, """
all:
  vars: {lab_name: t, lab_networks: {lan: 10.213.250.0/24}}
  children:
    g:
      hosts:
        h1: {lab_addresses: {lan: 10.213.250.11}}
        h2: {}
"""))
    assert spec["networks"] == {"lan": {"name": "t-lan", "subnet": "10.213.250.0/24", "subnet6": None}}
    assert spec["hosts"] == [{"name": "h1", "networks": {"lan": "10.213.250.11"}, "networks6": {},
                              "release": lab.DEFAULT_RELEASE}]
    assert spec["key"] == str(lab.KEY_DIR / "t")


DUAL_STACK = """
all:
  vars: {lab_name: t, lab_networks: {lan: 10.213.250.0/24}, lab_networks6: {lan: "PREFIX"}}
  children:
    g:
      hosts:
        h1: {lab_addresses: {lan: 10.213.250.11}, lab_addresses6: {lan: "ADDRESS"}}
"""


def dual_stack(tmp_path, prefix="fd00:213:250::/64", address="fd00:213:250::11"):
    return lab.load_spec(write(tmp_path, DUAL_STACK.replace("PREFIX", prefix).replace("ADDRESS", address)))


def test_a_dual_stack_lab_gives_hosts_their_ipv6_address(tmp_path, monkeypatch):
    monkeypatch.setattr(lab, "host_ipv6_prefixes", lambda: [ipaddress.ip_network("fd00::/64")])
    spec = dual_stack(tmp_path)
    assert spec["networks"]["lan"]["subnet6"] == "fd00:213:250::/64"
    assert spec["hosts"][0]["networks6"] == {"lan": "fd00:213:250::11"}


@pytest.mark.parametrize("prefix,address,message", [
    ("2001:db8:1::/64", "2001:db8:1::11", "is not inside the ULA range fd00::/8"),
    ("fc00:1::/64", "fc00:1::11", "is not inside the ULA range fd00::/8"),
    ("fd00::/48", "fd00::11", "overlaps fd00::/64, a prefix of this machine"),
    ("fd00:213:250::/64", "fd00:213:251::11", "is outside fd00:213:250::/64"),
])
def test_an_ipv6_lab_prefix_off_ula_or_on_the_machine_is_refused(tmp_path, monkeypatch, prefix, address, message):
    monkeypatch.setattr(lab, "host_ipv6_prefixes", lambda: [ipaddress.ip_network("fd00::/64")])
    with pytest.raises(lab.LabError, match=message):
        dual_stack(tmp_path, prefix, address)


RELEASES_INVENTORY = """
all:
  vars: {lab_name: t, lab_networks: {lan: 10.213.250.0/24}, lab_release: bookworm}
  children:
    g:
      vars: {lab_release: trixie}
      hosts:
        h1: {lab_addresses: {lan: 10.213.250.11}}
        h2: {lab_addresses: {lan: 10.213.250.12}, lab_release: bookworm}
    k:
      hosts:
        h3: {lab_addresses: {lan: 10.213.250.13}}
"""


def test_the_release_comes_from_the_host_its_group_or_the_lab(tmp_path, monkeypatch):
    monkeypatch.delenv("HASTACK_LAB_RELEASE", raising=False)
    spec = lab.load_spec(write(tmp_path, RELEASES_INVENTORY))
    assert {h["name"]: h["release"] for h in spec["hosts"]} == {"h1": "trixie", "h2": "bookworm", "h3": "bookworm"}


def test_the_environment_replaces_the_lab_wide_release_only(tmp_path, monkeypatch):
    monkeypatch.setenv("HASTACK_LAB_RELEASE", "trixie")
    spec = lab.load_spec(write(tmp_path, RELEASES_INVENTORY))
    assert {h["name"]: h["release"] for h in spec["hosts"]} == {"h1": "trixie", "h2": "bookworm", "h3": "trixie"}


def test_an_unknown_release_is_refused_naming_the_host(tmp_path, monkeypatch):
    monkeypatch.setenv("HASTACK_LAB_RELEASE", "sid")
    with pytest.raises(lab.LabError, match="host h3: lab_release 'sid' is not one of bookworm, trixie"):
        lab.load_spec(write(tmp_path, RELEASES_INVENTORY))


def test_each_release_has_its_own_image_and_package_list():
    assert lab.image_hash("bookworm") != lab.image_hash("trixie")
    assert lab.image_name("trixie") == "localhost/hastack-lab:trixie"
    for release in lab.RELEASES:
        names = lab.packages(release)
        assert "openssh-server" in names and "bind9-dnsutils" in names, release


def test_up_refuses_to_start_containers_without_inotify_headroom(monkeypatch):
    monkeypatch.setattr(lab, "inotify_in_use", lambda: 120)
    monkeypatch.setattr(lab, "sysctl_path", lambda key: FakeSysctl("128"))
    with pytest.raises(lab.LabError, match=r"fs.inotify.max_user_instances is 128: 120 .* 3 more containers"):
        lab.check_headroom(3)
    lab.check_headroom(0)  # nothing to start, nothing to check
    monkeypatch.setattr(lab, "sysctl_path", lambda key: FakeSysctl("1024"))
    lab.check_headroom(27)


class FakeSysctl:
    def __init__(self, value):
        self.value = value

    def read_text(self):
        return self.value + "\n"


@pytest.mark.parametrize("text,message", [
    ("all: {vars: {}}", "needs lab_name and lab_networks"),
    ("all: {vars: {lab_name: t, lab_networks: {lan: 8.8.8.0/24}}, hosts: {h: {lab_addresses: {lan: 8.8.8.8}}}}",
     "not a private range"),
    ("all: {vars: {lab_name: t, lab_networks: {lan: 10.213.250.0/24}}, hosts: {h: {lab_addresses: {lan: 10.213.251.1}}}}",
     "outside 10.213.250.0/24"),
    ("all: {vars: {lab_name: t, lab_networks: {lan: 10.213.250.0/24}}, hosts: {h: {lab_addresses: {wan: 10.213.250.1}}}}",
     "unknown network wan"),
    ("all: {vars: {lab_name: t, lab_networks: {lan: 10.213.250.0/24}}, hosts: {h: {}}}", "no host has lab_addresses"),
])
def test_bad_lab_inventories_are_refused(tmp_path, text, message):
    with pytest.raises(lab.LabError, match=message):
        lab.load_spec(write(tmp_path, text))


def test_containers_conf_stays_within_the_hard_limits():
    conf = lab.containers_conf()
    assert 'runtime = "runc"' in conf
    nproc = int(conf.split("nproc=")[1].split(":")[0])
    assert 0 < nproc <= 32768


@pytest.mark.parametrize("path", LAB_INVENTORIES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_lab_inventory_is_valid(path):
    spec = lab.load_spec(str(path))
    assert spec["hosts"]


def test_labs_do_not_share_names_or_subnets():
    """Container names are global on the host: scenarios must not collide."""
    names, subnets, labs = {}, {}, {}
    for path in LAB_INVENTORIES:
        spec = lab.load_spec(str(path))
        assert spec["lab"] not in labs, f"lab_name {spec['lab']} in {path} and {labs.get(spec['lab'])}"
        labs[spec["lab"]] = path
        for host in spec["hosts"]:
            assert host["name"] not in names, f"{host['name']} in {path} and {names[host['name']]}"
            names[host["name"]] = path
        for net in spec["networks"].values():
            subnet = ipaddress.ip_network(net["subnet"])
            for other, where in subnets.items():
                assert not subnet.overlaps(other), f"{subnet} ({path}) overlaps {other} ({where})"
            subnets[subnet] = path


def test_an_image_build_waits_for_the_one_under_way(tmp_path, monkeypatch):
    """Two runs started at once must not both build and rename the cached image."""
    import subprocess
    import sys

    monkeypatch.setattr(lab, "CACHE_DIR", tmp_path)
    released = tmp_path / "released"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, pathlib, sys, time; f = open(sys.argv[1], 'w'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(1); "
         "pathlib.Path(sys.argv[2]).touch(); fcntl.flock(f, fcntl.LOCK_UN); time.sleep(5)",
         str(tmp_path / "lab-image.lock"), str(released)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with lab.cache_lock("lab-image"):
            assert released.exists(), "got the lock while the other build held it"
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_the_image_hash_does_not_depend_on_where_the_checkout_is(tmp_path, monkeypatch):
    import shutil

    here = lab.image_hash("trixie")
    shutil.copytree(lab.IMAGE_DIR, tmp_path / "elsewhere")
    monkeypatch.setattr(lab, "IMAGE_DIR", tmp_path / "elsewhere")
    assert lab.image_hash("trixie") == here
    (tmp_path / "elsewhere/sysctl").write_text("changed\n")
    assert lab.image_hash("trixie") != here


def test_the_ee_base_image_has_its_own_hash_that_follows_its_files(tmp_path, monkeypatch):
    import shutil

    lab_hash = lab.image_hash("trixie")
    here = lab.image_hash("trixie", lab.EE_BASE_IMAGE)
    assert here != lab_hash
    assert lab.image_name("trixie", lab.EE_BASE_IMAGE) == "localhost/hastack-ee-base:trixie"
    shutil.copytree(lab.IMAGE_DIR, tmp_path / "elsewhere")
    monkeypatch.setattr(lab, "IMAGE_DIR", tmp_path / "elsewhere")
    assert lab.image_hash("trixie", lab.EE_BASE_IMAGE) == here
    (tmp_path / "elsewhere/ee-pkg").write_text("changed\n")
    assert lab.image_hash("trixie", lab.EE_BASE_IMAGE) != here
    assert lab.image_hash("trixie") == lab_hash  # the lab image does not depend on ee-base's files
    (tmp_path / "cas").mkdir()
    (tmp_path / "cas/proxy.crt").write_text("a CA\n")
    monkeypatch.setattr(lab, "LOCAL_CA_DIR", tmp_path / "cas")
    with_ca = lab.image_hash("trixie", lab.EE_BASE_IMAGE)
    (tmp_path / "cas/proxy.crt").write_text("another CA\n")
    assert lab.image_hash("trixie", lab.EE_BASE_IMAGE) != with_ca
