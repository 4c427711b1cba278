// The board the bundle is built for. boards/board-file.mjs validates boards/<id>.json and rollup turns it into this
// module's constants, so code for hardware a board lacks is dropped from that board's bundle.
declare module "board" {
  export interface SensorSpec {
    /** Telemetry key the reading is reported under. */
    key: string;
    /** "analog": analogRead(pin) scaled linearly; "digital": digitalRead(pin) (0 or 1) scaled the same way;
     * "internal": a value the chip reports about itself. */
    kind: "analog" | "digital" | "i2c" | "internal";
    pin: PinName | null;
    /** Digital inputs: the pin's pull resistor, or null for none. */
    pull?: "up" | "down" | null;
    /** I2C sensors on I2C1: `bytes` read from `register` most significant first, `shift` bits dropped on the right,
     * two's complement when `signed`; that number is the raw reading. */
    i2c?: { sda: PinName; scl: PinName; address: number; register: number; bytes: number; shift: number; signed: boolean };
    /** reading = analogRead(pin) (or digitalRead(pin)) * scale + offset, rounded to `decimals`. */
    scale: number;
    offset: number;
    decimals: number;
    unit: string;
  }
  export const BOARD_ID: string;
  export const BOARD_NAME: string;
  /** Reported to ThingsBoard as current_fw_title / current_fw_version. */
  export const FW_TITLE: string;
  export const FW_VERSION: string;
  export const ESPRUINO_BOARD: string;
  export const MODULES: string[];
  /** null where the board has no status LED. */
  export const STATUS_LED: PinName | null;
  export const STATUS_LED_ACTIVE_LOW: boolean;
  export const SENSORS: SensorSpec[];
  export const HAS_DIGITAL_INPUTS: boolean;
  export const HAS_I2C_SENSORS: boolean;
  export const HAS_WIFI: boolean;
  export const HAS_DEEP_SLEEP: boolean;
  export const HAS_DTLS: boolean;
  export const JSVAR_BUDGET: number;
  export const UDP_RECV_BUFFER: number;
}
