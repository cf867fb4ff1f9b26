// Unit tests for addresses: FERRY_WORKER_ADDR-style `host:port` values with an optional
// `http://` prefix, IPv6 in brackets, and the errors for anything else.

import assert from "node:assert/strict";
import { it } from "node:test";

import { formatHostPort, parseHostPort } from "../src/address.js";

it("parses host:port with an optional http:// prefix and IPv6 brackets", () => {
  assert.deepEqual(parseHostPort("127.0.0.1:50051", "x"), { host: "127.0.0.1", port: 50051 });
  assert.deepEqual(parseHostPort(" http://localhost:8080/ ", "x"), { host: "localhost", port: 8080 });
  assert.deepEqual(parseHostPort("[::1]:0", "x"), { host: "::1", port: 0 });
  assert.equal(formatHostPort({ host: "::1", port: 9 }), "[::1]:9");
});

it("refuses values that are not host:port, naming the variable", () => {
  for (const bad of ["50051", "localhost", ":80", "host:99999", "host:port", "https://h:1", "::1:80"]) {
    assert.throws(() => parseHostPort(bad, "FERRY_WORKER_ADDR"), {
      message: `FERRY_WORKER_ADDR=${JSON.stringify(bad)} is not a host:port address`,
    });
  }
});
