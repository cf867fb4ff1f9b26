// Unit tests for the conformance reference handler: each `conformance.expect` answer, the
// echo (payload byte for byte, every attribute, realm), the done line's fields, bad numbers
// dead-lettered, and a sleep that stops when the message's signal aborts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Message, type Reply } from "@ferry/sdk";

import { ECHO_DESTINATION, reference } from "../src/conformance/reference.js";

const handle = async (attributes: Record<string, string>, init: ConstructorParameters<typeof Message>[0] = {}): Promise<Reply> =>
  reference(new Message({ id: "m-1", attempt: 2, ...init, attributes }));

describe("conformance reference", () => {
  it("echoes the message on done, with the done line", async () => {
    const payload = Uint8Array.from({ length: 256 }, (_, i) => i);
    const attributes = { "conformance.expect": "done", "ключ 🔑": "e\u0301" };
    const reply = await handle(attributes, { payload, realm: "réalm" });
    assert.equal(reply.isDone, true);
    assert.equal(reply.published.length, 1);
    const echo = reply.published[0];
    assert.equal(echo?.destination, ECHO_DESTINATION);
    assert.deepEqual(echo?.payload, payload);
    assert.deepEqual(echo?.attributes, attributes);
    assert.equal(echo?.realm, "réalm");
    assert.deepEqual([echo?.delayMs, echo?.deliverAt, echo?.dedupId, echo?.orderingKey], [undefined, undefined, undefined, undefined]);
    assert.deepEqual(
      reply.logs.map((l) => [l.level, l.message, l.fields]),
      [["info", "conformance done", { message_id: "m-1", attempt: "2", payload_bytes: "256" }]],
    );
  });

  it("retries with the reason and delay, dead-letters with the reason", async () => {
    assert.deepEqual((await handle({ "conformance.expect": "retry", "conformance.reason": "später", "conformance.delay_ms": "1500" })).outcome, {
      kind: "retry",
      reason: "später",
      delayMs: 1500,
    });
    assert.deepEqual((await handle({ "conformance.expect": "retry" })).outcome, { kind: "retry", reason: "", delayMs: undefined });
    assert.deepEqual((await handle({ "conformance.expect": "dead_letter", "conformance.reason": "nie" })).outcome, {
      kind: "deadLetter",
      reason: "nie",
    });
    assert.equal((await handle({ "conformance.expect": "retry" })).published.length, 0);
  });

  it("dead-letters what it cannot make sense of", async () => {
    assert.deepEqual((await handle({ "conformance.expect": "explode" })).outcome, { kind: "deadLetter", reason: "unknown conformance.expect: explode" });
    assert.deepEqual((await handle({})).outcome, { kind: "deadLetter", reason: "unknown conformance.expect: " });
    for (const bad of ["-1", "1.5", "soon", ""]) {
      assert.equal((await handle({ "conformance.expect": "retry", "conformance.delay_ms": bad })).outcome.kind, "deadLetter", bad);
      assert.equal((await handle({ "conformance.expect": "sleep", "conformance.sleep_ms": bad })).outcome.kind, "deadLetter", bad);
    }
  });

  it("sleeps, then echoes; stops sleeping when the signal aborts", async () => {
    assert.equal((await handle({ "conformance.expect": "sleep", "conformance.sleep_ms": "1" })).isDone, true);
    const controller = new AbortController();
    const sleeping = handle({ "conformance.expect": "sleep", "conformance.sleep_ms": "600000" }, { signal: controller.signal });
    controller.abort(new Error("deadline exceeded"));
    await assert.rejects(sleeping, { name: "AbortError" });
  });
});
