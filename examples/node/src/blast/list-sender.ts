// The BlastCustomerListSender worker in Node, the other half of the Rust blast flow: checks
// the account, removes duplicate customer ids and fans out one CustomerTask per customer to
// BlastCustomerSender, with realm = account id, the attribute blast_id and the
// deterministic de-duplication id `blast/<blast_id>/customer/<customer_id>` — the same
// messages the Rust list sender publishes, so the Rust, Go or C# customer sender takes them.

import { deadLetter, done, type Handler, type Message, type Reply, retry } from "@ferry/sdk";

import { Directory, DirectoryError } from "./directory.js";
import { type BlastRequest, CUSTOMER_QUEUE, type CustomerTask, idempotencyKey, idProblem, parseBlastRequest } from "./messages.js";
import { ShapeError } from "./shape.js";

/** The customers a blast goes to. */
export interface Plan {
  /** One task per distinct valid customer id, in first-seen order. */
  readonly tasks: readonly CustomerTask[];
  /** How many ids repeated an earlier one. */
  readonly duplicates: number;
  /** Ids left out because they are empty or contain `/`. */
  readonly invalidIds: readonly string[];
}

/** Why a blast is refused; dead-lettered, since sending it again cannot help. */
export class Rejection extends Error {
  override readonly name = "Rejection";
}

/** Checks the blast against the directory and computes the customer tasks; throws a `Rejection`. */
export function plan(directory: Directory, request: BlastRequest): Plan {
  for (const [field, value] of [
    ["blast_id", request.blast_id],
    ["account_id", request.account_id],
  ] as const) {
    const problem = idProblem(field, value);
    if (problem !== undefined) throw new Rejection(`invalid blast: ${problem}`);
  }
  const account = directory.account(request.account_id);
  if (account === undefined) throw new Rejection(`account ${request.account_id} does not exist`);
  if (!account.active) throw new Rejection(`account ${request.account_id} is not active`);
  const seen = new Set<string>();
  const tasks: CustomerTask[] = [];
  const invalidIds: string[] = [];
  let duplicates = 0;
  for (const id of request.customer_ids) {
    if (idProblem("customer id", id) !== undefined) {
      invalidIds.push(id);
    } else if (seen.has(id)) {
      duplicates += 1;
    } else {
      seen.add(id);
      const { subject, body } = request.template;
      tasks.push({ blast_id: request.blast_id, account_id: request.account_id, customer_id: id, template: { subject, body } });
    }
  }
  if (account.credit < tasks.length) {
    throw new Rejection(`account ${request.account_id} has ${account.credit} credit, the blast needs ${tasks.length}`);
  }
  return { tasks, duplicates, invalidIds };
}

/**
 * The reply to one list message: dead-letter for a malformed or refused blast, otherwise
 * done with one message per customer and a log line with the counts.
 */
export function fanOut(directory: Directory, msg: Message): Reply {
  let request: BlastRequest;
  let blastPlan: Plan;
  try {
    request = parseBlastRequest(msg.json());
    blastPlan = plan(directory, request);
  } catch (err) {
    if (err instanceof ShapeError) return deadLetter(`payload is not a valid BlastRequest JSON document: ${err.message}`);
    if (err instanceof Error) return deadLetter(err.message); // PayloadError, Rejection
    throw err;
  }
  const reply = done();
  for (const task of blastPlan.tasks) {
    reply.publish({
      destination: CUSTOMER_QUEUE,
      json: task,
      realm: task.account_id,
      dedupId: idempotencyKey(task.blast_id, task.customer_id),
      attributes: { blast_id: task.blast_id },
    });
  }
  const { blast_id, account_id, customer_ids } = request;
  const { tasks, duplicates, invalidIds } = blastPlan;
  return reply.log(
    "info",
    `blast ${blast_id} of account ${account_id}: ${tasks.length} customers queued ` +
      `(${customer_ids.length} ids, ${duplicates} duplicates, ${invalidIds.length} invalid)`,
    { blast_id, account_id, requested: customer_ids.length, queued: tasks.length, duplicates, invalid: invalidIds.length },
  );
}

/** The list sender: reads the directory at `directoryPath` for every message (changes apply at once). */
export function listSender(directoryPath: string): Handler {
  return async (msg) => {
    let directory: Directory;
    try {
      directory = await Directory.load(directoryPath);
    } catch (err) {
      if (err instanceof DirectoryError) return retry(err.message);
      throw err;
    }
    return fanOut(directory, msg);
  };
}
