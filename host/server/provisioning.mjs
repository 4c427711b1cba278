// POST /api/v1/provision (section 11): JSON first, protobuf ProvisionDeviceRequestMsg when the JSON parser gives up;
// the answer uses the request's encoding and carries no Content-Format.

import { randomBytes } from "node:crypto";
import { Code, bytes, text } from "./wire.mjs";
import { parseLenient } from "./lenient-json.mjs";
import { readFields, stringField, messageField, varintField, writeFields } from "./protobuf.mjs";
import { newAccessToken, certificateId } from "./db.mjs";
import { mask } from "./log.mjs";

const CREDENTIAL_TYPES = ["ACCESS_TOKEN", "X509_CERTIFICATE", "MQTT_BASIC", "LWM2M_CREDENTIALS"];
const STATUS = { SUCCESS: 1, NOT_FOUND: 2, FAILURE: 3 };

function fromJson(root) {
  const str = (k) => {
    const n = root.entries.get(k);
    return !n || n.t === "null" ? "" : n.t === "num" ? n.raw : n.t === "str" || n.t === "bool" ? String(n.v) : "";
  };
  return {
    deviceName: str("deviceName"), key: str("provisionDeviceKey"), secret: str("provisionDeviceSecret"),
    credentialsType: str("credentialsType") || "ACCESS_TOKEN", token: str("token"), hash: str("hash"),
    clientId: str("clientId"), username: str("username"), password: str("password"),
  };
}

function fromProtobuf(payload) {
  const f = readFields(payload);
  const creds = messageField(f, 3);
  const data = messageField(f, 4);
  const mqtt = messageField(data, 2);
  return {
    deviceName: stringField(f, 1), key: stringField(creds, 1), secret: stringField(creds, 2),
    credentialsType: CREDENTIAL_TYPES[varintField(f, 2)] ?? "ACCESS_TOKEN",
    token: stringField(messageField(data, 1), 1), hash: stringField(messageField(data, 3), 1),
    clientId: stringField(mqtt, 1), username: stringField(mqtt, 2), password: stringField(mqtt, 3),
  };
}

function randomName() {
  return randomBytes(15).toString("base64").replace(/[^A-Za-z0-9]/g, "").padEnd(20, "x").slice(0, 20);
}

/** The stored credentials a provisioning request asks for. */
function credentialsFor(r) {
  switch (r.credentialsType) {
    case "X509_CERTIFICATE":
      return { credentials_type: "X509_CERTIFICATE", credentials_id: certificateId(r.hash), credentials_value: r.hash };
    case "MQTT_BASIC": {
      const value = JSON.stringify({ clientId: r.clientId || null, userName: r.username || null, password: r.password || null });
      return { credentials_type: "MQTT_BASIC", credentials_id: "mqtt:" + (r.clientId || r.username), credentials_value: value };
    }
    default:
      return { credentials_type: "ACCESS_TOKEN", credentials_id: r.token || newAccessToken(), credentials_value: null };
  }
}

const credentialsValue = (c) => (c.credentials_type === "ACCESS_TOKEN" ? c.credentials_id : c.credentials_value);

function jsonAnswer(res) {
  if (res.status === "NOT_FOUND") return { code: Code.BAD_REQUEST, payload: bytes('{"errorMsg":"Provision data was not found!","status":"NOT_FOUND"}') };
  if (res.status === "FAILURE") return { code: Code.BAD_REQUEST, payload: bytes('{"errorMsg":"Failed to provision device!","status":"FAILURE"}') };
  const c = res.credentials;
  const value = c.credentials_type === "MQTT_BASIC" ? c.credentials_value : JSON.stringify(credentialsValue(c));
  return { code: Code.CREATED, payload: bytes(`{"credentialsValue":${value},"credentialsType":"${c.credentials_type}","status":"SUCCESS"}`) };
}

function protobufAnswer(res) {
  const c = res.credentials;
  const fields = [[1, STATUS[res.status]]];
  if (c) fields.push([2, CREDENTIAL_TYPES.indexOf(c.credentials_type)], [3, credentialsValue(c)]);
  return { code: res.status === "SUCCESS" ? Code.CREATED : Code.BAD_REQUEST, payload: writeFields(fields) };
}

export function createProvisioning({ core, log }) {
  const { store } = core;

  /** -> {status: "SUCCESS"|"NOT_FOUND"|"FAILURE"|"ERROR", credentials?} */
  function provision(r) {
    if (!r.key || !r.secret) return { status: "NOT_FOUND" };
    const profile = store.profileByProvisionKey(r.key);
    if (!profile || profile.provision_type === "DISABLED" || profile.provision_secret !== r.secret) return { status: "NOT_FOUND" };
    if (profile.provision_type === "X509_CERTIFICATE_CHAIN") return { status: "ERROR" };
    try {
      if (profile.provision_type === "CHECK_PRE_PROVISIONED_DEVICES") {
        const d = r.deviceName && store.deviceByName(r.deviceName);
        if (!d || d.profile_id !== profile.id || d.provisioned) return { status: "FAILURE" };
        store.updateDevice({ ...d, provisioned: 1 });
        core.setAttributes(d.id, "SERVER_SCOPE", [{ key: "provisionState", type: "STRING", value: "provisioned" }]);
        return { status: "SUCCESS", device: d, credentials: store.credentials(d.id) };
      }
      const name = r.deviceName || randomName();
      if (store.deviceByName(name)) return { status: "FAILURE" };
      const d = store.createDevice({ name, profile_id: profile.id, provisioned: 1 }, credentialsFor(r));
      core.setAttributes(d.id, "SERVER_SCOPE", [{ key: "provisionState", type: "STRING", value: "provisioned" }]);
      return { status: "SUCCESS", device: d, credentials: store.credentials(d.id) };
    } catch (e) {
      log.info("provision", `device "${r.deviceName}" could not be created: ${e.message}`);
      return { status: "FAILURE" };
    }
  }

  return function handle(ex) {
    const payload = ex.request.payload;
    if (payload.length === 0) return ex.respond({ code: Code.BAD_REQUEST });
    let request, answer;
    try {
      const root = parseLenient(text(payload));
      if (root.t !== "obj") return ex.respond({ code: Code.BAD_REQUEST });
      request = fromJson(root);
      answer = jsonAnswer;
    } catch {
      try {
        request = fromProtobuf(payload);
        answer = protobufAnswer;
      } catch {
        return ex.respond({ code: Code.BAD_REQUEST });
      }
    }
    const res = provision(request);
    log.info("provision", `"${request.deviceName}" with key ${mask(request.key)}: ${res.status}${res.device ? ` -> device ${res.device.id}` : ""}`);
    if (res.status === "ERROR") return ex.respond({ code: Code.INTERNAL_SERVER_ERROR });
    ex.respond(answer(res));
  };
}
