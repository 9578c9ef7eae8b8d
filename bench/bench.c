/* zn_bench — end-to-end throughput and latency of zorgnetd against a raw libzmq CURVE relay,
 * measured in one run on the same machine (see docs/PERFORMANCE.md).
 *
 * (a) broker: a fresh convenant (one network, N sender and N receiver partners) and broker key
 *     in a temporary directory; the real zorgnetd binary on a free loopback port with its
 *     database there (WAL, synchronous=FULL: the broker's own defaults). Every sender creates a
 *     case with a signed case-new request and seals and signs all its envelopes before the clock
 *     starts. Then N sender threads pipeline SEND frames (up to --inflight waiting for ACCEPTED)
 *     and N receiver threads (HELLO with --window) take DELIVERs and acknowledge them in batches.
 * (b) raw: one relay thread with a CurveZMQ ROUTER forwards each message from sender i to
 *     receiver i and answers the sender with a 4-byte acknowledgement; no storage, no codec. The
 *     messages are as long as the broker's SEND frames; senders keep the same number in flight.
 *
 * Throughput: messages delivered / (last delivery - start). Latency: delivery time at the
 * receiver minus send time at the sender, per message (same clock, same process).
 * Exit status: 0 when every message arrived and the checks held (whatever the numbers; a
 * duplicate delivery is counted, not failed), 1 on a functional failure (lost message, error
 * reply, broker fault, content or store mismatch), 2 on a usage error, 3 when the global timeout
 * ends the run. */
#include "bench_common.h"
#include "zn_convenant.h"
#include "zn_case.h"
#include "zn_envelope.h"
#include "zn_err.h"
#include "zn_frame.h"
#include "zn_keys.h"
#include "zn_request.h"
#include "zn_wire.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define B_NETWORK "bench"
#define B_HANDLER "bench"
#define B_MAX_PAIRS 64
#define B_HWM 100000
#define B_READY_MS 15000   /* broker start-up and handshakes */
#define B_SYNC_MS 30000    /* final acknowledgements reaching the store */
#define B_MAX_PRESEALED (4ull * 1024 * 1024 * 1024)
#define B_MAX_WRAP 16

/* ---- options ------------------------------------------------------------------------------ */

typedef struct {
    int pairs;
    int count;
    size_t size;
    int window;
    int inflight;
    int timeout_s;
    int io_threads;
    char zorgnetd[PATH_MAX];
    char *wrap[B_MAX_WRAP + 1]; /* argv prefix for zorgnetd (a profiler), NULL-terminated */
    char *wrap_buf;
    bool audit_off; /* this broker run: ZN_BENCH_AUDIT_OFF for zorgnetd-bench */
} b_opts;

static void b_usage(FILE *f)
{
    fputs("usage: zn_bench [--pairs N] [--count M] [--size BYTES] [--window W] [--inflight K]\n"
          "                [--timeout S] [--io-threads T] [--zorgnetd PATH] [--broker-wrap CMD]\n"
          "  --pairs N        sender/receiver pairs (default 4)\n"
          "  --count M        messages per sender (default 20000)\n"
          "  --size BYTES     message content per envelope (default 1024)\n"
          "  --window W       receiver window in HELLO (default 1024, at most 4096)\n"
          "  --inflight K     SEND frames a sender keeps un-ACCEPTED (default 256)\n"
          "  --timeout S      abort the whole run after S seconds (default 120)\n"
          "  --io-threads T   ZeroMQ I/O threads of the client side (default 1)\n"
          "  --zorgnetd PATH  the broker binary (default: zorgnetd-bench beside zn_bench: zorgnetd\n"
          "                   with a switch that turns the audit log off for the comparison run)\n"
          "  --broker-wrap CMD  start the broker as CMD... zorgnetd ARGS (e.g. a profiler;\n"
          "                   CMD is split on spaces)\n"
          "Prints throughput (msg/s) and latency (p50, p99) for the broker with its audit log, the\n"
          "broker without it, and a raw CurveZMQ relay, and their ratios. Exit 0 unless a message\n"
          "was lost or refused.\n",
          f);
}

static int b_int_arg(const char *name, const char *v, long min, long max, long *out)
{
    long long x;
    if (bc_num("zn_bench", name, v, min, max, &x) != 0)
        return -1;
    *out = (long)x;
    return 0;
}

static int b_parse(int argc, char **argv, b_opts *o)
{
    memset(o, 0, sizeof *o);
    o->pairs = 4, o->count = 20000, o->size = 1024, o->window = 1024, o->inflight = 256;
    o->timeout_s = 120, o->io_threads = 1;
    if (bc_exe_sibling(o->zorgnetd, sizeof o->zorgnetd, "zorgnetd-bench") != 0)
        return -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            b_usage(stdout);
            exit(0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "zn_bench: %s needs a value (or is unknown)\n", a);
            return -1;
        }
        const char *v = argv[++i];
        long x = 0;
        if (!strcmp(a, "--pairs")) {
            if (b_int_arg(a, v, 1, B_MAX_PAIRS, &x) != 0)
                return -1;
            o->pairs = (int)x;
        } else if (!strcmp(a, "--count")) {
            if (b_int_arg(a, v, 1, 1000000, &x) != 0)
                return -1;
            o->count = (int)x;
        } else if (!strcmp(a, "--size")) {
            if (b_int_arg(a, v, 1, ZN_MAX_CONTENT, &x) != 0)
                return -1;
            o->size = (size_t)x;
        } else if (!strcmp(a, "--window")) {
            if (b_int_arg(a, v, 1, ZN_MAX_WINDOW, &x) != 0)
                return -1;
            o->window = (int)x;
        } else if (!strcmp(a, "--inflight")) {
            if (b_int_arg(a, v, 1, 65536, &x) != 0)
                return -1;
            o->inflight = (int)x;
        } else if (!strcmp(a, "--timeout")) {
            if (b_int_arg(a, v, 1, 86400, &x) != 0)
                return -1;
            o->timeout_s = (int)x;
        } else if (!strcmp(a, "--io-threads")) {
            if (b_int_arg(a, v, 1, 16, &x) != 0)
                return -1;
            o->io_threads = (int)x;
        } else if (!strcmp(a, "--zorgnetd")) {
            if (snprintf(o->zorgnetd, sizeof o->zorgnetd, "%s", v) >= (int)sizeof o->zorgnetd) {
                fprintf(stderr, "zn_bench: --zorgnetd path too long\n");
                return -1;
            }
        } else if (!strcmp(a, "--broker-wrap")) {
            free(o->wrap_buf);
            o->wrap_buf = strdup(v);
            if (!o->wrap_buf)
                return -1;
            int n = 0;
            for (char *t = strtok(o->wrap_buf, " "); t; t = strtok(NULL, " ")) {
                if (n == B_MAX_WRAP) {
                    fprintf(stderr, "zn_bench: --broker-wrap takes at most %d words\n", B_MAX_WRAP);
                    return -1;
                }
                o->wrap[n++] = t;
            }
            o->wrap[n] = NULL;
        } else {
            fprintf(stderr, "zn_bench: unknown option %s\n", a);
            return -1;
        }
    }
    return 0;
}

/* ---- clocks, failure, clean-up ------------------------------------------------------------- */

static atomic_int g_broker_pid;
static char g_tmpdir[PATH_MAX];
static _Atomic(const char *) g_phase = "starting";

/* Remove the run's temporary directory, if there is one. */
static void b_rmtree(void)
{
    if (!g_tmpdir[0])
        return;
    bc_rmtree(g_tmpdir);
    g_tmpdir[0] = '\0';
}

