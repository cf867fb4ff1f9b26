// GatewayClient: publish messages and write log lines through the ferry sidecar's
// ferry.v1.GatewayService — from a worker, or from any local service such as a web API
// that enqueues work instead of doing it. One HTTP/2 connection, opened on first use.

import { create } from "@bufbuild/protobuf";
import { type CallOptions, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";

import { gatewayUrl } from "./address.js";
import { logLine, outgoingMessage } from "./convert.js";
import { GatewayService, LogContextSchema, LogRequestSchema, PublishRequestSchema } from "./gen/ferry/v1/gateway_pb.js";
import { type Outgoing, publication } from "./outgoing.js";
import { type FieldValue, type Level, type LogEntry, logEntry } from "./reply.js";

/** What log lines sent with `GatewayClient.log` are about; each part is optional. */
export interface LogContext {
  messageId?: string;
  subscription?: string;
  realm?: string;
  /** A W3C `traceparent`; its trace id becomes `trace.id`. */
  traceparent?: string;
}

/** Per-call options: a timeout and a signal to cancel. */
export type GatewayCallOptions = Pick<CallOptions, "timeoutMs" | "signal">;

/**
 * A client of the sidecar's gateway. Failed calls reject with a `ConnectError` (its `code`
 * is INVALID_ARGUMENT naming `messages[i].field` for a refused message, UNAVAILABLE while
 * the sidecar is down or shutting down).
 *
 * ```ts
 * const gateway = new GatewayClient(); // FERRY_GATEWAY_ADDR, else http://127.0.0.1:50052
 * const [id] = await gateway.publish([{ destination: "BlastCustomerListSender", json: blast, realm: blast.account_id }]);
 * gateway.close();
 * ```
 */
export class GatewayClient {
  /** The gateway's base URL. */
  readonly url: string;
  readonly #sessions: Http2SessionManager;
  readonly #client: Client<typeof GatewayService>;

  /** A client for `address` (`http://host:port` or `host:port`; default `FERRY_GATEWAY_ADDR`). */
  constructor(address?: string) {
    this.url = gatewayUrl(address);
    this.#sessions = new Http2SessionManager(this.url);
    this.#client = createClient(
      GatewayService,
      createGrpcTransport({ baseUrl: this.url, sessionManager: this.#sessions }),
    );
  }

  /**
   * Publishes `messages`, all or none, and returns the broker's message ids in order (a
   * message dropped as a duplicate reports the original's id). Publishing nothing makes no
   * call. Throws a `TypeError` for a malformed message before calling.
   */
  async publish(messages: readonly Outgoing[], options: GatewayCallOptions = {}): Promise<string[]> {
    if (messages.length === 0) return [];
    const request = create(PublishRequestSchema, {
      messages: messages.map((message) => outgoingMessage(publication(message))),
    });
    const response = await this.#client.publish(request, options);
    return response.messageIds;
  }

  /** Writes one log line in the standard shape, optionally tagged with what it is about. */
  async log(
    level: Level,
    message: string,
    fields?: Readonly<Record<string, FieldValue>>,
    context?: LogContext,
  ): Promise<void> {
    await this.logEntries([logEntry(level, message, fields)], context);
  }

  /** Writes several log lines (see `logEntry`), optionally tagged with what they are about. */
  async logEntries(entries: readonly LogEntry[], context?: LogContext, options: GatewayCallOptions = {}): Promise<void> {
    const request = create(LogRequestSchema, {
      lines: entries.map(logLine),
      ...(context && { context: create(LogContextSchema, context) }),
    });
    await this.#client.log(request, options);
  }

  /** Closes the connection (calls in progress fail). The client may be used again after. */
  close(): void {
    this.#sessions.abort();
  }
}
