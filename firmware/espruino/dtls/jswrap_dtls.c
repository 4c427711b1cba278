/*
 * The `DTLS` module on Espruino: DTLS 1.2 client sockets over the project's shim (firmware/dtls_shim.h) and
 * mbedTLS 3.6, with the interface the firmware types as DtlsModule/DtlsSocket (src/types/espruino.d.ts) and the
 * simulator implements in host/dtls/module.mjs. Behaviour and every message follow that file, so a node reports
 * the same words on a board as in the simulator.
 *
 * The shim has no I/O of its own. Datagrams travel through an ordinary Espruino dgram socket (so a DTLS link uses
 * the network exactly as plain CoAP does), the retransmission timer is an Espruino timeout, and events are queued
 * with the interpreter's own event queue. The mbedTLS state lives on the C heap, not in JsVars: a connection costs
 * the interpreter only the socket object, its dgram socket and two callbacks.
 *
 * Espruino links its own, older mbedTLS for the `tls` module. Ours is linked as one object whose only global
 * symbols are the shim's dtls_* functions (firmware/Makefile, target espruino), so the two never meet.
 */
#include "jswrap_dtls.h"
#include "../../dtls_shim.h"

#include "jsinteractive.h"
#include "jsparse.h"
#include "jswrap_interactive.h"
#include "jswrap_object.h"
#include "jswrap_net.h"
#include "jshardware.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
/* In the simulator the host is shown each record's plaintext (its trace shows the CoAP inside; its virtual clock
 * follows that CoAP as it does plain CoAP). A capture on a board sees only ciphertext. */
#define PLAINTEXT(out, s, data, len) \
  EM_ASM({ if (typeof hwDtlsPlaintext === "function") hwDtlsPlaintext($0, $1, $2, $3); }, out, (s)->port, data, len)
#else
#define PLAINTEXT(out, s, data, len)
#endif
#include <string.h>

#if defined(LINUX)
#include <time.h>
#elif defined(ESP32)
#include "esp_timer.h"
#endif

/* Same figures as the simulator's module (host/dtls/module.mjs). */
#define DEFAULT_MTU 1024
#define MAX_RECORD_EXPANSION 86 /* record header 13, Connection ID 9, CBC IV 16, SHA-256 MAC 32, padding 16 */
#define MAX_QUEUED_SENDS 16
#define DEFAULT_RECV_BUFFER 1152
#define MAX_SOCKETS 4
#define READ_BUFFER 4096 /* MBEDTLS_SSL_IN_CONTENT_LEN in firmware/dtls_mbedtls_config.h */

#define INSECURE_WARNING \
  "DTLS WARNING: insecure: true - the server's certificate is NOT verified; anyone on the path can read and alter this connection"

/* Hidden children of a DTLSSocket object. */
#define SLOT_NAME JS_HIDDEN_CHAR_STR "dS"   /* index into sockets[]; removed once the socket is finished */
#define UDP_NAME JS_HIDDEN_CHAR_STR "dU"    /* the dgram socket */
#define TIMER_NAME JS_HIDDEN_CHAR_STR "dT"  /* the retransmission timeout's id */
#define QUEUE_NAME JS_HIDDEN_CHAR_STR "dQ"  /* datagrams sent before the handshake finished */
#define SESSION_NAME JS_HIDDEN_CHAR_STR "dE" /* the exported session, once asked for */

typedef struct {
  dtls_config *cfg;
  dtls_conn *conn;
  char *host;
  unsigned short port;
  unsigned short mtu;
  bool connected;
} DtlsSlot;

static DtlsSlot sockets[MAX_SOCKETS];
static unsigned char readBuffer[READ_BUFFER];

/* --- platform services the shim needs ------------------------------------------------------------------------- */
int dtls_platform_random(unsigned char *out, size_t len) {
  while (len > 0) {
    unsigned int r = jshGetRandomNumber(); /* the hardware generator on a board */
    size_t n = len < sizeof(r) ? len : sizeof(r);
    memcpy(out, &r, n);
    out += n;
    len -= n;
  }
  return 0;
}

/* Retransmission timing must not follow setTime() (SNTP moves the clock while a handshake runs). */
double dtls_platform_clock_ms(void) {
#if defined(LINUX)
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
#elif defined(ESP32)
  return esp_timer_get_time() / 1000.0;
#else
  return jshGetMillisecondsFromTime(jshGetSystemTime());
#endif
}

