/* The sensor node's hardware layer, Linux build only (jswrap_node_linux.c). */
#include <stdbool.h>
bool jswrap_node_linux_idle();
