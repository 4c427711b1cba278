import { BOARD_ID, BOARD_NAME, STATUS_LED, STATUS_LED_ACTIVE_LOW, SENSORS } from "board";

function setStatusLed(on: boolean): void {
  if (STATUS_LED !== null) digitalWrite(STATUS_LED, on !== STATUS_LED_ACTIVE_LOW);
}

function readSensors(): { [key: string]: number } {
  const values: { [key: string]: number } = {};
  for (let i = 0; i < SENSORS.length; i++) {
    const s = SENSORS[i];
    if (s.kind === "analog" && s.pin !== null) {
      const f = Math.pow(10, s.decimals);
      values[s.key] = Math.round((analogRead(s.pin) * s.scale + s.offset) * f) / f;
    }
  }
  return values;
}

setStatusLed(true);
console.log("node: " + BOARD_NAME + " (" + BOARD_ID + ") up, readings " + JSON.stringify(readSensors()));
setStatusLed(false);
