// The ADC and digital inputs of the node's board, for Espruino's Linux build (whose analogRead and digitalRead read
// nothing): each pin listed in hardware.json's "adc" gives a daily sine around a base level plus Gaussian noise, as
// fractions of the range, quantised to the ESP32's 12 bits; each pin in its "digital" the same signal, high at or
// above half the range: the signals the simulator gives the same board file.
(function () {
  var hw;
  try { hw = JSON.parse(require("fs").readFileSync("hardware.json")); } catch (e) { hw = {}; }
  var adc = hw.adc || {}, digital = hw.digital || {};
  function signal(s) {
    var u = Math.random() || 1e-9, g = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
    return s.base + (s.amplitude || 0) * Math.sin(2 * Math.PI * Date.now() / 1000 / (s.periodS || 86400)) + (s.noise || 0) * g;
  }
  global.analogRead = function (pin) {
    var s = adc[pin];
    return s ? Math.round(Math.min(1, Math.max(0, signal(s))) * 4095) / 4095 : 0;
  };
  var digitalRead = global.digitalRead;
  global.digitalRead = function (pin) {
    var s = digital[pin];
    return s ? (signal(s) >= 0.5 ? 1 : 0) : digitalRead(pin);
  };
})();
