// The Ferry console page: a small single-page app over the console's JSON API
// (/api/v1/..., docs/CONSOLE.md). Routes are in the fragment (#/, #/s/<backend>/<name>,
// #/dlq/<backend>/<name>, #/realm/<realm>, #/realms, #/message/<id>, #/publish,
// #/controls). Live pages refresh every 2 seconds without a reload. Everything a sidecar or
// a message supplies (names, realms, payloads) is inserted as text, never as HTML.
"use strict";

const REFRESH_MS = 2000;
const main = document.getElementById("main");
let timer = null;
let chart = null;
let session = null;

// --- helpers -------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const enc = encodeURIComponent;
const subPath = (b, n) => `/api/v1/subscriptions/${enc(b)}/${enc(n)}`;
const fmt = (n, digits = 0) => (n === null || n === undefined ? "–" : Number(n).toFixed(digits));
const pct = (r) => (r === null || r === undefined ? "–" : (r * 100).toFixed(1) + "%");
const ms = (v) => (v === null || v === undefined ? "–" : v < 10 ? v.toFixed(1) + " ms" : Math.round(v) + " ms");
const when = (t) => (t ? new Date(t).toLocaleString() : "–");
// Counts that are a monitoring system's samples (Pub/Sub): how to read them.
const sampledNote = (qs) => (qs && qs.sampled_at_ms
  ? `Sampled by Cloud Monitoring at ${when(qs.sampled_at_ms)}: ready is the backlog, leased messages included; in flight is the sidecars' own count.`
  : null);

function toast(text, error) {
  const t = document.getElementById("toast");
  t.textContent = text;
  t.className = error ? "error" : "";
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 5000);
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, method = "GET", body) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem("ferry.token");
  if (token) headers.Authorization = "Bearer " + token;
  if (method !== "GET") {
    headers["X-Ferry-Csrf"] = "1";
    headers["Content-Type"] = "application/json";
    const actor = localStorage.getItem("ferry.actor");
    if (actor) headers["X-Ferry-Actor"] = actor;
  }
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try {
    data = await res.json();
  } catch (_) {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, (data && data.error) || res.statusText);
  return data;
}

// A change: asks to confirm, sends it, says how it went, refreshes the page.
async function act(question, path, method, body, done) {
  if (question && !window.confirm(question)) return;
  try {
    const r = await api(path, method, body);
    toast(done ? done(r) : "Done.");
  } catch (e) {
    toast(e.message, true);
  }
  route();
}

function sparkline(values) {
  const w = 120, hgt = 24;
  const max = Math.max(1, ...values);
  const pts = values.map((v, i) => `${((i / Math.max(1, values.length - 1)) * w).toFixed(1)},${(hgt - 2 - (v / max) * (hgt - 4)).toFixed(1)}`).join(" ");
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("width", w);
  svg.setAttribute("height", hgt);
  svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", pts);
  svg.append(line);
  return svg;
}

function bar(share) {
  const inner = h("span");
  inner.style.width = Math.round(Math.max(0, Math.min(1, share)) * 100) + "%";
  return h("div", { class: "bar", title: pct(share) }, inner);
}

// A short note of the operators' controls on a subscription, for the overview.
function controlSummary(c) {
  if (!c) return null;
  const notes = [];
  const realms = Object.keys(c.paused_realms || {}).length;
  if (realms) notes.push(`${realms} realm${realms > 1 ? "s" : ""} paused`);
  const limits = ["max_in_flight", "max_in_flight_per_realm", "rate_limit"].filter((k) => c[k]).length;
  if (limits) notes.push(`${limits} fleet-wide limit${limits > 1 ? "s" : ""}`);
  return notes.length ? h("div", { class: "override" }, notes.join(", ")) : null;
}

const badge = (state) => h("span", { class: `badge state-${state}`, "data-state": state }, state);