/* Certificate validity is checked against the node's clock, as set by SNTP or setTime(). */
double dtls_platform_unix_time(void) {
  return jshGetMillisecondsFromTime(jshGetSystemTime()) / 1000.0;
}

/* --- helpers ---------------------------------------------------------------------------------------------------- */
/* The bytes of a string as a fresh NUL-terminated C buffer (free() it), or NULL when out of memory. */
static char *copyBytes(JsVar *s, size_t *len) {
  size_t n = jsvGetStringLength(s);
  char *buf = malloc(n + 1);
  if (!buf) return NULL;
  jsvGetStringChars(s, 0, buf, n);
  buf[n] = 0;
  if (len) *len = n;
  return buf;
}

static bool isGiven(JsVar *v) {
  return v && !jsvIsUndefined(v) && !jsvIsNull(v) && !(jsvIsBoolean(v) && !jsvGetBool(v)) &&
         !(jsvIsString(v) && jsvGetStringLength(v) == 0);
}

static bool getBoolOption(JsVar *options, const char *name) {
  return jsvGetBoolAndUnLock(jsvObjectGetChildIfExists(options, name));
}

static void hexError(char *out, size_t cap, int ret) {
  snprintf(out, cap, "-0x%04x", (unsigned)(-ret));
}

/* What is wrong with certificate text mbedTLS refused, in the words of certificateProblem() (host/dtls/endpoint.mjs). */
static void describeCertificateProblem(const char *text, size_t len, int ret, char *out, size_t cap) {
  const char *begin = strstr(text, "-----BEGIN ");
  if (!begin && !(len > 0 && (unsigned char)text[0] == 0x30)) {
    snprintf(out, cap, "it is not a certificate: neither PEM text (-----BEGIN CERTIFICATE-----) nor DER");
  } else if (begin && !strstr(text, "-----BEGIN CERTIFICATE-----")) {
    const char *label = begin + 11, *end = strstr(label, "-----");
    size_t n = end ? (size_t)(end - label) : 0, i;
    char kind[40];
    if (n >= sizeof(kind)) n = sizeof(kind) - 1;
    for (i = 0; i < n; i++) kind[i] = (label[i] >= 'A' && label[i] <= 'Z') ? (char)(label[i] + 32) : label[i];
    kind[n] = 0;
    snprintf(out, cap, "it holds a PEM %s, not a certificate", kind);
  } else if (begin && !strstr(text, "-----END CERTIFICATE-----")) {
    snprintf(out, cap, "a certificate's PEM block is cut short (no -----END CERTIFICATE-----)");
  } else {
    char hex[12];
    hexError(hex, sizeof(hex), ret);
    snprintf(out, cap, "a certificate in it is damaged (mbedTLS error %s)", hex);
  }
}

static DtlsSlot *slotOf(JsVar *socket) {
  JsVar *idx = jsvObjectGetChildIfExists(socket, SLOT_NAME);
  if (!idx) return NULL;
  int i = jsvGetIntegerAndUnLock(idx);
  return (i >= 0 && i < MAX_SOCKETS && sockets[i].conn) ? &sockets[i] : NULL;
}

static void freeSlot(DtlsSlot *s) {
  if (s->conn) dtls_conn_free(s->conn);
  if (s->cfg) dtls_config_free(s->cfg);
  free(s->host);
  memset(s, 0, sizeof(*s));
}

static void emit(JsVar *socket, const char *event, JsVar *arg) {
  char name[16];
  snprintf(name, sizeof(name), JS_EVENT_PREFIX "%s", event);
  jsiQueueObjectCallbacks(socket, name, arg ? &arg : NULL, arg ? 1 : 0);
}

static void emitError(JsVar *socket, const char *code, const char *message) {
  JsVar *e = jsvNewObject();
  if (!e) return;
  jsvObjectSetChildAndUnLock(e, "code", jsvNewFromString(code));
  jsvObjectSetChildAndUnLock(e, "message", jsvNewFromString(message));
  emit(socket, "error", e);
  jsvUnLock(e);
}

static void clearTimer(JsVar *socket) {
  JsVar *id = jsvObjectGetChildIfExists(socket, TIMER_NAME);
  if (id) {
    jsiClearTimeout(id);
    jsvUnLock(id);
    jsvObjectRemoveChild(socket, TIMER_NAME);
  }
}

