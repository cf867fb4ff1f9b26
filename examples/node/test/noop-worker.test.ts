// The benchmark's Node no-op worker under ferry: every message done, and once the expected
// number of distinct messages was handled, the start-times file lists exactly their ids.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, it } from "node:test";

import { FerryProc, needsFerry, program, stopAll, tempDir, waitUntil } from "./harness.js";

const dir = tempDir();
after(async () => {
  await stopAll();
  dir.cleanup();
});

it("the no-op worker answers done and writes the start times of the expected messages", needsFerry, async () => {
  const starts = join(dir.path, "starts.json");
  const ferry = await FerryProc.start({
    dir: dir.path,
    subscription: "bench",
    worker: [process.execPath, program("noop-worker")],
    env: { NOOP_WORKER_MESSAGES: "3", NOOP_WORKER_STARTS: starts },
  });
  const ids: string[] = [];
  for (const data of ["a", "b", "c"]) ids.push((await ferry.cli("publish", "--queue", "bench", "--data", data)).trim());
  await waitUntil("every message is done", () => ids.every((id) => ferry.where("message.done", "ferry.message_id", id).length === 1));
  await waitUntil("the start-times file is written", () => existsSync(starts));
  const written = JSON.parse(readFileSync(starts, "utf8")) as Record<string, number>;
  assert.deepEqual(Object.keys(written).sort(), [...ids].sort());
  // Milliseconds since the epoch (after 2001, before 5138), not seconds or a monotonic clock.
  assert.ok(Object.values(written).every((ms) => ms > 1e12 && ms < 1e14), JSON.stringify(written));
});
