// @ferry/sdk: write a Ferry queue worker in Node.js. The ferry sidecar polls the queue,
// keeps the lease, retries, dead-letters and publishes; the worker is one async function
// from a Message to a Reply, served as ferry.v1.WorkerService with the standard
// grpc.health.v1.Health service. GatewayClient publishes from services that are not
// workers (a web API that enqueues work).
//
//   import { serve, done, deadLetter } from "@ferry/sdk";
//   await serve(async (msg) => {
//     try { msg.json(); } catch (err) { return deadLetter(String(err)); }
//     return done().log("info", "order received");
//   });

export {
  DEFAULT_GATEWAY_ADDR,
  DEFAULT_WORKER_ADDR,
  GATEWAY_ADDR_ENV,
  WORKER_ADDR_ENV,
} from "./address.js";
export { type GatewayCallOptions, GatewayClient, type LogContext } from "./client.js";
export type { ServingStatus } from "./health.js";
export { Message, type MessageInit, PayloadError, type TraceContext } from "./message.js";
export type { Outgoing, Publication } from "./outgoing.js";
export {
  deadLetter,
  done,
  type FieldValue,
  type Level,
  type LogEntry,
  logEntry,
  type Outcome,
  Reply,
  retry,
  type RetryOptions,
} from "./reply.js";
export {
  type RunningWorker,
  type ServeOptions,
  type ServeUntilOptions,
  serve,
  startWorker,
  WORKER_SERVICE_NAME,
} from "./serve.js";
export { DeadlineExceededError, type Handler } from "./worker-service.js";

/** Errors from the gateway (and gRPC status codes), re-exported from @connectrpc/connect. */
export { Code, ConnectError } from "@connectrpc/connect";

/** The generated protocol (`ferry.v1`), for code that needs the raw messages. */
export * as proto from "./proto.js";
