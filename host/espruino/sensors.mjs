// Simulated analog inputs from a board file's `sensors[].sim` (../../boards/sim.json): a daily sine around a base
// level plus Gaussian noise, all as fractions of the ADC range, quantised to the ESP32's 12-bit ADC.
import { seededRandom } from "./random.mjs";

const ADC_STEPS = 4095;

/** The noiseless signal of one sensor at `epochSeconds` (wall-clock time, so the daily cycle follows the clock). */
export function sensorSignal(sim, epochSeconds) {
  const period = sim.periodS > 0 ? sim.periodS : 86400;
  return sim.base + (sim.amplitude || 0) * Math.sin((2 * Math.PI * epochSeconds) / period);
}

export function createSensorBank(board, seed) {
  const random = seededRandom(seed);
  const byPin = new Map();
  const digital = new Map();
  const i2c = new Map(); // "address/register" -> sensor
  for (const s of board.sensors || []) {
    if (s.kind === "i2c" && s.sim) i2c.set(`${s.i2c.address}/${s.i2c.register}`, s);
    else if (s.pin && s.sim) (s.kind === "digital" ? digital : byPin).set(s.pin, s);
  }
  return {
    /** analogRead(pin) at `epochSeconds`: 0..1, or 0 for a pin with nothing simulated on it. */
    read(pin, epochSeconds) {
      const s = byPin.get(pin);
      if (!s) return 0;
      const v = sensorSignal(s.sim, epochSeconds) + (s.sim.noise || 0) * random.gaussian();
      return Math.round(Math.min(1, Math.max(0, v)) * ADC_STEPS) / ADC_STEPS;
    },
    /**
     * A simulated digital input at `epochSeconds`: the same signal (noise included), high at or above half the range;
     * undefined for a pin with no digital sensor simulated on it.
     */
    digital(pin, epochSeconds) {
      const s = digital.get(pin);
      if (!s) return undefined;
      return sensorSignal(s.sim, epochSeconds) + (s.sim.noise || 0) * random.gaussian() >= 0.5 ? 1 : 0;
    },
    /**
     * The bytes an I2C sensor answers for `register` at `epochSeconds`: the signal, in raw counts, rounded, kept in
     * the register's range, shifted into place, most significant byte first; undefined when nothing answers there.
     */
    i2c(address, register, epochSeconds) {
      const s = i2c.get(`${address}/${register}`);
      return s ? i2cBytes(s.i2c, sensorSignal(s.sim, epochSeconds) + (s.sim.noise || 0) * random.gaussian()) : undefined;
    },
    pins: () => [...byPin.keys()],
  };
}

/** A raw reading as an I2C sensor's register bytes (the inverse of the firmware's readI2c in src/app/hardware.ts). */
export function i2cBytes({ bytes, shift, signed }, value) {
  const bits = bytes * 8 - shift;
  const min = signed ? -(2 ** (bits - 1)) : 0;
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const v = Math.min(max, Math.max(min, Math.round(value)));
  const word = ((v + 2 ** bits) % 2 ** bits) * 2 ** shift;
  const out = [];
  for (let i = bytes - 1; i >= 0; i--) out.push(Math.floor(word / 2 ** (8 * i)) % 256);
  return out;
}
