// The ADC, digital inputs and I2C sensors of the node's board, for Espruino's Linux build (whose analogRead, digitalRead
// and I2C1 read nothing): each pin listed in hardware.json's "adc" gives a daily sine around a base level plus Gaussian noise, as
// fractions of the range, quantised to the ESP32's 12 bits; each pin in its "digital" the same signal, high at or
// above half the range; each I2C sensor in its "i2c" the same signal in raw counts: the signals the simulator gives
// the same board file.
(function () {
  var hw;
  try { hw = JSON.parse(require("fs").readFileSync("hardware.json")); } catch (e) { hw = {}; }
  var adc = hw.adc || {}, digital = hw.digital || {};
  // Noise from the random source of the host (E.hwRand), as the noise of an ADC differs after every boot.
  var uniform = function () { return ((E.hwRand() >>> 0) + 1) / 4294967297; };
  var signal = function (s) {
    var g = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    return s.base + (s.amplitude || 0) * Math.sin(2 * Math.PI * Date.now() / 1000 / (s.periodS || 86400)) + (s.noise || 0) * g;
  };
  global.analogRead = function (pin) {
    var s = adc[pin];
    return s ? Math.round(Math.min(1, Math.max(0, signal(s))) * 4095) / 4095 : 0;
  };
  // I2C sensors: the "i2c" entry of hardware.json maps "address/register" to {sim, bytes, shift, signed}.
  var i2c = hw.i2c || {}, register = 0;
  global.I2C1 = {};
  global.I2C1.setup = function () {};
  global.I2C1.writeTo = function (address, data) { register = typeof data === "number" ? data : data[0]; };
  global.I2C1.readFrom = function (address, count) {
    var s = i2c[address + "/" + register];
    if (!s) throw new Error("I2C1: no device answers at address 0x" + address.toString(16));
    // Shifts, not Math.pow: Espruino's pow is exp(log(x) * y) for powers of 10 and more, a little off a whole number.
    var range = 1 << (s.bytes * 8 - s.shift);
    var v = Math.round(signal(s.sim)), min = s.signed ? -range / 2 : 0, max = s.signed ? range / 2 - 1 : range - 1;
    v = Math.min(max, Math.max(min, v));
    var word = (v & (range - 1)) << s.shift, out = new Uint8Array(count);
    for (var i = 0; i < count && i < s.bytes; i++) out[i] = (word >> (8 * (s.bytes - 1 - i))) & 255;
    return out;
  };
  var digitalRead = global.digitalRead;
  global.digitalRead = function (pin) {
    var s = digital[pin];
    return s ? (signal(s) >= 0.5 ? 1 : 0) : digitalRead(pin);
  };
})();
