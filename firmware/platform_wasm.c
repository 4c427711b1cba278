/* Platform services of the WebAssembly build: imported from JavaScript (host/dtls/wasm.mjs), none from WASI. */
#include "dtls_shim.h"

#include <stdlib.h>

#define IMPORT(name) __attribute__((import_module("env"), import_name(name)))

IMPORT("dtls_random") int js_random(unsigned char *out, size_t len);
IMPORT("dtls_clock_ms") double js_clock_ms(void);
IMPORT("dtls_unix_time") double js_unix_time(void);

int dtls_platform_random(unsigned char *out, size_t len) { return js_random(out, len); }
double dtls_platform_clock_ms(void) { return js_clock_ms(); }
double dtls_platform_unix_time(void) { return js_unix_time(); }

/* JavaScript places datagrams and PEM text in memory it gets from here. */
__attribute__((export_name("dtls_alloc"))) void *dtls_alloc(size_t len) { return malloc(len ? len : 1); }
__attribute__((export_name("dtls_release"))) void dtls_release(void *p) { free(p); }
