// Test helpers: a gRPC client (real HTTP/2 connection) for a worker started on a free
// 127.0.0.1 port, workers served for one test file, HandleRequest builders, and polling
// with a deadline instead of sleeping.

import { after } from "node:test";

import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";

import { type HandleRequest, HandleRequestSchema, WorkerService } from "../src/gen/ferry/v1/worker_pb.js";
import { Health } from "../src/gen/grpc/health/v1/health_pb.js";
import { type Handler, type RunningWorker, startWorker } from "../src/index.js";

/** How long a condition may take to become true. */
export const EVENTUALLY_MS = 30_000;

/** Polls `cond` every 20 ms until it is true; throws naming `what` after `EVENTUALLY_MS`. */
export async function eventually(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + EVENTUALLY_MS;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`not true within ${EVENTUALLY_MS} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Clients of a worker's two services over one HTTP/2 connection; `close()` ends it. */
export interface WorkerClient {
  worker: Client<typeof WorkerService>;
  health: Client<typeof Health>;
  close(): void;
}

/** Connects to the worker at `address` (`host:port`). */
export function connect(address: string): WorkerClient {
  const baseUrl = `http://${address}`;
  const sessions = new Http2SessionManager(baseUrl);
  const transport = createGrpcTransport({ baseUrl, sessionManager: sessions });
  return {
    worker: createClient(WorkerService, transport),
    health: createClient(Health, transport),
    close: () => sessions.abort(),
  };
}

/** A HandleRequest with a message id and a deadline `deadlineMs` from now (default 10 s). */
export function request(
  init: MessageInitShape<typeof HandleRequestSchema> = {},
  deadlineMs = 10_000,
): HandleRequest {
  const defaults: MessageInitShape<typeof HandleRequestSchema> = {
    messageId: "m-1",
    attempt: 1,
    maxAttempts: 5,
    subscription: "s",
    queue: "q",
    trace: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
    deadline: timestampFromMs(Date.now() + deadlineMs),
    publishedAt: timestampFromMs(Date.now()),
  };
  return create(HandleRequestSchema, Object.assign(defaults, init));
}

/**
 * For one test file: a function that starts a handler on a free port and connects a client
 * to it; every worker it started is drained, and its client closed, after the file's tests.
 */
export function servedWorkers(): (handler: Handler) => Promise<{ worker: RunningWorker; client: WorkerClient }> {
  const running: { worker: RunningWorker; client: WorkerClient }[] = [];
  after(async () => {
    for (const { worker, client } of running) {
      client.close();
      await worker.drain();
    }
  });
  return async (handler) => {
    const worker = await startWorker(handler, { address: "127.0.0.1:0" });
    const client = connect(worker.address);
    running.push({ worker, client });
    return { worker, client };
  };
}
