/*
 * The sensor node's hardware layer for the WebAssembly build (boards/NODE_WASM.py): what a board's chips do, done by
 * the JavaScript host that runs the module (host/engine/). Every call leaves through a global function of the
 * module's context, as targets/emscripten's own hwFlashRead and hwSetPinValue do:
 *
 *   network  Espruino's socket layer (libs/network/network.h) with the host's UDP: hwNetCreate(udp, port) -> socket
 *            number or -1, hwNetClose(s), hwNetRecv(s, ptr, len) and hwNetSend(s, ptr, len) with Espruino's UDP
 *            packet header in front of the datagram, hwNetResolve(namePtr) -> IPv4 address or 0.
 *   files    require("fs").readFileSync/writeFileSync on a few host-kept files (hwFileRead, hwFileWrite): the
 *            channel through which the stand-ins shared with the Linux build (hardware.js, wifi.js, esp32.js) read
 *            hardware.json and leave hardware.sleep. The firmware itself has no fs: it uses Storage.
 *   reset    E.reboot(), and so ESP32.deepSleep(), ends the engine (hwReboot: the host unwinds the module and starts
 *            a fresh one on the same flash, as the chip's reset does).
 *   random   E.hwRand() from the host's random source (hwRandom), as the ESP32's hardware generator.
 *
 * The network is Espruino's "JavaScript" network type (JSNETWORKTYPE_JS): this file gives its callbacks in place of
 * libs/network/js/, whose NetworkJS would route every datagram through JsVars the ESP32's native stack never uses.
 */
#include "jsinteractive.h"
#include "jsparse.h"
#include "jswrapper.h"
#include "jshardware.h"
#include "network.h"
#include "jswrap_node_wasm.h"

#include <emscripten.h>
#include <stdlib.h>
#include <string.h>

/* --- network ---------------------------------------------------------------------------------------------------- */
static int hostCreate(JsNetwork *net, SocketType type, uint32_t host, unsigned short port, JsVar *options) {
  NOT_USED(net); NOT_USED(options);
  if ((type & ST_TYPE_MASK) != ST_UDP) {
    jsExceptionHere(JSET_INTERNALERROR, "The simulator's network carries UDP only");
    return -1;
  }
  // A client socket (host given) binds to any port, as an unbound dgram socket does on the board.
  return EM_ASM_INT({ return hwNetCreate($0); }, host ? 0 : port);
}

static void hostClose(JsNetwork *net, int sckt) {
  NOT_USED(net);
  EM_ASM({ hwNetClose($0); }, sckt);
}

static int hostAccept(JsNetwork *net, int sckt) {
  NOT_USED(net); NOT_USED(sckt);
  return -1;
}

static void hostResolve(JsNetwork *net, char *name, uint32_t *ip) {
  NOT_USED(net);
  *ip = (uint32_t)EM_ASM_INT({ return hwNetResolve($0); }, name);
}

static int hostRecv(JsNetwork *net, SocketType type, int sckt, void *buf, size_t len) {
  NOT_USED(net); NOT_USED(type);
  return EM_ASM_INT({ return hwNetRecv($0, $1, $2); }, sckt, buf, len);
}

static int hostSend(JsNetwork *net, SocketType type, int sckt, const void *buf, size_t len) {
  NOT_USED(net); NOT_USED(type);
  return EM_ASM_INT({ return hwNetSend($0, $1, $2); }, sckt, buf, len);
}

static void hostIdle(JsNetwork *net) { NOT_USED(net); }
static bool hostCheckError(JsNetwork *net) { NOT_USED(net); return true; }

void netSetCallbacks_js(JsNetwork *net) {
  net->idle = hostIdle;
  net->checkError = hostCheckError;
  net->createsocket = hostCreate;
  net->closesocket = hostClose;
  net->accept = hostAccept;
  net->gethostbyname = hostResolve;
  net->recv = hostRecv;
  net->send = hostSend;
  net->chunkSize = 536; // as the ESP32's network (libs/network/esp32): 528 bytes of datagram after the header
}

/*JSON{
  "type" : "init",
  "generate" : "jswrap_node_wasm_init"
}*/
void jswrap_node_wasm_init() {
  // The host's network is there from power-on, as Espruino's Linux build has its process's (network.c).
  if (!networkWasCreated()) {
    JsNetwork net;
    networkCreate(&net, JSNETWORKTYPE_JS);
    networkFree(&net);
  }
  networkState = NETWORKSTATE_ONLINE;
}

/*
 * Power-on with the boot code skipped, as holding a board's boot button does: the host writes Storage through the
 * console this way (host/engine/node.mjs writeStorage) without the firmware running. Otherwise targets/emscripten's
 * jsInit().
 */
extern void *STACK_BASE;
EMSCRIPTEN_KEEPALIVE void jsInitWithoutBootCode() {
  int i;
  STACK_BASE = (void *)&i;
  jshInit();
  jswHWInit();
  jsvInit(JSVAR_CACHE_SIZE);
  jsiInit(false);
}

