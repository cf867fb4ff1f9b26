# syntax=docker/dockerfile:1.7
#
# The C# blast example worker (examples/csharp, .NET 8, Grpc.AspNetCore). Build from the
# repository root:
#
#   docker build -f deploy/docker/blast-csharp.Dockerfile -t ferry-blast-csharp:dev .
#
# PROJECT is the worker's .csproj relative to examples/csharp and APP its assembly name;
# override them with --build-arg if the project is laid out differently. Grpc.Tools
# generates the code from ../../proto, so the build keeps the repository layout under /src.
# Not built on the machine this was written on (no Docker engine, no .NET SDK there).
#
# The worker listens where $FERRY_WORKER_ADDR says (127.0.0.1:50051 by default) and writes
# only under /var/lib/blast.

ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:8.0.404
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:8.0.11

FROM ${SDK_IMAGE} AS builder
ARG PROJECT=BlastCustomerSender/BlastCustomerSender.csproj
WORKDIR /src
COPY proto/ proto/
COPY examples/csharp/ examples/csharp/
WORKDIR /src/examples/csharp
RUN --mount=type=cache,target=/root/.nuget/packages \
    dotnet restore "${PROJECT}" \
    && dotnet publish "${PROJECT}" --no-restore -c Release -o /out/app /p:UseAppHost=false \
    && mkdir -p /out/data

FROM ${RUNTIME_IMAGE}
ARG APP=BlastCustomerSender
LABEL org.opencontainers.image.title="ferry-blast-csharp" \
      org.opencontainers.image.description="The blast customer sender example worker in C# (.NET 8)" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
COPY --from=builder /out/app/ ./
COPY examples/rust/blast/data/directory.json /usr/share/blast/directory.json
COPY --from=builder --chown=65532:65532 /out/data /var/lib/blast
ENV APP_DLL=/app/${APP}.dll \
    BLAST_DATA=/usr/share/blast/directory.json \
    BLAST_OUTBOX=/var/lib/blast/outbox.jsonl \
    BLAST_ACTIVITIES=/var/lib/blast/activities.jsonl \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_EnableDiagnostics=0
VOLUME ["/var/lib/blast"]
USER 65532:65532
EXPOSE 50051
# Exec form cannot expand APP_DLL; `dotnet` is started through sh with exec so it gets the
# signals (SIGTERM starts the graceful shutdown).
ENTRYPOINT ["/bin/sh", "-c", "exec dotnet \"$APP_DLL\" \"$@\"", "blast-csharp"]
