// Conversions between the SDK's types and the generated protocol messages:
// HandleRequest → Message, Reply → HandleResponse, Publication → OutgoingMessage and
// LogEntry → LogLine (also used by GatewayClient).

import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";

import { type LogLine, LogLevel, LogLineSchema, type OutgoingMessage, OutgoingMessageSchema } from "./gen/ferry/v1/message_pb.js";
import {
  DeadLetterSchema,
  DoneSchema,
  type HandleRequest,
  type HandleResponse,
  HandleResponseSchema,
  RetrySchema,
} from "./gen/ferry/v1/worker_pb.js";
import { Message } from "./message.js";
import type { Publication } from "./outgoing.js";
import type { Level, LogEntry, Outcome, Reply } from "./reply.js";

const PROTO_LEVEL: Readonly<Record<Level, LogLevel>> = {
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warn: LogLevel.WARN,
  error: LogLevel.ERROR,
};

/** The message a handler gets for `req`; `signal` is its deadline / cancellation signal. */
export function messageFromRequest(req: HandleRequest, signal: AbortSignal): Message {
  return new Message({
    payload: req.payload,
    attributes: req.attributes,
    id: req.messageId,
    attempt: req.attempt,
    maxAttempts: req.maxAttempts,
    realm: req.realm,
    subscription: req.subscription,
    queue: req.queue,
    trace: { traceparent: req.trace?.traceparent ?? "", tracestate: req.trace?.tracestate ?? "" },
    ...(req.deadline && { deadline: timestampDate(req.deadline) }),
    ...(req.publishedAt && { publishedAt: timestampDate(req.publishedAt) }),
    signal,
  });
}

/** The response for `reply`. */
export function responseFromReply(reply: Reply): HandleResponse {
  return create(HandleResponseSchema, {
    outcome: protoOutcome(reply.outcome),
    publish: reply.published.map(outgoingMessage),
    logs: reply.logs.map(logLine),
  });
}

function protoOutcome(outcome: Outcome): HandleResponse["outcome"] {
  switch (outcome.kind) {
    case "done":
      return { case: "done", value: create(DoneSchema) };
    case "retry": {
      const delay = outcome.delayMs === undefined ? undefined : durationFromMs(outcome.delayMs);
      return { case: "retry", value: create(RetrySchema, { reason: outcome.reason, ...(delay && { delay }) }) };
    }
    case "deadLetter":
      return { case: "deadLetter", value: create(DeadLetterSchema, { reason: outcome.reason }) };
  }
}

/** The protocol form of a checked outgoing message. */
export function outgoingMessage(p: Publication): OutgoingMessage {
  const message = create(OutgoingMessageSchema, {
    destination: p.destination,
    payload: p.payload,
    attributes: { ...p.attributes },
    realm: p.realm ?? "",
    deduplicationId: p.dedupId ?? "",
    orderingKey: p.orderingKey ?? "",
  });
  if (p.delayMs !== undefined) {
    message.schedule = { case: "delay", value: durationFromMs(p.delayMs) };
  } else if (p.deliverAt !== undefined) {
    message.schedule = { case: "deliverAt", value: timestampFromDate(p.deliverAt) };
  }
  return message;
}

/** The protocol form of a log line. */
export function logLine(entry: LogEntry): LogLine {
  return create(LogLineSchema, {
    level: PROTO_LEVEL[entry.level],
    message: entry.message,
    fields: { ...entry.fields },
    time: timestampFromDate(entry.time),
  });
}
