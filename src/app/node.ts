// The sensor node application: reads the board's sensors on an interval, queues the readings in flash and sends
// them to ThingsBoard, keeps RPC and shared-attribute subscriptions alive, handles built-in RPCs and firmware
// updates, and optionally deep-sleeps between readings (resuming its DTLS session on waking).
import { BOARD_ID, FW_TITLE, FW_VERSION, HAS_DEEP_SLEEP, HAS_DTLS, HAS_WIFI, UDP_RECV_BUFFER } from "board";
import { CoapError } from "../coap/message";
import { createEndpoint, Endpoint, Observation } from "../coap/endpoint";
import { parseUri, CoapUri } from "../coap/uri";
import { createUdpTransport } from "../transport/udp";
import { createDtlsTransport, DtlsTransport } from "../transport/dtls";
import { Transport, TransportError } from "../transport/types";
import { ThingsBoardClient, RpcRequest } from "../tb/client";
import { CONFIG_FILE, loadConfig, NodeConfig } from "../node/config";
import { TelemetryQueue } from "../node/queue";
import { packReadings } from "../node/telemetry";
import { bootConfirm, clearBootFailure, readBootState } from "../node/boot";
import { FirmwareUpdater, isNewFirmware } from "./ota";
import { readSensors, setStatusLed } from "./hardware";
import { clearTimer } from "../platform/timer";

/** Largest telemetry payload in one request: a DTLS datagram must stay within about 1 KB for ThingsBoard. */
const MAX_PAYLOAD = 900;
const SESSION_FILE = "dtls.ses";
/** The client attributes last published from a deep-sleep wake, to publish again only on change. */
const ATTRS_FILE = "attrs.sent";
/** A clock before 2020 has not been set (an ESP32's RTC starts near 1970): send no timestamps then. */
const CLOCK_SET = 1577836800;
const SLOW_RETRY_MS = 600000;
/** When the server last refused our credentials or we refused its certificate (seconds, getTime()). */
const REFUSED_FILE = "refused.at";
/** Link errors that are not the server refusing us: retried at the normal pace. */
const REFUSALS = /^CERT_|^UNKNOWN_CA|^HOSTNAME_MISMATCH|^CLIENT_CERT_REQUIRED|^HANDSHAKE_FAILURE|^UNKNOWN_PSK|^NO_CA/;
/** Link errors after which the link still works. */
const NOT_FATAL = /^TOO_LARGE$|^QUEUE_FULL$/;

export type RpcHandler = (params: any, reply: (result: { [key: string]: any }) => void) => void;

function log(text: string): void {
  console.log("node: " + text);
}

export class SensorNode {
  storage = require("Storage");
  cfg!: NodeConfig;
  queue!: TelemetryQueue;
  tb!: ThingsBoardClient;
  ep!: Endpoint;
  transport!: Transport;
  ota!: FirmwareUpdater;
  handlers: { [method: string]: RpcHandler } = {};
  /** Seconds awake since boot, and the clock when last looked at (awakeS()). */
  private awake = 0;
  private seen = getTime();
  private sending = false;
  private waiting: ((ok: boolean) => void)[] = [];
  private online = false;
  private refusedAt = 0;
  private down = false;
  /** The refusal last reported, so a repeated one is not reported again. */
  private refusal = "";
  private timer?: number;
  /** The RPC (0) and shared-attribute (1) observations. */
  private subs: Observation[] = [];
  private uri!: CoapUri;
  /** The board's DTLS module, for a coaps:// server. */
  private dtls?: DtlsModule;

  constructor() {
    // Built-in RPCs; firmware authors add their own with onRpc().
    this.onRpc("getReading", (p, reply) => reply(this.sample()));
    this.onRpc("setInterval", (p, reply) => {
      const s = p && typeof p === "object" ? p.intervalS : p;
      if (typeof s !== "number" || s < 5 || s > 86400) return reply({ error: "intervalS must be a number of seconds from 5 to 86400" });
      this.setIntervalS(Math.round(s));
      reply({ intervalS: this.cfg.intervalS });
    });
    this.onRpc("setLed", (p, reply) => {
      const on = !!(p && typeof p === "object" ? p.on : p);
      setStatusLed(on);
      reply({ led: on });
    });
    this.onRpc("reboot", (p, reply) => {
      reply({ rebooting: true });
      setTimeout(() => E.reboot(), 500);
    });
    this.onRpc("getStatus", (p, reply) => reply(this.status()));
  }

