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
  for (const s of board.sensors || []) if (s.pin && s.sim) (s.kind === "digital" ? digital : byPin).set(s.pin, s);
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
    pins: () => [...byPin.keys()],
  };
}
