#!/bin/false
# The ESP32-like Linux build of Espruino (NODE_ESP32.py) compiled for 32-bit x86, for the benchmark only: there a
# variable takes 14 bytes, as on the ESP32 and in the simulator's WebAssembly build, so memory figures of the same
# code compare like for like (on x86-64 a variable takes 18). Without TLS and the DTLS module (no 32-bit mbedTLS
# is built); the firmware's CoAP library, storage and JSON are what it measures. Needs Debian's gcc-multilib and
# g++-multilib (scripts/setup.sh --i386). Copied into the cached Espruino source tree by scripts/espruino.sh.
import pinutils;
info = {
 'name' : "Linux i386, ESP32-like variables and Storage, with the sensor node's hardware layer",
 'default_console' : "EV_USBSERIAL",
 'variables' : 16383, # as boards/ESP32.py
 'binary_name' : 'espruino-node-i386',
 'build' : {
   'libraries' : ['NET', 'FILESYSTEM', 'CRYPTO', 'SHA256', 'SHA512', 'TELNET'],
   'makefile' : [
     'DEFINES+=-DSPIFLASH_BASE=0 -DSPIFLASH_LENGTH=FLASH_SAVED_CODE_LENGTH',
     'LINUX=1',
     'CFLAGS+=-m32', 'LDFLAGS+=-m32',
     'DEFINES+=-DUSE_CALLFUNCTION_HACK', # src/jsnative.c: required on i386
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
