# syntax=docker/dockerfile:1.7
#
# The Go blast example worker (examples/go, command blast-customer-sender). Build from the
# repository root:
#
#   docker build -f deploy/docker/blast-go.Dockerfile -t ferry-blast-go:dev .
#
# A static binary (CGO off). Listens on $FERRY_WORKER_ADDR (127.0.0.1:50051 by default) and
# writes only under /var/lib/blast.

ARG GO_IMAGE=golang:1.26.8-trixie
ARG RUNTIME_IMAGE=debian:13.1-slim

FROM ${GO_IMAGE} AS builder
WORKDIR /src/examples/go
COPY examples/go/go.mod examples/go/go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY examples/go/ ./
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/bin/blast-customer-sender ./cmd/blast-customer-sender \
    && mkdir -p /out/data

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="ferry-blast-go" \
      org.opencontainers.image.description="The blast customer sender example worker in Go (grpc-go)" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/bin/blast-customer-sender /usr/local/bin/blast-customer-sender
COPY examples/rust/blast/data/directory.json /usr/share/blast/directory.json
COPY --from=builder --chown=65532:65532 /out/data /var/lib/blast
ENV BLAST_DATA=/usr/share/blast/directory.json \
    BLAST_OUTBOX=/var/lib/blast/outbox.jsonl \
    BLAST_ACTIVITIES=/var/lib/blast/activities.jsonl
WORKDIR /var/lib/blast
VOLUME ["/var/lib/blast"]
USER 65532:65532
EXPOSE 50051
ENTRYPOINT ["/usr/local/bin/blast-customer-sender"]