/* Ends the socket: state freed, dgram socket closed once what is queued (a close_notify) has gone, "close". */
static void finish(JsVar *socket, DtlsSlot *s) {
  clearTimer(socket);
  freeSlot(s);
  jsvObjectRemoveChild(socket, SLOT_NAME);
  jsvObjectRemoveChild(socket, QUEUE_NAME);
  JsVar *udp = jsvObjectGetChildIfExists(socket, UDP_NAME);
  if (udp) {
    jswrap_dgram_close(udp);
    jsvUnLock(udp);
  }
  emit(socket, "close", NULL);
}

static void fail(JsVar *socket, DtlsSlot *s, const char *code, const char *message) {
  emitError(socket, code, message);
  finish(socket, s);
}

static void failWithConnError(JsVar *socket, DtlsSlot *s) {
  const char *code = dtls_error_code(s->conn), *text = dtls_error_text(s->conn);
  char c[24], t[200];
  /* the texts live in the connection, which finish() frees */
  snprintf(c, sizeof(c), "%s", code && *code ? code : "DTLS_ERROR");
  snprintf(t, sizeof(t), "%s", text && *text ? text : "DTLS failure");
  fail(socket, s, c, t);
}

static void flush(JsVar *socket, DtlsSlot *s) {
  JsVar *udp = jsvObjectGetChildIfExists(socket, UDP_NAME);
  size_t len;
  while (udp && (len = dtls_out_len(s->conn)) > 0) {
    JsVar *data = jsvNewStringOfLength((unsigned int)len, (const char *)dtls_out_data(s->conn));
    JsVar *port = jsvNewFromInteger(s->port), *host = jsvNewFromString(s->host), *rest = jsvNewEmptyArray();
    if (data && port && host && rest) jswrap_dgram_socket_send(udp, data, port, host, rest);
    jsvUnLock4(data, port, host, rest);
    dtls_out_pop(s->conn);
  }
  jsvUnLock(udp);
}

static void run(JsVar *socket, DtlsSlot *s);

/* A native function called with `self` as this: the timer and dgram callbacks of one socket. */
static JsVar *boundNative(void (*fn)(void), unsigned short argTypes, JsVar *self) {
  JsVar *f = jsvNewNativeFunction(fn, argTypes);
  if (f) jsvObjectSetChild(f, JSPARSE_FUNCTION_THIS_NAME, self);
  return f;
}

/* The retransmission timer, and the first step right after connect(). */
static void onTimer(JsVar *socket) {
  jsvObjectRemoveChild(socket, TIMER_NAME);
  DtlsSlot *s = slotOf(socket);
  if (s) run(socket, s);
}

static void arm(JsVar *socket, DtlsSlot *s) {
  clearTimer(socket);
  int ms = dtls_timeout_ms(s->conn);
  if (ms < 0) return;
  JsVar *fn = boundNative((void (*)(void))onTimer, JSWAT_VOID | JSWAT_THIS_ARG, socket);
  if (!fn) return;
  jsvObjectSetChildAndUnLock(socket, TIMER_NAME, jswrap_interface_setTimeout(fn, ms, 0));
  jsvUnLock(fn);
}

static void sendNow(JsVar *socket, DtlsSlot *s, JsVar *message) {
  size_t len;
  int max = dtls_max_payload(s->conn);
  if (max > 0 && jsvGetStringLength(message) > (size_t)max) {
    /* the caller's mistake, not the connection's: reported, the session kept */
    char text[120];
    snprintf(text, sizeof(text), "DTLS send: a datagram of %u bytes does not fit one record (at most %d bytes with this MTU)",
             (unsigned)jsvGetStringLength(message), max);
    emitError(socket, "TOO_LARGE", text);
    return;
  }
  char *data = copyBytes(message, &len);
  if (!data) {
    emitError(socket, "OUT_OF_MEMORY", "DTLS send: out of memory");
    return;
  }
  int n = dtls_write(s->conn, (const unsigned char *)data, len);
  if (n == (int)len) PLAINTEXT(1, s, data, len);
  free(data);
  if (n != (int)len) {
    failWithConnError(socket, s);
    return;
  }
  flush(socket, s);
  arm(socket, s);
}

