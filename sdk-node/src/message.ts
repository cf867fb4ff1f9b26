// Message: one delivery of one queue message as a handler sees it — the payload as bytes
// with text() / json() helpers, the attributes, the ids and counters, the trace context,
// and the deadline both as a Date and as an AbortSignal that fires when it passes.

/** W3C trace context carried with a message. */
export interface TraceContext {
  /** `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`; empty when unknown. */
  readonly traceparent: string;
  /** Vendor trace state, passed through unchanged; empty when absent. */
  readonly tracestate: string;
}

/** A payload that is not UTF-8 text or not JSON. Dead-letter it: it can never succeed. */
export class PayloadError extends Error {
  override readonly name = "PayloadError";
}

/** What a message is made of; every field but `payload` has a default (for tests). */
export interface MessageInit {
  /** The body; a string is taken as UTF-8. Default: empty. */
  payload?: Uint8Array | string;
  attributes?: Readonly<Record<string, string>>;
  id?: string;
  /** Default 1. */
  attempt?: number;
  /** Default 1. */
  maxAttempts?: number;
  realm?: string;
  subscription?: string;
  queue?: string;
  trace?: TraceContext;
  deadline?: Date;
  publishedAt?: Date;
  /** Aborted when the handler must stop; default: never. */
  signal?: AbortSignal;
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** One delivery of one message, handed to the handler. */
export class Message {
  /** The body exactly as published. */
  readonly payload: Uint8Array;
  /** All broker attributes (ferry's own `ferry.*` bookkeeping attributes are removed). */
  readonly attributes: Readonly<Record<string, string>>;
  /** The broker's message id: stable across redeliveries of the same message. */
  readonly id: string;
  /** The delivery attempt, starting at 1. */
  readonly attempt: number;
  /** The subscription's `max_attempts` (0 when unknown). */
  readonly maxAttempts: number;
  /** The tenant key from the subscription's realm attribute; undefined when none. */
  readonly realm: string | undefined;
  /** The ferry subscription the delivery comes from. */
  readonly subscription: string;
  /** The queue (or Pub/Sub subscription) the message was received from. */
  readonly queue: string;
  /** W3C trace context of the message. */
  readonly trace: TraceContext;
  /** When ferry stops waiting for the answer; undefined when ferry set none. */
  readonly deadline: Date | undefined;
  /** When the message was first published, as reported by the broker. */
  readonly publishedAt: Date | undefined;
  /**
   * Aborted at the deadline (and when ferry cancels the call). Pass it to `fetch`, timers
   * and clients so that their work stops with the handler; the SDK answers retry for a
   * handler still running then.
   */
  readonly signal: AbortSignal;

  constructor(init: MessageInit = {}) {
    const payload = init.payload ?? new Uint8Array();
    this.payload = typeof payload === "string" ? utf8.encode(payload) : payload;
    this.attributes = Object.freeze(Object.assign(Object.create(null), init.attributes ?? {}));
    this.id = init.id ?? "";
    this.attempt = init.attempt ?? 1;
    this.maxAttempts = init.maxAttempts ?? 1;
    this.realm = init.realm === "" ? undefined : init.realm;
    this.subscription = init.subscription ?? "";
    this.queue = init.queue ?? "";
    this.trace = Object.freeze({ traceparent: "", tracestate: "", ...init.trace });
    this.deadline = init.deadline;
    this.publishedAt = init.publishedAt;
    this.signal = init.signal ?? new AbortController().signal;
  }

  /** A message whose payload is `value` as JSON (for tests). */
  static json(value: unknown, init: Omit<MessageInit, "payload"> = {}): Message {
    return new Message({ ...init, payload: JSON.stringify(value) });
  }

  /** The payload as UTF-8 text; throws a `PayloadError` when it is not valid UTF-8. */
  text(): string {
    try {
      return strictUtf8.decode(this.payload);
    } catch {
      throw new PayloadError("payload is not valid UTF-8 text");
    }
  }

  /**
   * The payload parsed as JSON. Throws a `PayloadError` (`payload is not valid JSON: ...`)
   * when it does not parse — usually answered with `deadLetter(err.message)`. The type
   * parameter is not checked: validate the shape before trusting it.
   */
  json<T = unknown>(): T {
    const text = this.text();
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new PayloadError(`payload is not valid JSON: ${(err as Error).message}`);
    }
  }

  /** An attribute's value. */
  attribute(key: string): string | undefined {
    return Object.hasOwn(this.attributes, key) ? this.attributes[key] : undefined;
  }

  /** True when a retry answer will dead-letter the message instead (attempt ≥ max attempts > 0). */
  get isLastAttempt(): boolean {
    return this.maxAttempts > 0 && this.attempt >= this.maxAttempts;
  }

  /** The 32-hex-digit trace id from `traceparent`, or undefined when it is malformed. */
  get traceId(): string | undefined {
    const id = this.trace.traceparent.split("-")[1];
    return id !== undefined && /^[0-9a-f]{32}$/i.test(id) && /[^0]/.test(id) ? id : undefined;
  }

  /** Milliseconds left until the deadline (0 once passed); undefined without a deadline. */
  timeLeftMs(): number | undefined {
    return this.deadline === undefined ? undefined : Math.max(0, this.deadline.getTime() - Date.now());
  }
}