/* A new, empty temporary directory for the next run's keys, convenant and database. */
static int b_fresh_tmpdir(void)
{
    b_rmtree();
    snprintf(g_tmpdir, sizeof g_tmpdir, "%s/zn_bench.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(g_tmpdir))
        return 0;
    fprintf(stderr, "zn_bench: cannot create a temporary directory: %s\n", strerror(errno));
    g_tmpdir[0] = '\0';
    return -1;
}

static void b_kill_broker(int sig)
{
    pid_t pid = (pid_t)atomic_load(&g_broker_pid);
    if (pid > 0)
        (void)kill(pid, sig);
}

/* ---- start gate: every thread ready, then one common start time ---------------------------- */

static int b_gate_open(bc_gate *g, int n)
{
    pthread_mutex_lock(&g->mu);
    while (g->arrived < n && !bc_failed()) {
        struct timespec ts;
        bc_abstime(&ts, 100);
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    }
    if (!bc_failed()) {
        g->t0 = bc_now_ns();
        g->open = true;
    }
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return bc_failed() ? -1 : 0;
}

/* ---- shared run state ------------------------------------------------------------------------ */

typedef struct {
    const b_opts *o;
    void *ctx;                   /* client-side ZeroMQ context */
    char endpoint[128];
    uint8_t server_pk[ZN_KEY_LEN];
    uint64_t convenant_version;
    uint64_t *send_ns;           /* [pair * count + idx] */
    uint64_t *recv_ns;
    bc_gate gate;
    atomic_size_t frame_len;     /* length of a SEND frame (the raw relay sends as much) */
    pid_t broker_pid;            /* (a) only */
    double broker_cpu_s;         /* broker process CPU time while the clock ran */
    double broker_write_b;       /* bytes the broker sent towards storage meanwhile */
    double self_cpu_s;           /* this process (clients; in (b) also the relay) */
} b_run;

typedef struct {
    b_run *R;
    int pair;
    /* broker mode */
    const zn_seckeys *self;
    const zn_pubkeys *peer;
    char self_id[ZN_IDENT_MAX];
    char peer_id[ZN_IDENT_MAX];
    /* raw mode */
    uint8_t pk[ZN_KEY_LEN], sk[ZN_KEY_LEN];
    /* results */
    uint64_t last_ns;  /* sender: last ACCEPTED; receiver: last delivery */
    uint64_t dups;
    atomic_int sent, done; /* progress, for the timeout message: sent / ACCEPTED or received */
    bool is_sender;
} b_worker;

static _Atomic(b_worker *) g_workers; /* the current run's workers, 2 * g_nworkers */
static atomic_int g_nworkers;

/* Watchdog: the whole run is bounded; past the deadline it kills the broker and leaves. */
static void *b_watchdog(void *arg)
{
    int timeout_s = *(const int *)arg;
    bc_wait_deadline(timeout_s);
    fprintf(stderr, "zn_bench: timed out after %d s while %s; aborting (raise --timeout or lower --count)\n",
            timeout_s, atomic_load(&g_phase));
    b_worker *w = atomic_load(&g_workers);
    for (int i = 0; w && i < 2 * atomic_load(&g_nworkers); i++) {
        if (w[i].is_sender)
            fprintf(stderr, "  sender %d: sent %d, acknowledged %d\n", w[i].pair, atomic_load(&w[i].sent),
                    atomic_load(&w[i].done));
        else
            fprintf(stderr, "  receiver %d: received %d\n", w[i].pair, atomic_load(&w[i].done));
    }
    b_kill_broker(SIGKILL);
    pid_t pid = (pid_t)atomic_load(&g_broker_pid);
    if (pid > 0)
        (void)waitpid(pid, NULL, 0);
    b_rmtree();
    _exit(3);
}

static void b_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t b_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void b_content(uint8_t *buf, size_t n, int pair, uint32_t idx)
{
    for (size_t j = 0; j < n; j++)
        buf[j] = (uint8_t)(j * 7u + idx * 13u + (unsigned)pair);
}

static void *b_dealer(void *ctx, const uint8_t server_pk[ZN_KEY_LEN], const uint8_t pk[ZN_KEY_LEN],
                      const uint8_t sk[ZN_KEY_LEN], const char *rid, const char *endpoint)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int hwm = B_HWM, linger = 0;
    if (!s)
        return NULL;
    if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_pk, ZN_KEY_LEN) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pk, ZN_KEY_LEN) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sk, ZN_KEY_LEN) != 0 ||
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        (rid && zmq_setsockopt(s, ZMQ_ROUTING_ID, rid, strlen(rid)) != 0) ||
        zmq_connect(s, endpoint) != 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

/* Receive one message, waiting up to ms (in slices, so a failure elsewhere ends the wait).
 * 0 received, -1 timed out or failed. */
static int b_recv(void *s, zmq_msg_t *m, int ms)
{
    uint64_t until = bc_now_ns() + (uint64_t)ms * 1000000u;
    for (;;) {
        if (zmq_msg_recv(m, s, ZMQ_DONTWAIT) >= 0)
            return 0;
        if (errno != EAGAIN || bc_failed() || bc_now_ns() >= until)
            return -1;
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        (void)zmq_poll(&it, 1, 100);
    }
}

/* Wait for the broker's answer to `corr` (WELCOME, RESULT, CONVENANT or ERROR); other frames
 * (IDLE) are skipped. On 0, f points into m: zn_frame_free(f) and zmq_msg_close(m). */
static int b_await(b_worker *w, void *s, uint32_t corr, zmq_msg_t *m, zn_frame *f, int ms,
                   const char *what)
{
    uint64_t until = bc_now_ns() + (uint64_t)ms * 1000000u;
    for (;;) {
        uint64_t now = bc_now_ns();
        int left = now >= until ? 0 : (int)((until - now) / 1000000u);
        zmq_msg_init(m);
        if (left == 0 || b_recv(s, m, left) != 0) {
            zmq_msg_close(m);
            if (!bc_failed())
                bc_fail("%s: no answer from the broker to %s within %d ms", w->self_id, what, ms);
            return -1;
        }
        zn_err e;
        zn_err_clear(&e);
        memset(f, 0, sizeof *f);
        if (zn_frame_parse(zmq_msg_data(m), zmq_msg_size(m), f, &e) != 0) {
            bc_fail("%s: unreadable frame from the broker after %s: %s", w->self_id, what, e.text);
            zn_frame_free(f);
            zmq_msg_close(m);
            return -1;
        }
        if (f->type == ZN_T_ERROR || f->type == ZN_T_BYE) {
            bc_fail("%s: the broker refused %s: %s: %s", w->self_id, what, f->u.error.name, f->u.error.text);
            zn_frame_free(f);
            zmq_msg_close(m);
            return -1;
        }
        if (f->corr == corr && f->type != ZN_T_IDLE && f->type != ZN_T_DELIVER)
            return 0;
        zn_frame_free(f);
        zmq_msg_close(m);
    }
}

static int b_send_sb(void *s, const msgpack_sbuffer *sb)
{
    return zmq_send(s, sb->data, sb->size, 0) == (int)sb->size ? 0 : -1;
}

static int b_hello(b_worker *w, void *s, msgpack_sbuffer *sb, uint32_t window)
{
    zmq_msg_t m;
    zn_frame f;
    msgpack_sbuffer_clear(sb);
    zn_frame_hello(sb, 1, w->R->convenant_version, window, 0);
    if (b_send_sb(s, sb) != 0) {
        bc_fail("%s: cannot send HELLO: %s", w->self_id, zmq_strerror(errno));
        return -1;
    }
    if (b_await(w, s, 1, &m, &f, B_READY_MS, "HELLO") != 0)
        return -1;
    int rc = 0;
    if (f.type != ZN_T_WELCOME || strcmp(f.u.welcome.partner, w->self_id) != 0) {
        bc_fail("%s: HELLO was answered with frame type %u instead of WELCOME for this partner", w->self_id,
               f.type);
        rc = -1;
    }
    zn_frame_free(&f);
    zmq_msg_close(&m);
    return rc;
}

/* ---- (a) broker: sender ------------------------------------------------------------------------ */