function limitText(l) {
  if (!l) return "–";
  const parts = [`in flight ${l.max_in_flight}`];
  if (l.max_in_flight_per_realm !== undefined) parts.push(`per realm ${l.max_in_flight_per_realm}`);
  if (l.rate_limit !== undefined) parts.push(`rate ${fmt(l.rate_limit, 2)}/s`);
  return parts.join(", ");
}

function overrides(c) {
  const out = [];
  if (!c) return out;
  if (c.paused) out.push(`paused by ${c.paused.by} at ${when(c.paused.at_ms)}`);
  for (const [realm, m] of Object.entries(c.paused_realms || {})) out.push(`realm ${realm || "(none)"} paused by ${m.by} at ${when(m.at_ms)}`);
  for (const k of ["max_in_flight", "max_in_flight_per_realm", "rate_limit"]) {
    if (c[k]) out.push(`${k} = ${c[k].value} fleet-wide, set by ${c[k].by} at ${when(c[k].at_ms)}`);
  }
  return out;
}

// --- pages ---------------------------------------------------------------------------

const filters = { name: "", backend: "", state: "" };

async function overview() {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  const [data, all] = await Promise.all([api("/api/v1/subscriptions?" + q), api("/api/v1/subscriptions")]);
  const backends = [...new Set(all.subscriptions.map((s) => s.backend))].sort();
  const select = (id, key, options) =>
    h("select", { id, "aria-label": key, onchange: (e) => { filters[key] = e.target.value; route(); } },
      h("option", { value: "" }, `any ${key}`),
      options.map((o) => h("option", { value: o, selected: filters[key] === o }, o)));
  const name = h("input", { id: "filter-name", placeholder: "filter by name, queue or service", value: filters.name, "aria-label": "name" });
  name.addEventListener("input", (e) => { filters.name = e.target.value; clearTimeout(name.t); name.t = setTimeout(route, 250); });
  const rows = data.subscriptions.map((s) => {
    const c = s.queue_state && s.queue_state.counts;
    const sampled = sampledNote(s.queue_state);
    return h("tr", { "data-subscription": `${s.backend}/${s.name}` },
      h("td", {}, h("a", { href: `#/s/${enc(s.backend)}/${enc(s.name)}` }, s.name), h("div", { class: "muted" }, s.queue)),
      h("td", {}, s.backend, h("div", { class: "muted" }, s.backend_kind)),
      h("td", {}, badge(s.state), controlSummary(s.controls)),
      h("td", { class: "num", "data-col": "sidecars" }, `${s.sidecars_live} live`, s.sidecars_stale ? h("div", { class: "muted" }, `${s.sidecars_stale} stale`) : null),
      h("td", { class: "num" }, `${s.workers_serving}/${s.sidecars_live}`),
      h("td", { class: "num", title: sampled }, c ? (sampled ? "~" + c.ready : c.ready) : "–"),
      h("td", { class: "num" }, c && !sampled ? c.in_flight : s.in_flight),
      h("td", { class: "num" }, c ? c.delayed : "–"),
      h("td", { class: "num" }, c ? h("a", { href: `#/dlq/${enc(s.backend)}/${enc(s.name)}` }, c.dead) : h("a", { href: `#/dlq/${enc(s.backend)}/${enc(s.name)}` }, "list")),
      h("td", { class: "num" }, fmt(s.done_per_second, 2)),
      h("td", { class: "num" }, pct(s.failure_rate)),
      h("td", { class: "num" }, ms(s.p50_ms)),
      h("td", { class: "num" }, ms(s.p95_ms)),
      h("td", {}, sparkline(s.sparkline)));
  });
  return [
    h("h1", {}, "Subscriptions"),
    h("div", { class: "filters" }, name, select("filter-backend", "backend", backends), select("filter-state", "state", ["running", "paused", "degraded", "stale"]),
      h("span", { class: "muted", id: "fleet-summary" }, `${data.sidecars.live} live sidecars, ${data.sidecars.stale} stale · ${data.subscriptions.length} of ${all.subscriptions.length} subscriptions`)),
    h("table", { id: "subscriptions" },
      h("thead", {}, h("tr", {}, ["Subscription", "Backend", "State", "Sidecars", "Workers"].map((t) => h("th", {}, t)),
        ["Ready", "In flight", "Delayed", "Dead", "Done/s", "Failures", "p50", "p95"].map((t) => h("th", { class: "num" }, t)), h("th", {}, "Last hour"))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 14, class: "muted" }, "No subscription matches. Sidecars appear here once they send a heartbeat.")))),
  ];
}

