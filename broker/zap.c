#include "zap.h"

#include "log.h"
#include "zn_wire.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct {
    uint8_t key[ZN_KEY_LEN];
    uint64_t count;
} s_tally;

struct zn_zap {
    uint64_t minute; /* minute (unix ms / 60000) the tallies belong to */
    s_tally tally[ZN_ZAP_TRACKED];
    size_t n;
    uint64_t others;  /* refusals of keys beyond the tracked ones */
    uint64_t total;
    zn_zap_report_fn report;
    void *report_ctx;
};

void zn_zap_set_report(zn_zap *z, zn_zap_report_fn fn, void *ctx)
{
    z->report = fn;
    z->report_ctx = ctx;
}

zn_zap *zn_zap_new(void) { return calloc(1, sizeof(zn_zap)); }

void zn_zap_destroy(zn_zap **z)
{
    if (z && *z) {
        free(*z);
        *z = NULL;
    }
}

uint64_t zn_zap_refused_total(const zn_zap *z) { return z->total; }

void zn_zap_flush(zn_zap *z, uint64_t now_ms, int force)
{
    uint64_t minute = now_ms / 60000u;
    if (!force && minute == z->minute)
        return;
    for (size_t i = 0; i < z->n; i++) {
        char hex[2 * ZN_KEY_LEN + 1];
        zn_hex(hex, z->tally[i].key, ZN_KEY_LEN);
        zn_log("handshake-refused key=%s count=%llu minute=%llu reason=not-in-convenant", hex,
               (unsigned long long)z->tally[i].count, (unsigned long long)z->minute);
        if (z->report)
            z->report(z->report_ctx, z->tally[i].key, z->tally[i].count, z->minute);
    }
    if (z->others) {
        zn_log("handshake-refused key=other count=%llu minute=%llu reason=not-in-convenant",
               (unsigned long long)z->others, (unsigned long long)z->minute);
        if (z->report)
            z->report(z->report_ctx, NULL, z->others, z->minute);
    }
    z->n = 0;
    z->others = 0;
    z->minute = minute;
}

static void s_count(zn_zap *z, const uint8_t *key, size_t len, uint64_t now_ms)
{
    uint8_t k[ZN_KEY_LEN] = {0};
    memcpy(k, key, len < ZN_KEY_LEN ? len : ZN_KEY_LEN);
    zn_zap_flush(z, now_ms, 0);
    z->total++;
    for (size_t i = 0; i < z->n; i++)
        if (memcmp(z->tally[i].key, k, ZN_KEY_LEN) == 0) {
            z->tally[i].count++;
            return;
        }
    if (z->n < ZN_ZAP_TRACKED) {
        memcpy(z->tally[z->n].key, k, ZN_KEY_LEN);
        z->tally[z->n++].count = 1;
    } else {
        z->others++;
    }
}

#define S_ZAP_FRAMES 7

int zn_zap_handle(zn_zap *z, void *rep, const zn_convenant *c, uint64_t now_ms)
{
    zmq_msg_t f[S_ZAP_FRAMES];
    int n = 0, more = 1;
    /* Read every frame of the request; keep the first seven, drop any surplus. */
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, rep, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            for (int i = 0; i < n; i++)
                zmq_msg_close(&f[i]);
            return -1;
        }
        more = zmq_msg_more(&m);
        if (n < S_ZAP_FRAMES)
            f[n++] = m;
        else
            zmq_msg_close(&m);
    }
    const char *status = "400", *text = "not in convenant";
    char user[2 * ZN_KEY_LEN + 1] = "";
    const zn_partner *p = NULL;
    int well_formed = n == S_ZAP_FRAMES && zmq_msg_size(&f[0]) == 3 &&
                      memcmp(zmq_msg_data(&f[0]), "1.0", 3) == 0;
    if (well_formed && zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
        zmq_msg_size(&f[6]) == ZN_KEY_LEN) {
        p = zn_convenant_partner_by_transport(c, zmq_msg_data(&f[6]));
        if (p) {
            status = "200", text = "OK";
            zn_hex(user, zmq_msg_data(&f[6]), ZN_KEY_LEN);
        } else {
            s_count(z, zmq_msg_data(&f[6]), ZN_KEY_LEN, now_ms);
        }
    } else {
        s_count(z, (const uint8_t *)"", 0, now_ms);
        text = "only CURVE clients are admitted";
    }
    /* Reply: version, request id, status code, status text, user id, metadata. */
    if (n >= 2) {
        zmq_send(rep, "1.0", 3, ZMQ_SNDMORE);
        zmq_send(rep, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
    } else {
        zmq_send(rep, "1.0", 3, ZMQ_SNDMORE);
        zmq_send(rep, "", 0, ZMQ_SNDMORE);
    }
    zmq_send(rep, status, 3, ZMQ_SNDMORE);
    zmq_send(rep, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(rep, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(rep, "", 0, 0);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return 0;
}
