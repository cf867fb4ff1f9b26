#!/usr/bin/env bash
# Google's Pub/Sub emulator, for the Pub/Sub backend's tests and benchmark.
#
#   pubsub.sh start   start `gcloud beta emulators pubsub start` on a free 127.0.0.1 port,
#                     wait until it answers, print
#                     `export FERRY_TEST_PUBSUB_EMULATOR_HOST=127.0.0.1:PORT`
#   pubsub.sh stop    stop it (the whole process group: gcloud's python forks a java
#                     child that would otherwise keep the port); idempotent
#
# The emulator ships with the Google Cloud CLI (Debian package google-cloud-cli-pubsub-emulator
# from Google's apt repository; it cannot be fetched from the registries this project uses),
# so it must be installed on the machine. Pinned: Cloud SDK 528.0.0, whose emulator is
# cloud-pubsub-emulator 0.8.20; another version is used with a warning. Needs java and curl.
# The emulator keeps everything in memory; its log is .cache/pubsub/run/emulator.log.
set -euo pipefail

CLOUD_SDK_VERSION=528.0.0
EMULATOR_VERSION=0.8.20

root=$(cd "$(dirname "$0")/../.." && pwd)
run="$root/.cache/pubsub/run"

log() { echo "pubsub: $*" >&2; }

check_installed() {
  command -v gcloud >/dev/null || {
    log "gcloud is required: install google-cloud-cli=$CLOUD_SDK_VERSION-0 and google-cloud-cli-pubsub-emulator=$CLOUD_SDK_VERSION-0 from Google's apt repository"
    exit 1
  }
  command -v java >/dev/null || { log "java is required (apt-get install -y openjdk-17-jre-headless)"; exit 1; }
  local sdk jar
  sdk=$(gcloud version 2>/dev/null | sed -n 's/^Google Cloud SDK //p')
  jar=$(ls "$(dirname "$(readlink -f "$(command -v gcloud)")")"/../lib/google-cloud-sdk/platform/pubsub-emulator/lib/cloud-pubsub-emulator-*.jar \
    /usr/lib/google-cloud-sdk/platform/pubsub-emulator/lib/cloud-pubsub-emulator-*.jar 2>/dev/null | head -n 1 || true)
  if [ -z "$jar" ]; then
    log "the Pub/Sub emulator is not installed: apt-get install google-cloud-cli-pubsub-emulator=$CLOUD_SDK_VERSION-0"
    exit 1
  fi
  case "$jar" in
    *"-$EMULATOR_VERSION-all.jar") ;;
    *) log "warning: expected emulator $EMULATOR_VERSION (Cloud SDK $CLOUD_SDK_VERSION), found $(basename "$jar") (Cloud SDK $sdk)" ;;
  esac
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  check_installed
  stop_server quiet
  mkdir -p "$run"
  local port pgid
  port=$(free_port)
  # setsid: the emulator gets a process group of its own, which `stop` kills whole.
  setsid gcloud beta emulators pubsub start --host-port="127.0.0.1:$port" --quiet \
    >"$run/emulator.log" 2>&1 < /dev/null &
  pgid=$!
  echo "$pgid" >"$run/pgid"
  for _ in $(seq 1 1200); do
    if curl -s -o /dev/null -m 2 "http://127.0.0.1:$port/"; then
      log "emulator listening on 127.0.0.1:$port (process group $pgid)"
      echo "export FERRY_TEST_PUBSUB_EMULATOR_HOST=127.0.0.1:$port"
      return
    fi
    if ! kill -0 "$pgid" 2>/dev/null; then
      log "the emulator exited at start; see $run/emulator.log:"
      tail -n 30 "$run/emulator.log" >&2 || true
      exit 1
    fi
    sleep 0.1
  done
  log "the emulator did not answer within 120 s; see $run/emulator.log"
  stop_server quiet
  exit 1
}

stop_server() {
  [ -f "$run/pgid" ] || return 0
  local pgid
  pgid=$(cat "$run/pgid")
  if kill -0 -- "-$pgid" 2>/dev/null; then
    kill -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 -- "-$pgid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 -- "-$pgid" 2>/dev/null; then kill -9 -- "-$pgid" 2>/dev/null || true; fi
    [ "${1:-}" = quiet ] || log "stopped (process group $pgid)"
  fi
  rm -f "$run/pgid"
}

case "${1:-}" in
  start) start ;;
  stop) stop_server ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 64
    ;;
esac
