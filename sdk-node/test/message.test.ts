// Unit tests for Message: payload bytes and the text() / json() helpers, attributes as an
// own-keys record (no prototype keys, unicode kept), trace id, attempts and time left.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Message, PayloadError } from "../src/index.js";

describe("Message", () => {
  it("reads the payload as text and as JSON", () => {
    const msg = new Message({ payload: '{"id":"42","name":"Zoë 🚢"}' });
    assert.equal(msg.text(), '{"id":"42","name":"Zoë 🚢"}');
    assert.deepEqual(msg.json<{ id: string; name: string }>(), { id: "42", name: "Zoë 🚢" });
  });

  it("refuses a payload that is not UTF-8 or not JSON with a PayloadError", () => {
    const binary = new Message({ payload: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) });
    assert.throws(() => binary.text(), (err) => err instanceof PayloadError && err.message === "payload is not valid UTF-8 text");
    assert.throws(() => binary.json(), PayloadError);
    const prose = new Message({ payload: "not json" });
    assert.throws(() => prose.json(), (err) => err instanceof PayloadError && err.message.startsWith("payload is not valid JSON: "));
  });

  it("keeps attributes as given, with no inherited keys", () => {
    const msg = new Message({ attributes: { "ключ": "значение 👩🏽‍🚀", "e\u0301": "\u00e9" } });
    assert.equal(msg.attribute("ключ"), "значение 👩🏽‍🚀");
    assert.equal(msg.attribute("e\u0301"), "\u00e9");
    assert.equal(msg.attribute("\u00e9"), undefined, "no unicode normalisation");
    assert.equal(msg.attribute("toString"), undefined);
    assert.equal(msg.attribute("constructor"), undefined);
    assert.throws(() => {
      (msg.attributes as Record<string, string>)["x"] = "y";
    }, TypeError);
  });

  it("finds the trace id only in a well-formed traceparent", () => {
    const traced = (traceparent: string): string | undefined => new Message({ trace: { traceparent, tracestate: "" } }).traceId;
    assert.equal(traced("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert.equal(traced("00-00000000000000000000000000000000-00f067aa0ba902b7-01"), undefined);
    assert.equal(traced("00-4bf92f35-00f067aa0ba902b7-01"), undefined);
    assert.equal(traced(""), undefined);
  });

  it("knows the last attempt and the time left", () => {
    assert.equal(new Message({ attempt: 3, maxAttempts: 3 }).isLastAttempt, true);
    assert.equal(new Message({ attempt: 2, maxAttempts: 3 }).isLastAttempt, false);
    assert.equal(new Message({ attempt: 9, maxAttempts: 0 }).isLastAttempt, false, "0 is unknown");
    assert.equal(new Message().timeLeftMs(), undefined);
    assert.equal(new Message({ deadline: new Date(Date.now() - 1000) }).timeLeftMs(), 0);
    const left = new Message({ deadline: new Date(Date.now() + 60_000) }).timeLeftMs() ?? 0;
    assert.ok(left > 0 && left <= 60_000, `time left ${left}`);
  });

  it("treats an empty realm as none", () => {
    assert.equal(new Message({ realm: "" }).realm, undefined);
    assert.equal(new Message({ realm: "acme" }).realm, "acme");
    assert.deepEqual(Message.json({ a: 1 }).json(), { a: 1 });
  });
});
