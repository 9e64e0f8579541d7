#!/usr/bin/env bash
# Make sure a Docker engine answers. As root on Debian/Ubuntu: install docker.io and debootstrap
# when missing, start dockerd in the background when no engine answers, wait for it (bounded).
set -uo pipefail

engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v docker >/dev/null || missing+=(docker.io)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "ensure-docker: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null || {
      echo "ensure-docker: apt-get install ${missing[*]} failed" >&2; exit 1; }
  fi
fi

if engine_up; then exit 0; fi
if [ -n "${DOCKER_HOST:-}" ]; then
  echo "ensure-docker: no engine answers at DOCKER_HOST=$DOCKER_HOST" >&2; exit 1
fi
if [ "$(id -u)" != 0 ] || ! command -v dockerd >/dev/null; then
  echo "ensure-docker: no Docker engine answers; start one (as root: dockerd &) — Docker tests will skip" >&2
  exit 1
fi
echo "ensure-docker: starting dockerd" >&2
nohup dockerd >/tmp/patchwright-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  engine_up && exit 0
  sleep 1
done
echo "ensure-docker: dockerd did not answer within 60 s; its log:" >&2
tail -20 /tmp/patchwright-dockerd.log >&2
exit 1
