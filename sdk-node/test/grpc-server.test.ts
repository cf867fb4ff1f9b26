// The gRPC layer the worker serves with (src/grpc-server.ts), over real HTTP/2 on a free
// 127.0.0.1 port: a call the client cancels, or whose grpc-timeout passes, aborts the
// handler's signal; what is not a well-formed gRPC call gets a status (and the server goes on
// serving); a request reset half-way or over the size limit is let go of.

import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { describe, it } from "node:test";

import { toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

import { HandleRequestSchema } from "../src/gen/ferry/v1/worker_pb.js";
import { MAX_REQUEST_BYTES, timeoutMs } from "../src/grpc-server.js";
import { done, type Handler } from "../src/index.js";
import { eventually, request, servedWorkers } from "./support.js";

const serveTest = servedWorkers();

/** A handler that waits until its message's signal aborts, and keeps the reason. */
function waitsForAbort(): { handler: Handler; started: () => boolean; reason: () => unknown } {
  let started = false;
  let reason: unknown;
  const handler: Handler = (msg) =>
    new Promise((resolve) => {
      started = true;
      msg.signal.addEventListener("abort", () => {
        reason = msg.signal.reason;
        resolve(done());
      });
    });
  return { handler, started: () => started, reason: () => reason };
}

/** One raw HTTP/2 request: its response headers, trailers and body. */
async function raw(
  address: string,
  headers: http2.OutgoingHttpHeaders,
  body?: Uint8Array,
): Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; body: Buffer }> {
  const session = http2.connect(`http://${address}`);
  try {
    const req = session.request({ ":method": "POST", "content-type": "application/grpc", te: "trailers", ...headers });
    const chunks: Buffer[] = [];
    let got: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    req.on("response", (h) => (got = h));
    req.on("trailers", (t) => (trailers = t));
    req.on("data", (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((resolve, reject) => {
      req.on("close", resolve);
      req.on("error", reject);
    });
    req.end(body === undefined ? undefined : Buffer.from(body));
    await ended;
    return { headers: got, trailers, body: Buffer.concat(chunks) };
  } finally {
    session.close();
  }
}

/** The grpc-status of an answer: from its trailers, or its headers when trailers-only. */
function statusOf(answer: { headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders }): string | undefined {
  return (answer.trailers["grpc-status"] ?? answer.headers["grpc-status"]) as string | undefined;
}

describe("grpc server", () => {
  it("aborts the handler's signal when the client cancels the call", async () => {
    const w = waitsForAbort();
    const { client } = await serveTest(w.handler);
    const cancel = new AbortController();
    const call = client.worker.handle(request(), { signal: cancel.signal });
    await eventually("the handler started", w.started);
    cancel.abort();
    await assert.rejects(call, (err) => ConnectError.from(err).code === Code.Canceled);
    await eventually("the handler's signal aborted", () => w.reason() !== undefined);
    assert.equal(ConnectError.from(w.reason()).code, Code.Canceled, String(w.reason()));
  });

  it("aborts the handler's signal when the call's grpc-timeout passes", async () => {
    const w = waitsForAbort();
    const { worker } = await serveTest(w.handler);
    // A raw call that never cancels, whose message deadline is far away: only the server's
    // reading of grpc-timeout ends it.
    const message = toBinary(HandleRequestSchema, request({}, 60_000));
    const body = new Uint8Array(5 + message.length);
    new DataView(body.buffer).setUint32(1, message.length);
    body.set(message, 5);
    const answer = await raw(worker.address, { ":path": "/ferry.v1.WorkerService/Handle", "grpc-timeout": "200m" }, body);
    assert.equal(statusOf(answer), String(Code.DeadlineExceeded));
    assert.equal(ConnectError.from(w.reason()).code, Code.DeadlineExceeded, String(w.reason()));
  });

  it("answers an unknown method UNIMPLEMENTED and a request that is not gRPC 415, and closes both", async () => {
    const { worker } = await serveTest(() => done());
    // Bodies larger than HTTP/2's flow-control window: refused unread, the stream still
    // closes (Node resets the rest of the upload once the answer has ended).
    const big = new Uint8Array(1 << 20);
    const unknown = await raw(worker.address, { ":path": "/no.Such/Method" }, big);
    assert.equal(statusOf(unknown), String(Code.Unimplemented));
    const json = await raw(worker.address, { ":path": "/ferry.v1.WorkerService/Handle", "content-type": "application/json" }, big);
    assert.equal(json.headers[":status"], 415);
  });

  it("refuses malformed frames with a status and goes on serving", async () => {
    const { worker, client } = await serveTest(() => done());
    const path = { ":path": "/ferry.v1.WorkerService/Handle" };
    const cases: [string, Uint8Array, Code][] = [
      ["no body", new Uint8Array(), Code.InvalidArgument],
      ["a cut prefix", new Uint8Array([0, 0, 0]), Code.InvalidArgument],
      ["a length beyond the body", new Uint8Array([0, 0, 0, 0, 9, 1, 2]), Code.InvalidArgument],
      ["a compressed message", new Uint8Array([1, 0, 0, 0, 0]), Code.Unimplemented],
      ["bytes that are not a HandleRequest", new Uint8Array([0, 0, 0, 0, 2, 0xff, 0xff]), Code.Internal],
    ];
    for (const [what, body, code] of cases) {
      assert.equal(statusOf(await raw(worker.address, path, body)), String(code), what);
    }
    const gzip = await raw(worker.address, { ...path, "grpc-encoding": "gzip" }, new Uint8Array(5));
    assert.equal(statusOf(gzip), String(Code.Unimplemented));
    assert.ok((await client.worker.handle(request())).outcome.case === "done");
  });

  it("lets go of a request the client resets before it ends, and goes on serving", async () => {
    let calls = 0;
    const { worker, client } = await serveTest(() => {
      calls += 1;
      return done();
    });
    const session = http2.connect(`http://${worker.address}`);
    const req = session.request({ ":method": "POST", ":path": "/ferry.v1.WorkerService/Handle", "content-type": "application/grpc" });
    req.on("error", () => undefined);
    req.write(Buffer.from([0, 0, 0, 1, 0, 1, 2, 3])); // a prefix promising 256 bytes, then 3
    await new Promise<void>((resolve) => setImmediate(resolve));
    req.close(http2.constants.NGHTTP2_CANCEL);
    await new Promise<void>((resolve) => req.on("close", resolve));
    session.close();
    assert.ok((await client.worker.handle(request())).outcome.case === "done");
    assert.equal(calls, 1, "only the whole call reached the handler");
    assert.equal(worker.inFlight, 0);
  });

  it("refuses a request over the size limit with RESOURCE_EXHAUSTED", async () => {
    let calls = 0;
    const { worker } = await serveTest(() => {
      calls += 1;
      return done();
    });
    const body = new Uint8Array(MAX_REQUEST_BYTES + 1024);
    const answer = await raw(worker.address, { ":path": "/ferry.v1.WorkerService/Handle" }, body);
    assert.equal(statusOf(answer), String(Code.ResourceExhausted));
    assert.equal(calls, 0);
  });

  it("reads grpc-timeout in every unit, and nothing else", () => {
    assert.equal(timeoutMs("5S"), 5_000);
    assert.equal(timeoutMs("100m"), 100);
    assert.equal(timeoutMs("2M"), 120_000);
    assert.equal(timeoutMs("1H"), 3_600_000);
    assert.equal(timeoutMs("1500u"), 2);
    assert.equal(timeoutMs("7n"), 1);
    for (const bad of [undefined, "", "5", "S", "123456789S", "-1S", "1.5S", ["5S"]]) {
      assert.equal(timeoutMs(bad), undefined, String(bad));
    }
  });
});
