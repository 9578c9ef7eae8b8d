/* libzorgnet: one partner's connection to the broker (see zorgnet.h). */
#include "zorgnet.h"
#include "zn_audit.h"
#include "zn_client_internal.h"
#include "zn_convenant.h"
#include "zn_envelope.h"
#include "zn_frame.h"
#include "zn_identifiers.h"
#include "zn_keys.h"
#include "zn_merkle.h"
#include "zn_request.h"
#include "zn_sealed.h"
#include "zn_wire.h"

#include <errno.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

_Static_assert(ZN_CLIENT_ID_LEN == ZN_ID_LEN, "id length");
_Static_assert(ZN_CLIENT_IDENT_MAX == ZN_IDENT_MAX, "identifier size");
_Static_assert(ZN_CLIENT_TEXT_MAX == ZN_HANDLER_MAX && ZN_CLIENT_TEXT_MAX == ZN_NAME_MAX, "text size");
_Static_assert(ZN_CLIENT_CONTENT_MAX == ZN_MAX_CONTENT, "content size");
_Static_assert(ZN_CLIENT_NOTICE_FIELDS >= ZN_NOTICE_FIELDS_MAX, "notice fields");
_Static_assert(ZN_CLIENT_ROLE_PARTNER == ZN_ROLE_PARTNER &&
                   ZN_CLIENT_ROLE_COORDINATOR == ZN_ROLE_COORDINATOR, "roles");
_Static_assert(ZN_CLIENT_DEFAULT_WINDOW <= ZN_MAX_WINDOW, "window");
_Static_assert(ZN_CLIENT_SEND_I_CHECKED == ZN_FLAG_I_CHECKED, "send flags");
_Static_assert(ZN_CLIENT_SEALED_MAX == ZN_SEALED_TEXT_MAX, "sealed text size");

/* Frames larger than this are cut off by libzmq; anything above ZN_FRAME_MAX is refused by the
 * frame parser with a clear error, so leave room above it. */
#define S_MAXMSGSIZE ((int64_t)ZN_FRAME_MAX + 65536)
/* Limits for reading a DELIVER frame that zn_frame_parse refused (same bound as the parser). */
#define S_SALVAGE_OBJECTS 4200
/* Pushed frames kept while waiting for an answer: the window bounds them; more is a fault. */
#define S_QUEUE_MAX (ZN_MAX_WINDOW + 64)
/* Identifiers kept from one scan for the refusal's list of kinds (all are counted). */
#define S_HITS_MAX 64
/* Objects in one sealed text: an array of at most ZN_SEALED_READERS_MAX [reader, box] pairs. */
#define S_SEALED_OBJECTS (1 + 3 * ZN_SEALED_READERS_MAX)

typedef struct {
    uint8_t *buf;
    size_t len;
} s_raw;

struct zn_client {
    char *convenant_path;
    char *broker; /* NULL: the convenant's endpoint */
    char handler[ZN_HANDLER_MAX];
    int timeout_ms;
    zn_convenant *conv;
    zn_seckeys *keys; /* sodium_malloc'd; NULL when read-only */
    char self[ZN_IDENT_MAX];
    zn_state *state;
    /* connection */
    void *ctx;
    void *sock;
    void *mon;
    unsigned conn_seq;
    bool connected;
    unsigned window;
    unsigned outstanding; /* delivered to this connection, not yet acknowledged */
    bool idle;            /* IDLE received and no DELIVER since */
    uint32_t corr;
    s_raw *queue; /* pushed DELIVER frames not yet handed out */
    size_t q_head, q_len, q_cap;
};

/* ------------------------------------------------------------------ small helpers */

int64_t zn_client_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t zn_client_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t s_next_corr(zn_client *c)
{
    if (++c->corr == 0)
        c->corr = 1;
    return c->corr;
}

static bool s_all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static int s_need_keys(const zn_client *c, zn_err *e)
{
    if (!c)
        return zn_err_set(e, ZN_E_USAGE, "no client");
    if (!c->keys)
        return zn_err_set(e, ZN_E_USAGE,
                          "a key file is needed for this (--key or ZORGNET_KEY): the partner's "
                          "secret key");
    return 0;
}

static int s_need_handler(const zn_client *c, zn_err *e)
{
    if (!c->handler[0])
        return zn_err_set(e, ZN_E_USAGE,
                          "name the professional who acts (--handler or ZORGNET_HANDLER)");
    return 0;
}

/* Find this client's own entry in c->conv by transport key; all three public keys must match. */
static int s_find_self(const zn_convenant *conv, const zn_seckeys *k, char self[ZN_IDENT_MAX],
                       zn_err *e)
{
    const zn_partner *p = zn_convenant_partner_by_transport(conv, k->pub.transport);
    if (!p)
        return zn_err_set(e, ZN_E_NOT_IN_CONVENANT,
                          "this key belongs to no partner in convenant version %llu; contact the "
                          "authority (or check --key)",
                          (unsigned long long)conv->version);
    if (sodium_memcmp(p->keys.box, k->pub.box, ZN_KEY_LEN) != 0 ||
        sodium_memcmp(p->keys.sign, k->pub.sign, ZN_KEY_LEN) != 0)
        return zn_err_set(e, ZN_E_KEY_FILE,
                          "the key file's box or signing key differs from partner '%s' in "
                          "convenant version %llu; use the key file named in the convenant",
                          p->id, (unsigned long long)conv->version);
    snprintf(self, ZN_IDENT_MAX, "%s", p->id);
    return 0;
}

/* ------------------------------------------------------------------ open / close */

zn_client *zn_client_open(const zn_client_opts *opts, zn_err *e)
{
    zn_client *c = NULL;
    char *state_path = NULL;

    if (sodium_init() < 0) {
        zn_err_set(e, ZN_E_INTERNAL, "the crypto library could not be initialised");
        return NULL;
    }
    if (!opts || !opts->convenant_path || !*opts->convenant_path) {
        zn_err_set(e, ZN_E_USAGE, "no convenant file given (--convenant or ZORGNET_CONVENANT)");
        return NULL;
    }
    if (opts->handler) {
        size_t n = strlen(opts->handler);
        if (n == 0 || n >= ZN_HANDLER_MAX || !zn_text_valid(opts->handler, n)) {
            zn_err_set(e, ZN_E_USAGE,
                       "the handler must be 1 to %d bytes of text without control characters",
                       ZN_HANDLER_MAX - 1);
            return NULL;
        }
    }
    if (opts->broker && (!*opts->broker || strlen(opts->broker) >= ZN_ENDPOINT_MAX)) {
        zn_err_set(e, ZN_E_USAGE, "the broker address must be 1 to %d characters",
                   ZN_ENDPOINT_MAX - 1);
        return NULL;
    }
    if (opts->key_path && !*opts->key_path) {
        zn_err_set(e, ZN_E_USAGE, "the key file name is empty");
        return NULL;
    }

    c = calloc(1, sizeof *c);
    if (!c || !(c->convenant_path = strdup(opts->convenant_path)) ||
        (opts->broker && !(c->broker = strdup(opts->broker)))) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory");
        goto fail;
    }
    if (opts->handler)
        snprintf(c->handler, sizeof c->handler, "%s", opts->handler);
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : ZN_CLIENT_DEFAULT_TIMEOUT_MS;

    if (zn_convenant_load(c->convenant_path, &c->conv, e) != 0)
        goto fail;
    uint64_t now_s = zn_client_now_ms() / 1000u;
    if (zn_convenant_check_time(c->conv, now_s, e) != 0)
        goto fail;
    if (!opts->key_path)
        return c; /* read-only */

    c->keys = sodium_malloc(sizeof *c->keys);
    if (!c->keys) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory");
        goto fail;
    }
    memset(c->keys, 0, sizeof *c->keys);
    if (zn_keys_load_secret(opts->key_path, ZN_KIND_PARTNER, c->keys, e) != 0 ||
        s_find_self(c->conv, c->keys, c->self, e) != 0)
        goto fail;

    size_t kn = strlen(opts->key_path);
    state_path = malloc(kn + sizeof ".state");
    if (!state_path) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory");
        goto fail;
    }
    memcpy(state_path, opts->key_path, kn);
    memcpy(state_path + kn, ".state", sizeof ".state");
    if (zn_state_open(state_path, &c->state, e) != 0 || zn_state_prune(c->state, now_s, e) != 0 ||
        zn_state_check_convenant(c->state, c->conv->version, c->conv->authority,
                                 "the convenant file", e) != 0 ||
        zn_state_record_convenant(c->state, c->conv->version, c->conv->authority, e) != 0)
        goto fail;
    free(state_path);
    return c;

