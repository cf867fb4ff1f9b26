// Reply: what a handler answers — done(), retry({ reason, delayMs }) or deadLetter(reason) —
// with the follow-up messages to publish (.publish) and the log lines ferry writes in the
// standard shape, tagged with the message's context (.log).

import { type Outgoing, type Publication, publication } from "./outgoing.js";

/** Severity of a log line. */
export type Level = "debug" | "info" | "warn" | "error";

/** Values a log field may have; written as text under `labels.*`. */
export type FieldValue = string | number | boolean | bigint;

/** A structured log line. */
export interface LogEntry {
  readonly level: Level;
  readonly message: string;
  /** Extra fields (keys: letters, digits, `_`, `.`, `-`). */
  readonly fields: Readonly<Record<string, string>>;
  readonly time: Date;
}

/** What happens to the message. */
export type Outcome =
  | { readonly kind: "done" }
  | { readonly kind: "retry"; readonly reason: string; readonly delayMs: number | undefined }
  | { readonly kind: "deadLetter"; readonly reason: string };

/** How to retry: why, and optionally how long to wait (capped by the subscription's `backoff.max`). */
export interface RetryOptions {
  reason: string;
  /** Wait this long before the next attempt; unset uses the subscription's backoff. */
  delayMs?: number | undefined;
}

const LEVELS: ReadonlySet<string> = new Set(["debug", "info", "warn", "error"]);

/** A log line written now. Throws a `TypeError` for an unknown level. */
export function logEntry(level: Level, message: string, fields: Readonly<Record<string, FieldValue>> = {}): LogEntry {
  if (!LEVELS.has(level)) throw new TypeError(`log level must be debug, info, warn or error, got ${String(level)}`);
  const text: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) text[key] = String(value);
  return Object.freeze({ level, message: String(message), fields: Object.freeze(text), time: new Date() });
}

/** A handler's answer; build one with `done()`, `retry(...)` or `deadLetter(...)`. */
export class Reply {
  readonly outcome: Outcome;
  readonly #published: Publication[] = [];
  readonly #logs: LogEntry[] = [];

  private constructor(outcome: Outcome) {
    this.outcome = Object.freeze(outcome);
  }

  /** @internal */
  static of(outcome: Outcome): Reply {
    return new Reply(outcome);
  }

  /**
   * Publishes these messages when the reply is done, before ferry acks the input (nothing is
   * published for retry or dead-letter). Throws a `TypeError` for a malformed message.
   */
  publish(...messages: Outgoing[]): this {
    for (const message of messages) this.#published.push(publication(message));
    return this;
  }

  /** Adds a log line; `fields` are written under `labels.*`. */
  log(level: Level, message: string, fields?: Readonly<Record<string, FieldValue>>): this {
    this.#logs.push(logEntry(level, message, fields));
    return this;
  }

  /** The messages to publish. */
  get published(): readonly Publication[] {
    return this.#published;
  }

  /** The log lines. */
  get logs(): readonly LogEntry[] {
    return this.#logs;
  }

  /** True for done. */
  get isDone(): boolean {
    return this.outcome.kind === "done";
  }
}

/** The message was processed: ferry publishes the reply's messages, then acks it. */
export function done(): Reply {
  return Reply.of({ kind: "done" });
}

/**
 * The message should be tried again — after `delayMs` if given, else after the
 * subscription's backoff. On the last attempt ferry dead-letters it instead.
 */
export function retry(options: RetryOptions | string): Reply {
  const { reason, delayMs } = typeof options === "string" ? { reason: options, delayMs: undefined } : options;
  if (delayMs !== undefined && !(Number.isFinite(delayMs) && delayMs >= 0)) {
    throw new TypeError(`retry delayMs must be a non-negative number, got ${String(delayMs)}`);
  }
  return Reply.of({ kind: "retry", reason: String(reason), delayMs });
}

/** The message can never be processed (poison, invalid): ferry moves it to the error queue now. */
export function deadLetter(reason: string): Reply {
  return Reply.of({ kind: "deadLetter", reason: String(reason) });
}