  /** Registers a handler for a server-side RPC method. */
  onRpc(method: string, handler: RpcHandler): void {
    this.handlers[method] = handler;
  }

  start(): void {
    const r = loadConfig(this.storage);
    if (!r.config) {
      for (let i = 0; i < r.errors.length; i++) log("config: " + r.errors[i]);
      log("fix " + CONFIG_FILE + " (npm run configure); checking again in 30 s");
      setTimeout(() => this.start(), 30000);
      return;
    }
    this.cfg = r.config;
    this.queue = new TelemetryQueue(this.storage, this.cfg.queueMax);
    if (HAS_WIFI && this.cfg.wifi) this.joinWifi();
    else this.connect();
  }

  private joinWifi(): void {
    const wifi = require("Wifi");
    wifi.connect(this.cfg.wifi!.ssid, { password: this.cfg.wifi!.password }, (err) => {
      if (err) {
        log("Wi-Fi " + this.cfg.wifi!.ssid + ": " + err + "; retrying in 10 s");
        setTimeout(() => this.joinWifi(), 10000);
        return;
      }
      wifi.setSNTP("pool.ntp.org", 0);
      this.connect();
    });
  }

  private connect(): void {
    const u = (this.uri = parseUri(this.cfg.server));
    if (u.secure) {
      // Stock Espruino has no DTLS: only a firmware built with our shim as a native module provides it.
      try {
        this.dtls = HAS_DTLS ? require("DTLS") : undefined;
      } catch (e) {
        /* reported below */
      }
      if (!this.dtls) {
        log("this board has no DTLS module: coaps:// cannot be used on " + BOARD_ID + " (flash an Espruino build with DTLS, or use coap://)");
        return;
      }
    }
    this.openLink();
    this.tb = new ThingsBoardClient(this.ep, this.cfg.token);
    this.ota = new FirmwareUpdater(this.tb, {
      storage: this.storage,
      crypto: require("crypto"),
      log: log,
      report: (values, done) => this.report(values, done),
      reboot: () => E.reboot(),
      failed: () => this.afterOtaFailure(),
    });
    log(FW_TITLE + " " + FW_VERSION + " on " + BOARD_ID + ", server " + u.host + ":" + u.port + (u.secure ? " (DTLS)" : ""));
    if (!this.cfg.token && this.cfg.provision) this.provision();
    else this.run();
  }

  /** Opens the transport (UDP or DTLS) and a CoAP endpoint over it. */
  private openLink(): void {
    const u = this.uri;
    const s = this.storage;
    if (this.dtls) {
      const t: DtlsTransport = createDtlsTransport(this.dtls, {
        host: u.host, port: u.port,
        ca: this.cfg.ca ? s.read(this.cfg.ca) : undefined,
        cert: this.cfg.cert ? s.read(this.cfg.cert) : undefined,
        key: this.cfg.key ? s.read(this.cfg.key) : undefined,
        insecure: this.cfg.insecure,
        connectionId: true,
        session: s.read(SESSION_FILE),
        recvBufferSize: UDP_RECV_BUFFER,
      });
      t.onConnect((resumed) => log("DTLS " + (resumed ? "session resumed" : "handshake done") + " with " + u.host));
      this.transport = t;
    } else {
      this.transport = createUdpTransport(require("dgram"), u.host, u.port, { recvBufferSize: UDP_RECV_BUFFER });
    }
    // ThingsBoard answers within 10 s or never (sync-session timeout), so waiting longer only blocks the queue.
    // A sleeping node spends its battery on short wakes: fewer retransmissions (about 14 s instead of 93 s).
    this.ep = createEndpoint(this.transport, { responseTimeout: 11000, observeSilence: 300000, maxRetransmit: this.sleeping() ? 2 : 4 });
    // Replaces the endpoint's own handler: linkDown() closes the endpoint, which fails what is pending.
    this.transport.onError!((e) => this.linkDown(e));
    if (this.tb) this.tb.ep = this.ep;
    this.down = false;
  }

