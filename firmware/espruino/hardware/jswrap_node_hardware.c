/*
 * The sensor node's hardware layer for Espruino's Linux build: what an ESP32 has and a Linux process does not.
 * At every interpreter start (power-on, reset(), load()), before the boot code in Storage runs, it evaluates the
 * compiled-in script "node-hardware" (hardware.js beside this file), which puts a simulated ADC behind
 * analogRead(). `require("Wifi")` and `require("ESP32")` are compiled-in modules (wifi.js, esp32.js). All three
 * read the node's hardware from hardware.json in the working folder, which the host writes.
 *
 * The script is evaluated from the C string in place, as Espruino runs code saved in Storage: its function bodies
 * stay out of RAM, so the stand-ins cost a board's memory figures only the few variables they hold.
 */
#include "jsinteractive.h"
#include "jsparse.h"
#include "jswrapper.h"
#include "jswrap_node_hardware.h"
#include "jshardware.h"

/*JSON{
  "type" : "init",
  "generate" : "jswrap_node_hardware_init"
}*/
void jswrap_node_hardware_init() {
  const char *code = jswGetBuiltInJSLibrary("node-hardware");
  if (!code) return;
  jsvUnLock(jspEvaluate(code, true));
  jsiCheckErrors(false);
}

/*
 * The ESP32's hardware random number generator behind E.hwRand() (Espruino's Linux port answers it with the same
 * unseeded generator as Math.random, so it would repeat after every start). The board files link every call to
 * jshGetRandomNumber here (-Wl,--wrap). Math.random() keeps Espruino's unseeded generator, as on a board.
 */
#include <stdio.h>
unsigned int __wrap_jshGetRandomNumber() {
  static FILE *f;
  unsigned int r = 0;
  if (!f) f = fopen("/dev/urandom", "rb");
  if (!f || fread(&r, sizeof(r), 1, f) != 1) r = (unsigned int)jshGetSystemTime();
  return r;
}