/* One step against the engine: then sends, delivers, re-arms the timer; any failure ends the socket. */
static void run(JsVar *socket, DtlsSlot *s) {
  JsVar *messages = jsvNewEmptyArray();
  int i, n = 0;
  for (i = 0; i < 64; i++) {
    n = dtls_read(s->conn, readBuffer, sizeof(readBuffer));
    if (n <= 0) break;
    PLAINTEXT(0, s, readBuffer, n);
    if (messages) jsvArrayPushAndUnLock(messages, jsvNewStringOfLength((unsigned int)n, (const char *)readBuffer));
  }
  flush(socket, s);
  int state = dtls_state(s->conn);
  if (state == DTLS_FAILED || n < 0) {
    jsvUnLock(messages);
    failWithConnError(socket, s);
    return;
  }
  if (state == DTLS_ESTABLISHED && !s->connected) {
    s->connected = true;
    JsVar *info = jsvNewObject();
    if (info) {
      jsvObjectSetChildAndUnLock(info, "resumed", jsvNewFromBool(dtls_resumed(s->conn) == 1));
      jsvObjectSetChildAndUnLock(info, "cipher", jsvNewFromString(dtls_cipher(s->conn)));
      emit(socket, "connect", info);
      jsvUnLock(info);
    }
    JsVar *queue = jsvObjectGetChildIfExists(socket, QUEUE_NAME);
    jsvObjectRemoveChild(socket, QUEUE_NAME);
    JsVar *m;
    while (queue && (m = jsvArrayPopFirst(queue))) {
      JsVar *v = jsvSkipNameAndUnLock(m);
      if (slotOf(socket)) sendNow(socket, s, v);
      jsvUnLock(v);
    }
    jsvUnLock(queue);
    if (!slotOf(socket)) {
      jsvUnLock(messages);
      return;
    }
  }
  JsVar *m;
  while (messages && (m = jsvArrayPopFirst(messages))) {
    JsVar *v = jsvSkipNameAndUnLock(m);
    emit(socket, "message", v);
    jsvUnLock(v);
  }
  jsvUnLock(messages);
  if (state == DTLS_CLOSED) {
    failWithConnError(socket, s);
    return;
  }
  arm(socket, s);
}

static void onDatagram(JsVar *socket, JsVar *msg, JsVar *rinfo) {
  DtlsSlot *s = slotOf(socket);
  if (!s || !jsvIsString(msg)) return;
  if (jsvObjectGetIntegerChild(rinfo, "port") != s->port) return;
  size_t len;
  char *data = copyBytes(msg, &len);
  if (!data) return; /* out of memory: as a lost datagram, the peer retransmits */
  dtls_feed(s->conn, (const unsigned char *)data, len);
  free(data);
  run(socket, s);
}

static void onSocketError(JsVar *socket, JsVar *error) {
  DtlsSlot *s = slotOf(socket);
  if (!s) return;
  char text[160];
  JsVar *msg = jsvIsObject(error) ? jsvObjectGetChildIfExists(error, "message") : jsvLockAgainSafe(error);
  jsvGetString(msg, text, sizeof(text));
  jsvUnLock(msg);
  char full[200];
  snprintf(full, sizeof(full), "UDP socket error: %s", text);
  fail(socket, s, "SOCKET", full);
}

static void listen(JsVar *udp, const char *event, JsVar *fn) {
  JsVar *name = jsvNewFromString(event);
  if (name && fn) jswrap_object_on(udp, name, fn);
  jsvUnLock2(name, fn);
}