static int b_case_new(b_worker *w, void *s, msgpack_sbuffer *sb, uint8_t case_id[ZN_ID_LEN])
{
    msgpack_sbuffer body;
    uint8_t *req = NULL, sig[ZN_SIG_LEN];
    size_t req_len = 0;
    zn_err e;
    zmq_msg_t m;
    zn_frame f;
    int rc = -1;

    zn_err_clear(&e);
    msgpack_sbuffer_init(&body);
    randombytes_buf(case_id, ZN_ID_LEN);
    zn_case_new_body cb = {.network = B_NETWORK};
    memcpy(cb.id, case_id, ZN_ID_LEN);
    if (zn_body_case_new_enc(&body, &cb) != 0 ||
        zn_request_build("case-new", w->self_id, B_HANDLER, bc_wall_ms(), w->R->convenant_version,
                         (const uint8_t *)body.data, body.size, w->self, &req, &req_len, sig, &e) != 0) {
        bc_fail("%s: cannot build the case-new request: %s", w->self_id, e.text);
        goto out;
    }
    msgpack_sbuffer_clear(sb);
    zn_frame_request(sb, 2, req, req_len, sig);
    if (b_send_sb(s, sb) != 0) {
        bc_fail("%s: cannot send case-new: %s", w->self_id, zmq_strerror(errno));
        goto out;
    }
    if (b_await(w, s, 2, &m, &f, B_READY_MS, "case-new") != 0)
        goto out;
    uint8_t got[ZN_ID_LEN];
    const msgpack_object *a = f.type == ZN_T_RESULT ? zn_obj_array(f.u.result.body, 1) : NULL;
    if (f.type != ZN_T_RESULT || strcmp(f.u.result.kind, "case-new") != 0 || !a ||
        zn_obj_bin_fixed(&a[0], got, ZN_ID_LEN) != 0 || memcmp(got, case_id, ZN_ID_LEN) != 0)
        bc_fail("%s: case-new was not answered with the new case id", w->self_id);
    else
        rc = 0;
    zn_frame_free(&f);
    zmq_msg_close(&m);
out:
    free(req);
    msgpack_sbuffer_destroy(&body);
    return rc;
}

/* Seal and sign every envelope, each wrapped in its SEND frame (corr = index + 1). */
static uint8_t **b_seal_all(b_worker *w, const uint8_t case_id[ZN_ID_LEN], size_t **lens)
{
    const b_opts *o = w->R->o;
    uint8_t **frames = calloc((size_t)o->count, sizeof *frames);
    size_t *len = calloc((size_t)o->count, sizeof *len);
    uint8_t *content = malloc(o->size);
    msgpack_sbuffer sb;
    uint8_t prefix[8];
    zn_header h;
    zn_err e;

    msgpack_sbuffer_init(&sb);
    randombytes_buf(prefix, sizeof prefix);
    memset(&h, 0, sizeof h);
    memcpy(h.case_id, case_id, ZN_ID_LEN);
    snprintf(h.sender, sizeof h.sender, "%s", w->self_id);
    snprintf(h.handler, sizeof h.handler, "%s", B_HANDLER);
    snprintf(h.recipient, sizeof h.recipient, "%s", w->peer_id);
    h.convenant_version = w->R->convenant_version;
    if (!frames || !len || !content) {
        bc_fail("%s: out of memory for %d sealed envelopes", w->self_id, o->count);
        goto fail;
    }
    for (int i = 0; i < o->count && !bc_failed(); i++) {
        uint8_t *env = NULL;
        size_t env_len = 0;
        memcpy(h.msgid, prefix, sizeof prefix);
        b_put32(h.msgid + 8, (uint32_t)w->pair);
        b_put32(h.msgid + 12, (uint32_t)i);
        h.time_ms = bc_wall_ms();
        b_content(content, o->size, w->pair, (uint32_t)i);
        zn_err_clear(&e);
        if (zn_envelope_seal(&h, content, o->size, w->peer->box, w->self, &env, &env_len, &e) != 0) {
            bc_fail("%s: sealing envelope %d failed: %s", w->self_id, i, e.text);
            goto fail;
        }
        msgpack_sbuffer_clear(&sb);
        zn_frame_send(&sb, (uint32_t)i + 1, env, env_len);
        free(env);
        frames[i] = malloc(sb.size);
        if (!frames[i]) {
            bc_fail("%s: out of memory for sealed envelopes", w->self_id);
            goto fail;
        }
        memcpy(frames[i], sb.data, sb.size);
        len[i] = sb.size;
    }
    if (bc_failed())
        goto fail;
    atomic_store(&w->R->frame_len, len[0]);
    free(content);
    msgpack_sbuffer_destroy(&sb);
    *lens = len;
    return frames;
fail:
    for (int i = 0; frames && i < o->count; i++)
        free(frames[i]);
    free(frames), free(len), free(content);
    msgpack_sbuffer_destroy(&sb);
    return NULL;
}

static void *b_broker_sender(void *arg)
{
    b_worker *w = arg;
    b_run *R = w->R;
    const b_opts *o = R->o;
    msgpack_sbuffer sb;
    uint8_t case_id[ZN_ID_LEN];
    uint8_t **frames = NULL;
    size_t *lens = NULL;
    uint8_t *accepted = calloc((size_t)o->count, 1);
    uint64_t t0 = 0, *send_ns = R->send_ns + (size_t)w->pair * (size_t)o->count;

    msgpack_sbuffer_init(&sb);
    void *s = b_dealer(R->ctx, R->server_pk, w->self->pub.transport, w->self->transport, NULL, R->endpoint);
    if (!s || !accepted) {
        bc_fail("%s: cannot open a CurveZMQ socket: %s", w->self_id, zmq_strerror(errno));
        goto out;
    }
    if (b_hello(w, s, &sb, 0) != 0 || b_case_new(w, s, &sb, case_id) != 0)
        goto out;
    frames = b_seal_all(w, case_id, &lens);
    if (!frames || bc_gate_wait(&R->gate, &t0) != 0)
        goto out;

    int next = 0, done = 0, inflight = 0;
    while (done < o->count && !bc_failed()) {
        while (next < o->count && inflight < o->inflight) {
            send_ns[next] = bc_now_ns();
            if (zmq_send(s, frames[next], lens[next], ZMQ_DONTWAIT) < 0) {
                if (errno == EAGAIN)
                    break;
                bc_fail("%s: SEND failed: %s", w->self_id, zmq_strerror(errno));
                goto out;
            }
            free(frames[next]);
            frames[next] = NULL;
            next++, inflight++;
            atomic_store(&w->sent, next);
        }
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        for (;;) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            zn_frame f;
            zn_err e;
            zn_err_clear(&e);
            memset(&f, 0, sizeof f);
            if (zn_frame_parse(zmq_msg_data(&m), zmq_msg_size(&m), &f, &e) != 0) {
                bc_fail("%s: unreadable frame from the broker: %s", w->self_id, e.text);
            } else if (f.type == ZN_T_ERROR || f.type == ZN_T_BYE) {
                bc_fail("%s: the broker refused message %" PRIu32 ": %s: %s", w->self_id,
                       f.corr ? f.corr - 1 : 0, f.u.error.name, f.u.error.text);
            } else if (f.type == ZN_T_ACCEPTED) {
                uint32_t idx = f.corr - 1;
                if (f.corr == 0 || idx >= (uint32_t)next || accepted[idx] || f.u.accepted.duplicate ||
                    b_get32(f.u.accepted.msgid + 12) != idx || b_get32(f.u.accepted.msgid + 8) != (uint32_t)w->pair)
                    bc_fail("%s: unexpected ACCEPTED (corr %" PRIu32 ", duplicate %d)", w->self_id, f.corr,
                           (int)f.u.accepted.duplicate);
                else {
                    accepted[idx] = 1;
                    done++, inflight--;
                    atomic_store(&w->done, done);
                    w->last_ns = bc_now_ns();
                }
            }
            zn_frame_free(&f);
            zmq_msg_close(&m);
            if (bc_failed())
                break;
        }
    }
out:
    if (frames)
        for (int i = 0; i < o->count; i++)
            free(frames[i]);
    free(frames), free(lens), free(accepted);
    msgpack_sbuffer_destroy(&sb);
    if (s)
        zmq_close(s);
    return NULL;
}

/* ---- (a) broker: receiver ---------------------------------------------------------------------- */

static int b_send_ack(b_worker *w, void *s, msgpack_sbuffer *sb, uint8_t (*ids)[ZN_ID_LEN], uint32_t *n,
                      uint32_t *corr)
{
    if (*n == 0)
        return 0;
    msgpack_sbuffer_clear(sb);
    zn_frame_ack(sb, (*corr)++, (const uint8_t(*)[ZN_ID_LEN])ids, *n);
    *n = 0;
    if (b_send_sb(s, sb) != 0) {
        bc_fail("%s: ACK failed: %s", w->self_id, zmq_strerror(errno));
        return -1;
    }
    return 0;
}

