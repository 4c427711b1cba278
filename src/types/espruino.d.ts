// The globals the firmware sees on Espruino: the `require` of its modules (espruino-modules.d.ts), timers, pins and
// the `E` and `process` objects.
/// <reference path="./espruino-modules.d.ts" />

declare function require(name: "dgram"): DgramModule;
declare function require(name: "Storage"): StorageModule;
declare function require(name: "Wifi"): WifiModule;
declare function require(name: "ESP32"): ESP32Module;
declare function require(name: "DTLS"): DtlsModule;
declare function require(name: "crypto"): CryptoModule;

declare var process: { memory(): EspruinoMemory; env: { VERSION: string; BOARD: string; [key: string]: any } };

declare var E: EspruinoE;

/** Seconds since 1970 as a float, from the RTC. */
declare function getTime(): number;
declare function setTime(seconds: number): void;
declare function setTimeout(callback: (...args: any[]) => void, ms: number, ...args: any[]): number;
declare function setInterval(callback: (...args: any[]) => void, ms: number, ...args: any[]): number;
declare function clearTimeout(id?: number): void;
declare function clearInterval(id?: number): void;
declare function digitalWrite(pin: PinName, value: number | boolean): void;
declare function digitalRead(pin: PinName): number;
/** The first hardware I2C bus. */
declare var I2C1: {
  setup(options: { sda: PinName; scl: PinName; bitrate?: number }): void;
  writeTo(address: number, data: number | number[] | string): void;
  readFrom(address: number, count: number): Uint8Array;
};
/** 0..1 fraction of the ADC range. */
declare function analogRead(pin: PinName): number;
declare function pinMode(pin: PinName, mode: "input" | "output" | "analog" | "input_pullup" | "input_pulldown"): void;
declare function print(...text: any[]): void;
declare function load(file?: string): void;

declare var console: { log(...args: any[]): void };
