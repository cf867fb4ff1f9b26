#!/usr/bin/env bash
# The blast e-mail demo, end to end on the embedded queue (no cloud account, no service).
#
# Builds ferry and the two blast workers, starts one ferry sidecar per worker (both share
# one SQLite queue file, as sidecars in two pods would share SQS), hands a blast to the
# queue as the web app does — an HTTP POST to the list sender's ferry ingress, answered
# 202 once the queue holds it — repeats the POST (same Idempotency-Key: the original id,
# nothing enqueued), sends the blast again as a new request to show that redelivery never
# mails a customer twice, and a blast from a lapsed account to show a dead letter with
# its story. Progress is printed
# until both queues are empty; then both sidecars drain, and the script prints the first
# blast's whole story across both workers with `ferry logs` (from the local log store the
# two sidecars share, no Elasticsearch) and its trace id, and says where the outbox, the
# activities and the logs are.
#
# The list sender's ferry serves the console on its admin port (http://127.0.0.1:9475/) and
# the customer sender's ferry reports to it: one page shows both. `--keep` leaves both
# sidecars (and so the console) running after the demo, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

keep=false
for arg in "$@"; do
  case "$arg" in
    --keep) keep=true ;;
    *) echo "usage: $0 [--keep]" >&2; exit 64 ;;
  esac
done
console_url=http://127.0.0.1:9475/

run=.ferry/demo
echo "== building ferry and the blast workers (the first build takes a few minutes; cargo shows its progress)"
cargo build -p ferry -p ferry-blast
rm -rf "$run" && mkdir -p "$run"
export BLAST_DATA=examples/rust/blast/data/directory.json
export BLAST_OUTBOX=$run/outbox.jsonl
export BLAST_ACTIVITIES=$run/activities.jsonl
ferry=target/debug/ferry
lists=examples/rust/blast/demo/list-sender.toml
customers=examples/rust/blast/demo/customer-sender.toml

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

"$ferry" run --config "$lists" -- target/debug/blast-list-sender >"$run/list-sender.log" 2>&1 &
pids+=($!)
"$ferry" run --config "$customers" -- target/debug/blast-customer-sender >"$run/customer-sender.log" 2>&1 &
pids+=($!)

echo "== the console: $console_url (open it in a browser; both sidecars report to it)"

# No need to wait for the workers: published messages wait durably in the queue, and each
# sidecar starts pulling once its worker reports SERVING. The ingress answers as soon as
# the list sender's ferry listens (curl retries until then).
ingress=http://127.0.0.1:8475
post() { # account, idempotency key, file: POST the blast, print the answer
  curl -s --retry 50 --retry-connrefused --retry-delay 0 --retry-max-time 30 \
    -w ' (HTTP %{http_code})\n' "$ingress/v1/$1/blasts" \
    -H 'Content-Type: application/json' -H "Idempotency-Key: $2" --data-binary "@$3"
}
echo "== the web app POSTs blast storm-2024-09 (13 customer ids, 3 duplicates) to the ingress"
echo "   curl $ingress/v1/acct-harbor/blasts -H 'Content-Type: application/json' -H 'Idempotency-Key: storm-2024-09-1' --data-binary @examples/rust/blast/data/blast.json"
answer=$(post acct-harbor storm-2024-09-1 examples/rust/blast/data/blast.json)
echo "   first POST:    $answer"
blast=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1].rsplit(" (HTTP",1)[0])["message_id"])' "$answer")
printf '   the same POST: '; post acct-harbor storm-2024-09-1 examples/rust/blast/data/blast.json
echo "== the blast sent again as a new request (a second click), and one from a lapsed account"
printf '   '; post acct-harbor storm-2024-09-2 examples/rust/blast/data/blast.json
printf '   '; post acct-lapsed lapsed-1 examples/rust/blast/data/blast-lapsed-account.json

pending() { # ready + in flight + delayed of the config's queue
  "$ferry" queue stats --json --config "$1" | python3 -c 'import json,sys; s=json.loads(sys.stdin.readline()); print(s["ready"]+s["in_flight"]+s["delayed"])'
}
echo "== progress (queue: pending messages)"
for _ in $(seq 1 600); do
  l=$(pending "$lists"); c=$(pending "$customers")
  sent=$( [ -f "$BLAST_OUTBOX" ] && wc -l <"$BLAST_OUTBOX" || echo 0 )
  printf '   BlastCustomerListSender: %s   BlastCustomerSender: %s   mails sent: %s\n' "$l" "$c" "$sent"
  [ "$l" = 0 ] && [ "$c" = 0 ] && break
  sleep 0.5
done

if ! $keep; then
  echo "== draining both sidecars (SIGTERM)"
  cleanup
  pids=()
fi

echo
echo "== outbox ($BLAST_OUTBOX): one mail per customer, none twice"
python3 - "$BLAST_OUTBOX" <<'PY'
import json, sys
mails = [json.loads(l) for l in open(sys.argv[1])]
for m in mails:
    print(f"   {m.get('to', m.get('email', '?')):40} {m.get('subject', '')}")
keys = [m.get("idempotency_key", m.get("key")) for m in mails]
print(f"   {len(mails)} mails, {len(set(keys))} distinct idempotency keys")
PY
echo "== dead letters (the lapsed account's blast, with its story)"
"$ferry" dlq list --config "$lists" | sed 's/^/   /'

# One blast's story: read back from the local log store both sidecars write
# ($run/ferry.logs.db, next to the queue file), by trace id when both workers' events carry
# the blast's trace, else the list sender's input and then each follow-up it published.
field() { # the distinct values of one field of the JSON records on stdin
  python3 -c 'import json,sys; k=sys.argv[1]; v=[]
for l in sys.stdin:
    x=json.loads(l).get(k)
    if x and x not in v: v.append(x)
print(" ".join(v))' "$1"
}
echo
echo "== the story of blast $blast across both workers (ferry logs, from the local store; no Elasticsearch)"
trace=$("$ferry" logs --config "$lists" --message "$blast" --json | field trace.id | cut -d' ' -f1)
services=""
if [ -n "$trace" ]; then
  services=$("$ferry" logs --config "$lists" --trace "$trace" --json | field service.name)
fi
if [ "$(wc -w <<<"$services")" -ge 2 ]; then
  "$ferry" logs --config "$lists" --trace "$trace" | sed 's/^/   /'
else
  "$ferry" logs --config "$lists" --message "$blast" | sed 's/^/   /'
  for child in $("$ferry" logs --config "$lists" --message "$blast" --action message.published --json | field ferry.published_id); do
    "$ferry" logs --config "$customers" --message "$child" | sed 's/^/   /'
  done
fi
echo "   trace id: ${trace:-none recorded}"
echo
echo "Files: outbox $BLAST_OUTBOX, activities $BLAST_ACTIVITIES"
echo "Logs (one JSON event per step, ECS fields): $run/list-sender.log, $run/customer-sender.log"
echo "Read any message's story: $ferry logs --config $lists --message <id>   (-f to follow)"

if $keep; then
  echo
  echo "== both sidecars keep running; the console: $console_url"
  echo "   pause a realm, redrive the dead letter, publish to BlastCustomerSender. Ctrl-C stops them."
  trap 'echo; echo "== draining both sidecars (SIGTERM)"; cleanup; exit 0' INT TERM
  wait
fi
