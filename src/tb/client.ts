// The ThingsBoard device API over CoAP: telemetry, client and shared
// attributes, RPC both ways, claiming, provisioning and firmware chunks. Request names in errors never carry the
// access token, which sits in the URI path.
import { Code, CoapError, CoapMessage, Opt, codeString } from "../coap/message";
import { getOption, readUint } from "../coap/codec";
import { Endpoint, Observation } from "../coap/endpoint";

export type Done<T> = (error: CoapError | null, value?: T) => void;

export interface RpcRequest {
  id: number;
  method: string;
  params: any;
}

/** Reads a payload as text; ThingsBoard's JSON is ASCII-escaped or UTF-8, both fine as 8-bit strings. */
function text(m: CoapMessage): string {
  return E.toString(m.payload);
}

function parse(m: CoapMessage, what: string): any {
  try {
    return JSON.parse(text(m) || "{}");
  } catch (e) {
    throw new CoapError("bad-response", "ThingsBoard sent " + what + " that is not JSON");
  }
}

/** Maps a response code to the error the layer above acts on. */
export function responseError(m: CoapMessage, name: string, expected: number): CoapError | null {
  if (m.code === expected) return null;
  const body = text(m);
  const detail = name + " got " + codeString(m.code) + (body ? " " + body : "");
  if (m.code === Code.UNAUTHORIZED) {
    return new CoapError("unauthorized", detail + ": ThingsBoard does not know this device's access token or certificate");
  }
  return new CoapError(m.code >= 0xa0 ? "server" : "refused", detail);
}

export class ThingsBoardClient {
  /** `ep` is replaced when the node opens a new link. */
  constructor(public ep: Endpoint, public token: string | undefined) {}

  private path(feature: string): string {
    return "/api/v1/" + (this.token ? this.token + "/" : "") + feature;
  }

  private call(method: number, feature: string, body: string | undefined, expected: number, done: Done<CoapMessage>): void {
    const name = (method === Code.POST ? "POST " : "GET ") + "/api/v1/" + (this.token ? "{token}/" : "") + feature;
    this.exchange(method, this.path(feature), name, body, expected, done);
  }

  /** One request; a response other than `expected` becomes the error, with the response alongside. */
  private exchange(method: number, path: string, name: string, body: string | undefined, expected: number, done: Done<CoapMessage>): void {
    this.ep.request({ method: method, path: path, payload: body, name: name }, (err, res) => {
      if (err) return done(err);
      const e = responseError(res!, name, expected);
      if (e) return done(e, res);
      done(null, res);
    });
  }

  /** Posts telemetry: a {"k":v} object, a {"ts","values"} object or a list of them, as JSON text. */
  telemetry(json: string, done: Done<CoapMessage>): void {
    this.call(Code.POST, "telemetry", json, Code.CREATED, done);
  }

  publishAttributes(values: { [key: string]: any }, done: Done<CoapMessage>): void {
    this.call(Code.POST, "attributes", JSON.stringify(values), Code.CREATED, done);
  }

  /** Shared (and client) attribute values by key; keys ThingsBoard does not have are simply absent. */
  getAttributes(sharedKeys: string[], clientKeys: string[], done: Done<{ shared: any; client: any }>): void {
    let q = "";
    if (sharedKeys.length) q += "sharedKeys=" + sharedKeys.join(",");
    if (clientKeys.length) q += (q ? "&" : "") + "clientKeys=" + clientKeys.join(",");
    this.call(1, "attributes" + (q ? "?" + q : ""), undefined, Code.CONTENT, (err, res) => {
      if (err && res && res.code === Code.NOT_FOUND) return done(null, { shared: {}, client: {} });
      if (err) return done(err);
      try {
        const v = parse(res!, "attributes");
        done(null, { shared: v.shared || {}, client: v.client || {} });
      } catch (e) {
        done(e as CoapError);
      }
    });
  }

