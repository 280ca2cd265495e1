#!/usr/bin/env bash
# Prepares this machine for the lab and the tests, idempotently:
# podman and its needs and the host's inotify limits (lab/lab.py install), the Python
# venv from requirements-dev.txt (.venv), and the lab images (built once, then cached).
#
#   bash lab/bootstrap.sh                 images of every release (bookworm, trixie)
#   bash lab/bootstrap.sh trixie          only the named releases' images
#
# Needs root (rootful podman), Debian 12, and Python 3.11.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: the lab needs root (rootful podman)" >&2
    exit 1
fi

python3 lab/lab.py install

want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d" " -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.requirements.sha256 2>/dev/null)" != "$want" ]; then
    echo "bootstrap: installing the Python requirements into .venv"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    echo "$want" > .venv/.requirements.sha256
fi

if [ $# -eq 0 ]; then
    .venv/bin/python lab/lab.py image
fi
for release in "$@"; do
    .venv/bin/python lab/lab.py image --release "$release"
done
