// The served worker over real gRPC (HTTP/2 on a free 127.0.0.1 port): health, payloads
// byte for byte, unicode attributes, a thrown error answered retry, a handler stopped at
// the deadline, and the drain (health flips, new calls refused, in-flight calls finish).

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Code, ConnectError } from "@connectrpc/connect";

import { HealthCheckResponse_ServingStatus as Status } from "../src/gen/grpc/health/v1/health_pb.js";
import { deadLetter, done, type Handler, type Message, retry, startWorker } from "../src/index.js";
import { eventually, request, servedWorkers } from "./support.js";

const serveTest = servedWorkers();

/** Echoes the message: payload, attributes and realm out as a follow-up. */
const echo: Handler = (msg) =>
  done().publish({ destination: "echo", payload: msg.payload, attributes: msg.attributes, ...(msg.realm && { realm: msg.realm }) });

describe("serve", () => {
  it("reports SERVING for ferry.v1.WorkerService and the server, NOT_FOUND for others", async () => {
    const { client } = await serveTest(echo);
    for (const service of ["ferry.v1.WorkerService", ""]) {
      assert.equal((await client.health.check({ service })).status, Status.SERVING, service);
    }
    await assert.rejects(client.health.check({ service: "other.Service" }), (err) => ConnectError.from(err).code === Code.NotFound);
  });

  it("passes every byte value of a binary payload through unchanged, both ways", async () => {
    const seen: Uint8Array[] = [];
    const { client } = await serveTest((msg) => {
      seen.push(msg.payload);
      return echo(msg);
    });
    const payload = new Uint8Array([...Array.from({ length: 256 }, (_, i) => i), 0x00, 0xc3, 0x28, 0xed, 0xa0, 0x80]);
    const response = await client.worker.handle(request({ payload }));
    assert.deepEqual(seen[0], payload);
    assert.deepEqual(response.publish[0]?.payload, payload);
    const empty = await client.worker.handle(request({ payload: new Uint8Array() }));
    assert.equal(empty.publish[0]?.payload.length, 0);
  });

  it("passes unicode attributes, realm and ids through without normalising them", async () => {
    const attributes = {
      "emoji 👩🏽‍🚀": "🏳️‍🌈 family 👨‍👩‍👧‍👦",
      "combining é": "precomposed é",
      日本語: "中文 한국어 العربية עברית",
      'quote"back\\slash': "line\nbreak\ttab",
    };
    let got: Message | undefined;
    const { client } = await serveTest((msg) => {
      got = msg;
      return echo(msg);
    });
    const response = await client.worker.handle(request({ attributes, realm: "réalm-🌍", messageId: "id-ü-😀" }));
    assert.deepEqual({ ...got?.attributes }, attributes);
    assert.equal(got?.realm, "réalm-🌍");
    assert.equal(got?.id, "id-ü-😀");
    assert.deepEqual(response.publish[0]?.attributes, attributes);
    assert.equal(response.publish[0]?.realm, "réalm-🌍");
  });

  it("hands the handler the request's fields", async () => {
    let got: Message | undefined;
    const { client } = await serveTest((msg) => {
      got = msg;
      return done();
    });
    await client.worker.handle(request({ attempt: 3, maxAttempts: 3, subscription: "orders", queue: "orders-q" }));
    assert.equal(got?.attempt, 3);
    assert.equal(got?.isLastAttempt, true);
    assert.equal(got?.subscription, "orders");
    assert.equal(got?.queue, "orders-q");
    assert.equal(got?.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert.ok(got?.deadline instanceof Date && got.publishedAt instanceof Date);
    assert.equal(got?.signal.aborted, false);
  });

  it("answers a thrown error, or a rejected promise, as a retry with its message", async () => {
    const { client } = await serveTest(async (msg) => {
      if (msg.attribute("how") === "sync") throw new TypeError("directory is unreadable");
      await Promise.resolve();
      throw new Error("mail provider returned 503");
    });
    for (const [how, reason] of [
      ["sync", "directory is unreadable"],
      ["async", "mail provider returned 503"],
    ] as const) {
      const response = await client.worker.handle(request({ attributes: { how } }));
      assert.equal(response.outcome.case, "retry", how);
      assert.equal(response.outcome.value?.reason, reason);
      const line = response.logs[0];
      assert.equal(line?.message, `handler threw: ${reason}`);
      assert.match(line?.fields["stack"] ?? "", new RegExp(reason));
    }
  });

  it("answers something that is not a Reply as a retry", async () => {
    const { client } = await serveTest((() => undefined) as unknown as Handler);
    const response = await client.worker.handle(request());
    assert.equal(response.outcome.case, "retry");
    assert.equal(response.outcome.value?.reason, "handler returned undefined, not a Reply");
  });

  it("aborts a handler still running at the deadline and answers retry", async () => {
    let aborted: unknown;
    let release = (): void => undefined;
    const { worker, client } = await serveTest(
      (msg) =>
        new Promise((resolve) => {
          // Answers only when released: the deadline must come first.
          release = () => resolve(done());
          msg.signal.addEventListener("abort", () => {
            aborted = msg.signal.reason;
          });
        }),
    );
    const response = await client.worker.handle(request({}, 300));
    release();
    assert.equal(response.outcome.case, "retry");
    assert.equal(response.outcome.value?.reason, "deadline exceeded");
    assert.equal(response.logs[0]?.message, "handler stopped at the message deadline");
    assert.ok(aborted instanceof Error && aborted.name === "DeadlineExceededError", String(aborted));
    assert.equal(worker.inFlight, 0, "an answered call is no longer in flight");
  });

  it("answers a message whose deadline has passed without calling the handler", async () => {
    let calls = 0;
    const { client } = await serveTest(() => {
      calls += 1;
      return done();
    });
    const response = await client.worker.handle(request({}, -1000));
    assert.equal(response.outcome.case, "retry");
    assert.equal(response.outcome.value.reason, "deadline exceeded");
    assert.equal(calls, 0);
  });

  it("answers retry and dead-letter as the handler says", async () => {
    const { client } = await serveTest((msg) =>
      msg.attribute("poison") ? deadLetter("not an order") : retry({ reason: "later", delayMs: 1500 }),
    );
    const poison = await client.worker.handle(request({ attributes: { poison: "1" } }));
    assert.equal(poison.outcome.case, "deadLetter");
    assert.equal(poison.outcome.value?.reason, "not an order");
    const later = await client.worker.handle(request());
    assert.equal(later.outcome.case === "retry" && later.outcome.value.delay?.nanos, 500_000_000);
  });

  it("drains: health turns NOT_SERVING, new calls are refused, the call in flight finishes", async () => {
    let started = (): void => undefined;
    const inFlight = new Promise<void>((resolve) => {
      started = resolve;
    });
    let release = (): void => undefined;
    const { worker, client } = await serveTest(
      () =>
        new Promise((resolve) => {
          started();
          release = () => resolve(done().log("info", "finished after the drain began"));
        }),
    );
    const first = client.worker.handle(request());
    await inFlight;
    const drained = worker.drain();
    assert.equal(worker.health, "NOT_SERVING");
    for (const service of ["ferry.v1.WorkerService", ""]) {
      assert.equal((await client.health.check({ service })).status, Status.NOT_SERVING, service);
    }
    await assert.rejects(client.worker.handle(request({ messageId: "m-2" })), (err) => {
      const { code, rawMessage } = ConnectError.from(err);
      return code === Code.Unavailable && rawMessage === "worker is shutting down";
    });
    let closed = false;
    void worker.closed.then(() => {
      closed = true;
    });
    assert.equal(worker.inFlight, 1);
    assert.equal(closed, false, "the server waits for the call in flight");
    release();
    const response = await first;
    assert.equal(response.outcome.case, "done");
    assert.equal(response.logs[0]?.message, "finished after the drain began");
    await drained;
    assert.equal(closed, true);
    assert.equal(worker.drain(), drained, "drain() is idempotent");
  });

  it("ends health Watch streams when it closes", async () => {
    const { worker, client } = await serveTest(echo);
    const statuses: Status[] = [];
    const watching = (async () => {
      for await (const update of client.health.watch({ service: "ferry.v1.WorkerService" })) statuses.push(update.status);
    })();
    await eventually("the watch saw SERVING", () => statuses.length > 0);
    await worker.drain();
    await watching;
    assert.deepEqual(statuses, [Status.SERVING, Status.NOT_SERVING]);
  });

  it("refuses an address it cannot listen on", async () => {
    const { worker } = await serveTest(echo);
    await assert.rejects(startWorker(echo, { address: worker.address }), /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    await assert.rejects(startWorker(echo, { address: "nowhere" }), /is not a host:port address/);
  });
});
