/* zn_bench_signals — signals with many active ones (issue "Signals", docs/PERFORMANCE.md): how
 * fast signals go in, how long the match look-up takes, and that memory stays at sqlite's page
 * cache whatever the number of signals; first in the store, then through the real broker.
 *
 * Store phase (--phase store). In a fresh temporary directory it opens a store (zn_store_open, as
 * zorgnetd does) and fills it with N active signals (default 1,000,000), B_FILL_BATCH per
 * transaction. Each signal has a person pseudonym and two related ones (33 bytes, epoch 1,
 * random); about one signal in 1000 shares a pseudonym with another partner's signal (half on the
 * person, half in the family), so the store holds matches. Partners, handlers and networks rotate
 * over a few dozen names. It measures at two sizes in the same run, N/10 and N:
 *   signals-fill      signals inserted per second (durable commits of B_FILL_BATCH)
 *   signals-lookup    B_LOOKUPS calls of zn_store_signal_matches for a fresh signal of another
 *                     partner with 3 pseudonyms, each taken with probability 1/2 from an
 *                     existing signal (else new): mean, p50, p99, p99.9 and max in ms
 *   signals-memory    VmRSS and VmHWM of this process (/proc/self/status) after the fill and
 *                     after the look-ups, sqlite's own heap (in use, peak) and the page cache the
 *                     store asks for (PRAGMA cache_size)
 * then, at N, registrations as the broker makes them (find, put, match look-up, a match row per
 * match, a rate event) with durable commits at batch sizes 1, 100 and 512 (signals-register),
 * and the ratios of the two sizes (signals-growth).
 *
 * Broker phase (--phase broker). The real zorgnetd (fork/exec, CurveZMQ on a free loopback port,
 * its database as it configures it: WAL, synchronous=FULL) on two databases in turn: an empty one
 * and a copy of one already holding N signals (the store phase's database right after its fill
 * to N; with --phase broker alone, filled the same way). Each gets fresh keys and a signed
 * convenant: three networks, K x P partners per depth with the partner role in all three, one
 * coordinator, signal_rate_day and signal_rate_handler_day at their maximum (10000),
 * request_window_s 3600, and a decision rule per network. For each pipelining depth D the broker
 * is started on that database and K client threads send C signed "signal-add" requests each,
 * keeping D waiting for their RESULT (the broker answers after the commit: a RESULT means
 * durable). A thread holds P DEALER connections, one per partner with that partner's CURVE keys
 * and HELLO with window 0, and sends its registrations through them in turn. Requests are built
 * and signed before the clock starts. One registration in ten shares a pseudonym with an earlier
 * registration of the next thread (half the person, half a relative), so matches, notices and
 * match rows are made; the rest are new persons. Each depth uses its own partners, at most 10000
 * registrations each, so the rate limits never refuse one. Measured per depth (signals-broker):
 *   registrations/s   K*C / (last RESULT - start), the RESULT latency p50/p99/max
 *   frames per commit the broker's own count at SIGTERM ("shutdown frames=N commits=M")
 *   broker CPU        per registration (/proc/PID/stat), and the bytes it wrote (/proc/PID/io,
 *                     wchar: WAL frames and checkpoints)
 *   broker memory     VmRSS at ready and VmRSS, VmHWM after the workload (/proc/PID/status)
 * and afterwards the database is checked: every registration a new signal, every shared pseudonym
 * one match. The broker phase runs --runs times (which database goes first alternates);
 * signals-broker-memory puts the two databases' memory side by side with sqlite's page cache.
 *
 * Usage: see b_usage. Times are printed, never judged: the exit status is 0 unless something
 * fails (1: the store, the broker, an ERROR reply, a check), the usage is wrong (2), or the run
 * takes longer than --timeout (3). */
#include "bench_common.h"
#include "store.h"
#include "zn_convenant.h"
#include "zn_frame.h"
#include "zn_keys.h"
#include "zn_request.h"
#include "zn_signal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* ---- the temporary directory, failures ------------------------------------------------------ */

static char g_top[PATH_MAX]; /* every file of the run lives under it */
static bool g_keep;
static atomic_int g_broker_pid; /* the broker now running, 0 none */
static _Atomic(const char *) g_phase = "starting";

/* Stop a broker that is still running and remove the run's directory (unless --keep). */
static void b_cleanup(void)
{
    pid_t pid = (pid_t)atomic_exchange(&g_broker_pid, 0);
    if (pid > 0) {
        (void)kill(pid, SIGKILL);
        (void)waitpid(pid, NULL, 0);
    }
    if (g_top[0] && !g_keep)
        bc_rmtree(g_top);
    g_top[0] = '\0';
}

/* ---- store phase: signals, fill, look-ups, registrations ----------------------------------- */

#define B_FILL_BATCH 10000
#define B_LOOKUPS 20000
#define B_LOOKUPS_PER_TX 100
#define B_PARTNERS 40
#define B_HANDLERS 500
#define B_SHARE_EVERY 1000 /* one signal in this many shares a pseudonym with another */
#define B_T0 1767225600000ull /* 2026-01-01T00:00:00Z */
#define B_YEAR_MS (365ull * 24 * 3600 * 1000)
/* The page cache zn_store_open asks for: PRAGMA cache_size=-65536 in broker/store.c. */
#define B_STORE_CACHE_KIB 65536
#define B_MATCHES_KEPT 256 /* match rows a registration writes, at most (ZN_SIGNALS_CANDIDATES) */

static const char *const b_networks[] = {"0-12-binnenstad", "12-18", "18plus"};

static double b_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void b_die(const char *what)
{
    fprintf(stderr, "zn_bench_signals: %s failed\n", what);
    b_cleanup();
    exit(1);
}

static uint64_t b_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Bytes that look random, the same for the same (stream, n). */
static void b_bytes(uint8_t *out, size_t len, uint64_t stream, uint64_t n)
{
    uint64_t x = b_mix(stream * 0x100000001b3ull ^ b_mix(n));
    for (size_t i = 0; i < len; i += 8) {
        x = b_mix(x);
        size_t k = len - i < 8 ? len - i : 8;
        memcpy(out + i, &x, k);
    }
}

/* Pseudonym k (0 person, 1 and 2 related) of filled signal i; the sharing signals copy one of
 * an earlier signal's (another partner's, as partners rotate with i). */
static void b_psn(uint8_t out[ZN_PSN_LEN], uint64_t i, unsigned k)
{
    if (k == 0 && i % (2 * B_SHARE_EVERY) == B_SHARE_EVERY / 2)
        i -= 1; /* the same person as the signal before */
    else if (k == 2 && i % (2 * B_SHARE_EVERY) == 3 * B_SHARE_EVERY / 2) {
        i -= 7; /* a relative of the signal 7 before is a relative here too */
        k = 1;
    }
    out[0] = 1;
    b_bytes(out + 1, ZN_PSN_LEN - 1, 1 + k, i);
}

static void b_signal(zn_signal_rec *r, uint64_t i)
{
    memset(r, 0, sizeof *r);
    b_bytes(r->id, ZN_ID_LEN, 10, i);
    snprintf(r->partner, sizeof r->partner, "partner-%02u", (unsigned)(i % B_PARTNERS));
    snprintf(r->handler, sizeof r->handler, "handler-%03u", (unsigned)(i % B_HANDLERS));
    snprintf(r->network, sizeof r->network, "%s", b_networks[i % 3]);
    b_psn(r->person, i, 0);
    b_psn(r->related[0], i, 1);
    b_psn(r->related[1], i, 2);
    r->n_related = 2;
    snprintf(r->contact, sizeof r->contact, "tel 010-555 %04u", (unsigned)(i % 10000));
    r->created_ms = B_T0 + i;
    r->refreshed_ms = r->created_ms;
    r->expires_ms = B_T0 + 2 * B_YEAR_MS;
}

/* A fresh signal of a partner that has none: 3 pseudonyms, each with probability 1/2 one of
 * the n stored signals' (else new). */
static void b_asker(zn_signal_rec *r, uint64_t n, uint64_t seq, const char *partner)
{
    memset(r, 0, sizeof *r);
    b_bytes(r->id, ZN_ID_LEN, 20, seq);
    snprintf(r->partner, sizeof r->partner, "%s", partner);
    snprintf(r->handler, sizeof r->handler, "handler-%03u", (unsigned)(seq % B_HANDLERS));
    snprintf(r->network, sizeof r->network, "%s", b_networks[seq % 3]);
    r->n_related = 2;
    for (unsigned k = 0; k < 3; k++) {
        uint8_t *psn = k == 0 ? r->person : r->related[k - 1];
        uint64_t pick = b_mix(seq * 4 + k);
        if (pick & 1)
            b_psn(psn, (pick >> 8) % n, (unsigned)((pick >> 4) % 3));
        else {
            psn[0] = 1;
            b_bytes(psn + 1, ZN_PSN_LEN - 1, 30 + k, seq);
        }
    }
    r->created_ms = B_T0 + 1000000000ull + seq;
    r->refreshed_ms = r->created_ms;
    r->expires_ms = B_T0 + 2 * B_YEAR_MS;
}

