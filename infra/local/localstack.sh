#!/usr/bin/env bash
# LocalStack for r53dyn's local runs and end-to-end tests.
#
#   infra/local/localstack.sh install   # project-local virtualenv with a pinned localstack-core
#   infra/local/localstack.sh start     # start it (if not already answering) and wait until ready
#   infra/local/localstack.sh stop      # stop what `start` started
#   infra/local/localstack.sh status
#
# Which LocalStack is used, in order:
#   1. LOCALSTACK_ENDPOINT (e.g. http://localhost:4566): an instance someone else runs; never started or stopped here.
#   2. A working Docker engine: the pinned localstack/localstack image.
#   3. Otherwise on the host, without Docker, from .local/localstack-venv (no Lambda execution there;
#      the tests play the event source mapping themselves).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
state="$root/.local"
venv="$state/localstack-venv"
pidfile="$state/localstack.pid"
logfile="$state/localstack.log"
version="4.13.1"
port="${LOCALSTACK_PORT:-4566}"
endpoint="${LOCALSTACK_ENDPOINT:-http://127.0.0.1:$port}"
services="sqs,stepfunctions,route53,iam,sts,ssm,cloudformation,events,s3,logs,cloudwatch"
mock_config="$root/test/data/sfn-mock-config.json"
python="${PYTHON:-python3.11}"

log() { printf '[localstack] %s\n' "$*" >&2; }

ready() {
  # ready when every service we need answers "running" or "available"
  local health
  health="$(curl -fsS --max-time 2 "$endpoint/_localstack/health" 2>/dev/null)" || return 1
  for s in ${services//,/ }; do
    grep -Eq "\"$s\": \"(running|available)\"" <<<"$health" || return 1
  done
}

install_host() {
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import localstack.services.stepfunctions.provider' 2>/dev/null \
    && [ "$(cat "$venv/.r53dyn-requirements" 2>/dev/null)" = "$(cat "$root"/infra/localstack/*.txt)" ]; then
    return 0
  fi
  command -v "$python" >/dev/null || python=python3
  log "installing localstack-core $version into $venv (first run only, about a minute)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    -r "$root/infra/localstack/requirements.txt" -c "$root/infra/localstack/constraints.txt"
  # localstack-core 4.13.1 writes `threading.Lock | None` in a signature, which Python < 3.13 cannot evaluate
  # (Lock is a function there); postponed annotations make the module import, and Step Functions with it.
  local api; api="$(ls "$venv"/lib/python3*/site-packages/localstack/packages/api.py)"
  grep -q '^from __future__ import annotations' "$api" || sed -i '1i from __future__ import annotations' "$api"
  "$venv/bin/python" -c 'import localstack.services.stepfunctions.provider' \
    || { log "localstack-core installed but Step Functions does not import"; exit 1; }
  cat "$root"/infra/localstack/*.txt >"$venv/.r53dyn-requirements"
}

docker_works() { [ "${R53DYN_NO_DOCKER:-}" = "" ] && docker info >/dev/null 2>&1; }

start() {
  if ready; then log "already answering at $endpoint"; return 0; fi
  if [ -n "${LOCALSTACK_ENDPOINT:-}" ]; then
    log "LOCALSTACK_ENDPOINT=$LOCALSTACK_ENDPOINT does not answer; start it, or unset the variable"; exit 1
  fi
  mkdir -p "$state/localstack-data/etc/localstack/init/start.d"
  # every start hook in infra/local/hooks/ (each one says what it adds to LocalStack and why)
  rm -f "$state/localstack-data/etc/localstack/init/start.d/"*.py
  cp "$root"/infra/local/hooks/*.py "$state/localstack-data/etc/localstack/init/start.d/"
  if docker_works; then
    log "starting localstack/localstack:$version in Docker"
    docker run -d --rm --name r53dyn-localstack -p "127.0.0.1:$port:4566" \
      -e SERVICES="$services" -e EAGER_SERVICE_LOADING=1 -e SQS_ENDPOINT_STRATEGY=path -e SFN_MOCK_CONFIG=/r53dyn/sfn-mock-config.json \
      -v "$root/test/data:/r53dyn:ro" \
      -v "$root/infra/local/hooks:/etc/localstack/init/start.d:ro" \
      "localstack/localstack:$version" >"$pidfile.docker"
  else
    install_host
    log "starting on the host (log: $logfile)"
    (
      cd "$state"
      OVERRIDE_IN_DOCKER=0 GATEWAY_LISTEN="127.0.0.1:$port" DNS_ADDRESS=0 EAGER_SERVICE_LOADING=1 \
        SERVICES="$services" FILESYSTEM_ROOT="$state/localstack-data" SFN_MOCK_CONFIG="$mock_config" \
        SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 LOCALSTACK_TELEMETRY=0 SQS_ENDPOINT_STRATEGY=path LOCALSTACK_HOST="127.0.0.1:$port" \
        nohup "$venv/bin/python" -m localstack.runtime.main >"$logfile" 2>&1 &
      echo $! >"$pidfile"
    )
  fi
  local waited=0
  until ready; do
    if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      log "LocalStack exited while starting; last lines of $logfile:"; tail -n 30 "$logfile" >&2; exit 1
    fi
    if [ "$waited" -ge 180 ]; then log "not ready after ${waited}s"; tail -n 30 "$logfile" >&2; exit 1; fi
    [ $((waited % 10)) -eq 0 ] && [ "$waited" -gt 0 ] && log "waiting for LocalStack (${waited}s)"
    sleep 1; waited=$((waited + 1))
  done
  log "ready at $endpoint"
}

stop() {
  if [ -f "$pidfile.docker" ]; then docker stop r53dyn-localstack >/dev/null 2>&1 || true; rm -f "$pidfile.docker"; fi
  if [ -f "$pidfile" ]; then
    local pid; pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"; for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"; log "stopped"
  fi
}

case "${1:-}" in
  install) docker_works || install_host ;;
  start) start ;;
  stop) stop ;;
  status) if ready; then echo "ready at $endpoint"; else echo "not running at $endpoint"; exit 1; fi ;;
  endpoint) echo "$endpoint" ;;
  *) echo "usage: $0 install|start|stop|status|endpoint" >&2; exit 2 ;;
esac
