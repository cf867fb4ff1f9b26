#!/usr/bin/env bash
# Jaeger v2 (an OpenTelemetry Collector distribution with Jaeger's storage and query API),
# the real trace collector of the tracing tests.
#
#   jaeger.sh start   build Jaeger (pinned, from the Go module proxy, cached under
#                     .cache/jaeger/), start it with an in-memory store on free 127.0.0.1
#                     ports for OTLP gRPC, OTLP HTTP, the query API and its health check,
#                     wait until healthy, print `export FERRY_TEST_JAEGER_OTLP_GRPC=http://…`,
#                     `FERRY_TEST_JAEGER_OTLP_HTTP=http://…/v1/traces` and
#                     `FERRY_TEST_JAEGER_QUERY=http://…` (the HTTP API: /api/traces/<id>)
#   jaeger.sh stop    stop the server `start` started (idempotent)
#
# `go install …/cmd/jaeger@version` refuses the module (its go.mod has a replace
# directive), so the script downloads the pinned module with `go mod download` and builds
# ./cmd/jaeger from it with `go build`. Needs go on PATH. The server log is
# .cache/jaeger/run/server.log.
set -euo pipefail

JAEGER_VERSION=v1.76.0

root=$(cd "$(dirname "$0")/../.." && pwd)
cache="$root/.cache/jaeger"
bin="$cache/$JAEGER_VERSION/bin/jaeger"
run="$cache/run"

log() { echo "jaeger: $*" >&2; }

install() {
  if [ -x "$bin" ]; then
    return
  fi
  command -v go >/dev/null || { log "go is required"; exit 1; }
  log "building Jaeger $JAEGER_VERSION (cmd/jaeger) from the Go module proxy"
  local dir
  dir=$(go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_VERSION" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
  mkdir -p "$(dirname "$bin")"
  (cd "$dir" && GOFLAGS=-mod=mod go build -o "$bin.tmp" ./cmd/jaeger) >&2
  mv "$bin.tmp" "$bin"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  install
  stop_server quiet
  mkdir -p "$run"
  local grpc http query query_grpc health pid
  grpc=$(free_port)
  http=$(free_port)
  query=$(free_port)
  query_grpc=$(free_port)
  health=$(free_port)
  cat >"$run/config.yaml" <<EOF
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:$health
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:$query
    grpc:
      endpoint: 127.0.0.1:$query_grpc
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$grpc
      http:
        endpoint: 127.0.0.1:$http
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
EOF
  nohup "$bin" --config "$run/config.yaml" >"$run/server.log" 2>&1 &
  pid=$!
  echo "$pid" >"$run/pid"
  for _ in $(seq 1 600); do
    if curl -sf -o /dev/null -m 2 "http://127.0.0.1:$health/status" &&
      curl -sf -o /dev/null -m 2 "http://127.0.0.1:$query/api/services"; then
      log "Jaeger $JAEGER_VERSION: OTLP gRPC 127.0.0.1:$grpc, OTLP HTTP 127.0.0.1:$http, query 127.0.0.1:$query (pid $pid)"
      echo "export FERRY_TEST_JAEGER_OTLP_GRPC=http://127.0.0.1:$grpc"
      echo "export FERRY_TEST_JAEGER_OTLP_HTTP=http://127.0.0.1:$http/v1/traces"
      echo "export FERRY_TEST_JAEGER_QUERY=http://127.0.0.1:$query"
      return
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      log "the server exited at start; see $run/server.log:"
      tail -n 30 "$run/server.log" >&2 || true
      exit 1
    fi
    sleep 0.1
  done
  log "the server did not become healthy within 60 s; see $run/server.log"
  stop_server quiet
  exit 1
}

stop_server() {
  [ -f "$run/pid" ] || return 0
  local pid
  pid=$(cat "$run/pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" || true; fi
    [ "${1:-}" = quiet ] || log "stopped (pid $pid)"
  fi
  rm -f "$run/pid"
}

case "${1:-}" in
  start) start ;;
  stop) stop_server ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 64
    ;;
esac
