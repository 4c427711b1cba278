// The local server's dashboard: devices and their state, latest telemetry and a chart per key, the attribute
// editor, server-side RPC, firmware updates and the CoAP exchanges, kept live by the server's event stream
// (GET /api/live). Everything a device or a user wrote is put on the page as text, never as markup.
import * as api from "./api.mjs";
import { TimeChart } from "./chart.mjs";

/** An element of index.html by id (each is of the kind the page uses it as: a table, a form, an input). @returns {any} */
const $ = (id) => document.getElementById(id);
/** @returns {HTMLElement[]} */
const all = (selector) => /** @type {HTMLElement[]} */ ([...document.querySelectorAll(selector)]);
const MAX_EXCHANGE_ROWS = 200;
const FW_DONE = new Set(["DOWNLOADED", "VERIFIED", "UPDATING", "UPDATED"]);
// Numbers ThingsBoard's OTA bookkeeping stores as telemetry (target_fw_ts...) are not readings: no chart for them.
const charted = (key, value) => typeof value === "number" && !/^(target_|current_)?(fw|sw)_/.test(key);

const state = {
  devices: new Map(), // id -> {device, active, lastSeen}
  selected: null,
  charts: new Map(), // key -> TimeChart
  readingTimes: [], // distinct reading timestamps of the selected device, ascending
  range: "all",
  token: null,
};

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

function notice(text) {
  $("notice").textContent = text;
  $("notice").hidden = !text;
}

async function attempt(what, fn) {
  try {
    notice("");
    return await fn();
  } catch (e) {
    notice(`${what}: ${e.message}`);
    return undefined;
  }
}

const pad = (n) => String(n).padStart(2, "0");
function timeText(ts) {
  const d = new Date(ts);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return d.toDateString() === new Date().toDateString() ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}
function agoText(ts) {
  if (!ts) return "never seen";
  const s = Math.max(0, Math.round((Date.now() - ts) / 1000));
  if (s < 60) return `seen ${s} s ago`;
  if (s < 3600) return `seen ${Math.floor(s / 60)} min ago`;
  return `seen ${timeText(ts)}`;
}
const valueText = (v) => (typeof v === "string" ? v : JSON.stringify(v));
const bytesText = (n) => (n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} kB`);

// --- the device list --------------------------------------------------------------------------------------------

async function loadDevices() {
  const list = await api.devices();
  const known = new Map();
  for (const d of list) {
    const old = state.devices.get(d.id.id);
    known.set(d.id.id, { device: d, active: old?.active ?? false, lastSeen: old?.lastSeen ?? 0 });
  }
  state.devices = known;
  await Promise.all([...known.keys()].map(loadActivity));
  renderDevices();
  if (state.selected && !known.has(state.selected)) select(null);
  if (!state.selected) {
    const wanted = new URLSearchParams(location.hash.slice(1)).get("device");
    const first = known.has(wanted) ? wanted : known.keys().next().value;
    if (first) select(first);
  }
}

async function loadActivity(id) {
  const entry = state.devices.get(id);
  if (!entry) return;
  const attrs = await api.attributes(id, "SERVER_SCOPE");
  for (const a of attrs) {
    if (a.key === "active") entry.active = a.value === true || a.value === "true";
    if (a.key === "lastActivityTime") entry.lastSeen = Math.max(entry.lastSeen, Number(a.value));
  }
}

/** Updates the list in place (a button being clicked is never replaced under the pointer). */
function renderDevices() {
  const ul = $("devices");
  for (const li of /** @type {HTMLElement[]} */ ([...ul.children])) if (!state.devices.has(li.dataset.id)) li.remove();
  for (const [id, { device, active, lastSeen }] of state.devices) {
    let li = /** @type {HTMLElement[]} */ ([...ul.children]).find((x) => x.dataset.id === id);
    if (!li) {
      li = el("li", { "data-id": id },
        el("button", { type: "button", onclick: () => select(id) },
          el("span", { class: "name" }, el("span", { class: "dot" }), el("span", { class: "label" })), el("span", { class: "seen" })));
      ul.append(li);
    }
    const button = li.firstElementChild;
    button.setAttribute("aria-current", String(id === state.selected));
    button.querySelector(".label").textContent = device.name;
    button.querySelector(".dot").className = `dot${active ? " online" : ""}`;
    button.querySelector(".seen").textContent = `${active ? "online" : "offline"} · ${agoText(lastSeen)}`;
  }
  $("no-devices").hidden = state.devices.size > 0;
  const cur = state.devices.get(state.selected);
  if (cur) {
    $("device-state").textContent = cur.active ? "online" : "offline";
    $("device-state").className = `state ${cur.active ? "online" : "offline"}`;
    $("device-seen").textContent = agoText(cur.lastSeen);
  }
}

function select(id) {
  state.selected = id;
  history.replaceState(null, "", id ? `#device=${encodeURIComponent(id)}` : "#");
  $("device").hidden = !id;
  renderDevices();
  if (id) showDevice(id);
}

