import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
# collections/ansible_collections/hastack/dns_dhcp links back to the checkout
sys.path.insert(0, str(REPO / "collections"))
sys.path.insert(0, str(REPO))


@dataclass(frozen=True)
class InstalledTarball:
    work: Path         # the folder it was built and installed in
    tarball: Path
    collections: Path  # the collections path it is installed into
    root: Path         # collections/ansible_collections/hastack/dns_dhcp
    env: dict          # without the checkout's ansible.cfg: only this install resolves hastack.dns_dhcp
    members: tuple     # the tarball's file names


@pytest.fixture(scope="session")
def installed_tarball(tmp_path_factory):
    """The collection as a user gets it: `ansible-galaxy collection build`, then
    `ansible-galaxy collection install` of the tarball into an empty collections path, run
    from outside the checkout (its ansible.cfg would find the collection installed already).
    Built once for every test that needs it."""
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    work = tmp_path_factory.mktemp("tarball")
    collections = work / "collections"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_ON_ANSIBLE_VERSION_MISMATCH="ignore")
    binary = str(Path(sys.executable).parent / "ansible-galaxy")
    tarball = work / f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"
    for cmd in ([binary, "collection", "build", "--output-path", str(work), str(REPO)],
                [binary, "collection", "install", "--no-deps", "-p", str(collections), str(tarball)]):
        done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, check=False, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    root = collections / "ansible_collections" / galaxy["namespace"] / galaxy["name"]
    assert (root / "MANIFEST.json").is_file()
    with tarfile.open(tarball) as tar:
        members = tuple(m.name for m in tar.getmembers() if not m.isdir())
    return InstalledTarball(work, tarball, collections, root, env, members)