/* One delivered envelope, checked end to end after the clock stopped: signature, box, content. */
static void b_check_sample(b_worker *w, const uint8_t *frame, size_t len)
{
    zn_frame f;
    zn_err e;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    zn_err_clear(&e);
    memset(&f, 0, sizeof f);
    if (zn_frame_parse(frame, len, &f, &e) != 0 || f.type != ZN_T_DELIVER) {
        bc_fail("%s: the sample delivery does not parse again: %s", w->self_id, e.text);
    } else if (zn_envelope_verify(&f.u.deliver.env, w->peer->sign) != 0) {
        bc_fail("%s: a delivered envelope's signature does not verify", w->self_id);
    } else if (zn_envelope_open(&f.u.deliver.env, w->peer->box, w->self->box, &plain, &plain_len, &e) != 0) {
        bc_fail("%s: a delivered envelope does not open: %s", w->self_id, e.text);
    } else {
        uint8_t *want = malloc(plain_len ? plain_len : 1);
        if (want)
            b_content(want, plain_len, w->pair, b_get32(f.u.deliver.env.h.msgid + 12));
        if (!want || plain_len != w->R->o->size || memcmp(want, plain, plain_len) != 0)
            bc_fail("%s: a delivered envelope's content differs from what was sent", w->self_id);
        free(want);
    }
    free(plain);
    zn_frame_free(&f);
}

static void *b_broker_receiver(void *arg)
{
    b_worker *w = arg;
    b_run *R = w->R;
    const b_opts *o = R->o;
    msgpack_sbuffer sb;
    uint8_t(*ids)[ZN_ID_LEN] = calloc(ZN_MAX_ACK, ZN_ID_LEN);
    uint32_t nids = 0, corr = 10;
    uint32_t batch = (uint32_t)o->window / 2 ? (uint32_t)o->window / 2 : 1;
    uint64_t t0 = 0, *recv_ns = R->recv_ns + (size_t)w->pair * (size_t)o->count;
    uint8_t *sample = NULL;
    size_t sample_len = 0;
    int got = 0;

    if (batch > ZN_MAX_ACK)
        batch = ZN_MAX_ACK;
    msgpack_sbuffer_init(&sb);
    void *s = b_dealer(R->ctx, R->server_pk, w->self->pub.transport, w->self->transport, NULL, R->endpoint);
    if (!s || !ids) {
        bc_fail("%s: cannot open a CurveZMQ socket: %s", w->self_id, zmq_strerror(errno));
        goto out;
    }
    if (b_hello(w, s, &sb, (uint32_t)o->window) != 0 || bc_gate_wait(&R->gate, &t0) != 0)
        goto out;

    while (got < o->count && !bc_failed()) {
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        for (;;) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            uint64_t t = bc_now_ns();
            zn_frame f;
            zn_err e;
            zn_err_clear(&e);
            memset(&f, 0, sizeof f);
            if (zn_frame_parse(zmq_msg_data(&m), zmq_msg_size(&m), &f, &e) != 0) {
                bc_fail("%s: unreadable frame from the broker: %s", w->self_id, e.text);
            } else if (f.type == ZN_T_ERROR || f.type == ZN_T_BYE) {
                bc_fail("%s: the broker sent %s: %s: %s", w->self_id, f.type == ZN_T_BYE ? "BYE" : "ERROR",
                       f.u.error.name, f.u.error.text);
            } else if (f.type == ZN_T_DELIVER) {
                const zn_envelope *env = &f.u.deliver.env;
                uint32_t idx = b_get32(env->h.msgid + 12);
                if (f.u.deliver.kind != ZN_ITEM_ENVELOPE) {
                    bc_fail("%s: the broker delivered a notice: %s", w->self_id, f.u.deliver.notice.type);
                } else if (b_get32(env->h.msgid + 8) != (uint32_t)w->pair || idx >= (uint32_t)o->count ||
                           strcmp(env->h.sender, w->peer_id) != 0 || strcmp(env->h.recipient, w->self_id) != 0) {
                    bc_fail("%s: delivered an envelope that was not sent to it (from %s to %s)", w->self_id,
                           env->h.sender, env->h.recipient);
                } else {
                    if (recv_ns[idx] == 0) {
                        recv_ns[idx] = t;
                        got++;
                        atomic_store(&w->done, got);
                        w->last_ns = t;
                    } else {
                        w->dups++;
                    }
                    if (!sample && (sample = malloc(zmq_msg_size(&m))) != NULL) {
                        memcpy(sample, zmq_msg_data(&m), zmq_msg_size(&m));
                        sample_len = zmq_msg_size(&m);
                    }
                    memcpy(ids[nids++], f.u.deliver.item_id, ZN_ID_LEN);
                    if (nids >= batch)
                        (void)b_send_ack(w, s, &sb, ids, &nids, &corr);
                }
            }
            zn_frame_free(&f);
            zmq_msg_close(&m);
            if (bc_failed())
                break;
        }
        (void)b_send_ack(w, s, &sb, ids, &nids, &corr);
    }
    if (bc_failed())
        goto out;
    /* The broker handles one connection's frames in order and answers after its commit: once
     * CONVENANT comes back, every ACK above is in the store. */
    msgpack_sbuffer_clear(&sb);
    zn_frame_convenant_get(&sb, 2);
    if (b_send_sb(s, &sb) != 0) {
        bc_fail("%s: cannot send CONVENANT_GET: %s", w->self_id, zmq_strerror(errno));
        goto out;
    }
    zmq_msg_t m;
    zn_frame f;
    if (b_await(w, s, 2, &m, &f, B_SYNC_MS, "the final acknowledgements") == 0) {
        zn_frame_free(&f);
        zmq_msg_close(&m);
    }
    if (!sample)
        bc_fail("%s: nothing was delivered", w->self_id);
    else
        b_check_sample(w, sample, sample_len);
out:
    free(sample), free(ids);
    msgpack_sbuffer_destroy(&sb);
    if (s)
        zmq_close(s);
    return NULL;
}

/* ---- (a) broker: set-up ---------------------------------------------------------------------- */

/* Keys and a signed convenant: partners sender-0..N-1 and receiver-0..N-1, partner role in
 * network "bench", queue quota large enough for the whole run. */
