#!/usr/bin/env bash
# The main job on a fresh machine: set up, build the base image, check the machine, then the
# offline demo: `patchwright fix` on the sample project shipped with patchwright, in Docker, with
# the model's turns replayed from a cassette (no API key, no network).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/patchwright doctor --build-base
exec .venv/bin/patchwright demo