typedef struct {
    uint64_t visited;
    zn_store *s;
    const zn_signal_rec *mine;
    uint64_t seq;
} b_ctx;

static int b_count(void *ctx, const zn_signal_rec *r, zn_link link, const uint8_t *shared)
{
    (void)r;
    (void)link;
    (void)shared;
    b_ctx *c = ctx;
    return ++c->visited >= B_MATCHES_KEPT;
}

/* As the broker does with a match: look for the pair, keep a row for it. */
static int b_keep_match(void *ctx, const zn_signal_rec *r, zn_link link, const uint8_t *shared)
{
    b_ctx *c = ctx;
    zn_match_rec m;
    memset(&m, 0, sizeof m);
    int found = zn_store_match_find(c->s, r->id, c->mine->id, &m);
    if (found < 0)
        b_die("match find");
    if (found == 1)
        return ++c->visited >= B_MATCHES_KEPT;
    b_bytes(m.id, ZN_ID_LEN, 40, c->seq * B_MATCHES_KEPT + c->visited);
    memcpy(m.a_signal, r->id, ZN_ID_LEN);
    memcpy(m.b_signal, c->mine->id, ZN_ID_LEN);
    snprintf(m.a_partner, sizeof m.a_partner, "%s", r->partner);
    snprintf(m.b_partner, sizeof m.b_partner, "%s", c->mine->partner);
    snprintf(m.a_network, sizeof m.a_network, "%s", r->network);
    snprintf(m.b_network, sizeof m.b_network, "%s", c->mine->network);
    memcpy(m.shared, shared, ZN_PSN_LEN);
    m.link = link;
    m.disclosure = ZN_DISCLOSE_COORDINATORS;
    m.created_ms = c->mine->created_ms;
    if (zn_store_match_put(c->s, &m) != 0)
        b_die("match put");
    return ++c->visited >= B_MATCHES_KEPT;
}

typedef struct {
    long rss_kb, hwm_kb;
} b_mem;

/* VmRSS and VmHWM of a process (0: this one); -1 where unknown. */
static b_mem b_memory(pid_t pid)
{
    b_mem m = {-1, -1};
    char path[64], line[256];
    if (pid > 0)
        snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    else
        snprintf(path, sizeof path, "/proc/self/status");
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            m.rss_kb = strtol(line + 6, NULL, 10);
        else if (strncmp(line, "VmHWM:", 6) == 0)
            m.hwm_kb = strtol(line + 6, NULL, 10);
    }
    if (f)
        fclose(f);
    return m;
}

static void b_print_memory(const char *stage, uint64_t n)
{
    b_mem m = b_memory(0);
    printf("signals-memory n=%" PRIu64 " after=%s vmrss_mb=%.1f vmhwm_mb=%.1f sqlite_heap_mb=%.1f"
           " sqlite_heap_peak_mb=%.1f store_cache_size_mb=%.1f\n",
           n, stage, m.rss_kb / 1024.0, m.hwm_kb / 1024.0, (double)sqlite3_memory_used() / 1048576.0,
           (double)sqlite3_memory_highwater(0) / 1048576.0, B_STORE_CACHE_KIB / 1024.0);
}

static double b_file_mb(const char *path, const char *suffix)
{
    char p[PATH_MAX + 256];
    struct stat st;
    snprintf(p, sizeof p, "%s%s", path, suffix);
    return stat(p, &st) == 0 ? (double)st.st_size / 1048576.0 : 0.0;
}

/* Fill signals [from, to) in transactions of B_FILL_BATCH. */
static void b_fill(zn_store *s, const char *db, uint64_t from, uint64_t to)
{
    zn_signal_rec r;
    double t0 = b_now();
    for (uint64_t i = from; i < to;) {
        if (zn_store_begin(s) != 0)
            b_die("begin");
        for (uint64_t end = i + B_FILL_BATCH < to ? i + B_FILL_BATCH : to; i < end; i++) {
            b_signal(&r, i);
            if (zn_store_signal_put(s, &r) != 0)
                b_die("signal put");
        }
        if (zn_store_commit(s) != 0)
            b_die("commit");
        /* Nearly every index page changes in a batch of random pseudonyms and ids: copy the WAL
         * into the database now (the cost counts in the rate), or it grows by the batch size
         * times the index size while the checkpoint thread never catches up. */
        if (zn_store_checkpoint_truncate(s) != 0)
            b_die("checkpoint");
    }
    double dt = b_now() - t0;
    printf("signals-fill n=%" PRIu64 " added=%" PRIu64 " batch=%d seconds=%.1f signals_per_s=%.0f"
           " db_mb=%.0f wal_mb=%.0f\n",
           to, to - from, B_FILL_BATCH, dt, (double)(to - from) / dt, b_file_mb(db, ""),
           b_file_mb(db, "-wal"));
    fflush(stdout);
}

static int b_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double mean, p50, p99, max;
} b_lat;

static double b_ms[B_LOOKUPS];

static b_lat b_lookups(zn_store *s, uint64_t n)
{
    zn_signal_rec mine;
    b_ctx c = {0};
    double sum = 0;
    uint64_t hits = 0;
    for (int i = 0; i < B_LOOKUPS; i++) {
        if (i % B_LOOKUPS_PER_TX == 0 && zn_store_begin(s) != 0)
            b_die("begin");
        b_asker(&mine, n, n * 7 + (uint64_t)i, "bench-asker");
        c.visited = 0;
        double t0 = b_now();
        int got = zn_store_signal_matches(s, &mine, B_T0 + B_YEAR_MS, b_count, &c);
        b_ms[i] = (b_now() - t0) * 1000.0;
        if (got < 0)
            b_die("signal matches");
        hits += (uint64_t)got;
        sum += b_ms[i];
        if ((i + 1) % B_LOOKUPS_PER_TX == 0 || i + 1 == B_LOOKUPS) {
            if (zn_store_commit(s) != 0)
                b_die("commit");
        }
    }
    qsort(b_ms, B_LOOKUPS, sizeof b_ms[0], b_cmp);
    b_lat l = {sum / B_LOOKUPS, b_ms[B_LOOKUPS / 2], b_ms[(B_LOOKUPS * 99) / 100], b_ms[B_LOOKUPS - 1]};
    printf("signals-lookup n=%" PRIu64 " lookups=%d psns=3 share_existing=0.5 matches_per_lookup=%.2f"
           " mean_ms=%.4f p50_ms=%.4f p99_ms=%.4f p999_ms=%.4f max_ms=%.3f\n",
           n, B_LOOKUPS, (double)hits / B_LOOKUPS, l.mean, l.p50, l.p99, b_ms[(B_LOOKUPS * 999) / 1000], l.max);
    fflush(stdout);
    return l;
}

/* Registrations as the broker makes them, `batch` per durable commit. */
static void b_register(zn_store *s, uint64_t n, int batch, int count, uint64_t seq0)
{
    zn_signal_rec mine, old;
    b_ctx c = {.s = s, .mine = &mine};
    uint64_t matches = 0;
    double t0 = b_now();
    for (int i = 0; i < count; i++) {
        if (i % batch == 0 && zn_store_begin(s) != 0)
            b_die("begin");
        char partner[ZN_IDENT_MAX];
        snprintf(partner, sizeof partner, "partner-%02u", (unsigned)(b_mix(seq0 + (uint64_t)i) % B_PARTNERS));
        b_asker(&mine, n, seq0 + (uint64_t)i, partner);
        int found = zn_store_signal_find(s, mine.partner, mine.network, mine.person, &old);
        if (found == 1) { /* the partner knew this person already: a refresh */
            memcpy(mine.id, old.id, ZN_ID_LEN);
            mine.created_ms = old.created_ms;
        }
        if (found < 0 || zn_store_signal_put(s, &mine) != 0 ||
            zn_store_rate_add(s, mine.partner, mine.handler, mine.refreshed_ms) != 0)
            b_die("registration");
        c.visited = 0;
        c.seq = seq0 + (uint64_t)i;
        int got = zn_store_signal_matches(s, &mine, B_T0 + B_YEAR_MS, b_keep_match, &c);
        if (got < 0)
            b_die("signal matches");
        matches += (uint64_t)got;
        if (((i + 1) % batch == 0 || i + 1 == count) && zn_store_commit(s) != 0)
            b_die("commit");
    }
    double dt = b_now() - t0;
    printf("signals-register n=%" PRIu64 " batch=%d registrations=%d matches=%" PRIu64 " seconds=%.2f"
           " registrations_per_s=%.0f\n",
           n, batch, count, matches, dt, count / dt);
    fflush(stdout);
}

