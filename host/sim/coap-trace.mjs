// One-line summaries of CoAP datagrams for the simulator's output ("CON POST /api/v1/<token>/telemetry mid=7").
// Only the header and Uri-Path are read; anything that does not parse as CoAP is shown as its size.
const TYPES = ["CON", "NON", "ACK", "RST"];
const METHODS = ["EMPTY", "GET", "POST", "PUT", "DELETE", "FETCH", "PATCH", "iPATCH"];
const URI_PATH = 11;
const URI_QUERY = 15;

export function describeCoap(bytes, { secrets = [] } = {}) {
  if (bytes.length < 4 || bytes[0] >> 6 !== 1) return `${bytes.length} B (not CoAP)`;
  const type = TYPES[(bytes[0] >> 4) & 3];
  const tkl = bytes[0] & 15;
  const code = bytes[1];
  const mid = (bytes[2] << 8) | bytes[3];
  const cls = code >> 5;
  const codeText = cls === 0 ? METHODS[code & 31] || `0.${String(code & 31).padStart(2, "0")}` : `${cls}.${String(code & 31).padStart(2, "0")}`;
  const path = [];
  const query = [];
  let i = 4 + tkl;
  let number = 0;
  while (i < bytes.length && bytes[i] !== 0xff) {
    let delta = bytes[i] >> 4;
    let len = bytes[i] & 15;
    i++;
    if (delta === 13) delta = 13 + bytes[i++];
    else if (delta === 14) delta = 269 + ((bytes[i++] << 8) | bytes[i++]);
    if (len === 13) len = 13 + bytes[i++];
    else if (len === 14) len = 269 + ((bytes[i++] << 8) | bytes[i++]);
    if (delta === 15 || len === 15 || i + len > bytes.length) return `${type} ${codeText} mid=${mid} (bad options, ${bytes.length} B)`;
    number += delta;
    const value = Buffer.from(bytes.subarray(i, i + len)).toString("latin1");
    if (number === URI_PATH) path.push(value);
    if (number === URI_QUERY) query.push(value);
    i += len;
  }
  const payload = i < bytes.length ? bytes.length - i - 1 : 0;
  const hide = (s) => (secrets.includes(s) ? "<token>" : s);
  const uri = path.length ? " /" + path.map(hide).join("/") + (query.length ? "?" + query.join("&") : "") : "";
  return `${type} ${codeText}${uri} mid=${mid}${payload ? ` payload ${payload} B` : ""}`;
}
