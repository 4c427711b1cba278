// The board's own hardware as the board file describes it. Board constants are compiled in, so a board without a
// status LED carries no LED code.
import { STATUS_LED, STATUS_LED_ACTIVE_LOW, SENSORS } from "board";

export function setStatusLed(on: boolean): void {
  if (STATUS_LED !== null) digitalWrite(STATUS_LED, on !== STATUS_LED_ACTIVE_LOW);
}

/** One reading of every fitted sensor, scaled and rounded as the board file says. */
export function readSensors(): { [key: string]: number } {
  const values: { [key: string]: number } = {};
  for (let i = 0; i < SENSORS.length; i++) {
    const s = SENSORS[i];
    if (s.pin === null) continue;
    let raw: number;
    if (s.kind === "digital") {
      pinMode(s.pin, s.pull === "up" ? "input_pullup" : s.pull === "down" ? "input_pulldown" : "input");
      raw = digitalRead(s.pin) ? 1 : 0;
    } else {
      raw = analogRead(s.pin);
    }
    const f = Math.pow(10, s.decimals);
    values[s.key] = Math.round((raw * s.scale + s.offset) * f) / f;
  }
  return values;
}