/* ---- broker phase: options and set-up ------------------------------------------------------ */

#define B_MAX_THREADS 64
#define B_MAX_DEPTHS 8
#define B_MAX_PER_CLIENT 16      /* partners (connections) of one client thread */
#define B_MAX_PER_PARTNER 10000  /* new signals per partner and day: signal_rate_day at its maximum */
#define B_HANDLERS_PER_PARTNER 8 /* so no handler reaches signal_rate_handler_day */
#define B_HIT_EVERY 20           /* registration j % 20 == 3 shares a person, j % 20 == 13 a relative */
#define B_HWM 100000
#define B_READY_MS 120000        /* broker start-up and the clients' handshakes */
#define B_REPLY_MS 60000         /* the longest a client waits for any RESULT */
#define B_STOP_MS 60000          /* SIGTERM to exit */

enum { B_PHASE_STORE = 1, B_PHASE_BROKER = 2 };

typedef struct {
    uint64_t signals;          /* N */
    int phase;                 /* B_PHASE_* bits */
    const char *base;          /* where the temporary directory goes */
    int runs;                  /* repetitions of the broker phase */
    int threads;               /* K client threads */
    int per_client;            /* P partners (connections) per client thread */
    int count;                 /* C registrations per client thread and depth */
    int depths[B_MAX_DEPTHS];  /* D: requests a client keeps waiting for their RESULT */
    int n_depths;
    int timeout_s;
    char zorgnetd[PATH_MAX];
} b_opts;

/* The whole run is bounded: past the deadline the broker is killed and the program leaves. */
static void *b_watchdog(void *arg)
{
    int timeout_s = *(const int *)arg;
    bc_wait_deadline(timeout_s);
    fprintf(stderr, "zn_bench_signals: timed out after %d s while %s; aborting (raise --timeout or lower --count)\n",
            timeout_s, atomic_load(&g_phase));
    b_cleanup();
    _exit(3);
}

/* Copy a file (a database that no connection is writing to). */
static int b_copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    static char buf[1 << 20];
    int rc = in >= 0 && out >= 0 ? 0 : -1;
    while (rc == 0) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n <= 0) {
            rc = n == 0 ? 0 : -1;
            break;
        }
        for (ssize_t off = 0; off < n && rc == 0;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w <= 0)
                rc = -1;
            else
                off += w;
        }
    }
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0)
        rc = -1;
    return rc;
}

/* One database the broker runs on, with its keys and convenant (partner i: "partner-NN",
 * connection i % P of client (i / P) % K at depth index i / (P * K)). */
typedef struct {
    char dir[PATH_MAX + 64];
    const char *label;       /* "empty" or "filled" */
    uint64_t signals_before;
    zn_seckeys broker;
    zn_seckeys *partners;
    int n_partners;
    uint64_t version;
} b_site;

static void b_partner_id(char out[ZN_IDENT_MAX], int i)
{
    snprintf(out, ZN_IDENT_MAX, "partner-%02d", i);
}

/* Keys, the broker key file and a signed convenant in site->dir. */
static int b_site_convenant(const b_opts *o, b_site *site)
{
    static const char *const categories[] = {"youth-care", "school", "gp"};
    zn_seckeys auth, coord;
    zn_convenant *c = NULL;
    zn_netkey nk = {.epoch = 1};
    zn_err e;
    char path[PATH_MAX + 128];
    int rc = -1;

    zn_err_clear(&e);
    site->n_partners = o->threads * o->per_client * o->n_depths;
    site->partners = calloc((size_t)site->n_partners, sizeof *site->partners);
    if (!site->partners || zn_keys_generate(ZN_KIND_AUTHORITY, &auth) != 0 ||
        zn_keys_generate(ZN_KIND_BROKER, &site->broker) != 0 || zn_keys_generate(ZN_KIND_PARTNER, &coord) != 0) {
        fprintf(stderr, "zn_bench_signals: cannot generate keys\n");
        return -1;
    }
    for (int i = 0; i < site->n_partners; i++)
        if (zn_keys_generate(ZN_KIND_PARTNER, &site->partners[i]) != 0) {
            fprintf(stderr, "zn_bench_signals: cannot generate partner keys\n");
            goto out;
        }
    snprintf(path, sizeof path, "%s/broker", site->dir);
    if (zn_keys_write(path, &site->broker, &e) != 0) {
        fprintf(stderr, "zn_bench_signals: cannot write the broker key: %s\n", e.text);
        goto out;
    }
    c = zn_convenant_new();
    if (!c || !(c->partners = calloc((size_t)site->n_partners + 1, sizeof *c->partners))) {
        fprintf(stderr, "zn_bench_signals: out of memory\n");
        goto out;
    }
    uint64_t now = bc_wall_ms() / 1000u;
    snprintf(c->name, sizeof c->name, "zorgnet signals benchmark");
    c->valid_from = now - 3600;
    c->valid_until = now + 7 * 86400;
    memcpy(c->authority, auth.pub.sign, ZN_KEY_LEN);
    memcpy(c->broker_transport, site->broker.pub.transport, ZN_KEY_LEN);
    memcpy(c->broker_sign, site->broker.pub.sign, ZN_KEY_LEN);
    snprintf(c->endpoint, sizeof c->endpoint, "tcp://127.0.0.1:7450"); /* the broker gets --listen */
    c->n_networks = 3;
    for (int n = 0; n < 3; n++)
        snprintf(c->networks[n], ZN_IDENT_MAX, "%s", b_networks[n]);
    c->n_partners = (size_t)site->n_partners + 1;
    for (int i = 0; i <= site->n_partners; i++) {
        zn_partner *p = &c->partners[i];
        bool coordinator = i == site->n_partners;
        if (coordinator) {
            snprintf(p->id, sizeof p->id, "coordinator");
            snprintf(p->name, sizeof p->name, "Benchmark coordinator");
            snprintf(p->category, sizeof p->category, "municipality");
            p->keys = coord.pub;
        } else {
            b_partner_id(p->id, i);
            snprintf(p->name, sizeof p->name, "Benchmark partner %d", i);
            snprintf(p->category, sizeof p->category, "%s", categories[i % 3]);
            p->keys = site->partners[i].pub;
        }
        for (int n = 0; n < 3; n++)
            p->roles[n] = coordinator ? ZN_ROLE_COORDINATOR : ZN_ROLE_PARTNER;
    }
    c->policy.queue_quota = 1000000;
    c->policy.request_window_s = 3600; /* requests are signed before the clock starts */
    c->policy.signal_rate_day = 10000;
    c->policy.signal_rate_handler_day = 10000;
    for (int n = 0; n < 3; n++) {
        char key[64];
        snprintf(key, sizeof key, "decision:%s", b_networks[n]);
        if (zn_convenant_set(c, key, "youth-care,school,gp", &e) != 0) {
            fprintf(stderr, "zn_bench_signals: %s\n", e.text);
            goto out;
        }
    }
    randombytes_buf(nk.key, sizeof nk.key);
    snprintf(path, sizeof path, "%s/convenant.zn", site->dir);
    if (zn_convenant_seal_netkey(c, &nk, &e) != 0 || zn_convenant_sign(c, &auth, &e) != 0 ||
        zn_convenant_save(path, c, &e) != 0) {
        fprintf(stderr, "zn_bench_signals: cannot make the convenant: %s\n", e.text);
        goto out;
    }
    site->version = c->version;
    rc = 0;
out:
    sodium_memzero(&nk, sizeof nk);
    zn_convenant_destroy(&c);
    zn_seckeys_wipe(&auth);
    zn_seckeys_wipe(&coord);
    return rc;
}

static void b_site_free(b_site *site)
{
    for (int i = 0; site->partners && i < site->n_partners; i++)
        zn_seckeys_wipe(&site->partners[i]);
    free(site->partners);
    site->partners = NULL;
    zn_seckeys_wipe(&site->broker);
    bc_rmtree(site->dir);
}

/* ---- broker phase: the broker process ------------------------------------------------------ */

static pid_t b_start_broker(const b_opts *o, const b_site *site, const char *endpoint)
{
    char conv[PATH_MAX + 128], key[PATH_MAX + 128], db[PATH_MAX + 128], log[PATH_MAX + 128];
    snprintf(conv, sizeof conv, "%s/convenant.zn", site->dir);
    snprintf(key, sizeof key, "%s/broker.key", site->dir);
    snprintf(db, sizeof db, "%s/broker.db", site->dir);
    snprintf(log, sizeof log, "%s/broker.log", site->dir);
    if (access(o->zorgnetd, X_OK) != 0) {
        fprintf(stderr, "zn_bench_signals: cannot run %s (%s); build zorgnetd or pass --zorgnetd PATH\n",
                o->zorgnetd, strerror(errno));
        return -1;
    }
    char *argv[] = {(char *)o->zorgnetd, "--convenant", conv, "--key", key, "--db", db, "--listen",
                    (char *)endpoint, NULL};
    pid_t pid = bc_spawn("zn_bench_signals", argv, log, true, false, NULL, NULL);
    if (pid < 0)
        return -1;
    atomic_store(&g_broker_pid, (int)pid);
    return pid;
}

