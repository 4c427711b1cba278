/*
 * mbedTLS 3.6 configuration for the node's DTLS 1.2 layer: used unchanged for the WebAssembly, native and RISC-V
 * builds. Only what CoAP over DTLS against ThingsBoard needs is compiled in; every line here costs device flash.
 */
#ifndef DTLS_MBEDTLS_CONFIG_H
#define DTLS_MBEDTLS_CONFIG_H

/* Platform: the shim supplies wall-clock seconds (certificate validity), milliseconds (retransmission timers) and
 * random bytes; no file system, sockets, threads or libc entropy exist on the targets. */
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MS_TIME_ALT
#define MBEDTLS_PLATFORM_TIME_TYPE_MACRO time_t
#define MBEDTLS_PLATFORM_TIME_MACRO dtls_platform_time
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_DEPRECATED_REMOVED
#include <time.h>
time_t dtls_platform_time(time_t *out);
/* Every allocation goes through the shim's counting allocator, so the heap a connection holds can be measured. */
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_PLATFORM_CALLOC_MACRO dtls_calloc
#define MBEDTLS_PLATFORM_FREE_MACRO dtls_free
#include <stddef.h>
void *dtls_calloc(size_t count, size_t size);
void dtls_free(void *ptr);

/* Symmetric crypto: AES in GCM and CCM (CCM_8 included) only; tables in read-only memory (flash on the device). */
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_CIPHER_C
#define MBEDTLS_GCM_C
#define MBEDTLS_CCM_C
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA224_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_SHA1_C /* X.509 signatures of older CAs still use SHA-1 in their key identifiers and some chains */

/* Public-key crypto: X25519, P-256, P-384 for ECDHE; ECDSA and RSA (PKCS#1 v1.5) signatures. */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
/* X25519 through Project Everest's verified HACL* code (shipped in mbedTLS's 3rdparty/, Apache-2.0): the generic
 * bignum ladder took nearly half of a handshake; this makes handshakes about a third faster in WebAssembly. */
#define MBEDTLS_ECDH_VARIANT_EVEREST_ENABLED
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_MPI_MAX_SIZE 512 /* RSA-4096 server certificates */
#define MBEDTLS_MPI_WINDOW_SIZE 2

/* Certificates and keys: PEM and DER, X.509 chains with key-usage checks. */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_REMOVE_INFO

/* DTLS 1.2: client and server, cookies, anti-replay, RFC 9146 Connection IDs, session-ID resumption. */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_DTLS
#define MBEDTLS_SSL_DTLS_ANTI_REPLAY
#define MBEDTLS_SSL_DTLS_HELLO_VERIFY
#define MBEDTLS_SSL_DTLS_CLIENT_PORT_REUSE /* a device rebooting onto its old port gets a new handshake */
#define MBEDTLS_SSL_COOKIE_C
#define MBEDTLS_SSL_CACHE_C
#define MBEDTLS_SSL_DTLS_CONNECTION_ID
#define MBEDTLS_SSL_CID_IN_LEN_MAX 8
#define MBEDTLS_SSL_CID_OUT_LEN_MAX 8
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_PSK_ENABLED

/* Record buffers: a received datagram must fit whole (ThingsBoard keeps them under 1 KiB; OpenSSL on loopback
 * sends up to a full handshake message per record), and the largest own handshake message (a certificate chain)
 * must fit the output buffer before DTLS fragments it to the MTU. These two dominate the heap per connection. */
#define MBEDTLS_SSL_IN_CONTENT_LEN 4096
#define MBEDTLS_SSL_OUT_CONTENT_LEN 2048
#define MBEDTLS_SSL_DTLS_MAX_BUFFERING 8192
#define MBEDTLS_SSL_CACHE_DEFAULT_MAX_ENTRIES 64

#endif
