#!/usr/bin/env bash
# Benchmark of the webhook ingress: a pinned load generator (oha, from crates.io, cached
# under .cache/) at 64 connections against the release ferry's ingress, then prints
# requests/s, p50 / p99 latency, ferry's CPU per 1000 requests, and checks that every 2xx is
# in the queue (the embedded queue answers only after its fsync). Not a test: it prints
# figures (recorded in docs/PERFORMANCE.md).
#
#   scripts/bench-ingress.sh [embedded|sqs] [REQUESTS]      (defaults: embedded, 100000)
#
# The route is a realistic webhook: POST /hooks/github, a 256-byte JSON body, its GitHub
# HMAC-SHA256 signature checked, published to the queue `bench`. CONNECTIONS (64), BODY_BYTES
# (256), RATE (requests/s for the whole run, e.g. 10000: latency at a fixed load instead of
# as fast as it goes) and PIN (set: ferry on CPU 0, oha on the other CPUs) tune it; FERRY_BIN names a
# release ferry to use instead of building one. `sqs` uses ElasticMQ at
# FERRY_TEST_SQS_ENDPOINT, or starts one with scripts/servers/elasticmq.sh (and stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

OHA_VERSION=1.16.0
backend=${1:-embedded}
requests=${2:-100000}
connections=${CONNECTIONS:-64}
body_bytes=${BODY_BYTES:-256}

log() { echo "bench-ingress: $*" >&2; }

oha="$root/.cache/oha-$OHA_VERSION/bin/oha"
if [ ! -x "$oha" ]; then
  log "installing oha $OHA_VERSION into .cache/ (once; a few minutes)"
  cargo install oha --version "$OHA_VERSION" --locked --root "$root/.cache/oha-$OHA_VERSION" >&2
fi
if [ -n "${FERRY_BIN:-}" ]; then
  ferry=$FERRY_BIN # a release ferry built already (with the sqs feature for `sqs`)
else
  log "building the release ferry"
  cargo build --release -p ferry --features sqs --locked >&2
  ferry="$root/target/release/ferry"
fi

work=$(mktemp -d)
pids=()
started_elasticmq=
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$started_elasticmq" ]; then "$root/scripts/servers/elasticmq.sh" stop || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

case "$backend" in
  embedded)
    backend_toml="[backend.embedded]
path = \"$work/queue.db\""
    ;;
  sqs)
    if [ -z "${FERRY_TEST_SQS_ENDPOINT:-}" ]; then
      eval "$("$root/scripts/servers/elasticmq.sh" start)"
      started_elasticmq=1
    fi
    export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-elasticmq} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-elasticmq}
    queue_url=$(curl -s -X POST "$FERRY_TEST_SQS_ENDPOINT/" -d 'Action=CreateQueue&QueueName=bench' | sed -n 's:.*<QueueUrl>\(.*\)</QueueUrl>.*:\1:p')
    curl -s -o /dev/null -X POST "$FERRY_TEST_SQS_ENDPOINT/" -d "Action=PurgeQueue&QueueUrl=$queue_url"
    # `ferry queue stats` below reads the subscription's error queue too.
    curl -s -o /dev/null -X POST "$FERRY_TEST_SQS_ENDPOINT/" -d 'Action=CreateQueue&QueueName=bench-errors'
    backend_toml="[backend.sqs]
region = \"us-east-1\"
endpoint = \"$FERRY_TEST_SQS_ENDPOINT\""
    ;;
  *) log "usage: $0 [embedded|sqs] [REQUESTS]"; exit 64 ;;
esac

port=$(free_port)
secret="bench-github-webhook-secret"
body=$(python3 -c "import json,sys; n=int(sys.argv[1]); b=json.dumps({'action':'opened','pad':''}); print(json.dumps({'action':'opened','pad':'x'*(n-len(b))}), end='')" "$body_bytes")
printf '%s' "$body" >"$work/body.json"
signature=$(python3 -c "import hmac,hashlib,sys; print('sha256='+hmac.new(sys.argv[1].encode(), open(sys.argv[2],'rb').read(), hashlib.sha256).hexdigest())" "$secret" "$work/body.json")
printf '%s' "$secret" >"$work/secret"