/* SIGTERM, then wait (SIGKILL after B_STOP_MS). 0 when it exited with status 0. */
static int b_stop_broker(pid_t pid) { return bc_stop_broker(pid, B_STOP_MS, &g_broker_pid); }

/* The last "shutdown frames=N commits=M" line of the broker's log. */
static int b_shutdown_counts(const b_site *site, uint64_t *frames, uint64_t *commits)
{
    char path[PATH_MAX + 128], line[1024];
    snprintf(path, sizeof path, "%s/broker.log", site->dir);
    FILE *f = fopen(path, "r");
    int rc = -1;
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "shutdown frames=");
        unsigned long long fr, co;
        if (p && sscanf(p, "shutdown frames=%llu commits=%llu", &fr, &co) == 2) {
            *frames = fr, *commits = co;
            rc = 0;
        }
    }
    if (f)
        fclose(f);
    return rc;
}

static void b_broker_log_tail(const b_site *site)
{
    char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/broker.log", site->dir);
    bc_log_tail("zn_bench_signals", path);
}

/* Bytes a process handed to write calls (wchar in /proc/PID/io), or -1 when not available.
 * (write_bytes there, the page cache it dirtied, came out several times larger than wchar on the
 * copied database, so it is not used.) */
static double b_wchar(pid_t pid)
{
    char path[64], line[128];
    double v = -1;
    unsigned long long x;
    snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "wchar: %llu", &x) == 1)
            v = (double)x;
    if (f)
        fclose(f);
    return v;
}

/* KiB per registration between two readings; -1 when unknown. */
static double b_kib_per(double before, double after, uint64_t n)
{
    return before >= 0 && after >= before && n ? (after - before) / 1024.0 / (double)n : -1;
}

/* ---- broker phase: the registrations ------------------------------------------------------- */

/* Pseudonym `which` (0 person, 1 and 2 related) of registration j of client k at depth index di,
 * before sharing; epoch byte 1 as the convenant's network key. Streams from 100 on: never one
 * of the store phase's. */
static void b_reg_psn(uint8_t out[ZN_PSN_LEN], int di, int k, uint64_t j, unsigned which)
{
    out[0] = 1;
    b_bytes(out + 1, ZN_PSN_LEN - 1, 100 + 3 * ((uint64_t)di * B_MAX_THREADS + (uint64_t)k) + which, j);
}

/* Registration j of client k: a new person with two relatives, except that one in ten shares a
 * pseudonym with registration t = j - j % 10 of client k + 1 (a little earlier, never itself
 * sharing, and shared by no one else): j % 20 == 3 is the same person, j % 20 == 13 has that
 * person as a relative. Each is exactly one match with another partner, in the same network (its
 * partners are told) about one time in three. */
static void b_reg_body(zn_signal_add *s, int di, int k, int K, uint64_t j)
{
    memset(s, 0, sizeof *s);
    snprintf(s->network, sizeof s->network, "%s", b_networks[b_mix((uint64_t)k << 32 | j) % 3]);
    b_reg_psn(s->person, di, k, j, 0);
    b_reg_psn(s->related[0], di, k, j, 1);
    b_reg_psn(s->related[1], di, k, j, 2);
    s->n_related = 2;
    uint64_t t = j - j % 10;
    if (K > 1 && j % B_HIT_EVERY == 3)
        b_reg_psn(s->person, di, (k + 1) % K, t, 0);
    else if (K > 1 && j % B_HIT_EVERY == 13)
        b_reg_psn(s->related[0], di, (k + 1) % K, t, 0);
    snprintf(s->contact, sizeof s->contact, "tel 010-555 %04u", (unsigned)((uint64_t)k * 1000 + j) % 10000);
}

/* Registrations out of `count` that share a pseudonym: each makes one match. */
static uint64_t b_hits(int count, int K)
{
    uint64_t n = 0;
    for (int j = 0; K > 1 && j < count; j++)
        n += j % B_HIT_EVERY == 3 || j % B_HIT_EVERY == 13;
    return n * (uint64_t)K;
}

/* Wait until n clients are ready (or the run failed, or ms passed). */
static int b_gate_ready(bc_gate *g, int n, int ms)
{
    uint64_t until = bc_now_ns() + (uint64_t)ms * 1000000u;
    pthread_mutex_lock(&g->mu);
    while (g->arrived < n && !bc_failed() && bc_now_ns() < until) {
        struct timespec ts;
        bc_abstime(&ts, 100);
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    }
    bool ready = g->arrived >= n;
    pthread_mutex_unlock(&g->mu);
    if (!ready && !bc_failed())
        bc_fail("the clients were not connected to the broker within %d ms", ms);
    return ready && !bc_failed() ? 0 : -1;
}

static void b_gate_open(bc_gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->t0 = bc_now_ns();
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* One client thread: P partners' connections (registration j goes through partner j % P) that
 * together keep `depth` registrations waiting for their RESULT. */
typedef struct {
    void *ctx;
    const char *endpoint;
    const uint8_t *server_pk;
    int n_partners;                             /* P */
    const zn_seckeys *key[B_MAX_PER_CLIENT];
    char id[B_MAX_PER_CLIENT][ZN_IDENT_MAX];
    void *sock[B_MAX_PER_CLIENT];
    uint64_t version;
    int depth, count;
    bc_gate *gate;
    uint8_t **frames; /* REQUEST frames, corr = index + 2 (1 is the HELLO) */
    size_t *lens;
    uint64_t *sent_ns, *lat_ns;
    uint64_t matches_seen, last_ns;
} b_client;

/* Build and sign every request of client k at depth index di (before the clock starts). */
static int b_client_build(b_client *c, int di, int k, int K)
{
    msgpack_sbuffer body, sb;
    zn_signal_add s;
    zn_err e;
    int rc = 0;
    c->frames = calloc((size_t)c->count, sizeof *c->frames);
    c->lens = calloc((size_t)c->count, sizeof *c->lens);
    c->sent_ns = calloc((size_t)c->count, sizeof *c->sent_ns);
    c->lat_ns = calloc((size_t)c->count, sizeof *c->lat_ns);
    if (!c->frames || !c->lens || !c->sent_ns || !c->lat_ns)
        return -1;
    msgpack_sbuffer_init(&body);
    msgpack_sbuffer_init(&sb);
    for (int j = 0; j < c->count && rc == 0; j++) {
        uint8_t *req = NULL, sig[ZN_SIG_LEN];
        size_t req_len = 0;
        int p = j % c->n_partners;
        char handler[32];
        snprintf(handler, sizeof handler, "handler-%d", (j / c->n_partners) % B_HANDLERS_PER_PARTNER);
        b_reg_body(&s, di, k, K, (uint64_t)j);
        msgpack_sbuffer_clear(&body);
        zn_err_clear(&e);
        if (zn_body_signal_add(&body, &s, &e) != 0 ||
            zn_request_build("signal-add", c->id[p], handler, bc_wall_ms(), c->version, (const uint8_t *)body.data,
                             body.size, c->key[p], &req, &req_len, sig, &e) != 0) {
            fprintf(stderr, "zn_bench_signals: cannot build a signal-add request: %s\n", e.text);
            rc = -1;
            break;
        }
        msgpack_sbuffer_clear(&sb);
        zn_frame_request(&sb, (uint32_t)j + 2, req, req_len, sig);
        free(req);
        if (!(c->frames[j] = malloc(sb.size))) {
            rc = -1;
            break;
        }
        memcpy(c->frames[j], sb.data, sb.size);
        c->lens[j] = sb.size;
    }
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static void b_client_free(b_client *c)
{
    for (int j = 0; c->frames && j < c->count; j++)
        free(c->frames[j]);
    free(c->frames), free(c->lens), free(c->sent_ns), free(c->lat_ns);
    c->frames = NULL, c->lens = NULL, c->sent_ns = NULL, c->lat_ns = NULL;
}

/* A DEALER with partner p's CURVE keys, connected to the broker. */
static void *b_dealer(const b_client *c, int p)
{
    void *s = zmq_socket(c->ctx, ZMQ_DEALER);
    int hwm = B_HWM, linger = 0;
    if (!s)
        return NULL;
    if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, c->server_pk, ZN_KEY_LEN) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, c->key[p]->pub.transport, ZN_KEY_LEN) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, c->key[p]->transport, ZN_KEY_LEN) != 0 ||
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 || zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) != 0 || zmq_connect(s, c->endpoint) != 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

