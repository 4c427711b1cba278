// Espruino's `Storage` module (src/jswrap_storage.c) backed by one folder per simulated device, so what a node
// writes survives its reboots and deep sleeps exactly as flash does. Each file is one host file whose name encodes
// the Storage name (every character outside [A-Za-z0-9_-] as %XX, so ".bootcde" is "%2Ebootcde").
import fs from "node:fs";
import path from "node:path";

/**
 * Storage.writeJSON as Espruino writes it (src/jswrap_storage.c, JSON_DROP_QUOTES): names that are identifiers lose
 * their quotes (`{intervalS:7}`), which Storage.readJSON reads back and JSON.parse refuses, on the board as here.
 */
export function espruinoJson(value) {
  const strict = JSON.stringify(value);
  if (strict === undefined) return strict;
  // Bytes outside ASCII as \xHH, as Espruino writes them.
  const bytes = strict.replace(/[\u007f-\u00ff]/g, (c) => "\\x" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0"));
  return bytes.replace(/"((?:[^"\\]|\\.)*)"(:?)/g, (m, name, colon) =>
    colon && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name + ":" : m);
}

/**
 * What Storage.readJSON accepts: JSON, or names without quotes as writeJSON leaves them. Host code reading a Storage
 * file the firmware wrote with writeJSON (boot.json, tq.meta) reads it with this, as the board reads it.
 */
export function parseEspruinoJson(text, realm = globalThis) {
  const quoted = text.replace(/"(?:[^"\\]|\\.)*"|([A-Za-z_$][A-Za-z0-9_$]*)(\s*:)/g, (m, name, colon) =>
    name ? `"${name}"${colon}` : m.replace(/\\x([0-9a-fA-F]{2})/g, "\\u00$1"));
  return realm.JSON.parse(quoted);
}

export const MAX_NAME_LENGTH = 28;
/** The ESP32 storage partition. */
export const DEFAULT_CAPACITY = 896 * 1024;
/** Each Storage file costs a header in flash (name and length) and is stored in 4-byte units. */
const FILE_HEADER_BYTES = 32;
const GARBAGE_FILE = ".garbage";

export class StorageError extends Error {}

