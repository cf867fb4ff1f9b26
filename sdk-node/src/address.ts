// Addresses: where the worker listens (FERRY_WORKER_ADDR, which `ferry run` sets for the
// child it starts) and where the sidecar's gateway is (FERRY_GATEWAY_ADDR), with the same
// defaults and the same tolerance for an `http://` prefix as the Rust SDK.

/** The environment variable ferry sets, for the worker it starts, to the `host:port` to listen on. */
export const WORKER_ADDR_ENV = "FERRY_WORKER_ADDR";

/** The address a worker listens on when `FERRY_WORKER_ADDR` is not set. */
export const DEFAULT_WORKER_ADDR = "127.0.0.1:50051";

/** The environment variable ferry sets, for the worker it starts, to its gateway's address. */
export const GATEWAY_ADDR_ENV = "FERRY_GATEWAY_ADDR";

/** The gateway address used when `FERRY_GATEWAY_ADDR` is not set. */
export const DEFAULT_GATEWAY_ADDR = "http://127.0.0.1:50052";

/** A parsed `host:port` (an IPv6 host without its brackets). */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `host:port`, `[v6]:port` or either with an `http://` prefix and a trailing `/`.
 * Port 0 means "any free port" (for tests). Throws a `TypeError` naming `what` otherwise.
 */
export function parseHostPort(value: string, what: string): HostPort {
  const bare = value.trim().replace(/^http:\/\//, "").replace(/\/+$/, "");
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(bare);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port > 65535) {
    throw new TypeError(`${what}=${JSON.stringify(value)} is not a host:port address`);
  }
  return { host, port };
}

/** `host:port` for display and for `FERRY_WORKER_ADDR`-style values. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The address to listen on: `explicit`, else `FERRY_WORKER_ADDR`, else the default. */
export function workerAddress(explicit?: string): HostPort {
  if (explicit !== undefined) return parseHostPort(explicit, "address");
  const env = process.env[WORKER_ADDR_ENV]?.trim();
  if (env) return parseHostPort(env, WORKER_ADDR_ENV);
  return parseHostPort(DEFAULT_WORKER_ADDR, "default address");
}

/** The gateway's base URL (`http://host:port`): `explicit`, else `FERRY_GATEWAY_ADDR`, else the default. */
export function gatewayUrl(explicit?: string): string {
  const env = process.env[GATEWAY_ADDR_ENV]?.trim();
  const value = explicit ?? (env ? env : DEFAULT_GATEWAY_ADDR);
  const what = explicit === undefined && env ? GATEWAY_ADDR_ENV : "gateway address";
  return `http://${formatHostPort(parseHostPort(value, what))}`;
}
