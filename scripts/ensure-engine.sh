#!/usr/bin/env bash
# Makes sure a Docker engine answers. Idempotent.
#  - An engine that already answers (DOCKER_HOST honoured) is left alone.
#  - Otherwise, as root on Debian: install docker.io (and runsc for gVisor), start dockerd
#    in the background, wait until it answers. Stale pid files and sockets left by a
#    dockerd that ended with an earlier session are removed first.
#  - Otherwise: fail and say what to do.
set -euo pipefail

log() { echo "[ensure-engine] $*" >&2; }

engine_answers() {
  if command -v docker >/dev/null 2>&1; then
    timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
  else
    local sock="${DOCKER_HOST:-unix:///var/run/docker.sock}"
    sock="${sock#unix://}"
    [ -S "$sock" ] && timeout 5 curl -fsS --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1
  fi
}

if engine_answers; then
  log "engine answers at ${DOCKER_HOST:-unix:///var/run/docker.sock}; leaving it alone"
  exit 0
fi

if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST}" != "unix:///var/run/docker.sock" ]; then
  log "DOCKER_HOST=${DOCKER_HOST} does not answer. Start that engine, or unset DOCKER_HOST to use a local one."
  exit 1
fi

if [ "$(id -u)" != 0 ]; then
  log "no Docker engine answers and this is not root: start Docker (e.g. 'sudo systemctl start docker') or set DOCKER_HOST."
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1 || ! [ -x /usr/bin/docker-init ] || ! command -v runsc >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    log "no dockerd and no apt-get: install Docker Engine for this system, start it, and run again."
    exit 1
  fi
  log "installing docker.io and runsc from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq docker.io runsc >/dev/null
fi

# A dockerd from an earlier session may have left its pid file and socket behind.
pidfile=/var/run/docker.pid
if [ -f "$pidfile" ]; then
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q dockerd "/proc/$pid/comm" 2>/dev/null; then
    log "dockerd (pid $pid) runs but does not answer yet; waiting for it"
  else
    log "removing stale $pidfile"
    rm -f "$pidfile"
  fi
fi
if ! pgrep -x dockerd >/dev/null 2>&1; then
  rm -f /var/run/docker.sock
  # containerd started by an earlier dockerd may also have left its pid file
  rm -f /var/run/docker/containerd/containerd.pid 2>/dev/null || true
  mkdir -p /etc/docker
  if [ ! -f /etc/docker/daemon.json ] && command -v runsc >/dev/null 2>&1; then
    # gVisor as an optional runtime (used only when asked for: runtime "runsc").
    cat > /etc/docker/daemon.json <<JSON
{ "runtimes": { "runsc": { "path": "$(command -v runsc)", "runtimeArgs": ["--network=none"] } } }
JSON
  fi
  log "starting dockerd in the background (log: /var/log/dockerd.log)"
  nohup setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null &
fi

for _ in $(seq 1 60); do
  if engine_answers; then
    log "engine answers"
    exit 0
  fi
  sleep 1
done
log "dockerd did not answer within 60 s; see /var/log/dockerd.log"
tail -n 20 /var/log/dockerd.log >&2 || true
exit 1
