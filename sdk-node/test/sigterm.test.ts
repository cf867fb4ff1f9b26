// SIGTERM drains a real worker process (test/fixtures/held-worker.ts under serve()): health
// flips to NOT_SERVING, new calls are refused with UNAVAILABLE, the call in flight still
// gets its answer, and then the process exits 0 by itself.

import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { after, it } from "node:test";

import { Code, ConnectError } from "@connectrpc/connect";

import { HealthCheckResponse_ServingStatus as Status } from "../src/gen/grpc/health/v1/health_pb.js";
import { connect, eventually, request } from "./support.js";

const fixture = fileURLToPath(new URL("./fixtures/held-worker.js", import.meta.url));
const children: ChildProcessWithoutNullStreams[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

async function freeAddress(): Promise<string> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  assert.ok(address !== null && typeof address === "object");
  return `127.0.0.1:${address.port}`;
}

it("SIGTERM flips health, refuses new calls, finishes the call in flight, then exits 0", async () => {
  const address = await freeAddress();
  const child = spawn(process.execPath, [fixture], { env: { ...process.env, FERRY_WORKER_ADDR: address } });
  children.push(child);
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  const client = connect(address);
  try {
    const status = async (): Promise<Status | undefined> =>
      client.health.check({ service: "ferry.v1.WorkerService" }).then(
        (r) => r.status,
        () => undefined,
      );
    await eventually(`the worker serves on ${address} (stderr: ${stderr})`, async () => (await status()) === Status.SERVING);

    const first = client.worker.handle(request({ messageId: "m-1" }));
    await eventually("the handler started", () => stdout.includes("started m-1\n"));
    child.kill("SIGTERM");
    await eventually("health reports NOT_SERVING", async () => (await status()) === Status.NOT_SERVING);
    assert.equal((await client.health.check({ service: "" })).status, Status.NOT_SERVING);
    await assert.rejects(
      client.worker.handle(request({ messageId: "m-2" })),
      (err) => ConnectError.from(err).code === Code.Unavailable,
    );
    assert.equal(stdout.includes("started m-2"), false, "a refused call never reaches the handler");
    assert.equal(child.exitCode, null, "still running while a call is in flight");

    child.stdin.write("release m-1\n");
    const response = await first;
    assert.equal(response.outcome.case, "done");
    assert.equal(response.logs[0]?.message, "released m-1");
    const [code, signal] = await exited;
    assert.deepEqual({ code, signal, stderr }, { code: 0, signal: null, stderr: "" });
    assert.ok(stdout.endsWith("drained\n"), stdout);
  } finally {
    client.close();
  }
});
