#!/usr/bin/env bash
# Elasticsearch, for the log sink's tests and benchmark (feature "elasticsearch").
#
#   elasticsearch.sh start     install if needed, start a single node on a free 127.0.0.1
#                              port (data in a temporary directory), wait until the cluster
#                              is yellow or green, print
#                              `export FERRY_TEST_ELASTICSEARCH_URL=http://127.0.0.1:PORT`
#   elasticsearch.sh stop      stop what `start` started and remove its data (idempotent)
#   elasticsearch.sh install   only fetch and unpack (prints the install directory)
#   elasticsearch.sh run-instance DIR PORT [WATCH_PID]
#                              run one node in the foreground with its config, data and logs
#                              under DIR (created; reused when it exists, so a restart keeps
#                              the data) on 127.0.0.1:PORT, until SIGTERM / SIGINT, or until
#                              process WATCH_PID is gone. Tests that must stop and restart
#                              Elasticsearch mid-run use this; it does not wait for readiness.
#
# The server is the `integ-test-zip` distribution from Maven Central
# (org.elasticsearch.distribution.integ-test-zip:elasticsearch, pinned below, checksum
# checked), unpacked under .cache/elasticsearch/. It has no bundled JDK: it runs on the
# system Java 17+ (ES_JAVA_HOME, else JAVA_HOME, else the `java` on PATH). Security is off,
# the node binds 127.0.0.1 only, the heap is 512 MiB. This distribution carries only the
# core modules: data streams and composable templates work; ILM and ingest pipelines do not
# exist (ferry needs neither). Elasticsearch refuses to run as root: as root, the node runs
# as `nobody` (DIR is handed to that user). Needs curl, unzip and java.
set -euo pipefail

ES_VERSION=8.19.4
ES_SHA1=815443dcbc6948ba84805f5c1bf48cae314cee05
HEAP=512m

root=$(cd "$(dirname "$0")/../.." && pwd)
cache="$root/.cache/elasticsearch"
home="$cache/$ES_VERSION/elasticsearch-$ES_VERSION"
run="$cache/run"

log() { echo "elasticsearch: $*" >&2; }

install() {
  if [ -x "$home/bin/elasticsearch" ]; then
    return
  fi
  command -v curl >/dev/null || { log "curl is required"; exit 1; }
  command -v unzip >/dev/null || { log "unzip is required (apt-get install -y unzip)"; exit 1; }
  local url="https://repo1.maven.org/maven2/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip"
  local zip="$cache/elasticsearch-$ES_VERSION.zip"
  mkdir -p "$cache"
  log "fetching Elasticsearch $ES_VERSION (integ-test-zip) from Maven Central"
  curl -fsSL -o "$zip.tmp" "$url"
  local sum
  sum=$(sha1sum "$zip.tmp" | cut -d' ' -f1)
  if [ "$sum" != "$ES_SHA1" ]; then
    rm -f "$zip.tmp"
    log "checksum mismatch for $url: got $sum, want $ES_SHA1"
    exit 1
  fi
  rm -rf "$cache/$ES_VERSION.tmp"
  mkdir -p "$cache/$ES_VERSION.tmp"
  unzip -q "$zip.tmp" -d "$cache/$ES_VERSION.tmp"
  # Readable by the unprivileged user the node runs as when started by root.
  chmod -R a+rX "$cache/$ES_VERSION.tmp"
  rm -rf "$cache/$ES_VERSION"
  mv "$cache/$ES_VERSION.tmp" "$cache/$ES_VERSION"
  rm -f "$zip.tmp"
}

