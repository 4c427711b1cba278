// Californium's resource tree as ThingsBoard builds it: /api/v1/** (catch-all), /fw/**, /sw/**, plus the root and
// /.well-known/core; 4.04 elsewhere, 4.05 for methods a resource does not implement.

import { Code, Opt, ContentFormat, bytes, uintValue } from "./wire.mjs";
import { maskPath } from "./log.mjs";

const BANNER = "Local ThingsBoard-compatible CoAP server (development emulator of ThingsBoard's CoAP device transport)\n";
const LINKS = "</api>,</api/v1>,</fw>,</sw>";

/** TbCoapServerMessageDeliverer: a single Uri-Path option is split on "/" after one leading "/" is stripped. */
export function splitPath(path) {
  if (path.length !== 1) return path;
  const one = path[0].startsWith("/") ? path[0].slice(1) : path[0];
  return one.split("/");
}

export function createRouter({ deviceApi, ota, log }) {
  const plain = (ex, body, format) => ex.respond({ code: Code.CONTENT, options: [{ number: Opt.CONTENT_FORMAT, value: uintValue(format) }], payload: bytes(body) });

  return function route(ex) {
    const req = ex.request;
    const p = splitPath(req.path);
    if (log.enabled("debug")) log.debug("coap", `${ex.peer.address}:${ex.peer.port} -> ${["CON", "NON"][req.type]} ${req.method} ${maskPath(p)}${req.observe !== undefined ? ` Observe:${req.observe}` : ""} ${req.payload.length} B`);
    if (p.length === 0 || (p.length === 1 && p[0] === "")) {
      return req.code === Code.GET ? plain(ex, BANNER, ContentFormat.TEXT) : ex.respond({ code: Code.METHOD_NOT_ALLOWED });
    }
    switch (p[0]) {
      case ".well-known":
        if (p.length === 2 && p[1] === "core") return req.code === Code.GET ? plain(ex, LINKS, ContentFormat.LINK) : ex.respond({ code: Code.METHOD_NOT_ALLOWED });
        break;
      case "api":
        if (p.length === 1) return ex.respond({ code: Code.METHOD_NOT_ALLOWED });
        if (p[1] === "v1") return deviceApi(ex, p);
        break;
      case "fw":
        return ota(ex, p, "FIRMWARE");
      case "sw":
        return ota(ex, p, "SOFTWARE");
    }
    ex.respond({ code: Code.NOT_FOUND });
  };
}
