/* The sensor node's hardware layer for Espruino's Linux build (jswrap_node_hardware.c). */
void jswrap_node_hardware_init();
