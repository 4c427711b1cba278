// The ADC of the node's board, for Espruino's Linux build (whose analogRead reads nothing): each pin listed in
// hardware.json's "adc" gives a daily sine around a base level plus Gaussian noise, as fractions of the range,
// quantised to the ESP32's 12 bits: the signal the simulator gives the same board file.
(function () {
  var hw;
  try { hw = JSON.parse(require("fs").readFileSync("hardware.json")); } catch (e) { hw = {}; }
  var adc = hw.adc || {};
  global.analogRead = function (pin) {
    var s = adc[pin];
    if (!s) return 0;
    var u = Math.random() || 1e-9, g = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
    var v = s.base + (s.amplitude || 0) * Math.sin(2 * Math.PI * Date.now() / 1000 / (s.periodS || 86400)) + (s.noise || 0) * g;
    return Math.round(Math.min(1, Math.max(0, v)) * 4095) / 4095;
  };
})();