fail:
    free(state_path);
    zn_client_close(&c);
    return NULL;
}

static void s_queue_clear(zn_client *c)
{
    for (size_t i = c->q_head; i < c->q_len; i++)
        free(c->queue[i].buf);
    c->q_head = c->q_len = 0;
}

static void s_disconnect(zn_client *c)
{
    if (c->sock)
        zmq_close(c->sock);
    if (c->mon)
        zmq_close(c->mon);
    c->sock = c->mon = NULL;
    c->connected = false;
    c->idle = false;
    c->outstanding = 0;
    c->window = 0;
    s_queue_clear(c);
}

void zn_client_close(zn_client **cp)
{
    if (!cp || !*cp)
        return;
    zn_client *c = *cp;
    s_disconnect(c);
    free(c->queue);
    if (c->ctx)
        zmq_ctx_term(c->ctx);
    zn_state_close(&c->state);
    if (c->keys) {
        zn_seckeys_wipe(c->keys);
        sodium_free(c->keys); /* wipes again */
    }
    zn_convenant_destroy(&c->conv);
    free(c->convenant_path);
    free(c->broker);
    free(c);
    *cp = NULL;
}

/* ------------------------------------------------------------------ look-ups */

uint64_t zn_client_convenant_version(const zn_client *c)
{
    return c && c->conv ? c->conv->version : 0;
}

const char *zn_client_convenant_name(const zn_client *c)
{
    return c && c->conv ? c->conv->name : "";
}

uint64_t zn_client_convenant_valid_until(const zn_client *c)
{
    return c && c->conv ? c->conv->valid_until : 0;
}

const char *zn_client_self(const zn_client *c)
{
    return c && c->keys ? c->self : NULL;
}

size_t zn_client_network_count(const zn_client *c)
{
    return c && c->conv ? c->conv->n_networks : 0;
}

const char *zn_client_network_name(const zn_client *c, size_t i)
{
    return c && c->conv && i < c->conv->n_networks ? c->conv->networks[i] : NULL;
}

size_t zn_client_partner_count(const zn_client *c)
{
    return c && c->conv ? c->conv->n_partners : 0;
}

int zn_client_partner_get(const zn_client *c, size_t i, zn_partner_info *out)
{
    if (!c || !c->conv || !out || i >= c->conv->n_partners)
        return -1;
    const zn_partner *p = &c->conv->partners[i];
    out->id = p->id;
    out->name = p->name;
    out->category = p->category;
    out->auditor = p->auditor;
    out->coordinator = zn_partner_is_coordinator(p);
    out->self = c->keys && strcmp(p->id, c->self) == 0;
    return 0;
}

unsigned zn_client_partner_roles(const zn_client *c, size_t i, size_t n)
{
    if (!c || !c->conv || i >= c->conv->n_partners || n >= c->conv->n_networks || n >= ZN_MAX_NETWORKS)
        return 0;
    return c->conv->partners[i].roles[n] & (ZN_ROLE_PARTNER | ZN_ROLE_COORDINATOR);
}

/* ------------------------------------------------------------------ socket I/O */

static int s_monitor_event(zn_client *c, zn_err *e)
{
    zmq_msg_t m;
    uint16_t event = 0;
    uint32_t value = 0;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, c->mon, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return 0;
    }
    if (zmq_msg_size(&m) >= 6) {
        memcpy(&event, zmq_msg_data(&m), 2);
        memcpy(&value, (const uint8_t *)zmq_msg_data(&m) + 2, 4);
    }
    while (zmq_msg_more(&m)) { /* the endpoint frame */
        zmq_msg_close(&m);
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, c->mon, ZMQ_DONTWAIT) < 0)
            break;
    }
    zmq_msg_close(&m);

    switch (event) {
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        return zn_err_set(e, ZN_E_HANDSHAKE,
                          "the broker refused this key (status %u); check that your key file is "
                          "the one in the convenant, and that the broker runs the current convenant",
                          (unsigned)value);
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        return zn_err_set(e, ZN_E_HANDSHAKE,
                          "the secure handshake with the broker failed (protocol error %u); check "
                          "the broker address and the broker key in the convenant",
                          (unsigned)value);
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: /* e.g. the broker went away mid-handshake */
        return zn_err_set(e, ZN_E_UNREACHABLE,
                          "the connection to the broker closed during the secure handshake; try "
                          "again, and if it persists check that the convenant names this broker's key");
    default:
        return 0;
    }
}

/* Wait up to timeout_ms for one frame. 1: *buf (malloc'd) holds it; 0: time-out; -1: error. */
static int s_recv(zn_client *c, int timeout_ms, uint8_t **buf, size_t *len, zn_err *e)
{
    int64_t deadline = zn_client_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    *buf = NULL;
    *len = 0;
    for (;;) {
        int64_t left = deadline - zn_client_mono_ms();
        zmq_pollitem_t items[2] = {
            {c->sock, 0, ZMQ_POLLIN, 0},
            {c->mon, 0, ZMQ_POLLIN, 0},
        };
        int rc = zmq_poll(items, 2, left > 0 ? (long)left : 0);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return zn_err_set(e, ZN_E_INTERNAL, "waiting for the broker failed (%s)",
                              zmq_strerror(errno));
        }
        if (items[0].revents & ZMQ_POLLIN) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, c->sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                if (errno == EAGAIN || errno == EINTR)
                    continue;
                return zn_err_set(e, ZN_E_UNREACHABLE, "reading from the broker failed (%s)",
                                  zmq_strerror(errno));
            }
            bool multi = zmq_msg_more(&m);
            size_t n = zmq_msg_size(&m);
            uint8_t *p = multi ? NULL : malloc(n ? n : 1);
            if (p)
                memcpy(p, zmq_msg_data(&m), n);
            while (zmq_msg_more(&m)) { /* a zorgnet frame is one part; drop the rest */
                zmq_msg_close(&m);
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, c->sock, 0) < 0)
                    break;
            }
            zmq_msg_close(&m);
            if (multi)
                return zn_err_set(e, ZN_E_MALFORMED,
                                  "the broker sent a message of several parts; zorgnet frames have "
                                  "one");
            if (!p)
                return zn_err_set(e, ZN_E_INTERNAL, "out of memory");
            *buf = p;
            *len = n;
            return 1;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            if (s_monitor_event(c, e) != 0)
                return -1;
            continue;
        }
        if (zn_client_mono_ms() >= deadline)
            return 0;
    }
}

