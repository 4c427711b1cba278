/* The DTLS module for Espruino (jswrap_dtls.c): the interface the firmware types as DtlsModule/DtlsSocket. */
#include "jsvar.h"

JsVar *jswrap_dtls_connect(JsVar *options);
void jswrap_dtls_socket_send(JsVar *socket, JsVar *message);
JsVar *jswrap_dtls_socket_exportSession(JsVar *socket);
int jswrap_dtls_socket_maxDatagram(JsVar *socket);
void jswrap_dtls_socket_close(JsVar *socket);
void jswrap_dtls_kill(void);