static int b_setup_convenant(const b_opts *o, int port, zn_seckeys *senders, zn_seckeys *receivers,
                             char *endpoint, size_t cap, uint64_t *version)
{
    zn_seckeys auth, broker;
    zn_convenant *c = NULL;
    zn_netkey nk;
    zn_err e;
    char path[PATH_MAX + 64];
    int rc = -1;

    zn_err_clear(&e);
    if (zn_keys_generate(ZN_KIND_AUTHORITY, &auth) != 0 || zn_keys_generate(ZN_KIND_BROKER, &broker) != 0) {
        fprintf(stderr, "zn_bench: cannot generate keys\n");
        return -1;
    }
    for (int i = 0; i < o->pairs; i++)
        if (zn_keys_generate(ZN_KIND_PARTNER, &senders[i]) != 0 ||
            zn_keys_generate(ZN_KIND_PARTNER, &receivers[i]) != 0) {
            fprintf(stderr, "zn_bench: cannot generate partner keys\n");
            goto out;
        }
    snprintf(path, sizeof path, "%s/broker", g_tmpdir);
    if (zn_keys_write(path, &broker, &e) != 0) {
        fprintf(stderr, "zn_bench: cannot write the broker key: %s\n", e.text);
        goto out;
    }
    snprintf(endpoint, cap, "tcp://127.0.0.1:%d", port);

    c = zn_convenant_new();
    if (!c || !(c->partners = calloc((size_t)o->pairs * 2, sizeof *c->partners))) {
        fprintf(stderr, "zn_bench: out of memory\n");
        goto out;
    }
    uint64_t now = bc_wall_ms() / 1000u;
    snprintf(c->name, sizeof c->name, "zorgnet benchmark");
    c->valid_from = now - 3600;
    c->valid_until = now + 7 * 86400;
    memcpy(c->authority, auth.pub.sign, ZN_KEY_LEN);
    memcpy(c->broker_transport, broker.pub.transport, ZN_KEY_LEN);
    memcpy(c->broker_sign, broker.pub.sign, ZN_KEY_LEN);
    snprintf(c->endpoint, sizeof c->endpoint, "%s", endpoint);
    c->n_networks = 1;
    snprintf(c->networks[0], ZN_IDENT_MAX, "%s", B_NETWORK);
    c->n_partners = (size_t)o->pairs * 2;
    for (int i = 0; i < o->pairs * 2; i++) {
        zn_partner *p = &c->partners[i];
        bool snd = i < o->pairs;
        int k = snd ? i : i - o->pairs;
        snprintf(p->id, sizeof p->id, "%s-%d", snd ? "sender" : "receiver", k);
        snprintf(p->name, sizeof p->name, "Benchmark %s %d", snd ? "sender" : "receiver", k);
        snprintf(p->category, sizeof p->category, "bench");
        p->keys = snd ? senders[k].pub : receivers[k].pub;
        p->roles[0] = ZN_ROLE_PARTNER;
    }
    uint64_t quota = (uint64_t)o->count * 2 + 1000;
    c->policy.queue_quota = quota > 1000000 ? 1000000 : quota;
    nk.epoch = 1;
    randombytes_buf(nk.key, sizeof nk.key);
    snprintf(path, sizeof path, "%s/convenant.zn", g_tmpdir);
    if (zn_convenant_seal_netkey(c, &nk, &e) != 0 || zn_convenant_sign(c, &auth, &e) != 0 ||
        zn_convenant_save(path, c, &e) != 0) {
        fprintf(stderr, "zn_bench: cannot make the convenant: %s\n", e.text);
        goto out;
    }
    *version = c->version;
    rc = 0;
out:
    sodium_memzero(&nk, sizeof nk);
    zn_convenant_destroy(&c);
    zn_seckeys_wipe(&auth);
    zn_seckeys_wipe(&broker);
    return rc;
}

static pid_t b_start_broker(const b_opts *o, const char *endpoint)
{
    char conv[PATH_MAX + 64], key[PATH_MAX + 64], db[PATH_MAX + 64], log[PATH_MAX + 64];
    snprintf(conv, sizeof conv, "%s/convenant.zn", g_tmpdir);
    snprintf(key, sizeof key, "%s/broker.key", g_tmpdir);
    snprintf(db, sizeof db, "%s/broker.db", g_tmpdir);
    snprintf(log, sizeof log, "%s/broker.log", g_tmpdir);
    if (access(o->zorgnetd, X_OK) != 0) {
        fprintf(stderr, "zn_bench: cannot run %s (%s); build zorgnetd or pass --zorgnetd PATH\n", o->zorgnetd,
                strerror(errno));
        return -1;
    }
    char *argv[B_MAX_WRAP + 12];
    int n = 0;
    for (int i = 0; o->wrap[i]; i++)
        argv[n++] = o->wrap[i];
    argv[n++] = (char *)o->zorgnetd;
    argv[n++] = "--convenant", argv[n++] = conv;
    argv[n++] = "--key", argv[n++] = key;
    argv[n++] = "--db", argv[n++] = db;
    argv[n++] = "--listen", argv[n++] = (char *)endpoint;
    argv[n] = NULL;
    pid_t pid = bc_spawn("zn_bench", argv, log, false, true, "ZN_BENCH_AUDIT_OFF", o->audit_off ? "1" : NULL);
    if (pid < 0)
        return -1;
    atomic_store(&g_broker_pid, (int)pid);
    return pid;
}

static void b_broker_log_tail(void)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/broker.log", g_tmpdir);
    bc_log_tail("zn_bench", path);
}

/* SIGTERM, then wait (SIGKILL after 10 s). 0 when it exited with status 0. */
static int b_stop_broker(pid_t pid) { return bc_stop_broker(pid, 10000, &g_broker_pid); }

/* After the broker stopped: every message id recorded, nothing left in the queue. */
/* After a run: nothing waits in the queue, every message id is recorded, and with the audit log
 * on every accepted message has its entry and the last signed head covers the whole log. */
static int b_check_store(int64_t want_msgids, bool audit)
{
    char path[PATH_MAX + 64];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t queued = -1, msgids = -1, sends = -1, entries = -1, head = -1;
    snprintf(path, sizeof path, "%s/broker.db", g_tmpdir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM queue), (SELECT count(*) FROM msgids),"
                               " (SELECT count(*) FROM msgids WHERE audit_idx IS NOT NULL),"
                               " (SELECT count(*) FROM audit), (SELECT coalesce(max(size), 0) FROM audit_head)",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        queued = sqlite3_column_int64(st, 0);
        msgids = sqlite3_column_int64(st, 1);
        sends = sqlite3_column_int64(st, 2);
        entries = sqlite3_column_int64(st, 3);
        head = sqlite3_column_int64(st, 4);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (queued < 0) {
        bc_fail("the broker's database cannot be read after the run");
        return -1;
    }
    if (msgids != want_msgids || queued != 0) {
        bc_fail("the broker's database holds %" PRId64 " message ids (want %" PRId64 ") and %" PRId64
               " unacknowledged items (want 0)",
               msgids, want_msgids, queued);
        return -1;
    }
    if (audit && (sends != want_msgids || entries <= want_msgids || head != entries)) {
        bc_fail("the audit log holds %" PRId64 " entries for %" PRId64 " accepted messages, and its last signed "
               "head covers %" PRId64 " entries", entries, sends, head);
        return -1;
    }
    if (!audit && entries != 0) {
        bc_fail("the broker wrote %" PRId64 " audit entries with the log switched off (is --zorgnetd "
               "zorgnetd-bench?)", entries);
        return -1;
    }
    return 0;
}

/* ---- (b) raw CurveZMQ relay -------------------------------------------------------------------- */

typedef struct {
    b_run *R;
    uint8_t sk[ZN_KEY_LEN];
    atomic_int ready; /* 1 bound, -1 failed */
    atomic_int stop;
    char endpoint[128];
} b_relay;

