// Espruino's Storage as it lies in a flash image (src/jsflash.c): files one after another from the start, each a
// 32-byte header (size in the low 24 bits, flags in the top 8; a 28-byte zero-padded name) and its data, the next
// header at the following 4-byte boundary. A file written again leaves the old copy behind with a zeroed name; a
// header that is erased (all 0xFF) or does not fit ends a page, and the files go on at the next page.
import fs from "node:fs";

export const PAGE_BYTES = 4096;
const HEADER = 32;
const NAME = 28;
const ERASED = 0xffffffff;
// Flags of real files (JSFF_NONE, JSFF_STORAGEFILE, JSFF_COMPRESSED); others (the filename table) are internal.
const FILE_FLAGS = new Set([0, 64, 128]);

/**
 * The files in a flash image (a Uint8Array): name -> a Buffer viewing its bytes in the image (later copies win, as
 * they are the current ones).
 */
export function storageFiles(flash) {
  const view = new DataView(flash.buffer, flash.byteOffset, flash.byteLength);
  const files = new Map();
  const header = (at) => {
    if (at + HEADER > flash.length) return null;
    const word = view.getUint32(at, true);
    const size = word & 0xffffff;
    if (word === ERASED || word === 0 || at + HEADER + size > flash.length) return null;
    return { size, flags: word >>> 24 };
  };
  let at = 0;
  let h = header(at);
  while (h) {
    if (view.getUint32(at + 4, true) !== 0 && FILE_FLAGS.has(h.flags)) {
      const raw = flash.subarray(at + 4, at + 4 + NAME);
      const end = raw.indexOf(0);
      const name = Buffer.from(raw.subarray(0, end < 0 ? NAME : end)).toString("latin1");
      files.set(name, Buffer.from(flash.buffer, flash.byteOffset + at + HEADER, h.size));
    }
    const next = (at + HEADER + h.size + 3) & ~3;
    h = header(next);
    at = next;
    if (!h) {
      at = (Math.floor(next / PAGE_BYTES) + 1) * PAGE_BYTES; // the rest of this page is empty: try the next
      h = header(at);
    }
  }
  return files;
}

/** The files of a node's flash image file (flash.bin in its Storage folder): name -> Buffer. */
export function readFlashFile(file) {
  return storageFiles(fs.readFileSync(file));
}
