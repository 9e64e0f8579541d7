#!/usr/bin/env bash
# The main job on a fresh machine: set up, build the base image, and check the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/patchwright doctor --build-base
