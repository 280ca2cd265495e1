#!/usr/bin/env python3
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certification checks of the built collection, the tarball a user installs.

    python tools/certify.py                 every check
    python tools/certify.py sanity docsite  only the named checks
    python tools/certify.py --keep DIR      work in DIR and keep it (logs, tarball, docsite)
    python tools/certify.py --serial        one check after the other (by default the importer
                                            runs beside the others: two cores)

Builds the tarball once (`ansible-galaxy collection build`), installs it into an empty
collections path (`ansible-galaxy collection install --no-deps`) and runs on that copy:

  sanity     ansible-test sanity --python 3.11 of ansible-core in the venv: no error, and
             no tests/sanity/ignore-*.txt entries beyond those listed there with a reason
  importer   galaxy-importer with Automation Hub's checks (required tags, flake8,
             ansible-lint, ansible-doc, changelog; not ansible-test, run above): once with
             require_v1_or_greater, whose only message must be that version 0.1.0 is below
             1.0.0 (the import stops there), once without it, which must pass with no
             warning but the known importer quirk below
  docs-lint  antsibull-docs lint-collection-docs --plugin-docs: no error
  docsite    antsibull-docs sphinx-init + its build.sh (Sphinx with -W): no warning but
             the references into docs.ansible.com that intersphinx would resolve online
             (the build must not reach the network, so its inventories are off)

Prints one line per check, `certify<TAB>NAME<TAB>RC<TAB>SECONDS s: DETAIL`, which
tests/run records, and exits 1 when a check fails. Nothing here uses the network except
pip fetching the pinned requirements of ansible-test's sanity venvs from the package index
(cached under ~/.ansible/test/venv after the first run).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHECKS = ("sanity", "importer", "docs-lint", "docsite")
PYTHON = "3.11"

# galaxy-importer 0.4.44 runs flake8 on the file ansible-doc names for each plugin; for a
# filter documented in a YAML sidecar (plugins/filter/<name>.yml, the way filters that share
# a Python file are documented) that is the YAML file, which flake8 cannot parse. The Python
# files themselves are linted too, and must be clean.
IMPORTER_QUIRK = re.compile(r"^WARNING: (plugins/(?:filter|test)/[a-z0-9_]+\.ya?ml):\d+:\d+: E999 SyntaxError")
IMPORTER_V1 = ("ERROR: The import failed for the following reason: Invalid collection metadata. "
               "Config is enabled that requires version to be 1.0.0 or greater.")
# Labels of the Ansible documentation (docs.ansible.com) the generated pages refer to;
# intersphinx resolves them online only.
ANSIBLE_DOCS_LABELS = {"ansible_configuration_settings", "common_return_values"}


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "GALAXY_IMPORTER_"))}
    env.update(ANSIBLE_NOCOLOR="1", NO_COLOR="1", PY_COLORS="0", **extra)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def run(cmd, cwd, log, env=None, timeout=1800):
    """Run cmd, writing its output to log; return (rc, output)."""
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(str(c) for c in cmd)}\n")
        out.flush()
        try:
            done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env or clean_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            out.write(f"timed out after {timeout} s\n")
            return 124, str(exc.output or "")
        out.write(done.stdout)
    return done.returncode, done.stdout


class Work:
    def __init__(self, root):
        self.root = Path(root)
        galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
        self.fqcn = f"{galaxy['namespace']}.{galaxy['name']}"
        self.tarball = self.root / f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"
        self.collections = self.root / "collections"
        self.installed = self.collections / "ansible_collections" / galaxy["namespace"] / galaxy["name"]

    def log(self, name):
        return self.root / f"{name}.log"

    def build_and_install(self):
        if self.collections.exists():
            shutil.rmtree(self.collections)
        self.tarball.unlink(missing_ok=True)
        rc, out = run([BIN / "ansible-galaxy", "collection", "build", "--output-path", self.root, REPO],
                      self.root, self.log("build"))
        if rc != 0:
            return rc, f"build failed: {out.strip().splitlines()[-1:]}"
        rc, out = run([BIN / "ansible-galaxy", "collection", "install", "--no-deps", "-p", self.collections,
                       self.tarball], self.root, self.log("build"),
                      env=clean_env(ANSIBLE_COLLECTIONS_PATH=str(self.collections)))
        if rc != 0 or not (self.installed / "MANIFEST.json").is_file():
            return rc or 1, f"install failed: {out.strip().splitlines()[-1:]}"
        return 0, f"{self.tarball.name}, {self.tarball.stat().st_size // 1024} KiB"