static int s_send_buf(zn_client *c, const msgpack_sbuffer *b, zn_err *e)
{
    if (!c->connected)
        return zn_err_set(e, ZN_E_UNREACHABLE, "not connected to the broker");
    int rc = zmq_send(c->sock, b->data, b->size, 0);
    if (rc < 0 || (size_t)rc != b->size) {
        int err = errno;
        s_disconnect(c);
        return zn_err_set(e, ZN_E_UNREACHABLE,
                          "the broker could not be reached (%s); retrying is safe",
                          zmq_strerror(err));
    }
    return 0;
}

static int s_enqueue(zn_client *c, uint8_t *buf, size_t len, zn_err *e)
{
    if (c->q_head == c->q_len)
        c->q_head = c->q_len = 0;
    if (c->q_len - c->q_head >= S_QUEUE_MAX) {
        free(buf);
        return zn_err_set(e, ZN_E_MALFORMED,
                          "the broker pushed more items than the window allows");
    }
    if (c->q_len == c->q_cap) {
        if (c->q_head > 0) {
            memmove(c->queue, c->queue + c->q_head, (c->q_len - c->q_head) * sizeof *c->queue);
            c->q_len -= c->q_head;
            c->q_head = 0;
        } else {
            size_t cap = c->q_cap ? c->q_cap * 2 : 16;
            s_raw *q = realloc(c->queue, cap * sizeof *q);
            if (!q) {
                free(buf);
                return zn_err_set(e, ZN_E_INTERNAL, "out of memory");
            }
            c->queue = q;
            c->q_cap = cap;
        }
    }
    c->queue[c->q_len].buf = buf;
    c->queue[c->q_len].len = len;
    c->q_len++;
    return 0;
}

/* A DELIVER arrived: keep it for zn_client_next. */
static int s_push(zn_client *c, uint8_t *buf, size_t len, zn_err *e)
{
    c->idle = false;
    c->outstanding++;
    if (s_enqueue(c, buf, len, e) != 0) {
        s_disconnect(c);
        return -1;
    }
    return 0;
}

/* A frame zn_frame_parse refused: is it shaped like a DELIVER (so its item id can be read)? */
static bool s_looks_like_deliver(const uint8_t *buf, size_t len)
{
    zn_doc d;
    uint64_t v = 0;
    bool yes = false;
    if (zn_doc_parse(&d, buf, len, ZN_WIRE_MAX_DEPTH, S_SALVAGE_OBJECTS) != 0)
        return false;
    uint32_t n = 0;
    const msgpack_object *a = zn_obj_array_min(&d.root, 4, &n);
    yes = a && zn_obj_u64(&a[1], &v) == 0 && v == ZN_T_DELIVER && a[3].type == MSGPACK_OBJECT_BIN &&
          a[3].via.bin.size == ZN_ID_LEN;
    zn_doc_free(&d);
    return yes;
}

/* Take one frame from the broker. Pushed frames are handled here (DELIVER queued, IDLE noted,
 * BYE ends the connection); an ERROR fails the call; a frame of type `want` with `corr` is
 * returned (1) parsed into *f, with *fbuf owning the bytes it points into. Anything else (a late
 * answer to an abandoned request) is dropped (0). */
static int s_dispatch(zn_client *c, uint8_t *buf, size_t len, uint32_t corr, uint32_t want,
                      zn_frame *f, uint8_t **fbuf, zn_err *e)
{
    zn_frame fr;
    zn_err pe;
    zn_err_clear(&pe);
    if (zn_frame_parse(buf, len, &fr, &pe) != 0) {
        if (s_looks_like_deliver(buf, len)) {
            return s_push(c, buf, len, e);
        }
        free(buf);
        s_disconnect(c);
        zn_err_set(e, ZN_E_MALFORMED, "the broker sent a frame this client cannot read: %s", pe.text);
        return -1;
    }
    switch (fr.type) {
    case ZN_T_DELIVER:
        zn_frame_free(&fr);
        return s_push(c, buf, len, e);
    case ZN_T_IDLE:
        zn_frame_free(&fr);
        free(buf);
        c->idle = true;
        return 0;
    case ZN_T_BYE:
    case ZN_T_ERROR: {
        bool bye = fr.type == ZN_T_BYE;
        char text[ZN_ERR_TEXT_MAX];
        zn_text_sanitize(text, sizeof text, fr.u.error.text, strlen(fr.u.error.text));
        if (fr.u.error.code == ZN_E_INTERNAL && strcmp(fr.u.error.name, "internal") != 0)
            zn_err_set(e, ZN_E_INTERNAL, "(%s) %s", fr.u.error.name, text); /* a code unknown here */
        else
            zn_err_set(e, fr.u.error.code, "%s", text);
        zn_frame_free(&fr);
        free(buf);
        if (bye)
            s_disconnect(c);
        return -1;
    }
    default:
        if (want && fr.type == want && fr.corr == corr) {
            *f = fr;
            *fbuf = buf;
            return 1;
        }
        zn_frame_free(&fr);
        free(buf);
        return 0;
    }
}

/* Wait for the answer `want` to request `corr`; a time-out drops the connection (so no late
 * answer can be taken for another request) and reports the broker unreachable. */
static int s_await(zn_client *c, uint32_t corr, uint32_t want, zn_frame *f, uint8_t **fbuf, zn_err *e)
{
    int64_t deadline = zn_client_mono_ms() + c->timeout_ms;
    for (;;) {
        uint8_t *buf = NULL;
        size_t len = 0;
        int64_t left = deadline - zn_client_mono_ms();
        int r = s_recv(c, left > 0 ? (int)left : 0, &buf, &len, e);
        if (r < 0) {
            s_disconnect(c);
            return -1;
        }
        if (r == 0) {
            s_disconnect(c);
            return zn_err_set(e, ZN_E_UNREACHABLE,
                              "the broker did not answer within %d.%03d s; check the address and "
                              "try again (retrying is safe)",
                              c->timeout_ms / 1000, c->timeout_ms % 1000);
        }
        r = s_dispatch(c, buf, len, corr, want, f, fbuf, e);
        if (r != 0)
            return r > 0 ? 0 : -1;
    }
}

/* ------------------------------------------------------------------ connect */

