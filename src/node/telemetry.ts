// Telemetry payloads in ThingsBoard's JSON shapes: {"k":v} when the server's time is used, and a list of
// {"ts","values"} objects for the node's own timestamps. Several readings share one request, split so that no
// payload exceeds the byte budget (a DTLS datagram must stay within about 1 KB for ThingsBoard).
import { Reading } from "./queue";

/** The JSON for one reading: its own timestamp when it has one. */
export function readingJson(r: Reading): string {
  return r.ts > 0 ? JSON.stringify({ ts: r.ts, values: r.values }) : JSON.stringify(r.values);
}

/**
 * Groups readings, in order, into payloads of at most `maxBytes` each. Returns the payloads and how many readings
 * each one carries. A single reading larger than `maxBytes` is sent alone (block-wise by the CoAP layer).
 */
export function packReadings(readings: Reading[], maxBytes: number): { payload: string; count: number }[] {
  const out: { payload: string; count: number }[] = [];
  let parts: string[] = [];
  let size = 2;
  for (let i = 0; i < readings.length; i++) {
    const json = readingJson(readings[i]);
    if (parts.length && size + 1 + json.length > maxBytes) {
      out.push(payloadOf(parts));
      parts = [];
      size = 2;
    }
    parts.push(json);
    size += json.length + (parts.length > 1 ? 1 : 0);
  }
  if (parts.length) out.push(payloadOf(parts));
  return out;
}

function payloadOf(parts: string[]): { payload: string; count: number } {
  // One reading goes as a bare object: the smallest form ThingsBoard accepts.
  return { payload: parts.length === 1 ? parts[0] : "[" + parts.join(",") + "]", count: parts.length };
}