  private sleeping(): boolean {
    return this.cfg.sleep && HAS_DEEP_SLEEP;
  }

  /**
   * The link failed (a DTLS alert or verification failure, a socket error). Readings stay queued; a new link is
   * opened later - much later when the server's certificate or our credentials were refused, which does not fix
   * itself. A sleeping node just ends its wake.
   */
  private linkDown(e: TransportError): void {
    if (NOT_FATAL.test(e.code)) return log("link: " + e.message);
    if (this.down) return;
    this.down = true;
    const refused = REFUSALS.test(e.code);
    if (refused) this.setRefused(e.code, e.message);
    else log("link: " + e.message + "; reconnecting in " + this.cfg.intervalS + " s");
    this.ep.close();
    if (this.sleeping()) return;
    setTimeout(() => {
      this.openLink();
      this.announce();
      this.flush(() => {});
    }, refused ? SLOW_RETRY_MS : this.cfg.intervalS * 1000);
  }

  private provision(): void {
    const p = this.cfg.provision!;
    this.tb.provision(p.deviceName, p.key, p.secret, (err, token) => {
      if (err) {
        log(err.message + "; retrying in 60 s");
        setTimeout(() => this.provision(), 60000);
        return;
      }
      // Keep the token and drop the provisioning secret: the device is now known to ThingsBoard.
      this.saveConfig((stored) => {
        stored.token = token;
        delete stored.provision;
      });
      this.cfg.token = this.tb.token = token;
      log("provisioned; access token stored");
      this.run();
    });
  }

  /** Readings follow their schedule whether or not the server can be reached; they wait in flash until it can. */
  private run(): void {
    if (this.sleeping()) return this.sleepCycle();
    this.tick();
    this.announce();
  }

  /** Publishes the client attributes, then keeps the RPC and attribute subscriptions. */
  private announce(): void {
    this.tb.publishAttributes(this.identity(), (err) => {
      if (err) return this.offline(err, () => this.announce());
      this.reached();
      this.subscribe();
    });
  }

  private identity(): { [key: string]: any } {
    return { fw_title: FW_TITLE, fw_version: FW_VERSION, board: BOARD_ID, memFree: process.memory().free };
  }

  /** The server answered: a firmware on trial has proved itself, and a rollback can be reported. Once per boot. */
  private reached(): void {
    if (this.refusedAt) this.storage.erase(REFUSED_FILE);
    this.refusal = "";
    this.refusedAt = 0;
    if (this.online) return;
    this.online = true;
    const boot = readBootState(this.storage);
    if (boot.failed) {
      const why = boot.failed;
      this.report({ fw_state: "FAILED", fw_error: "rolled back: " + why }, () => clearBootFailure(this.storage));
    }
    if (bootConfirm(this.storage)) this.report({ fw_state: "UPDATED" }, () => {});
  }

  /** A request failed; the readings stay queued. A refused token or certificate is reported once, then retried slowly. */
  private offline(err: CoapError, retry?: () => void): void {
    // A closed endpoint means the link went down: linkDown() has reported it and will reconnect.
    if (err.code === "closed") return;
    let wait = this.cfg.intervalS * 1000;
    if (err.code === "unauthorized") {
      this.setRefused(err.code, err.message);
      wait = SLOW_RETRY_MS;
    } else log(err.message + (retry ? "; retrying in " + this.cfg.intervalS + " s" : "; readings kept"));
    if (retry) setTimeout(retry, wait);
  }