/* The broker runs a newer convenant: fetch it, check it as strictly as a file, save it. */
static int s_fetch_convenant(zn_client *c, uint64_t announced, zn_err *e)
{
    msgpack_sbuffer b;
    zn_frame f;
    uint8_t *fbuf = NULL;
    zn_convenant *nc = NULL;
    char self[ZN_IDENT_MAX];
    uint32_t corr = s_next_corr(c);

    msgpack_sbuffer_init(&b);
    zn_frame_convenant_get(&b, corr);
    int rc = s_send_buf(c, &b, e);
    msgpack_sbuffer_destroy(&b);
    if (rc != 0 || s_await(c, corr, ZN_T_CONVENANT, &f, &fbuf, e) != 0)
        return -1;
    rc = zn_convenant_decode(f.u.convenant.raw, f.u.convenant.len, &nc, e);
    zn_frame_free(&f);
    free(fbuf);
    if (rc != 0) {
        if (e)
            e->code = ZN_E_CONVENANT_INVALID;
        zn_err_prefix(e, "the convenant the broker sent does not verify");
        goto fail;
    }
    if (sodium_memcmp(nc->authority, c->conv->authority, ZN_KEY_LEN) != 0) {
        zn_err_set(e, ZN_E_CONVENANT_INVALID,
                   "the convenant the broker sent is signed by another authority than this "
                   "client's convenant; it was not used");
        goto fail;
    }
    if (nc->version <= c->conv->version || nc->version < announced) {
        zn_err_set(e, ZN_E_CONVENANT_OLD,
                   "the broker announced convenant version %llu but sent version %llu; this "
                   "client has version %llu",
                   (unsigned long long)announced, (unsigned long long)nc->version,
                   (unsigned long long)c->conv->version);
        goto fail;
    }
    if (zn_convenant_check_time(nc, zn_client_now_ms() / 1000u, e) != 0 ||
        zn_state_check_convenant(c->state, nc->version, nc->authority, "the broker", e) != 0)
        goto fail;
    if (s_find_self(nc, c->keys, self, e) != 0)
        goto fail;
    if (zn_convenant_save(c->convenant_path, nc, e) != 0) {
        zn_err_prefix(e, "the newer convenant could not be saved");
        goto fail;
    }
    if (zn_state_record_convenant(c->state, nc->version, nc->authority, e) != 0)
        goto fail;
    zn_convenant_destroy(&c->conv);
    c->conv = nc;
    memcpy(c->self, self, sizeof self);
    return 0;
fail:
    zn_convenant_destroy(&nc);
    s_disconnect(c);
    return -1;
}

/* ------------------------------------------------------------------ signed tree heads */

/* The head this client accepted last (have == false: none), decoded again with the key that
 * verified it when it was stored. */
static int s_known_head(zn_client *c, zn_state_head *known, zn_tree_head *th, zn_err *e)
{
    zn_err ve;
    memset(th, 0, sizeof *th);
    if (zn_state_get_head(c->state, known, e) != 0)
        return -1;
    if (known->have &&
        zn_tree_head_verify(known->head, known->head_len, known->sig, known->signer, th, &ve) != 0)
        return zn_err_set(e, ZN_E_VERIFY,
                          "the tree head kept in this client's state file does not verify (%.100s); "
                          "the file was damaged or altered",
                          ve.text);
    return 0;
}

int zn_client_known_head(zn_client *c, bool *have, uint64_t *size, uint8_t root[ZN_CLIENT_HASH_LEN],
                         uint64_t *time_ms, zn_err *e)
{
    zn_state_head known;
    zn_tree_head th;
    if (s_need_keys(c, e) != 0 || s_known_head(c, &known, &th, e) != 0)
        return -1;
    *have = known.have;
    *size = th.size;
    memcpy(root, th.root, ZN_CLIENT_HASH_LEN);
    *time_ms = th.time_ms;
    return 0;
}

/* nw against the head (size, root) this client held when it asked; proof from that size. */
static int s_check_extends(const zn_tree_head *nw, uint64_t size, const uint8_t root[ZN_HASH_LEN],
                           const uint8_t *proof, size_t n_proof, zn_err *e)
{
    if (nw->size < size)
        return zn_err_set(e, ZN_E_LOG_INCONSISTENT,
                          "the broker's log has %llu entries, fewer than the %llu this client saw "
                          "signed: it was truncated or rolled back; stop and tell the authority and "
                          "the auditors",
                          (unsigned long long)nw->size, (unsigned long long)size);
    if (nw->size == size) {
        if (memcmp(nw->root, root, ZN_HASH_LEN) != 0)
            return zn_err_set(e, ZN_E_LOG_INCONSISTENT,
                              "the broker signed two different roots for its log of %llu entries: "
                              "its history was rewritten; stop and tell the authority and the "
                              "auditors",
                              (unsigned long long)size);
        return 0;
    }
    if (size > 0 && zn_merkle_verify_consistency(size, nw->size, root, nw->root, proof, n_proof) != 0)
        return zn_err_set(e, ZN_E_LOG_INCONSISTENT,
                          "the broker's log of %llu entries does not extend the %llu entries this "
                          "client saw signed (the consistency proof fails): its history was "
                          "rewritten; stop and tell the authority and the auditors",
                          (unsigned long long)nw->size, (unsigned long long)size);
    return 0;
}

int zn_client_accept_head(zn_client *c, const uint8_t *head, size_t head_len,
                          const uint8_t sig[ZN_SIG_LEN], const uint8_t *proof, size_t n_proof,
                          uint64_t from_size, const uint8_t from_root[ZN_HASH_LEN], const char *origin,
                          zn_tree_head *out, zn_err *e)
{
    zn_err ve;
    zn_err_clear(&ve);
    if (zn_tree_head_verify(head, head_len, sig, c->conv->broker_sign, out, &ve) != 0) {
        if (ve.code == ZN_E_BAD_SIGNATURE)
            return zn_err_set(e, ZN_E_BAD_SIGNATURE,
                              "the tree head in %s is not signed by the broker key of convenant "
                              "version %llu; it was not accepted",
                              origin, (unsigned long long)c->conv->version);
        return zn_err_set(e, ve.code, "the tree head in %s cannot be used: %.150s", origin, ve.text);
    }
    const zn_tree_head *nw = out;
    /* 1. against the head held when asking: the proof leads from there */
    if (from_size > 0 && s_check_extends(nw, from_size, from_root, proof, n_proof, e) != 0)
        return -1;
    /* 2. keep it when it is newer than the head kept now. Another run with the same key may have
     * kept a head meanwhile (checked against the same earlier head): at the same size the roots
     * must agree; otherwise no proof links that head to this one, so the head kept stands and
     * the next connection proves the way from it. */
    zn_state_head known;
    zn_tree_head old;
    if (s_known_head(c, &known, &old, e) != 0)
        return -1;
    if (known.have && old.size == nw->size) {
        if (memcmp(old.root, nw->root, ZN_HASH_LEN) != 0)
            return zn_err_set(e, ZN_E_LOG_INCONSISTENT,
                              "the broker signed two different roots for its log of %llu entries: "
                              "its history was rewritten; stop and tell the authority and the "
                              "auditors",
                              (unsigned long long)nw->size);
        return 0;
    }
    bool unchanged = known.have ? (from_size > 0 && old.size == from_size &&
                                   memcmp(old.root, from_root, ZN_HASH_LEN) == 0)
                                : from_size == 0;
    if (!unchanged || (known.have && old.size > nw->size))
        return 0;
    zn_state_head next;
    memset(&next, 0, sizeof next);
    next.have = true;
    memcpy(next.head, head, head_len);
    next.head_len = head_len;
    memcpy(next.sig, sig, ZN_SIG_LEN);
    memcpy(next.signer, c->conv->broker_sign, ZN_KEY_LEN);
    zn_err pe;
    zn_err_clear(&pe);
    if (zn_state_put_head(c->state, &known, &next, zn_client_now_ms() / 1000u, &pe) == 0 || pe.code == ZN_E_VERIFY)
        return 0; /* kept, or another run kept a head in between (see above) */
    if (e)
        *e = pe;
    return -1;
}

static int s_setopt(void *s, int opt, const void *v, size_t n, zn_err *e)
{
    if (zmq_setsockopt(s, opt, v, n) != 0)
        return zn_err_set(e, ZN_E_INTERNAL, "socket option %d could not be set (%s)", opt,
                          zmq_strerror(errno));
    return 0;
}

