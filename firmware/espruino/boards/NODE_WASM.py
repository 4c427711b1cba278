#!/bin/false
# The project's WebAssembly build of Espruino, for the simulator's engine: the ESP32's 16,383 fixed variables with
# its 32-bit variable layout (wasm32 pointers are 4 bytes, as on the Xtensa: 14 bytes a variable, as on the board),
# 8-bit strings and 896 kB of Storage, and the libraries of the ESP32 build the firmware uses (network with dgram,
# Storage, crypto hashes), the project's DTLS module over mbedTLS, and the hardware layer (firmware/espruino/hardware/:
# the stand-ins the Linux build has, over jswrap_node_wasm.c's host calls for UDP, files, reset and random). The host
# gives it time, console, flash and pins (targets/emscripten's host functions) and those calls (host/engine/).
# Copied into the cached Espruino source tree by scripts/espruino.sh, never into the project's own tree.
import pinutils;
info = {
 'name' : "WebAssembly, ESP32-like variables and Storage, for the sensor node's simulator",
 'default_console' : "EV_USBSERIAL",
 'variables' : 16383, # as boards/ESP32.py
 'binary_name' : 'espruino-node-wasm.js',
 'build' : {
   'libraries' : ['NET', 'CRYPTO', 'SHA256', 'SHA512'],
   'optimizeflags' : '-O2', # the simulator's speed: 20 % less CPU per reading than -Os for 64 kB more module
   'makefile' : [
     'EMSCRIPTEN=1',
     'USE_DEBUGGER=0', # single-threaded: the debugger needs interrupts
     'DEFINES+=-DUSE_CALLFUNCTION_HACK', # not EMULATED: E.reboot() must reset the chip (the host), not call reset()
     'DEFINES+=-DSPIFLASH_BASE=0x8000000 -DSPIFLASH_LENGTH=FLASH_SAVED_CODE_LENGTH',
     # The network's socket calls go to the host: Espruino's JavaScript network type, its callbacks given by
     # hardware/jswrap_node_wasm.c instead of libs/network/js/ (NetworkJS).
     'USE_NETWORK_JS=0',
     'DEFINES+=-DUSE_NETWORK_JS',
     'INCLUDE+=-I$(ROOT)/libs/network/js', # network_js.h: the declaration of the callbacks' setter
     'LIBS+=$(NODE_DTLS_OBJECT)', # the DTLS module's shim and mbedTLS (firmware/espruino/dtls/jswrap_dtls.c)
     # reset, E.hwRand and setTime() through the host (jswrap_node_wasm.c),
     # and flash reads from the module's own copy of the image (targets/emscripten asks the host for each byte)
     'LIBS+=-Wl,--wrap=jshReboot -Wl,--wrap=jshGetRandomNumber -Wl,--wrap=jshSetSystemTime -Wl,--wrap=jshFlashRead',
     'INCLUDE+=-I$(ROOT)/libs/banglejs', # targets/emscripten/main.c includes a Bangle.js header (declarations only)
     # Settings on LIBS come after make/family/EMSCRIPTEN.make's on the link line, so they win over its WASM=0.
     'LIBS+=-sWASM=1 -sMODULARIZE=1 -sEXPORT_NAME=createEspruino -sENVIRONMENT=node -sALLOW_MEMORY_GROWTH=0',
     'LIBS+=-sEMULATE_FUNCTION_POINTER_CASTS=1', # src/jsinteractive.c calls jsiConsolePrintf through a mismatched cast
     'LIBS+=-sASSERTIONS=0 -g0',
     # 4 MB a chip, not emscripten's 16 (variables, 1 MB of stack, the C heap for mbedTLS): one engine per boot and per
     # wake, and each one's memory is allocated and collected by the host.
     'LIBS+=-sINITIAL_MEMORY=4194304 -sTOTAL_STACK=1048576',
     "LIBS+=-sEXPORTED_FUNCTIONS=_jsInit,_jsIdle,_jsKill,_jshPushIOCharEvent,_jshGetDeviceToTransmit,_jshGetCharToTransmit,_jsiGetConsoleDevice,_jsSendPinWatchEvent,_jsInitWithoutBootCode,_jsMsUntilWork,_nodeFlashImage,_malloc,_free",
   ]
 }
};
chip = {
  'part' : "EMSCRIPTEN", 'family' : "EMSCRIPTEN", 'package' : "", 'ram' : 0,
  'flash' : 896, # kB, the ESP32's Storage partition
  'speed' : -1, 'usart' : 3, 'spi' : 2, 'i2c' : 2, 'adc' : 0, 'dac' : 0,
  'saved_code' : { 'address' : 0x8000000, 'page_size' : 4096, 'pages' : 224, 'flash_available' : 896 },
};
devices = { 'USB' : {} }
def get_pins():
  return pinutils.generate_pins(0, 39) # D0..D39, as the ESP32's GPIO numbers