// --- the selected device -------------------------------------------------------------------------------------------

async function showDevice(id) {
  const entry = state.devices.get(id);
  $("device-name").textContent = entry.device.name;
  state.token = null;
  showToken();
  for (const c of state.charts.values()) c.destroy();
  state.charts.clear();
  state.readingTimes = [];
  $("clock-note").hidden = true;
  $("latest").tBodies[0].replaceChildren();
  $("exchanges").tBodies[0].replaceChildren();
  $("fw-history").replaceChildren();
  setProgress(0, 0);
  $("rpc-status").textContent = "";
  $("rpc-result").textContent = "";
  await attempt("loading the device", async () => {
    const [latest, keys, log] = await Promise.all([api.latestTelemetry(id), api.telemetryKeys(id), api.exchanges(id)]);
    if (state.selected !== id) return;
    showLatest(latest);
    const numeric = keys.filter((k) => latest[k] && charted(k, latest[k][0].value));
    const past = await api.history(id, [...numeric, ...(keys.includes("fw_state") ? ["fw_state"] : [])]);
    if (state.selected !== id) return;
    for (const k of numeric) addPoints(k, past[k] ?? []);
    for (const p of past.fw_state ?? []) fwState(p.value, p.ts);
    showPace();
    for (const x of log) addExchange(x);
    await loadAttributes(id);
  });
}

function showLatest(values) {
  const body = $("latest").tBodies[0];
  for (const [key, [{ ts, value }]] of Object.entries(values)) {
    let row = body.querySelector(`tr[data-key="${CSS.escape(key)}"]`);
    if (!row) {
      row = el("tr", { "data-key": key }, el("td", {}, key), el("td", { class: "value" }), el("td", { class: "time" }));
      const after = [...body.rows].find((r) => r.dataset.key > key);
      body.insertBefore(row, after ?? null);
    }
    row.cells[1].textContent = valueText(value);
    row.cells[2].textContent = timeText(ts);
  }
  const title = values.current_fw_title?.[0].value, version = values.current_fw_version?.[0].value;
  if (title || version) showRunning(title, version);
  if (values.fw_state) fwState(values.fw_state[0].value, values.fw_state[0].ts);
}

function addPoints(key, points) {
  let chart = state.charts.get(key);
  if (!chart) {
    chart = new TimeChart($("charts"), key, state.charts.size);
    chart.range = state.range;
    state.charts.set(key, chart);
  }
  chart.add(points);
  for (const p of points) addReadingTime(p.ts);
}

function addReadingTime(ts) {
  if (ts > Date.now() + 60_000) $("clock-note").hidden = false;
  const t = state.readingTimes;
  if (t.length === 0 || ts > t[t.length - 1]) t.push(ts);
  else if (!t.includes(ts)) { t.push(ts); t.sort((a, b) => a - b); }
  if (t.length > 50) t.shift();
}

/** The node's pace: the median gap between its last readings (by their own timestamps). */
function showPace() {
  const t = state.readingTimes.slice(-6);
  const gaps = t.slice(1).map((v, i) => v - t[i]).sort((a, b) => a - b);
  $("pace").textContent = gaps.length ? `A reading every ${Math.round(gaps[gaps.length >> 1] / 100) / 10} s (median of the last ${gaps.length} gaps, by the node's clock)` : "";
}

