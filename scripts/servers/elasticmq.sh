#!/usr/bin/env bash
# ElasticMQ, an SQS-compatible server, for the SQS backend's tests and benchmark.
#
#   elasticmq.sh start   fetch ElasticMQ (pinned, from Maven Central, cached under
#                        .cache/elasticmq/), start it on a free 127.0.0.1 port, wait until it
#                        answers, print `export FERRY_TEST_SQS_ENDPOINT=http://127.0.0.1:PORT`
#                        and `export FERRY_TEST_SQS_SERVER_PID=PID` (for the benchmark's
#                        `--server-pid`), `export FERRY_TEST_ELASTICMQ_LIB=DIR` (its jars, for
#                        tests that run a server of their own), and placeholder AWS
#                        credentials unless some are set already
#   elasticmq.sh stop    stop the server `start` started (idempotent)
#
# Maven Central has no self-contained ElasticMQ jar, so a tiny generated pom pulls the
# server and its runtime dependencies with `mvn dependency:copy-dependencies` into
# .cache/elasticmq/<version>/lib, and java runs org.elasticmq.server.Main on that classpath.
# Needs java (17+) and mvn on PATH. The server log is .cache/elasticmq/run/server.log.
set -euo pipefail

ELASTICMQ_VERSION=1.7.1
MAVEN_DEPENDENCY_PLUGIN=3.8.1

root=$(cd "$(dirname "$0")/../.." && pwd)
cache="$root/.cache/elasticmq"
home="$cache/$ELASTICMQ_VERSION"
run="$cache/run"

log() { echo "elasticmq: $*" >&2; }

install() {
  if [ -f "$home/lib/elasticmq-server_2.13-$ELASTICMQ_VERSION.jar" ]; then
    return
  fi
  command -v java >/dev/null || { log "java is required (apt-get install -y openjdk-17-jre-headless)"; exit 1; }
  command -v mvn >/dev/null || { log "mvn is required (apt-get install -y maven)"; exit 1; }
  log "fetching ElasticMQ $ELASTICMQ_VERSION and its dependencies from Maven Central"
  mkdir -p "$home"
  cat >"$home/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.ferry</groupId>
  <artifactId>elasticmq-runtime</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.elasticmq</groupId>
      <artifactId>elasticmq-server_2.13</artifactId>
      <version>$ELASTICMQ_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
  rm -rf "$home/lib.tmp"
  mvn -B -q -f "$home/pom.xml" -Dmaven.repo.local="$cache/m2" \
    "org.apache.maven.plugins:maven-dependency-plugin:$MAVEN_DEPENDENCY_PLUGIN:copy-dependencies" \
    -DoutputDirectory="$home/lib.tmp" -DincludeScope=runtime >&2
  mv "$home/lib.tmp" "$home/lib"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

answers() {
  # Any HTTP answer from the SQS endpoint means the server is up.
  curl -s -o /dev/null -m 2 -X POST "http://127.0.0.1:$1/" \
    -H 'Content-Type: application/x-www-form-urlencoded' --data 'Action=ListQueues'
}

start() {
  install
  stop_server quiet
  mkdir -p "$run"
  local port pid
  port=$(free_port)
  cat >"$run/elasticmq.conf" <<EOF
include classpath("application.conf")
node-address {
  protocol = http
  host = "127.0.0.1"
  port = $port
  context-path = ""
}
rest-sqs {
  enabled = true
  bind-port = $port
  bind-hostname = "127.0.0.1"
  sqs-limits = strict
}
rest-stats { enabled = false }
aws {
  region = "us-east-1"
  accountId = "000000000000"
}
EOF
  cat >"$run/logback.xml" <<EOF
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>$run/server.log</file>
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{20} - %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="FILE"/></root>
</configuration>
EOF
  nohup java -Xms64m -Xmx512m -Dconfig.file="$run/elasticmq.conf" \
    -Dlogback.configurationFile="$run/logback.xml" \
    -cp "$home/lib/*" org.elasticmq.server.Main >"$run/stdout.log" 2>&1 &
  pid=$!
  echo "$pid" >"$run/pid"
  for _ in $(seq 1 600); do
    if answers "$port"; then
      log "ElasticMQ $ELASTICMQ_VERSION listening on 127.0.0.1:$port (pid $pid)"
      echo "export FERRY_TEST_SQS_ENDPOINT=http://127.0.0.1:$port"
      echo "export FERRY_TEST_SQS_SERVER_PID=$pid"
      # For tests that run an ElasticMQ of their own (to stop and restart it).
      echo "export FERRY_TEST_ELASTICMQ_LIB=$home/lib"
      # ElasticMQ accepts any signature; the SDK still needs credentials to sign with.
      echo "export AWS_ACCESS_KEY_ID=\${AWS_ACCESS_KEY_ID:-elasticmq}"
      echo "export AWS_SECRET_ACCESS_KEY=\${AWS_SECRET_ACCESS_KEY:-elasticmq}"
      return
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      log "the server exited at start; see $run/stdout.log:"
      tail -n 30 "$run/stdout.log" >&2 || true
      exit 1
    fi
    sleep 0.1
  done
  log "the server did not answer within 60 s; see $run/stdout.log"
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