cat >"$work/ferry.toml" <<EOF
service = "bench-ingress"
[gateway]
enabled = false
[admin]
listen = "127.0.0.1:0"
$backend_toml
[ingress]
listen = "127.0.0.1:$port"
max_in_flight = 4096
[ingress.routes.github]
path = "/hooks/github"
queue = "bench"
verify = { scheme = "github", secrets = ["file:$work/secret"] }
EOF
# The same backend with a subscription on the queue, for `ferry queue stats`.
sed '/^\[ingress/,$d' "$work/ferry.toml" >"$work/stats.toml"
printf '[subscriptions.bench]\nqueue = "bench"\n' >>"$work/stats.toml"

ferry_cpus=()
oha_cpus=()
if [ -n "${PIN:-}" ]; then
  ferry_cpus=(taskset -c 0)
  oha_cpus=(taskset -c "1-$(($(nproc) - 1))")
fi
"${ferry_cpus[@]}" "$ferry" run --config "$work/ferry.toml" >"$work/ferry.log" 2>&1 &
ferry_pid=$!
pids+=("$ferry_pid")
for _ in $(seq 1 200); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  sleep 0.05
done

cpu_seconds() { # utime + stime of $1, in seconds
  python3 -c "import os,sys; f=open(f'/proc/{sys.argv[1]}/stat').read().rsplit(')',1)[1].split(); print((int(f[11])+int(f[12]))/os.sysconf('SC_CLK_TCK'))" "$1"
}

log "warm-up: 2000 requests"
"${oha_cpus[@]}" "$oha" -n 2000 -c "$connections" --no-tui -m POST -T application/json \
  -H "X-Hub-Signature-256: $signature" -D "$work/body.json" "http://127.0.0.1:$port/hooks/github" >/dev/null
log "$requests requests, $connections connections, $body_bytes-byte bodies, $backend backend"
cpu_before=$(cpu_seconds "$ferry_pid")
rate_args=()
[ -n "${RATE:-}" ] && rate_args=(-q "$RATE") && log "at a fixed rate of $RATE requests/s"
"${oha_cpus[@]}" "$oha" -n "$requests" -c "$connections" "${rate_args[@]}" --no-tui --output-format json -m POST -T application/json \
  -H "X-Hub-Signature-256: $signature" -D "$work/body.json" "http://127.0.0.1:$port/hooks/github" >"$work/oha.json"
cpu_after=$(cpu_seconds "$ferry_pid")

ready=$("$ferry" queue stats --json --config "$work/stats.toml" | python3 -c 'import json,sys; s=json.loads(sys.stdin.readline()); print(s["ready"]+s["in_flight"]+s["delayed"])')
python3 - "$work/oha.json" "$cpu_before" "$cpu_after" "$ready" "$requests" "$backend" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
cpu = float(sys.argv[3]) - float(sys.argv[2])
ready, n, backend = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
codes = r.get("statusCodeDistribution", {})
ok = sum(v for k, v in codes.items() if k.startswith("2"))
lat = r["latencyPercentiles"]
summary = r["summary"]
print(f"backend            {backend}")
print(f"requests           {n} ({ok} answered 2xx; statuses {codes})")
print(f"requests/s         {summary['requestsPerSec']:.0f}")
print(f"latency p50 / p99  {lat['p50'] * 1000:.2f} ms / {lat['p99'] * 1000:.2f} ms")
print(f"ferry CPU          {cpu / n * 1000:.3f} s per 1000 requests ({cpu:.2f} s)")
# The warm-up's 2000 are in the queue too.
print(f"in the queue       {ready} (every 2xx durable: {'yes' if ready >= ok + 2000 else 'NO'})")
PY
