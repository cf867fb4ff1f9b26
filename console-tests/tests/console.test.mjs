// The Ferry console in a real browser (Debian's chromium, driven by playwright-core), over
// real sidecars: two `ferry run` on one embedded queue file and one on ElasticMQ (SQS), all
// calling one recording worker, reporting to one `ferry console`. What a person does on the
// page is checked against what the worker saw:
//   - the overview lists every subscription with its sidecars, and filtering works;
//   - pausing a realm stops its deliveries while another realm goes on; resuming restarts them;
//   - redriving a dead letter from the page gets it processed; so do selected ones, then all;
//   - the publish form sends a message; the realm page shows one realm across subscriptions and
//     pauses and resumes it;
//   - a fleet-wide per-realm limit holds across the two sidecars (worker-observed concurrency).
// Screenshots go to docs/img/ (the README shows the overview).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  root, token, eventually, events, stopAll, tempDir, client, startConsole, startWorker, startSidecar, createSqsQueues, browser,
} from "../lib/fleet.mjs";

const sqsEndpoint = process.env.FERRY_TEST_SQS_ENDPOINT;
const shots = join(root, "docs/img");
let dir, consoleUrl, api, worker, sidecars, context, page, invoicesQueue;

const embeddedSub = `[subscriptions.orders]
max_in_flight = 8
max_in_flight_per_realm = 8
receive_wait = "200ms"
realm_requeue_delay = "100ms"
backoff = { min = "50ms", max = "200ms" }`;

before(async () => {
  assert.ok(sqsEndpoint, "FERRY_TEST_SQS_ENDPOINT is not set: run scripts/test.sh, or eval \"$(scripts/servers/elasticmq.sh start)\" first");
  dir = tempDir();
  mkdirSync(shots, { recursive: true });
  const db = join(dir, "queue.db");
  const suffix = Date.now().toString(36);
  const invoices = `invoices-${suffix}`;
  invoicesQueue = invoices;
  await createSqsQueues(sqsEndpoint, [invoices, `${invoices}-errors`]);
  const c = await startConsole(dir, `listen = "127.0.0.1:0"
token = "${token}"
state = "${join(dir, "console.db")}"
queue_refresh = "500ms"
[backends.local.embedded]
path = "${db}"
[backends.elasticmq.sqs]
endpoint = "${sqsEndpoint}"
region = "us-east-1"
`);
  consoleUrl = c.base;
  api = client(consoleUrl);
  worker = await startWorker(dir);
  const embedded = `[backend.embedded]\npath = "${db}"\npoll_interval = "20ms"`;
  sidecars = await Promise.all([
    startSidecar(dir, "orders-a", { workerAddr: worker.addr, backend: embedded, subs: embeddedSub, consoleUrl }),
    startSidecar(dir, "orders-b", { workerAddr: worker.addr, backend: embedded, subs: embeddedSub, consoleUrl }),
    startSidecar(dir, "invoices", {
      workerAddr: worker.addr,
      backend: `[backend.sqs]\nendpoint = "${sqsEndpoint}"\nregion = "us-east-1"`,
      subs: `[subscriptions.invoices]\nqueue = "${invoices}"\nreceive_wait = "200ms"\nbackoff = { min = "50ms", max = "200ms" }`,
      consoleUrl,
    }),
  ]);
  context = await browser(dir);
  // The token, as a person types it once on the sign-in form, kept for the tab.
  await context.addInitScript((t) => { sessionStorage.setItem("ferry.token", t); localStorage.setItem("ferry.actor", "browser-test"); }, token);
  page = context.pages()[0] || (await context.newPage());
  page.on("dialog", (d) => (d.type() === "prompt" ? d.accept("") : d.accept()));
  page.on("pageerror", (e) => console.error("page error:", e.message));
});

after(async () => {
  if (context) await context.close();
  await stopAll();
});

