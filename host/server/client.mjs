// A client of the local server's HTTP API (host/server/http-api.mjs), for the simulator, the HIL runner and tests:
// devices, telemetry history, attributes, server-side RPC and firmware packages. A failed call throws, naming the
// request (an access token in it hidden) and the server's answer.

/** @param {string} httpUrl the server's HTTP address, such as http://127.0.0.1:8080 */
export function serverClient(httpUrl) {
  const api = async (method, path, body, { raw = false } = {}) => {
    const res = await fetch(httpUrl + path, {
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
    api,
    /** Creates a device with access token `token`; resolves to its id. */
    async createDevice(name, token, { type = "default" } = {}) {
      const d = await api("POST", `/api/device?accessToken=${encodeURIComponent(token)}`, { name, type });
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