  /** Reports a refusal once and pauses sending; kept in Storage so deep-sleep wakes honour it too. */
  private setRefused(kind: string, why: string): void {
    if (kind !== this.refusal) log(why + "; retrying every " + SLOW_RETRY_MS / 60000 + " min");
    this.refusal = kind;
    this.refusedAt = getTime();
    this.storage.write(REFUSED_FILE, "" + this.refusedAt);
  }

  /** While the server refuses the credentials, nothing is sent until the slow retry is due. */
  private refused(): boolean {
    if (!this.refusedAt) this.refusedAt = +(this.storage.read(REFUSED_FILE) || 0);
    return getTime() - this.refusedAt < SLOW_RETRY_MS / 1000;
  }

  /** Sends fw_state and friends along with the running firmware's identity. */
  report(values: { [key: string]: any }, done: () => void): void {
    values.current_fw_title = FW_TITLE;
    values.current_fw_version = FW_VERSION;
    this.tb.telemetry(JSON.stringify(values), (err) => {
      if (err) log("report " + values.fw_state + ": " + err.message);
      done();
    });
  }

  private subscribe(): void {
    this.observe(0);
    this.observe(1);
  }

  /** (Re-)registers one observation; when it ends, only that one is registered again. */
  private observe(i: number): void {
    const again = (e: CoapError) => {
      if (e.code === "closed") return;
      log((i ? "attribute" : "RPC") + " subscription ended (" + e.code + "); registering again");
      // The initial response of the new registration carries every shared attribute, so no change is missed.
      setTimeout(() => this.observe(i), e.code === "unauthorized" ? SLOW_RETRY_MS : 1000);
    };
    if (this.subs[i]) this.subs[i].cancel(false);
    this.subs[i] = i
      ? this.tb.subscribeAttributes((v, deleted, initial) => this.onShared(v, deleted, initial), again)
      : this.tb.subscribeRpc((r) => this.handleRpc(r), again);
  }

  private handleRpc(r: RpcRequest): void {
    const h = this.handlers[r.method];
    log("RPC " + r.method + " (id " + r.id + ")");
    const reply = (result: { [key: string]: any }) =>
      this.tb.rpcReply(r.id, result, (err) => { if (err) log("RPC reply " + r.id + ": " + err.message); });
    if (!h) return reply({ error: "unknown method " + r.method });
    try {
      h(r.params, reply);
    } catch (e) {
      reply({ error: "" + e });
    }
  }

  private onShared(v: any, deleted: string[], initial: boolean): void {
    log((initial ? "shared attributes " : "shared attribute update ") + JSON.stringify(v) + (deleted.length ? " deleted " + deleted.join(",") : ""));
    if (typeof v.intervalS === "number" && v.intervalS >= 5 && v.intervalS <= 86400 && v.intervalS !== this.cfg.intervalS) this.setIntervalS(v.intervalS);
    if (isNewFirmware(v)) this.ota.start(v);
  }

  /** Changes the stored configuration (what the node learned: its token, a new interval) for the next boots. */
  private saveConfig(change: (stored: any) => void): void {
    const stored = this.storage.readJSON(CONFIG_FILE);
    change(stored);
    // JSON.stringify, not writeJSON: Espruino's writeJSON leaves names unquoted, which loadConfig's JSON.parse (and
    // every tool reading node.cfg) refuses.
    this.storage.write(CONFIG_FILE, JSON.stringify(stored));
  }

  private setIntervalS(s: number): void {
    this.cfg.intervalS = s;
    this.saveConfig((stored) => {
      stored.intervalS = s;
    });
    log("reading every " + s + " s");
    if (!this.sleeping()) this.tick();
  }

  /** Takes a reading now, queues it and sends what is queued. */
  sample(): { [key: string]: number } {
    const values = readSensors();
    const now = getTime();
    this.queue.push({ ts: this.cfg.clientTs && now > CLOCK_SET ? Math.floor(now * 1000) : 0, values: values });
    log("reading " + JSON.stringify(values) + (this.queue.length > 1 ? ", " + this.queue.length + " queued" : ""));
    this.flush(() => {});
    return values;
  }