/* --- options -------------------------------------------------------------------------------------------------- */
/* Checks the options as the simulator's module does; false with an exception raised. */
static bool validate(JsVar *o) {
  if (!jsvIsObject(o)) {
    jsExceptionHere(JSET_ERROR, "DTLS.connect: options object required");
    return false;
  }
  JsVar *host = jsvObjectGetChildIfExists(o, "host");
  bool hostOk = jsvIsString(host) && jsvGetStringLength(host) > 0;
  jsvUnLock(host);
  if (!hostOk) {
    jsExceptionHere(JSET_ERROR, "DTLS.connect: host required");
    return false;
  }
  JsVar *port = jsvObjectGetChildIfExists(o, "port");
  JsVarFloat p = jsvIsNumeric(port) ? jsvGetFloat(port) : 0;
  if (!(jsvIsNumeric(port) && p == (int)p && p > 0 && p < 65536)) {
    jsExceptionHere(JSET_ERROR, "DTLS.connect: bad port %v", port);
    jsvUnLock(port);
    return false;
  }
  jsvUnLock(port);
  JsVar *psk = jsvObjectGetChildIfExists(o, "psk");
  bool hasPsk = psk && !jsvIsUndefined(psk);
  bool pskOk = !hasPsk || (jsvIsString(psk) && jsvGetStringLength(psk) > 0);
  jsvUnLock(psk);
  if (!pskOk) {
    jsExceptionHere(JSET_ERROR, "DTLS.connect: psk must be a non-empty 8-bit string");
    return false;
  }
  JsVar *ca = jsvObjectGetChildIfExists(o, "ca"), *cert = jsvObjectGetChildIfExists(o, "cert"),
        *key = jsvObjectGetChildIfExists(o, "key");
  bool hasCa = isGiven(ca), hasCert = isGiven(cert), hasKey = isGiven(key);
  jsvUnLock3(ca, cert, key);
  if (!hasCa && !hasPsk && !getBoolOption(o, "insecure")) {
    jsExceptionHere(JSET_ERROR, "DTLS.connect: no CA certificate configured (option ca), so the server cannot be verified; "
                                "pass insecure: true to connect without verification");
    return false;
  }
  if (hasCert != hasKey) {
    jsExceptionHere(JSET_ERROR, "DTLS.connect: cert and key must be given together");
    return false;
  }
  return true;
}

