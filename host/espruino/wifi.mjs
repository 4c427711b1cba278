// Espruino's `Wifi` module for a simulated ESP32 station (libs/network/jswrap_wifi.c): connect/disconnect with the
// events a board emits, and failures a test or the command line can ask for.
import { EspruinoEmitter } from "./events.mjs";

/**
 * The simulated access point and its behaviour.
 * - ssid/password: the network that exists (password "" accepts any).
 * - connectMs: simulated time an association and DHCP take.
 * - failConnects: the first N connect attempts of the device's life fail with `failReason`.
 */
export const DEFAULT_WIFI = { ssid: "sim", password: "", connectMs: 1200, failConnects: 0, failReason: "no_ap_found" };

export const SIM_IP = { ip: "127.0.0.1", netmask: "255.0.0.0", gw: "127.0.0.1", mac: "24:0a:c4:00:00:01" };

/**
 * `state` outlives reboots (how many connects have failed so far); `timers` is {add(fn, ms), remove(id)} on the
 * device's clock; `toRealm(plainObject)` copies a value into the device's realm; `onTrace` reports what happens.
 */
export function createWifiModule({ config, state, queue, timers, toRealm, onTrace, onSntp }) {
  const wifi = new EspruinoEmitter(queue);
  let status = "off";
  let pending = null;
  const call = (cb, ...args) => {
    if (typeof cb === "function") queue(() => cb(...args));
  };
  Object.assign(wifi, {
    connect(ssid, options, callback) {
      if (typeof options === "function") [options, callback] = [{}, options];
      const password = options && options.password !== undefined ? String(options.password) : "";
      if (pending !== null) timers.remove(pending);
      status = "connecting";
      onTrace({ type: "wifi", event: "connecting", ssid: String(ssid) });
      pending = timers.add(() => {
        pending = null;
        let reason = null;
        if (state.failedConnects < config.failConnects) {
          state.failedConnects++;
          reason = config.failReason;
        } else if (String(ssid) !== config.ssid) reason = "no_ap_found";
        else if (config.password && password !== config.password) reason = "auth_fail";
        if (reason) {
          status = "off";
          onTrace({ type: "wifi", event: "failed", reason });
          wifi.emit("disconnected", toRealm({ ssid: String(ssid), reason }));
          call(callback, reason);
          return;
        }
        status = "connected";
        onTrace({ type: "wifi", event: "connected", ip: SIM_IP.ip });
        wifi.emit("associated", toRealm({ ssid: String(ssid), authmode: config.password ? "wpa2" : "open" }));
        wifi.emit("connected", toRealm(SIM_IP));
        call(callback, null);
      }, config.connectMs);
    },
    disconnect(callback) {
      if (pending !== null) timers.remove(pending);
      pending = null;
      const was = status;
      status = "off";
      if (was === "connected") {
        onTrace({ type: "wifi", event: "disconnected" });
        wifi.emit("disconnected", toRealm({ reason: "assoc_leave" }));
      }
      call(callback);
    },
    getStatus(callback) {
      const s = toRealm({ mode: status === "off" ? "off" : "sta", station: status, ap: "disabled", phy: "11n", powersave: "none" });
      call(callback, s);
      return s;
    },
    getIP(callback) {
      const ip = toRealm(status === "connected" ? SIM_IP : { ip: "0.0.0.0", netmask: "0.0.0.0", gw: "0.0.0.0", mac: SIM_IP.mac });
      call(callback, ip);
      return ip;
    },
    getDetails(callback) {
      const d = toRealm({ status: status === "connected" ? "connected" : "off", ssid: config.ssid });
      call(callback, d);
      return d;
    },
    /** The simulator's network time: the device's RTC is set to the host's clock. */
    setSNTP(server, tzOffset) {
      onTrace({ type: "wifi", event: "sntp", server: String(server) });
      onSntp(Number(tzOffset) || 0);
    },
    setHostname() {},
    getHostname: () => "espruino-sim",
    save() {},
    restore() {},
    isConnected: () => status === "connected",
  });
  return wifi;
}
