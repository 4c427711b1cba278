// Real DTLS peers for tests and benchmarks: `openssl s_server -dtls1_2` and libcoap's `coap-server-openssl`, on
// 127.0.0.1 and free ports, stopped by `stop()` (which waits until the process has exited).
import { spawn } from "node:child_process";
import dgram from "node:dgram";

/** A UDP port free right now (and, for libcoap, the one above it too). */
export async function freeUdpPort({ pair = false } = {}) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise((resolve, reject) => {
      const s = dgram.createSocket("udp4");
      s.once("error", reject);
      s.bind(0, "127.0.0.1", () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    if (!pair || port >= 65535) {
      if (!pair) return port;
      continue;
    }
    const ok = await new Promise((resolve) => {
      const s = dgram.createSocket("udp4");
      s.once("error", () => resolve(false));
      s.bind(port + 1, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error("no free UDP port pair found");
}

function track(child, name) {
  let output = "";
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  child.stdout.on("data", (d) => (output += d.toString("latin1")));
  child.stderr.on("data", (d) => (output += d.toString("latin1")));
  return {
    child,
    output: () => output,
    exited,
    /** Resolves when `pattern` appears in the output; rejects after `ms` or if the process ends first. */
    waitFor(pattern, ms = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(output)) {
            cleanup();
            resolve();
          }
        };
        const onExit = () => {
          cleanup();
          reject(new Error(`${name} exited before printing ${pattern}: ${output}`));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${name} did not print ${pattern} within ${ms} ms: ${output}`));
        }, ms);
        const cleanup = () => {
          clearTimeout(timer);
          child.stdout.off("data", check);
          child.stderr.off("data", check);
          child.off("exit", onExit);
        };
        child.stdout.on("data", check);
        child.stderr.on("data", check);
        child.once("exit", onExit);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 2000);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * `openssl s_server -dtls1_2` on a free port. Options: cert, key (paths), caFile + requireClientCert, mtu,
 * psk (hex) with pskIdentity. `write(text)` sends to the connected client; output() holds what it printed,
 * including the application data it received.
 * @param {{ cert?: string, key?: string, caFile?: string, requireClientCert?: boolean, mtu?: number, psk?: string,
 *   pskIdentity?: string }} [options]
 */
export async function startOpensslServer({ cert, key, caFile, requireClientCert = false, mtu, psk, pskIdentity } = {}) {
  const port = await freeUdpPort();
  const args = ["s_server", "-dtls1_2", "-accept", `127.0.0.1:${port}`, "-ign_eof"];
  if (cert) args.push("-cert", cert, "-key", key);
  else args.push("-nocert");
  if (caFile) args.push("-CAfile", caFile);
  if (requireClientCert) args.push("-Verify", "2", "-verify_return_error");
  if (mtu) args.push("-mtu", String(mtu));
  if (psk) args.push("-psk", psk, "-psk_identity", pskIdentity || "");
  const child = spawn("openssl", args, { stdio: ["pipe", "pipe", "pipe"] });
  const peer = track(child, "openssl s_server");
  await peer.waitFor(/ACCEPT/);
  return { ...peer, port, write: (text) => child.stdin.write(text) };
}

/**
 * `coap-server-openssl` on 127.0.0.1; DTLS on `port` (libcoap listens for plain CoAP one below). Options: cert,
 * key, caFile (client certificates then required unless `noClientCheck`), psk (text) and pskHint, loss ("1,2"),
 * dynamic (how many resources PUT may create).
 * @param {{ cert?: string, key?: string, caFile?: string, noClientCheck?: boolean, psk?: string, pskHint?: string,
 *   loss?: string, dynamic?: number }} [options]
 */
export async function startCoapServer({ cert, key, caFile, noClientCheck = false, psk, pskHint, loss, dynamic } = {}) {
  const plain = await freeUdpPort({ pair: true });
  const args = ["-A", "127.0.0.1", "-p", String(plain), "-v", "4"];
  if (cert) args.push("-c", cert, "-j", key);
  if (caFile) args.push("-C", caFile);
  if (noClientCheck) args.push("-n");
  if (psk) args.push("-k", psk);
  if (pskHint !== undefined) args.push("-h", pskHint);
  if (loss) args.push("-l", loss);
  if (dynamic) args.push("-d", String(dynamic));
  const child = spawn("coap-server-openssl", args, { stdio: ["ignore", "pipe", "pipe"] });
  const peer = track(child, "coap-server-openssl");
  // libcoap prints nothing when ready at this verbosity: wait until its DTLS port is taken.
  for (let i = 0; i < 100; i++) {
    const busy = await new Promise((resolve) => {
      const s = dgram.createSocket("udp4");
      s.once("error", () => resolve(true));
      s.bind(plain + 1, "127.0.0.1", () => s.close(() => resolve(false)));
    });
    if (busy) break;
    if (child.exitCode !== null) throw new Error(`coap-server-openssl exited: ${peer.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { ...peer, port: plain + 1, plainPort: plain };
}

/** A confirmable CoAP GET, hand-encoded: version 1, CON, token-less, message ID `mid`, Uri-Path segments. */
export function coapGet(pathSegments, mid = 0x1234) {
  const bytes = [0x40, 0x01, mid >> 8, mid & 255];
  let last = 0;
  for (const seg of pathSegments) {
    const v = Buffer.from(seg, "utf8");
    if (v.length > 12) throw new Error("coapGet: path segments up to 12 bytes");
    bytes.push(((11 - last) << 4) | v.length, ...v);
    last = 11;
  }
  return Buffer.from(bytes);
}
