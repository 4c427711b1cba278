/* The sensor node's hardware layer, WebAssembly build only (jswrap_node_wasm.c). */
#include "jsvar.h"
void jswrap_node_wasm_init();
JsVar *jswrap_node_wasm_readFileSync(JsVar *path);
bool jswrap_node_wasm_writeFileSync(JsVar *path, JsVar *data);