function limitsForm(d) {
  const c = d.controls || {};
  const field = (key, label, step) =>
    h("label", {}, label, h("input", { id: `limit-${key}`, type: "number", min: step, step, value: c[key] ? c[key].value : "", placeholder: "as configured" }));
  const read = (key) => {
    const v = document.getElementById(`limit-${key}`).value;
    return v === "" ? null : Number(v);
  };
  return h("div", { class: "card" },
    h("div", { class: "row" },
      field("max_in_flight", "max_in_flight (fleet-wide)", 1),
      field("max_in_flight_per_realm", "max_in_flight_per_realm (fleet-wide)", 1),
      field("rate_limit", "rate_limit /s (fleet-wide)", 0.001),
      h("button", { class: "primary", id: "apply-limits", onclick: () => act("Apply these fleet-wide limits? They are divided among the live sidecars.", subPath(d.backend, d.name) + "/limits", "PUT",
        { max_in_flight: read("max_in_flight"), max_in_flight_per_realm: read("max_in_flight_per_realm"), rate_limit: read("rate_limit") }, () => "Limits set.") }, "Apply limits"),
      h("button", { id: "clear-limits", onclick: () => act("Remove every limit override (back to ferry.toml)?", subPath(d.backend, d.name) + "/limits", "PUT",
        { max_in_flight: null, max_in_flight_per_realm: null, rate_limit: null }, () => "Overrides removed.") }, "Clear overrides")),
    h("div", { class: "muted" }, `Configured over the live sidecars: ${limitText(d.configured)} · applied now: ${limitText(d.effective)}`));
}

function drawChart(series) {
  const el = document.getElementById("realm-chart");
  if (chart) { chart.destroy(); chart = null; }
  if (!el || !window.uPlot || !series.lines.length) {
    if (el) el.textContent = "No throughput in this window yet.";
    return;
  }
  const palette = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#64748b"];
  const opts = {
    width: Math.max(320, el.clientWidth - 16), height: 240,
    series: [{}, ...series.lines.map(([name], i) => ({ label: name || "(none)", stroke: palette[i % palette.length], width: 2 }))],
    axes: [{}, { label: "done / min" }],
    scales: { x: { time: true } },
  };
  chart = new uPlot(opts, [series.times, ...series.lines.map(([, v]) => v)], el);
}

