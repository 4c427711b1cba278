// The server's store: one SQLite file (better-sqlite3), so a simulation can be stopped, restarted and inspected
// with any SQLite tool. All access is synchronous; each multi-row write is one transaction.

import Database from "better-sqlite3";
import { randomBytes, randomUUID, createHash } from "node:crypto";
import { EventEmitter } from "node:events";

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE device_profile (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_ts INTEGER NOT NULL, is_default INTEGER NOT NULL DEFAULT 0,
  provision_type TEXT NOT NULL DEFAULT 'DISABLED', provision_key TEXT UNIQUE, provision_secret TEXT);
CREATE TABLE device (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, type TEXT NOT NULL, label TEXT,
  profile_id TEXT NOT NULL REFERENCES device_profile(id), created_ts INTEGER NOT NULL,
  firmware_id TEXT, software_id TEXT, provisioned INTEGER NOT NULL DEFAULT 0,
  claim_secret TEXT, claim_expires_ts INTEGER, claimed_ts INTEGER);
-- credentials_id is what a device presents: the access token, or the SHA3-256 hex of its certificate (base64 DER)
CREATE TABLE device_credentials (
  device_id TEXT PRIMARY KEY REFERENCES device(id) ON DELETE CASCADE,
  credentials_type TEXT NOT NULL, credentials_id TEXT NOT NULL UNIQUE, credentials_value TEXT);
CREATE TABLE ts_kv (
  device_id TEXT NOT NULL REFERENCES device(id) ON DELETE CASCADE, key TEXT NOT NULL, ts INTEGER NOT NULL,
  type TEXT NOT NULL, bool_v INTEGER, long_v INTEGER, dbl_v REAL, str_v TEXT, json_v TEXT,
  PRIMARY KEY (device_id, key, ts));
CREATE TABLE attribute_kv (
  device_id TEXT NOT NULL REFERENCES device(id) ON DELETE CASCADE, scope TEXT NOT NULL, key TEXT NOT NULL,
  last_update_ts INTEGER NOT NULL, type TEXT NOT NULL, bool_v INTEGER, long_v INTEGER, dbl_v REAL, str_v TEXT,
  json_v TEXT, PRIMARY KEY (device_id, scope, key));
CREATE TABLE rpc (
  id TEXT PRIMARY KEY, device_id TEXT NOT NULL REFERENCES device(id) ON DELETE CASCADE, request_id INTEGER,
  method TEXT NOT NULL, params TEXT NOT NULL, oneway INTEGER NOT NULL, persistent INTEGER NOT NULL,
  status TEXT NOT NULL, response TEXT, created_ts INTEGER NOT NULL, expiration_ts INTEGER NOT NULL);
CREATE INDEX rpc_device ON rpc(device_id, created_ts);
CREATE TABLE ota_package (
  id TEXT PRIMARY KEY, type TEXT NOT NULL, title TEXT NOT NULL, version TEXT NOT NULL, tag TEXT,
  created_ts INTEGER NOT NULL, file_name TEXT, content_type TEXT, checksum_algorithm TEXT, checksum TEXT,
  data_size INTEGER, data BLOB, UNIQUE (type, title, version));
