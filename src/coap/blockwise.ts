// RFC 7959 block transfers: the message for one block of a Block1 upload or a Block2 download, derived from the
// request being transferred.
import { CoapMessage, Opt } from "./message";
import { addOption, blockValue, createMessage, setOption } from "./codec";

/** Block `num` of `body` at size 2^(szx+4) as a copy of request `m`; Size1 announces the total on the first block. */
export function uploadBlock(m: CoapMessage, body: Uint8Array, num: number, szx: number): CoapMessage {
  const size = 1 << (szx + 4);
  const part = createMessage(m.type, m.code, m.token, m.options.slice(), body.subarray(num * size, num * size + size));
  addOption(part, Opt.BLOCK1, blockValue({ num: num, more: body.length > num * size + size, szx: szx }));
  return num ? part : addOption(part, Opt.SIZE1, body.length);
}

/**
 * The request for block `num` of a Block2 download started by `m`: same options without payload, Block1 or Size1;
 * without Observe, since the rest of a notification is fetched by plain GETs (RFC 7959 section 2.6).
 */
export function downloadBlock(m: CoapMessage, num: number, szx: number): CoapMessage {
  const next = createMessage(m.type, m.code, m.token, m.options.slice());
  setOption(next, Opt.OBSERVE);
  setOption(next, Opt.BLOCK1);
  setOption(next, Opt.SIZE1);
  return setOption(next, Opt.BLOCK2, blockValue({ num: num, more: false, szx: szx }));
}