int zn_client_connect(zn_client *c, unsigned window, zn_err *e)
{
    if (s_need_keys(c, e) != 0)
        return -1;
    if (window > ZN_MAX_WINDOW)
        return zn_err_set(e, ZN_E_USAGE, "the window is at most %d items", ZN_MAX_WINDOW);
    s_disconnect(c);
    const char *endpoint = c->broker ? c->broker : c->conv->endpoint;
    if (!endpoint[0])
        return zn_err_set(e, ZN_E_USAGE,
                          "the convenant names no broker address; give one with --broker");
    if (!c->ctx && !(c->ctx = zmq_ctx_new()))
        return zn_err_set(e, ZN_E_INTERNAL, "the messaging context could not be created");

    int zero = 0;
    int64_t maxmsg = S_MAXMSGSIZE;
    int tmo = c->timeout_ms;
    char mon_ep[96];
    snprintf(mon_ep, sizeof mon_ep, "inproc://zn-client-monitor-%p-%u", (void *)c, ++c->conn_seq);

    c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
    if (!c->sock)
        return zn_err_set(e, ZN_E_INTERNAL, "the socket could not be created (%s)",
                          zmq_strerror(errno));
    if (s_setopt(c->sock, ZMQ_LINGER, &zero, sizeof zero, e) != 0 ||
        s_setopt(c->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg, e) != 0 ||
        s_setopt(c->sock, ZMQ_SNDTIMEO, &tmo, sizeof tmo, e) != 0 ||
        s_setopt(c->sock, ZMQ_CURVE_SERVERKEY, c->conv->broker_transport, ZN_KEY_LEN, e) != 0 ||
        s_setopt(c->sock, ZMQ_CURVE_PUBLICKEY, c->keys->pub.transport, ZN_KEY_LEN, e) != 0 ||
        s_setopt(c->sock, ZMQ_CURVE_SECRETKEY, c->keys->transport, ZN_KEY_LEN, e) != 0)
        goto fail;
    if (zmq_socket_monitor(c->sock, mon_ep,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0) {
        zn_err_set(e, ZN_E_INTERNAL, "the connection monitor could not be started (%s)",
                   zmq_strerror(errno));
        goto fail;
    }
    c->mon = zmq_socket(c->ctx, ZMQ_PAIR);
    if (!c->mon || s_setopt(c->mon, ZMQ_LINGER, &zero, sizeof zero, e) != 0 ||
        zmq_connect(c->mon, mon_ep) != 0) {
        zn_err_set(e, ZN_E_INTERNAL, "the connection monitor could not be started");
        goto fail;
    }
    if (zmq_connect(c->sock, endpoint) != 0) {
        char ep[80];
        zn_text_sanitize(ep, sizeof ep, endpoint, strlen(endpoint));
        zn_err_set(e, ZN_E_USAGE, "the broker address '%s' cannot be used (%s)", ep,
                   zmq_strerror(errno));
        goto fail;
    }
    c->connected = true;
    c->window = window;

    /* HELLO -> WELCOME */
    msgpack_sbuffer b;
    zn_frame f;
    uint8_t *fbuf = NULL;
    uint32_t corr = s_next_corr(c);
    zn_state_head known;
    zn_tree_head known_th;
    if (s_known_head(c, &known, &known_th, e) != 0)
        goto fail;
    uint64_t known_size = known.have ? known_th.size : 0;
    msgpack_sbuffer_init(&b);
    zn_frame_hello(&b, corr, c->conv->version, window, known_size);
    int rc = s_send_buf(c, &b, e);
    msgpack_sbuffer_destroy(&b);
    if (rc != 0 || s_await(c, corr, ZN_T_WELCOME, &f, &fbuf, e) != 0)
        goto fail;
    uint64_t wv = f.u.welcome.convenant_version;
    char partner[ZN_IDENT_MAX];
    memcpy(partner, f.u.welcome.partner, sizeof partner);
    /* the signed tree head is checked once the convenant (and so the broker's key) is settled */
    uint8_t head[ZN_TREE_HEAD_MAX], head_sig[ZN_SIG_LEN];
    size_t head_len = f.u.welcome.head_len;
    uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * ZN_MERKLE_HASH_LEN];
    uint32_t n_proof = 0;
    bool head_ok = head_len <= sizeof head &&
                   zn_obj_hashes(f.u.welcome.proof, ZN_MERKLE_MAX_CONSISTENCY, proof, &n_proof) == 0;
    if (head_ok)
        memcpy(head, f.u.welcome.head, head_len);
    memcpy(head_sig, f.u.welcome.head_sig, sizeof head_sig);
    zn_frame_free(&f);
    free(fbuf);
    if (!head_ok) {
        zn_err_set(e, ZN_E_MALFORMED, "the broker's WELCOME carries an unreadable tree head or proof");
        goto fail;
    }

    uint64_t highest = 0;
    if (zn_state_highest(c->state, &highest, e) != 0)
        goto fail;
    if (wv < highest || wv < c->conv->version) {
        zn_err_set(e, ZN_E_CONVENANT_OLD,
                   "the broker runs convenant version %llu, older than version %llu this client "
                   "has seen; it was not used (ask the broker's operator to load the current one)",
                   (unsigned long long)wv,
                   (unsigned long long)(highest > c->conv->version ? highest : c->conv->version));
        goto fail;
    }
    if (wv > c->conv->version && s_fetch_convenant(c, wv, e) != 0)
        goto fail;
    if (strcmp(partner, c->self) != 0) {
        zn_err_set(e, ZN_E_VERIFY,
                   "the broker took this connection for partner '%s', but the convenant gives "
                   "this key to '%s'",
                   partner, c->self);
        goto fail;
    }
    zn_tree_head th;
    if (zn_client_accept_head(c, head, head_len, head_sig, proof, n_proof, known_size, known_th.root,
                              "the broker's welcome", &th, e) != 0)
        goto fail;
    return 0;
fail:
    s_disconnect(c);
    return -1;
}

static int s_ensure_connected(zn_client *c, zn_err *e)
{
    return c->connected ? 0 : zn_client_connect(c, 0, e);
}

int zn_client_ensure_connected(zn_client *c, zn_err *e)
{
    return s_need_keys(c, e) == 0 ? s_ensure_connected(c, e) : -1;
}

int zn_client_sent_index(zn_client *c, const uint8_t msgid[ZN_CLIENT_ID_LEN], bool *found,
                         uint64_t *audit_index, zn_err *e)
{
    if (s_need_keys(c, e) != 0)
        return -1;
    return zn_state_sent_index(c->state, msgid, found, audit_index, e);
}

const uint8_t *zn_client_sign_pk(const zn_client *c)
{
    return c && c->keys ? c->keys->pub.sign : NULL;
}

/* ------------------------------------------------------------------ send and case-new */

int zn_client_send(zn_client *c, const char *recipient, const uint8_t case_id[ZN_CLIENT_ID_LEN],
                   const void *content, size_t len, uint8_t msgid[ZN_CLIENT_ID_LEN], zn_err *e)
{
    return zn_client_send_flags(c, recipient, case_id, content, len, 0, msgid, NULL, e);
}

int zn_client_send_ex(zn_client *c, const char *recipient, const uint8_t case_id[ZN_CLIENT_ID_LEN],
                      const void *content, size_t len, uint8_t msgid[ZN_CLIENT_ID_LEN],
                      uint64_t *audit_index, zn_err *e)
{
    return zn_client_send_flags(c, recipient, case_id, content, len, 0, msgid, audit_index, e);
}