/* The configuration for these options, or NULL with an exception raised (in the words of DtlsConfig). */
static dtls_config *configure(JsVar *o) {
  char problem[160], hex[12];
  dtls_config *cfg = dtls_config_new(0);
  if (!cfg) {
    jsExceptionHere(JSET_ERROR, "DTLS: out of memory creating the configuration");
    return NULL;
  }
  int ret = 0;
  size_t len, klen;
  JsVar *v = jsvObjectGetChildIfExists(o, "ca");
  if (isGiven(v)) {
    char *ca = copyBytes(v, &len);
    ret = ca ? dtls_config_ca(cfg, (unsigned char *)ca, len) : -1;
    if (ret != 0) {
      if (ca) describeCertificateProblem(ca, len, ret, problem, sizeof(problem));
      else snprintf(problem, sizeof(problem), "out of memory");
      jsExceptionHere(JSET_ERROR, "DTLS: cannot use the CA certificate(s) (option ca): %s", problem);
    }
    free(ca);
  }
  jsvUnLock(v);
  if (ret == 0) {
    JsVar *cert = jsvObjectGetChildIfExists(o, "cert"), *key = jsvObjectGetChildIfExists(o, "key");
    if (isGiven(cert) && isGiven(key)) {
      char *c = copyBytes(cert, &len), *k = copyBytes(key, &klen);
      ret = (c && k) ? dtls_config_own_cert(cfg, (unsigned char *)c, len, (unsigned char *)k, klen) : -1;
      if (k) memset(k, 0, klen);
      free(c);
      free(k);
      if (ret != 0) {
        hexError(hex, sizeof(hex), ret);
        jsExceptionHere(JSET_ERROR, "DTLS: cannot use the certificate or its private key (option cert/key): mbedTLS error %s", hex);
      }
    }
    jsvUnLock2(cert, key);
  }
  if (ret == 0) {
    JsVar *psk = jsvObjectGetChildIfExists(o, "psk");
    if (jsvIsString(psk)) {
      JsVar *id = jsvObjectGetChildIfExists(o, "pskIdentity");
      char *p = copyBytes(psk, &len), *i = jsvIsString(id) ? copyBytes(id, &klen) : NULL;
      if (!i) klen = 0;
      ret = p ? dtls_config_psk(cfg, (unsigned char *)p, len, (unsigned char *)(i ? i : ""), klen) : -1;
      if (p) memset(p, 0, len);
      free(p);
      free(i);
      jsvUnLock(id);
      if (ret != 0) {
        hexError(hex, sizeof(hex), ret);
        jsExceptionHere(JSET_ERROR, "DTLS: cannot use the pre-shared key (option psk): mbedTLS error %s", hex);
      }
    }
    jsvUnLock(psk);
  }
  if (ret == 0) {
    JsVar *suites = jsvObjectGetChildIfExists(o, "suites");
    if (jsvIsArray(suites)) {
      int ids[16];
      size_t count = 0;
      JsvObjectIterator it;
      jsvObjectIteratorNew(&it, suites);
      while (ret == 0 && jsvObjectIteratorHasValue(&it)) {
        JsVar *name = jsvObjectIteratorGetValue(&it);
        char text[64];
        jsvGetString(name, text, sizeof(text));
        jsvUnLock(name);
        int id = dtls_suite_id(text);
        if (!id) {
          jsExceptionHere(JSET_ERROR, "DTLS: cipher suite %s is unknown or not built in", text);
          ret = -1;
        } else if (count < 16) {
          ids[count++] = id;
        }
        jsvObjectIteratorNext(&it);
      }
      jsvObjectIteratorFree(&it);
      if (ret == 0 && (ret = dtls_config_suites(cfg, ids, count)) != 0) {
        hexError(hex, sizeof(hex), ret);
        jsExceptionHere(JSET_ERROR, "DTLS: cannot use these cipher suites (option suites): mbedTLS error %s", hex);
      }
    }
    jsvUnLock(suites);
  }
  if (ret == 0) {
    dtls_config_verify(cfg, getBoolOption(o, "insecure") ? DTLS_VERIFY_NONE : DTLS_VERIFY_REQUIRED);
    if (getBoolOption(o, "connectionId") && (ret = dtls_config_cid(cfg, 1)) != 0) {
      hexError(hex, sizeof(hex), ret);
      jsExceptionHere(JSET_ERROR, "DTLS: cannot use Connection ID support (option connectionId): mbedTLS error %s", hex);
    }
  }
  if (ret == 0) {
    JsVar *mtu = jsvObjectGetChildIfExists(o, "mtu");
    if (mtu && !jsvIsUndefined(mtu)) {
      JsVarFloat m = jsvGetFloat(mtu);
      if (!(m >= 256 && m <= 16384)) {
        jsExceptionHere(JSET_ERROR, "DTLS: mtu must be 256..16384, not %v", mtu);
        ret = -1;
      } else {
        dtls_config_mtu(cfg, (uint16_t)m);
      }
    }
    jsvUnLock(mtu);
  }
  if (ret == 0) {
    JsVar *minV = jsvObjectGetChildIfExists(o, "retransmitMinMs"), *maxV = jsvObjectGetChildIfExists(o, "retransmitMaxMs");
    bool hasMin = minV && !jsvIsUndefined(minV), hasMax = maxV && !jsvIsUndefined(maxV);
    if (hasMin || hasMax) {
      JsVarFloat min = hasMin ? jsvGetFloat(minV) : 1000;
      JsVarFloat max = hasMax ? jsvGetFloat(maxV) : (min > 16000 ? min : 16000);
      if (!(min > 0 && max >= min)) {
        jsExceptionHere(JSET_ERROR, "DTLS: retransmitMinMs must be > 0 and <= retransmitMaxMs");
        ret = -1;
      } else {
        dtls_config_timeouts(cfg, (uint32_t)min, (uint32_t)max);
      }
    }
    jsvUnLock2(minV, maxV);
  }
  if (ret != 0) {
    dtls_config_free(cfg);
    return NULL;
  }
  return cfg;
}

/* --- the module ------------------------------------------------------------------------------------------------ */
/*JSON{
  "type" : "library",
  "class" : "DTLS"
}
DTLS 1.2 client sockets (mbedTLS), for CoAP over DTLS (`coaps://`).
*/

