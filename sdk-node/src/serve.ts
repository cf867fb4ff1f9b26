// Serving a handler: the worker service plus grpc.health.v1.Health over cleartext HTTP/2
// (h2c, which ferry speaks), with a graceful drain — health NOT_SERVING, new calls refused,
// the calls in flight answered, then the connections closed. serve() drains on SIGTERM or
// SIGINT; startWorker() leaves that to its caller (tests, embedding).

import * as http2 from "node:http2";

import { fromBinary, toBinary } from "@bufbuild/protobuf";

import { formatHostPort, workerAddress } from "./address.js";
import { HandleRequestSchema, HandleResponseSchema, WorkerService } from "./gen/ferry/v1/worker_pb.js";
import { Health, HealthCheckRequestSchema, HealthCheckResponseSchema } from "./gen/grpc/health/v1/health_pb.js";
import { grpcHandler, type Method } from "./grpc-server.js";
import { HealthTable, type ServingStatus } from "./health.js";
import { Drain, type Handler, handleCall } from "./worker-service.js";

/** The service name ferry checks first (then ""). */
export const WORKER_SERVICE_NAME = WorkerService.typeName;

/** Where to listen. */
export interface ServeOptions {
  /** `host:port` (port 0: any free port); default `FERRY_WORKER_ADDR`, else `127.0.0.1:50051`. */
  address?: string;
}

/** Options of `serve`. */
export interface ServeUntilOptions extends ServeOptions {
  /** Drain when this is aborted too (besides SIGTERM and SIGINT). */
  signal?: AbortSignal;
}

/** A worker server that is listening. */
export interface RunningWorker {
  /** The address it listens on, `host:port` (with the real port when 0 was asked for). */
  readonly address: string;
  /** The status health reports for `ferry.v1.WorkerService` and "". */
  readonly health: ServingStatus;
  /** Calls being handled now. */
  readonly inFlight: number;
  /**
   * Drains: health turns NOT_SERVING, new Handle calls are refused with UNAVAILABLE (ferry
   * hands those messages back uncounted), the calls in flight are answered (each is bounded
   * by its message's deadline), then the server closes. Resolves when it is closed; calling
   * it again returns the same promise.
   */
  drain(): Promise<void>;
  /** Resolves once the server has drained and closed. */
  readonly closed: Promise<void>;
}

/** Listens on `options.address` and serves `handler` until `drain()` is called. */
export async function startWorker(handler: Handler, options: ServeOptions = {}): Promise<RunningWorker> {
  const where = workerAddress(options.address);
  const health = new HealthTable();
  const drain = new Drain();
  const setHealth = (status: ServingStatus): void => {
    health.set(WORKER_SERVICE_NAME, status);
    health.set("", status);
  };
  setHealth("SERVING");

  const handle = handleCall(handler, drain);
  const methods = new Map<string, Method>([
    [
      `/${WorkerService.typeName}/Handle`,
      {
        kind: "unary",
        handle: async (bytes, call) => toBinary(HandleResponseSchema, await handle(fromBinary(HandleRequestSchema, bytes), call)),
      },
    ],
    [
      `/${Health.typeName}/Check`,
      {
        kind: "unary",
        handle: (bytes) => toBinary(HealthCheckResponseSchema, health.check(fromBinary(HealthCheckRequestSchema, bytes).service)),
      },
    ],
    [
      `/${Health.typeName}/Watch`,
      {
        kind: "stream",
        handle: async (bytes, call, send) => {
          for await (const status of health.watch(fromBinary(HealthCheckRequestSchema, bytes).service, call.signal)) {
            send(toBinary(HealthCheckResponseSchema, status));
          }
        },
      },
    ],
  ]);
  // The stream API, not the request/response compatibility layer (see grpc-server.ts).
  const server = http2.createServer();
  server.on("stream", grpcHandler(methods));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const closed = new Promise<void>((resolve) => server.once("close", () => resolve()));

  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error): void => reject(new Error(`cannot listen on ${formatHostPort(where)}: ${err.message}`, { cause: err }));
    server.once("error", failed);
    server.listen(where.port, where.host, () => {
      server.off("error", failed);
      resolve();
    });
  });
  const bound = server.address();
  const address =
    bound !== null && typeof bound === "object" ? formatHostPort({ host: bound.address, port: bound.port }) : formatHostPort(where);

  let draining: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    drain.begin();
    setHealth("NOT_SERVING");
    await drain.finished();
    health.close(); // ends Watch streams, which would hold their sessions open
    server.close();
    for (const session of sessions) session.close();
    await closed;
  };
  return {
    address,
    get health() {
      return health.get(WORKER_SERVICE_NAME) ?? "NOT_SERVING";
    },
    get inFlight() {
      return drain.inFlight;
    },
    drain: () => (draining ??= stop()),
    closed,
  };
}

/**
 * Serves `handler` with the health service on `options.address` (default
 * `FERRY_WORKER_ADDR`, which `ferry run -- node worker.js` sets) until SIGTERM or SIGINT,
 * then drains (see `RunningWorker.drain`) and resolves. A second signal while draining
 * ends the process at once, as the signal's default does.
 */
export async function serve(handler: Handler, options: ServeUntilOptions = {}): Promise<void> {
  const worker = await startWorker(handler, options);
  const signals = ["SIGTERM", "SIGINT"] as const;
  const stop = (): void => {
    for (const name of signals) process.off(name, stop);
    options.signal?.removeEventListener("abort", stop);
    void worker.drain();
  };
  for (const name of signals) process.on(name, stop);
  if (options.signal?.aborted) stop();
  else options.signal?.addEventListener("abort", stop, { once: true });
  await worker.closed;
}