/* What a send needs before anything goes on the network. */
static int s_send_args(const zn_client *c, const char *recipient, const uint8_t case_id[ZN_CLIENT_ID_LEN],
                       const void *content, size_t len, const uint8_t msgid[ZN_CLIENT_ID_LEN], zn_err *e)
{
    if (s_need_keys(c, e) != 0 || s_need_handler(c, e) != 0)
        return -1;
    if (!recipient || !case_id || !msgid || (!content && len))
        return zn_err_set(e, ZN_E_USAGE, "send needs a recipient, a case id, content and a message id");
    if (len > ZN_MAX_CONTENT)
        return zn_err_set(e, ZN_E_TOO_LARGE, "the content is %zu bytes; at most %u fit in one message",
                          len, ZN_MAX_CONTENT);
    if (!zn_ident_valid(recipient) || !zn_convenant_partner(c->conv, recipient))
        return zn_err_set(e, ZN_E_UNKNOWN_PARTNER,
                          "no partner '%.63s' is in convenant version %llu; 'zorgnet partners' "
                          "lists them",
                          recipient, (unsigned long long)c->conv->version);
    return 0;
}

/* Seal and hand over one message with the header's flags (ZN_FLAG_* bits, checked by the
 * caller), without the anonymous-mode scan: every public send reaches this through
 * zn_client_send_flags, which scans first. */
static int s_send(zn_client *c, const char *recipient, const uint8_t case_id[ZN_CLIENT_ID_LEN],
                  const void *content, size_t len, uint8_t msgid[ZN_CLIENT_ID_LEN], uint64_t flags,
                  uint64_t *audit_index, zn_err *e)
{
    if (audit_index)
        *audit_index = 0;
    if (s_send_args(c, recipient, case_id, content, len, msgid, e) != 0)
        return -1;
    if (s_ensure_connected(c, e) != 0)
        return -1;
    /* the convenant may have been replaced while connecting */
    const zn_partner *p = zn_convenant_partner(c->conv, recipient);
    if (!p)
        return zn_err_set(e, ZN_E_UNKNOWN_PARTNER,
                          "partner '%s' is no longer in convenant version %llu", recipient,
                          (unsigned long long)c->conv->version);

    if (s_all_zero(msgid, ZN_ID_LEN)) {
        do
            randombytes_buf(msgid, ZN_ID_LEN);
        while (s_all_zero(msgid, ZN_ID_LEN));
    }
    zn_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.msgid, msgid, ZN_ID_LEN);
    memcpy(h.case_id, case_id, ZN_ID_LEN);
    snprintf(h.sender, sizeof h.sender, "%s", c->self);
    snprintf(h.handler, sizeof h.handler, "%s", c->handler);
    snprintf(h.recipient, sizeof h.recipient, "%s", p->id);
    h.time_ms = zn_client_now_ms();
    h.convenant_version = c->conv->version;
    h.flags = flags;

    uint8_t *env = NULL;
    size_t env_len = 0;
    if (zn_envelope_seal(&h, content, len, p->keys.box, c->keys, &env, &env_len, e) != 0)
        return -1;
    msgpack_sbuffer b;
    uint32_t corr = s_next_corr(c);
    msgpack_sbuffer_init(&b);
    zn_frame_send(&b, corr, env, env_len);
    free(env);
    int rc = s_send_buf(c, &b, e);
    msgpack_sbuffer_destroy(&b);
    if (rc != 0)
        return -1;

    zn_frame f;
    uint8_t *fbuf = NULL;
    if (s_await(c, corr, ZN_T_ACCEPTED, &f, &fbuf, e) != 0)
        return -1;
    bool same = sodium_memcmp(f.u.accepted.msgid, msgid, ZN_ID_LEN) == 0;
    uint64_t index = f.u.accepted.audit_index;
    zn_frame_free(&f);
    free(fbuf);
    if (!same) {
        s_disconnect(c);
        return zn_err_set(e, ZN_E_VERIFY,
                          "the broker confirmed another message id than the one sent; the message "
                          "may not be stored: send it again with the same id");
    }
    if (zn_state_record_sent(c->state, msgid, index, zn_client_now_ms() / 1000u, e) != 0)
        return zn_err_prefix(e, "the broker stored the message, but its audit index could not be kept");
    if (audit_index)
        *audit_index = index;
    return 0;
}

/* The refusal of text with identifiers on an anonymous case: how many, and of which kinds. */
static int s_identifiers_error(const zn_id_hit *hits, size_t found, size_t kept, zn_err *e)
{
    char kinds[160] = "";
    size_t used = 0;
    unsigned seen = 0;
    for (size_t i = 0; i < kept; i++) {
        unsigned bit = 1u << ((unsigned)hits[i].kind & 15u);
        if (seen & bit)
            continue;
        seen |= bit;
        int w = snprintf(kinds + used, sizeof kinds - used, "%s%s", used ? ", " : "", zn_id_kind_name(hits[i].kind));
        if (w < 0 || (size_t)w >= sizeof kinds - used)
            break;
        used += (size_t)w;
    }
    return zn_err_set(e, ZN_E_IDENTIFIERS,
                      "the case is anonymous and the text holds %zu %s that may identify someone (%s); "
                      "remove %s, or check the text and send again with --i-checked; nothing was sent",
                      found, found == 1 ? "thing" : "things", kinds, found == 1 ? "it" : "them");
}

int zn_client_send_mode(zn_client *c, const char *recipient, const uint8_t case_id[ZN_CLIENT_ID_LEN],
                        const void *content, size_t len, unsigned flags, int anonymous,
                        uint8_t msgid[ZN_CLIENT_ID_LEN], uint64_t *audit_index, zn_err *e)
{
    if (audit_index)
        *audit_index = 0;
    if (flags & ~ZN_CLIENT_SEND_I_CHECKED)
        return zn_err_set(e, ZN_E_USAGE, "unknown send flags 0x%x; only ZN_CLIENT_SEND_I_CHECKED exists", flags);
    if (s_send_args(c, recipient, case_id, content, len, msgid, e) != 0)
        return -1;
    if (!(flags & ZN_CLIENT_SEND_I_CHECKED) && len > 0 && anonymous != 0) {
        /* Only text with something that looks like an identifier needs the case's mode: the scan
         * runs here first, and the broker is asked (case-show) only when it found something and
         * the caller did not know the mode. */
        zn_id_hit hits[S_HITS_MAX];
        size_t found = zn_identifiers_scan(content, len, (int64_t)(zn_client_now_ms() / 86400000u), hits, S_HITS_MAX);
        if (found > 0 && anonymous < 0) {
            zn_case_info *info =
                zn_client_case_probe(c, case_id, "send on it", "the case's mode could not be asked", NULL, e);
            if (!info)
                return -1;
            anonymous = !info->identified;
            free(info);
        }
        if (found > 0 && anonymous > 0)
            return s_identifiers_error(hits, found, found < S_HITS_MAX ? found : S_HITS_MAX, e);
    }
    return s_send(c, recipient, case_id, content, len, msgid,
                  (flags & ZN_CLIENT_SEND_I_CHECKED) ? ZN_FLAG_I_CHECKED : 0, audit_index, e);
}

int zn_client_send_flags(zn_client *c, const char *recipient, const uint8_t case_id[ZN_CLIENT_ID_LEN],
                         const void *content, size_t len, unsigned flags, uint8_t msgid[ZN_CLIENT_ID_LEN],
                         uint64_t *audit_index, zn_err *e)
{
    return zn_client_send_mode(c, recipient, case_id, content, len, flags, -1, msgid, audit_index, e);
}