/*JSON{
  "type" : "staticmethod",
  "class" : "DTLS",
  "name" : "connect",
  "generate" : "jswrap_dtls_connect",
  "params" : [
    ["options","JsVar","`{host, port, ca, servername, cert, key, psk, pskIdentity, insecure, connectionId, session, recvBufferSize, mtu, retransmitMinMs, retransmitMaxMs, suites}`"]
  ],
  "return" : ["JsVar","A DTLSSocket; the handshake starts at once"],
  "return_object" : "DTLSSocket"
}
Opens a DTLS connection to a server, verifying its certificate against `ca` and its name against `servername`
(default: `host`) unless `insecure` is set.
*/
JsVar *jswrap_dtls_connect(JsVar *options) {
  if (!validate(options)) return 0;
  int i;
  for (i = 0; i < MAX_SOCKETS && sockets[i].conn; i++) {}
  if (i == MAX_SOCKETS) {
    jsExceptionHere(JSET_ERROR, "DTLS.connect: at most %d DTLS connections can be open at once", MAX_SOCKETS);
    return 0;
  }
  bool insecure = getBoolOption(options, "insecure");
  if (insecure) jsiConsolePrintf("%s\n", INSECURE_WARNING);
  DtlsSlot *s = &sockets[i];
  s->cfg = configure(options);
  if (!s->cfg) return 0;

  JsVar *host = jsvObjectGetChildIfExists(options, "host");
  s->host = copyBytes(host, NULL);
  jsvUnLock(host);
  s->port = (unsigned short)jsvObjectGetIntegerChild(options, "port");
  JsVar *mtu = jsvObjectGetChildIfExists(options, "mtu");
  s->mtu = (mtu && !jsvIsUndefined(mtu)) ? (unsigned short)jsvGetInteger(mtu) : DEFAULT_MTU;
  jsvUnLock(mtu);

  char *hostname = NULL;
  JsVar *ca = jsvObjectGetChildIfExists(options, "ca");
  if (!insecure && isGiven(ca)) {
    JsVar *name = jsvObjectGetChildIfExists(options, "servername");
    hostname = isGiven(name) ? copyBytes(name, NULL) : (s->host ? strdup(s->host) : NULL);
    jsvUnLock(name);
  }
  jsvUnLock(ca);
  if (s->host) s->conn = dtls_conn_new(s->cfg, hostname, NULL, 0);
  free(hostname);
  if (!s->conn) {
    freeSlot(s);
    jsExceptionHere(JSET_ERROR, "DTLS: cannot create the connection (out of memory or bad host name)");
    return 0;
  }
  /* A session saved by another firmware build (or damaged in storage) only costs a full handshake. */
  JsVar *session = jsvObjectGetChildIfExists(options, "session");
  if (jsvIsString(session) && jsvGetStringLength(session) > 0) {
    size_t len;
    char *data = copyBytes(session, &len);
    int ret = data ? dtls_session_import(s->conn, (unsigned char *)data, len) : -1;
    if (data) memset(data, 0, len);
    free(data);
    if (ret != 0) {
      char hex[12];
      hexError(hex, sizeof(hex), ret);
      jsiConsolePrintf("DTLS: the saved session cannot be used (mbedTLS error %s); doing a full handshake\n", hex);
    }
  }
  jsvUnLock(session);

  JsVar *socket = jspNewObject(0, "DTLSSocket");
  JsVar *udpOptions = jsvNewObject();
  JsVar *udp = 0;
  if (socket && udpOptions) {
    int recv = jsvObjectGetIntegerChild(options, "recvBufferSize");
    jsvObjectSetChildAndUnLock(udpOptions, "type", jsvNewFromString("udp4"));
    jsvObjectSetChildAndUnLock(udpOptions, "recvBufferSize", jsvNewFromInteger(recv > 0 ? recv : DEFAULT_RECV_BUFFER));
    udp = jswrap_dgram_createSocket(udpOptions, 0);
  }
  jsvUnLock(udpOptions);
  if (!udp) {
    freeSlot(s);
    jsvUnLock(socket);
    if (!jspHasError()) jsExceptionHere(JSET_ERROR, "DTLS.connect: cannot open a UDP socket");
    return 0;
  }
  jsvObjectSetChildAndUnLock(socket, SLOT_NAME, jsvNewFromInteger(i));
  jsvObjectSetChild(socket, UDP_NAME, udp);
  jsvObjectSetChildAndUnLock(socket, QUEUE_NAME, jsvNewEmptyArray());
  listen(udp, "message", boundNative((void (*)(void))onDatagram,
                                     JSWAT_VOID | JSWAT_THIS_ARG | (JSWAT_JSVAR << JSWAT_BITS) | (JSWAT_JSVAR << (JSWAT_BITS * 2)), socket));
  listen(udp, "error", boundNative((void (*)(void))onSocketError, JSWAT_VOID | JSWAT_THIS_ARG | (JSWAT_JSVAR << JSWAT_BITS), socket));
  jsvUnLock(udp);
  /* The first flight leaves from the event loop, once the caller has attached its listeners. */
  JsVar *start = boundNative((void (*)(void))onTimer, JSWAT_VOID | JSWAT_THIS_ARG, socket);
  if (start) jsvObjectSetChildAndUnLock(socket, TIMER_NAME, jswrap_interface_setTimeout(start, 0, 0));
  jsvUnLock(start);
  return socket;
}

