/* Native C test and speed reference: runs the shim's client against its own server role in one process, with no
 * network, and prints JSON timings. Usage: dtls-selftest CA.pem CERT.pem KEY.pem HOSTNAME ROUNDS */
#include "dtls_shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t) n);
    if (buf && fread(buf, 1, (size_t) n, f) != (size_t) n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t) n;
    return buf;
}

static int die(const char *what, dtls_conn *c)
{
    fprintf(stderr, "dtls-selftest: %s%s%s\n", what, c ? ": " : "", c ? dtls_error_text(c) : "");
    return 1;
}

/* Moves every queued datagram from one side to the other and lets the receiver process it. */
static int deliver(dtls_conn *from, dtls_conn *to, unsigned char *app, size_t *app_len)
{
    int moved = 0;
    unsigned char buf[4096];
    while (dtls_out_len(from) > 0) {
        dtls_feed(to, dtls_out_data(from), dtls_out_len(from));
        dtls_out_pop(from);
        moved++;
        int n;
        while ((n = dtls_read(to, buf, sizeof(buf))) > 0) {
            if (app) {
                memcpy(app, buf, (size_t) n);
                *app_len = (size_t) n;
            }
        }
        if (n < 0) return -1;
    }
    return moved;
}

static int pump(dtls_conn *cli, dtls_conn *srv)
{
    unsigned char buf[64];
    if (dtls_read(cli, buf, sizeof(buf)) < 0) return die("client", cli);
    for (int i = 0; i < 100; i++) {
        if (deliver(cli, srv, NULL, NULL) < 0) return die("server", srv);
        if (dtls_state(srv) == DTLS_HELLO_VERIFY_SENT) return 2;
        if (deliver(srv, cli, NULL, NULL) < 0) return die("client", cli);
        if (dtls_state(cli) == DTLS_ESTABLISHED && dtls_state(srv) == DTLS_ESTABLISHED && dtls_out_len(cli) == 0 &&
            dtls_out_len(srv) == 0)
            return 0;
    }
    return die("handshake did not finish", NULL);
}

/* One handshake; the first ClientHello gets a HelloVerifyRequest, as from any real server. */
static int handshake(dtls_config *ccfg, dtls_config *scfg, const char *host, const unsigned char *session,
                     size_t session_len, dtls_conn **cli_out, dtls_conn **srv_out)
{
    static const unsigned char peer[] = "127.0.0.1:40000";
    dtls_conn *cli = dtls_conn_new(ccfg, host, NULL, 0);
    dtls_conn *srv = dtls_conn_new(scfg, NULL, peer, sizeof(peer));
    if (!cli || !srv) return die("out of memory", NULL);
    if (session && dtls_session_import(cli, session, session_len) != 0) return die("session import failed", NULL);
    int r = pump(cli, srv);
    if (r == 2) {
        if (deliver(srv, cli, NULL, NULL) < 0) return die("client", cli);
        dtls_conn_free(srv);
        srv = dtls_conn_new(scfg, NULL, peer, sizeof(peer));
        r = pump(cli, srv);
    }
    if (r != 0) return 1;
    *cli_out = cli;
    *srv_out = srv;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: dtls-selftest CA.pem CERT.pem KEY.pem HOSTNAME ROUNDS\n");
        return 2;
    }
    size_t ca_len, cert_len, key_len;
    unsigned char *ca = read_file(argv[1], &ca_len), *cert = read_file(argv[2], &cert_len),
                  *key = read_file(argv[3], &key_len);
    if (!ca || !cert || !key) return die("cannot read the certificate files", NULL);
    int rounds = atoi(argv[5]);

    dtls_config *ccfg = dtls_config_new(0), *scfg = dtls_config_new(1);
    if (dtls_config_ca(ccfg, ca, ca_len) || dtls_config_own_cert(scfg, cert, cert_len, key, key_len) ||
        dtls_config_cid(ccfg, 1) || dtls_config_cid(scfg, 1))
        return die("configuration refused", NULL);

    dtls_conn *cli, *srv;
    double full_ms = 0, resumed_ms = 0;
    unsigned char session[512];
    int session_len = 0;
    for (int i = 0; i < rounds; i++) {
        double t0 = dtls_platform_clock_ms();
        if (handshake(ccfg, scfg, argv[4], NULL, 0, &cli, &srv)) return 1;
        full_ms += dtls_platform_clock_ms() - t0;
        if (i == rounds - 1) session_len = dtls_session_export(cli, session, sizeof(session));
        if (i < rounds - 1) {
            dtls_conn_free(cli);
            dtls_conn_free(srv);
        }
    }
    if (session_len <= 0 || session_len > (int) sizeof(session)) return die("session export failed", NULL);

    /* Application data both ways over the last full connection. */
    static const unsigned char ping[] = "\x40\x01\x12\x34\xb4test";
    unsigned char got[64];
    size_t got_len = 0;
    if (dtls_write(cli, ping, sizeof(ping) - 1) != (int) sizeof(ping) - 1) return die("write", cli);
    if (deliver(cli, srv, got, &got_len) < 0 || got_len != sizeof(ping) - 1 || memcmp(got, ping, got_len) != 0)
        return die("server did not get the client's datagram", srv);
    int cid = dtls_cid_in_use(cli) && dtls_cid_in_use(srv);
    const char *cipher = dtls_cipher(cli);

    double resumed_total = 0;
    int resumed_ok = 1;
    for (int i = 0; i < rounds; i++) {
        dtls_conn *c2, *s2;
        double t0 = dtls_platform_clock_ms();
        if (handshake(ccfg, scfg, argv[4], session, (size_t) session_len, &c2, &s2)) return 1;
        resumed_total += dtls_platform_clock_ms() - t0;
        resumed_ok &= dtls_resumed(c2) && dtls_resumed(s2);
        dtls_conn_free(c2);
        dtls_conn_free(s2);
    }
    resumed_ms = resumed_total;
    if (!resumed_ok) return die("the saved session was not resumed", NULL);
    if (!cid) return die("no Connection ID negotiated", NULL);
    printf("{\"full_ms\":%.3f,\"resumed_ms\":%.3f,\"cipher\":\"%s\",\"cid\":%d,\"resumed\":%d}\n", full_ms / rounds,
           resumed_ms / rounds, cipher, cid, resumed_ok);
    dtls_conn_free(cli);
    dtls_conn_free(srv);
    dtls_config_free(ccfg);
    dtls_config_free(scfg);
    free(ca);
    free(cert);
    free(key);
    return 0;
}