  /**
   * Observes shared attributes: `onUpdate(values, deleted, initial)` gets every current shared attribute first
   * (initial true), then each change. `onEnd` says why the observation ended; the caller re-subscribes.
   */
  subscribeAttributes(onUpdate: (values: any, deleted: string[], initial: boolean) => void, onEnd: (e: CoapError) => void): Observation {
    return this.ep.observe({ path: this.path("attributes"), name: "observe attributes" },
      (m) => {
        let v: any;
        try {
          v = parse(m, "an attribute update");
        } catch (e) {
          return;
        }
        const deleted: string[] = v.deleted || [];
        delete v.deleted;
        const seq = getOption(m, Opt.OBSERVE);
        onUpdate(v, deleted, !seq || readUint(seq) === 0);
      }, onEnd);
  }

  /** Observes server-side RPC requests; the handler answers with rpcReply(id, ...). */
  subscribeRpc(onRequest: (r: RpcRequest) => void, onEnd: (e: CoapError) => void): Observation {
    return this.ep.observe({ path: this.path("rpc"), name: "observe rpc" },
      (m) => {
        if (m.code === Code.VALID) return;
        let r: any;
        try {
          r = parse(m, "an RPC request");
        } catch (e) {
          return;
        }
        if (typeof r.id === "number" && typeof r.method === "string") onRequest({ id: r.id, method: r.method, params: r.params });
      }, onEnd);
  }

  /** Replies to a two-way RPC; ThingsBoard wants a JSON object. */
  rpcReply(id: number, result: { [key: string]: any }, done: Done<CoapMessage>): void {
    this.call(Code.POST, "rpc/" + id, JSON.stringify(result), Code.CREATED, done);
  }

  /** A client-side RPC. ThingsBoard sends nothing at all when the rule chain does not answer within 10 s. */
  rpcCall(method: string, params: any, done: Done<any>): void {
    this.call(Code.POST, "rpc", JSON.stringify({ method: method, params: params }), Code.CONTENT, (err, res) => {
      if (err && err.code === "timeout") return done(new CoapError("no-answer", "client-side RPC " + method + " got no answer (ThingsBoard gives up after 10 s)"));
      if (err) return done(err);
      try {
        done(null, parse(res!, "an RPC answer"));
      } catch (e) {
        done(e as CoapError);
      }
    });
  }

  claim(secretKey: string, durationMs: number, done: Done<CoapMessage>): void {
    this.call(Code.POST, "claim", JSON.stringify({ secretKey: secretKey, durationMs: durationMs }), Code.CREATED, done);
  }

  /** Provisions this device with a profile's key and secret; hands over the access token ThingsBoard issues. */
  provision(deviceName: string | undefined, key: string, secret: string, done: Done<string>): void {
    const body: any = { provisionDeviceKey: key, provisionDeviceSecret: secret };
    if (deviceName) body.deviceName = deviceName;
    this.ep.request({ method: Code.POST, path: "/api/v1/provision", payload: JSON.stringify(body), name: "POST /api/v1/provision" }, (err, res) => {
      if (err) return done(err);
      let v: any = {};
      try {
        v = parse(res!, "a provisioning answer");
      } catch (e) {
        /* the status below says enough */
      }
      if (res!.code === Code.CREATED && v.status === "SUCCESS" && typeof v.credentialsValue === "string") return done(null, v.credentialsValue);
      done(new CoapError("provision", "provisioning refused: " + codeString(res!.code) + " " + (v.status || "") +
        (v.errorMsg ? " (" + v.errorMsg + ")" : "")));
    });
  }

  /** One chunk of the assigned firmware: bytes [size*chunk, size*chunk+size). */
  firmwareChunk(title: string, version: string, size: number, chunk: number, done: Done<Uint8Array>): void {
    const q = "?title=" + encodeURIComponent(title) + "&version=" + encodeURIComponent(version) + "&size=" + size + "&chunk=" + chunk;
    this.exchange(1, "/fw/" + this.token + q, "GET /fw/{token} chunk " + chunk, undefined, Code.CONTENT, (err, res) =>
      err ? done(err) : done(null, res!.payload));
  }
}