/*JSON{
  "type" : "class",
  "library" : "DTLS",
  "class" : "DTLSSocket"
}
A DTLS connection. Events: `connect` ({resumed, cipher}), `message` (one datagram as a string), `error`
({code, message}) and `close`, which follows every fatal error.
*/

/*JSON{
  "type" : "method",
  "class" : "DTLSSocket",
  "name" : "send",
  "generate" : "jswrap_dtls_socket_send",
  "params" : [
    ["message","JsVar","One datagram of application data, as a string of 8-bit bytes"]
  ]
}
Sends one datagram; datagrams sent before `connect` are queued (up to 16).
*/
void jswrap_dtls_socket_send(JsVar *socket, JsVar *message) {
  if (!jsvIsString(message)) {
    jsExceptionHere(JSET_TYPEERROR, "DTLS send: message must be a string of 8-bit bytes");
    return;
  }
  DtlsSlot *s = slotOf(socket);
  if (!s) {
    emitError(socket, "CLOSED", "DTLS send on a closed connection");
    return;
  }
  if (!s->connected) {
    JsVar *queue = jsvObjectGetChildIfExists(socket, QUEUE_NAME);
    if (queue && jsvGetArrayLength(queue) >= MAX_QUEUED_SENDS) {
      emitError(socket, "QUEUE_FULL", "DTLS send: too many datagrams queued before the handshake finished");
    } else if (queue) {
      jsvArrayPush(queue, message);
    }
    jsvUnLock(queue);
    return;
  }
  sendNow(socket, s, message);
}

/*JSON{
  "type" : "method",
  "class" : "DTLSSocket",
  "name" : "exportSession",
  "generate" : "jswrap_dtls_socket_exportSession",
  "return" : ["JsVar","The session as an 8-bit string (it holds the master secret: keep it private), or undefined"]
}
The session, for an abbreviated handshake after a reboot or deep sleep.
*/
JsVar *jswrap_dtls_socket_exportSession(JsVar *socket) {
  JsVar *saved = jsvObjectGetChildIfExists(socket, SESSION_NAME);
  if (saved) return saved;
  DtlsSlot *s = slotOf(socket);
  if (!s || !s->connected) return 0;
  int need = dtls_session_export(s->conn, NULL, 0);
  if (need <= 0) return 0;
  unsigned char *buf = malloc((size_t)need);
  if (!buf) return 0;
  JsVar *session = 0;
  if (dtls_session_export(s->conn, buf, (size_t)need) == need) {
    session = jsvNewStringOfLength((unsigned int)need, (const char *)buf);
    if (session) jsvObjectSetChild(socket, SESSION_NAME, session);
  }
  memset(buf, 0, (size_t)need);
  free(buf);
  return session;
}

/*JSON{
  "type" : "method",
  "class" : "DTLSSocket",
  "name" : "maxDatagram",
  "generate" : "jswrap_dtls_socket_maxDatagram",
  "return" : ["int","The largest datagram one record carries"]
}
Exact once connected; before, what the MTU leaves after the largest record expansion of the offered suites.
*/
int jswrap_dtls_socket_maxDatagram(JsVar *socket) {
  DtlsSlot *s = slotOf(socket);
  if (s && s->connected) {
    int max = dtls_max_payload(s->conn);
    if (max > 0) return max;
  }
  return (s ? s->mtu : DEFAULT_MTU) - MAX_RECORD_EXPANSION;
}

/*JSON{
  "type" : "method",
  "class" : "DTLSSocket",
  "name" : "close",
  "generate" : "jswrap_dtls_socket_close"
}
Sends close_notify, then emits `close`.
*/
void jswrap_dtls_socket_close(JsVar *socket) {
  DtlsSlot *s = slotOf(socket);
  if (!s) return;
  dtls_close(s->conn);
  flush(socket, s);
  finish(socket, s);
}

/*JSON{
  "type" : "kill",
  "generate" : "jswrap_dtls_kill"
}*/
/* reset(), load() and reboots drop every JsVar; the C side of their connections goes with them. */
void jswrap_dtls_kill(void) {
  int i;
  for (i = 0; i < MAX_SOCKETS; i++)
    if (sockets[i].conn || sockets[i].cfg) freeSlot(&sockets[i]);
}
