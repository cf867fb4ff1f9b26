// noop-worker: the Node side of `ferry-bench --worker node`. Answers done at once and
// remembers when each message's Handle started; once FERRY_BENCH_MESSAGES distinct
// messages have been seen it writes `{ "<message id>": <start, ms since the epoch> }` to
// FERRY_BENCH_STARTS (written to a temporary name, then renamed, so the file appears
// whole), which is how the benchmark knows the run is over.

import { renameSync, writeFileSync } from "node:fs";

import { done, serve } from "@ferry/sdk";

const expected = Number(process.env["FERRY_BENCH_MESSAGES"] ?? "0");
const output = process.env["FERRY_BENCH_STARTS"];
const starts = new Map<string, number>();

await serve((msg) => {
  if (!starts.has(msg.id)) {
    starts.set(msg.id, Date.now());
    if (output !== undefined && starts.size === expected) {
      writeFileSync(`${output}.tmp`, JSON.stringify(Object.fromEntries(starts)));
      renameSync(`${output}.tmp`, output);
    }
  }
  return done();
});
