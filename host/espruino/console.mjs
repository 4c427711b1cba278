// The board's console over TCP (what Espruino's TelnetServer offers), speaking enough of the REPL protocol that the
// real EspruinoTools CLI uploads to it as to a board:
// - raw bytes, no telnet negotiation; every byte is one 8-bit character;
// - a line starting with \x10 (DLE) runs with echo off: no echo, no "=result";
// - \x1b[<n>d (line number) is dropped and \x1b\n is a newline inside the input line (Alt-Enter);
// - a line with unclosed brackets continues on the next line (":" prompt), as Espruino's jsiCountBracketsInInput;
// - a finished line is queued as an event on the board, runs, and prints "=<value>" then the ">" prompt;
// - while a client is connected, a virtual clock runs no faster than real time (people and tools are watching).
import net from "node:net";
import { formatResult } from "./format.mjs";

/** Open brackets left in `code`, ignoring strings and comments (Espruino's rule for "is the line complete"). */
export function openBrackets(code) {
  let depth = 0;
  let quote = null;
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "/" && code[i + 1] === "/") {
      const nl = code.indexOf("\n", i);
      if (nl < 0) break;
      i = nl;
    } else if (c === "/" && code[i + 1] === "*") {
      const end = code.indexOf("*/", i + 2);
      if (end < 0) return depth + 1;
      i = end + 1;
    } else if (c === "(" || c === "{" || c === "[") depth++;
    else if (c === ")" || c === "}" || c === "]") depth--;
  }
  return depth;
}

class ConsoleSession {
  constructor(device, socket, onClose) {
    this.device = device;
    this.socket = socket;
    this.line = "";
    this.echoOff = false;
    this.escape = null; // null | "esc" | "csi"
    this.hadCR = false;
    this.promptShown = false;
    this.promptTimer = null;
    socket.setNoDelay(true);
    // While a client is connected the board's clock runs no faster than real time.
    const release = device.scheduler.holdRealTime();
    socket.on("data", (buf) => this.receive(buf.toString("latin1")));
    socket.on("error", () => {});
    socket.on("close", () => {
      release();
      onClose();
    });
  }

  write(text) {
    if (!this.socket.destroyed) this.socket.write(Buffer.from(text, "latin1"));
  }

  /** A line the board printed: take the prompt away, print it, and bring the prompt back when output pauses. */
  output(line) {
    this.write((this.promptShown ? "\r" : "") + line + "\r\n");
    this.promptShown = false;
    if (!this.promptTimer) {
      this.promptTimer = setImmediate(() => {
        this.promptTimer = null;
        // Not in the middle of a line typed with echo off (an upload): Espruino keeps that line hidden.
        if (!this.promptShown && !this.echoOff) this.prompt();
      });
    }
  }

  prompt() {
    this.write(">" + this.line);
    this.promptShown = true;
  }

  receive(text) {
    for (const c of text) {
      if (this.escape === "esc") {
        if (c === "[") {
          this.escape = "csi";
        } else {
          this.escape = null;
          if (c === "\n" || c === "\r") this.line += "\n"; // Alt-Enter: newline without running the line
        }
        continue;
      }
      if (this.escape === "csi") {
        if (!/[0-9;]/.test(c)) this.escape = null; // \x1b[<line>d and cursor keys: nothing to do
        continue;
      }
      if (c === "\n" && this.hadCR) {
        this.hadCR = false;
        continue;
      }
      this.hadCR = c === "\r";
      if (c === "\x1b") this.escape = "esc";
      else if (c === "\x10") this.echoOff = true;
      else if (c === "\x03") {
        this.line = "";
        this.echoOff = false;
        this.write("\r\n");
        this.prompt();
      } else if (c === "\x08" || c === "\x7f") {
        if (this.line.length) {
          this.line = this.line.slice(0, -1);
          if (!this.echoOff) this.write("\x08 \x08");
        }
      } else if (c === "\r" || c === "\n") this.enter();
      else {
        this.line += c;
        if (!this.echoOff) this.write(c);
      }
    }
  }

  enter() {
    if (openBrackets(this.line) > 0) {
      this.line += "\n";
      if (!this.echoOff) this.write("\n:");
      return;
    }
    const code = this.line;
    const echo = !this.echoOff;
    this.line = "";
    this.echoOff = false;
    if (echo) this.write("\r\n");
    this.promptShown = false;
    this.device.scheduler.queue(() => {
      const dev = this.device;
      if (code.trim() === "" || !dev.context) {
        if (echo) this.prompt();
        return;
      }
      const r = dev.runCode(code, "REPL");
      if (echo && !("error" in r)) this.write("=" + formatResult(r.value).replace(/\n/g, "\r\n") + "\r\n");
      if (echo) this.prompt();
    });
  }
}

/**
 * Serves `device`'s console on TCP `host:port` (port 0 picks a free one). Resolves to { port, close() }.
 */
export function startConsoleServer(device, { port = 0, host = "127.0.0.1" } = {}) {
  const sessions = new Set();
  const onOutput = (line) => {
    for (const s of sessions) s.output(line);
  };
  device.on("output", onOutput);
  const server = net.createServer((socket) => {
    const session = new ConsoleSession(device, socket, () => sessions.delete(session));
    sessions.add(session);
  });
  return new Promise((resolve, reject) => {
    server.once("error", (e) => {
      device.off("output", onOutput);
      reject(new Error(`console: cannot listen on ${host}:${port}: ${e.message}`));
    });
    server.listen(port, host, () => {
      resolve({
        port: server.address().port,
        close: () =>
          new Promise((done) => {
            device.off("output", onOutput);
            for (const s of sessions) s.socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
