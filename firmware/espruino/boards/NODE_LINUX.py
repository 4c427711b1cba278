#!/bin/false
# The project's Linux build of Espruino with the stock Linux board's settings (resizable variables, Unicode
# strings), less the libraries no sensor node uses (TensorFlow, graphics), plus the project's hardware layer:
# stand-ins for what a Linux process lacks (Wifi, ESP32, the ADC; firmware/espruino/hardware/).
# Copied into the cached Espruino source tree by scripts/espruino.sh, never into the project's own tree.
import pinutils;
info = {
 'name' : "Linux, stock settings, with the sensor node's hardware layer",
 'default_console' : "EV_USBSERIAL",
 'variables' : 0, # resizable, as the stock Linux build
 'binary_name' : 'espruino-node-linux',
 'build' : {
   'libraries' : ['NET', 'FILESYSTEM', 'CRYPTO', 'SHA256', 'SHA512', 'AES_CCM', 'TLS', 'TELNET'],
   'makefile' : [
     'DEFINES+=-DESPR_UNICODE_SUPPORT=1',
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
  'flash' : 256, # kB of the file that stands in for flash (espruino.flash in the working folder)
  'speed' : -1, 'usart' : 6, 'spi' : 3, 'i2c' : 3, 'adc' : 0, 'dac' : 0,
};
devices = { 'USB' : {} } # the console is standard input and output
def get_pins():
  return pinutils.generate_pins(0, 39) # D0..D39, as the ESP32's GPIO numbers
