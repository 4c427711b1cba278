// ThingsBoard's OtaPackageTransportResource: GET /fw/{token} and /sw/{token} with title, version, size, chunk.

import { Code, Opt, blockValue } from "./wire.mjs";

function queryParam(query, name) {
  let value;
  for (const q of query) {
    const i = q.indexOf("=");
    if (i > 0 && q.slice(0, i) === name) value = q.slice(i + 1);
  }
  return value;
}

/** Java's Integer.parseInt, which throws (-> 5.00) on anything else. */
function parseIntStrict(s) {
  if (!/^[+-]?[0-9]+$/.test(s)) return null;
  const v = Number(s);
  return v >= -(2 ** 31) && v < 2 ** 31 ? v : null;
}

export function createOta({ core, log }) {
  return function handle(ex, p, type) {
    const req = ex.request;
    if (req.code !== Code.GET) return ex.respond({ code: Code.METHOD_NOT_ALLOWED });
    ex.accept();
    if (p.length !== 2) return ex.respond({ code: Code.UNAUTHORIZED });
    const device = core.deviceByToken(p[1]);
    if (!device) return ex.respond({ code: Code.UNAUTHORIZED });
    const pkg = core.otaPackageFor(device, type);
    const data = pkg && core.store.otaData(pkg.id);
    if (!data) return ex.respond({ code: Code.NOT_FOUND });
    const title = queryParam(req.query, "title");
    const version = queryParam(req.query, "version");
    if ((title !== undefined && title !== pkg.title) || (version !== undefined && version !== pkg.version)) {
      return ex.respond({ code: Code.BAD_REQUEST });
    }
    const sizeText = queryParam(req.query, "size");
    const chunkText = queryParam(req.query, "chunk");
    const size = sizeText === undefined ? 0 : parseIntStrict(sizeText);
    const chunk = chunkText === undefined ? 0 : parseIntStrict(chunkText);
    if (size === null || chunk === null) return ex.respond({ code: Code.INTERNAL_SERVER_ERROR });
    const slice = size > 0 ? data.subarray(size * chunk, size * chunk + size) : data;
    if (slice.length === 0) {
      // ThingsBoard only responds when there is data: past the end the device gets the empty ACK and nothing else.
      log.info("ota", `device ${device.id} asked for chunk ${chunk} of size ${size} past the end of ${pkg.title} ${pkg.version}`);
      return;
    }
    const options = [];
    if (req.block2 && req.block2.num > 0) {
      // No stored block state (it expired or the port changed): ThingsBoard's own block code answers with the whole
      // body and a Block2 option whose last flag compares the length with the SZX exponent.
      options.push({ number: Opt.BLOCK2, value: blockValue({ num: req.block2.num, more: !(slice.length <= req.block2.szx), szx: req.block2.szx }) });
    }
    log.debug("ota", `device ${device.id}: ${slice.length} bytes of ${pkg.title} ${pkg.version}`);
    // Progress is known for chunked downloads (size and chunk, as ThingsBoard's firmware clients do); a download of
    // the whole package in Block2 blocks is served from the endpoint's block cache after the first block.
    core.events.emit("otaChunk", { deviceId: device.id, type, offset: size * chunk, length: slice.length, total: data.length });
    ex.respond({ code: Code.CONTENT, options, payload: new Uint8Array(slice) });
  };
}
