// noop-worker: the Node side of `ferry-bench --worker node`. Answers done at once and
// remembers when each message's Handle started; once NOOP_WORKER_MESSAGES distinct
// messages have been seen it writes `{ "<message id>": <start in fractional ms since the
// epoch> }` to NOOP_WORKER_STARTS (to a temporary name, then renamed, so the file appears
// whole), which is how the benchmark knows the run is over. (Not FERRY_* names: ferry
// reads those as config overrides.)

import { renameSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

import { done, serve } from "@ferry/sdk";

const expected = Number(process.env["NOOP_WORKER_MESSAGES"] ?? "0");
const output = process.env["NOOP_WORKER_STARTS"];
const starts = new Map<string, number>();

await serve((msg) => {
  if (!starts.has(msg.id)) {
    starts.set(msg.id, performance.timeOrigin + performance.now());
    if (output !== undefined && starts.size === expected) {
      writeFileSync(`${output}.tmp`, JSON.stringify(Object.fromEntries(starts)));
      renameSync(`${output}.tmp`, output);
    }
  }
  return done();
});
