// Outgoing messages: what a handler's reply publishes, or what GatewayClient.publish sends.
// `Outgoing` is what callers write (payload as bytes, text or a JSON value); `Publication`
// is the checked form the SDK keeps and sends, with the payload as bytes.

/** A message to publish to a queue (or Pub/Sub topic) known to the sidecar's backend. */
export interface Outgoing {
  /** Where to publish: a queue (embedded, SQS) or topic (Pub/Sub) name. */
  destination: string;
  /** The body as bytes, or text (sent as UTF-8). Give this or `json`, not both. */
  payload?: Uint8Array | string | undefined;
  /** The body as a value to send as JSON. Give this or `payload`, not both. */
  json?: unknown;
  /** Message attributes (keys starting with `ferry.` are reserved and refused by ferry). */
  attributes?: Readonly<Record<string, string>> | undefined;
  /** The tenant key; ferry writes it to the destination subscription's realm attribute. */
  realm?: string | undefined;
  /** Deliver after this many milliseconds. Give this or `deliverAt`, not both. */
  delayMs?: number | undefined;
  /** Deliver at (or after) this time. */
  deliverAt?: Date | undefined;
  /**
   * De-duplication id: a backend that de-duplicates (embedded, SQS FIFO) drops a second
   * message with the same id on the same destination. Left unset in a handler's reply,
   * ferry uses `<input message id>/<index>`.
   */
  dedupId?: string | undefined;
  /** Ordering key (SQS FIFO message group, Pub/Sub ordering key). */
  orderingKey?: string | undefined;
}

/** A checked outgoing message: the payload is bytes, at most one schedule is set. */
export interface Publication {
  readonly destination: string;
  readonly payload: Uint8Array;
  readonly attributes: Readonly<Record<string, string>>;
  readonly realm: string | undefined;
  readonly delayMs: number | undefined;
  readonly deliverAt: Date | undefined;
  readonly dedupId: string | undefined;
  readonly orderingKey: string | undefined;
}

const utf8 = new TextEncoder();

/** Checks `message` and encodes its payload; throws a `TypeError` naming what is wrong. */
export function publication(message: Outgoing): Publication {
  const { destination, payload, json, delayMs, deliverAt } = message;
  if (typeof destination !== "string" || destination === "") {
    throw new TypeError("outgoing message: destination is required");
  }
  if (payload !== undefined && json !== undefined) {
    throw new TypeError(`outgoing message to ${destination}: give payload or json, not both`);
  }
  if (delayMs !== undefined && deliverAt !== undefined) {
    throw new TypeError(`outgoing message to ${destination}: give delayMs or deliverAt, not both`);
  }
  if (delayMs !== undefined && !(Number.isFinite(delayMs) && delayMs >= 0)) {
    throw new TypeError(`outgoing message to ${destination}: delayMs must be a non-negative number`);
  }
  if (deliverAt !== undefined && Number.isNaN(deliverAt.getTime())) {
    throw new TypeError(`outgoing message to ${destination}: deliverAt is an invalid date`);
  }
  let bytes: Uint8Array;
  if (json !== undefined) {
    const text: unknown = JSON.stringify(json);
    if (typeof text !== "string") {
      throw new TypeError(`outgoing message to ${destination}: json value cannot be written as JSON`);
    }
    bytes = utf8.encode(text);
  } else {
    bytes = typeof payload === "string" ? utf8.encode(payload) : (payload ?? new Uint8Array());
  }
  return Object.freeze({
    destination,
    payload: bytes,
    attributes: Object.freeze({ ...message.attributes }),
    realm: message.realm,
    delayMs,
    deliverAt,
    dedupId: message.dedupId,
    orderingKey: message.orderingKey,
  });
}
