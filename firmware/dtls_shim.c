/* The DTLS endpoint behind dtls_shim.h. Reads internal handshake fields (ssl_misc.h) only to report what a user can
 * act on: whether the server asked for a client certificate, and whether a session was resumed. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS
#include "dtls_shim.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/ssl.h"
#include "mbedtls/ssl_cache.h"
#include "mbedtls/ssl_ciphersuites.h"
#include "mbedtls/ssl_cookie.h"
#include "mbedtls/x509_crt.h"
#include "ssl_misc.h"

#define OUT_QUEUE_MAX 32
#define ERROR_TEXT_MAX 200
#define CID_LEN 8
#define SESSION_ID_MAX 32
#define DTLS_RECORD_HEADER 13

struct dtls_config {
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt own_cert;
    mbedtls_pk_context own_key;
    mbedtls_ssl_cookie_ctx cookies;
    mbedtls_ssl_cache_context cache;
    int is_server, has_ca, has_own_cert, has_psk, cid, users;
    uint16_t mtu;
    int suites[24];
};

struct datagram {
    struct datagram *next;
    size_t len;
    unsigned char data[];
};

struct dtls_conn {
    mbedtls_ssl_context ssl;
    dtls_config *cfg;
    unsigned char *in;
    size_t in_len;
    struct datagram *out_head, *out_tail;
    int out_count;
    double timer_start;
    uint32_t timer_int, timer_fin;
    int state, mbed_err, resumed, cert_requested;
    unsigned char offered_id[SESSION_ID_MAX];
    size_t offered_id_len;
    unsigned char own_cid[CID_LEN];
    char *expected_name;
    uint32_t expected_ip[4];
    size_t expected_ip_len;
    unsigned char *peer_der;
    size_t peer_der_len;
    unsigned char *session_blob;
    size_t session_len;
    size_t oversize; /* largest received datagram that did not fit the record buffer */
    uint32_t peer_flags;
    const char *error_code;
    char error_text[ERROR_TEXT_MAX];
};

static const uint16_t groups[] = {
    MBEDTLS_SSL_IANA_TLS_GROUP_X25519, MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1, MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1,
    MBEDTLS_SSL_IANA_TLS_GROUP_NONE};

/* ThingsBoard's suites, strongest-and-cheapest first; CCM_8 last because its 8-byte tag is weaker. */
static const int cert_suites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CCM,        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CCM,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,   MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,      MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8,
    0};
static const int psk_suites[] = {
    MBEDTLS_TLS_PSK_WITH_AES_128_CCM_8, MBEDTLS_TLS_PSK_WITH_AES_128_GCM_SHA256, MBEDTLS_TLS_PSK_WITH_AES_128_CCM,
    MBEDTLS_TLS_PSK_WITH_AES_256_GCM_SHA384, MBEDTLS_TLS_PSK_WITH_AES_256_CCM, MBEDTLS_TLS_PSK_WITH_AES_256_CCM_8,
    0};
static const int all_suites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CCM,        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CCM,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,   MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,      MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8,
    MBEDTLS_TLS_PSK_WITH_AES_128_CCM_8,              MBEDTLS_TLS_PSK_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_PSK_WITH_AES_128_CCM,                MBEDTLS_TLS_PSK_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_PSK_WITH_AES_256_CCM,                MBEDTLS_TLS_PSK_WITH_AES_256_CCM_8,
    0};

/* A header in front of each block remembers its size; max_align_t keeps the payload aligned. */
static size_t heap_used;

void *dtls_calloc(size_t count, size_t size)
{
    if (size && count > (SIZE_MAX - sizeof(max_align_t)) / size) return NULL;
    size_t total = count * size;
    max_align_t *block = calloc(1, sizeof(max_align_t) + total);
    if (!block) return NULL;
    *(size_t *) block = total;
    heap_used += total;
    return block + 1;
}

void dtls_free(void *ptr)
{
    if (!ptr) return;
    max_align_t *block = (max_align_t *) ptr - 1;
    heap_used -= *(size_t *) block;
    free(block);
}

