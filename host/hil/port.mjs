// Where a board's console is: `tcp://host[:port]` (a board's TelnetServer or the simulator's console) or a serial
// device such as /dev/ttyUSB0. Opening one gives a byte stream of 8-bit characters either way.
import fs from "node:fs";
import net from "node:net";

export class PortError extends Error {}

/** Parses a --port value; throws a PortError that says what is wrong with it. */
export function parsePort(text) {
  if (typeof text !== "string" || text === "") throw new PortError("--port is needed: a serial device such as /dev/ttyUSB0, or tcp://HOST:PORT");
  if (text.startsWith("tcp://")) {
    const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d+))?\/?$/.exec(text);
    if (!m) throw new PortError(`--port ${text} is not a tcp://HOST[:PORT] address`);
    const port = m[2] === undefined ? 23 : Number(m[2]);
    if (!(port >= 1 && port <= 65535)) throw new PortError(`--port ${text} has a TCP port outside 1-65535`);
    return { kind: "tcp", text, host: m[1].replace(/^\[|\]$/g, ""), port };
  }
  if (/^[a-z]+:\/\//i.test(text)) throw new PortError(`--port ${text}: only serial devices and tcp:// are supported`);
  return { kind: "serial", text, path: text };
}

/**
 * Opens the port. Resolves to { write(latin1 text), onData(cb(latin1 text)), onClose(cb), close() }; rejects with a PortError that
 * names the port and the reason (refused, missing device, permission).
 */
export async function openPort(port, { baud = 115200 } = {}) {
  const p = typeof port === "string" ? parsePort(port) : port;
  return p.kind === "tcp" ? openTcp(p) : openSerial(p, baud);
}

function openTcp(p) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(p.port, p.host);
    sock.setTimeout(10000);
    sock.once("timeout", () => {
      sock.destroy();
      reject(new PortError(`cannot connect to ${p.text}: no answer within 10 s`));
    });
    sock.once("error", (e) => reject(new PortError(`cannot connect to ${p.text}: ${/** @type {NodeJS.ErrnoException} */ (e).code === "ECONNREFUSED" ? "connection refused (is the board or simulator console listening?)" : e.message}`)));
    sock.once("connect", () => {
      sock.setTimeout(0);
      sock.setNoDelay(true);
      sock.removeAllListeners("error");
      sock.on("error", () => {});
      resolve({
        write: (text) => new Promise((done) => sock.write(Buffer.from(text, "latin1"), () => done())),
        onData: (cb) => sock.on("data", (d) => cb(d.toString("latin1"))),
        onClose: (cb) => sock.on("close", cb),
        close: () => new Promise((done) => {
          if (sock.destroyed) return done();
          sock.once("close", () => done());
          sock.end();
          setTimeout(() => sock.destroy(), 500).unref();
        }),
      });
    });
  });
}

/** Throws the PortError a user sees when a serial device is not there (before anything else is set up). */
export function requirePresent(p) {
  if (p.kind === "serial" && !fs.existsSync(p.path)) {
    throw new PortError(`serial port ${p.path} does not exist (is the board plugged in? try ls /dev/ttyUSB* /dev/ttyACM*)`);
  }
  return p;
}

async function openSerial(p, baud) {
  requirePresent(p);
  let SerialPort;
  try {
    ({ SerialPort } = await import("serialport"));
  } catch (e) {
    throw new PortError(`serial ports need the npm package serialport (installed with espruino's optional dependencies): ${e.message}`);
  }
  return new Promise((resolve, reject) => {
    const sp = new SerialPort({ path: p.path, baudRate: baud, autoOpen: false });
    sp.open((err) => {
      if (err) {
        const why = /Permission denied|EACCES/.test(err.message) ? "permission denied (add yourself to the dialout group)" : err.message;
        return reject(new PortError(`cannot open serial port ${p.path}: ${why}`));
      }
      sp.on("error", () => {});
      resolve({
        write: (text) => new Promise((done) => sp.write(Buffer.from(text, "latin1"), () => sp.drain(() => done()))),
        onData: (cb) => sp.on("data", (d) => cb(d.toString("latin1"))),
        onClose: (cb) => sp.on("close", cb),
        close: () => new Promise((done) => (sp.isOpen ? sp.close(() => done()) : done())),
      });
    });
  });
}