/* Wait up to ms for any of the client's sockets to have a frame. */
static void b_client_poll(const b_client *c, int ms)
{
    zmq_pollitem_t it[B_MAX_PER_CLIENT];
    for (int p = 0; p < c->n_partners; p++)
        it[p] = (zmq_pollitem_t){c->sock[p], 0, ZMQ_POLLIN, 0};
    (void)zmq_poll(it, c->n_partners, ms);
}

/* Take one frame from socket p if one is there, and parse it. 1 parsed (zn_frame_free and
 * zmq_msg_close it), 0 none waiting, -1 failed (an ERROR or BYE fails the run). */
static int b_take_frame(b_client *c, int p, zmq_msg_t *m, zn_frame *f)
{
    zmq_msg_init(m);
    if (zmq_msg_recv(m, c->sock[p], ZMQ_DONTWAIT) < 0) {
        int err = errno;
        zmq_msg_close(m);
        if (err == EAGAIN)
            return 0;
        bc_fail("%s: receiving failed: %s", c->id[p], zmq_strerror(err));
        return -1;
    }
    zn_err e;
    zn_err_clear(&e);
    memset(f, 0, sizeof *f);
    if (zn_frame_parse(zmq_msg_data(m), zmq_msg_size(m), f, &e) != 0) {
        bc_fail("%s: unreadable frame from the broker: %s", c->id[p], e.text);
    } else if (f->type == ZN_T_ERROR || f->type == ZN_T_BYE) {
        bc_fail("%s: the broker refused request %" PRIu32 ": %s: %s", c->id[p], f->corr, f->u.error.name,
               f->u.error.text);
    } else {
        return 1;
    }
    zn_frame_free(f);
    zmq_msg_close(m);
    return -1;
}

/* HELLO (window 0: notices stay queued) on every connection, then wait for every WELCOME. */
static int b_client_hello(b_client *c)
{
    msgpack_sbuffer sb;
    bool welcomed[B_MAX_PER_CLIENT] = {false};
    int n = 0;
    msgpack_sbuffer_init(&sb);
    zn_frame_hello(&sb, 1, c->version, 0, 0);
    for (int p = 0; p < c->n_partners; p++)
        if (zmq_send(c->sock[p], sb.data, sb.size, 0) != (int)sb.size) {
            bc_fail("%s: cannot send HELLO: %s", c->id[p], zmq_strerror(errno));
            msgpack_sbuffer_destroy(&sb);
            return -1;
        }
    msgpack_sbuffer_destroy(&sb);
    uint64_t until = bc_now_ns() + (uint64_t)B_READY_MS * 1000000u;
    while (n < c->n_partners && !bc_failed() && bc_now_ns() < until) {
        b_client_poll(c, 100);
        for (int p = 0; p < c->n_partners; p++) {
            zmq_msg_t m;
            zn_frame f;
            int got;
            while ((got = b_take_frame(c, p, &m, &f)) == 1) {
                if (f.type == ZN_T_WELCOME && f.corr == 1 && !welcomed[p]) {
                    if (strcmp(f.u.welcome.partner, c->id[p]) != 0)
                        bc_fail("%s: the broker welcomed partner %s", c->id[p], f.u.welcome.partner);
                    welcomed[p] = true;
                    n++;
                }
                zn_frame_free(&f);
                zmq_msg_close(&m);
            }
            if (got < 0)
                return -1;
        }
    }
    if (n < c->n_partners && !bc_failed())
        bc_fail("%s: no WELCOME from the broker within %d ms", c->id[0], B_READY_MS);
    return bc_failed() ? -1 : 0;
}

/* A RESULT for request idx through partner p: a new signal (never a refresh), its matches
 * counted. */
static int b_client_result(b_client *c, int p, const zn_frame *f, const uint8_t *sent, uint32_t idx,
                           zn_match *view)
{
    uint8_t signal[ZN_ID_LEN];
    bool refreshed = true;
    uint64_t expires = 0;
    uint32_t n = 0;
    zn_err e;
    zn_err_clear(&e);
    if (idx >= (uint32_t)c->count || sent[idx] != 1 || (int)(idx % (uint32_t)c->n_partners) != p ||
        strcmp(f->u.result.kind, "signal-add") != 0) {
        bc_fail("%s: unexpected RESULT (corr %" PRIu32 ", kind %s)", c->id[p], f->corr, f->u.result.kind);
        return -1;
    }
    if (zn_result_signal_add_parse(f->u.result.body, signal, &refreshed, &expires, view, ZN_SIGNAL_MATCHES_MAX, &n,
                                   &e) != 0 ||
        refreshed) {
        bc_fail("%s: the RESULT of registration %" PRIu32 " is %s", c->id[p], idx,
               refreshed && !e.text[0] ? "a refresh of an earlier signal" : e.text);
        return -1;
    }
    c->matches_seen += n;
    return 0;
}

static void *b_client_main(void *arg)
{
    b_client *c = arg;
    uint8_t *sent = calloc((size_t)c->count, 1); /* 1 sent, 2 answered */
    zn_match *view = calloc(ZN_SIGNAL_MATCHES_MAX, sizeof *view);
    for (int p = 0; p < c->n_partners; p++)
        if (!(c->sock[p] = b_dealer(c, p))) {
            bc_fail("%s: cannot open a CurveZMQ socket: %s", c->id[p], zmq_strerror(errno));
            goto out;
        }
    if (!sent || !view) {
        bc_fail("out of memory");
        goto out;
    }
    if (b_client_hello(c) != 0 || bc_gate_wait(c->gate, NULL) != 0)
        goto out;
    int next = 0, done = 0, inflight = 0;
    uint64_t last_reply = bc_now_ns();
    while (done < c->count && !bc_failed()) {
        while (next < c->count && inflight < c->depth) {
            c->sent_ns[next] = bc_now_ns();
            if (zmq_send(c->sock[next % c->n_partners], c->frames[next], c->lens[next], ZMQ_DONTWAIT) < 0) {
                if (errno == EAGAIN)
                    break;
                bc_fail("%s: REQUEST failed: %s", c->id[next % c->n_partners], zmq_strerror(errno));
                goto out;
            }
            sent[next++] = 1;
            inflight++;
        }
        b_client_poll(c, 100);
        uint64_t now = bc_now_ns();
        int got = 0, answered = 0;
        for (int p = 0; p < c->n_partners && got >= 0; p++) {
            zmq_msg_t m;
            zn_frame f;
            while ((got = b_take_frame(c, p, &m, &f)) == 1) {
                uint32_t idx = f.corr - 2;
                if (f.type == ZN_T_RESULT && b_client_result(c, p, &f, sent, idx, view) == 0) {
                    sent[idx] = 2;
                    c->lat_ns[idx] = now - c->sent_ns[idx];
                    done++, inflight--, answered++;
                }
                zn_frame_free(&f);
                zmq_msg_close(&m);
                if (bc_failed())
                    break;
            }
        }
        if (got < 0)
            break;
        if (answered)
            c->last_ns = last_reply = now;
        else if (now - last_reply > (uint64_t)B_REPLY_MS * 1000000u)
            bc_fail("%s: no RESULT for %d ms with %d requests waiting", c->id[0], B_REPLY_MS, inflight);
    }
out:
    free(sent), free(view);
    for (int p = 0; p < c->n_partners; p++)
        if (c->sock[p])
            zmq_close(c->sock[p]);
    return NULL;
}

/* ---- broker phase: one depth, one database ------------------------------------------------- */

typedef struct {
    int run, depth;
    const char *label;
    uint64_t signals_before;
    uint64_t registrations, matches_seen;
    double seconds, rate, p50_ms, p99_ms, max_ms;
    uint64_t frames, commits;
    double ready_ms, cpu_us;
    double wchar_kib;                   /* per registration; < 0: unknown */
    b_mem start, end;                   /* the broker's memory when ready, after the workload */
} b_bres;