const publish = (realm, payload, attributes = {}) => api("/api/v1/publish", "POST", { backend: "local", queue: "orders", realm, payload, attributes });
const starts = (prefix) => worker.record().filter((r) => r.event === "start" && r.payload.startsWith(prefix));
const ends = (prefix, outcome = "done") => worker.record().filter((r) => r.event === "end" && r.outcome === outcome && r.payload.startsWith(prefix));
const detail = () => api("/api/v1/subscriptions/local/orders");
const applied = async (check) => {
  const d = await detail();
  const live = d.sidecars.filter((s) => s.live);
  return live.length === 2 && live.every((s) => check(s.subscriptions[0]));
};
const rendered = async () => Number(await page.locator("main").getAttribute("data-rendered"));
// Re-renders the dead-letter page (it is not live) until `rows` counts `n`.
async function listed(rows, n, what) {
  await eventually(async () => {
    await page.evaluate(() => window.dispatchEvent(new HashChangeEvent("hashchange")));
    return (await rows.count()) === n;
  }, what);
}
// Waits until the page has rendered again after now (live pages refresh every 2 s).
async function freshRender() {
  const t = Date.now();
  await eventually(async () => (await rendered()) > t, "the page refreshed");
}

test("the overview lists every sidecar's subscriptions, and filtering works", async () => {
  await api("/api/v1/publish", "POST", { backend: "elasticmq", queue: invoicesQueue, realm: "acme", payload: "invoice-1" });
  await eventually(() => ends("invoice-1").length === 1, "the SQS sidecar handled an invoice");
  await page.goto(consoleUrl + "/");
  const orders = page.locator('tr[data-subscription="local/orders"]');
  const invoices = page.locator('tr[data-subscription="elasticmq/invoices"]');
  await orders.waitFor();
  await invoices.waitFor();
  await eventually(async () => (await orders.locator('td[data-col="sidecars"]').innerText()).startsWith("2 live"), "both embedded sidecars are live");
  assert.match(await invoices.locator('td[data-col="sidecars"]').innerText(), /^1 live/);
  await eventually(async () => (await invoices.innerText()).includes("sqs"), "the invoices row names its backend kind");
  await page.fill("#filter-name", "inv");
  await eventually(async () => (await page.locator("tbody tr[data-subscription]").count()) === 1 && (await invoices.count()) === 1, "only invoices matches 'inv'");
  await page.fill("#filter-name", "");
  await page.selectOption("#filter-backend", "local");
  await eventually(async () => (await page.locator("tbody tr[data-subscription]").count()) === 1 && (await orders.count()) === 1, "only the embedded subscription is on backend local");
  await page.selectOption("#filter-backend", "");
  await page.selectOption("#filter-state", "paused");
  await eventually(async () => (await page.locator("tbody tr[data-subscription]").count()) === 0, "nothing is paused");
  await page.selectOption("#filter-state", "");
});

test("pausing a realm stops its deliveries while another realm goes on; resuming restarts them", async () => {
  for (let i = 0; i < 3; i++) {
    await publish("acme", `warm-acme-${i}`);
    await publish("globex", `warm-globex-${i}`);
  }
  await eventually(() => ends("warm-").length === 6, "the warm-up messages are done");
  await page.goto(`${consoleUrl}/#/s/local/orders`);
  const acme = page.locator('#realms tr[data-realm="acme"]');
  await acme.waitFor({ timeout: 30000 });
  await acme.locator('button[data-action="pause-realm"]').click();
  await eventually(() => applied((s) => s.paused_realms.includes("acme")), "both sidecars applied the pause of acme");
  await freshRender();
  await eventually(async () => (await acme.innerText()).includes("paused"), "the page shows acme paused");
  await eventually(async () => (await page.locator("#overrides").innerText()).includes("realm acme paused by browser-test"), "the override and who set it are shown");

  for (let i = 0; i < 3; i++) {
    await publish("acme", `paused-acme-${i}`);
    await publish("globex", `during-globex-${i}`);
  }
  await eventually(() => ends("during-globex-").length === 3, "globex goes on while acme is paused");
  const handedBack = () => new Set(sidecars.slice(0, 2).flatMap((p) => events(p))
    .filter((e) => e["event.action"] === "message.handed_back" && e["ferry.hand_back_reason"] === "realm_paused")
    .map((e) => e["ferry.message_id"]));
  await eventually(() => handedBack().size >= 3, "each paused acme message was received and handed back");
  assert.equal(starts("paused-acme-").length, 0, "no acme message reached the worker while its realm was paused");

  await freshRender();
  await acme.locator('button[data-action="resume-realm"]').click();
  await eventually(() => ends("paused-acme-").length === 3, "acme's messages are delivered once resumed");
});

