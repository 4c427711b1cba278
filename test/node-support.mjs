// End-to-end set-up for the sensor node: the local ThingsBoard-compatible server and simulated nodes running the
// flashed bundle (dist/sim/firmware.js), talking over real UDP on 127.0.0.1.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startHilServer } from "../host/hil/server.mjs";
import { createCa, issueCert } from "../host/dtls/pki.mjs";
import { startNode, until } from "./sim-support.mjs";
import { tempDir } from "./temp-dir.mjs";

export { until };

/**
 * The local server (in memory, quiet) and a client of its HTTP API (host/server/client.mjs); stopped after the
 * test. With `secure`, it also serves CoAP over DTLS with a certificate for 127.0.0.1 from a CA made for the test:
 * `tb.uri` is then its coaps:// address and `tb.caPem` the CA a node must trust.
 */
export async function startTb(t, { secure = false, ...options } = {}) {
  let keys = null;
  if (secure) {
    const dir = tempDir(t, "node-tb-");
    const ca = createCa(dir, "tb-ca");
    const server = issueCert(ca, "tb-server", { cn: "localhost", dns: ["localhost"], ips: ["127.0.0.1"] });
    keys = { ca, server };
    Object.assign(options, { dtlsPort: 0, dtlsCert: server.pem, dtlsKey: server.keyPem });
  }
  const tb = await startHilServer(options);
  t.after(() => tb.close());
  tb.uri = secure ? `coaps://127.0.0.1:${tb.server.dtlsPort}` : `coap://127.0.0.1:${tb.port}`;
  tb.caPem = keys ? keys.ca.pem : undefined;
  tb.keys = keys;
  return tb;
}

/** A simulated node configured for `tb` (merging `config`), started; `rtcMs: "host"` gives it a set clock. */
export async function startSensorNode(t, tb, { config = {}, ...options } = {}) {
  const node = await startNode(t, {
    rtcMs: "host",
    caPem: tb.caPem,
    config: { server: tb.uri, intervalS: 60, ...config },
    ...options,
  });
  return node;
}

/** Lines the node printed, from line `from` on. */
export function output(node, from = 0) {
  return node.device.lines.slice(from).join("\n");
}

/**
 * The sim bundle built as firmware version `version` (the FW_VERSION the build compiles in), as text; `board`
 * changes fields of the sim board file for this build (the bundle then runs on a board of that description).
 */
export async function buildFirmwareVersion(version, { board: changes = {} } = {}) {
  const { build } = await import("../scripts/build.mjs");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-"));
  try {
    const boardsDir = path.join(dir, "boards");
    fs.mkdirSync(boardsDir);
    const sim = JSON.parse(fs.readFileSync(new URL("../boards/sim.json", import.meta.url), "utf8"));
    fs.writeFileSync(path.join(boardsDir, "sim.json"), JSON.stringify({ ...sim, ...changes }));
    await build({ boards: ["sim"], boardsDir, outDir: path.join(dir, "dist"), version, quiet: true });
    return fs.readFileSync(path.join(dir, "dist/sim/firmware.js"), "latin1");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Uploads `code` as firmware `title`/`version` and assigns it to device `id` (which sets the fw_* attributes).
 * `algorithm` picks the checksum; `corrupt` flips a byte of the stored package after its checksum was taken.
 */
export async function assignFirmware(tb, id, title, version, code, { algorithm = "SHA256", corrupt = false } = {}) {
  const pkg = await tb.api("POST", "/api/otaPackage", { title, version, type: "FIRMWARE" });
  const res = await fetch(`${tb.server.httpUrl}/api/otaPackage/${pkg.id.id}?checksumAlgorithm=${algorithm}`, {
    method: "POST", headers: { "content-type": "application/octet-stream" }, body: Buffer.from(code, "latin1"),
  });
  if (!res.ok) throw new Error(`upload: ${res.status} ${await res.text()}`);
  if (corrupt) {
    const data = Buffer.from(code, "latin1");
    data[data.length >> 1] ^= 0x20;
    tb.server.db.prepare("UPDATE ota_package SET data = ? WHERE id = ?").run(data, pkg.id.id);
  }
  const device = await tb.api("GET", `/api/device/${id}`);
  await tb.api("POST", "/api/device", { ...device, firmwareId: { id: pkg.id.id, entityType: "OTA_PACKAGE" } });
  return pkg.id.id;
}