static void *b_relay_thread(void *arg)
{
    b_relay *rl = arg;
    void *ctx = zmq_ctx_new();
    void *r = ctx ? zmq_socket(ctx, ZMQ_ROUTER) : NULL;
    int one = 1, zero = 0, linger = 0;
    size_t len = sizeof rl->endpoint;
    if (!r || zmq_setsockopt(r, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(r, ZMQ_CURVE_SECRETKEY, rl->sk, ZN_KEY_LEN) != 0 ||
        zmq_setsockopt(r, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(r, ZMQ_SNDHWM, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(r, ZMQ_RCVHWM, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(r, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(r, "tcp://127.0.0.1:*") != 0 || zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, rl->endpoint, &len) != 0) {
        bc_fail("relay: cannot bind a CurveZMQ ROUTER: %s", zmq_strerror(errno));
        atomic_store(&rl->ready, -1);
        goto out;
    }
    atomic_store(&rl->ready, 1);
    while (!atomic_load(&rl->stop) && !bc_failed()) {
        zmq_pollitem_t it = {r, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        for (;;) {
            zmq_msg_t rid, body;
            zmq_msg_init(&rid);
            if (zmq_msg_recv(&rid, r, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&rid);
                break;
            }
            zmq_msg_init(&body);
            if (zmq_msg_recv(&body, r, 0) < 0) {
                zmq_msg_close(&rid), zmq_msg_close(&body);
                break;
            }
            const char *id = zmq_msg_data(&rid);
            size_t idn = zmq_msg_size(&rid);
            char to[16];
            int rc = 0;
            if (idn >= 2 && id[0] == 's' && zmq_msg_size(&body) >= 4) {
                uint8_t ack[4];
                memcpy(ack, zmq_msg_data(&body), 4);
                int n = snprintf(to, sizeof to, "r%.*s", (int)(idn - 1), id + 1);
                if (zmq_send(r, to, (size_t)n, ZMQ_SNDMORE) < 0 || zmq_msg_send(&body, r, 0) < 0 ||
                    zmq_send(r, id, idn, ZMQ_SNDMORE) < 0 || zmq_send(r, ack, sizeof ack, 0) < 0)
                    rc = -1;
            } else if (idn >= 2 && (id[0] == 's' || id[0] == 'r')) {
                /* a ping: the peer is connected and known by its routing id */
                if (zmq_send(r, id, idn, ZMQ_SNDMORE) < 0 || zmq_send(r, "k", 1, 0) < 0)
                    rc = -1;
            }
            if (rc != 0)
                bc_fail("relay: forwarding failed: %s", zmq_strerror(errno));
            zmq_msg_close(&rid), zmq_msg_close(&body);
            if (rc != 0)
                break;
        }
    }
out:
    if (r)
        zmq_close(r);
    if (ctx)
        zmq_ctx_term(ctx);
    return NULL;
}

static int b_raw_ping(b_worker *w, void *s)
{
    zmq_msg_t m;
    if (zmq_send(s, "p", 1, 0) != 1) {
        bc_fail("raw %d: cannot send: %s", w->pair, zmq_strerror(errno));
        return -1;
    }
    zmq_msg_init(&m);
    if (b_recv(s, &m, B_READY_MS) != 0) {
        zmq_msg_close(&m);
        bc_fail("raw %d: the relay did not answer within %d ms", w->pair, B_READY_MS);
        return -1;
    }
    zmq_msg_close(&m);
    return 0;
}

static void *b_raw_sender(void *arg)
{
    b_worker *w = arg;
    b_run *R = w->R;
    const b_opts *o = R->o;
    size_t len = atomic_load(&R->frame_len);
    uint8_t *buf = malloc(len);
    uint8_t *acked = calloc((size_t)o->count, 1);
    uint64_t t0 = 0, *send_ns = R->send_ns + (size_t)w->pair * (size_t)o->count;
    char rid[16];
    snprintf(rid, sizeof rid, "s%d", w->pair);
    void *s = b_dealer(R->ctx, R->server_pk, w->pk, w->sk, rid, R->endpoint);
    if (!s || !buf || !acked) {
        bc_fail("raw sender %d: cannot open a CurveZMQ socket: %s", w->pair, zmq_strerror(errno));
        goto out;
    }
    randombytes_buf(buf, len);
    if (b_raw_ping(w, s) != 0 || bc_gate_wait(&R->gate, &t0) != 0)
        goto out;
    int next = 0, done = 0, inflight = 0;
    while (done < o->count && !bc_failed()) {
        while (next < o->count && inflight < o->inflight) {
            b_put32(buf, (uint32_t)next);
            send_ns[next] = bc_now_ns();
            if (zmq_send(s, buf, len, ZMQ_DONTWAIT) < 0) {
                if (errno == EAGAIN)
                    break;
                bc_fail("raw sender %d: send failed: %s", w->pair, zmq_strerror(errno));
                goto out;
            }
            next++, inflight++;
            atomic_store(&w->sent, next);
        }
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        for (;;) {
            uint8_t ack[8];
            int n = zmq_recv(s, ack, sizeof ack, ZMQ_DONTWAIT);
            if (n < 0)
                break;
            uint32_t idx = n == 4 ? b_get32(ack) : UINT32_MAX;
            if (idx >= (uint32_t)next || acked[idx]) {
                bc_fail("raw sender %d: unexpected acknowledgement", w->pair);
                break;
            }
            acked[idx] = 1;
            done++, inflight--;
            atomic_store(&w->done, done);
            w->last_ns = bc_now_ns();
        }
    }
out:
    free(buf), free(acked);
    if (s)
        zmq_close(s);
    return NULL;
}

static void *b_raw_receiver(void *arg)
{
    b_worker *w = arg;
    b_run *R = w->R;
    const b_opts *o = R->o;
    size_t len = atomic_load(&R->frame_len);
    uint64_t t0 = 0, *recv_ns = R->recv_ns + (size_t)w->pair * (size_t)o->count;
    char rid[16];
    int got = 0;
    snprintf(rid, sizeof rid, "r%d", w->pair);
    void *s = b_dealer(R->ctx, R->server_pk, w->pk, w->sk, rid, R->endpoint);
    if (!s) {
        bc_fail("raw receiver %d: cannot open a CurveZMQ socket: %s", w->pair, zmq_strerror(errno));
        goto out;
    }
    if (b_raw_ping(w, s) != 0 || bc_gate_wait(&R->gate, &t0) != 0)
        goto out;
    while (got < o->count && !bc_failed()) {
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        for (;;) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            uint64_t t = bc_now_ns();
            uint32_t idx = zmq_msg_size(&m) == len ? b_get32(zmq_msg_data(&m)) : UINT32_MAX;
            zmq_msg_close(&m);
            if (idx >= (uint32_t)o->count) {
                bc_fail("raw receiver %d: a message of the wrong size or index arrived", w->pair);
                break;
            }
            if (recv_ns[idx] == 0) {
                recv_ns[idx] = t;
                got++;
                atomic_store(&w->done, got);
                w->last_ns = t;
            } else {
                w->dups++;
            }
        }
    }
out:
    if (s)
        zmq_close(s);
    return NULL;
}

/* ---- results ------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    uint64_t messages;
    double seconds, rate, p50_ms, p99_ms;
    double stored_rate; /* broker: ACCEPTED per second; raw: relay acknowledgements per second */
    uint64_t dups;
    double broker_cpu_s, self_cpu_s, broker_write_b;
} b_result;

static int b_stats(b_run *R, b_worker *snd, b_worker *rcv, uint64_t t0, b_result *out)
{
    const b_opts *o = R->o;
    size_t total = (size_t)o->pairs * (size_t)o->count;
    uint64_t *lat = malloc(total * sizeof *lat);
    uint64_t last = t0, last_acc = t0;
    size_t n = 0, lost = 0;
    if (!lat) {
        bc_fail("out of memory for the latency table");
        return -1;
    }
    for (size_t i = 0; i < total; i++) {
        if (R->recv_ns[i] == 0 || R->send_ns[i] == 0) {
            lost++;
            continue;
        }
        lat[n++] = R->recv_ns[i] >= R->send_ns[i] ? R->recv_ns[i] - R->send_ns[i] : 0;
    }
    out->dups = 0;
    for (int p = 0; p < o->pairs; p++) {
        if (rcv[p].last_ns > last)
            last = rcv[p].last_ns;
        if (snd[p].last_ns > last_acc)
            last_acc = snd[p].last_ns;
        out->dups += rcv[p].dups;
    }
    if (lost) {
        bc_fail("%s: %zu of %zu messages were not delivered", out->name, lost, total);
        free(lat);
        return -1;
    }
    qsort(lat, n, sizeof *lat, bc_cmp_u64);
    out->messages = n;
    out->seconds = (double)(last - t0) / 1e9;
    out->rate = out->seconds > 0 ? (double)n / out->seconds : 0;
    out->stored_rate = last_acc > t0 ? (double)n / ((double)(last_acc - t0) / 1e9) : 0;
    out->p50_ms = n ? (double)lat[(n - 1) * 50 / 100] / 1e6 : 0;
    out->p99_ms = n ? (double)lat[(n - 1) * 99 / 100] / 1e6 : 0;
    out->broker_cpu_s = R->broker_cpu_s;
    out->self_cpu_s = R->self_cpu_s;
    out->broker_write_b = R->broker_write_b;
    free(lat);
    return 0;
}

/* CPU seconds (user + system) of a process: this one (pid 0) or a child. */
static double b_cpu_s(pid_t pid)
{
    if (pid == 0) {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) != 0)
            return 0;
        return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
               (double)ru.ru_stime.tv_usec / 1e6;
    }
    return bc_proc_cpu_s(pid);
}

/* write_bytes of a process (what it dirtied for storage), or -1 when not available. */
static double b_write_bytes(pid_t pid)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
    FILE *f = fopen(path, "r");
    double v = -1;
    unsigned long long x;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "write_bytes: %llu", &x) == 1)
            v = (double)x;
    fclose(f);
    return v;
}

