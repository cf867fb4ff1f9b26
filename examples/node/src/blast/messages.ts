// The messages of the blast flow, as the Rust workers define them (examples/rust/blast/src/
// messages.rs): the two queues, the list message a web app publishes, the per-customer task
// the list sender fans out, and the idempotency key `blast/<blast_id>/customer/<customer_id>`.

import { type JsonObject, object, onlyFields, ShapeError, string, strings } from "./shape.js";

/** The queue a web app publishes a blast to. */
export const LIST_QUEUE = "BlastCustomerListSender";
/** The queue the list sender fans customer tasks out to. */
export const CUSTOMER_QUEUE = "BlastCustomerSender";

/** The mail to send; `{{name}}` and `{{email}}` are filled in per customer. */
export interface Template {
  readonly subject: string;
  readonly body: string;
}

/** One blast: send `template` to `customer_ids` on behalf of `account_id`. */
export interface BlastRequest {
  readonly blast_id: string;
  readonly account_id: string;
  readonly template: Template;
  /** The recipients, possibly with duplicates. */
  readonly customer_ids: readonly string[];
}

/** One customer's share of a blast (the payload of a BlastCustomerSender message). */
export interface CustomerTask {
  readonly blast_id: string;
  readonly account_id: string;
  readonly customer_id: string;
  readonly template: Template;
}

/** The fan-out message's de-duplication id and the send's idempotency key. Deterministic. */
export function idempotencyKey(blastId: string, customerId: string): string {
  return `blast/${blastId}/customer/${customerId}`;
}

/** Why `value` cannot be an id (empty, or containing `/`, which makes keys ambiguous), or undefined. */
export function idProblem(field: string, value: string): string | undefined {
  if (value === "") return `${field} is empty`;
  if (value.includes("/")) return `${field} ${JSON.stringify(value)} contains '/'`;
  return undefined;
}

/** A template from JSON: `subject` and `body`, nothing else (as the Rust type). */
export function parseTemplate(value: unknown): Template {
  const obj = object(value, "template");
  onlyFields(obj, ["subject", "body"], "template");
  return { subject: string(obj, "subject", "template"), body: string(obj, "body", "template") };
}

/** A blast request from parsed JSON; throws a `ShapeError` naming the bad field. */
export function parseBlastRequest(value: unknown): BlastRequest {
  const obj: JsonObject = object(value, "blast request");
  return {
    blast_id: string(obj, "blast_id", "blast request"),
    account_id: string(obj, "account_id", "blast request"),
    template: parseTemplate(required(obj, "template", "blast request")),
    customer_ids: strings(obj, "customer_ids", "blast request"),
  };
}

function required(obj: JsonObject, key: string, what: string): unknown {
  if (!Object.hasOwn(obj, key)) throw new ShapeError(`${what}: missing field \`${key}\``);
  return obj[key];
}
