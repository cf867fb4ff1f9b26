// gRPC over node:http2's stream API, for the two services a worker serves: unary and
// server-streaming methods, identity encoding only (ferry compresses nothing), one handler
// per method path. It replaces @connectrpc/connect-node on the serving side because that
// adapter runs on Node's HTTP/1-style compatibility layer and builds an async-iterable
// pipeline, linked abort signals and a DOMException for every call: in `ferry-bench` a
// no-op worker spent 0.40–0.46 ms of CPU per message on it, 0.10 on this (docs/PERFORMANCE.md).
// The wire format is gRPC's (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
// each message is a 5-byte prefix (compressed flag, big-endian length) and its bytes; the
// status goes in the trailers, or in the headers of a trailers-only answer.

import type * as http2 from "node:http2";

import { Code, ConnectError } from "@connectrpc/connect";

/** The largest request message accepted (a worker's messages are far smaller). */
export const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

/**
 * What a method gets besides its request: `signal` aborts when the call is cancelled or its
 * `grpc-timeout` passes, or when the method aborts it itself (its own deadline).
 */
export interface Call {
  readonly signal: AbortSignal;
  abort(reason: unknown): void;
}

/** A method: unary (one answer) or server-streaming (`send` each answer; resolve to end with OK). */
export type Method =
  | { readonly kind: "unary"; readonly handle: (request: Uint8Array, call: Call) => Promise<Uint8Array> | Uint8Array }
  | {
      readonly kind: "stream";
      readonly handle: (request: Uint8Array, call: Call, send: (message: Uint8Array) => void) => Promise<void>;
    };

/** The `stream` listener of an HTTP/2 server that serves `methods` (by path, `/package.Service/Method`). */
export function grpcHandler(methods: ReadonlyMap<string, Method>): (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void {
  return (stream, headers) => {
    // A reset by the client after the answer has begun must not become an uncaught error.
    stream.on("error", () => undefined);
    const contentType = headers["content-type"] ?? "";
    if (headers[":method"] !== "POST" || !/^application\/grpc(\+proto)?(;|$)/.test(contentType)) {
      // Not gRPC (HTTP 415 is what the protocol prescribes for a foreign content type).
      stream.respond({ ":status": 415 }, { endStream: true });
      return;
    }
    const method = methods.get(headers[":path"] ?? "");
    if (method === undefined) {
      fail(stream, Code.Unimplemented, `unknown method ${headers[":path"] ?? ""}`);
      return;
    }
    const encoding = headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") {
      fail(stream, Code.Unimplemented, `grpc-encoding ${String(encoding)} is not supported`);
      return;
    }
    const call = new CallState(stream, headers["grpc-timeout"]);
    readMessage(stream)
      .then(async (request) => {
        if (method.kind === "unary") {
          const answer = await method.handle(request, call);
          call.finish();
          if (stream.closed) return;
          stream.respond(OK_HEADERS, { waitForTrailers: true });
          endOk(stream, frame(answer));
        } else {
          await method.handle(request, call, (message) => {
            if (stream.closed) return;
            if (!stream.headersSent) stream.respond(OK_HEADERS, { waitForTrailers: true });
            stream.write(frame(message));
          });
          call.finish();
          if (stream.closed) return;
          if (!stream.headersSent) {
            fail(stream, 0, "");
            return;
          }
          endOk(stream);
        }
      })
      .catch((err: unknown) => {
        call.finish();
        const e = ConnectError.from(err, Code.Internal);
        fail(stream, e.code, e.rawMessage);
      });
  };
}

/** The signal of one call, aborted by the client's cancel or its `grpc-timeout`. */
class CallState implements Call {
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #stream: http2.ServerHttp2Stream;
  readonly #onClose = (): void => this.#controller.abort(new ConnectError("the call was cancelled", Code.Canceled));

  constructor(stream: http2.ServerHttp2Stream, timeout: string | string[] | undefined) {
    this.#stream = stream;
    stream.once("close", this.#onClose);
    const ms = timeoutMs(timeout);
    if (ms !== undefined) {
      this.#timer = setTimeout(() => this.#controller.abort(new ConnectError("the call's grpc-timeout passed", Code.DeadlineExceeded)), ms);
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    this.#controller.abort(reason);
  }

  /** The answer is ready: neither a close nor the timeout aborts the call any more. */
  finish(): void {
    clearTimeout(this.#timer);
    this.#stream.off("close", this.#onClose);
  }
}

/** Reads the call's one request message (its frame's bytes), bounded by `MAX_REQUEST_BYTES`. */
function readMessage(stream: http2.ServerHttp2Stream): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES + 5) {
        // Refuse at once, and drop what came (the rest is read and discarded).
        chunks.length = 0;
        stream.off("data", onData);
        stream.off("end", onEnd);
        stream.off("close", onClose);
        stream.resume();
        reject(new ConnectError(`request larger than ${MAX_REQUEST_BYTES} bytes`, Code.ResourceExhausted));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      stream.off("close", onClose);
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      if (body.length < 5) {
        reject(new ConnectError("the request has no message", Code.InvalidArgument));
        return;
      }
      if (body[0] !== 0) {
        reject(new ConnectError("compressed messages are not supported", Code.Unimplemented));
        return;
      }
      const length = body.readUInt32BE(1);
      if (body.length !== 5 + length) {
        reject(new ConnectError("the request is not exactly one message", Code.InvalidArgument));
        return;
      }
      // A plain Uint8Array view, not a Buffer: the bytes fields decoded from it are what
      // handlers get, and the SDK promises Uint8Array.
      resolve(new Uint8Array(body.buffer, body.byteOffset + 5, length));
    };
    // Reset before the request ended: let go of what came (nobody waits for an answer).
    const onClose = (): void => {
      chunks.length = 0;
      reject(new ConnectError("the call was cancelled", Code.Canceled));
    };
    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("close", onClose);
  });
}

/** The headers of an answer (its status follows in the trailers). */
const OK_HEADERS: http2.OutgoingHttpHeaders = { ":status": 200, "content-type": "application/grpc" };

/** Ends an answer whose headers went out, after `last` if given, with status OK. */
function endOk(stream: http2.ServerHttp2Stream, last?: Buffer): void {
  stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  stream.end(last);
}

/** `message` with its gRPC prefix. */
function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** Ends the call with `code` (trailers only when no answer was sent yet). */
function fail(stream: http2.ServerHttp2Stream, code: number, message: string): void {
  if (stream.closed || stream.destroyed) return;
  const status: Record<string, string> = { "grpc-status": String(code) };
  if (message !== "") status["grpc-message"] = encodeURIComponent(message);
  try {
    if (!stream.headersSent) {
      stream.respond({ ...OK_HEADERS, ...status }, { endStream: true });
    } else {
      stream.once("wantTrailers", () => stream.sendTrailers(status));
      stream.end();
    }
  } catch {
    // The stream ended under us (the client reset it): nobody is left to tell.
    stream.destroy();
  }
}

/** Milliseconds of a `grpc-timeout` header (`<digits><H|M|S|m|u|n>`), or undefined. */
export function timeoutMs(value: string | string[] | undefined): number | undefined {
  const m = typeof value === "string" ? /^(\d{1,8})([HMSmun])$/.exec(value) : null;
  if (m === null) return undefined;
  const unitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };
  return Math.ceil(Number(m[1]) * (unitMs[m[2] as string] as number));
}