/* Start the broker on site's database, run K clients at depth index di, stop it. */
static int b_depth_run(const b_opts *o, b_site *site, int di, b_bres *res)
{
    const int K = o->threads;
    b_client *cl = calloc((size_t)K, sizeof *cl);
    pthread_t th[B_MAX_THREADS];
    int started = 0, rc = -1;
    bc_gate gate = {.arrived = 0};
    bc_monitor mon = {.pid = -1, .running = &g_broker_pid};
    pthread_t mon_th;
    bool mon_started = false;
    void *ctx = zmq_ctx_new();
    char endpoint[64];
    uint64_t *lat = NULL;
    pid_t pid = -1;
    double cpu0 = 0, wchar0 = -1;

    pthread_mutex_init(&gate.mu, NULL);
    pthread_cond_init(&gate.cv, NULL);
    int port = bc_free_port();
    if (!cl || !ctx || port <= 0) {
        bc_fail("cannot set up the clients (memory, ZeroMQ or a free loopback port)");
        goto out;
    }
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    atomic_store(&g_phase, "signing the registrations");
    for (int k = 0; k < K; k++) {
        b_client *c = &cl[k];
        *c = (b_client){.ctx = ctx, .endpoint = endpoint, .server_pk = site->broker.pub.transport,
                        .n_partners = o->per_client, .version = site->version, .depth = o->depths[di],
                        .count = o->count, .gate = &gate};
        for (int p = 0; p < o->per_client; p++) {
            int i = (di * K + k) * o->per_client + p;
            c->key[p] = &site->partners[i];
            b_partner_id(c->id[p], i);
        }
        if (b_client_build(c, di, k, K) != 0) {
            bc_fail("cannot build the registrations");
            goto out;
        }
    }
    atomic_store(&g_phase, "starting the broker");
    uint64_t t_start = bc_now_ns();
    if ((pid = b_start_broker(o, site, endpoint)) < 0) {
        bc_fail("cannot start the broker");
        goto out;
    }
    mon.pid = pid;
    if (pthread_create(&mon_th, NULL, bc_monitor_thread, &mon) != 0) {
        bc_fail("cannot start a thread");
        goto out;
    }
    mon_started = true;
    for (; started < K; started++)
        if (pthread_create(&th[started], NULL, b_client_main, &cl[started]) != 0) {
            bc_fail("cannot start a thread");
            break;
        }
    if (b_gate_ready(&gate, K, B_READY_MS) != 0)
        goto join;
    res->ready_ms = (double)(bc_now_ns() - t_start) / 1e6;
    res->start = b_memory(pid);
    cpu0 = bc_proc_cpu_s(pid), wchar0 = b_wchar(pid);
    fprintf(stderr, "zn_bench_signals: run %d, %s database, depth %d: broker pid %d ready after %.0f ms\n",
            res->run, site->label, o->depths[di], (int)pid, res->ready_ms);
    atomic_store(&g_phase, "measuring registrations through the broker");
    b_gate_open(&gate);
join:
    for (int k = 0; k < started; k++)
        pthread_join(th[k], NULL);
    if (bc_failed())
        goto out;
    res->end = b_memory(pid);
    double cpu1 = bc_proc_cpu_s(pid), wchar1 = b_wchar(pid);

    uint64_t last = gate.t0, n = (uint64_t)K * (uint64_t)o->count;
    if (!(lat = malloc(n * sizeof *lat))) {
        bc_fail("out of memory");
        goto out;
    }
    res->matches_seen = 0;
    for (int k = 0; k < K; k++) {
        memcpy(lat + (size_t)k * (size_t)o->count, cl[k].lat_ns, (size_t)o->count * sizeof *lat);
        if (cl[k].last_ns > last)
            last = cl[k].last_ns;
        res->matches_seen += cl[k].matches_seen;
    }
    qsort(lat, n, sizeof *lat, bc_cmp_u64);
    res->depth = o->depths[di];
    res->label = site->label;
    res->signals_before = site->signals_before;
    res->registrations = n;
    res->seconds = (double)(last - gate.t0) / 1e9;
    res->rate = res->seconds > 0 ? (double)n / res->seconds : 0;
    res->p50_ms = (double)lat[(n - 1) / 2] / 1e6;
    res->p99_ms = (double)lat[(n - 1) * 99 / 100] / 1e6;
    res->max_ms = (double)lat[n - 1] / 1e6;
    res->cpu_us = (cpu1 - cpu0) * 1e6 / (double)n;
    res->wchar_kib = b_kib_per(wchar0, wchar1, n);

    atomic_store(&g_phase, "stopping the broker");
    atomic_store(&mon.stop, 1);
    pthread_join(mon_th, NULL);
    mon_started = false;
    if (atomic_load(&g_broker_pid) != (int)pid) /* the monitor saw it go */
        goto out;
    int stopped = b_stop_broker(pid);
    pid = -1;
    if (stopped != 0) {
        bc_fail("the broker did not shut down cleanly");
        goto out;
    }
    if (b_shutdown_counts(site, &res->frames, &res->commits) != 0) {
        bc_fail("the broker's log has no shutdown line");
        goto out;
    }
    rc = 0;
out:
    if (mon_started) {
        atomic_store(&mon.stop, 1);
        pthread_join(mon_th, NULL);
    }
    if (pid > 0 && atomic_load(&g_broker_pid) == (int)pid)
        (void)b_stop_broker(pid);
    if (rc != 0)
        b_broker_log_tail(site);
    for (int k = 0; cl && k < K; k++)
        b_client_free(&cl[k]);
    free(cl), free(lat);
    if (ctx)
        zmq_ctx_term(ctx);
    pthread_mutex_destroy(&gate.mu);
    pthread_cond_destroy(&gate.cv);
    return rc;
}

/* Signals, matches and queued items (notices) in a broker database; -1 when it cannot be read. */
static int b_db_counts(const char *path, uint64_t *signals, uint64_t *matches, uint64_t *queued)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM signals), (SELECT count(*) FROM matches),"
                               " (SELECT count(*) FROM queue)", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        *signals = (uint64_t)sqlite3_column_int64(st, 0);
        *matches = (uint64_t)sqlite3_column_int64(st, 1);
        *queued = (uint64_t)sqlite3_column_int64(st, 2);
        rc = 0;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* After a site's depths: every registration is a new signal, every shared pseudonym one match. */
static int b_site_check(const b_opts *o, const b_site *site, uint64_t matches_before, uint64_t *matches,
                        uint64_t *queued)
{
    char path[PATH_MAX + 128];
    uint64_t signals = 0;
    snprintf(path, sizeof path, "%s/broker.db", site->dir);
    if (b_db_counts(path, &signals, matches, queued) != 0) {
        bc_fail("the broker's database cannot be read after the run");
        return -1;
    }
    uint64_t regs = (uint64_t)o->n_depths * (uint64_t)o->threads * (uint64_t)o->count;
    uint64_t want = (uint64_t)o->n_depths * b_hits(o->count, o->threads);
    if (signals != site->signals_before + regs) {
        bc_fail("the %s database holds %" PRIu64 " signals after %" PRIu64 " registrations on %" PRIu64, site->label,
               signals, regs, site->signals_before);
        return -1;
    }
    if (*matches != matches_before + want) {
        bc_fail("the %s database holds %" PRIu64 " new matches; the shared pseudonyms make %" PRIu64, site->label,
               *matches - matches_before, want);
        return -1;
    }
    return 0;
}

/* ---- broker phase: the runs ----------------------------------------------------------------- */

static double b_mb(long kb) { return kb < 0 ? -1.0 : (double)kb / 1024.0; }

