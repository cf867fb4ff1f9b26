#!/usr/bin/env bash
# Protocol hygiene for proto/ (ferry.v1), run by CI:
#   1. `buf format` and `buf lint` (rules in proto/buf.yaml);
#   2. `buf breaking` against the checked-in baseline image proto/baseline.binpb, so a change
#      that would break existing workers or clients fails (works in a fresh clone, no
#      network or git history needed);
#   3. the checked-in Go code (examples/go/gen) and TypeScript code (sdk-node/src/gen, from
#      buf.gen.node.yaml) are exactly what `buf generate` makes now: it regenerates into a
#      temp dir with the pinned plugins and diffs.
#
# Usage:
#   scripts/ci/proto.sh                    check (exit non-zero on any finding)
#   scripts/ci/proto.sh --write            regenerate examples/go/gen and sdk-node/src/gen
#   scripts/ci/proto.sh --update-baseline  rewrite proto/baseline.binpb from proto/ (after a
#                                          reviewed, compatible addition, or a new major
#                                          version)
#
# Tools are pinned below and installed on first use under .cache/proto-tools/: buf from npm
# (@bufbuild/buf), protoc-gen-go and protoc-gen-go-grpc with `go install`, protoc-gen-es
# from npm at the version of @bufbuild/protobuf pinned in sdk-node/package.json (the
# generated code and its runtime library are released together and must match).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

BUF_VERSION=1.75.0
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

tools="$root/.cache/proto-tools"
baseline="$root/proto/baseline.binpb"
gen_dir="examples/go/gen"
node_gen_dir="sdk-node/src/gen"
PROTOC_GEN_ES_VERSION=$(node -p 'require("./sdk-node/package.json").dependencies["@bufbuild/protobuf"]')

log() { echo "proto.sh: $*" >&2; }

install_tools() {
  mkdir -p "$tools/bin"
  local buf="$tools/buf/node_modules/.bin/buf"
  if [ "$("$buf" --version 2>/dev/null || true)" != "$BUF_VERSION" ]; then
    log "installing buf $BUF_VERSION (npm @bufbuild/buf)"
    npm install --silent --no-save --no-audit --no-fund --prefix "$tools/buf" \
      "@bufbuild/buf@$BUF_VERSION" >&2
  fi
  if [ "$("$tools/bin/protoc-gen-go" --version 2>/dev/null || true)" != "protoc-gen-go $PROTOC_GEN_GO_VERSION" ]; then
    log "installing protoc-gen-go $PROTOC_GEN_GO_VERSION"
    GOBIN="$tools/bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
  fi
  if [ "$("$tools/bin/protoc-gen-go-grpc" --version 2>/dev/null || true)" != "protoc-gen-go-grpc ${PROTOC_GEN_GO_GRPC_VERSION#v}" ]; then
    log "installing protoc-gen-go-grpc $PROTOC_GEN_GO_GRPC_VERSION"
    GOBIN="$tools/bin" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
  fi
  local es="$tools/es/node_modules/.bin/protoc-gen-es"
  if [ "$("$es" --version 2>/dev/null || true)" != "protoc-gen-es v$PROTOC_GEN_ES_VERSION" ]; then
    log "installing protoc-gen-es $PROTOC_GEN_ES_VERSION (npm @bufbuild/protoc-gen-es)"
    npm install --silent --no-save --no-audit --no-fund --prefix "$tools/es" \
      "@bufbuild/protoc-gen-es@$PROTOC_GEN_ES_VERSION" >&2
  fi
  export PATH="$tools/bin:$tools/buf/node_modules/.bin:$tools/es/node_modules/.bin:$PATH"
}

install_tools
cd "$root/proto"

case "${1:-}" in
  --write)
    buf generate
    buf generate --template buf.gen.node.yaml
    log "regenerated $gen_dir and $node_gen_dir"
    exit 0
    ;;
  --update-baseline)
    buf build --exclude-source-info -o "$baseline"
    log "wrote ${baseline#"$root"/}"
    exit 0
    ;;
  "") ;;
  *)
    echo "usage: scripts/ci/proto.sh [--write | --update-baseline]" >&2
    exit 64
    ;;
esac

log "buf format"
buf format --diff --exit-code
log "buf lint"
buf lint
log "buf breaking against proto/baseline.binpb"
buf breaking --against "$baseline"

log "buf generate into a temp dir and diff with $gen_dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Outputs in buf.gen.yaml are relative to proto/ (../examples/go/gen); `-o` prefixes them.
mkdir -p "$tmp/proto"
buf generate -o "$tmp/proto"
if ! diff -ru "$tmp/$gen_dir" "$root/$gen_dir"; then
  echo "proto.sh: $gen_dir is out of date with proto/: run scripts/ci/proto.sh --write and commit" >&2
  exit 1
fi
log "buf generate (buf.gen.node.yaml) into a temp dir and diff with $node_gen_dir"
buf generate --template buf.gen.node.yaml -o "$tmp/proto"
if ! diff -ru "$tmp/$node_gen_dir" "$root/$node_gen_dir"; then
  echo "proto.sh: $node_gen_dir is out of date with proto/: run scripts/ci/proto.sh --write and commit" >&2
  exit 1
fi
log "ok"