async function subscription(backend, name) {
  const d = await api(subPath(backend, name) + "?minutes=60");
  const c = d.queue_state && d.queue_state.counts;
  const paused = !!(d.controls && d.controls.paused);
  const realmRows = d.realms.map((r) =>
    h("tr", { "data-realm": r.realm },
      h("td", {}, h("a", { href: `#/realm/${enc(r.realm)}` }, r.realm || "(none)"), r.paused ? h("span", { class: "badge state-paused" }, "paused") : null),
      h("td", {}, bar(r.share), h("span", { class: "muted" }, pct(r.share))),
      h("td", { class: "num" }, r.in_flight), h("td", { class: "num" }, r.done), h("td", { class: "num" }, r.retried),
      h("td", { class: "num" }, r.dead_lettered), h("td", { class: "num" }, fmt(r.handling_ms / 1000, 1) + " s"),
      h("td", { class: "num" }, ms(r.p50_ms)), h("td", { class: "num" }, ms(r.p95_ms)),
      h("td", {}, r.paused
        ? h("button", { "data-action": "resume-realm", onclick: () => act(`Resume realm ${r.realm || "(none)"} on ${name}?`, `${subPath(backend, name)}/realms/${enc(r.realm)}/resume`, "POST", {}, () => "Realm resumed.") }, "Resume realm")
        : h("button", { "data-action": "pause-realm", onclick: () => act(`Pause realm ${r.realm || "(none)"} on ${name}? Its messages are handed back (uncounted) until resumed.`, `${subPath(backend, name)}/realms/${enc(r.realm)}/pause`, "POST", {}, () => "Realm paused.") }, "Pause realm"))));
  const pauseRealm = h("input", { id: "pause-realm-name", placeholder: "realm to pause" });
  const view = [
    h("h1", {}, name, " ", badge(d.state), h("span", { class: "muted" }, `  on ${d.backend} (${d.backend_kind}) · ${d.queue} → ${d.error_queue}`)),
    h("div", { class: "row" },
      paused
        ? h("button", { class: "primary", id: "resume", onclick: () => act(`Resume ${name} on every sidecar?`, subPath(backend, name) + "/resume", "POST", {}, () => "Resumed.") }, "Resume subscription")
        : h("button", { class: "danger", id: "pause", onclick: () => act(`Pause ${name} on every sidecar? Calls in flight finish.`, subPath(backend, name) + "/pause", "POST", {}, () => "Paused.") }, "Pause subscription"),
      h("a", { href: `#/dlq/${enc(backend)}/${enc(name)}` }, "Dead letters"),
      pauseRealm,
      h("button", { onclick: () => pauseRealm.value && act(`Pause realm ${pauseRealm.value} on ${name}?`, `${subPath(backend, name)}/realms/${enc(pauseRealm.value)}/pause`, "POST", {}, () => "Realm paused.") }, "Pause realm")),
    h("div", { class: "grid" },
      [["Ready", c ? (sampledNote(d.queue_state) ? "~" + c.ready : c.ready) : "–"], ["In flight", c && !sampledNote(d.queue_state) ? c.in_flight : d.in_flight], ["Delayed", c ? c.delayed : "–"], ["Dead", c ? c.dead : "–"],
        ["Done/s", fmt(d.done_per_second, 2)], ["Failures (5 min)", pct(d.failure_rate)], ["p50 / p95", `${ms(d.p50_ms)} / ${ms(d.p95_ms)}`],
        ["Sidecars", `${d.sidecars_live} live, ${d.sidecars_stale} stale`]].map(([k, v]) => h("div", { class: "stat" }, h("b", {}, v), h("span", {}, k)))),
    d.queue_state && d.queue_state.error ? h("p", { class: "muted" }, "Queue counts: " + d.queue_state.error) : null,
    sampledNote(d.queue_state) ? h("p", { class: "muted", id: "sampled" }, sampledNote(d.queue_state)) : null,
    h("h2", {}, "Controls"),
    h("ul", { id: "overrides" }, overrides(d.controls).map((o) => h("li", { class: "override" }, o)).concat(overrides(d.controls).length ? [] : [h("li", { class: "muted" }, "No override: every sidecar runs as configured.")])),
    limitsForm(d),
    h("h2", {}, "Realms by share of handling time (last hour)"),
    h("table", { id: "realms" }, h("thead", {}, h("tr", {}, h("th", {}, "Realm"), h("th", {}, "Share"),
      ["In flight", "Done", "Retried", "Dead", "Handling", "p50", "p95"].map((t) => h("th", { class: "num" }, t)), h("th", {}, ""))),
      h("tbody", {}, realmRows.length ? realmRows : h("tr", {}, h("td", { colspan: 10, class: "muted" }, "Nothing settled in the last hour.")))),
    h("h2", {}, "Throughput per realm (done per minute)"),
    h("div", { class: "chart", id: "realm-chart" }),
    d.queue_state && d.queue_state.partitions && d.queue_state.partitions.length
      ? [h("h2", {}, "Partition queues"), h("table", { id: "partitions" }, h("thead", {}, h("tr", {}, h("th", {}, "Queue"), ["Ready", "In flight", "Delayed"].map((t) => h("th", { class: "num" }, t)))),
          h("tbody", {}, d.queue_state.partitions.map((p) => h("tr", {}, h("td", {}, p.queue), h("td", { class: "num" }, p.ready), h("td", { class: "num" }, p.in_flight), h("td", { class: "num" }, p.delayed)))))]
      : null,
    h("h2", {}, "Sidecars"),
    sidecarTable(d.sidecars),
  ];
  setTimeout(() => drawChart(d.series), 0);
  return view;
}