/* The one-minute load average (other work on the machine), -1 when unknown. */
static double b_load(void)
{
    double v = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static void b_print_bres(const b_bres *r, int threads)
{
    printf("signals-broker run=%d db=%s signals_before=%" PRIu64 " threads=%d depth=%d registrations=%" PRIu64
           " seconds=%.2f registrations_per_s=%.0f result_p50_ms=%.2f result_p99_ms=%.2f result_max_ms=%.1f"
           " matches_in_results=%" PRIu64 " frames=%" PRIu64 " commits=%" PRIu64 " frames_per_commit=%.1f"
           " broker_cpu_us_per_registration=%.0f broker_written_kib_per_registration=%.1f ready_ms=%.0f"
           " vmrss_ready_mb=%.1f vmrss_mb=%.1f vmhwm_mb=%.1f\n",
           r->run, r->label, r->signals_before, threads, r->depth, r->registrations, r->seconds, r->rate, r->p50_ms,
           r->p99_ms, r->max_ms, r->matches_seen, r->frames, r->commits,
           r->commits ? (double)r->frames / (double)r->commits : 0.0, r->cpu_us, r->wchar_kib, r->ready_ms,
           b_mb(r->start.rss_kb), b_mb(r->end.rss_kb), b_mb(r->end.hwm_kb));
    fflush(stdout);
}

/* One database (empty, or a copy of the filled template) through every depth, then checked. */
static int b_site_run(const b_opts *o, int run, const char *template_path, b_bres *res)
{
    b_site site;
    uint64_t before_matches = 0, queued = 0, matches = 0;
    char db[PATH_MAX + 128];
    memset(&site, 0, sizeof site);
    site.label = template_path ? "filled" : "empty";
    snprintf(site.dir, sizeof site.dir, "%s/broker-run%d-%s", g_top, run, site.label);
    if (mkdir(site.dir, 0700) != 0) {
        bc_fail("cannot create %s: %s", site.dir, strerror(errno));
        return -1;
    }
    snprintf(db, sizeof db, "%s/broker.db", site.dir);
    int rc = -1;
    atomic_store(&g_phase, "preparing keys, convenant and database");
    if (b_site_convenant(o, &site) != 0) {
        bc_fail("cannot prepare the convenant");
        goto out;
    }
    if (template_path) {
        if (b_copy_file(template_path, db) != 0 ||
            b_db_counts(db, &site.signals_before, &before_matches, &queued) != 0) {
            bc_fail("cannot copy the filled database %s", template_path);
            goto out;
        }
    }
    for (int di = 0; di < o->n_depths; di++) {
        res[di].run = run;
        if (b_depth_run(o, &site, di, &res[di]) != 0)
            goto out;
        b_print_bres(&res[di], o->threads);
    }
    if (b_site_check(o, &site, before_matches, &matches, &queued) != 0)
        goto out;
    printf("signals-broker-db run=%d db=%s signals=%" PRIu64 " new_matches=%" PRIu64 " queued_notices=%" PRIu64
           " db_mb=%.0f\n",
           run, site.label, site.signals_before + (uint64_t)o->n_depths * (uint64_t)o->threads * (uint64_t)o->count,
           matches - before_matches, queued, b_file_mb(db, ""));
    rc = 0;
out:
    b_site_free(&site);
    return rc;
}

static int b_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* "min / median / max" of one field over the runs. */
static void b_spread(char *out, size_t cap, const b_bres *res, int runs, int stride, int at,
                     double (*get)(const b_bres *), const char *fmt)
{
    double v[64];
    int n = runs < 64 ? runs : 64;
    for (int r = 0; r < n; r++)
        v[r] = get(&res[r * stride + at]);
    qsort(v, (size_t)n, sizeof v[0], b_cmp_double);
    char a[32], m[32], z[32];
    snprintf(a, sizeof a, fmt, v[0]);
    snprintf(m, sizeof m, fmt, n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
    snprintf(z, sizeof z, fmt, v[n - 1]);
    snprintf(out, cap, n > 1 ? "%s / %s / %s" : "%s", a, m, z);
}

static double b_get_rate(const b_bres *r) { return r->rate; }
static double b_get_p99(const b_bres *r) { return r->p99_ms; }
static double b_get_batch(const b_bres *r) { return r->commits ? (double)r->frames / (double)r->commits : 0; }
static double b_get_cpu(const b_bres *r) { return r->cpu_us; }
static double b_get_rss(const b_bres *r) { return b_mb(r->end.rss_kb); }
static double b_get_hwm(const b_bres *r) { return b_mb(r->end.hwm_kb); }

static int b_broker_phase(const b_opts *o, const char *template_path, uint64_t filled)
{
    const int stride = 2 * o->n_depths; /* per run: empty depths, then filled depths */
    b_bres *res = calloc((size_t)o->runs * (size_t)stride, sizeof *res);
    if (!res) {
        fprintf(stderr, "zn_bench_signals: out of memory\n");
        return -1;
    }
    printf("signals-broker-setup zorgnetd=%s threads=%d partners_per_thread=%d registrations_per_thread=%d"
           " registrations_per_partner=%d depths=",
           o->zorgnetd, o->threads, o->per_client, o->count, (o->count + o->per_client - 1) / o->per_client);
    for (int di = 0; di < o->n_depths; di++)
        printf("%s%d", di ? "," : "", o->depths[di]);
    printf(" runs=%d filled_signals=%" PRIu64 " shared_one_in=%d store_cache_size_mb=%.0f load_average=%.2f\n",
           o->runs, filled, B_HIT_EVERY / 2, B_STORE_CACHE_KIB / 1024.0, b_load());
    fflush(stdout);
    int rc = 0;
    for (int run = 1; run <= o->runs && rc == 0; run++) {
        b_bres *empty = &res[(run - 1) * stride], *full = empty + o->n_depths;
        /* the two databases alternate which goes first, so a drift of the machine weighs on both */
        if (run % 2) {
            rc = b_site_run(o, run, NULL, empty);
            rc = rc == 0 ? b_site_run(o, run, template_path, full) : rc;
        } else {
            rc = b_site_run(o, run, template_path, full);
            rc = rc == 0 ? b_site_run(o, run, NULL, empty) : rc;
        }
        for (int di = 0; di < o->n_depths && rc == 0; di++)
            printf("signals-broker-memory run=%d depth=%d signals_empty=%" PRIu64 " signals_filled=%" PRIu64
                   " vmrss_empty_mb=%.1f vmrss_filled_mb=%.1f vmrss_ratio=%.2f vmrss_difference_mb=%.1f"
                   " vmhwm_empty_mb=%.1f vmhwm_filled_mb=%.1f vmhwm_ratio=%.2f vmhwm_difference_mb=%.1f"
                   " store_cache_size_mb=%.0f\n",
                   run, o->depths[di], empty[di].signals_before, full[di].signals_before, b_mb(empty[di].end.rss_kb),
                   b_mb(full[di].end.rss_kb), (double)full[di].end.rss_kb / (double)empty[di].end.rss_kb,
                   (double)(full[di].end.rss_kb - empty[di].end.rss_kb) / 1024.0, b_mb(empty[di].end.hwm_kb),
                   b_mb(full[di].end.hwm_kb), (double)full[di].end.hwm_kb / (double)empty[di].end.hwm_kb,
                   (double)(full[di].end.hwm_kb - empty[di].end.hwm_kb) / 1024.0, B_STORE_CACHE_KIB / 1024.0);
        fflush(stdout);
    }
    if (rc == 0) {
        printf("\nbroker: %d client threads x %d registrations per depth, through %d partners each (%d per partner);"
               " the filled database starts with %" PRIu64 " signals; %d run%s (min / median / max)\n",
               o->threads, o->count, o->per_client, (o->count + o->per_client - 1) / o->per_client, filled, o->runs,
               o->runs > 1 ? "s" : "");
        printf("%-6s %-7s %-26s %-22s %-18s %-18s %-22s %-22s\n", "depth", "db", "registrations/s", "RESULT p99 ms",
               "frames/commit", "CPU us/reg", "VmRSS MiB", "VmHWM MiB");
        for (int di = 0; di < o->n_depths; di++)
            for (int f = 0; f < 2; f++) {
                char c[6][80];
                int at = f * o->n_depths + di;
                b_spread(c[0], sizeof c[0], res, o->runs, stride, at, b_get_rate, "%.0f");
                b_spread(c[1], sizeof c[1], res, o->runs, stride, at, b_get_p99, "%.1f");
                b_spread(c[2], sizeof c[2], res, o->runs, stride, at, b_get_batch, "%.1f");
                b_spread(c[3], sizeof c[3], res, o->runs, stride, at, b_get_cpu, "%.0f");
                b_spread(c[4], sizeof c[4], res, o->runs, stride, at, b_get_rss, "%.1f");
                b_spread(c[5], sizeof c[5], res, o->runs, stride, at, b_get_hwm, "%.1f");
                printf("%-6d %-7s %-26s %-22s %-18s %-18s %-22s %-22s\n", o->depths[di], f ? "filled" : "empty", c[0],
                       c[1], c[2], c[3], c[4], c[5]);
            }
        printf("sqlite page cache of the broker's connection: %.0f MiB; load average now %.2f\n",
               B_STORE_CACHE_KIB / 1024.0, b_load());
    }
    free(res);
    return rc;
}

/* ---- store phase: the run ------------------------------------------------------------------- */

/* The store measurements; with template_path, the database is also copied there right after its
 * fill to N (before any look-up or registration), for the broker phase. */
static void b_store_phase(uint64_t n, const char *template_path)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/signals.db", g_top);
    zn_store *s = NULL;
    zn_err e;
    atomic_store(&g_phase, "the store phase");
    if (zn_store_open(path, &s, &e) != 0) {
        fprintf(stderr, "zn_bench_signals: %s\n", e.text);
        b_die("store open");
    }
    printf("signals-setup n=%" PRIu64 " dir=%s psns_per_signal=3 shared_one_in=%d partners=%d store_cache_size_mb=%.0f"
           " sqlite=%s load_average=%.2f\n",
           n, g_top, B_SHARE_EVERY, B_PARTNERS, B_STORE_CACHE_KIB / 1024.0, sqlite3_libversion(), b_load());
    b_print_memory("open", 0);

    const uint64_t sizes[2] = {n / 10, n};
    b_lat lat[2];
    b_mem mem[2];
    uint64_t filled = 0;
    for (int k = 0; k < 2; k++) {
        b_fill(s, path, filled, sizes[k]);
        filled = sizes[k];
        /* b_fill left the WAL empty: the database file alone holds every signal */
        if (k == 1 && template_path && b_copy_file(path, template_path) != 0)
            b_die("copy of the filled database");
        b_print_memory("fill", filled);
        lat[k] = b_lookups(s, filled);
        b_print_memory("lookups", filled);
        mem[k] = b_memory(0);
    }
    uint64_t count = 0;
    if (zn_store_signal_count(s, &count) != 0 || count != n)
        b_die("signal count");
    const int batches[] = {1, 100, 512};
    const int counts[] = {2000, 20000, 20480};
    for (int k = 0; k < 3; k++) {
        b_register(s, n, batches[k], counts[k], 1000000000ull * (uint64_t)(k + 1));
        b_print_memory("register", n);
    }
    printf("signals-growth n_small=%" PRIu64 " n_large=%" PRIu64 " lookup_p50_ratio=%.2f lookup_p99_ratio=%.2f"
           " vmrss_ratio=%.2f vmrss_small_mb=%.1f vmrss_large_mb=%.1f load_average=%.2f\n",
           sizes[0], sizes[1], lat[1].p50 / lat[0].p50, lat[1].p99 / lat[0].p99,
           (double)mem[1].rss_kb / (double)mem[0].rss_kb, mem[0].rss_kb / 1024.0, mem[1].rss_kb / 1024.0, b_load());
    fflush(stdout);
    zn_store_close(&s);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char p[PATH_MAX + 80];
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        (void)unlink(p);
    }
}

