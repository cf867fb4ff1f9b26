// `ferry conformance` (every vector in tests/conformance) against the Node reference worker
// (build/src/conformance-worker.js) started as a real process; it must also drain and exit
// 0 on SIGTERM.

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { it } from "node:test";
import { promisify } from "node:util";

import { FERRY_BIN, ferryFreeEnv, freeAddr, needsFerry, program, REPO_ROOT, waitUntil } from "./harness.js";

it("the Node conformance worker passes every ferry conformance vector", needsFerry, async (t) => {
  assert.ok(FERRY_BIN);
  const addr = await freeAddr();
  const worker = spawn(process.execPath, [program("conformance-worker")], {
    env: ferryFreeEnv({ FERRY_WORKER_ADDR: addr }),
    stdio: ["ignore", "inherit", "inherit"],
  });
  const exited = once(worker, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  t.after(() => {
    if (worker.exitCode === null && worker.signalCode === null) worker.kill("SIGKILL");
  });
  const [host, port] = addr.split(":");
  await waitUntil(`the worker listens on ${addr}`, () => {
    return new Promise((resolve) => {
      const socket = connect(Number(port), host);
      socket.once("connect", () => resolve(socket.destroy() !== undefined));
      socket.once("error", () => resolve(false));
    });
  });

  const { stdout } = await promisify(execFile)(FERRY_BIN, ["conformance", "--worker", addr], { cwd: REPO_ROOT, env: ferryFreeEnv() });
  const vectors = readdirSync(join(REPO_ROOT, "tests/conformance")).filter((f) => f.endsWith(".json"));
  const lines = stdout.split("\n");
  const passed = lines.filter((l) => l.startsWith("PASS ")).length;
  const failed = lines.filter((l) => l.startsWith("FAIL "));
  assert.ok(vectors.length > 0);
  assert.deepEqual({ passed, failed }, { passed: vectors.length, failed: [] }, stdout);

  worker.kill("SIGTERM");
  assert.deepEqual(await exited, [0, null], "the worker drains and exits 0 on SIGTERM");
});