int zn_client_request(zn_client *c, const char *kind, const uint8_t *body, size_t body_len,
                      zn_frame *f, uint8_t **fbuf, zn_err *e)
{
    *fbuf = NULL;
    memset(f, 0, sizeof *f);
    if (s_need_keys(c, e) != 0 || s_need_handler(c, e) != 0)
        return -1;
    if (s_ensure_connected(c, e) != 0)
        return -1;
    uint8_t *req = NULL;
    size_t req_len = 0;
    uint8_t sig[ZN_SIG_LEN];
    if (zn_request_build(kind, c->self, c->handler, zn_client_now_ms(), c->conv->version, body, body_len,
                         c->keys, &req, &req_len, sig, e) != 0)
        return -1;
    msgpack_sbuffer b;
    uint32_t corr = s_next_corr(c);
    msgpack_sbuffer_init(&b);
    zn_frame_request(&b, corr, req, req_len, sig);
    free(req);
    int rc = s_send_buf(c, &b, e);
    msgpack_sbuffer_destroy(&b);
    if (rc != 0 || s_await(c, corr, ZN_T_RESULT, f, fbuf, e) != 0)
        return -1;
    if (strcmp(f->u.result.kind, kind) != 0) {
        char got[ZN_IDENT_MAX];
        snprintf(got, sizeof got, "%s", f->u.result.kind);
        zn_frame_free(f);
        free(*fbuf);
        *fbuf = NULL;
        s_disconnect(c);
        return zn_err_set(e, ZN_E_VERIFY, "the broker answered a '%s' request with a '%s' result",
                          kind, got);
    }
    return 0;
}

const zn_convenant *zn_client_convenant(const zn_client *c)
{
    return c ? c->conv : NULL;
}

int zn_client_open_netkey(const zn_client *c, zn_netkey *out, zn_err *e)
{
    if (s_need_keys(c, e) != 0)
        return -1;
    return zn_convenant_open_netkey(c->conv, c->keys, c->self, out, e);
}

int zn_client_case_new(zn_client *c, const char *network, uint8_t case_id[ZN_CLIENT_ID_LEN], zn_err *e)
{
    zn_case_opts o;
    memset(&o, 0, sizeof o);
    o.network = network;
    return zn_client_case_new_ex(c, &o, case_id, e);
}

int zn_client_need_actor(const zn_client *c, zn_err *e)
{
    return s_need_keys(c, e) == 0 && s_need_handler(c, e) == 0 ? 0 : -1;
}

int zn_client_open_sealed(const zn_client *c, const uint8_t *enc, size_t len, char *text, size_t cap, zn_err *e)
{
    zn_doc d;
    zn_sealed s;
    zn_err pe;
    if (cap > 0)
        text[0] = '\0';
    if (s_need_keys(c, e) != 0)
        return -1;
    if (!enc || len == 0)
        return 0;
    zn_err_clear(&pe);
    if (zn_doc_parse(&d, enc, len, ZN_WIRE_MAX_DEPTH, S_SEALED_OBJECTS) != 0)
        return zn_err_set(e, ZN_E_VERIFY, "a sealed text from the broker cannot be read");
    int rc = 0;
    if (zn_sealed_parse(&d.root, 1, &s, &pe) != 0) {
        rc = zn_err_set(e, ZN_E_VERIFY, "a sealed text from the broker cannot be read: %.150s", pe.text);
    } else {
        bool reader = false;
        for (size_t i = 0; i < s.n && !reader; i++)
            reader = strcmp(s.reader[i], c->self) == 0;
        if (reader && zn_sealed_open(&s, c->self, c->keys, text, cap, &pe) != 0)
            rc = zn_err_set(e, ZN_E_VERIFY, "a text sealed to '%s' does not open with this client's key: %.120s",
                            c->self, pe.text);
        else if (reader)
            rc = 1;
    }
    zn_doc_free(&d);
    if (rc < 0 && cap > 0)
        sodium_memzero(text, cap); /* and so "" */
    return rc;
}

/* ------------------------------------------------------------------ inbox */

void zn_item_clear(zn_item *it)
{
    if (!it)
        return;
    if (it->content) {
        sodium_memzero(it->content, it->content_len);
        free(it->content);
    }
    memset(it, 0, sizeof *it);
}