/* --- files ------------------------------------------------------------------------------------------------------ */
/*JSON{
  "type" : "library",
  "class" : "fs"
}
A few files the host keeps for the hardware stand-ins (not a file system: the firmware uses Storage).
*/
/*JSON{
  "type" : "staticmethod",
  "class" : "fs",
  "name" : "readFileSync",
  "generate" : "jswrap_node_wasm_readFileSync",
  "params" : [["path","JsVar","the file's name"]],
  "return" : ["JsVar","its content as a string"]
}
Throws when the host has no such file, as Espruino's fs does.
*/
JsVar *jswrap_node_wasm_readFileSync(JsVar *path) {
  char name[64];
  jsvGetString(path, name, sizeof(name));
  int len = EM_ASM_INT({ return hwFileRead($0, 0, 0); }, name);
  if (len < 0) {
    jsExceptionHere(JSET_ERROR, "Unable to open file %q", path);
    return 0;
  }
  char *buf = malloc((size_t)len + 1);
  if (!buf) {
    jsExceptionHere(JSET_ERROR, "Out of memory reading %q", path);
    return 0;
  }
  EM_ASM_INT({ return hwFileRead($0, $1, $2); }, name, buf, len);
  JsVar *s = jsvNewStringOfLength((unsigned int)len, buf);
  free(buf);
  return s;
}

/*JSON{
  "type" : "staticmethod",
  "class" : "fs",
  "name" : "writeFileSync",
  "generate" : "jswrap_node_wasm_writeFileSync",
  "params" : [["path","JsVar","the file's name"],["data","JsVar","its new content"]],
  "return" : ["bool","true"]
}
*/
bool jswrap_node_wasm_writeFileSync(JsVar *path, JsVar *data) {
  char name[64];
  jsvGetString(path, name, sizeof(name));
  JsVar *s = jsvAsString(data);
  size_t len = s ? jsvGetStringLength(s) : 0;
  char *buf = malloc(len + 1);
  if (!buf) {
    jsvUnLock(s);
    jsExceptionHere(JSET_ERROR, "Out of memory writing %q", path);
    return false;
  }
  if (s) jsvGetStringChars(s, 0, buf, len);
  jsvUnLock(s);
  EM_ASM({ hwFileWrite($0, $1, $2); }, name, buf, len);
  free(buf);
  return true;
}

/* --- reset and random (the board file links jshReboot and jshGetRandomNumber here: -Wl,--wrap) ------------------ */
void __wrap_jshReboot() {
  EM_ASM({ hwReboot(); }); // does not return: the host unwinds the module
}

/*
 * Flash reads. The interpreter reads the code it runs from Storage a few bytes at a time, and a call out to the host
 * per read (as targets/emscripten makes one per byte) was most of a simulated node's CPU. The host keeps the flash
 * image (it outlives a reset); this module keeps a copy of it (nodeFlashImage), filled a 4 kB page at a time from
 * the host when a page is first read (a boot reads a few pages of the 224), so a read is a memcpy. Writes and
 * erases go out to the host (targets/emscripten's hwFlashWritePtr), which copies them into the module's copy too.
 * A read past the image goes to the host, which answers it as the image's end does.
 */
#define IMAGE_PAGE 4096
static unsigned char *flashImage;
static unsigned char *flashPageRead; // one flag a page: copied from the host yet
static uint32_t flashImageLength;

unsigned char *nodeFlashImage(uint32_t length) {
  free(flashImage);
  free(flashPageRead);
  flashImage = malloc(length);
  flashPageRead = calloc(length / IMAGE_PAGE + 1, 1);
  flashImageLength = flashImage && flashPageRead ? length : 0;
  return flashImage;
}

void __wrap_jshFlashRead(void *buf, uint32_t addr, uint32_t len) {
  if (addr < FLASH_START || !len) return;
  uint32_t at = addr - FLASH_START;
  if (at >= flashImageLength || len > flashImageLength - at) {
    EM_ASM({ hwFlashReadPtr($0, $1, $2); }, at, buf, len);
    return;
  }
  for (uint32_t page = at / IMAGE_PAGE; page <= (at + len - 1) / IMAGE_PAGE; page++) {
    if (flashPageRead[page]) continue;
    uint32_t from = page * IMAGE_PAGE, n = flashImageLength - from < IMAGE_PAGE ? flashImageLength - from : IMAGE_PAGE;
    EM_ASM({ hwFlashReadPtr($0, $1, $2); }, from, flashImage + from, n);
    flashPageRead[page] = 1;
  }
  memcpy(buf, flashImage + at, len);
}

// setTime() (and so SNTP, see hardware/wifi.js) sets the RTC the host keeps for this chip.
void __wrap_jshSetSystemTime(JsSysTime time) {
  EM_ASM({ hwSetTime($0); }, jshGetMillisecondsFromTime(time));
}

unsigned int __wrap_jshGetRandomNumber() {
  return (unsigned int)EM_ASM_INT({ return hwRandom(); });
}
