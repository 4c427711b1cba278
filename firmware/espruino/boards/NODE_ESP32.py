#!/bin/false
# The project's ESP32-like Linux build of Espruino, for memory figures comparable with a board: the ESP32's
# 16,383 fixed variables, 8-bit strings (the ESP32 build has no Unicode support), its 896 kB of Storage and the
# libraries of the ESP32 board that a sensor node can use, plus the project's hardware layer (Wifi, ESP32 and the
# ADC as stand-ins; firmware/espruino/hardware/). A variable takes 18 bytes on x86-64 against 14 on the ESP32, so
# counts compare, bytes do not.
# Copied into the cached Espruino source tree by scripts/espruino.sh, never into the project's own tree.
import pinutils;
info = {
 'name' : "Linux, ESP32-like variables and Storage, with the sensor node's hardware layer",
 'default_console' : "EV_USBSERIAL",
 'variables' : 16383, # as boards/ESP32.py
 'binary_name' : 'espruino-node-esp32',
 'build' : {
   'libraries' : ['NET', 'FILESYSTEM', 'CRYPTO', 'SHA256', 'SHA512', 'TLS', 'TELNET'],
   'makefile' : [
     'DEFINES+=-DSPIFLASH_BASE=0 -DSPIFLASH_LENGTH=FLASH_SAVED_CODE_LENGTH',
     'LINUX=1',
     'LIBS+=$(NODE_DTLS_OBJECT)', # the DTLS module's shim and mbedTLS (firmware/espruino/dtls/jswrap_dtls.c)
     'LDFLAGS+=-Wl,--wrap=jshGetRandomNumber', # E.hwRand from the host's random source (hardware/jswrap_node_linux.c)
     'LDFLAGS+=-Wl,--wrap=jshPushIOCharEvent -Wl,--wrap=read', # console input handed to the main loop; no stale bytes at its end (same file)
     'LDFLAGS+=-Wl,--wrap=setsockopt', # a UDP receive queue of several datagrams, as a board's (same file)
   ]
 }
};
chip = {
  'part' : "LINUX", 'family' : "LINUX", 'package' : "", 'ram' : 0,
  'flash' : 896, # kB, the ESP32's Storage partition (boards/ESP32.py saved_code: 224 pages of 4 kB)
  'speed' : -1, 'usart' : 3, 'spi' : 2, 'i2c' : 2, 'adc' : 0, 'dac' : 0,
};
devices = { 'USB' : {} } # the console is standard input and output
def get_pins():
  return pinutils.generate_pins(0, 39) # D0..D39, as the ESP32's GPIO numbers
