/* The sensor node's hardware layer, both builds (jswrap_node_hardware.c). */
void jswrap_node_hardware_init();
int jsMsUntilWork();
