// GatewayClient against a stand-in ferry.v1.GatewayService on a free 127.0.0.1 port (the
// real sidecar's gateway is exercised by examples/node's end-to-end tests): what Publish
// and Log send, what they return, and how a refusal surfaces.

import assert from "node:assert/strict";
import { once } from "node:events";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";

import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

import { GatewayService, type LogRequest, type PublishRequest } from "../src/gen/ferry/v1/gateway_pb.js";
import { LogLevel } from "../src/gen/ferry/v1/message_pb.js";
import { GatewayClient } from "../src/index.js";

const published: PublishRequest[] = [];
const logged: LogRequest[] = [];
const server = http2.createServer(
  connectNodeAdapter({
    routes: (router) =>
      router.service(GatewayService, {
        publish(req) {
          const bad = req.messages.findIndex((m) => m.destination === "nowhere");
          if (bad >= 0) throw new ConnectError(`messages[${bad}].destination: unknown queue nowhere`, Code.InvalidArgument);
          published.push(req);
          return { messageIds: req.messages.map((_, i) => `id-${published.length}-${i}`) };
        },
        log(req) {
          logged.push(req);
          return {};
        },
      }),
  }),
);
let address = "";
const clients: GatewayClient[] = [];
function client(addr = address): GatewayClient {
  const c = new GatewayClient(addr);
  clients.push(c);
  return c;
}

before(async () => {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  for (const c of clients) c.close();
  server.close();
  await once(server, "close");
});

describe("GatewayClient", () => {
  it("publishes messages and returns their ids in order", async () => {
    const gateway = client(`http://${address}`);
    const bytes = new Uint8Array([0, 255, 0xc3, 0x28]);
    const ids = await gateway.publish([
      { destination: "BlastCustomerListSender", json: { blast_id: "b1" }, realm: "acct-1", dedupId: "blast/b1" },
      { destination: "Raw", payload: bytes, attributes: { "kind ✉": "raw" }, delayMs: 2500, orderingKey: "k" },
    ]);
    assert.deepEqual(ids, ["id-1-0", "id-1-1"]);
    const [blast, raw] = published[0]?.messages ?? [];
    assert.equal(new TextDecoder().decode(blast?.payload), '{"blast_id":"b1"}');
    assert.equal(blast?.realm, "acct-1");
    assert.equal(blast?.deduplicationId, "blast/b1");
    assert.deepEqual(raw?.payload, bytes);
    assert.deepEqual(raw?.attributes, { "kind ✉": "raw" });
    assert.equal(raw?.orderingKey, "k");
    assert.equal(raw?.schedule.case === "delay" && raw.schedule.value.seconds, 2n);
  });

  it("makes no call to publish nothing, and checks messages before calling", async () => {
    const gateway = client();
    const before = published.length;
    assert.deepEqual(await gateway.publish([]), []);
    await assert.rejects(gateway.publish([{ destination: "q", payload: "a", json: 1 }]), TypeError);
    assert.equal(published.length, before);
  });

  it("surfaces a refusal as a ConnectError with the gateway's code and message", async () => {
    await assert.rejects(client().publish([{ destination: "nowhere", payload: "x" }]), (err) => {
      const e = ConnectError.from(err);
      return e.code === Code.InvalidArgument && e.rawMessage === "messages[0].destination: unknown queue nowhere";
    });
  });

  it("writes log lines with their context", async () => {
    await client().log("warn", "blast queued by the web app", { blast_id: "b1", customers: 10 }, { realm: "acct-1" });
    const [request] = logged;
    assert.equal(request?.lines[0]?.level, LogLevel.WARN);
    assert.equal(request?.lines[0]?.message, "blast queued by the web app");
    assert.deepEqual(request?.lines[0]?.fields, { blast_id: "b1", customers: "10" });
    assert.equal(request?.context?.realm, "acct-1");
    assert.equal(request?.context?.messageId, "");
  });

  it("takes its address from FERRY_GATEWAY_ADDR, else the default", () => {
    const saved = process.env["FERRY_GATEWAY_ADDR"];
    try {
      process.env["FERRY_GATEWAY_ADDR"] = "http://127.0.0.1:6001";
      assert.equal(new GatewayClient().url, "http://127.0.0.1:6001");
      delete process.env["FERRY_GATEWAY_ADDR"];
      assert.equal(new GatewayClient().url, "http://127.0.0.1:50052");
      assert.throws(() => new GatewayClient("no port"), /is not a host:port address/);
    } finally {
      if (saved === undefined) delete process.env["FERRY_GATEWAY_ADDR"];
      else process.env["FERRY_GATEWAY_ADDR"] = saved;
    }
  });
});
