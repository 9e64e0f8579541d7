#!/usr/bin/env bash
# Make sure headless Chromium and its driver are installed (the page tests of `patchwright view` and
# `patchwright report` open the pages in it). As root on Debian/Ubuntu: install chromium and
# chromium-driver when missing. Elsewhere, say what is missing (those tests then skip).
set -uo pipefail

have() { { command -v chromium >/dev/null || command -v chromium-browser >/dev/null; } && command -v chromedriver >/dev/null; }

if have; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "ensure-browser: installing chromium chromium-driver" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null || {
    echo "ensure-browser: apt-get install chromium chromium-driver failed" >&2; exit 1; }
  have && exit 0
fi
echo "ensure-browser: no Chromium with chromedriver (as root on Debian: apt-get install chromium chromium-driver) — the page tests will skip" >&2
exit 1
