# syntax=docker/dockerfile:1.7
#
# The Rust blast example workers (examples/rust/blast): one image with both binaries,
# `blast-customer-sender` (the default command) and `blast-list-sender`. Build from the
# repository root:
#
#   docker build -f deploy/docker/blast-rust.Dockerfile -t ferry-blast-rust:dev .
#   docker run ... ferry-blast-rust:dev blast-list-sender
#
# The worker listens on $FERRY_WORKER_ADDR (127.0.0.1:50051 by default: beside the ferry
# sidecar in one pod, or in one network namespace under compose) and reaches ferry's gateway
# on $FERRY_GATEWAY_ADDR (http://127.0.0.1:50052). It writes only under /var/lib/blast.

ARG RUST_IMAGE=rust:1.95.0-slim-trixie
ARG RUNTIME_IMAGE=debian:13.1-slim

FROM ${RUST_IMAGE} AS recipe
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY . .
RUN find . -name Cargo.toml -not -path './target/*' -not -path './.cache/*' | while read -r manifest; do \
        dir=$(dirname "$manifest"); \
        mkdir -p "/recipe/$dir/src"; \
        cp "$manifest" "/recipe/$manifest"; \
        touch "/recipe/$dir/src/lib.rs"; \
    done \
    && cp Cargo.lock /recipe/Cargo.lock

FROM ${RUST_IMAGE} AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY --from=recipe /recipe/ ./
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo fetch --locked --target "$(rustc -vV | sed -n 's/^host: //p')"
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --offline -p ferry-blast \
    && install -D -m 0755 target/release/blast-customer-sender /out/bin/blast-customer-sender \
    && install -D -m 0755 target/release/blast-list-sender /out/bin/blast-list-sender \
    && mkdir -p /out/data

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="ferry-blast-rust" \
      org.opencontainers.image.description="The blast e-mail example workers in Rust (ferry-sdk)" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/bin/ /usr/local/bin/
COPY examples/rust/blast/data/directory.json /usr/share/blast/directory.json
COPY --from=builder --chown=65532:65532 /out/data /var/lib/blast
ENV BLAST_DATA=/usr/share/blast/directory.json \
    BLAST_OUTBOX=/var/lib/blast/outbox.jsonl \
    BLAST_ACTIVITIES=/var/lib/blast/activities.jsonl
WORKDIR /var/lib/blast
VOLUME ["/var/lib/blast"]
USER 65532:65532
EXPOSE 50051
CMD ["blast-customer-sender"]