function setRange(range) {
  state.range = range;
  for (const b of all(".ranges button")) b.setAttribute("aria-pressed", String(b.dataset.range === range));
  for (const c of state.charts.values()) c.setRange(range);
}

async function loadAttributes(id) {
  const all = await Promise.all(api.SCOPES.map((s) => api.attributes(id, s)));
  if (state.selected !== id) return;
  const client = Object.fromEntries(all[0].map((a) => [a.key, a.value]));
  if (client.fw_title || client.fw_version) showRunning(client.fw_title, client.fw_version);
  api.SCOPES.forEach((scope, i) => {
    const body = $(`attr-${scope}`).tBodies[0];
    body.replaceChildren(...all[i].map((a) => attributeRow(id, scope, a)));
    if (all[i].length === 0) body.append(el("tr", {}, el("td", { class: "hint" }, "none")));
  });
}

const showRunning = (title, version) => { $("fw-current").textContent = `${title ?? "?"} ${version ?? "?"}`; };

function attributeRow(id, scope, { key, value, lastUpdateTs }) {
  // ThingsBoard's activity times are milliseconds since the epoch: shown as times too.
  const text = valueText(value);
  if (scope !== "SHARED_SCOPE") {
    const when = /Time$/.test(key) && Number(value) > 0 ? ` (${timeText(Number(value))})` : "";
    return el("tr", { "data-key": key }, el("td", {}, key), el("td", {}, el("code", {}, text + when)), el("td", { class: "hint" }, timeText(lastUpdateTs)));
  }
  const input = el("input", { value: typeof value === "string" ? JSON.stringify(value) : text, "aria-label": `${key} value` });
  return el("tr", { "data-key": key }, el("td", {}, key), el("td", {}, input),
    el("td", {},
      el("button", { type: "button", onclick: () => attempt(`saving ${key}`, () => api.saveShared(id, key, input.value)) }, "Save"), " ",
      el("button", { type: "button", onclick: () => attempt(`deleting ${key}`, () => api.deleteShared(id, key)) }, "Delete")));
}

function showToken() {
  $("token").textContent = state.token ?? "hidden";
  $("reveal-token").textContent = state.token ? "Hide" : "Reveal";
}

async function toggleToken() {
  if (state.token) { state.token = null; return showToken(); }
  const c = await attempt("reading the credentials", () => api.credentials(state.selected));
  if (!c) return;
  state.token = c.credentialsType === "ACCESS_TOKEN" ? c.credentialsId : `X.509 certificate (SHA3-256 ${c.credentialsId})`;
  showToken();
}

async function sendRpc(form) {
  const id = state.selected;
  const f = new FormData(form);
  let params;
  try {
    params = JSON.parse(String(f.get("params") || "null"));
  } catch (e) {
    return notice(`RPC params are not JSON: ${e.message}`);
  }
  const method = f.get("method");
  $("rpc-status").textContent = `${method}: sent, waiting for the device…`;
  $("rpc-status").className = "status";
  $("rpc-result").textContent = "";
  try {
    const answer = await api.rpc(id, { method, params, timeoutMs: Number(f.get("timeout")) * 1000, oneway: f.get("oneway") === "on" });
    if (state.selected !== id) return;
    $("rpc-status").textContent = `${method}: ${f.get("oneway") ? "delivered" : "answered"}`;
    $("rpc-result").textContent = answer === undefined ? "" : JSON.stringify(answer, null, 2);
  } catch (e) {
    $("rpc-status").textContent = `${method}: no answer (${e.message})`;
    $("rpc-status").className = "status error";
  }
}

async function pushFirmware(form) {
  const f = new FormData(form);
  const file = f.get("file");
  const info = await attempt("firmware update", () => api.pushFirmware(state.selected, { file, title: f.get("title"), version: f.get("version") }));
  if (info) $("fw-history").append(el("li", { "data-ts": String(Date.now()) }, `${timeText(Date.now())} uploaded ${info.title} ${info.version} (${bytesText(info.dataSize)}, SHA-256 ${info.checksum.slice(0, 12)}…) and assigned`));
}