/* With --phase broker alone: a database of N signals made as the store phase makes its own. */
static void b_make_template(uint64_t n, const char *template_path)
{
    zn_store *s = NULL;
    zn_err e;
    atomic_store(&g_phase, "filling the database for the broker");
    if (zn_store_open(template_path, &s, &e) != 0) {
        fprintf(stderr, "zn_bench_signals: %s\n", e.text);
        b_die("store open");
    }
    b_fill(s, template_path, 0, n);
    zn_store_close(&s);
}

/* ---- options, main ---------------------------------------------------------------------------- */

static void b_usage(FILE *f)
{
    fputs("usage: zn_bench_signals [--signals N] [--phase store|broker|all] [--runs R] [--threads K]\n"
          "                        [--partners-per-thread P] [--count C] [--depths D1,D2,...]\n"
          "                        [--zorgnetd PATH] [--timeout S] [--dir DIR] [--keep]\n"
          "  --signals N   active signals in the store (default 1000000; 1000 to 100000000); the\n"
          "                store phase measures at N/10 and N, the broker's filled database holds N\n"
          "                (a bare number N means the same)\n"
          "  --phase P     store, broker or all (default all)\n"
          "  --runs R      repetitions of the broker phase (default 3)\n"
          "  --threads K   client threads (default 8, at most 64)\n"
          "  --partners-per-thread P\n"
          "                partners (CurveZMQ connections) per client thread, used in turn\n"
          "                (default 8, at most 16)\n"
          "  --count C     registrations per client thread and depth (default 4000; at most 10000\n"
          "                per partner: the convenant's signal_rate_day at its maximum)\n"
          "  --depths LIST registrations a client thread keeps waiting for their RESULT\n"
          "                (default 1,8,64)\n"
          "  --zorgnetd P  the broker binary (default: zorgnetd beside this program)\n"
          "  --timeout S   abort the whole run after S seconds (default 3600)\n"
          "  --dir DIR     where the temporary directory goes (default $TMPDIR or /tmp)\n"
          "  --keep        leave the temporary directory\n"
          "Quick run: --signals 20000 --runs 1 --count 500\n",
          f);
}

static int b_num(const char *name, const char *v, long long min, long long max, long long *out)
{
    return bc_num("zn_bench_signals", name, v, min, max, out);
}

static int b_depth_list(const char *v, b_opts *o)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    o->n_depths = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        long long d;
        if (o->n_depths == B_MAX_DEPTHS || b_num("a depth", t, 1, 4096, &d) != 0)
            return -1;
        o->depths[o->n_depths++] = (int)d;
    }
    return o->n_depths ? 0 : -1;
}

static int b_parse(int argc, char **argv, b_opts *o)
{
    *o = (b_opts){.signals = 1000000, .phase = B_PHASE_STORE | B_PHASE_BROKER, .base = getenv("TMPDIR"),
                  .runs = 3, .threads = 8, .per_client = 8, .count = 4000, .depths = {1, 8, 64}, .n_depths = 3,
                  .timeout_s = 3600};
    if (bc_exe_sibling(o->zorgnetd, sizeof o->zorgnetd, "zorgnetd") != 0)
        return -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long long x = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            b_usage(stdout);
            exit(0);
        }
        if (!strcmp(a, "--keep")) {
            g_keep = true;
            continue;
        }
        if (a[0] != '-') { /* the bare N of earlier versions */
            if (b_num("N", a, 1000, 100000000, &x) != 0)
                return -1;
            o->signals = (uint64_t)x;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "zn_bench_signals: %s needs a value (or is unknown)\n", a);
            return -1;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--signals")) {
            if (b_num(a, v, 1000, 100000000, &x) != 0)
                return -1;
            o->signals = (uint64_t)x;
        } else if (!strcmp(a, "--phase")) {
            o->phase = !strcmp(v, "store") ? B_PHASE_STORE : !strcmp(v, "broker") ? B_PHASE_BROKER
                     : !strcmp(v, "all")   ? B_PHASE_STORE | B_PHASE_BROKER : 0;
            if (!o->phase) {
                fprintf(stderr, "zn_bench_signals: --phase is store, broker or all\n");
                return -1;
            }
        } else if (!strcmp(a, "--runs")) {
            if (b_num(a, v, 1, 64, &x) != 0)
                return -1;
            o->runs = (int)x;
        } else if (!strcmp(a, "--threads")) {
            if (b_num(a, v, 1, B_MAX_THREADS, &x) != 0)
                return -1;
            o->threads = (int)x;
        } else if (!strcmp(a, "--partners-per-thread")) {
            if (b_num(a, v, 1, B_MAX_PER_CLIENT, &x) != 0)
                return -1;
            o->per_client = (int)x;
        } else if (!strcmp(a, "--count")) {
            if (b_num(a, v, 1, 1000000, &x) != 0)
                return -1;
            o->count = (int)x;
        } else if (!strcmp(a, "--depths")) {
            if (b_depth_list(v, o) != 0) {
                fprintf(stderr, "zn_bench_signals: --depths takes 1 to %d numbers from 1 to 4096, e.g. 1,8,64\n",
                        B_MAX_DEPTHS);
                return -1;
            }
        } else if (!strcmp(a, "--zorgnetd")) {
            if (snprintf(o->zorgnetd, sizeof o->zorgnetd, "%s", v) >= (int)sizeof o->zorgnetd)
                return -1;
        } else if (!strcmp(a, "--timeout")) {
            if (b_num(a, v, 1, 86400, &x) != 0)
                return -1;
            o->timeout_s = (int)x;
        } else if (!strcmp(a, "--dir")) {
            o->base = v;
        } else {
            fprintf(stderr, "zn_bench_signals: unknown option %s\n", a);
            return -1;
        }
    }
    if (o->threads * o->per_client * o->n_depths >= ZN_MAX_PARTNERS) {
        fprintf(stderr, "zn_bench_signals: threads x partners per thread x depths must stay below %d partners\n",
                ZN_MAX_PARTNERS);
        return -1;
    }
    if ((o->count + o->per_client - 1) / o->per_client > B_MAX_PER_PARTNER) {
        fprintf(stderr, "zn_bench_signals: at most %d registrations per partner and day (signal_rate_day at its"
                        " maximum): lower --count or raise --partners-per-thread\n", B_MAX_PER_PARTNER);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    b_opts o;
    if (b_parse(argc, argv, &o) != 0) {
        b_usage(stderr);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "zn_bench_signals: libsodium could not start\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    snprintf(g_top, sizeof g_top, "%s/zn-bench-signals-XXXXXX", o.base && *o.base ? o.base : "/tmp");
    if (!mkdtemp(g_top)) {
        fprintf(stderr, "zn_bench_signals: cannot create a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    pthread_t wd;
    if (pthread_create(&wd, NULL, b_watchdog, &o.timeout_s) != 0 || pthread_detach(wd) != 0) {
        fprintf(stderr, "zn_bench_signals: cannot start the watchdog\n");
        b_cleanup();
        return 1;
    }
    char template_path[PATH_MAX + 64];
    snprintf(template_path, sizeof template_path, "%s/filled.db", g_top);
    bool broker = o.phase & B_PHASE_BROKER;
    if (o.phase & B_PHASE_STORE)
        b_store_phase(o.signals, broker ? template_path : NULL);
    else
        b_make_template(o.signals, template_path);
    int rc = broker ? b_broker_phase(&o, template_path, o.signals) : 0;
    if (rc != 0 || bc_failed())
        fprintf(stderr, "zn_bench_signals: FAILED: %s\n", bc_fail_msg()[0] ? bc_fail_msg() : "see the messages above");
    if (g_keep)
        fprintf(stderr, "zn_bench_signals: files kept in %s\n", g_top);
    b_cleanup();
    return rc != 0 || bc_failed() ? 1 : 0;
}
