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
    assert spec["networks"] == {"lan": {"name": "t-lan", "subnet": "10.213.250.0/24"}}
    assert spec["hosts"] == [{"name": "h1", "networks": {"lan": "10.213.250.11"}, "release": lab.DEFAULT_RELEASE}]


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


@pytest.mark.parametrize("release", lab.RELEASES)
def test_the_image_hash_does_not_depend_on_where_the_checkout_is(tmp_path, monkeypatch, release):
    import shutil

    here = lab.image_hash(release)
    assert all(lab.image_hash(other) != here for other in lab.RELEASES if other != release)
    shutil.copytree(lab.IMAGE_DIR, tmp_path / "elsewhere")
    monkeypatch.setattr(lab, "IMAGE_DIR", tmp_path / "elsewhere")
    assert lab.image_hash(release) == here
    (tmp_path / "elsewhere/sysctl").write_text("changed\n")
    assert lab.image_hash(release) != here
