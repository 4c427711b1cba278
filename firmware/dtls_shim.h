/*
 * A DTLS 1.2 endpoint over mbedTLS with no I/O of its own: the caller feeds received datagrams, takes the datagrams
 * to send, and arms one timer. That keeps the same C usable from JavaScript (WebAssembly), natively and on the
 * device, whatever their event loop is.
 *
 * Typical client run: dtls_config_new(0); dtls_config_ca(); dtls_conn_new(cfg, "host"); then on every event
 * (start, datagram in via dtls_feed, timer due) loop dtls_read() until it returns 0, send what dtls_out_*() hold,
 * and re-arm the timer to dtls_timeout_ms().
 */
#ifndef DTLS_SHIM_H
#define DTLS_SHIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct dtls_config dtls_config;
typedef struct dtls_conn dtls_conn;

/* Connection states (dtls_state). */
#define DTLS_HANDSHAKING 0
#define DTLS_ESTABLISHED 1
#define DTLS_CLOSED 2
/* Server only: a HelloVerifyRequest was queued; the connection holds no state worth keeping and should be freed. */
#define DTLS_HELLO_VERIFY_SENT 3
#define DTLS_FAILED (-1)

/* Verification modes (dtls_config_verify). */
#define DTLS_VERIFY_NONE 0
#define DTLS_VERIFY_OPTIONAL 1
#define DTLS_VERIFY_REQUIRED 2

/* Platform services, supplied by the embedding (platform_wasm.c, platform_native.c, or the device port). */
int dtls_platform_random(unsigned char *out, size_t len);
/* Milliseconds from any fixed origin, never going back. */
double dtls_platform_clock_ms(void);
/* Seconds since 1970 (UTC), for certificate validity. */
double dtls_platform_unix_time(void);

/* --- configuration, shared by many connections; not to be changed once a connection uses it ---------------- */
dtls_config *dtls_config_new(int is_server);
void dtls_config_free(dtls_config *cfg);
/* PEM (one or more certificates) or DER. Returns 0 or a negative mbedTLS error. */
int dtls_config_ca(dtls_config *cfg, const unsigned char *data, size_t len);
/* Own certificate chain (PEM or DER) and its unencrypted private key. */
int dtls_config_own_cert(dtls_config *cfg, const unsigned char *cert, size_t cert_len, const unsigned char *key,
                         size_t key_len);
int dtls_config_psk(dtls_config *cfg, const unsigned char *psk, size_t psk_len, const unsigned char *identity,
                    size_t identity_len);
/* IANA cipher-suite numbers, most preferred first; without this call the built-in list for the credentials. */
int dtls_config_suites(dtls_config *cfg, const int *ids, size_t count);
int dtls_config_verify(dtls_config *cfg, int mode);
void dtls_config_timeouts(dtls_config *cfg, uint32_t min_ms, uint32_t max_ms);
void dtls_config_mtu(dtls_config *cfg, uint16_t mtu);
/* RFC 9146: a client asks the server for a Connection ID; a server gives each client an 8-byte one. */
int dtls_config_cid(dtls_config *cfg, int on);
/* IANA number of a suite name such as "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"; 0 when unknown or not built in. */
int dtls_suite_id(const char *name);

/* --- connections --------------------------------------------------------------------------------------------- */
/* Client: `hostname` is the expected server name (a DNS name or an IP address), or NULL only for VERIFY_NONE.
 * Server: `peer_id` identifies the client's transport address for HelloVerifyRequest cookies. */
dtls_conn *dtls_conn_new(dtls_config *cfg, const char *hostname, const unsigned char *peer_id, size_t peer_id_len);
void dtls_conn_free(dtls_conn *conn);
/* A session saved with dtls_session_export, offered for an abbreviated handshake. */
int dtls_session_import(dtls_conn *conn, const unsigned char *data, size_t len);
/* Writes the session (which holds its master secret) into `out` when it fits; returns its length or a negative
 * error. NULL/0 asks for the length. */
int dtls_session_export(dtls_conn *conn, unsigned char *out, size_t cap);

/* Hands one received datagram to the connection (copied); the next dtls_read() processes it. */
int dtls_feed(dtls_conn *conn, const unsigned char *data, size_t len);
/* Drives the handshake, then returns application data: >0 bytes written to `out`, 0 when nothing more is
 * available now, DTLS_FAILED on failure (see dtls_error_*). Call it until it returns 0 or less. */
int dtls_read(dtls_conn *conn, unsigned char *out, size_t cap);
/* Encrypts one datagram of application data; returns the length taken or DTLS_FAILED. */
int dtls_write(dtls_conn *conn, const unsigned char *data, size_t len);
/* The largest application datagram one record can carry now (depends on MTU, suite and Connection ID). */
int dtls_max_payload(dtls_conn *conn);
/* Queues a close_notify alert; the connection is then closed. */
void dtls_close(dtls_conn *conn);
int dtls_state(dtls_conn *conn);

/* Outgoing datagrams, oldest first. */
size_t dtls_out_len(dtls_conn *conn);
const unsigned char *dtls_out_data(dtls_conn *conn);
void dtls_out_pop(dtls_conn *conn);
/* Milliseconds until dtls_read() must be called again for retransmission, or -1 when no timer runs. */
int dtls_timeout_ms(dtls_conn *conn);

/* The last failure in words ("server certificate has expired") and as a stable code ("CERT_EXPIRED"). */
const char *dtls_error_text(dtls_conn *conn);
const char *dtls_error_code(dtls_conn *conn);
int dtls_error_mbedtls(dtls_conn *conn);

/* After the handshake. */
const char *dtls_cipher(dtls_conn *conn);
int dtls_resumed(dtls_conn *conn);
/* 1 when records carry a Connection ID (negotiated both ways). */
int dtls_cid_in_use(dtls_conn *conn);
/* Server: the Connection ID this connection gave its client (8 bytes), for demultiplexing; NULL without CID. */
const unsigned char *dtls_own_cid(dtls_conn *conn);
/* Server: the client's leaf certificate (DER) and its verification flags (0 = chains to the CA). */
const unsigned char *dtls_peer_cert(dtls_conn *conn, size_t *len);
uint32_t dtls_peer_verify_flags(dtls_conn *conn);
/* Heap bytes currently allocated by mbedTLS and the shim. */
size_t dtls_heap_used(void);
/* mbedTLS's handshake state number, for progress output. */
int dtls_handshake_step(dtls_conn *conn);

#endif
