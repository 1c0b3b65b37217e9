#!/usr/bin/env bash
# Makes sure a Docker Engine answers `docker info`, and that the tools the e2e tests use to
# build images without a registry are there (debootstrap, busybox-static).
# Installs what is missing from Debian's packages and starts dockerd in the background.
# Exit status: 0 when the engine answers, 1 when it could not be brought up.
set -u
log=${DOCKERD_LOG:-/tmp/dockerd.log}

need_install=""
command -v dockerd >/dev/null 2>&1 || need_install="$need_install docker.io"
command -v debootstrap >/dev/null 2>&1 || need_install="$need_install debootstrap"
[ -x /bin/busybox ] || need_install="$need_install busybox-static"
if [ -n "$need_install" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "docker-up: need root to install$need_install; run as root or install them yourself" >&2
  else
    echo "docker-up: installing$need_install from Debian's packages ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || echo "docker-up: apt-get update failed" >&2
    # shellcheck disable=SC2086
    apt-get install -y -qq $need_install >/dev/null || echo "docker-up: apt-get install$need_install failed" >&2
  fi
fi

if docker info >/dev/null 2>&1; then
  echo "docker-up: Docker Engine answers ($(docker version -f '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker-up: no dockerd; install Docker Engine (Debian: apt-get install docker.io)" >&2
  exit 1
fi
if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "docker-up: starting dockerd (log: $log) ..."
  nohup dockerd >"$log" 2>&1 &
fi
for i in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "docker-up: Docker Engine answers after ${i}s ($(docker version -f '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 1
done
echo "docker-up: dockerd did not answer within 60 s; last lines of $log:" >&2
tail -n 20 "$log" >&2
exit 1
