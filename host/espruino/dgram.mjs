// Espruino's `dgram` module on Node, for host tools and tests that run the firmware's library bundles: messages
// arrive as 8-bit strings, `rinfo` is {address, port, size}, datagrams over 528 bytes are cut to 528 unless the
// socket was created with a larger `recvBufferSize`, and `send` takes only strings (Espruino would send a typed
// array's text, "1,2,3": here that mistake fails loudly).
import nodeDgram from "node:dgram";
import { EspruinoEmitter, queueEvent } from "./events.mjs";

export const DEFAULT_RECV_LIMIT = 528;

/**
 * A network between Espruino-shaped code on Node and the real one. `outbound(bytes, port, address, deliver)` and
 * `inbound(bytes, rinfo, deliver)` may drop, delay, duplicate or reorder by calling `deliver` as they like.
 */
export const directLink = {
  outbound: (bytes, port, address, deliver) => deliver(bytes, port, address),
  inbound: (bytes, rinfo, deliver) => deliver(bytes, rinfo),
};

/** @implements {DgramSocket} */
class EspruinoDgramSocket extends EspruinoEmitter {
  #bound; #m; #reuseAddr; #s;
  constructor(module, options) {
    super(module.queue);
    const o = typeof options === "object" && options !== null ? options : {};
    this.#m = module;
    this.#reuseAddr = !!o.reuseAddr;
    this.#s = null;
    this.#bound = false;
    // recvBufferSize is global on Espruino: the largest requested by any socket wins.
    if (o.recvBufferSize > module.recvLimit) module.recvLimit = o.recvBufferSize;
    this.#attach(nodeDgram.createSocket({ type: "udp4", reuseAddr: this.#reuseAddr }));
    module.sockets.add(this);
  }
  #attach(s) {
    const module = this.#m;
    this.#s = s;
    s.on("message", (buf, rinfo) => {
      if (this.#s !== s) return;
      module.link.inbound(new Uint8Array(buf), { address: rinfo.address, port: rinfo.port }, (bytes, from) => {
        const cut = bytes.length > module.recvLimit ? bytes.subarray(0, module.recvLimit) : bytes;
        this.emit("message", Buffer.from(cut).toString("latin1"), { address: from.address, port: from.port, size: cut.length });
      });
    });
    s.on("error", (e) => {
      if (this.#s === s) this.emit("error", { code: -1, message: e.message });
    });
    s.on("close", () => {
      if (this.#s === s) this.emit("close", false);
    });
  }
  /**
   * Moves the socket to a new local port, as a NAT rebinding looks to the server: later datagrams leave from the
   * new port and replies to the old one are lost. A simulator extension.
   */
  rebind() {
    const old = this.#s;
    const fresh = nodeDgram.createSocket({ type: "udp4", reuseAddr: this.#reuseAddr });
    this.#bound = true;
    this.#attach(fresh);
    return new Promise((resolve) => {
      fresh.bind(0, module_bindAddress(this.#m), () => {
        try {
          old.close();
        } catch (e) {
          /* the old socket was never bound or is closed already */
        }
        resolve(fresh.address().port);
      });
    });
  }
  bind(port, callback) {
    this.#bound = true;
    this.#s.bind(port || 0, module_bindAddress(this.#m), () => {
      if (callback) this.#m.queue(() => callback(this));
    });
    return this;
  }
  /** The bound local port (a simulator extension; Espruino has no address()). */
  localPort() {
    return this.#s.address().port;
  }
  send(message, a, b, c, d) {
    let offset = 0;
    let length;
    let port;
    let address;
    if (d === undefined) [port, address] = [a, b];
    else [offset, length, port, address] = [a, b, c, d];
    if (typeof message !== "string") {
      // Espruino's release build sends the value's text (a Uint8Array becomes "7,8,9"); that is never intended.
      throw new this.#m.TypeError("dgram send: message must be a string of 8-bit bytes (use E.toString), got " + typeof message);
    }
    const all = Buffer.from(message, "latin1");
    const bytes = new Uint8Array(all.subarray(offset, length === undefined ? all.length : offset + length));
    const sendNow = () => {
      this.#m.link.outbound(bytes, port, address, (out, p, addr) => {
        try {
          this.#s.send(out, p, addr);
        } catch (e) {
          this.emit("error", { code: -1, message: e.message });
        }
      });
    };
    // Sending before bind() binds to a random port, as on the device - on the module's address, so a node that
    // talks to a server on this machine listens on loopback only.
    if (!this.#bound) {
      this.#bound = true;
      this.#s.bind(0, module_bindAddress(this.#m));
    }
    sendNow();
  }
  close() {
    this.#m.sockets.delete(this);
    try {
      this.#s.close();
    } catch (e) {
      /* already closed */
    }
  }
}

function module_bindAddress(module) {
  return module.bindAddress;
}

/**
 * Creates one board's `dgram` module. `link` models the network (see directLink); `bindAddress` is the loopback
 * address the board's sockets use; `queue` is the board's event queue; `TypeError` the constructor send() throws
 * (a simulated device passes its own realm's, so `e instanceof TypeError` holds in the device's code).
 * @param {{ link?: typeof directLink, bindAddress?: string, queue?: (fn: () => void) => void, TypeError?: typeof TypeError }} [options]
 */
export function createDgramModule({ link = directLink, bindAddress = "127.0.0.1", queue = queueEvent, TypeError: TypeErrorClass = TypeError } = {}) {
  const module = {
    link,
    bindAddress,
    queue,
    TypeError: TypeErrorClass,
    recvLimit: DEFAULT_RECV_LIMIT,
    sockets: new Set(),
    createSocket(options, callback) {
      const s = new EspruinoDgramSocket(module, options);
      if (typeof callback === "function") s.on("message", callback);
      return s;
    },
    /** Closes every socket: what a reboot does. */
    closeAll() {
      for (const s of [...module.sockets]) s.close();
    },
    /** Moves every open socket to a new local port (NAT rebinding); resolves to the new ports. */
    rebindAll() {
      return Promise.all([...module.sockets].map((s) => s.rebind()));
    },
  };
  return module;
}