size_t dtls_heap_used(void)
{
    return heap_used;
}

time_t dtls_platform_time(time_t *out)
{
    time_t now = (time_t) dtls_platform_unix_time();
    if (out) *out = now;
    return now;
}

mbedtls_ms_time_t mbedtls_ms_time(void)
{
    return (mbedtls_ms_time_t) dtls_platform_clock_ms();
}

static int rng(void *unused, unsigned char *out, size_t len)
{
    (void) unused;
    return dtls_platform_random(out, len) == 0 ? 0 : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

/* --- small text helpers (no printf: wasi-libc's would pull in file-descriptor imports) -------------------------- */

static void text_set4(dtls_conn *c, const char *code, const char *a, const char *b, const char *d, const char *e)
{
    size_t n = 0;
    const char *parts[4] = {a, b, d, e};
    c->error_code = code;
    for (int i = 0; i < 4; i++) {
        for (const char *p = parts[i]; p && *p && n < ERROR_TEXT_MAX - 1; p++) c->error_text[n++] = *p;
    }
    c->error_text[n] = 0;
}

static void text_set(dtls_conn *c, const char *code, const char *a, const char *b, const char *d)
{
    text_set4(c, code, a, b, d, NULL);
}

static const char *hex_error(int err, char *buf)
{
    static const char digits[] = "0123456789abcdef";
    unsigned v = (unsigned) (err < 0 ? -err : err);
    buf[0] = '-';
    buf[1] = '0';
    buf[2] = 'x';
    for (int i = 0; i < 4; i++) buf[3 + i] = digits[(v >> (12 - 4 * i)) & 15];
    buf[7] = 0;
    return buf;
}

static const char *decimal(unsigned v, char *buf)
{
    char tmp[12];
    int n = 0;
    do {
        tmp[n++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    buf[n] = 0;
    return buf;
}

static const char *alert_name(unsigned a)
{
    switch (a) {
        case 0: return "close notify";
        case 10: return "unexpected message";
        case 20: return "bad record MAC";
        case 40: return "handshake failure";
        case 42: return "bad certificate";
        case 43: return "unsupported certificate";
        case 44: return "certificate revoked";
        case 45: return "certificate expired";
        case 46: return "certificate unknown";
        case 47: return "illegal parameter";
        case 48: return "unknown CA";
        case 49: return "access denied";
        case 50: return "decode error";
        case 51: return "decrypt error";
        case 70: return "protocol version";
        case 71: return "insufficient security";
        case 80: return "internal error";
        case 86: return "inappropriate fallback";
        case 109: return "missing extension";
        case 110: return "unsupported extension";
        case 112: return "unrecognized name";
        case 115: return "unknown PSK identity";
        case 116: return "certificate required";
        default: return "alert";
    }
}

static void explain_certificate(dtls_conn *c, uint32_t flags)
{
    const char *who = c->cfg->is_server ? "client certificate " : "server certificate ";
    char num[12];
    if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
        text_set(c, "UNKNOWN_CA", who, "is not signed by a trusted CA (Unknown CA)", NULL);
    else if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
        text_set(c, "CERT_EXPIRED", who, "has expired", NULL);
    else if (flags & MBEDTLS_X509_BADCERT_FUTURE)
        text_set(c, "CERT_NOT_YET_VALID", who, "is not yet valid", NULL);
    else if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
        text_set4(c, "HOSTNAME_MISMATCH", who, "does not match the host name \"",
                  c->expected_name ? c->expected_name : "", "\"");
    else if (flags & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE))
        text_set(c, "CERT_USAGE", who, "may not be used for this purpose (key usage)", NULL);
    else if (flags & (MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY))
        text_set(c, "CERT_WEAK", who, "uses an algorithm or key size that is not accepted", NULL);
    else
        text_set(c, "CERT_INVALID", who, "failed verification, flags ", decimal(flags, num));
}

static void explain(dtls_conn *c, int err)
{
    char num[12];
    c->mbed_err = err;
    switch (err) {
        case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
        case MBEDTLS_ERR_SSL_BAD_CERTIFICATE:
            explain_certificate(c, c->ssl.session_negotiate ? c->ssl.session_negotiate->verify_result : 0);
            return;
        case MBEDTLS_ERR_SSL_TIMEOUT:
            if (c->cfg->has_psk && c->ssl.state >= MBEDTLS_SSL_SERVER_CHANGE_CIPHER_SPEC)
                text_set(c, "HANDSHAKE_TIMEOUT",
                         "handshake timeout: the server never answered our Finished message ",
                         "(wrong pre-shared key or identity?)", NULL);
            else if (c->oversize)
                text_set(c, "HANDSHAKE_TIMEOUT", "handshake timeout: the peer's datagrams (", decimal((unsigned) c->oversize, num),
                         " bytes) exceed our receive buffer (MBEDTLS_SSL_IN_CONTENT_LEN)");
            else
                text_set(c, "HANDSHAKE_TIMEOUT", "handshake timeout: no answer from the peer", NULL, NULL);
            return;
        case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE: {
            unsigned alert = c->ssl.in_msg ? c->ssl.in_msg[1] : 255;
            if (!c->cfg->is_server && c->cert_requested && !c->cfg->has_own_cert) {
                text_set(c, "CLIENT_CERT_REQUIRED", "server requires a client certificate (alert received: ",
                         alert_name(alert), ")");
                return;
            }
            text_set(c, "ALERT_RECEIVED", "alert received from the peer: ", alert_name(alert), " (");
            size_t n = strlen(c->error_text);
            decimal(alert, num);
            if (n + strlen(num) + 2 < ERROR_TEXT_MAX) {
                strcpy(c->error_text + n, num);
                strcat(c->error_text, ")");
            }
            return;
        }
        case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
            text_set(c, "CLOSED", "the peer closed the connection", NULL, NULL);
            return;
        case MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED:
            text_set(c, "NO_CA", "no CA certificate configured to verify the peer", NULL, NULL);
            return;
        case MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE:
            text_set(c, "HANDSHAKE_FAILURE", "handshake failed: no cipher suite or parameters in common with the peer",
                     NULL, NULL);
            return;
        case MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY:
            text_set(c, "UNKNOWN_PSK_IDENTITY", "unknown pre-shared key identity", NULL, NULL);
            return;
        case MBEDTLS_ERR_SSL_ALLOC_FAILED:
            text_set(c, "OUT_OF_MEMORY", "out of memory", NULL, NULL);
            return;
        default:
            text_set(c, "DTLS_ERROR", "DTLS failure, mbedTLS error ", hex_error(err, num), NULL);
    }
}

/* --- configuration ------------------------------------------------------------------------------------------- */

dtls_config *dtls_config_new(int is_server)
{
    dtls_config *cfg = dtls_calloc(1, sizeof(*cfg));
    if (!cfg) return NULL;
    mbedtls_ssl_config_init(&cfg->conf);
    mbedtls_x509_crt_init(&cfg->ca);
    mbedtls_x509_crt_init(&cfg->own_cert);
    mbedtls_pk_init(&cfg->own_key);
    mbedtls_ssl_cookie_init(&cfg->cookies);
    mbedtls_ssl_cache_init(&cfg->cache);
    cfg->is_server = is_server;
    cfg->mtu = 1024;
    if (mbedtls_ssl_config_defaults(&cfg->conf, is_server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
                                    MBEDTLS_SSL_TRANSPORT_DATAGRAM, MBEDTLS_SSL_PRESET_DEFAULT) != 0) {
        dtls_config_free(cfg);
        return NULL;
    }
    mbedtls_ssl_conf_rng(&cfg->conf, rng, NULL);
    mbedtls_ssl_conf_groups(&cfg->conf, groups);
    mbedtls_ssl_conf_min_tls_version(&cfg->conf, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_max_tls_version(&cfg->conf, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_authmode(&cfg->conf, is_server ? MBEDTLS_SSL_VERIFY_NONE : MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_handshake_timeout(&cfg->conf, 1000, 16000);
    if (is_server) {
        if (mbedtls_ssl_cookie_setup(&cfg->cookies, rng, NULL) != 0) {
            dtls_config_free(cfg);
            return NULL;
        }
        mbedtls_ssl_conf_dtls_cookies(&cfg->conf, mbedtls_ssl_cookie_write, mbedtls_ssl_cookie_check, &cfg->cookies);
        mbedtls_ssl_conf_session_cache(&cfg->conf, &cfg->cache, mbedtls_ssl_cache_get, mbedtls_ssl_cache_set);
    }
    return cfg;
}

void dtls_config_free(dtls_config *cfg)
{
    if (!cfg) return;
    mbedtls_ssl_config_free(&cfg->conf);
    mbedtls_x509_crt_free(&cfg->ca);
    mbedtls_x509_crt_free(&cfg->own_cert);
    mbedtls_pk_free(&cfg->own_key);
    mbedtls_ssl_cookie_free(&cfg->cookies);
    mbedtls_ssl_cache_free(&cfg->cache);
    dtls_free(cfg);
}

/* mbedTLS wants PEM with its terminating NUL counted in the length; callers pass plain text. */
static int with_nul(const unsigned char *data, size_t len, unsigned char **out, size_t *out_len)
{
    if (len > 0 && data[len - 1] == 0) {
        *out = NULL;
        *out_len = len;
        return 0;
    }
    *out = dtls_calloc(1, len + 1);
    if (!*out) return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    memcpy(*out, data, len);
    (*out)[len] = 0;
    *out_len = len + 1;
    return 0;
}

static int is_pem(const unsigned char *data, size_t len)
{
    return len > 10 && memcmp(data, "-----BEGIN", 10) == 0;
}

static int parse_crt(mbedtls_x509_crt *crt, const unsigned char *data, size_t len)
{
    if (!is_pem(data, len)) return mbedtls_x509_crt_parse_der(crt, data, len);
    unsigned char *copy;
    size_t n;
    int ret = with_nul(data, len, &copy, &n);
    if (ret) return ret;
    ret = mbedtls_x509_crt_parse(crt, copy ? copy : data, n);
    dtls_free(copy);
    return ret;
}

int dtls_config_ca(dtls_config *cfg, const unsigned char *data, size_t len)
{
    int ret = parse_crt(&cfg->ca, data, len);
    if (ret != 0) return ret < 0 ? ret : MBEDTLS_ERR_X509_INVALID_FORMAT;
    cfg->has_ca = 1;
    mbedtls_ssl_conf_ca_chain(&cfg->conf, &cfg->ca, NULL);
    return 0;
}

int dtls_config_own_cert(dtls_config *cfg, const unsigned char *cert, size_t cert_len, const unsigned char *key,
                         size_t key_len)
{
    int ret = parse_crt(&cfg->own_cert, cert, cert_len);
    if (ret != 0) return ret < 0 ? ret : MBEDTLS_ERR_X509_INVALID_FORMAT;
    unsigned char *copy = NULL;
    size_t n = key_len;
    if (is_pem(key, key_len) && (ret = with_nul(key, key_len, &copy, &n)) != 0) return ret;
    ret = mbedtls_pk_parse_key(&cfg->own_key, copy ? copy : key, n, NULL, 0, rng, NULL);
    if (copy) {
        mbedtls_platform_zeroize(copy, n);
        dtls_free(copy);
    }
    if (ret != 0) return ret;
    ret = mbedtls_ssl_conf_own_cert(&cfg->conf, &cfg->own_cert, &cfg->own_key);
    if (ret == 0) cfg->has_own_cert = 1;
    return ret;
}

int dtls_config_psk(dtls_config *cfg, const unsigned char *psk, size_t psk_len, const unsigned char *identity,
                    size_t identity_len)
{
    int ret = mbedtls_ssl_conf_psk(&cfg->conf, psk, psk_len, identity, identity_len);
    if (ret == 0) cfg->has_psk = 1;
    return ret;
}

int dtls_config_suites(dtls_config *cfg, const int *ids, size_t count)
{
    size_t max = sizeof(cfg->suites) / sizeof(cfg->suites[0]) - 1;
    if (count == 0 || count > max) return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
    for (size_t i = 0; i < count; i++) {
        if (!mbedtls_ssl_ciphersuite_from_id(ids[i])) return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
        cfg->suites[i] = ids[i];
    }
    cfg->suites[count] = 0;
    return 0;
}

int dtls_suite_id(const char *name)
{
    return mbedtls_ssl_get_ciphersuite_id(name);
}

int dtls_config_verify(dtls_config *cfg, int mode)
{
    static const int modes[] = {MBEDTLS_SSL_VERIFY_NONE, MBEDTLS_SSL_VERIFY_OPTIONAL, MBEDTLS_SSL_VERIFY_REQUIRED};
    if (mode < 0 || mode > 2) return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
    mbedtls_ssl_conf_authmode(&cfg->conf, modes[mode]);
    return 0;
}

void dtls_config_timeouts(dtls_config *cfg, uint32_t min_ms, uint32_t max_ms)
{
    mbedtls_ssl_conf_handshake_timeout(&cfg->conf, min_ms, max_ms);
}

void dtls_config_mtu(dtls_config *cfg, uint16_t mtu)
{
    cfg->mtu = mtu;
}

int dtls_config_cid(dtls_config *cfg, int on)
{
    cfg->cid = on;
    return mbedtls_ssl_conf_cid(&cfg->conf, cfg->is_server ? CID_LEN : 0, MBEDTLS_SSL_UNEXPECTED_CID_IGNORE);
}

/* --- transport callbacks --------------------------------------------------------------------------------------- */

static int on_send(void *ctx, const unsigned char *buf, size_t len)
{
    dtls_conn *c = ctx;
    if (c->out_count >= OUT_QUEUE_MAX) return MBEDTLS_ERR_SSL_WANT_WRITE;
    struct datagram *d = dtls_calloc(1, sizeof(*d) + len);
    if (!d) return MBEDTLS_ERR_SSL_WANT_WRITE;
    d->next = NULL;
    d->len = len;
    memcpy(d->data, buf, len);
    if (c->out_tail) c->out_tail->next = d;
    else c->out_head = d;
    c->out_tail = d;
    c->out_count++;
    return (int) len;
}

static int on_recv(void *ctx, unsigned char *buf, size_t len)
{
    dtls_conn *c = ctx;
    if (!c->in) return MBEDTLS_ERR_SSL_WANT_READ;
    /* A datagram larger than the record buffer cannot be read whole: it fails as a truncated record would, and is
     * remembered so that a handshake timeout can say why. */
    if (c->in_len > len && c->in_len > c->oversize) c->oversize = c->in_len;
    size_t n = c->in_len < len ? c->in_len : len;
    memcpy(buf, c->in, n);
    dtls_free(c->in);
    c->in = NULL;
    c->in_len = 0;
    return (int) n;
}

static void timer_set(void *ctx, uint32_t int_ms, uint32_t fin_ms)
{
    dtls_conn *c = ctx;
    c->timer_int = int_ms;
    c->timer_fin = fin_ms;
    c->timer_start = dtls_platform_clock_ms();
}

static int timer_get(void *ctx)
{
    dtls_conn *c = ctx;
    if (c->timer_fin == 0) return -1;
    double elapsed = dtls_platform_clock_ms() - c->timer_start;
    if (elapsed >= c->timer_fin) return 2;
    if (elapsed >= c->timer_int) return 1;
    return 0;
}

/* Server: keeps the client's leaf certificate so the application can identify the device by it. */
static int on_verify(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    dtls_conn *c = ctx;
    if (depth != 0) return 0;
    dtls_free(c->peer_der);
    c->peer_der = dtls_calloc(1, crt->raw.len);
    c->peer_der_len = c->peer_der ? crt->raw.len : 0;
    if (c->peer_der) memcpy(c->peer_der, crt->raw.p, crt->raw.len);
    c->peer_flags = *flags;
    return 0;
}

/* Client with an IP address as the expected name: RFC 6066 forbids IP literals in SNI, so mbedTLS gets no host name
 * (no SNI, no name check) and the address is matched here against the certificate's iPAddress entries. */
static int on_verify_ip(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    dtls_conn *c = ctx;
    if (depth != 0) return 0;
    for (const mbedtls_x509_sequence *san = &crt->subject_alt_names; san; san = san->next) {
        if ((san->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK) == MBEDTLS_X509_SAN_IP_ADDRESS &&
            san->buf.len == c->expected_ip_len && memcmp(san->buf.p, c->expected_ip, c->expected_ip_len) == 0)
            return 0;
    }
    *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
    return 0;
}

static int set_expected_name(dtls_conn *c, const char *hostname)
{
    size_t n = strlen(hostname);
    c->expected_name = dtls_calloc(1, n + 1);
    if (!c->expected_name) return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    memcpy(c->expected_name, hostname, n);
    c->expected_ip_len = mbedtls_x509_crt_parse_cn_inet_pton(hostname, c->expected_ip);
    if (c->expected_ip_len == 0) return mbedtls_ssl_set_hostname(&c->ssl, hostname);
    mbedtls_ssl_set_verify(&c->ssl, on_verify_ip, c);
    return mbedtls_ssl_set_hostname(&c->ssl, NULL);
}

/* --- connections ----------------------------------------------------------------------------------------------- */

static void apply_suites(dtls_config *cfg)
{
    int certs = cfg->has_ca || cfg->has_own_cert;
    const int *list = cfg->suites[0]                  ? cfg->suites
                      : cfg->is_server || (certs && cfg->has_psk) ? all_suites
                      : cfg->has_psk                  ? psk_suites
                                                      : cert_suites;
    mbedtls_ssl_conf_ciphersuites(&cfg->conf, list);
}

dtls_conn *dtls_conn_new(dtls_config *cfg, const char *hostname, const unsigned char *peer_id, size_t peer_id_len)
{
    if (cfg->users++ == 0) apply_suites(cfg);
    dtls_conn *c = dtls_calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->cfg = cfg;
    c->state = DTLS_HANDSHAKING;
    mbedtls_ssl_init(&c->ssl);
    int ret = mbedtls_ssl_setup(&c->ssl, &cfg->conf);
    if (ret == 0 && hostname) ret = set_expected_name(c, hostname);
    if (ret == 0 && cfg->is_server && peer_id) ret = mbedtls_ssl_set_client_transport_id(&c->ssl, peer_id, peer_id_len);
    if (ret == 0 && cfg->cid) {
        if (cfg->is_server) ret = rng(NULL, c->own_cid, CID_LEN);
        if (ret == 0)
            ret = mbedtls_ssl_set_cid(&c->ssl, MBEDTLS_SSL_CID_ENABLED, cfg->is_server ? c->own_cid : NULL,
                                      cfg->is_server ? CID_LEN : 0);
    }
    if (ret != 0) {
        dtls_conn_free(c);
        return NULL;
    }
    if (cfg->is_server) mbedtls_ssl_set_verify(&c->ssl, on_verify, c);
    mbedtls_ssl_set_mtu(&c->ssl, cfg->mtu);
    mbedtls_ssl_set_bio(&c->ssl, c, on_send, on_recv, NULL);
    mbedtls_ssl_set_timer_cb(&c->ssl, c, timer_set, timer_get);
    return c;
}

void dtls_conn_free(dtls_conn *c)
{
    if (!c) return;
    mbedtls_ssl_free(&c->ssl);
    while (c->out_head) dtls_out_pop(c);
    dtls_free(c->in);
    dtls_free(c->peer_der);
    dtls_free(c->expected_name);
    if (c->session_blob) mbedtls_platform_zeroize(c->session_blob, c->session_len);
    dtls_free(c->session_blob);
    c->cfg->users--;
    dtls_free(c);
}

int dtls_session_import(dtls_conn *c, const unsigned char *data, size_t len)
{
    mbedtls_ssl_session s;
    mbedtls_ssl_session_init(&s);
    int ret = mbedtls_ssl_session_load(&s, data, len);
    if (ret == 0) ret = mbedtls_ssl_set_session(&c->ssl, &s);
    if (ret == 0) {
        c->offered_id_len = s.id_len <= SESSION_ID_MAX ? s.id_len : 0;
        memcpy(c->offered_id, s.id, c->offered_id_len);
    }
    mbedtls_ssl_session_free(&s);
    return ret;
}

/* mbedTLS hands a TLS 1.2 session out only once per connection, so the serialized form is kept for later calls. */
int dtls_session_export(dtls_conn *c, unsigned char *out, size_t cap)
{
    if (c->state != DTLS_ESTABLISHED && !c->session_blob) return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
    if (!c->session_blob) {
        mbedtls_ssl_session s;
        mbedtls_ssl_session_init(&s);
        size_t n = 0;
        int ret = mbedtls_ssl_get_session(&c->ssl, &s);
        if (ret == 0) {
            ret = mbedtls_ssl_session_save(&s, NULL, 0, &n);
            if (ret == MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL && (c->session_blob = dtls_calloc(1, n)) != NULL)
                ret = mbedtls_ssl_session_save(&s, c->session_blob, n, &n);
            else if (ret == MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL)
                ret = MBEDTLS_ERR_SSL_ALLOC_FAILED;
        }
        mbedtls_ssl_session_free(&s);
        if (ret != 0) {
            dtls_free(c->session_blob);
            c->session_blob = NULL;
            return ret;
        }
        c->session_len = n;
    }
    if (out && cap >= c->session_len) memcpy(out, c->session_blob, c->session_len);
    return (int) c->session_len;
}

int dtls_feed(dtls_conn *c, const unsigned char *data, size_t len)
{
    /* Anything shorter than a record header is noise (anyone can send UDP); mbedTLS would take an empty read as
     * the end of the connection. */
    if (len < DTLS_RECORD_HEADER) return 0;
    unsigned char *copy = dtls_calloc(1, len);
    if (!copy) return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    memcpy(copy, data, len);
    /* An unprocessed earlier datagram is dropped: the caller reads after every feed, so it was not acceptable. */
    dtls_free(c->in);
    c->in = copy;
    c->in_len = len;
    return 0;
}

static void fail(dtls_conn *c, int err)
{
    explain(c, err);
    c->state = DTLS_FAILED;
}

static int handshake(dtls_conn *c)
{
    while (c->ssl.state != MBEDTLS_SSL_HANDSHAKE_OVER) {
        int ret = mbedtls_ssl_handshake_step(&c->ssl);
        if (c->ssl.handshake) {
            if (c->ssl.handshake->client_auth) c->cert_requested = 1;
            if (c->ssl.handshake->resume) c->resumed = 1;
        }
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) return 0;
        if (ret == MBEDTLS_ERR_SSL_HELLO_VERIFY_REQUIRED) {
            c->state = DTLS_HELLO_VERIFY_SENT;
            return 0;
        }
        if (ret != 0) {
            fail(c, ret);
            return ret;
        }
    }
    c->state = DTLS_ESTABLISHED;
    if (!c->cfg->is_server)
        c->resumed = c->offered_id_len > 0 && c->ssl.session->id_len == c->offered_id_len &&
                     memcmp(c->ssl.session->id, c->offered_id, c->offered_id_len) == 0;
    return 0;
}

int dtls_read(dtls_conn *c, unsigned char *out, size_t cap)
{
    if (c->state == DTLS_FAILED) return DTLS_FAILED;
    if (c->state == DTLS_CLOSED || c->state == DTLS_HELLO_VERIFY_SENT) return 0;
    if (c->state == DTLS_HANDSHAKING) {
        if (handshake(c) != 0) return DTLS_FAILED;
        if (c->state != DTLS_ESTABLISHED) return 0;
    }
    int ret = mbedtls_ssl_read(&c->ssl, out, cap);
    if (ret > 0) return ret;
    if (ret == MBEDTLS_ERR_SSL_CLIENT_RECONNECT) {
        /* Server: the client started over from the same address (RFC 6347, 4.2.8) and proved it with a cookie;
         * mbedTLS has reset the context, so the old session is gone and a new handshake runs on it. */
        c->state = DTLS_HANDSHAKING;
        c->resumed = 0;
        dtls_free(c->peer_der);
        c->peer_der = NULL;
        c->peer_der_len = 0;
        c->peer_flags = 0;
        if (c->session_blob) mbedtls_platform_zeroize(c->session_blob, c->session_len);
        dtls_free(c->session_blob);
        c->session_blob = NULL;
        return handshake(c) != 0 ? DTLS_FAILED : 0;
    }
    if (ret == 0 || ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE ||
        ret == MBEDTLS_ERR_SSL_TIMEOUT)
        return 0;
    if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
        explain(c, ret);
        c->state = DTLS_CLOSED;
        return 0;
    }
    fail(c, ret);
    return DTLS_FAILED;
}

int dtls_write(dtls_conn *c, const unsigned char *data, size_t len)
{
    if (c->state != DTLS_ESTABLISHED) return DTLS_FAILED;
    int ret = mbedtls_ssl_write(&c->ssl, data, len);
    if (ret >= 0) return ret;
    if (ret == MBEDTLS_ERR_SSL_BAD_INPUT_DATA) {
        text_set(c, "TOO_LARGE", "application datagram larger than the record limit", NULL, NULL);
        c->mbed_err = ret;
        return DTLS_FAILED;
    }
    fail(c, ret);
    return DTLS_FAILED;
}

int dtls_max_payload(dtls_conn *c)
{
    return mbedtls_ssl_get_max_out_record_payload(&c->ssl);
}

void dtls_close(dtls_conn *c)
{
    if (c->state == DTLS_ESTABLISHED) mbedtls_ssl_close_notify(&c->ssl);
    if (c->state != DTLS_FAILED) c->state = DTLS_CLOSED;
    c->timer_fin = 0;
}

int dtls_state(dtls_conn *c)
{
    return c->state;
}

size_t dtls_out_len(dtls_conn *c)
{
    return c->out_head ? c->out_head->len : 0;
}

const unsigned char *dtls_out_data(dtls_conn *c)
{
    return c->out_head ? c->out_head->data : NULL;
}

void dtls_out_pop(dtls_conn *c)
{
    struct datagram *d = c->out_head;
    if (!d) return;
    c->out_head = d->next;
    if (!c->out_head) c->out_tail = NULL;
    c->out_count--;
    dtls_free(d);
}

int dtls_timeout_ms(dtls_conn *c)
{
    if (c->timer_fin == 0 || c->state != DTLS_HANDSHAKING) return -1;
    double left = c->timer_fin - (dtls_platform_clock_ms() - c->timer_start);
    return left <= 0 ? 0 : (int) left + 1;
}

const char *dtls_error_text(dtls_conn *c)
{
    return c->error_text;
}

const char *dtls_error_code(dtls_conn *c)
{
    return c->error_code ? c->error_code : "";
}

int dtls_error_mbedtls(dtls_conn *c)
{
    return c->mbed_err;
}

const char *dtls_cipher(dtls_conn *c)
{
    return mbedtls_ssl_get_ciphersuite(&c->ssl);
}

int dtls_resumed(dtls_conn *c)
{
    return c->resumed;
}

int dtls_cid_in_use(dtls_conn *c)
{
    int enabled = 0;
    unsigned char peer[MBEDTLS_SSL_CID_OUT_LEN_MAX];
    size_t peer_len = 0;
    if (mbedtls_ssl_get_peer_cid(&c->ssl, &enabled, peer, &peer_len) != 0) return 0;
    return enabled == MBEDTLS_SSL_CID_ENABLED;
}

const unsigned char *dtls_own_cid(dtls_conn *c)
{
    return c->cfg->is_server && c->cfg->cid ? c->own_cid : NULL;
}

const unsigned char *dtls_peer_cert(dtls_conn *c, size_t *len)
{
    *len = c->peer_der_len;
    return c->peer_der;
}

uint32_t dtls_peer_verify_flags(dtls_conn *c)
{
    return c->peer_flags;
}

int dtls_handshake_step(dtls_conn *c)
{
    return c->ssl.state;
}