def ensure_pip_bootstrap():
    """ansible-test bootstraps pip in each sanity venv with a script it downloads from a host
    other than the package index (not reachable here). Put a stand-in in its cache that does
    the same from the interpreter's ensurepip and the package index."""
    import ansible_test  # pylint: disable=import-outside-toplevel

    source = (Path(ansible_test.__file__).parent / "_internal/python_requirements.py").read_text()
    version = re.search(r"pip='([0-9.]+)'", source).group(1)
    cache = Path.home() / ".ansible/test/cache" / f"get_pip_{version.replace('.', '_')}.py"
    stand_in = (
        '"""Stand-in for ansible-test\'s pip bootstrap (written by hastack.dns_dhcp tools/certify.py):\n'
        'ensurepip, then pip and the requested packages from the package index."""\n'
        "import subprocess\nimport sys\n\n"
        "ARGS = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]\n"
        "subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade'], stdout=subprocess.DEVNULL)\n"
        "sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install', '-q'] + ARGS))\n"
    )
    if not cache.exists() or "hastack.dns_dhcp" in cache.read_text():
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(stand_in)


def check_sanity(work):
    ensure_pip_bootstrap()
    log = work.log("sanity")
    rc, out = run([BIN / "ansible-test", "sanity", "--local", "--python", PYTHON, "--color", "no"],
                  work.installed, log)
    errors = [line for line in out.splitlines() if line.startswith("ERROR: ") and "Found " not in line]
    tests = len(re.findall(r'^Running sanity test "', out, re.M))
    ignores = sorted(p.name for p in (work.installed / "tests/sanity").glob("ignore-*.txt"))
    ignored = sum(1 for p in (work.installed / "tests/sanity").glob("ignore-*.txt")
                  for line in p.read_text().splitlines() if line.strip() and not line.startswith("#"))
    if rc != 0 or errors or tests == 0:
        detail = "; ".join(errors[:5]) or (out.strip().splitlines() or ["no output"])[-1]
        return rc or 1, f"{len(errors)} errors: {detail}"
    return 0, f"{tests} tests, 0 errors, {ignored} ignore entries{' in ' + ', '.join(ignores) if ignores else ''}"


def importer_config(work, require_v1):
    config = configparser.ConfigParser()
    config["galaxy-importer"] = {
        "LOG_LEVEL_MAIN": "INFO",
        "RUN_ANSIBLE_TEST": "False",     # ansible-test sanity runs as its own check
        "RUN_ANSIBLE_LINT": "True",
        "OFFLINE_ANSIBLE_LINT": "True",
        "RUN_ANSIBLE_DOC": "True",
        "RUN_FLAKE8": "True",
        "CHECK_REQUIRED_TAGS": "True",
        "CHECK_CHANGELOG": "True",
        "REQUIRE_V1_OR_GREATER": str(require_v1),
        "TMP_ROOT_DIR": str(work.root / "importer-tmp"),
        "ANSIBLE_LOCAL_TMP": str(work.root / "importer-tmp/ansible"),
    }
    (work.root / "importer-tmp/ansible").mkdir(parents=True, exist_ok=True)
    path = work.root / f"galaxy-importer{'-v1' if require_v1 else ''}.cfg"
    with open(path, "w", encoding="utf-8") as out:
        config.write(out)
    return path


def importer_problems(out, work):
    """The warning and error lines of an importer run, less the known quirk (checked: each
    such file is a YAML documentation sidecar of the collection)."""
    problems = []
    for line in out.splitlines():
        if not line.startswith(("WARNING", "ERROR", "CRITICAL", "Traceback")):
            continue
        quirk = IMPORTER_QUIRK.match(line)
        if quirk:
            doc = yaml.safe_load((work.installed / quirk.group(1)).read_text())
            if isinstance(doc, dict) and "DOCUMENTATION" in doc:
                continue
        problems.append(line)
    return problems


def check_importer(work):
    log = work.log("importer")
    cmd = [sys.executable, "-m", "galaxy_importer.main", work.tarball]
    rc, out = run(cmd, work.root, log,
                  env=clean_env(GALAXY_IMPORTER_CONFIG=str(importer_config(work, require_v1=True))))
    messages = [line for line in out.splitlines() if line.strip() and not line.startswith("Importing with")]
    if messages != [IMPORTER_V1]:
        return 1, f"with require_v1_or_greater, expected only the 1.0.0 message, got: {messages[:3]}"
    rc, out = run(cmd, work.root, log,
                  env=clean_env(GALAXY_IMPORTER_CONFIG=str(importer_config(work, require_v1=False))))
    problems = importer_problems(out, work)
    if rc != 0 or problems or "Importer processing completed successfully" not in out:
        return rc or 1, f"{len(problems)} problems: {'; '.join(problems[:5]) or out.strip().splitlines()[-1:]}"
    quirks = sum(1 for line in out.splitlines() if IMPORTER_QUIRK.match(line))
    contents = len(re.findall(r"^Loading (?:filter|module|module_utils|playbook|role|test|lookup) ", out, re.M))
    return 0, (f"{contents} contents, clean but the 1.0.0 rule (and {quirks} flake8 runs on YAML doc sidecars, "
               "an importer quirk)")


