#!/usr/bin/env bash
# Everything patchwright needs on a fresh machine: a virtualenv (.venv) with the package and its
# dev tools, and (as root) a running Docker engine and headless Chromium. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
# the ray extra lets the tests cover `patchwright run --executor ray` (PATCHWRIGHT_EXTRAS=dev to skip it)
.venv/bin/python -m pip install -q -e ".[${PATCHWRIGHT_EXTRAS:-dev,ray}]"
scripts/ensure-docker.sh || echo "setup: continuing without a Docker engine" >&2
scripts/ensure-browser.sh || echo "setup: continuing without headless Chromium" >&2
