// Just enough protobuf for ThingsBoard's provisioning messages (the JSON-first, protobuf-fallback path).

export class ProtobufError extends Error {}

/** Fields of one message: Map<fieldNumber, value[]>; varints as BigInt, length-delimited as Uint8Array. */
export function readFields(buf) {
  const fields = new Map();
  let i = 0;
  const varint = () => {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (i >= buf.length) throw new ProtobufError("truncated varint");
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw new ProtobufError("varint too long");
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 0) throw new ProtobufError("field number 0");
    let value;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = Number(varint());
      if (i + len > buf.length) throw new ProtobufError("truncated field");
      value = buf.subarray(i, (i += len));
    } else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      if (i + len > buf.length) throw new ProtobufError("truncated field");
      value = buf.subarray(i, (i += len));
    } else throw new ProtobufError(`unsupported wire type ${wire}`);
    if (!fields.has(field)) fields.set(field, []);
    fields.get(field).push(value);
  }
  return fields;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function stringField(fields, n) {
  const v = fields.get(n)?.at(-1);
  if (v === undefined) return "";
  if (!(v instanceof Uint8Array)) throw new ProtobufError(`field ${n} is not a string`);
  return utf8.decode(v);
}

export function messageField(fields, n) {
  const v = fields.get(n)?.at(-1);
  if (v === undefined) return new Map();
  if (!(v instanceof Uint8Array)) throw new ProtobufError(`field ${n} is not a message`);
  return readFields(v);
}

export function varintField(fields, n) {
  const v = fields.get(n)?.at(-1);
  return v === undefined ? 0 : Number(v);
}

function varintBytes(v) {
  const out = [];
  let x = BigInt(v);
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x) b |= 0x80;
    out.push(b);
  } while (x);
  return out;
}

/** Encodes [[fieldNumber, value]] with numbers as varints and strings/bytes as length-delimited fields. */
export function writeFields(list) {
  const out = [];
  for (const [n, v] of list) {
    if (typeof v === "number" || typeof v === "bigint") {
      if (v === 0) continue;
      out.push(...varintBytes((n << 3) | 0), ...varintBytes(v));
    } else {
      const b = typeof v === "string" ? Buffer.from(v, "utf8") : v;
      if (b.length === 0) continue;
      out.push(...varintBytes((n << 3) | 2), ...varintBytes(b.length), ...b);
    }
  }
  return Uint8Array.from(out);
}
