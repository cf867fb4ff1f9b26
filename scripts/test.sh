#!/usr/bin/env bash
# Runs every test of the project.
#
# Starts each real server the tests need (scripts/servers/*.sh: ElasticMQ, the Pub/Sub
# emulator, Elasticsearch, ...) on a free 127.0.0.1 port, exports where they listen, runs
# the Rust workspace tests with every backend enabled, the Go example's tests and the Node
# SDK's and examples' tests (`npm ci` from their lock files), the console's browser tests
# (console-tests/, Debian's chromium installed by scripts/servers/chromium.sh), and stops
# the servers when it exits, whatever happens.
#
# Each scripts/servers/NAME.sh implements:
#   NAME.sh start   install if needed (pinned version, cached under .cache/), start on a
#                   free port, wait until ready, print `export VAR=value` lines on stdout
#   NAME.sh stop    stop what `start` started (idempotent)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

servers=()
stop_servers() {
  for s in "${servers[@]}"; do
    "$root/scripts/servers/$s.sh" stop || true
  done
}
trap stop_servers EXIT

for script in scripts/servers/*.sh; do
  [ -e "$script" ] || continue
  name=$(basename "$script" .sh)
  servers+=("$name")
  echo "== starting $name" >&2
  exports=$("$script" start)
  eval "$exports"
done

echo "== cargo test (workspace, all features)" >&2
cargo test --workspace --all-features --locked --no-fail-fast
# The binaries the Go, Node and browser tests run (ferry, the blast workers, the recording
# worker), with the same features as the tests above, so nothing is compiled twice.
cargo build --workspace --all-features --locked --bins

if [ -f examples/go/go.mod ]; then
  echo "== go test (examples/go)" >&2
  export FERRY_BIN="$root/target/debug/ferry"
  (cd examples/go && go vet ./... && go test ./...)
fi

if [ -f sdk-node/package.json ]; then
  echo "== npm test (sdk-node, examples/node)" >&2
  # The Node end-to-end tests run ferry with the Node list sender beside the Rust customer
  # sender (built above).
  export FERRY_BIN="$root/target/debug/ferry"
  export FERRY_BLAST_CUSTOMER_SENDER_BIN="$root/target/debug/blast-customer-sender"
  (cd sdk-node && npm ci --no-audit --no-fund && npm test)
  (cd examples/node && npm ci --no-audit --no-fund && npm test)
fi

if [ -f console-tests/package.json ]; then
  echo "== console browser tests (console-tests: playwright-core driving Debian's chromium)" >&2
  # Two sidecars on the embedded queue and one on ElasticMQ, all calling the recording
  # worker, reporting to one `ferry console` (the ferry binary with every backend).
  export FERRY_BIN="$root/target/debug/ferry"
  export FERRY_RECORDING_WORKER_BIN="$root/target/debug/recording-worker"
  (cd console-tests && npm ci --no-audit --no-fund && npm test)
fi