def check_docs_lint(work):
    rc, out = run([BIN / "antsibull-docs", "lint-collection-docs", "--plugin-docs", "."], work.installed,
                  work.log("docs-lint"), env=clean_env(ANSIBLE_COLLECTIONS_PATH=str(work.collections)))
    errors = [line for line in out.splitlines() if re.match(r"^\S+:\d+:\d+: ", line)]
    if rc != 0 or errors:
        return rc or 1, f"{len(errors)} errors: {'; '.join(errors[:3]) or out.strip().splitlines()[-1:]}"
    return 0, "0 errors"


def docsite_problems(out):
    """The warning lines of a Sphinx build, and those of them that are not a reference into the
    Ansible documentation left unresolved for want of the (online) intersphinx inventory."""
    warnings = [line for line in out.splitlines() if "WARNING" in line or "ERROR" in line]
    other = []
    for line in warnings:
        label = re.search(r"WARNING: undefined label: '([^']+)'", line)
        if not label or label.group(1) not in ANSIBLE_DOCS_LABELS:
            other.append(line)
    return warnings, other


def check_docsite(work):
    site = work.root / "docsite"
    if site.exists():
        shutil.rmtree(site)
    site.mkdir(mode=0o700)
    env = clean_env(ANSIBLE_COLLECTIONS_PATH=str(work.collections))
    log = work.log("docsite")
    rc, out = run([BIN / "antsibull-docs", "sphinx-init", "--use-current", "--fail-on-error", "--dest-dir", site,
                   work.fqcn], work.root, log, env=env)
    if rc != 0:
        return rc, f"sphinx-init failed: {out.strip().splitlines()[-1:]}"
    with open(site / "conf.py", "a", encoding="utf-8") as conf:
        conf.write("\n# tools/certify.py: the build must not reach the network, so no intersphinx inventories\n"
                   "intersphinx_mapping = {}\nintersphinx_disabled_reftypes = ['*']\n")
    rc, out = run(["bash", site / "build.sh"], site, log, env=env)
    warnings, other = docsite_problems(out)
    index = site / "build/html/collections" / work.fqcn.replace(".", "/") / "index.html"
    pages = len(list((site / "build/html/collections").rglob("*.html")))
    if other or not index.is_file() or (rc != 0 and not warnings):
        return rc or 1, f"{len(other)} warnings: {'; '.join(other[:3]) or 'no index page'}"
    return 0, f"{pages} pages, {len(warnings)} warnings, all references into docs.ansible.com (offline)"


def run_check(work, name):
    started = time.monotonic()
    try:
        rc, detail = globals()[f"check_{name.replace('-', '_')}"](work)
    except Exception as exc:  # pylint: disable=broad-except  (a crash is a failed check, reported)
        rc, detail = 1, f"{type(exc).__name__}: {exc}"
    return f"certify: {name}", rc, time.monotonic() - started, detail


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("checks", nargs="*", metavar="CHECK",
                        help=f"checks to run (default: all of {', '.join(CHECKS)})")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it")
    parser.add_argument("--serial", action="store_true",
                        help="one check after the other (each check's own time), not the importer beside the rest")
    args = parser.parse_args()
    checks = args.checks or list(CHECKS)
    unknown = sorted(set(checks) - set(CHECKS))
    if unknown:
        parser.error(f"unknown checks {unknown}; choose from {', '.join(CHECKS)}")
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="certify-"))
    root.mkdir(parents=True, exist_ok=True)
    work = Work(root.resolve())
    results = []
    started = time.monotonic()
    rc, detail = work.build_and_install()
    results.append(("certify: build and install", rc, time.monotonic() - started, detail))
    if rc == 0:
        # Two lanes on the two cores: the importer (mostly its ansible-lint) beside the rest.
        lanes = [[c for c in checks if c == "importer"], [c for c in checks if c != "importer"]]
        if args.serial:
            lanes = [checks]
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(lanes)) as pool:
            done = list(pool.map(lambda lane: [run_check(work, name) for name in lane], lanes))
        by_name = {result[0]: result for lane in done for result in lane}
        for name in checks:
            results.append(by_name[f"certify: {name}"])
            if by_name[f"certify: {name}"][1] != 0 and work.log(name).is_file():
                print(f"== certify {name} failed; the end of {work.log(name)}:")
                print("\n".join(work.log(name).read_text().splitlines()[-40:]))
    for name, rc, seconds, detail in results:
        print(f"certify\t{name}\t{rc}\t{seconds:.0f} s: {detail}")
    failed = any(rc != 0 for _, rc, _, _ in results)
    if args.keep or failed:
        print(f"certify: logs in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