  private tick(): void {
    clearTimer(this.timer);
    this.awakeS();
    this.sample();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tick();
    }, this.cfg.intervalS * 1000);
  }

  /**
   * Sends the queue in order, a payload at a time, removing each batch once ThingsBoard has it. `done(ok)` runs when
   * the queue is empty (true) or a send failed (false); calls during a flush wait for it.
   */
  flush(done: (ok: boolean) => void): void {
    this.waiting.push(done);
    if (this.sending) return;
    this.sending = true;
    const q = this.queue;
    const end = (ok: boolean) => {
      this.sending = false;
      const w = this.waiting;
      this.waiting = [];
      for (let i = 0; i < w.length; i++) w[i](ok);
    };
    const next = () => {
      if (this.down || this.refused()) return end(false);
      const batch = q.peek(40);
      if (!batch.readings.length) return end(true);
      if (q.dropped) batch.readings[batch.readings.length - 1].values.dropped = q.dropped;
      const pack = packReadings(batch.readings, MAX_PAYLOAD)[0];
      this.tb.telemetry(pack.payload, (err) => {
        if (err) {
          this.offline(err);
          return end(false);
        }
        log("telemetry " + pack.count + " reading(s) -> 2.01");
        this.reached();
        if (pack.count === batch.readings.length && q.dropped) q.resetDropped();
        q.ack(batch.seqs[pack.count - 1]);
        next();
      });
    };
    next();
  }

  /**
   * Seconds awake since boot, from getTime() but blind to the clock being set (SNTP, setTime, which move an ESP32's
   * RTC by years on the first join): between two looks, a step back or longer than the node ever waits between
   * looks (its reading interval) is a setting of the clock, not time that passed.
   */
  private awakeS(): number {
    const now = getTime();
    const d = now - this.seen;
    if (d >= 0 && d <= (this.cfg ? this.cfg.intervalS : 86400) + 60) this.awake += d;
    this.seen = now;
    return this.awake;
  }

  status(): { [key: string]: any } {
    return { fw_version: FW_VERSION, board: BOARD_ID, uptimeS: Math.round(this.awakeS()), queued: this.queue.length,
      dropped: this.queue.dropped, intervalS: this.cfg.intervalS, memFree: process.memory().free };
  }

  /** A failed update ends a deep-sleep wake as any other would. */
  private afterOtaFailure(): void {
    if (this.sleepNow) this.sleepNow();
  }

  private sleepNow?: () => void;

  /**
   * Deep-sleep mode: one reading, send what is queued, publish the client attributes if they changed, look for a
   * firmware update, save the DTLS session and sleep until the next reading is due. A wake stays short when the
   * server is unreachable: the readings simply wait in flash for the next one.
   */
  private sleepCycle(): void {
    this.sample();
    const sleep = () => {
      const t = this.transport as DtlsTransport;
      if (t.exportSession) {
        const s = t.exportSession();
        if (s) this.storage.write(SESSION_FILE, s);
      }
      // Counted from boot, Wi-Fi join included, so readings keep their schedule.
      const s = Math.max(5, this.cfg.intervalS - this.awakeS());
      log("sleeping " + Math.round(s) + " s");
      require("ESP32").deepSleep(Math.round(s * 1000000));
    };
    this.sleepNow = sleep;
    this.flush((ok) => {
      if (!ok) return sleep();
      const id = this.identity();
      delete id.memFree;
      const text = JSON.stringify(id);
      const publish = (next: () => void) => {
        if (this.storage.read(ATTRS_FILE) === text) return next();
        this.tb.publishAttributes(id, (err) => {
          if (!err) this.storage.write(ATTRS_FILE, text);
          next();
        });
      };
      publish(() => this.tb.getAttributes(["fw_title", "fw_version", "fw_size", "fw_checksum", "fw_checksum_algorithm", "intervalS"], [], (err, a) => {
        if (!err && isNewFirmware(a!.shared)) return this.ota.start(a!.shared);
        if (!err) this.onShared(a!.shared, [], true);
        sleep();
      }));
    });
  }
}
