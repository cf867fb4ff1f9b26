// publish-blast: what the web app does to start a blast — one message to
// BlastCustomerListSender through the ferry sidecar's gateway (GatewayClient), with the
// account as realm, and a log line saying so. Prints the message id.
//   node examples/node/build/src/publish-blast.js examples/rust/blast/data/blast.json
// The gateway is FERRY_GATEWAY_ADDR (default http://127.0.0.1:50052).

import { readFile } from "node:fs/promises";

import { GatewayClient } from "@ferry/sdk";

import { LIST_QUEUE, parseBlastRequest } from "./blast/messages.js";

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write("usage: publish-blast <blast.json>\n");
  process.exit(64);
}
const blast = parseBlastRequest(JSON.parse(await readFile(file, "utf8")));
const gateway = new GatewayClient();
try {
  const [id] = await gateway.publish([{ destination: LIST_QUEUE, json: blast, realm: blast.account_id }]);
  await gateway.log("info", `blast ${blast.blast_id} queued as ${id}`, { blast_id: blast.blast_id }, { realm: blast.account_id });
  process.stdout.write(`${id}\n`);
} finally {
  gateway.close();
}
