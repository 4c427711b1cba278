// The local ThingsBoard-compatible server (host/server) a HIL run reports to, and a small client of its HTTP API:
// devices, telemetry history, attributes, server-side RPC and firmware packages.
import { startServer } from "../server/index.mjs";

/** `options` go to startServer (DTLS port and certificates, ThingsBoard's timers, client-side RPC handlers...). */
export async function startHilServer({ host = "127.0.0.1", port = 0, ...options } = {}) {
  const server = await startServer({ port, host, dbFile: ":memory:", logLevel: "silent", ...options });
  const api = async (method, path, body, { raw = false } = {}) => {
    const res = await fetch(server.httpUrl + path, {
      method,
      headers: body === undefined || raw ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
      throw Object.assign(new Error(`${method} ${path.replace(/accessToken=[^&]*/, "accessToken=<hidden>")}: HTTP ${res.status} ${text}`), { status: res.status });
    }
    return text ? JSON.parse(text) : null;
  };
  return {
    server,
    port: server.coapPort,
    api,
    close: () => server.close(),
    async createDevice(name, token) {
      const d = await api("POST", `/api/device?accessToken=${encodeURIComponent(token)}`, { name });
      return d.id.id;
    },
    /** Every stored value of `key`, oldest first, as [{ts, value}]. */
    async history(id, key) {
      const r = await api("GET", `/api/plugins/telemetry/DEVICE/${id}/values/timeseries?keys=${key}&startTs=0&endTs=99999999999999&limit=100000&orderBy=ASC&useStrictDataTypes=true`);
      return (r[key] || []).slice().sort((a, b) => a.ts - b.ts);
    },
    /** The latest value of `key`, or undefined. */
    async latest(id, key) {
      const r = await api("GET", `/api/plugins/telemetry/DEVICE/${id}/values/timeseries?keys=${key}&useStrictDataTypes=true`);
      return r[key] ? r[key][0].value : undefined;
    },
    async attributes(id, scope) {
      const list = await api("GET", `/api/plugins/telemetry/DEVICE/${id}/values/attributes/${scope}`);
      return Object.fromEntries(list.map((a) => [a.key, a.value]));
    },
    setShared(id, values) {
      return api("POST", `/api/plugins/telemetry/DEVICE/${id}/attributes/SHARED_SCOPE`, values);
    },
    rpc(id, method, params, timeoutMs) {
      return api("POST", `/api/plugins/rpc/twoway/${id}`, { method, params, timeout: timeoutMs });
    },
    /** Creates a firmware package from `bytes`, with a SHA256 checksum, and assigns it to device `id`. */
    async assignFirmware(id, { title, version, bytes }) {
      const pkg = await api("POST", "/api/otaPackage", { title, version, type: "FIRMWARE" });
      const pkgId = pkg.id.id;
      await api("POST", `/api/otaPackage/${pkgId}?checksumAlgorithm=SHA256`, bytes, { raw: true });
      await api("POST", "/api/device", { id: { id }, firmwareId: { id: pkgId } });
      return pkgId;
    },
  };
}
