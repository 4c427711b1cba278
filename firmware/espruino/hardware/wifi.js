// require("Wifi") for Espruino's Linux build: an ESP32 station joining the access point hardware.json describes
// ({"wifi": {"ssid", "password", "connectMs", "failConnects"}}), with the ESP32's callback and event shapes.
// The process already has the host's network, so a joined station simply uses it. The first failConnects
// attempts in the node's life fail with "no_ap_found", as a board out of range would; wifi.failed counts them.
var fs = require("fs");
// fs.readFileSync throws for a missing file.
var read = function (name) { try { return fs.readFileSync(name); } catch (e) {} };
var hw;
try { hw = JSON.parse(read("hardware.json")).wifi; } catch (e) {}
var ap = hw || { ssid: "sim" };
var status = "off";
var IP = { ip: "127.0.0.1", netmask: "255.0.0.0", gw: "127.0.0.1", mac: "24:0a:c4:00:00:01" };
exports.connect = function (ssid, options, callback) {
  if (typeof options === "function") { callback = options; options = {}; }
  var password = options && options.password !== undefined ? "" + options.password : "";
  status = "connecting";
  setTimeout(function () {
    var failed = +(read("wifi.failed") || 0), reason = null;
    if (failed < (ap.failConnects || 0)) { fs.writeFileSync("wifi.failed", "" + (failed + 1)); reason = "no_ap_found"; }
    else if (ssid !== ap.ssid) reason = "no_ap_found";
    else if (ap.password && password !== ap.password) reason = "auth_fail";
    if (reason) {
      status = "off";
      exports.emit("disconnected", { ssid: ssid, reason: reason });
      if (callback) callback(reason);
      return;
    }
    status = "connected";
    exports.emit("associated", { ssid: ssid, authmode: ap.password ? "wpa2" : "open" });
    exports.emit("connected", IP);
    if (callback) callback(null);
  }, ap.connectMs === undefined ? 1000 : ap.connectMs);
};
exports.disconnect = function (callback) {
  if (status === "connected") exports.emit("disconnected", { reason: "assoc_leave" });
  status = "off";
  if (callback) setTimeout(callback, 0);
};
exports.getStatus = function (callback) {
  var s = { mode: status === "off" ? "off" : "sta", station: status, ap: "disabled", phy: "11n", powersave: "none" };
  if (callback) setTimeout(function () { callback(s); }, 0);
  return s;
};
exports.getIP = function (callback) {
  var ip = status === "connected" ? IP : { ip: "0.0.0.0", netmask: "0.0.0.0", gw: "0.0.0.0", mac: IP.mac };
  if (callback) setTimeout(function () { callback(ip); }, 0);
  return ip;
};
// The Linux process keeps the host's time already: SNTP has nothing to set. The simulator's chip keeps an RTC of its
// own (1970 at power-on, as an ESP32's) and offers the time a time server would give as hardware.ntp.
exports.setSNTP = function () {
  var ms = read("hardware.ntp");
  if (ms) setTime(+ms / 1000);
};
exports.setHostname = function () {};
exports.save = function () {};
exports.restore = function () {};