static int b_run_threads(b_run *R, b_worker *snd, b_worker *rcv, void *(*sfn)(void *), void *(*rfn)(void *),
                         uint64_t *t0)
{
    const b_opts *o = R->o;
    pthread_t *th = calloc((size_t)o->pairs * 2, sizeof *th);
    int started = 0;
    if (!th) {
        bc_fail("out of memory");
        return -1;
    }
    for (int i = 0; i < o->pairs; i++)
        snd[i].is_sender = true;
    atomic_store(&g_nworkers, o->pairs);
    atomic_store(&g_workers, snd); /* snd and rcv are one array of 2 * pairs */
    for (int i = 0; i < o->pairs; i++) {
        if (pthread_create(&th[started], NULL, rfn, &rcv[i]) != 0) {
            bc_fail("cannot start a thread");
            break;
        }
        started++;
        if (pthread_create(&th[started], NULL, sfn, &snd[i]) != 0) {
            bc_fail("cannot start a thread");
            break;
        }
        started++;
    }
    int rc = b_gate_open(&R->gate, o->pairs * 2);
    *t0 = R->gate.t0;
    double bcpu = R->broker_pid > 0 ? b_cpu_s(R->broker_pid) : 0, scpu = b_cpu_s(0);
    double bwr = R->broker_pid > 0 ? b_write_bytes(R->broker_pid) : -1;
    if (rc == 0) {
        fprintf(stderr, "zn_bench: %s: clock started\n", atomic_load(&g_phase));
        atomic_store(&g_phase, R->broker_pid > 0 ? "measuring the broker" : "measuring the raw relay");
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    atomic_store(&g_workers, NULL);
    R->broker_cpu_s = R->broker_pid > 0 ? b_cpu_s(R->broker_pid) - bcpu : 0;
    R->self_cpu_s = b_cpu_s(0) - scpu;
    double bwr1 = R->broker_pid > 0 ? b_write_bytes(R->broker_pid) : -1;
    R->broker_write_b = bwr >= 0 && bwr1 >= bwr ? bwr1 - bwr : -1;
    free(th);
    return rc == 0 && !bc_failed() ? 0 : -1;
}

static int b_run_init(b_run *R, const b_opts *o)
{
    size_t total = (size_t)o->pairs * (size_t)o->count;
    memset(R, 0, sizeof *R);
    R->o = o;
    pthread_mutex_init(&R->gate.mu, NULL);
    pthread_cond_init(&R->gate.cv, NULL);
    R->send_ns = calloc(total, sizeof *R->send_ns);
    R->recv_ns = calloc(total, sizeof *R->recv_ns);
    R->ctx = zmq_ctx_new();
    if (!R->send_ns || !R->recv_ns || !R->ctx || zmq_ctx_set(R->ctx, ZMQ_IO_THREADS, o->io_threads) != 0) {
        fprintf(stderr, "zn_bench: out of memory\n");
        return -1;
    }
    return 0;
}

static void b_run_free(b_run *R)
{
    if (R->ctx)
        zmq_ctx_term(R->ctx);
    free(R->send_ns), free(R->recv_ns);
    pthread_mutex_destroy(&R->gate.mu);
    pthread_cond_destroy(&R->gate.cv);
}

/* (a) */
static int b_bench_broker(const b_opts *o, b_result *res, size_t *frame_len)
{
    b_run R;
    zn_seckeys *sk = calloc((size_t)o->pairs * 2, sizeof *sk);
    b_worker *w = calloc((size_t)o->pairs * 2, sizeof *w);
    pid_t pid = -1;
    uint64_t t0 = 0;
    int rc = -1;
    bc_monitor mon = {.pid = -1, .running = &g_broker_pid};
    pthread_t mon_th;
    bool mon_started = false;

    if (b_run_init(&R, o) != 0 || !sk || !w)
        goto out;
    atomic_store(&g_phase, "preparing keys and the convenant");
    int port = bc_free_port();
    if (port <= 0) {
        fprintf(stderr, "zn_bench: no free loopback port\n");
        goto out;
    }
    if (b_setup_convenant(o, port, sk, sk + o->pairs, R.endpoint, sizeof R.endpoint, &R.convenant_version) != 0)
        goto out;
    {
        zn_pubkeys bpub;
        zn_err e;
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/broker.pub", g_tmpdir);
        if (zn_keys_load_public(path, ZN_KIND_BROKER, &bpub, &e) != 0) {
            fprintf(stderr, "zn_bench: %s\n", e.text);
            goto out;
        }
        memcpy(R.server_pk, bpub.transport, ZN_KEY_LEN);
    }
    atomic_store(&g_phase, "starting the broker");
    pid = b_start_broker(o, R.endpoint);
    if (pid < 0)
        goto out;
    R.broker_pid = pid;
    mon.pid = pid;
    if (pthread_create(&mon_th, NULL, bc_monitor_thread, &mon) != 0) {
        bc_fail("cannot start a thread");
        goto out;
    }
    mon_started = true;
    for (int i = 0; i < o->pairs; i++) {
        b_worker *s = &w[i], *r = &w[o->pairs + i];
        s->R = r->R = &R;
        s->pair = r->pair = i;
        s->self = &sk[i], s->peer = &sk[o->pairs + i].pub;
        r->self = &sk[o->pairs + i], r->peer = &sk[i].pub;
        snprintf(s->self_id, sizeof s->self_id, "sender-%d", i);
        snprintf(s->peer_id, sizeof s->peer_id, "receiver-%d", i);
        snprintf(r->self_id, sizeof r->self_id, "receiver-%d", i);
        snprintf(r->peer_id, sizeof r->peer_id, "sender-%d", i);
    }
    atomic_store(&g_phase, "connecting, creating cases and sealing envelopes");
    fprintf(stderr, "zn_bench: broker pid %d on %s; sealing %d x %d envelopes\n", (int)pid, R.endpoint, o->pairs,
            o->count);
    /* the threads reach the gate only when sealing is done; the clock starts there */
    if (b_run_threads(&R, w, w + o->pairs, b_broker_sender, b_broker_receiver, &t0) != 0)
        goto out;
    res->name = "broker";
    if (b_stats(&R, w, w + o->pairs, t0, res) != 0)
        goto out;
    *frame_len = atomic_load(&R.frame_len);
    atomic_store(&g_phase, "stopping the broker");
    atomic_store(&mon.stop, 1);
    pthread_join(mon_th, NULL);
    mon_started = false;
    if (atomic_load(&g_broker_pid) != (int)pid) { /* the monitor saw it go */
        pid = -1;
        goto out;
    }
    if (b_stop_broker(pid) != 0) {
        pid = -1;
        bc_fail("the broker did not shut down cleanly");
        goto out;
    }
    pid = -1;
    if (b_check_store((int64_t)o->pairs * o->count, !o->audit_off) != 0)
        goto out;
    rc = 0;
out:
    if (mon_started) {
        atomic_store(&mon.stop, 1);
        pthread_join(mon_th, NULL);
    }
    if (pid > 0 && atomic_load(&g_broker_pid) == (int)pid)
        (void)b_stop_broker(pid);
    if (rc != 0 && g_tmpdir[0])
        b_broker_log_tail();
    if (sk)
        for (int i = 0; i < o->pairs * 2; i++)
            zn_seckeys_wipe(&sk[i]);
    free(sk), free(w);
    b_run_free(&R);
    return rc;
}

/* (b) */
static int b_bench_raw(const b_opts *o, size_t frame_len, b_result *res)
{
    b_run R;
    b_relay rl;
    b_worker *w = calloc((size_t)o->pairs * 2, sizeof *w);
    pthread_t rth;
    bool relay_started = false;
    uint64_t t0 = 0;
    int rc = -1;

    memset(&rl, 0, sizeof rl);
    if (b_run_init(&R, o) != 0 || !w)
        goto out;
    atomic_store(&R.frame_len, frame_len);
    atomic_store(&g_phase, "starting the raw relay");
    rl.R = &R;
    if (crypto_box_keypair(R.server_pk, rl.sk) != 0 || pthread_create(&rth, NULL, b_relay_thread, &rl) != 0) {
        bc_fail("cannot start the relay");
        goto out;
    }
    relay_started = true;
    while (atomic_load(&rl.ready) == 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&rl.ready) < 0)
        goto out;
    snprintf(R.endpoint, sizeof R.endpoint, "%s", rl.endpoint);
    for (int i = 0; i < o->pairs * 2; i++) {
        w[i].R = &R;
        w[i].pair = i % o->pairs;
        if (crypto_box_keypair(w[i].pk, w[i].sk) != 0) {
            bc_fail("cannot generate keys");
            goto out;
        }
    }
    atomic_store(&g_phase, "running the raw relay");
    if (b_run_threads(&R, w, w + o->pairs, b_raw_sender, b_raw_receiver, &t0) != 0)
        goto out;
    res->name = "raw";
    if (b_stats(&R, w, w + o->pairs, t0, res) != 0)
        goto out;
    rc = 0;
out:
    if (relay_started) {
        atomic_store(&rl.stop, 1);
        pthread_join(rth, NULL);
    }
    sodium_memzero(rl.sk, sizeof rl.sk);
    free(w);
    b_run_free(&R);
    return rc;
}

