# syntax=docker/dockerfile:1.7
#
# The ferry sidecar image. Build from the repository root:
#
#   docker build -f deploy/docker/ferry.Dockerfile -t ferry:dev .
#
# Stages: `recipe` keeps only the Cargo manifests (plus stub sources), so the dependency
# download (`cargo fetch`) is a cached layer that changes only when a manifest or Cargo.lock
# changes; `builder` compiles with BuildKit cache mounts; the final image holds the binary,
# CA certificates and a static busybox used only by the Docker HEALTHCHECK.
#
# Runtime contract: runs as uid/gid 65532, needs no writable path except /var/lib/ferry (its
# working directory: put the embedded queue database and any spool there, on a volume), so it
# runs with a read-only root filesystem. The config is read from $FERRY_CONFIG
# (/etc/ferry/ferry.toml by default; mount it there).

ARG RUST_IMAGE=rust:1.95.0-slim-trixie
ARG RUNTIME_IMAGE=debian:13.1-slim
ARG BUSYBOX_IMAGE=busybox:1.37.0-musl

FROM ${RUST_IMAGE} AS recipe
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY . .
# Every workspace manifest plus an empty src/lib.rs beside it: enough for `cargo fetch`.
RUN find . -name Cargo.toml -not -path './target/*' -not -path './.cache/*' | while read -r manifest; do \
        dir=$(dirname "$manifest"); \
        mkdir -p "/recipe/$dir/src"; \
        cp "$manifest" "/recipe/$manifest"; \
        touch "/recipe/$dir/src/lib.rs"; \
    done \
    && cp Cargo.lock /recipe/Cargo.lock

FROM ${RUST_IMAGE} AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Cargo features of the `ferry` crate; the embedded backend is the default feature.
ARG FERRY_FEATURES=sqs,pubsub,elasticsearch
WORKDIR /src
COPY --from=recipe /recipe/ ./
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo fetch --locked --target "$(rustc -vV | sed -n 's/^host: //p')"
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --offline -p ferry --features "${FERRY_FEATURES}" \
    && install -D -m 0755 target/release/ferry /out/ferry \
    && mkdir -p /out/data

FROM ${BUSYBOX_IMAGE} AS busybox

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="ferry" \
      org.opencontainers.image.description="Ferry: the queue-worker sidecar (polling, leases, retries, dead letters, publishing, logs)" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=builder /out/ferry /usr/local/bin/ferry
# A static busybox, only for the HEALTHCHECK below (the runtime image has no curl or wget).
COPY --from=busybox /bin/busybox /usr/local/libexec/ferry/busybox
COPY --from=builder --chown=65532:65532 /out/data /var/lib/ferry
# MIMALLOC_ALLOW_THP=0: no transparent huge pages for ferry's heap even on nodes whose THP
# setting is `always` (the binary already asks for none under `madvise`): ~15 MiB less RSS,
# no measurable speed cost (docs/PERFORMANCE.md, "Memory").
ENV FERRY_CONFIG=/etc/ferry/ferry.toml \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    MIMALLOC_ALLOW_THP=0
WORKDIR /var/lib/ferry
VOLUME ["/var/lib/ferry"]
USER 65532:65532
# 50052: gateway API (Publish, Log) for the worker; 9464: admin (/healthz, /readyz, /metrics).
# Both listen on 127.0.0.1 unless ferry.toml says otherwise: set [admin] listen =
# "0.0.0.0:9464" where something outside the container (kubelet, Prometheus) must reach it.
EXPOSE 50052 9464
# Docker-only liveness check against the admin endpoint's default address. On Kubernetes the
# kubelet's probes on /healthz and /readyz are the health checks (this one is ignored there).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/libexec/ferry/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9464/healthz"]
ENTRYPOINT ["/usr/local/bin/ferry"]
CMD ["run"]