test("redriving a dead letter from the page gets it processed", async () => {
  await publish("acme", "redrive-me", { "t.dead_once": "1" });
  await eventually(() => ends("redrive-me", "dead_letter").length === 1, "the worker dead-lettered it");
  await page.goto(`${consoleUrl}/#/dlq/local/orders`);
  const row = page.locator("tr[data-dead-letter]", { hasText: "redrive-me" });
  await listed(row, 1, "the dead letter is listed with its payload");
  assert.match(await row.innerText(), /dead once \(recording worker\)/, "its story shows the worker's reason");
  await page.screenshot({ path: join(shots, "console-dead-letters.png"), fullPage: true });
  await row.locator('button[data-action="redrive"]').click();
  await eventually(() => ends("redrive-me").length === 1, "the redriven letter is processed");
  const audit = await api("/api/v1/audit");
  assert.ok(audit.audit.some((e) => e.action === "redrive" && e.actor === "browser-test" && e.outcome === "ok"), "the redrive is audited");
});

test("redriving selected dead letters, then all, from the page gets each processed once", async () => {
  const names = [0, 1, 2, 3].map((i) => `pick-${i}`);
  for (const n of names) await publish("acme", n, { "t.dead_once": "1" });
  await eventually(() => ends("pick-", "dead_letter").length === 4, "the worker dead-lettered all four");
  await page.goto(`${consoleUrl}/#/dlq/local/orders`);
  const row = (n) => page.locator("tr[data-dead-letter]", { hasText: n });
  await listed(page.locator("tr[data-dead-letter]", { hasText: "pick-" }), 4, "the four dead letters are listed");
  await row("pick-0").locator("input.pick").check();
  await row("pick-1").locator("input.pick").check();
  await page.click("#redrive-selected");
  await eventually(() => ends("pick-0").length === 1 && ends("pick-1").length === 1, "the two selected letters are processed");
  // The page lists what is left once the redrive is done.
  await eventually(async () => (await page.locator("tr[data-dead-letter]", { hasText: "pick-" }).count()) === 2, "two letters are left on the page");
  assert.equal(ends("pick-2").length + ends("pick-3").length, 0, "the letters not selected stay dead");
  assert.equal(await row("pick-2").count(), 1);
  assert.equal(await row("pick-3").count(), 1);

  await page.click("#redrive-all");
  await eventually(() => ends("pick-2").length === 1 && ends("pick-3").length === 1, "redrive all processes the rest");
  await eventually(async () => (await page.locator("#dead-letters").innerText()).includes("No dead letters."), "the page shows none left");
  for (const n of names) assert.equal(ends(n).length, 1, `${n} is processed exactly once`);
  const redrives = (await api("/api/v1/audit")).audit.filter((e) => e.action === "redrive" && e.actor === "browser-test" && e.outcome === "ok");
  assert.ok(redrives.length >= 3, `one audited redrive per click (with the single one before): ${JSON.stringify(redrives)}`);
});