`;

function valueParams(e) {
  return {
    type: e.type,
    bool_v: e.type === "BOOLEAN" ? (e.value ? 1 : 0) : null,
    long_v: e.type === "LONG" ? BigInt(e.value) : null,
    dbl_v: e.type === "DOUBLE" ? e.value : null,
    str_v: e.type === "STRING" ? e.value : null,
    json_v: e.type === "JSON" ? e.value : null,
  };
}

// long_v is read as text so that 64-bit values survive.
const VALUE_SELECT = "type, bool_v, CAST(long_v AS TEXT) AS long_t, dbl_v, str_v, json_v";

function entryOf(row) {
  const value = { BOOLEAN: row.bool_v === 1, LONG: row.long_t, DOUBLE: row.dbl_v, STRING: row.str_v, JSON: row.json_v }[row.type];
  return { key: row.key, type: row.type, value };
}

/** A ThingsBoard-style access token: 20 random alphanumerics. */
export function newAccessToken() {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = randomBytes(40);
  let out = "";
  for (const b of bytes) if (b < 248 && out.length < 20) out += alphabet[b % 62];
  return out.length === 20 ? out : newAccessToken();
}

/** ThingsBoard's X.509 credentials id: SHA3-256 hex of the certificate's base64 DER (no PEM armour). */
export function certificateId(pemOrBase64) {
  const body = String(pemOrBase64).replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
  return createHash("sha3-256").update(body).digest("hex");
}

/** The database in `file`, created with the schema when new; a database of another schema version is refused. */
function openDatabase(file) {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  const version = db.pragma("user_version", { simple: true });
  if (version === 0) {
    db.transaction(() => {
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      db.prepare("INSERT INTO device_profile (id, name, created_ts, is_default) VALUES (?, 'default', ?, 1)").run(randomUUID(), Date.now());
    })();
  } else if (version !== SCHEMA_VERSION) {
    db.close();
    throw new Error(`database ${file} has schema version ${version}; this server uses ${SCHEMA_VERSION}`);
  }

  return db;
}

/** Every statement the store runs, prepared once. */
function prepareStatements(db) {
  const q = (sql) => db.prepare(sql);
  return {
    profileById: q("SELECT * FROM device_profile WHERE id = ?"),
    profileByName: q("SELECT * FROM device_profile WHERE name = ?"),
    profileByKey: q("SELECT * FROM device_profile WHERE provision_key = ?"),
    defaultProfile: q("SELECT * FROM device_profile WHERE is_default = 1"),
    profiles: q("SELECT * FROM device_profile ORDER BY created_ts"),
    insertProfile: q(`INSERT INTO device_profile (id, name, created_ts, provision_type, provision_key, provision_secret)
      VALUES (@id, @name, @created_ts, @provision_type, @provision_key, @provision_secret)`),
    updateProfile: q(`UPDATE device_profile SET name=@name, provision_type=@provision_type, provision_key=@provision_key,
      provision_secret=@provision_secret WHERE id=@id`),
    deviceById: q("SELECT * FROM device WHERE id = ?"),
    deviceByName: q("SELECT * FROM device WHERE name = ?"),
    devicePage: q("SELECT * FROM device WHERE name LIKE @search ORDER BY created_ts, name LIMIT @limit OFFSET @offset"),
    deviceCount: q("SELECT COUNT(*) AS n FROM device WHERE name LIKE @search"),
    insertDevice: q(`INSERT INTO device (id, name, type, label, profile_id, created_ts, firmware_id, software_id, provisioned)
      VALUES (@id, @name, @type, @label, @profile_id, @created_ts, @firmware_id, @software_id, @provisioned)`),
    updateDevice: q(`UPDATE device SET name=@name, type=@type, label=@label, profile_id=@profile_id, firmware_id=@firmware_id,
      software_id=@software_id, provisioned=@provisioned, claim_secret=@claim_secret, claim_expires_ts=@claim_expires_ts,
      claimed_ts=@claimed_ts WHERE id=@id`),
    deleteDevice: q("DELETE FROM device WHERE id = ?"),
    credsByDevice: q("SELECT * FROM device_credentials WHERE device_id = ?"),
    credsById: q("SELECT * FROM device_credentials WHERE credentials_id = ? AND credentials_type = ?"),
    upsertCreds: q(`INSERT INTO device_credentials (device_id, credentials_type, credentials_id, credentials_value)
      VALUES (@device_id, @credentials_type, @credentials_id, @credentials_value)
      ON CONFLICT(device_id) DO UPDATE SET credentials_type=excluded.credentials_type,
      credentials_id=excluded.credentials_id, credentials_value=excluded.credentials_value`),
    upsertTs: q(`INSERT INTO ts_kv (device_id, key, ts, type, bool_v, long_v, dbl_v, str_v, json_v)
      VALUES (@device_id, @key, @ts, @type, @bool_v, @long_v, @dbl_v, @str_v, @json_v)
      ON CONFLICT(device_id, key, ts) DO UPDATE SET type=excluded.type, bool_v=excluded.bool_v, long_v=excluded.long_v,
      dbl_v=excluded.dbl_v, str_v=excluded.str_v, json_v=excluded.json_v`),
    tsKeys: q("SELECT DISTINCT key FROM ts_kv WHERE device_id = ? ORDER BY key"),
    tsLatest: q(`SELECT key, ts, ${VALUE_SELECT} FROM ts_kv t WHERE device_id = @device_id AND key = @key ORDER BY ts DESC LIMIT 1`),
    tsRangeAsc: q(`SELECT key, ts, ${VALUE_SELECT} FROM ts_kv WHERE device_id = @device_id AND key = @key AND ts >= @start AND ts < @end ORDER BY ts ASC LIMIT @limit`),
    tsRangeDesc: q(`SELECT key, ts, ${VALUE_SELECT} FROM ts_kv WHERE device_id = @device_id AND key = @key AND ts >= @start AND ts < @end ORDER BY ts DESC LIMIT @limit`),
    upsertAttr: q(`INSERT INTO attribute_kv (device_id, scope, key, last_update_ts, type, bool_v, long_v, dbl_v, str_v, json_v)
      VALUES (@device_id, @scope, @key, @ts, @type, @bool_v, @long_v, @dbl_v, @str_v, @json_v)
      ON CONFLICT(device_id, scope, key) DO UPDATE SET last_update_ts=excluded.last_update_ts, type=excluded.type,
      bool_v=excluded.bool_v, long_v=excluded.long_v, dbl_v=excluded.dbl_v, str_v=excluded.str_v, json_v=excluded.json_v`),
    attrs: q(`SELECT key, last_update_ts, ${VALUE_SELECT} FROM attribute_kv WHERE device_id = ? AND scope = ? ORDER BY key`),
    deleteAttr: q("DELETE FROM attribute_kv WHERE device_id = ? AND scope = ? AND key = ?"),
    insertRpc: q(`INSERT INTO rpc (id, device_id, request_id, method, params, oneway, persistent, status, response, created_ts, expiration_ts)
      VALUES (@id, @device_id, NULL, @method, @params, @oneway, @persistent, 'QUEUED', NULL, @created_ts, @expiration_ts)`),
    rpcById: q("SELECT * FROM rpc WHERE id = ?"),
    rpcsOfDevice: q("SELECT * FROM rpc WHERE device_id = ? ORDER BY created_ts LIMIT ? OFFSET ?"),
    rpcsQueued: q("SELECT * FROM rpc WHERE device_id = ? AND status = 'QUEUED' AND expiration_ts > ? ORDER BY created_ts"),
    rpcsOpen: q("SELECT * FROM rpc WHERE status IN ('QUEUED','SENT','DELIVERED','TIMEOUT') AND expiration_ts > ?"),
    expireRpcs: q("UPDATE rpc SET status = 'EXPIRED' WHERE status IN ('QUEUED','SENT','DELIVERED','TIMEOUT') AND expiration_ts <= ? RETURNING *"),
    setRpcStatus: q("UPDATE rpc SET status = @status, response = COALESCE(@response, response), request_id = COALESCE(@request_id, request_id) WHERE id = @id"),
    insertOta: q(`INSERT INTO ota_package (id, type, title, version, tag, created_ts) VALUES (@id, @type, @title, @version, @tag, @created_ts)`),
    otaData: q(`UPDATE ota_package SET file_name=@file_name, content_type=@content_type, checksum_algorithm=@checksum_algorithm,
      checksum=@checksum, data_size=@data_size, data=@data WHERE id=@id`),
    otaInfo: q("SELECT id, type, title, version, tag, created_ts, file_name, content_type, checksum_algorithm, checksum, data_size FROM ota_package WHERE id = ?"),
    otaInfos: q("SELECT id, type, title, version, tag, created_ts, file_name, content_type, checksum_algorithm, checksum, data_size FROM ota_package ORDER BY created_ts"),
    otaBlob: q("SELECT data FROM ota_package WHERE id = ?"),
  };

}

/** Device profiles. */
function profileQueries(st) {
  return {
    defaultProfile: () => st.defaultProfile.get(),
    profile: (id) => st.profileById.get(id),
    profileByName: (name) => st.profileByName.get(name),
    profileByProvisionKey: (key) => st.profileByKey.get(key),
    profiles: () => st.profiles.all(),
    createProfile(p) {
      const row = { id: randomUUID(), created_ts: Date.now(), provision_type: "DISABLED", provision_key: null, provision_secret: null, ...p };
      st.insertProfile.run(row);
      return st.profileById.get(row.id);
    },
    updateProfile(p) { st.updateProfile.run(p); return st.profileById.get(p.id); },
  };
}

/** Devices and their credentials. */
function deviceQueries(db, st) {
  const setCredentials = (deviceId, c) => {
    st.upsertCreds.run({ device_id: deviceId, credentials_value: null, ...c });
    return st.credsByDevice.get(deviceId);
  };
  return {
    device: (id) => st.deviceById.get(id),
    deviceByName: (name) => st.deviceByName.get(name),
    devices({ page = 0, pageSize = 100, textSearch = "" } = {}) {
      const search = "%" + textSearch.replace(/[%_]/g, "") + "%";
      return { rows: st.devicePage.all({ search, limit: pageSize, offset: page * pageSize }), total: st.deviceCount.get({ search }).n };
    },
    /** Creates a device with its credentials in one transaction; access token generated unless given. */
    createDevice: db.transaction((d, creds) => {
      const row = { id: randomUUID(), type: "default", label: null, created_ts: Date.now(), firmware_id: null, software_id: null, provisioned: 0, ...d };
      if (!row.profile_id) row.profile_id = st.defaultProfile.get().id;
      st.insertDevice.run(row);
      setCredentials(row.id, creds ?? { credentials_type: "ACCESS_TOKEN", credentials_id: newAccessToken(), credentials_value: null });
      return st.deviceById.get(row.id);
    }),
    updateDevice(d) { st.updateDevice.run(d); return st.deviceById.get(d.id); },
    deleteDevice: (id) => st.deleteDevice.run(id).changes > 0,
    credentials: (deviceId) => st.credsByDevice.get(deviceId),
    setCredentials,
    deviceByToken(token) {
      const c = st.credsById.get(token, "ACCESS_TOKEN");
      return c && st.deviceById.get(c.device_id);
    },
    deviceByCertificateId(id) {
      const c = st.credsById.get(id, "X509_CERTIFICATE");
      return c && st.deviceById.get(c.device_id);
    },
  };
}

/** Time series. */
function telemetryQueries(db, st) {
  return {
    saveTelemetry: db.transaction((deviceId, batches) => {
      for (const { ts, entries } of batches) for (const e of entries) st.upsertTs.run({ device_id: deviceId, key: e.key, ts, ...valueParams(e) });
    }),
    telemetryKeys: (deviceId) => st.tsKeys.all(deviceId).map((r) => r.key),
    latestTelemetry(deviceId, keys) {
      const out = [];
      for (const key of keys ?? st.tsKeys.all(deviceId).map((r) => r.key)) {
        const row = st.tsLatest.get({ device_id: deviceId, key });
        if (row) out.push({ ts: row.ts, ...entryOf(row) });
      }
      return out;
    },
    telemetryHistory(deviceId, keys, { startTs, endTs, limit = 100, orderBy = "DESC" }) {
      const stmt = orderBy === "ASC" ? st.tsRangeAsc : st.tsRangeDesc;
      return keys.map((key) => ({ key, rows: stmt.all({ device_id: deviceId, key, start: startTs, end: endTs, limit }).map((r) => ({ ts: r.ts, ...entryOf(r) })) }));
    },
  };
}

/** Attributes by scope. */
function attributeQueries(db, st) {
  return {
    saveAttributes: db.transaction((deviceId, scope, entries, ts) => {
      for (const e of entries) st.upsertAttr.run({ device_id: deviceId, scope, key: e.key, ts, ...valueParams(e) });
    }),
    attributes(deviceId, scope, keys) {
      const rows = st.attrs.all(deviceId, scope).map((r) => ({ lastUpdateTs: r.last_update_ts, ...entryOf(r) }));
      if (!keys) return rows;
      const wanted = new Set(keys);
      return rows.filter((r) => wanted.has(r.key));
    },
    /** Deletes the given keys; returns the keys that existed. */
    deleteAttributes: db.transaction((deviceId, scope, keys) => keys.filter((k) => st.deleteAttr.run(deviceId, scope, k).changes > 0)),
  };
}

/** Server-side RPCs. */
function rpcQueries(st) {
  return {
    createRpc(r) {
      const row = { id: randomUUID(), created_ts: Date.now(), ...r };
      st.insertRpc.run(row);
      return st.rpcById.get(row.id);
    },
    rpc: (id) => st.rpcById.get(id),
    rpcsOfDevice: (deviceId, pageSize = 100, page = 0) => st.rpcsOfDevice.all(deviceId, pageSize, page * pageSize),
    queuedRpcs: (deviceId, now) => st.rpcsQueued.all(deviceId, now),
    openRpcs: (now) => st.rpcsOpen.all(now),
    expireRpcs: (now) => st.expireRpcs.all(now),
    setRpcStatus: (id, status, { response = null, requestId = null } = {}) => st.setRpcStatus.run({ id, status, response, request_id: requestId }),
  };
}

/** OTA packages and their data. */
function otaQueries(st) {
  return {
    createOtaPackage(p) {
      const row = { id: randomUUID(), created_ts: Date.now(), tag: null, ...p };
      st.insertOta.run(row);
      return st.otaInfo.get(row.id);
    },
    setOtaData(id, d) { st.otaData.run({ id, ...d }); return st.otaInfo.get(id); },
    otaPackage: (id) => st.otaInfo.get(id),
    otaPackages: () => st.otaInfos.all(),
    otaData: (id) => st.otaBlob.get(id)?.data ?? null,
  };
}

/**
 * Live views (the dashboard's event stream) learn of every write here, whoever made it: CoAP, HTTP or the core.
 * Each write method of `store` is wrapped to emit "change" on store.changes.
 */
function announceChanges(store, st) {
  const announce = (name, describe) => {
    const write = store[name];
    store[name] = (...args) => {
      const result = write(...args);
      store.changes.emit("change", describe(result, ...args));
      return result;
    };
  };
  announce("saveTelemetry", (r, deviceId, batches) => ({ kind: "telemetry", deviceId, batches }));
  announce("saveAttributes", (r, deviceId, scope, entries) => ({ kind: "attributes", deviceId, scope, keys: entries.map((e) => e.key) }));
  announce("deleteAttributes", (deleted, deviceId, scope) => ({ kind: "attributes", deviceId, scope, deleted }));
  announce("createDevice", (d) => ({ kind: "device", deviceId: d.id }));
  announce("updateDevice", (d) => ({ kind: "device", deviceId: d.id }));
  announce("deleteDevice", (r, id) => ({ kind: "device", deviceId: id, deleted: true }));
  announce("createRpc", (r) => ({ kind: "rpc", deviceId: r.device_id, id: r.id, status: r.status }));
  announce("setRpcStatus", (r, id, status) => ({ kind: "rpc", deviceId: st.rpcById.get(id)?.device_id ?? null, id, status }));
  announce("createOtaPackage", (p) => ({ kind: "otaPackage", id: p.id }));
  announce("setOtaData", (p) => ({ kind: "otaPackage", id: p.id }));
}

export function openStore(file = ":memory:") {
  const db = openDatabase(file);
  const st = prepareStatements(db);
  const store = {
    db,
    close: () => db.close(),
    ...profileQueries(st),
    ...deviceQueries(db, st),
    ...telemetryQueries(db, st),
    ...attributeQueries(db, st),
    ...rpcQueries(st),
    ...otaQueries(st),
    changes: new EventEmitter(),
  };
  announceChanges(store, st);
  return store;
}
