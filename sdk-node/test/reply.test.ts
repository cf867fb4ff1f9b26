// Unit tests for replies and their protocol form: the three outcomes, a retry delay in
// milliseconds as a protobuf Duration, published messages (bytes, text or JSON; schedules;
// dedup ids) and log lines with their fields.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { responseFromReply } from "../src/convert.js";
import { LogLevel } from "../src/gen/ferry/v1/message_pb.js";
import { deadLetter, done, retry } from "../src/index.js";

describe("replies", () => {
  it("answers done with follow-ups and log lines", () => {
    const reply = done()
      .publish({ destination: "Invoices", json: { id: "42" }, realm: "acme", dedupId: "invoice/42" })
      .publish({ destination: "Audit", payload: "text", attributes: { kind: "order" }, delayMs: 1500 })
      .log("info", "order received", { id: "42", count: 3, ok: true });
    const response = responseFromReply(reply);
    assert.equal(response.outcome.case, "done");
    const [invoice, audit] = response.publish;
    assert.equal(invoice?.destination, "Invoices");
    assert.equal(new TextDecoder().decode(invoice?.payload), '{"id":"42"}');
    assert.equal(invoice?.realm, "acme");
    assert.equal(invoice?.deduplicationId, "invoice/42");
    assert.equal(invoice?.schedule.case, undefined);
    assert.deepEqual(audit?.attributes, { kind: "order" });
    assert.equal(audit?.schedule.case, "delay");
    assert.deepEqual(audit?.schedule.value, { $typeName: "google.protobuf.Duration", seconds: 1n, nanos: 500_000_000 });
    const [line] = response.logs;
    assert.equal(line?.level, LogLevel.INFO);
    assert.equal(line?.message, "order received");
    assert.deepEqual(line?.fields, { id: "42", count: "3", ok: "true" });
    assert.ok(line?.time !== undefined);
  });

  it("answers retry with a reason and an optional delay", () => {
    const later = responseFromReply(retry({ reason: "mail provider returned 503", delayMs: 60_000 }));
    assert.equal(later.outcome.case, "retry");
    assert.equal(later.outcome.value?.reason, "mail provider returned 503");
    assert.equal(later.outcome.case === "retry" && later.outcome.value.delay?.seconds, 60n);
    const backoff = responseFromReply(retry("busy"));
    assert.equal(backoff.outcome.case === "retry" && backoff.outcome.value.delay, undefined);
    assert.throws(() => retry({ reason: "x", delayMs: -1 }), TypeError);
    assert.throws(() => retry({ reason: "x", delayMs: Number.NaN }), TypeError);
  });

  it("answers dead-letter with a reason", () => {
    const response = responseFromReply(deadLetter("customer_ids is missing"));
    assert.equal(response.outcome.case, "deadLetter");
    assert.equal(response.outcome.value?.reason, "customer_ids is missing");
  });

  it("sends a deliver-at time and passes binary payloads through", () => {
    const at = new Date("2030-01-02T03:04:05.678Z");
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const [msg] = responseFromReply(done().publish({ destination: "q", payload: bytes, deliverAt: at })).publish;
    assert.deepEqual(msg?.payload, bytes);
    assert.equal(msg?.schedule.case, "deliverAt");
    assert.equal(msg?.schedule.case === "deliverAt" && msg.schedule.value.seconds, BigInt(Math.floor(at.getTime() / 1000)));
  });

  it("refuses malformed outgoing messages when they are added", () => {
    assert.throws(() => done().publish({ destination: "" }), /destination is required/);
    assert.throws(() => done().publish({ destination: "q", payload: "a", json: {} }), /payload or json/);
    assert.throws(() => done().publish({ destination: "q", delayMs: 1, deliverAt: new Date() }), /delayMs or deliverAt/);
    assert.throws(() => done().publish({ destination: "q", json: () => 1 }), /cannot be written as JSON/);
    assert.throws(() => done().log("loud" as "info", "x"), /log level/);
  });

  it("keeps what was published and logged readable for tests", () => {
    const reply = done().publish({ destination: "q", json: [1] }).log("warn", "careful");
    assert.equal(reply.isDone, true);
    assert.equal(new TextDecoder().decode(reply.published[0]?.payload), "[1]");
    assert.equal(reply.logs[0]?.level, "warn");
    assert.equal(retry("x").isDone, false);
  });
});
