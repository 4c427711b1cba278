/*
 * The sensor node's hardware layer for Espruino's Linux and WebAssembly builds: what an ESP32 has and they lack. At every interpreter start (power-on, reset(), load()), before the boot code in Storage runs, it evaluates the
 * compiled-in script "node-hardware" (hardware.js beside this file), which puts a simulated ADC behind
 * analogRead(). `require("Wifi")` and `require("ESP32")` are compiled-in modules (wifi.js, esp32.js). All three
 * read the node's hardware from hardware.json, which the host writes: a file in the working folder on Linux, a file
 * the host keeps in the WebAssembly build (jswrap_node_wasm.c). What only one build needs is in jswrap_node_linux.c
 * and jswrap_node_wasm.c.
 *
 * The script is evaluated from the C string in place, as Espruino runs code saved in Storage: its function bodies
 * stay out of RAM, so the stand-ins cost a board's memory figures only the few variables they hold.
 */
#include "jsinteractive.h"
#include "jsparse.h"
#include "jswrapper.h"
#include "jswrap_node_hardware.h"
#include "jshardware.h"
#include "jsdevices.h"

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
 * The milliseconds until the interpreter has work: 0 with events waiting, 0x7fffffff with no timer, else until its
 * next timer. The main loop cannot tell: while any socket is open it never sleeps (socketIdle() counts an open
 * socket as work, on the ESP32 as here). The WebAssembly host asks this to know how far a virtual clock may jump
 * (exported by the board file), the Linux builds' idle hook to know when to rest (jswrap_node_linux.c).
 */
extern JsVar *events, *timerArray;
extern JsSysTime jsiLastIdleTime;
int jsMsUntilWork() {
  if (jshHasEvents() || (events && !jsvArrayIsEmpty(events))) return 0;
  JsSysTime next = JSSYSTIME_MAX;
  JsvObjectIterator it;
  jsvObjectIteratorNew(&it, timerArray);
  while (jsvObjectIteratorHasValue(&it)) {
    JsVar *timer = jsvObjectIteratorGetValue(&it);
    JsSysTime t = (JsSysTime)jsvGetLongIntegerAndUnLock(jsvObjectGetChildIfExists(timer, "time"));
    jsvUnLock(timer);
    if (t < next) next = t;
    jsvObjectIteratorNext(&it);
  }
  jsvObjectIteratorFree(&it);
  if (next == JSSYSTIME_MAX) return 0x7fffffff;
  next -= jshGetSystemTime() - jsiLastIdleTime; // timers count from the last pass of the loop
  if (next <= 0) return 0;
  JsVarFloat ms = jshGetMillisecondsFromTime(next);
  return ms >= 0x7ffffffe ? 0x7ffffffe : (int)ms + (ms > (int)ms ? 1 : 0);
}
