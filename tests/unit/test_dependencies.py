"""Every collection whose modules, filters, tests, lookups or module_utils the roles,
playbooks and plugins use is a dependency in galaxy.yml (or ansible.builtin, or this one)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
OWN = f"{GALAXY['namespace']}.{GALAXY['name']}"
NAME = r"[a-z][a-z0-9_]*"
FQCN = rf"({NAME}\.{NAME})\.{NAME}"
PATTERNS = [
    re.compile(rf"^\s*(?:-\s+)?{FQCN}:", re.M),                      # a task's module, a module_defaults key
    re.compile(rf"group/{FQCN}"),                                      # module_defaults groups
    re.compile(rf"\|\s*{FQCN}\b"),                                     # filters
    re.compile(rf"\bis\s+(?:not\s+)?{FQCN}\b"),                        # tests
    re.compile(rf"\b(?:lookup|query|q)\(\s*['\"]{FQCN}"),              # lookups
    re.compile(rf"\b(?:select|reject|selectattr|rejectattr|map)\([^)]*['\"]{FQCN}['\"]"),
    re.compile(rf"^\s*(?:-\s+)?(?:role|name|module|action):\s+['\"]?{FQCN}['\"]?\s*$", re.M),
]
# dotted mapping keys that are no collection: sysctl names (net.ipv4.ip_forward: 1)
NOT_COLLECTIONS = re.compile(r"^(net|kernel|vm|fs)\.")
PY = re.compile(rf"ansible_collections\.({NAME})\.({NAME})\.")


def used_collections():
    used = {}
    for top in ("roles", "playbooks", "plugins"):
        for path in (REPO / top).rglob("*"):
            if not path.is_file():
                continue
            text = path.read_text(errors="replace")
            if path.suffix in (".yml", ".yaml", ".j2"):
                for pattern in PATTERNS:
                    for match in pattern.finditer(text):
                        if NOT_COLLECTIONS.match(match.group(1)):
                            continue
                        used.setdefault(match.group(1), set()).add(str(path.relative_to(REPO)))
            elif path.suffix == ".py":
                for match in PY.finditer(text):
                    used.setdefault(f"{match.group(1)}.{match.group(2)}", set()).add(str(path.relative_to(REPO)))
    return used


def test_the_scan_finds_the_known_uses():
    used = used_collections()
    for name in ("ansible.utils", "ansible.posix", "community.crypto", "community.general", "awx.awx",
                 "ansible.builtin", OWN):
        assert name in used, f"the scan no longer sees {name}: it would miss a dependency"


def test_every_used_collection_is_a_declared_dependency():
    declared = set(GALAXY["dependencies"]) | {"ansible.builtin", "ansible.legacy", OWN}
    missing = {name: sorted(files)[:3] for name, files in used_collections().items() if name not in declared}
    assert not missing, f"used but not in galaxy.yml dependencies: {missing}"


def test_every_declared_dependency_is_used():
    used = used_collections()
    unused = sorted(set(GALAXY["dependencies"]) - set(used))
    assert not unused, f"galaxy.yml depends on collections nothing uses: {unused}"
