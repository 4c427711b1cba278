// End-to-end set-up for the sensor node: the local ThingsBoard-compatible server and simulated nodes running the
// flashed bundle (dist/sim/firmware.js), talking over real UDP on 127.0.0.1.
import { startServer } from "../host/server/index.mjs";
import { startNode } from "./sim-support.mjs";

/** Resolves when `predicate()` (sync or async) holds, polling every 20 ms for at most `ms` real milliseconds. */
export async function until(predicate, ms = 20000, what = "condition") {
  const end = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The local server (in memory, quiet) and a small client for its HTTP API; stopped after the test. */
export async function startTb(t, options = {}) {
  const server = await startServer({ port: 0, host: "127.0.0.1", dbFile: ":memory:", logLevel: "silent", ...options });
  t.after(() => server.close());
  const api = async (method, path, body) => {
    const res = await fetch(server.httpUrl + path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const tb = {
    server,
    port: server.coapPort,
    api,
    async createDevice(name, token) {
      const d = await api("POST", `/api/device?accessToken=${encodeURIComponent(token)}`, { name });
      return d.id.id;
    },
    /** Every stored value of `key`, oldest first, as [{ts, value}]. */
    async history(id, key) {
      const r = await api("GET", `/api/plugins/telemetry/DEVICE/${id}/values/timeseries?keys=${key}&startTs=0&endTs=99999999999999&limit=100000&orderBy=ASC&useStrictDataTypes=true`);
      return (r[key] || []).slice().sort((a, b) => a.ts - b.ts);
    },
    async latest(id, key) {
      const r = await api("GET", `/api/plugins/telemetry/DEVICE/${id}/values/timeseries?keys=${key}&useStrictDataTypes=true`);
      return r[key] ? r[key][0].value : undefined;
    },
    async attributes(id, scope) {
      const list = await api("GET", `/api/plugins/telemetry/DEVICE/${id}/values/attributes/${scope}`);
      return Object.fromEntries(list.map((a) => [a.key, a.value]));
    },
  };
  return tb;
}

/** A simulated node configured for `tb` (merging `config`), started; `rtcMs: "host"` gives it a set clock. */
export async function startSensorNode(t, tb, { config = {}, ...options } = {}) {
  const node = await startNode(t, {
    rtcMs: "host",
    config: { server: `coap://127.0.0.1:${tb.port}`, intervalS: 60, ...config },
    ...options,
  });
  return node;
}

/** Lines the node printed, from line `from` on. */
export function output(node, from = 0) {
  return node.device.lines.slice(from).join("\n");
}