/* "N CPUs, MODEL, load L" from /proc (Linux); empty elsewhere. */
static void b_machine(char *out, size_t cap, double *load)
{
    char line[512], model[256] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!strncmp(line, "model name", 10) && colon) {
            snprintf(model, sizeof model, "%s", colon + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    }
    if (f)
        fclose(f);
    *load = -1;
    f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", load) != 1)
            *load = -1;
        fclose(f);
    }
    snprintf(out, cap, "%ld CPUs, %s", sysconf(_SC_NPROCESSORS_ONLN), model);
}

/* The mean of two runs of the same configuration. */
static void b_mean(b_result *out, const b_result *a, const b_result *b)
{
    *out = *a;
    out->messages = a->messages + b->messages;
    out->seconds = a->seconds + b->seconds;
    out->rate = (a->rate + b->rate) / 2;
    out->stored_rate = (a->stored_rate + b->stored_rate) / 2;
    out->p50_ms = (a->p50_ms + b->p50_ms) / 2;
    out->p99_ms = (a->p99_ms + b->p99_ms) / 2;
    out->broker_cpu_s = a->broker_cpu_s + b->broker_cpu_s;
    out->self_cpu_s = a->self_cpu_s + b->self_cpu_s;
    out->broker_write_b = a->broker_write_b >= 0 && b->broker_write_b >= 0 ? a->broker_write_b + b->broker_write_b : -1;
    out->dups = a->dups + b->dups;
}

static void b_print_row(const b_result *r)
{
    printf("%-8s %10" PRIu64 " %9.3f %11.1f %9.2f %9.2f\n", r->name, r->messages, r->seconds, r->rate, r->p50_ms,
           r->p99_ms);
}

int main(int argc, char **argv)
{
    b_opts o;
    if (b_parse(argc, argv, &o) != 0) {
        b_usage(stderr);
        return 2;
    }
    size_t bucket = zn_pad_bucket(o.size);
    if ((unsigned long long)o.pairs * (unsigned long long)o.count * (bucket + 1024) > B_MAX_PRESEALED) {
        fprintf(stderr, "zn_bench: %d x %d sealed envelopes of %zu bytes would not fit in memory; lower --count\n",
                o.pairs, o.count, bucket);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "zn_bench: libsodium could not start\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (b_fresh_tmpdir() != 0)
        return 1;
    pthread_t wd;
    if (pthread_create(&wd, NULL, b_watchdog, &o.timeout_s) != 0 || pthread_detach(wd) != 0) {
        fprintf(stderr, "zn_bench: cannot start the watchdog\n");
        b_rmtree();
        return 1;
    }

    b_result broker = {0}, noaudit = {0}, raw = {0};
    size_t frame_len = 0;
    char machine[320];
    double load0 = -1, load1 = -1;
    b_machine(machine, sizeof machine, &load0);
    /* The broker with and without its audit log, twice each, alternating (on, off, off, on), each
     * run on a fresh database; each row below is the mean of its two runs, so a drift of the
     * machine during the runs weighs on both alike. */
    b_result runs[4] = {{0}};
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++) {
        o.audit_off = i == 1 || i == 2;
        rc = (i == 0 || b_fresh_tmpdir() == 0) ? b_bench_broker(&o, &runs[i], &frame_len) : -1;
        if (rc == 0)
            fprintf(stderr, "zn_bench: broker run %d (audit log %s): %.1f msg/s, %.1f us broker CPU per message\n",
                    i + 1, o.audit_off ? "off" : "on", runs[i].rate,
                    runs[i].messages ? runs[i].broker_cpu_s * 1e6 / (double)runs[i].messages : 0);
    }
    if (rc == 0) {
        b_mean(&broker, &runs[0], &runs[3]);
        b_mean(&noaudit, &runs[1], &runs[2]);
        broker.name = "broker", noaudit.name = "no-audit";
    }
    if (rc == 0)
        rc = b_bench_raw(&o, frame_len, &raw);
    b_rmtree();
    free(o.wrap_buf);
    b_machine(machine, sizeof machine, &load1);
    if (rc != 0 || bc_failed()) {
        fprintf(stderr, "zn_bench: FAILED: %s\n", bc_fail_msg()[0] ? bc_fail_msg() : "see the messages above");
        return 1;
    }

    printf("zn_bench: %d pairs x %d messages, content %zu bytes (padded to %zu, SEND frame %zu bytes), "
           "window %d, in flight %d\n",
           o.pairs, o.count, o.size, bucket, frame_len, o.window, o.inflight);
    printf("machine: %s; load average %.2f before, %.2f after\n", machine, load0, load1);
    printf("%-8s %10s %9s %11s %9s %9s\n", "run", "messages", "seconds", "msg/s", "p50 ms", "p99 ms");
    b_print_row(&broker);
    b_print_row(&noaudit);
    b_print_row(&raw);
    printf("broker stored (ACCEPTED) %.1f msg/s; raw relay acknowledged %.1f msg/s\n", broker.stored_rate,
           raw.stored_rate);
    double nb = broker.messages ? (double)broker.messages : 1, nr = raw.messages ? (double)raw.messages : 1;
    printf("CPU per message: broker process %.1f us (%.0f%% of one core); bench clients %.1f us; "
           "raw clients + relay %.1f us\n",
           broker.broker_cpu_s * 1e6 / nb, broker.seconds > 0 ? 100.0 * broker.broker_cpu_s / broker.seconds : 0,
           broker.self_cpu_s * 1e6 / nb, raw.self_cpu_s * 1e6 / nr);
    if (broker.broker_write_b >= 0 && noaudit.broker_write_b >= 0)
        printf("broker storage writes: %.1f KiB per message (without the audit log: %.1f KiB)\n",
               broker.broker_write_b / 1024.0 / nb,
               noaudit.broker_write_b / 1024.0 / (noaudit.messages ? (double)noaudit.messages : 1));
    if (broker.dups || raw.dups)
        printf("duplicate deliveries: broker %" PRIu64 ", raw %" PRIu64 "\n", broker.dups, raw.dups);
    double ratio = raw.rate > 0 ? broker.rate / raw.rate : 0, ratio_off = raw.rate > 0 ? noaudit.rate / raw.rate : 0;
    ratio = (double)(long long)(ratio * 100.0) / 100.0; /* truncated, so the verdict matches the digits */
    ratio_off = (double)(long long)(ratio_off * 100.0) / 100.0;
    double cost = noaudit.rate > 0 ? broker.rate / noaudit.rate : 0;
    cost = (double)(long long)(cost * 100.0) / 100.0;
    printf("broker without its audit log: %.1f us CPU per message\n",
           noaudit.messages ? noaudit.broker_cpu_s * 1e6 / (double)noaudit.messages : 0);
    printf("ratio broker/raw throughput: %.2f (without the audit log: %.2f)\n", ratio, ratio_off);
    printf("target >= 0.25: %s\n", ratio >= 0.25 ? "met" : "NOT met");
    printf("audit log: ratio with / without = %.2f; target >= 0.90: %s\n", cost, cost >= 0.90 ? "met" : "NOT met");
    return 0;
}
