// Reading the blast flow's ledgers — the outbox (one JSON line per mail) and the activity
// log (one JSON line per activity) — in the format every customer sender writes (Rust, Go,
// C#): one JSON object per line with its idempotency `key`, at most one line per key, a
// line cut short by a crash skipped. The Node list sender only fans out; these readers are
// how Node code (the end-to-end tests, a support tool) checks what was sent.

import { readFile } from "node:fs/promises";

/** An outbox line: one mail "sent" by the demo transport. */
export interface OutboxRecord {
  /** `blast/<blast_id>/customer/<customer_id>`. */
  readonly key: string;
  readonly account_id: string;
  readonly to: string;
  readonly subject: string;
  readonly body: string;
  readonly sent_at_ms: number;
}

/** An activity line: the customer's history shows the blast. */
export interface ActivityRecord {
  readonly key: string;
  /** `blast.mail_sent`. */
  readonly action: string;
  readonly blast_id: string;
  readonly account_id: string;
  readonly customer_id: string;
  readonly at_ms: number;
}

/** Every record with a string `key`, in file order; empty when the file does not exist. */
export async function readLedger<T extends { readonly key: string }>(path: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const records: T[] = [];
  for (const line of text.split("\n")) {
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value === "object" && value !== null && typeof (value as { key?: unknown }).key === "string") {
        records.push(value as T);
      }
    } catch {
      // An empty or torn line: not a record.
    }
  }
  return records;
}
