#!/usr/bin/env python3
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put the collections the execution environment installs into dist/, without Galaxy.

    python tools/ee_build_files.py [--output-path dist]

- dist/hastack-dns_dhcp-VERSION.tar.gz: `ansible-galaxy collection build` of this checkout;
- dist/ansible_collections/NS/NAME: every collection galaxy.yml depends on, copied as
  installed where this machine's Ansible finds it (the `ansible` package in the venv:
  the versions the tests run with).

execution-environment.yml copies both into the image: the dependencies into the
collections path before `ansible-galaxy collection install --offline` installs the
tarball, which then checks them against galaxy.yml's version ranges.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
GALAXY_BIN = Path(sys.executable).parent / "ansible-galaxy"


def installed_path(fqcn: str) -> Path:
    """Where this machine's ansible-galaxy finds the collection (the first path that has it)."""
    listing = subprocess.run([str(GALAXY_BIN), "collection", "list", fqcn, "--format", "json"],
                             cwd=REPO, capture_output=True, text=True, check=True)
    found = json.loads(listing.stdout or "{}")
    for path, collections in found.items():
        if fqcn in collections:
            return Path(path) / Path(*fqcn.split("."))
    raise SystemExit(f"ee_build_files: {fqcn} (a dependency in galaxy.yml) is not installed here")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output-path", default=str(REPO / "dist"))
    args = parser.parse_args(argv)
    out = Path(args.output_path)
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    tarball = out / f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"
    subprocess.run([str(GALAXY_BIN), "collection", "build", "--force", "--output-path", str(out), str(REPO)],
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    print(f"ee_build_files: {tarball}")
    shutil.rmtree(out / "ansible_collections", ignore_errors=True)
    for fqcn in galaxy.get("dependencies") or {}:
        source = installed_path(fqcn)
        target = out / "ansible_collections" / Path(*fqcn.split("."))
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        version = json.loads((source / "MANIFEST.json").read_text())["collection_info"]["version"]
        print(f"ee_build_files: {fqcn} {version} from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
