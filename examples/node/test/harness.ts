// End-to-end harness, the Node twin of examples/go/e2e/harness_test.go: runs the real ferry
// binary ($FERRY_BIN, built by `cargo build -p ferry`; scripts/test.sh sets it) on the
// embedded backend with a worker as its child (`ferry run --config ... -- node ...`),
// collects its JSON events, runs its CLI, and stops it (SIGTERM, drain) when a test ends.
// Without FERRY_BIN the end-to-end tests are skipped, and only then.

import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** The examples/node folder. */
export const EXAMPLES_DIR = resolve(fileURLToPath(new URL("../..", import.meta.url)));
/** The repository root. */
export const REPO_ROOT = resolve(EXAMPLES_DIR, "../..");
/** A compiled program of examples/node (`build/src/<name>.js`). */
export const program = (name: string): string => join(EXAMPLES_DIR, "build", "src", `${name}.js`);

/** How long a condition may take to become true. */
export const EVENTUALLY_MS = 30_000;

/** The ferry binary, or undefined when FERRY_BIN is unset (the tests are then skipped). */
export const FERRY_BIN = process.env["FERRY_BIN"] || undefined;

/** `skip` option for end-to-end tests: a reason when FERRY_BIN is unset. */
export const needsFerry = FERRY_BIN
  ? {}
  : { skip: "FERRY_BIN is not set: build ferry (cargo build -p ferry) and set FERRY_BIN=target/debug/ferry" };

/** The binary named by environment variable `name` (checked to exist), or undefined when it is unset. */
export function binFromEnv(name: string): string | undefined {
  const bin = process.env[name] || undefined;
  if (bin !== undefined) assert.ok(existsSync(bin), `${name}=${bin} does not exist`);
  return bin;
}

/** Polls `cond` every 25 ms until it is true; throws naming `what` after EVENTUALLY_MS. */
export async function waitUntil(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + EVENTUALLY_MS;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`not true within ${EVENTUALLY_MS} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A 127.0.0.1 address with a port that was free a moment ago. */
export async function freeAddr(): Promise<string> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  assert.ok(address !== null && typeof address === "object");
  return `127.0.0.1:${address.port}`;
}

/** A temporary folder removed by `cleanup()`. */
export function tempDir(): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), "ferry-node-e2e-"));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** This process's environment without FERRY_* variables (ferry reads FERRY_<KEY> as config overrides). */
export function ferryFreeEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("FERRY_")) env[key] = value;
  return { ...env, ...extra };
}

/** One of ferry's JSON events. */
export type FerryEvent = Readonly<Record<string, unknown>>;

/** What a ferry sidecar runs. */
export interface FerryOptions {
  /** Folder for the config (and the queue database unless `db` is given). */
  dir: string;
  /** The subscription, consuming the queue of the same name. */
  subscription: string;
  /** The config file's name in `dir` (default: the subscription's), for two sidecars of one subscription. */
  configName?: string;
  /** The worker command, started by `ferry run -- ...`. */
  worker: readonly string[];
  /** Extra environment for ferry and so for the worker. */
  env?: Readonly<Record<string, string>>;
  /** The embedded queue file, to share one queue between sidecars. */
  db?: string;
  /** Extra lines for the subscription's table. */
  subscriptionToml?: string;
  /** Where the gateway listens (default: any free port). */
  gateway?: string;
}

/** A running `ferry run` with its worker child. */
export class FerryProc {
  readonly events: FerryEvent[] = [];
  stderr = "";
  readonly #child: ChildProcess;
  readonly #exited: Promise<[number | null, NodeJS.Signals | null]>;
  #stopping: Promise<void> | undefined;

  private constructor(
    readonly config: string,
    child: ChildProcess,
  ) {
    this.#child = child;
    this.#exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    child.stderr?.on("data", (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    if (child.stdout) {
      createInterface({ input: child.stdout }).on("line", (line) => {
        try {
          this.events.push(JSON.parse(line) as FerryEvent);
        } catch {
          // Not an event.
        }
      });
    }
  }

  /**
   * Writes a config (embedded backend, fast retries, every port chosen here or by the OS)
   * and starts ferry with the worker as its child; resolves once ferry reports the worker
   * serving. Stop it with `stop()` (tests do so in their `after` hook).
   */
  static async start(options: FerryOptions): Promise<FerryProc> {
    assert.ok(FERRY_BIN, "FERRY_BIN is not set");
    const config = join(options.dir, `${options.configName ?? options.subscription}.toml`);
    const db = options.db ?? join(options.dir, "ferry.db");
    writeFileSync(
      config,
      `service = "node-e2e-${options.subscription}"
[worker]
address = "http://${await freeAddr()}"
health_interval = "200ms"
stop_timeout = "5s"
[gateway]
listen = "${options.gateway ?? "127.0.0.1:0"}"
[admin]
listen = "127.0.0.1:0"
[backend.embedded]
path = ${JSON.stringify(db)}
poll_interval = "50ms"
[subscriptions.${options.subscription}]
max_attempts = 3
backoff = { min = "50ms", max = "200ms" }
receive_wait = "200ms"
${options.subscriptionToml ?? ""}
`,
    );
    const child = spawn(FERRY_BIN, ["run", "--config", config, "--", ...options.worker], {
      cwd: REPO_ROOT,
      env: ferryFreeEnv(options.env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const ferry = new FerryProc(config, child);
    running.add(ferry);
    await waitUntil("the worker is serving (worker.health event)", () => ferry.exited || ferry.where("worker.health", "ferry.worker.serving", true).length > 0);
    if (ferry.exited) throw new Error(`ferry exited at start-up:\n${ferry.stderr}`);
    return ferry;
  }

  /** True once the ferry process has exited. */
  get exited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  /** The events with this `event.action` whose `key` equals `value` (all of the action without a key). */
  where(action: string, key?: string, value?: unknown): FerryEvent[] {
    return this.events.filter((e) => e["event.action"] === action && (key === undefined || e[key] === value));
  }

  /** Runs `ferry <args> --config <config>` and returns its stdout; rejects on failure. */
  async cli(...args: string[]): Promise<string> {
    assert.ok(FERRY_BIN);
    const { stdout } = await promisify(execFile)(FERRY_BIN, [...args, "--config", this.config], {
      cwd: REPO_ROOT,
      env: ferryFreeEnv(),
      timeout: EVENTUALLY_MS,
      maxBuffer: 64 << 20,
    });
    return stdout;
  }

  /** Freezes the ferry process (SIGSTOP): it extends no lease and settles nothing until `resume()`. */
  pause(): void {
    this.#child.kill("SIGSTOP");
  }

  /** Lets a paused ferry run on (SIGCONT). */
  resume(): void {
    this.#child.kill("SIGCONT");
  }

  /** Sends SIGTERM and waits for ferry to drain and exit (it stops the worker); SIGKILL after EVENTUALLY_MS. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      running.delete(this);
      if (this.exited) return;
      this.resume();
      this.#child.kill("SIGTERM");
      const timer = setTimeout(() => this.#child.kill("SIGKILL"), EVENTUALLY_MS);
      const [code, signal] = await this.#exited;
      clearTimeout(timer);
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, `ferry did not exit cleanly after SIGTERM:\n${this.stderr}`);
    })();
    return this.#stopping;
  }
}

const running = new Set<FerryProc>();

/** Stops every ferry still running (for `after` hooks). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((f) => f.stop()));
}
