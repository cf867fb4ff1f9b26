// Unit tests for the Node list sender against the shipped data (the directory and blasts the
// Rust workers use): de-duplication in first-seen order, the fan-out messages (queue, realm,
// dedup id, attribute, payload the Rust customer sender reads), identical dedup ids when the
// same message comes again, account checks, malformed input and an unreadable directory.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

import { Message, type Reply } from "@ferry/sdk";

import { Directory } from "../src/blast/directory.js";
import { fanOut, listSender, plan, Rejection } from "../src/blast/list-sender.js";
import { type BlastRequest, CUSTOMER_QUEUE } from "../src/blast/messages.js";
import { REPO_ROOT } from "./harness.js";

const dataFile = (name: string): string => join(REPO_ROOT, "examples/rust/blast/data", name);
const directory = Directory.parse(readFileSync(dataFile("directory.json"), "utf8"));
const blast = readFileSync(dataFile("blast.json"), "utf8");
const lapsed = readFileSync(dataFile("blast-lapsed-account.json"), "utf8");

const request = (account: string, ids: string[]): BlastRequest => ({
  blast_id: "b1",
  account_id: account,
  template: { subject: "s", body: "b" },
  customer_ids: ids,
});

function deadLetterReason(reply: Reply): string {
  assert.equal(reply.outcome.kind, "deadLetter", JSON.stringify(reply.outcome));
  return reply.outcome.reason;
}

describe("list sender", () => {
  it("fans duplicate ids out once, in first-seen order", () => {
    const p = plan(directory, request("acct-harbor", ["c3", "c1", "c3", "c2", "c1"]));
    assert.deepEqual(
      p.tasks.map((t) => t.customer_id),
      ["c3", "c1", "c2"],
    );
    assert.equal(p.duplicates, 2);
  });

  it("fans the shipped blast out to ten customers with realm, dedup id and the task", () => {
    const reply = fanOut(directory, new Message({ payload: blast }));
    assert.equal(reply.isDone, true);
    assert.equal(reply.published.length, 10);
    const first = reply.published[0];
    assert.equal(first?.destination, CUSTOMER_QUEUE);
    assert.equal(first?.realm, "acct-harbor");
    assert.equal(first?.dedupId, "blast/storm-2024-09/customer/cust-001");
    assert.deepEqual(first?.attributes, { blast_id: "storm-2024-09" });
    // Field for field what the Rust CustomerTask serialises to (its customer sender reads it).
    const task = JSON.parse(new TextDecoder().decode(first?.payload)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(task), ["blast_id", "account_id", "customer_id", "template"]);
    assert.deepEqual(task["template"], {
      subject: "{{name}}, our storm hotline is open",
      body: "Dear {{name}},\n\nOur claims hotline is open around the clock while the storm passes: call 555-0100. We will send updates to {{email}}.\n\nHarbor Insurance Agency",
    });
    const log = reply.logs[0];
    assert.deepEqual(
      { requested: log?.fields["requested"], queued: log?.fields["queued"], duplicates: log?.fields["duplicates"] },
      { requested: "13", queued: "10", duplicates: "3" },
    );
  });

  it("yields identical dedup ids when the same list message is handled again", () => {
    const first = new Message({ payload: blast, id: "m1", attempt: 1 });
    const again = new Message({ payload: blast, id: "m1", attempt: 2 });
    const ids = (reply: Reply): (string | undefined)[] => reply.published.map((m) => m.dedupId);
    assert.deepEqual(ids(fanOut(directory, first)), ids(fanOut(directory, again)));
    assert.ok(ids(fanOut(directory, first)).every((id) => id !== undefined));
  });

  it("dead-letters an inactive account's blast", () => {
    const reply = fanOut(directory, new Message({ payload: lapsed }));
    assert.equal(deadLetterReason(reply), "account acct-lapsed is not active");
    assert.equal(reply.published.length, 0);
  });

  it("refuses unknown accounts and blasts beyond the credit (duplicates are free)", () => {
    assert.throws(() => plan(directory, request("acct-nobody", ["c1"])), new Rejection("account acct-nobody does not exist"));
    assert.equal(plan(directory, request("acct-small", ["c1", "c2", "c1"])).tasks.length, 2);
    assert.throws(
      () => plan(directory, request("acct-small", ["c1", "c2", "c3"])),
      new Rejection("account acct-small has 2 credit, the blast needs 3"),
    );
  });

  it("dead-letters malformed JSON with the reason", () => {
    const missing = fanOut(directory, new Message({ payload: '{"blast_id": "b1"}' }));
    assert.equal(deadLetterReason(missing), "payload is not a valid BlastRequest JSON document: blast request: missing field `account_id`");
    const extra = fanOut(directory, Message.json({ ...request("acct-harbor", ["c1"]), template: { subject: "s", body: "b", x: 1 } }));
    assert.match(deadLetterReason(extra), /template: unknown field `x`/);
    const ids = fanOut(directory, Message.json({ ...request("acct-harbor", []), customer_ids: [1] }));
    assert.match(deadLetterReason(ids), /field `customer_ids` must be an array of strings/);
    assert.match(deadLetterReason(fanOut(directory, new Message({ payload: "not json" }))), /^payload is not valid JSON: /);
  });

  it("refuses ambiguous blast ids and leaves out ambiguous customer ids", () => {
    assert.throws(() => plan(directory, { ...request("acct-harbor", ["c1"]), blast_id: "a/b" }), new Rejection(`invalid blast: blast_id "a/b" contains '/'`));
    const p = plan(directory, request("acct-harbor", ["c1", "", "x/y"]));
    assert.equal(p.tasks.length, 1);
    assert.deepEqual(p.invalidIds, ["", "x/y"]);
  });

  it("answers retry while the directory cannot be read or parsed", async () => {
    const missing = await listSender("/nonexistent/directory.json")(new Message({ payload: blast }));
    assert.equal(missing.outcome.kind, "retry");
    assert.match(missing.outcome.kind === "retry" ? missing.outcome.reason : "", /^cannot read directory \/nonexistent\/directory.json: ENOENT/);
    assert.throws(() => Directory.parse('{"accounts": {"a": {"name": "A", "active": true, "credit": -1}}}'), /credit` must be a non-negative integer/);
    assert.throws(() => Directory.parse('{"accounts": {}, "extra": 1}'), /unknown field `extra`/);
    assert.equal(Directory.parse('{"customers": {"c": {"name": "C", "email": "c@x"}}}').customer("c")?.active, true);
  });
});
