// The standard grpc.health.v1.Health service: a table of service statuses that the server
// sets (SERVING while accepting work, NOT_SERVING once draining), answered by Check, and
// streamed by Watch until the server clears the table as it closes.

import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

import {
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus as Status,
  HealthCheckResponseSchema,
} from "./gen/grpc/health/v1/health_pb.js";

/** A service's health as the SDK reports it. */
export type ServingStatus = "SERVING" | "NOT_SERVING";

/** The statuses, and the Watch calls waiting for a change. */
export class HealthTable {
  readonly #statuses = new Map<string, ServingStatus>();
  #changed = deferred();
  #closed = false;

  /** Sets the status of `service` ("" is the server as a whole). */
  set(service: string, status: ServingStatus): void {
    this.#statuses.set(service, status);
    this.#notify();
  }

  /** The status of `service`, or undefined when it is unknown. */
  get(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  /** Ends every Watch once it has sent the latest status (the server is closing). */
  close(): void {
    this.#closed = true;
    this.#notify();
  }

  #notify(): void {
    this.#changed.fire();
    this.#changed = deferred();
  }

  /** Check: the status of `service`; NOT_FOUND when it is unknown. */
  check(service: string): HealthCheckResponse {
    const status = this.get(service);
    if (status === undefined) throw new ConnectError(`unknown service ${service}`, Code.NotFound);
    return response(status);
  }

  /** Watch: the status of `service` now and at each change, until the table closes or `signal` aborts. */
  async *watch(service: string, signal: AbortSignal): AsyncGenerator<HealthCheckResponse> {
    const aborted = new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    let last: Status | undefined;
    for (;;) {
      const changed = this.#changed.promise;
      const status = this.get(service);
      const now = status === undefined ? Status.SERVICE_UNKNOWN : protoStatus(status);
      if (now !== last) {
        last = now;
        yield create(HealthCheckResponseSchema, { status: now });
      }
      if (this.#closed || signal.aborted) return;
      await Promise.race([changed, aborted]);
    }
  }
}

/** A promise and the function that resolves it (Promise.withResolvers is Node 22+). */
function deferred(): { promise: Promise<void>; fire: () => void } {
  let fire = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}

function protoStatus(status: ServingStatus): Status {
  return status === "SERVING" ? Status.SERVING : Status.NOT_SERVING;
}

function response(status: ServingStatus): HealthCheckResponse {
  return create(HealthCheckResponseSchema, { status: protoStatus(status) });
}
