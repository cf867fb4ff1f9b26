// ferry.v1.WorkerService.Handle around a handler: answers a thrown error as a
// retry with its message, aborts the handler's signal at the message's deadline and answers
// retry then, and refuses new calls with UNAVAILABLE once draining has begun while counting
// the calls still in flight.

import { Code, ConnectError } from "@connectrpc/connect";

import { messageFromRequest, responseFromReply } from "./convert.js";
import type { HandleRequest, HandleResponse } from "./gen/ferry/v1/worker_pb.js";
import type { Call } from "./grpc-server.js";
import type { Message } from "./message.js";
import { Reply, retry } from "./reply.js";

/** Handles one delivery and answers what happened. */
export type Handler = (message: Message) => Reply | Promise<Reply>;

/** The reason a handler's signal is aborted with at the message's deadline. */
export class DeadlineExceededError extends Error {
  override readonly name = "DeadlineExceededError";
  constructor() {
    super("deadline exceeded");
  }
}

/** Longest timer Node can set (about 24.8 days); a deadline further away sets none. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Whether draining has begun, and the calls not answered yet. */
export class Drain {
  #draining = false;
  #inFlight = 0;
  #idle: (() => void) | undefined;
  readonly #finished: Promise<void>;

  constructor() {
    this.#finished = new Promise((resolve) => {
      this.#idle = resolve;
    });
  }

  get draining(): boolean {
    return this.#draining;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Refuses new calls from now on; `finished()` resolves once the last call is answered. */
  begin(): void {
    this.#draining = true;
    this.#settle();
  }

  /** Resolves when draining has begun and no call is in flight. */
  finished(): Promise<void> {
    return this.#finished;
  }

  /** Runs `call` as one in-flight call. */
  async track<T>(call: () => Promise<T>): Promise<T> {
    this.#inFlight += 1;
    try {
      return await call();
    } finally {
      this.#inFlight -= 1;
      this.#settle();
    }
  }

  #settle(): void {
    if (this.#draining && this.#inFlight === 0) this.#idle?.();
  }
}

/** WorkerService.Handle serving `handler` on `call` (cancelled by ferry, or by its grpc-timeout). */
export function handleCall(handler: Handler, drain: Drain): (req: HandleRequest, call: Call) => Promise<HandleResponse> {
  return (req, call) => {
    if (drain.draining) {
      // UNAVAILABLE: ferry hands the message back without counting an attempt.
      return Promise.reject(new ConnectError("worker is shutting down", Code.Unavailable));
    }
    return drain.track(async () => responseFromReply(await answer(handler, req, call)));
  };
}

/**
 * Runs `handler` for `req` and returns its reply, a retry for a thrown error, or — when the
 * deadline passes first — a retry `deadline exceeded`: the handler's signal is aborted and
 * whatever it answers later is dropped. The handler's signal is the gRPC call's own (one
 * AbortController per call): when ferry cancels the call (or its gRPC timeout passes), the
 * call ends with that error at once.
 */
export async function answer(handler: Handler, req: HandleRequest, call: Call): Promise<Reply> {
  const { signal } = call;
  let timer: NodeJS.Timeout | undefined;
  let onCancel = (): void => undefined;
  const stopped = new Promise<Reply>((resolve, reject) => {
    // After a deadline's retry has settled `stopped`, the abort it causes rejects nothing.
    onCancel = () => reject(ConnectError.from(signal.reason, Code.Canceled));
    const expire = (): void => {
      resolve(retry("deadline exceeded").log("warn", "handler stopped at the message deadline"));
      call.abort(new DeadlineExceededError());
    };
    const left = req.deadline === undefined ? undefined : deadlineMs(req) - Date.now();
    if (signal.aborted) return;
    if (left !== undefined && left <= 0) expire();
    else if (left !== undefined && left <= MAX_TIMER_MS) timer = setTimeout(expire, left);
  });
  if (signal.aborted) onCancel();
  else signal.addEventListener("abort", onCancel, { once: true });
  try {
    if (signal.aborted) return await stopped;
    return await Promise.race([invoke(handler, messageFromRequest(req, signal)), stopped]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onCancel);
  }
}

/** The handler's reply; a thrown error (or a rejected promise) becomes a retry with its message. */
async function invoke(handler: Handler, message: Message): Promise<Reply> {
  try {
    const reply: unknown = await handler(message);
    if (reply instanceof Reply) return reply;
    const got = reply === null ? "null" : typeof reply;
    return retry(`handler returned ${got}, not a Reply`).log("error", `handler returned ${got}, not a Reply`);
  } catch (err) {
    const reason = err instanceof Error ? err.message || err.name : String(err);
    const stack = err instanceof Error && err.stack !== undefined ? { stack: err.stack } : undefined;
    return retry(reason).log("error", `handler threw: ${reason}`, stack);
  }
}

function deadlineMs(req: HandleRequest): number {
  const { seconds, nanos } = req.deadline ?? { seconds: 0n, nanos: 0 };
  return Number(seconds) * 1000 + Math.floor(nanos / 1e6);
}
