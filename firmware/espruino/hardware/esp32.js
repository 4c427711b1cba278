// require("ESP32") for Espruino's Linux build. deepSleep(us) ends the process as the chip's reset does, leaving
// the sleep's length in hardware.sleep: the host waits that long and starts the interpreter again, which then
// boots from Storage as a board waking does. getWakeupCause() is 4 (the RTC timer) after such a wake.
var fs = require("fs");
exports.deepSleep = function (us) {
  fs.writeFileSync("hardware.sleep", "" + Math.round(us));
  E.reboot();
};
exports.reboot = function () { E.reboot(); };
exports.getWakeupCause = function () {
  var woke; try { woke = fs.readFileSync("hardware.woke"); } catch (e) {}
  return woke ? 4 : 0; };