function sidecarTable(rows) {
  return h("table", { id: "sidecars" },
    h("thead", {}, h("tr", {}, ["Sidecar", "Service", "Backend", "State", "Worker", "Last beat", "Applied"].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows.map((s) => h("tr", { "data-sidecar": s.sidecar },
      h("td", {}, `${s.host} (pid ${s.pid})`, h("div", { class: "muted" }, s.sidecar.slice(0, 8))),
      h("td", {}, s.service, s.service_version ? ` ${s.service_version}` : "", h("div", { class: "muted" }, `ferry ${s.ferry_version}`)),
      h("td", {}, s.backend),
      h("td", {}, badge(s.draining ? "stale" : s.live ? "running" : "stale"), s.draining ? " draining" : ""),
      h("td", {}, s.worker_serving ? "serving" : "not serving"),
      h("td", {}, when(s.last_seen_ms)),
      h("td", {}, s.subscriptions.map((x) => h("div", {}, `${x.name}: ${x.in_flight} running · ${limitText(x.effective)}${x.paused ? " · paused" : ""}${x.paused_realms.length ? " · paused realms " + x.paused_realms.join(", ") : ""}`)))))));
}

async function deadLetters(backend, name) {
  const d = await api(subPath(backend, name) + "/dead-letters?limit=100");
  const base = subPath(backend, name) + "/dead-letters";
  const selected = () => [...document.querySelectorAll("input.pick:checked")].map((i) => i.value);
  const rows = d.dead_letters.map((l) =>
    h("tr", { "data-dead-letter": l.id },
      h("td", {}, h("input", { type: "checkbox", class: "pick", value: l.id, "aria-label": "select " + l.id })),
      h("td", {}, h("a", { href: `#/message/${enc(l.story.message_id || l.id)}` }, l.id),
        h("div", { class: "muted" }, `from ${l.story.source_queue || "?"} after ${l.story.attempts || "?"} attempt(s) [${l.story.reason || "?"}]`)),
      h("td", {}, h("div", {}, l.story.last_error || ""), h("div", { class: "muted" }, `first failure ${l.story.first_failure_at || "?"}, last ${l.story.last_failure_at || "?"}`),
        Object.keys(l.attributes).length ? h("div", { class: "muted" }, Object.entries(l.attributes).map(([k, v]) => `${k}=${v}`).join("  ")) : null),
      h("td", {}, h("div", { class: "muted" }, `${l.payload.kind}, ${l.payload.bytes} bytes${l.payload.truncated ? " (cut)" : ""}`), h("pre", {}, l.payload.text)),
      h("td", {},
        h("button", { "data-action": "redrive", onclick: () => act(`Redrive dead letter ${l.id} to ${l.story.source_queue || "its queue"}?`, base + "/redrive", "POST", { ids: [l.id] }, (r) => `Redriven: ${r.redriven}.`) }, "Redrive"), " ",
        h("button", { class: "danger", "data-action": "delete", onclick: () => act(`Delete dead letter ${l.id} for good?`, base + "/delete", "POST", { ids: [l.id] }, (r) => `Deleted: ${r.deleted}.`) }, "Delete"))));
  return [
    h("h1", {}, "Dead letters of ", h("a", { href: `#/s/${enc(backend)}/${enc(name)}` }, name), h("span", { class: "muted" }, `  ${d.error_queue} · ${d.dead_letters.length} shown`)),
    h("div", { class: "row" },
      h("button", { id: "redrive-selected", onclick: () => { const ids = selected(); if (ids.length) act(`Redrive ${ids.length} selected dead letter(s)?`, base + "/redrive", "POST", { ids }, (r) => `Redriven: ${r.redriven}.`); } }, "Redrive selected"),
      h("button", { id: "redrive-all", onclick: () => act(`Redrive every dead letter of ${d.error_queue}?`, base + "/redrive", "POST", { all: true }, (r) => `Redriven: ${r.redriven}.`) }, "Redrive all"),
      h("button", { class: "danger", id: "purge", onclick: () => { const typed = window.prompt(`Purge deletes every dead letter of ${d.error_queue}. Type its name to confirm:`); if (typed) act(null, base + "/purge", "POST", { confirm: typed }, (r) => `Purged: ${r.purged}.`); } }, "Purge")),
    h("table", { id: "dead-letters" }, h("thead", {}, h("tr", {}, ["", "Id", "Story", "Payload", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No dead letters.")))),
  ];
}

async function realm(name) {
  const d = await api(`/api/v1/realms/${enc(name)}?minutes=60`);
  return [
    h("h1", {}, "Realm ", name || "(none)", h("span", { class: "muted" }, "  across every subscription, last hour")),
    h("table", { id: "realm-subscriptions" }, h("thead", {}, h("tr", {}, h("th", {}, "Subscription"), ["In flight", "Done", "Retried", "Dead", "Handling", "p95"].map((t) => h("th", { class: "num" }, t)), h("th", {}, ""))),
      h("tbody", {}, d.subscriptions.map((s) => h("tr", { "data-subscription": `${s.backend}/${s.name}` },
        h("td", {}, h("a", { href: `#/s/${enc(s.backend)}/${enc(s.name)}` }, `${s.backend}/${s.name}`), s.paused ? h("span", { class: "badge state-paused" }, "paused") : null),
        h("td", { class: "num" }, s.in_flight), h("td", { class: "num", "data-col": "done" }, s.done), h("td", { class: "num" }, s.retried), h("td", { class: "num" }, s.dead_lettered),
        h("td", { class: "num" }, fmt(s.handling_ms / 1000, 1) + " s"), h("td", { class: "num" }, ms(s.p95_ms)),
        h("td", {}, s.paused
          ? h("button", { "data-action": "resume-realm", onclick: () => act(`Resume realm ${name} on ${s.name}?`, `${subPath(s.backend, s.name)}/realms/${enc(name)}/resume`, "POST", {}) }, "Resume")
          : h("button", { "data-action": "pause-realm", onclick: () => act(`Pause realm ${name} on ${s.name}?`, `${subPath(s.backend, s.name)}/realms/${enc(name)}/pause`, "POST", {}) }, "Pause")))))),
  ];
}

async function realms() {
  const d = await api("/api/v1/realms?minutes=60");
  return [
    h("h1", {}, "Realms by handling time", h("span", { class: "muted" }, "  the whole fleet, last hour: who consumes most")),
    h("table", { id: "top-realms" }, h("thead", {}, h("tr", {}, h("th", {}, "Realm"), h("th", {}, "Share"), ["Done", "Retried", "Dead", "Handling", "p95"].map((t) => h("th", { class: "num" }, t)))),
      h("tbody", {}, d.realms.map((r) => h("tr", { "data-realm": r.realm },
        h("td", {}, h("a", { href: `#/realm/${enc(r.realm)}` }, r.realm || "(none)")), h("td", {}, bar(r.share), h("span", { class: "muted" }, pct(r.share))),
        h("td", { class: "num" }, r.done), h("td", { class: "num" }, r.retried), h("td", { class: "num" }, r.dead_lettered),
        h("td", { class: "num" }, fmt(r.handling_ms / 1000, 1) + " s"), h("td", { class: "num" }, ms(r.p95_ms)))))),
  ];
}

async function message(id) {
  try {
    const d = await api(`/api/v1/messages/${enc(id)}`);
    return [
      h("h1", {}, "Message ", id, h("span", { class: "muted" }, `  ${d.events.length} events from ${d.source}`)),
      h("table", { id: "story" }, h("thead", {}, h("tr", {}, ["Time", "Action", "Subscription", "Realm", "Attempt", "Message"].map((t) => h("th", {}, t)))),
        h("tbody", {}, d.events.map((e) => h("tr", {}, h("td", {}, e["@timestamp"] || ""), h("td", {}, e["event.action"] || ""), h("td", {}, e["ferry.subscription"] || ""),
          h("td", {}, e["ferry.realm"] || ""), h("td", {}, e["ferry.attempt"] || ""), h("td", {}, e.message || "", e["error.message"] ? h("div", { class: "muted" }, e["error.message"]) : null))))),
    ];
  } catch (e) {
    if (e.status === 501) return [h("h1", {}, "Message ", id), h("p", { class: "muted", id: "story-unavailable" }, e.message)];
    throw e;
  }
}

async function publish() {
  const b = await api("/api/v1/backends");
  const form = h("form", { class: "card", id: "publish-form" },
    h("div", { class: "row" },
      h("label", {}, "Backend", h("select", { name: "backend" }, b.backends.map((x) => h("option", { value: x.name }, `${x.name} (${x.kind})`)))),
      h("label", {}, "Queue", h("input", { name: "queue", required: true, placeholder: "BlastCustomerSender" })),
      h("label", {}, "Realm", h("input", { name: "realm", placeholder: "acme" })),
      h("label", {}, "Delay (ms)", h("input", { name: "delay_ms", type: "number", min: 0 }))),
    h("label", {}, "Attributes (KEY=VALUE, one a line)", h("textarea", { name: "attributes", rows: 3, cols: 60 })),
    h("label", {}, "Payload", h("textarea", { name: "payload", rows: 8, cols: 100, placeholder: '{"customer": "c-42"}' })),
    h("button", { class: "primary", type: "submit" }, "Publish"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const attributes = {};
    for (const line of String(f.get("attributes") || "").split("\n")) {
      const i = line.indexOf("=");
      if (i > 0) attributes[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    const body = { backend: f.get("backend"), queue: f.get("queue"), payload: f.get("payload") || "", attributes };
    if (f.get("realm")) body.realm = f.get("realm");
    if (f.get("delay_ms")) body.delay_ms = Number(f.get("delay_ms"));
    if (!window.confirm(`Publish this message to ${body.queue} on ${body.backend}?`)) return;
    try {
      const r = await api("/api/v1/publish", "POST", body);
      toast(`Published: ${r.ids.join(", ")}`);
    } catch (e) {
      toast(e.message, true);
    }
  });
  return [h("h1", {}, "Publish a message"), form];
}

async function controls() {
  const [c, a] = await Promise.all([api("/api/v1/controls"), api("/api/v1/audit?limit=200")]);
  return [
    h("h1", {}, "Controls in force"),
    h("table", { id: "active-controls" }, h("thead", {}, h("tr", {}, h("th", {}, "Subscription"), h("th", {}, "Override, who set it"))),
      h("tbody", {}, c.controls.length ? c.controls.map((x) => h("tr", {}, h("td", {}, h("a", { href: `#/s/${enc(x.backend)}/${enc(x.name)}` }, `${x.backend}/${x.name}`)),
        h("td", {}, overrides(x.controls).map((o) => h("div", { class: "override" }, o))))) : h("tr", {}, h("td", { colspan: 2, class: "muted" }, "None: every sidecar runs as configured.")))),
    h("h2", {}, "Audit log"),
    h("table", { id: "audit" }, h("thead", {}, h("tr", {}, ["When", "Who", "From", "Action", "Target", "Details", "Outcome"].map((t) => h("th", {}, t)))),
      h("tbody", {}, a.audit.map((e) => h("tr", {}, h("td", {}, when(e.at_ms)), h("td", {}, e.actor), h("td", {}, e.peer), h("td", {}, e.action), h("td", {}, e.target), h("td", {}, h("code", {}, e.detail)), h("td", {}, e.outcome))))),
  ];
}

function login(reason) {
  const input = h("input", { type: "password", id: "token", placeholder: "console token", autocomplete: "current-password" });
  const who = h("input", { id: "actor", placeholder: "your name (for the audit log)", value: localStorage.getItem("ferry.actor") || "" });
  const form = h("form", { class: "card" }, h("p", {}, reason), input, " ", who, " ", h("button", { class: "primary", type: "submit" }, "Sign in"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem("ferry.token", input.value);
    if (who.value) localStorage.setItem("ferry.actor", who.value);
    route();
  });
  return [h("h1", {}, "Sign in"), form];
}

// --- routing -------------------------------------------------------------------------

async function route() {
  clearTimeout(timer);
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const page = parts[0] || "overview";
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", a.dataset.nav === page || (page === "s" && a.dataset.nav === "overview"));
  let live = true;
  let view;
  try {
    if (!session) {
      session = await api("/api/v1/session");
      document.getElementById("session").textContent = `ferry ${session.ferry_version}${session.read_only ? " · read-only" : ""}`;
    }
    switch (page) {
      case "overview": view = await overview(); break;
      case "s": view = await subscription(parts[1], parts[2]); break;
      case "dlq": view = await deadLetters(parts[1], parts[2]); live = false; break;
      case "realm": view = await realm(parts[1] || ""); break;
      case "realms": view = await realms(); break;
      case "message": view = await message(parts[1] || ""); live = false; break;
      case "publish": view = await publish(); live = false; break;
      case "controls": view = await controls(); break;
      default: view = [h("h1", {}, "Not found"), h("a", { href: "#/" }, "Overview")]; live = false;
    }
  } catch (e) {
    if (e.status === 401) {
      session = null;
      view = login(e.message);
      live = false;
    } else {
      view = [h("h1", {}, "Error"), h("p", { class: "muted", id: "error" }, e.message)];
    }
  }
  // Keep what a person typed (and the focus and caret) across live refreshes of a page.
  const typed = {};
  if (location.hash === route.lastHash) {
    for (const el of main.querySelectorAll("input[id], select[id], textarea[id]")) if (el.dataset.dirty) typed[el.id] = el.value;
  }
  route.lastHash = location.hash;
  const focused = document.activeElement && document.activeElement.id;
  const caret = focused && document.activeElement.selectionStart;
  main.replaceChildren(...[view].flat(Infinity).filter(Boolean));
  for (const [id, value] of Object.entries(typed)) {
    const el = document.getElementById(id);
    if (el) {
      el.value = value;
      el.dataset.dirty = "1";
    }
  }
  if (focused) {
    const el = document.getElementById(focused);
    if (el) {
      el.focus();
      if (caret !== null && caret !== undefined && el.setSelectionRange) el.setSelectionRange(caret, caret);
    }
  }
  main.dataset.page = page;
  main.dataset.rendered = String(Date.now());
  if (live) timer = setTimeout(route, REFRESH_MS);
}

document.getElementById("message-search").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const id = document.getElementById("message-id").value.trim();
  if (id) location.hash = `#/message/${enc(id)}`;
});
main.addEventListener("input", (ev) => {
  if (ev.target.id) ev.target.dataset.dirty = "1";
});
window.addEventListener("hashchange", route);
route();