test("the publish form sends a message, and the realm page shows that realm across subscriptions", async () => {
  const submit = async (backend, queue, payload) => {
    await page.goto(`${consoleUrl}/#/publish`);
    await page.locator("#publish-form").waitFor();
    await page.selectOption('#publish-form select[name="backend"]', backend);
    await page.fill('#publish-form input[name="queue"]', queue);
    await page.fill('#publish-form input[name="realm"]', "initech");
    await page.fill('#publish-form textarea[name="attributes"]', "t.note = from the form\nsource=console");
    await page.fill('#publish-form textarea[name="payload"]', payload);
    // The toast of an earlier publish must not count for this one.
    await page.evaluate(() => { document.getElementById("toast").textContent = ""; });
    await page.click('#publish-form button[type="submit"]');
    await eventually(async () => (await page.locator("#toast").innerText()).startsWith("Published: "), "the page says it published");
  };
  await submit("local", "orders", "form-order");
  await submit("elasticmq", invoicesQueue, "form-invoice");
  await eventually(() => ends("form-order").length === 1 && ends("form-invoice").length === 1, "both published messages are handled");
  const [order] = starts("form-order");
  assert.equal(order.realm, "initech", "the form's realm reaches the worker");
  assert.equal(order.subscription, "orders");

  await page.goto(`${consoleUrl}/#/realm/initech`);
  const orders = page.locator('#realm-subscriptions tr[data-subscription="local/orders"]');
  const invoices = page.locator('#realm-subscriptions tr[data-subscription="elasticmq/invoices"]');
  await eventually(async () => (await orders.count()) === 1 && (await invoices.count()) === 1
    && Number(await orders.locator('td[data-col="done"]').innerText()) >= 1
    && Number(await invoices.locator('td[data-col="done"]').innerText()) >= 1,
  "the realm page shows initech done on both subscriptions (the rollups of both sidecars' beats)");
  await page.screenshot({ path: join(shots, "console-realm.png"), fullPage: true });

  await orders.locator('button[data-action="pause-realm"]').click();
  await eventually(() => applied((s) => s.paused_realms.includes("initech")), "both orders sidecars applied the pause from the realm page");
  await freshRender();
  await eventually(async () => (await orders.innerText()).includes("paused"), "the realm page shows it paused on orders");
  assert.ok(!(await invoices.innerText()).includes("paused"), "and not on invoices");
  await orders.locator('button[data-action="resume-realm"]').click();
  await eventually(() => applied((s) => !s.paused_realms.includes("initech")), "resumed from the realm page");
});

test("a fleet-wide realm limit holds across two sidecars", async () => {
  const burst = async (prefix) => {
    for (let i = 0; i < 12; i++) await publish("bulk", `${prefix}-${i}`, { "t.sleep_ms": "400" });
    await eventually(() => ends(`${prefix}-`).length === 12, `${prefix} messages done`, 60000);
    return Math.max(...starts(`${prefix}-`).map((s) => s.concurrent_in_realm));
  };
  const before = await burst("base");
  assert.ok(before > 2, `without the override the realm ran ${before} at once (the limit below must be what holds it)`);

  await page.goto(`${consoleUrl}/#/s/local/orders`);
  await page.locator("#limit-max_in_flight_per_realm").waitFor();
  await page.fill("#limit-max_in_flight_per_realm", "2");
  await page.click("#apply-limits");
  await eventually(() => applied((s) => s.effective.max_in_flight_per_realm === 1), "2 per realm over 2 sidecars: 1 each");
  const withLimit = await burst("lim");
  assert.ok(withLimit <= 2, `the worker saw ${withLimit} calls of realm bulk at once, more than the fleet-wide 2`);
  await freshRender();
  await eventually(async () => (await page.locator("#overrides").innerText()).includes("max_in_flight_per_realm = 2 fleet-wide, set by browser-test"), "the override is shown with who set it");
  await page.screenshot({ path: join(shots, "console-subscription.png"), fullPage: true });

  // The README's picture: the overview after all this, with the override noted.
  await page.goto(consoleUrl + "/");
  await eventually(async () => (await page.locator('tr[data-subscription="local/orders"]').innerText()).includes("1 fleet-wide limit"), "the overview notes the override");
  await page.screenshot({ path: join(shots, "console-overview.png"), fullPage: true });
});