function fwState(value, ts) {
  $("fw-state").textContent = value;
  const items = $("fw-history");
  if (items.querySelector(`li[data-ts="${ts}"]`)) return;
  const after = [...items.children].find((li) => Number(li.dataset.ts) > ts);
  items.insertBefore(el("li", { "data-ts": String(ts) }, `${timeText(ts)} ${value}`), after ?? null);
  const total = Number($("fw-progress").dataset.total);
  if (FW_DONE.has(value) && total) setProgress(total, total);
  if (value === "QUEUED" || value === "INITIATED" || value === "DOWNLOADING") setProgress(0, 0);
}

function setProgress(sent, total) {
  $("fw-progress").value = total ? sent / total : 0;
  $("fw-progress").dataset.total = String(total);
  $("fw-progress-text").textContent = total ? `${bytesText(sent)} of ${bytesText(total)}` : "";
}

function addExchange(x) {
  const body = $("exchanges").tBodies[0];
  body.prepend(el("tr", {},
    el("td", {}, timeText(x.ts)), el("td", {}, x.type), el("td", {}, x.method),
    el("td", {}, x.path + (x.observe !== null ? ` (Observe ${x.observe})` : "")), el("td", {}, x.code),
    el("td", {}, `${x.requestBytes}/${x.responseBytes}`)));
  while (body.rows.length > MAX_EXCHANGE_ROWS) body.lastElementChild.remove();
}

// --- live updates -------------------------------------------------------------------------------------------------

/** What the page does on each event of the live stream (host/server/live.mjs), given its JSON. @type {Record<string, (event: any) => void>} */
const onEvent = {
  device: () => attempt("loading the devices", loadDevices),
  attributes: async ({ deviceId, scope }) => {
    if (scope === "SERVER_SCOPE" && state.devices.has(deviceId)) { await loadActivity(deviceId); renderDevices(); }
    if (deviceId === state.selected) await loadAttributes(deviceId);
  },
  telemetry: ({ deviceId, batches }) => {
    if (deviceId !== state.selected) return;
    for (const { ts, values } of batches) {
      showLatest(Object.fromEntries(Object.entries(values).map(([k, v]) => [k, [{ ts, value: v }]])));
      for (const [k, v] of Object.entries(values)) if (charted(k, v)) addPoints(k, [{ ts, value: v }]);
    }
    showPace();
  },
  otaProgress: ({ deviceId, sent, total }) => { if (deviceId === state.selected) setProgress(sent, total); },
  coap: (x) => {
    const d = state.devices.get(x.deviceId);
    if (d) { d.lastSeen = Math.max(d.lastSeen, x.ts); renderDevices(); }
    if (x.deviceId === state.selected) addExchange(x);
  },
};

function connect() {
  const source = new EventSource("/api/live");
  source.onopen = () => {
    $("live").textContent = "live";
    $("live").className = "live on";
    attempt("loading the devices", loadDevices);
  };
  source.onerror = () => {
    $("live").textContent = "server unreachable, retrying…";
    $("live").className = "live";
  };
  for (const [name, handle] of Object.entries(onEvent)) source.addEventListener(name, (/** @type {MessageEvent} */ e) => handle(JSON.parse(e.data)));
}

$("reveal-token").addEventListener("click", toggleToken);
for (const b of all(".ranges button")) b.addEventListener("click", () => setRange(b.dataset.range));
$("shared-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = /** @type {HTMLFormElement} */ (e.target);
  const f = new FormData(form);
  const saved = await attempt(`saving ${f.get("key")}`, async () => { await api.saveShared(state.selected, f.get("key"), f.get("value")); return true; });
  if (saved) form.reset();
});
$("rpc-form").addEventListener("submit", (e) => { e.preventDefault(); sendRpc(/** @type {HTMLFormElement} */ (e.target)); });
$("ota-form").addEventListener("submit", (e) => { e.preventDefault(); pushFirmware(e.target); });
window.addEventListener("resize", () => { for (const c of state.charts.values()) c.resize($("charts").clientWidth); });
setInterval(renderDevices, 1000);
connect();
