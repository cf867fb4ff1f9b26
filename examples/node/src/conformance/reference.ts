// The conformance reference behaviour (tests/conformance/README.md) in Node: a handler that
// answers each request as its `conformance.*` attributes say. `ferry conformance --worker
// ADDR` checks it; the deadline case is the SDK's job (it aborts the handler's signal and
// answers retry), so `sleep` only has to pass the signal to its timer.

import { setTimeout as sleep } from "node:timers/promises";

import { deadLetter, done, type Handler, type Message, type Reply, retry } from "@ferry/sdk";

/** The attribute naming the expected outcome: done, retry, dead_letter or sleep. */
export const EXPECT_ATTR = "conformance.expect";
/** The retry or dead-letter reason to answer with. */
export const REASON_ATTR = "conformance.reason";
/** The retry delay to ask for, in milliseconds. */
export const DELAY_ATTR = "conformance.delay_ms";
/** How long `sleep` sleeps, in milliseconds. */
export const SLEEP_ATTR = "conformance.sleep_ms";
/** Where the `done` echo is published. */
export const ECHO_DESTINATION = "conformance.echo";

/** Milliseconds in attribute `attr`: undefined when absent, an error text when not a non-negative integer. */
function millis(msg: Message, attr: string): number | undefined | { error: string } {
  const value = msg.attribute(attr);
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  return Number.isSafeInteger(ms) ? ms : { error: `${attr}: ${JSON.stringify(value)} is not a non-negative integer` };
}

/** The reference worker's handler. */
export const reference: Handler = async (msg) => {
  const reason = msg.attribute(REASON_ATTR) ?? "";
  const expect = msg.attribute(EXPECT_ATTR) ?? "";
  switch (expect) {
    case "done":
      return echo(msg);
    case "retry": {
      const delayMs = millis(msg, DELAY_ATTR);
      if (typeof delayMs === "object") return deadLetter(delayMs.error);
      return retry(delayMs === undefined ? { reason } : { reason, delayMs });
    }
    case "dead_letter":
      return deadLetter(reason);
    case "sleep": {
      const ms = millis(msg, SLEEP_ATTR) ?? 0;
      if (typeof ms === "object") return deadLetter(ms.error);
      await sleep(ms, undefined, { signal: msg.signal });
      return echo(msg);
    }
    default:
      return deadLetter(`unknown ${EXPECT_ATTR}: ${expect}`);
  }
};

/** Done, echoing the message to ECHO_DESTINATION, with the done line. */
function echo(msg: Message): Reply {
  return done()
    .publish({ destination: ECHO_DESTINATION, payload: msg.payload, attributes: msg.attributes, realm: msg.realm })
    .log("info", "conformance done", { message_id: msg.id, attempt: msg.attempt, payload_bytes: msg.payload.length });
}
