/* The sensor node's hardware layer for Espruino's Linux build (jswrap_node_hardware.c). */
#include <stdbool.h>
void jswrap_node_hardware_init();
bool jswrap_node_hardware_idle();
