// The blast flow end to end across languages: two real ferry sidecars sharing one embedded
// queue file, one supervising the Node list sender (`ferry run -- node
// build/src/blast-list-sender.js`), the other the Rust customer sender
// ($FERRY_BLAST_CUSTOMER_SENDER_BIN). The web app's side is publish-blast.js (GatewayClient
// through the list sidecar's gateway). One blast mails each customer once; a list message
// delivered again — a second copy from the web app, or the same message redelivered after
// its first sidecar stalled past the lease — publishes nothing twice (the fan-out's dedup
// ids); a lapsed account's blast is dead-lettered with its story.

import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { constants } from "node:fs";
import { open, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";

import { GatewayClient } from "@ferry/sdk";

import { type ActivityRecord, type OutboxRecord, readLedger } from "../src/blast/ledger.js";
import { CUSTOMER_QUEUE, LIST_QUEUE } from "../src/blast/messages.js";
import { binFromEnv, FERRY_BIN, FerryProc, freeAddr, program, REPO_ROOT, stopAll, tempDir, waitUntil } from "./harness.js";

const CUSTOMER_SENDER_ENV = "FERRY_BLAST_CUSTOMER_SENDER_BIN";
const customerSender = binFromEnv(CUSTOMER_SENDER_ENV);
const data = (file: string): string => join(REPO_ROOT, "examples/rust/blast/data", file);
const skip =
  FERRY_BIN === undefined || customerSender === undefined
    ? { skip: `FERRY_BIN and ${CUSTOMER_SENDER_ENV} must be set (cargo build -p ferry -p ferry-blast; see scripts/test.sh)` }
    : {};

/** The `ferry queue stats --json` row of `queue`. */
async function queueStats(ferry: FerryProc, queue: string): Promise<Record<string, unknown>> {
  const rows = (await ferry.cli("queue", "stats", "--json"))
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const row = rows.find((r) => r["queue"] === queue);
  assert.ok(row, `no stats row for ${queue}: ${JSON.stringify(rows)}`);
  return row;
}

describe("blast: Node list sender and Rust customer sender under ferry", skip, () => {
  const dir = tempDir();
  const outbox = join(dir.path, "outbox.jsonl");
  const activities = join(dir.path, "activities.jsonl");
  const blastFile = data("blast.json");
  let lists: FerryProc;
  let customers: FerryProc;
  let gateway: GatewayClient;
  let firstBlast = "";

  before(async () => {
    const db = join(dir.path, "ferry.db");
    const env = { BLAST_DATA: data("directory.json"), BLAST_OUTBOX: outbox, BLAST_ACTIVITIES: activities };
    const gatewayAddr = await freeAddr();
    lists = await FerryProc.start({
      dir: dir.path,
      db,
      subscription: LIST_QUEUE,
      worker: [process.execPath, program("blast-list-sender")],
      env,
      gateway: gatewayAddr,
      subscriptionToml: "max_in_flight_per_realm = 1",
    });
    customers = await FerryProc.start({
      dir: dir.path,
      db,
      subscription: CUSTOMER_QUEUE,
      worker: [customerSender ?? ""],
      env,
      subscriptionToml: "max_in_flight_per_realm = 4",
    });
    gateway = new GatewayClient(gatewayAddr);
    // The web app: one message per blast, through the sidecar's gateway.
    const { stdout } = await promisify(execFile)(process.execPath, [program("publish-blast"), blastFile], {
      env: { ...process.env, FERRY_GATEWAY_ADDR: `http://${gatewayAddr}` },
    });
    firstBlast = stdout.trim();
  });

  after(async () => {
    gateway.close();
    await stopAll();
    dir.cleanup();
  });

  /** The ids the list sidecar published for list message `id`, in order. */
  const fannedOut = (id: string): { id: unknown; dedup: unknown }[] =>
    lists.where("message.published", "ferry.message_id", id).map((e) => ({ id: e["ferry.published_id"], dedup: e["ferry.dedup_id"] }));

  it("mails each customer of one blast once, and skips the ones that may not be mailed", async () => {
    await waitUntil("the list message is done", () => lists.where("message.done", "ferry.message_id", firstBlast).length === 1);
    const log = lists.where("worker.log", "ferry.message_id", firstBlast);
    assert.equal(log.length, 1);
    assert.equal(log[0]?.["message"], "blast storm-2024-09 of account acct-harbor: 10 customers queued (13 ids, 3 duplicates, 0 invalid)");
    assert.equal(log[0]?.["labels.queued"], "10");
    const published = fannedOut(firstBlast);
    assert.equal(published.length, 10, "one follow-up per distinct customer");
    assert.equal(published[0]?.dedup, "blast/storm-2024-09/customer/cust-001");

    await waitUntil("the Rust customer sender settled all 10 tasks", () => customers.where("message.done").length === 10);
    const mails = await readLedger<OutboxRecord>(outbox);
    const keys = new Set(mails.map((m) => m.key));
    assert.equal(mails.length, 7, "10 customers minus the inactive, opted-out and invalid-address ones");
    assert.equal(keys.size, mails.length, "no customer mailed twice");
    for (const skipped of ["cust-004", "cust-005", "cust-006"]) {
      assert.equal(keys.has(`blast/storm-2024-09/customer/${skipped}`), false, `${skipped} was mailed`);
    }
    const ann = mails.find((m) => m.key === "blast/storm-2024-09/customer/cust-001");
    assert.equal(ann?.to, "ann.lee@example.com");
    assert.equal(ann?.subject, "Ann Lee, our storm hotline is open");
    assert.ok(ann?.body.startsWith("Dear Ann Lee,\n\n"), "the template is rendered per customer");
    assert.equal(ann?.account_id, "acct-harbor");
    const acts = await readLedger<ActivityRecord>(activities);
    assert.deepEqual(acts.map((a) => a.key).sort(), [...keys].sort(), "one activity per mail");
    assert.ok(acts.every((a) => a.action === "blast.mail_sent" && a.blast_id === "storm-2024-09"));
  });

  it("publishes nothing twice when the web app sends the same blast again", async () => {
    const before = customers.where("message.done").length;
    const [again] = await gateway.publish([{ destination: LIST_QUEUE, payload: await readBlast(), realm: "acct-harbor" }]);
    assert.ok(again !== undefined && again !== firstBlast);
    await waitUntil("the second delivery is done", () => lists.where("message.done", "ferry.message_id", again).length === 1);
    // The second fan-out carried the same dedup ids, so the queue dropped every copy and
    // reported the originals' ids.
    assert.deepEqual(fannedOut(again), fannedOut(firstBlast));
    const stats = await queueStats(customers, CUSTOMER_QUEUE);
    assert.deepEqual(
      { ready: stats["ready"], in_flight: stats["in_flight"], delayed: stats["delayed"], dead: stats["dead"] },
      { ready: 0, in_flight: 0, delayed: 0, dead: 0 },
      "no customer task waits or runs",
    );
    assert.equal(customers.where("message.done").length, before, "no new customer task was delivered");
    assert.equal((await readLedger<OutboxRecord>(outbox)).length, 7, "the outbox is unchanged");
  });

  it("dead-letters a lapsed account's blast with its story", async () => {
    const lapsedText = await readBlast("blast-lapsed-account.json");
    const [lapsed] = await gateway.publish([{ destination: LIST_QUEUE, payload: lapsedText, realm: "acct-lapsed" }]);
    await waitUntil("the lapsed blast is dead-lettered", () => lists.where("message.dead_lettered", "ferry.message_id", lapsed).length === 1);
    const letters = (await lists.cli("dlq", "list", "--json"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { payload: string; attributes: Record<string, string> });
    const letter = letters.find((l) => l.attributes["ferry.dlq.message_id"] === lapsed);
    assert.ok(letter, `the lapsed blast is in \`ferry dlq list\`: ${JSON.stringify(letters)}`);
    assert.equal(letter.payload, lapsedText);
    const story = letter.attributes;
    assert.equal(story["ferry.dlq.last_error"], "account acct-lapsed is not active");
    assert.equal(story["ferry.dlq.reason"], "worker");
    assert.equal(story["ferry.dlq.attempts"], "1");
    assert.equal(story["ferry.dlq.source_queue"], LIST_QUEUE);
    assert.equal(fannedOut(lapsed ?? "").length, 0, "a refused blast fans out nothing");
    assert.equal((await readLedger<OutboxRecord>(outbox)).length, 7);
  });

  const readBlast = (file = "blast.json"): Promise<string> => readFile(data(file), "utf8");
});

describe("blast: a list message redelivered after its sidecar stalled", skip, () => {
  const dir = tempDir();
  const outbox = join(dir.path, "outbox.jsonl");
  const fifo = join(dir.path, "directory.fifo");
  const directoryText = readFile(data("directory.json"), "utf8");

  after(async () => {
    // If the test failed while the first worker waits on the pipe, let it read and finish.
    await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).then(
      async (pipe) => {
        await pipe.writeFile(await directoryText);
        await pipe.close();
      },
      () => undefined,
    );
    await stopAll();
    dir.cleanup();
  });

  it("handles it twice and publishes its fan-out once", async () => {
    // The first sidecar's list sender reads its directory from a named pipe, so it stays
    // inside the handler until the test writes the directory there.
    execFileSync("mkfifo", [fifo]);
    const db = join(dir.path, "ferry.db");
    const env = { BLAST_OUTBOX: outbox, BLAST_ACTIVITIES: join(dir.path, "activities.jsonl") };
    const directory = data("directory.json");
    const lists = (name: string, dataFile: string, gateway?: string): Promise<FerryProc> =>
      FerryProc.start({
        dir: dir.path,
        db,
        subscription: LIST_QUEUE,
        configName: name,
        worker: [process.execPath, program("blast-list-sender")],
        env: { ...env, BLAST_DATA: dataFile },
        subscriptionToml: 'lease = "1s"',
        ...(gateway !== undefined && { gateway }),
      });
    const customers = await FerryProc.start({
      dir: dir.path,
      db,
      subscription: CUSTOMER_QUEUE,
      worker: [customerSender ?? ""],
      env: { ...env, BLAST_DATA: directory },
    });
    const gatewayAddr = await freeAddr();
    const first = await lists("first", fifo, gatewayAddr);
    const gateway = new GatewayClient(gatewayAddr);
    let id: string | undefined;
    try {
      [id] = await gateway.publish([{ destination: LIST_QUEUE, payload: await readFile(data("blast.json")), realm: "acct-harbor" }]);
    } finally {
      gateway.close();
    }
    assert.ok(id !== undefined);
    await waitUntil("the first sidecar delivered the list message", () => first.where("message.received", "ferry.message_id", id).length === 1);

    // The first sidecar stalls (its worker still waits on the pipe): the lease runs out and
    // a second sidecar gets the same message again, attempt 2, and fans it out.
    first.pause();
    const second = await lists("second", directory);
    await waitUntil("the second sidecar handled the redelivery", () => second.where("message.done", "ferry.message_id", id).length === 1);
    assert.equal(second.where("message.received", "ferry.message_id", id)[0]?.["ferry.attempt"], 2);
    const fanOut = (f: FerryProc): unknown[] => f.where("message.published", "ferry.message_id", id).map((e) => e["ferry.published_id"]);
    assert.equal(fanOut(second).length, 10);

    // The first sidecar wakes up; its worker reads the directory and answers done with the
    // same fan-out, which ferry publishes before its ack (which fails: the lease is gone).
    first.resume();
    await writeFile(fifo, await directoryText);
    await waitUntil("the first sidecar published its fan-out too", () => fanOut(first).length === 10);
    assert.deepEqual(fanOut(first), fanOut(second), "every copy was dropped as a duplicate: the original ids came back");
    await waitUntil("the first sidecar's ack failed", () =>
      first.where("message.settle_failed", "ferry.message_id", id).some((e) => e["ferry.operation"] === "ack"),
    );
    assert.equal(first.where("message.done", "ferry.message_id", id).length, 0);

    await waitUntil("the customer sender settled the 10 tasks", () => customers.where("message.done").length === 10);
    const stats = await queueStats(customers, CUSTOMER_QUEUE);
    assert.deepEqual([stats["ready"], stats["in_flight"], stats["delayed"]], [0, 0, 0], "no customer task is left");
    assert.equal(customers.where("message.done").length, 10, "each customer task existed once");
    const mails = await readLedger<OutboxRecord>(outbox);
    assert.equal(mails.length, 7);
    assert.equal(new Set(mails.map((m) => m.key)).size, 7, "no customer mailed twice");
  });
});