java_home() {
  if [ -n "${ES_JAVA_HOME:-}" ]; then
    echo "$ES_JAVA_HOME"
  elif [ -n "${JAVA_HOME:-}" ]; then
    echo "$JAVA_HOME"
  else
    local java
    java=$(command -v java) || { log "java 17+ is required (apt-get install -y openjdk-17-jre-headless)"; exit 1; }
    java=$(readlink -f "$java")
    dirname "$(dirname "$java")"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

ready() {
  curl -fs -o /dev/null -m 3 "http://127.0.0.1:$1/_cluster/health?wait_for_status=yellow&timeout=2s"
}

# run-instance DIR PORT [WATCH_PID]: foreground, see the header.
run_instance() {
  local dir=$1 port=$2 watch=${3:-}
  install
  mkdir -p "$dir/data" "$dir/logs" "$dir/tmp"
  if [ ! -d "$dir/config" ]; then
    cp -r "$home/config" "$dir/config.tmp"
    cat >>"$dir/config.tmp/elasticsearch.yml" <<EOF

# ferry test node
cluster.name: ferry-test
node.name: ferry-test
discovery.type: single-node
network.host: 127.0.0.1
http.port: $port
path.data: $dir/data
path.logs: $dir/logs
xpack.security.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
EOF
    mv "$dir/config.tmp" "$dir/config"
  fi
  local -a as_user=()
  if [ "$(id -u)" = 0 ]; then
    chown -R nobody:"$(id -gn nobody)" "$dir"
    chmod a+rx "$dir"
    as_user=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
    # The checkout may sit below a directory only root can enter (a mktemp -d clone): then
    # the node runs from a world-readable copy of the installation in the temp directory.
    if ! "${as_user[@]}" test -x "$home/bin/elasticsearch"; then
      local shared="${TMPDIR:-/tmp}/ferry-elasticsearch-$ES_VERSION"
      if ! "${as_user[@]}" test -x "$shared/bin/elasticsearch"; then
        rm -rf "$shared.tmp.$$"
        cp -r "$home" "$shared.tmp.$$"
        chmod -R a+rX "$shared.tmp.$$"
        rm -rf "$shared"
        mv "$shared.tmp.$$" "$shared"
      fi
      home=$shared
    fi
  fi
  local jhome
  jhome=$(java_home)
  "${as_user[@]}" env HOME="$dir/tmp" ES_PATH_CONF="$dir/config" ES_TMPDIR="$dir/tmp" \
    ES_JAVA_HOME="$jhome" ES_JAVA_OPTS="-Xms$HEAP -Xmx$HEAP" \
    "$home/bin/elasticsearch" >>"$dir/stdout.log" 2>&1 &
  local es=$!
  # shellcheck disable=SC2064
  trap "kill -TERM $es 2>/dev/null; wait $es 2>/dev/null; exit 0" TERM INT
  while kill -0 "$es" 2>/dev/null; do
    if [ -n "$watch" ] && ! kill -0 "$watch" 2>/dev/null; then
      kill -TERM "$es" 2>/dev/null || true
      wait "$es" 2>/dev/null || true
      exit 0
    fi
    sleep 1 &
    wait $! || true
  done
  wait "$es"
}

start() {
  install
  stop_server quiet
  mkdir -p "$run"
  local port dir pid
  port=$(free_port)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/ferry-elasticsearch.XXXXXX")
  echo "$dir" >"$run/dir"
  nohup "$0" run-instance "$dir" "$port" >"$run/instance.log" 2>&1 &
  pid=$!
  echo "$pid" >"$run/pid"
  for _ in $(seq 1 180); do
    if ready "$port"; then
      log "Elasticsearch $ES_VERSION listening on 127.0.0.1:$port (data in $dir)"
      echo "export FERRY_TEST_ELASTICSEARCH_URL=http://127.0.0.1:$port"
      return
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      log "the server exited at start; see $dir/stdout.log:"
      tail -n 30 "$dir/stdout.log" >&2 || true
      exit 1
    fi
    sleep 1
  done
  log "the server was not ready within 180 s; see $dir/stdout.log"
  stop_server quiet
  exit 1
}

stop_server() {
  if [ -f "$run/pid" ]; then
    local pid
    pid=$(cat "$run/pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -9 "$pid" 2>/dev/null || true
      [ "${1:-}" = quiet ] || log "stopped (pid $pid)"
    fi
    rm -f "$run/pid"
  fi
  if [ -f "$run/dir" ]; then
    rm -rf "$(cat "$run/dir")"
    rm -f "$run/dir"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop_server ;;
  install)
    install
    echo "$home"
    ;;
  run-instance)
    [ $# -ge 3 ] || { echo "usage: $0 run-instance DIR PORT [WATCH_PID]" >&2; exit 64; }
    run_instance "$2" "$3" "${4:-}"
    ;;
  *)
    echo "usage: $0 start|stop|install|run-instance DIR PORT [WATCH_PID]" >&2
    exit 64
    ;;
esac
