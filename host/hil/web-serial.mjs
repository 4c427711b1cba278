// The Web Serial `SerialPort` interface (https://wicg.github.io/serial/) over Node's `serialport` package, for
// esptool-js, which only knows Web Serial. Follows the spec where esptool-js relies on it: `readable` and `writable`
// are created on demand while the port is open and become null once cancelled or closed; setSignals() changes only
// the signals it names (node serialport's set() would reset the others to its defaults, so the state is kept here).

function lost(message) {
  const e = new Error(message);
  e.name = "NetworkError";
  return e;
}

export class WebSerialPort {
  /**
   * @param {string} path serial device
   * @param {object} [o]
   * @param {(options: {path: string, baudRate: number}) => Promise<any>} [o.openStream] opens a node serialport
   *   stream (default: `serialport`'s SerialPort); tests pass one over serialport's mock binding
   * @param {(path: string) => Promise<object>} [o.describe] its USB ids for getInfo() (default: serialport's list)
   */
  constructor(path, { openStream = openSerialStream, describe = describeSerialDevice } = {}) {
    this.path = path;
    this.openStream = openStream;
    this.describe = describe;
    this.info = {};
    this.stream = null;
    this._readable = null;
    this._controller = null;
    this._pending = [];
    this._writable = null;
    this.signals = { dtr: true, rts: true, brk: false };
  }

  /**
   * Looks up the adapter's USB vendor and product, which Web Serial knows before the port is opened and esptool-js
   * reads when it starts (it picks the reset sequence by them: USB-Serial-JTAG or a USB-UART bridge).
   */
  async identify() {
    try {
      this.info = (await this.describe(this.path)) || {};
    } catch {
      // No USB details (no udev, a plain UART): esptool-js then uses the classic DTR/RTS reset.
      this.info = {};
    }
    return this.info;
  }

  getInfo() {
    return this.info;
  }

  async open({ baudRate }) {
    if (this.stream) throw Object.assign(new Error("the port is already open"), { name: "InvalidStateError" });
    this.openError = null;
    try {
      this.stream = await this.openStream({ path: this.path, baudRate });
    } catch (e) {
      this.openError = e;
      throw e;
    }
    this.stream.on("data", (d) => {
      const chunk = new Uint8Array(d);
      if (this._controller) this._controller.enqueue(chunk);
      else this._pending.push(chunk);
    });
    this.stream.on("close", () => this._end(lost(`${this.path}: the device has been lost`)));
    this.stream.on("error", (e) => this._end(lost(`${this.path}: ${e.message}`)));
  }

  _end(error) {
    if (this._controller) {
      try {
        this._controller.error(error);
      } catch {
        // already closed
      }
    }
    this._controller = null;
    this._readable = null;
    this._writable = null;
  }

  get readable() {
    if (!this.stream) return null;
    if (!this._readable) {
      this._readable = new ReadableStream({
        start: (c) => {
          this._controller = c;
          for (const chunk of this._pending.splice(0)) c.enqueue(chunk);
        },
        cancel: () => {
          this._controller = null;
          this._readable = null;
        },
      });
    }
    return this._readable;
  }

  get writable() {
    if (!this.stream) return null;
    if (!this._writable) {
      const stream = this.stream;
      this._writable = new WritableStream({
        write: (chunk) => new Promise((resolve, reject) => {
          stream.write(Buffer.from(chunk), (e) => (e ? reject(e) : stream.drain((e2) => (e2 ? reject(e2) : resolve()))));
        }),
        close: () => {
          this._writable = null;
        },
        abort: () => {
          this._writable = null;
        },
      });
    }
    return this._writable;
  }

  /** @param {{ dataTerminalReady?: boolean, requestToSend?: boolean, break?: boolean }} [signals] */
  async setSignals({ dataTerminalReady, requestToSend, break: brk } = {}) {
    if (!this.stream) throw Object.assign(new Error("the port is not open"), { name: "InvalidStateError" });
    if (dataTerminalReady !== undefined) this.signals.dtr = !!dataTerminalReady;
    if (requestToSend !== undefined) this.signals.rts = !!requestToSend;
    if (brk !== undefined) this.signals.brk = !!brk;
    await new Promise((resolve, reject) => this.stream.set({ ...this.signals }, (e) => (e ? reject(e) : resolve())));
  }

  async setBaudRate(baudRate) {
    await new Promise((resolve, reject) => this.stream.update({ baudRate }, (e) => (e ? reject(e) : resolve())));
  }

  async close() {
    if (!this.stream) return;
    const stream = this.stream;
    this.stream = null;
    this._end(lost(`${this.path}: closed`));
    this._pending = [];
    if (stream.isOpen) await new Promise((resolve) => stream.close(() => resolve()));
  }
}

async function openSerialStream({ path, baudRate }) {
  const { SerialPort } = await import("serialport");
  const sp = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise((resolve, reject) => sp.open((e) => (e ? reject(e) : resolve())));
  return sp;
}

/** { usbVendorId, usbProductId } of a USB serial device, from serialport's port list; {} when it is not USB. */
async function describeSerialDevice(path) {
  const { SerialPort } = await import("serialport");
  const port = (await SerialPort.list()).find((p) => p.path === path);
  if (!port || !port.vendorId || !port.productId) return {};
  return { usbVendorId: parseInt(port.vendorId, 16), usbProductId: parseInt(port.productId, 16) };
}