static void s_invalid(zn_item *it, zn_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_invalid(zn_item *it, zn_code code, const char *fmt, ...)
{
    va_list ap;
    it->valid = false;
    it->reason_code = code;
    va_start(ap, fmt);
    vsnprintf(it->reason, sizeof it->reason, fmt, ap);
    va_end(ap);
}

static void s_notice_fields(zn_item *it, const zn_notice *n)
{
    const msgpack_object *m = n->fields;
    snprintf(it->notice_type, sizeof it->notice_type, "%s", n->type);
    it->time_ms = n->time_ms;
    for (uint32_t i = 0; m && i < m->via.map.size && it->n_fields < ZN_CLIENT_NOTICE_FIELDS; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key, *v = &m->via.map.ptr[i].val;
        zn_item_field *fl = &it->fields[it->n_fields];
        if (k->type != MSGPACK_OBJECT_STR)
            continue;
        zn_text_sanitize(fl->key, sizeof fl->key, k->via.str.ptr, k->via.str.size);
        switch (v->type) {
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            fl->type = ZN_FIELD_NUMBER;
            snprintf(fl->value, sizeof fl->value, "%llu", (unsigned long long)v->via.u64);
            break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            fl->type = ZN_FIELD_NUMBER;
            snprintf(fl->value, sizeof fl->value, "%lld", (long long)v->via.i64);
            break;
        case MSGPACK_OBJECT_BOOLEAN:
            fl->type = ZN_FIELD_BOOL;
            snprintf(fl->value, sizeof fl->value, "%s", v->via.boolean ? "true" : "false");
            break;
        case MSGPACK_OBJECT_STR:
            fl->type = ZN_FIELD_TEXT;
            zn_text_sanitize(fl->value, sizeof fl->value, v->via.str.ptr, v->via.str.size);
            break;
        case MSGPACK_OBJECT_BIN:
            if (v->via.bin.size * 2 < sizeof fl->value) {
                fl->type = ZN_FIELD_HEX;
                zn_hex(fl->value, (const uint8_t *)v->via.bin.ptr, v->via.bin.size);
            } else {
                fl->type = ZN_FIELD_TEXT;
                snprintf(fl->value, sizeof fl->value, "(%u bytes)", (unsigned)v->via.bin.size);
            }
            break;
        default:
            fl->type = ZN_FIELD_TEXT;
            snprintf(fl->value, sizeof fl->value, "(structured value)");
        }
        it->n_fields++;
    }
}

/* Every check an envelope must pass before it is shown as valid. */
static void s_check_envelope(zn_client *c, const zn_envelope *env, zn_item *it)
{
    const zn_header *h = &env->h;
    memcpy(it->msgid, h->msgid, ZN_ID_LEN);
    memcpy(it->case_id, h->case_id, ZN_ID_LEN);
    snprintf(it->sender, sizeof it->sender, "%s", h->sender);
    snprintf(it->handler, sizeof it->handler, "%s", h->handler);
    it->time_ms = h->time_ms;
    it->convenant_version = h->convenant_version;

    const zn_partner *p = zn_convenant_partner(c->conv, h->sender);
    if (!p) {
        s_invalid(it, ZN_E_UNKNOWN_PARTNER, "the sender '%s' is not in the convenant", h->sender);
        return;
    }
    snprintf(it->sender_name, sizeof it->sender_name, "%s", p->name);
    if (zn_envelope_verify(env, p->keys.sign) != 0) {
        s_invalid(it, ZN_E_BAD_SIGNATURE,
                  "the signature does not verify with the signing key of '%s' in the convenant",
                  h->sender);
        return;
    }
    if (strcmp(h->recipient, c->self) != 0) {
        s_invalid(it, ZN_E_VERIFY, "the message is addressed to '%s', not to '%s'", h->recipient,
                  c->self);
        return;
    }
    /* Opening checks the ciphertext against the signed header's hash before decrypting. */
    zn_err oe;
    zn_err_clear(&oe);
    if (zn_envelope_open(env, p->keys.box, c->keys->box, &it->content, &it->content_len, &oe) != 0) {
        it->content = NULL;
        it->content_len = 0;
        if (oe.code == ZN_E_HASH_MISMATCH)
            s_invalid(it, ZN_E_HASH_MISMATCH,
                      "the content is not the one the signed header of '%s' names; it was altered "
                      "after signing",
                      h->sender);
        else
            s_invalid(it, ZN_E_VERIFY,
                      "the content does not open with the box key of '%s' in the convenant (%.120s)",
                      h->sender, oe.text);
        return;
    }
    it->valid = true;
    it->reason_code = ZN_E_OK;
}

/* A DELIVER the frame parser refused (a malformed item; an altered ciphertext parses and is
 * caught when opening): report it as an invalid item so it can be acknowledged. */
static int s_salvage(const uint8_t *buf, size_t len, zn_item *it, zn_err *e)
{
    zn_doc d;
    uint32_t n = 0;
    uint64_t kind = 0;
    if (zn_doc_parse(&d, buf, len, ZN_WIRE_MAX_DEPTH, S_SALVAGE_OBJECTS) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "the broker delivered an item this client cannot read");
    const msgpack_object *a = zn_obj_array_min(&d.root, 4, &n);
    if (!a || zn_obj_bin_fixed(&a[3], it->item_id, ZN_ID_LEN) != 0) {
        zn_doc_free(&d);
        return zn_err_set(e, ZN_E_MALFORMED, "the broker delivered an item this client cannot read");
    }
    it->kind = ZN_ITEM_KIND_ENVELOPE;
    if (n >= 5 && zn_obj_u64(&a[4], &kind) == 0 && kind == ZN_ITEM_NOTICE)
        it->kind = ZN_ITEM_KIND_NOTICE;
    zn_doc_free(&d);
    it->valid = false;
    it->reason_code = ZN_E_MALFORMED;
    snprintf(it->reason, sizeof it->reason, "the item is malformed and cannot be checked");
    return 0;
}

/* ACK (the broker forgets the item) or RELEASE (it stays queued); either frees a window place. */
static int s_send_ids(zn_client *c, const uint8_t item_id[ZN_ID_LEN], bool release, zn_err *e)
{
    if (!c->connected)
        return zn_err_set(e, ZN_E_UNREACHABLE,
                          "the connection to the broker was lost; the item will be delivered again "
                          "(a message already shown is not shown twice)");
    msgpack_sbuffer b;
    const uint8_t(*ids)[ZN_ID_LEN] = (const uint8_t(*)[ZN_ID_LEN])item_id;
    msgpack_sbuffer_init(&b);
    (release ? zn_frame_release : zn_frame_ack)(&b, s_next_corr(c), ids, 1);
    int rc = s_send_buf(c, &b, e);
    msgpack_sbuffer_destroy(&b);
    if (rc == 0 && c->outstanding > 0)
        c->outstanding--;
    return rc;
}

/* 1: *it holds an item; 0: a message shown before, acknowledged and skipped; -1: error. */
static int s_deliver(zn_client *c, const uint8_t *buf, size_t len, zn_item *it, zn_err *e)
{
    zn_frame f;
    zn_err pe;
    zn_err_clear(&pe);
    memset(it, 0, sizeof *it);
    if (zn_frame_parse(buf, len, &f, &pe) != 0)
        return s_salvage(buf, len, it, e) == 0 ? 1 : -1;
    if (f.type != ZN_T_DELIVER) { /* only DELIVER frames are queued */
        zn_frame_free(&f);
        return zn_err_set(e, ZN_E_INTERNAL, "a frame other than DELIVER was queued");
    }
    memcpy(it->item_id, f.u.deliver.item_id, ZN_ID_LEN);
    if (f.u.deliver.kind == ZN_ITEM_NOTICE) {
        it->kind = ZN_ITEM_KIND_NOTICE;
        it->valid = true;
        s_notice_fields(it, &f.u.deliver.notice);
        zn_frame_free(&f);
        return 1;
    }
    it->kind = ZN_ITEM_KIND_ENVELOPE;
    s_check_envelope(c, &f.u.deliver.env, it);
    zn_frame_free(&f);
    if (!it->valid)
        return 1;
    bool seen = false;
    if (zn_state_is_seen(c->state, it->sender, it->msgid, &seen, e) != 0) {
        zn_item_clear(it);
        return -1;
    }
    if (seen) {
        uint8_t id[ZN_ID_LEN];
        memcpy(id, it->item_id, ZN_ID_LEN);
        zn_item_clear(it);
        return s_send_ids(c, id, false, e) == 0 ? 0 : -1;
    }
    return 1;
}

int zn_client_next(zn_client *c, int wait_ms, zn_item *out, zn_err *e)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (s_need_keys(c, e) != 0)
        return -1;
    if (!out)
        return zn_err_set(e, ZN_E_USAGE, "next needs an item to fill");
    if ((!c->connected || c->window == 0) && zn_client_connect(c, ZN_CLIENT_DEFAULT_WINDOW, e) != 0)
        return -1;
    int64_t wait_deadline = zn_client_mono_ms() + (wait_ms > 0 ? wait_ms : 0);
    for (;;) {
        if (c->q_head < c->q_len) {
            s_raw r = c->queue[c->q_head++];
            int rc = s_deliver(c, r.buf, r.len, out, e);
            free(r.buf);
            if (rc != 0)
                return rc;
            continue;
        }
        bool settled = c->idle || c->outstanding >= c->window;
        int64_t left = wait_deadline - zn_client_mono_ms();
        if (left < 0)
            left = 0;
        if (!settled && left < c->timeout_ms)
            left = c->timeout_ms;
        uint8_t *buf = NULL;
        size_t len = 0;
        int r = s_recv(c, (int)left, &buf, &len, e);
        if (r < 0) {
            s_disconnect(c);
            return -1;
        }
        if (r == 0) {
            if (settled)
                return 0;
            s_disconnect(c);
            return zn_err_set(e, ZN_E_UNREACHABLE,
                              "the broker stopped answering while delivering; what was not "
                              "acknowledged will be delivered again");
        }
        if (s_dispatch(c, buf, len, 0, 0, NULL, NULL, e) < 0)
            return -1;
    }
}

int zn_client_ack(zn_client *c, const zn_item *it, zn_err *e)
{
    if (s_need_keys(c, e) != 0)
        return -1;
    if (!it)
        return zn_err_set(e, ZN_E_USAGE, "ack needs an item");
    if (it->kind == ZN_ITEM_KIND_ENVELOPE && it->valid &&
        zn_state_mark_seen(c->state, it->sender, it->msgid, zn_client_now_ms() / 1000u, e) != 0)
        return -1;
    return s_send_ids(c, it->item_id, false, e);
}

int zn_client_release(zn_client *c, const zn_item *it, zn_err *e)
{
    if (s_need_keys(c, e) != 0)
        return -1;
    if (!it)
        return zn_err_set(e, ZN_E_USAGE, "release needs an item");
    return s_send_ids(c, it->item_id, true, e);
}
