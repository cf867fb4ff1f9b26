// The real parts of a console browser test: `ferry console`, ferry sidecars reporting to
// it, the recording worker they all call, and a headless Debian chromium. Every process
// listens on 127.0.0.1 on a free port and is stopped by `stopAll()`.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

export const root = resolve(import.meta.dirname, "../..");
export const ferryBin = process.env.FERRY_BIN || join(root, "target/debug/ferry");
export const workerBin = process.env.FERRY_RECORDING_WORKER_BIN || join(root, "target/debug/recording-worker");
export const token = "console-browser-test-token-0123";

const children = [];

/** Polls `cond` every 50 ms until it returns a truthy value (returned), or fails after `ms`. */
export async function eventually(cond, what, ms = 30000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`not true within ${ms} ms: ${what}${last ? ` (last error: ${last.message})` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `bin args`, keeping its output; resolves once `ready(line)` matches a line. */
export function start(name, bin, args, { env = {}, ready } = {}) {
  const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const proc = { name, child, lines: [], stderr: "" };
  children.push(proc);
  let buf = "";
  child.stdout.on("data", (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      proc.lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr.on("data", (d) => (proc.stderr += d));
  proc.exited = new Promise((r) => child.on("exit", (code) => r(code)));
  if (!ready) return Promise.resolve(proc);
  return eventually(() => {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${proc.stderr}`);
    return ready(proc) && proc;
  }, `${name} ready`);
}

/** The JSON events a ferry wrote on stdout. */
export const events = (proc) => proc.lines.flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } });

export async function stopAll() {
  for (const p of children.splice(0)) {
    if (p.child.exitCode === null) {
      p.child.kill("SIGTERM");
      const t = setTimeout(() => p.child.kill("SIGKILL"), 10000);
      await p.exited;
      clearTimeout(t);
    }
  }
}

export function tempDir() {
  return mkdtempSync(join(tmpdir(), "ferry-console-test-"));
}

/** The console's API at `base`, with the token (and the CSRF header on changes). */
export function client(base) {
  return async (path, method = "GET", body) => {
    const headers = { Authorization: `Bearer ${token}` };
    if (method !== "GET") Object.assign(headers, { "X-Ferry-Csrf": "1", "Content-Type": "application/json", "X-Ferry-Actor": "browser-test" });
    const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
    return data;
  };
}

/** Starts `ferry console` on `config` (TOML text); returns its base URL and process. */
export async function startConsole(dir, config) {
  const path = join(dir, "console.toml");
  writeFileSync(path, config);
  const proc = await start("console", ferryBin, ["console", "--config", path], {
    ready: (p) => /ferry console: (http:\/\/\S+)\//.test(p.stderr),
  });
  const base = proc.stderr.match(/ferry console: (http:\/\/\S+)\//)[1];
  return { proc, base };
}

/** Starts the recording worker; returns its address and a reader of its record. */
export async function startWorker(dir) {
  const file = join(dir, "record.jsonl");
  const proc = await start("worker", workerBin, [], { env: { RECORD_FILE: file }, ready: (p) => p.lines.some((l) => l.startsWith("listening on ")) });
  const addr = proc.lines.find((l) => l.startsWith("listening on ")).slice("listening on ".length);
  const record = () => (existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : []);
  return { proc, addr, record };
}

/** Starts a sidecar (`ferry run`) with `backend` (TOML) and `subs` (TOML), reporting to `consoleUrl`. */
export async function startSidecar(dir, name, { workerAddr, backend, subs, consoleUrl }) {
  const path = join(dir, `${name}.toml`);
  writeFileSync(path, `service = "${name}"
[worker]
address = "http://${workerAddr}"
health_interval = "200ms"
[gateway]
listen = "127.0.0.1:0"
[admin]
listen = "127.0.0.1:0"
${backend}
[console]
url = "${consoleUrl}"
token = "${token}"
heartbeat_interval = "250ms"
paused_realm_delay = "300ms"
${subs}
`);
  return start(name, ferryBin, ["run", "--config", path], { ready: (p) => events(p).some((e) => e["event.action"] === "ferry.started") });
}

/** Creates SQS queues on ElasticMQ at `endpoint`. */
export async function createSqsQueues(endpoint, names) {
  for (const name of names) {
    const res = await fetch(endpoint + "/", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `Action=CreateQueue&QueueName=${encodeURIComponent(name)}`,
    });
    if (!res.ok) throw new Error(`CreateQueue ${name}: ${res.status} ${await res.text()}`);
  }
}

/** Headless Debian chromium with a fresh profile. */
export async function browser(dir) {
  return chromium.launchPersistentContext(join(dir, "chromium-profile"), {
    executablePath: process.env.FERRY_TEST_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
    viewport: { width: 1400, height: 900 },
  });
}