function encodeName(name) {
  return name.replace(/[^A-Za-z0-9_-]/g, (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase());
}

function decodeName(file) {
  return file.replace(/%([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

function flashBytes(size) {
  return FILE_HEADER_BYTES + Math.ceil(size / 4) * 4;
}

function toBytes(data) {
  if (typeof data === "string") return Buffer.from(data, "latin1");
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (Object.prototype.toString.call(data) === "[object ArrayBuffer]") return Buffer.from(new Uint8Array(data));
  if (Array.isArray(data)) return Buffer.from(data.map((v) => v & 255));
  if (data === undefined || data === null) throw new StorageError("Storage.write: no data given");
  return Buffer.from(String(data), "latin1");
}

/** The folder-backed store; `createStorageModule` wraps it in Espruino's API. */
export class StorageFolder {
  constructor(dir, { capacity = DEFAULT_CAPACITY } = {}) {
    this.dir = path.resolve(dir);
    this.capacity = capacity;
    fs.mkdirSync(this.dir, { recursive: true });
  }

  file(name) {
    if (typeof name !== "string" || name.length === 0) throw new StorageError("Storage: a file name must be a non-empty string");
    if (name.length > MAX_NAME_LENGTH) {
      throw new StorageError(`Storage: file name "${name}" is ${name.length} characters, the limit is ${MAX_NAME_LENGTH}`);
    }
    return path.join(this.dir, encodeName(name));
  }

  read(name, offset = 0, length) {
    const f = this.file(name);
    if (!fs.existsSync(f)) return undefined;
    const all = fs.readFileSync(f);
    const start = Math.max(0, offset | 0);
    const end = length === undefined ? all.length : Math.min(all.length, start + Math.max(0, length | 0));
    return all.subarray(start, end);
  }

  size(name) {
    const f = this.file(name);
    return fs.existsSync(f) ? fs.statSync(f).size : undefined;
  }

  /**
   * Espruino's write(name, data, offset, size): offset 0 (re)creates the file, `size` long (unwritten bytes are
   * erased flash, 0xFF) or as long as `data`; a later write with an offset fills in an existing file and may not
   * run past its end.
   */
  write(name, data, offset = 0, size) {
    const f = this.file(name);
    const bytes = toBytes(data);
    offset = offset === undefined ? 0 : offset | 0;
    if (offset < 0) throw new StorageError("Storage.write: offset must not be negative");
    if (offset === 0) {
      const total = size === undefined ? bytes.length : size | 0;
      if (bytes.length > total) throw new StorageError(`Storage.write: ${bytes.length} bytes do not fit in a file of size ${total}`);
      const old = this.size(name);
      if (flashBytes(total) - (old === undefined ? 0 : flashBytes(old)) > this.getFree()) {
        throw new StorageError(`Storage.write: not enough free space for "${name}" (${total} bytes)`);
      }
      const out = Buffer.alloc(total, 0xff);
      bytes.copy(out, 0);
      if (old !== undefined) this.addGarbage(flashBytes(old));
      fs.writeFileSync(f, out);
      return true;
    }
    const old = this.size(name);
    if (old === undefined) throw new StorageError(`Storage.write: "${name}" does not exist; write it at offset 0 (with a size) first`);
    if (offset + bytes.length > old) {
      throw new StorageError(`Storage.write: ${bytes.length} bytes at offset ${offset} run past the end of "${name}" (${old} bytes)`);
    }
    const fd = fs.openSync(f, "r+");
    try {
      fs.writeSync(fd, bytes, 0, bytes.length, offset);
    } finally {
      fs.closeSync(fd);
    }
    return true;
  }

  erase(name) {
    const f = this.file(name);
    const old = this.size(name);
    if (old === undefined) return;
    fs.unlinkSync(f);
    this.addGarbage(flashBytes(old));
  }

  eraseAll() {
    for (const n of this.names()) fs.unlinkSync(this.file(n));
    this.setGarbage(0);
  }

  names() {
    return fs.readdirSync(this.dir).filter((f) => f !== GARBAGE_FILE).map(decodeName).sort();
  }

  garbage() {
    const g = path.join(this.dir, GARBAGE_FILE);
    return fs.existsSync(g) ? Number(fs.readFileSync(g, "utf8")) || 0 : 0;
  }

  setGarbage(n) {
    fs.writeFileSync(path.join(this.dir, GARBAGE_FILE), String(n));
  }

  addGarbage(n) {
    this.setGarbage(this.garbage() + n);
  }

  used() {
    return this.names().reduce((sum, n) => sum + flashBytes(this.size(n)), 0);
  }

  /** Free bytes as Espruino counts them: erased or replaced files keep their flash until compact(). */
  getFree() {
    return Math.max(0, this.capacity - this.used() - this.garbage());
  }

  compact() {
    this.setGarbage(0);
  }
}

/**
 * The `require("Storage")` object for one device. `realm` holds the device's constructors (Array, ArrayBuffer,
 * JSON, Error) so that values handed to the firmware belong to its own realm.
 * @param {StorageFolder} folder
 * @param {typeof globalThis} realm
 * @returns {StorageModule}
 */
export function createStorageModule(folder, realm) {
  const fail = (e) => {
    if (e instanceof StorageError) throw new realm.Error(e.message);
    throw e;
  };
  const guard = (fn) =>
    function (...args) {
      try {
        return fn(...args);
      } catch (e) {
        return fail(e);
      }
    };
  return {
    read: guard((name, offset, length) => {
      const b = folder.read(name, offset, length);
      return b === undefined ? undefined : b.toString("latin1");
    }),
    readArrayBuffer: guard((name) => {
      const b = folder.read(name);
      if (b === undefined) return undefined;
      const ab = new realm.ArrayBuffer(b.length);
      new realm.Uint8Array(ab).set(b);
      return ab;
    }),
    readJSON: guard((name, noExceptions) => {
      const b = folder.read(name);
      if (b === undefined) return undefined;
      try {
        return parseEspruinoJson(b.toString("latin1"), realm);
      } catch (e) {
        if (noExceptions) return undefined;
        throw new StorageError(`Storage.readJSON: "${name}" is not valid JSON`);
      }
    }),
    write: guard((name, data, offset, size) => folder.write(name, data, offset, size)),
    writeJSON: guard((name, data) => folder.write(name, espruinoJson(data))),
    erase: guard((name) => folder.erase(name)),
    eraseAll: guard(() => folder.eraseAll()),
    list: guard((pattern) => {
      let names = folder.names();
      if (pattern !== undefined) {
        const re = typeof pattern === "string" ? new RegExp(pattern) : new RegExp(pattern.source, pattern.flags);
        names = names.filter((n) => re.test(n));
      }
      const out = new realm.Array();
      for (const n of names) out.push(n);
      return out;
    }),
    getFree: guard(() => folder.getFree()),
    getStats: guard(() => {
      const names = folder.names();
      const stats = new realm.Object();
      Object.assign(stats, {
        totalBytes: folder.capacity,
        fileBytes: folder.used(),
        fileCount: names.length,
        trashBytes: folder.garbage(),
        trashCount: 0,
      });
      return stats;
    }),
    compact: guard(() => folder.compact()),
  };
}
