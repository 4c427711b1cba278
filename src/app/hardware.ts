// The board's own hardware as the board file describes it. Board constants are compiled in, so a board without a
// status LED carries no LED code.
import { HAS_DIGITAL_INPUTS, HAS_I2C_SENSORS, STATUS_LED, STATUS_LED_ACTIVE_LOW, SENSORS } from "board";

export function setStatusLed(on: boolean): void {
  if (STATUS_LED !== null) digitalWrite(STATUS_LED, on !== STATUS_LED_ACTIVE_LOW);
}

/** One reading of every fitted sensor, scaled and rounded as the board file says. */
export function readSensors(): { [key: string]: number } {
  const values: { [key: string]: number } = {};
  for (let i = 0; i < SENSORS.length; i++) {
    const s = SENSORS[i];
    let raw: number;
    if (HAS_I2C_SENSORS && s.kind === "i2c") {
      raw = readI2c(s.i2c!);
    } else if (s.pin === null) {
      continue;
    } else if (HAS_DIGITAL_INPUTS && s.kind === "digital") {
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

/** One register of an I2C sensor as a number: big-endian bytes, `shift` bits dropped, two's complement if signed. */
function readI2c(c: { sda: PinName; scl: PinName; address: number; register: number; bytes: number; shift: number; signed: boolean }): number {
  I2C1.setup({ sda: c.sda, scl: c.scl });
  I2C1.writeTo(c.address, c.register);
  const b = I2C1.readFrom(c.address, c.bytes);
  let v = 0;
  for (let i = 0; i < c.bytes; i++) v = v * 256 + b[i];
  v = v >> c.shift;
  const bits = c.bytes * 8 - c.shift;
  return c.signed && v >= 1 << (bits - 1) ? v - (1 << bits) : v;
}
