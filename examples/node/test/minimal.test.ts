// README.md's Node worker (src/minimal-worker.ts): the README shows this file exactly and it
// stays under 60 lines; under ferry it answers done with its log line for an order and
// dead-letters a payload that is not JSON.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, it } from "node:test";

import { EXAMPLES_DIR, FerryProc, needsFerry, program, REPO_ROOT, stopAll, tempDir, waitUntil } from "./harness.js";

it("README.md shows src/minimal-worker.ts exactly, and it is under 60 lines", () => {
  const code = readFileSync(join(EXAMPLES_DIR, "src/minimal-worker.ts"), "utf8");
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  assert.ok(readme.includes("```ts\n" + code + "```"), "README.md must show examples/node/src/minimal-worker.ts exactly; copy it over");
  assert.ok(code.split("\n").length - 1 < 60, "keep the minimal worker under 60 lines");
});

const dir = tempDir();
after(async () => {
  await stopAll();
  dir.cleanup();
});

it("the minimal worker runs beside ferry", needsFerry, async () => {
  const ferry = await FerryProc.start({ dir: dir.path, subscription: "orders", worker: [process.execPath, program("minimal-worker")] });
  const good = (await ferry.cli("publish", "--queue", "orders", "--data", '{"id": "42"}')).trim();
  const bad = (await ferry.cli("publish", "--queue", "orders", "--data", "not json")).trim();
  await waitUntil(
    "the order is done and the bad one dead-lettered",
    () => ferry.where("message.done", "ferry.message_id", good).length === 1 && ferry.where("message.dead_lettered", "ferry.message_id", bad).length === 1,
  );
  const logs = ferry.where("worker.log", "ferry.message_id", good);
  assert.deepEqual(
    logs.map((e) => [e["message"], e["log.level"]]),
    [["order 42 received", "info"]],
  );
  const dead = ferry.where("message.dead_lettered", "ferry.message_id", bad)[0];
  assert.match(String(dead?.["error.message"]), /^payload is not valid JSON: /);
});
