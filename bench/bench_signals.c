/* zn_bench_signals — the broker's signal store with many active signals (issue "Signals",
 * docs/PERFORMANCE.md): how fast signals go in, how long the match look-up takes, and that
 * memory stays at sqlite's page cache whatever the number of signals.
 *
 * In a fresh temporary directory it opens a store (zn_store_open, as zorgnetd does) and fills it
 * with N active signals (default 1,000,000), B_FILL_BATCH per transaction. Each signal has a
 * person pseudonym and two related ones (33 bytes, epoch 1, random); about one signal in 1000
 * shares a pseudonym with another partner's signal (half on the person, half in the family), so
 * the store holds matches. Partners, handlers and networks rotate over a few dozen names.
 *
 * It measures at two sizes in the same run, N/10 and N (100,000 and 1,000,000 by default):
 *   signals-fill      signals inserted per second (durable commits of B_FILL_BATCH)
 *   signals-lookup    B_LOOKUPS calls of zn_store_signal_matches for a fresh signal of another
 *                     partner with 3 pseudonyms, each taken with probability 1/2 from an
 *                     existing signal (else new): mean, p50, p99 and max in ms
 *   signals-memory    VmRSS and VmHWM of this process (/proc/self/status) after the fill and
 *                     after the look-ups, sqlite's own heap (in use, peak) and the page cache the
 *                     store asks for (PRAGMA cache_size)
 * then, at N, registrations as the broker makes them (find, put, match look-up, a match row per
 * match, a rate event) with durable commits at batch sizes 1, 100 and 512 (signals-register),
 * and the ratios of the two sizes (signals-growth).
 *
 * Usage: zn_bench_signals [N] [--dir DIR] [--keep]. Times are printed, never judged: the exit
 * status is 0 unless the store fails (1) or the usage is wrong (2). */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

static b_mem b_memory(void)
{
    b_mem m = {-1, -1};
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
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
    b_mem m = b_memory();
    printf("signals-memory n=%" PRIu64 " after=%s vmrss_mb=%.1f vmhwm_mb=%.1f sqlite_heap_mb=%.1f"
           " sqlite_heap_peak_mb=%.1f store_cache_size_mb=%.1f\n",
           n, stage, m.rss_kb / 1024.0, m.hwm_kb / 1024.0, (double)sqlite3_memory_used() / 1048576.0,
           (double)sqlite3_memory_highwater(0) / 1048576.0, B_STORE_CACHE_KIB / 1024.0);
}

static double b_file_mb(const char *dir, const char *name)
{
    char path[640];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 ? (double)st.st_size / 1048576.0 : 0.0;
}

/* Fill signals [from, to) in transactions of B_FILL_BATCH. */
static void b_fill(zn_store *s, const char *dir, uint64_t from, uint64_t to)
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
           to, to - from, B_FILL_BATCH, dt, (double)(to - from) / dt, b_file_mb(dir, "signals.db"),
           b_file_mb(dir, "signals.db-wal"));
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

static void b_usage(void)
{
    fprintf(stderr, "usage: zn_bench_signals [N] [--dir DIR] [--keep]\n"
                    "  N     active signals to fill (default 1000000; at least 1000)\n"
                    "  DIR   where the temporary directory goes (default $TMPDIR or /tmp)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    uint64_t n = 1000000;
    const char *base = getenv("TMPDIR");
    bool keep = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            base = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0)
            keep = true;
        else {
            char *end = NULL;
            errno = 0;
            unsigned long long v = strtoull(argv[i], &end, 10);
            if (errno || !end || *end || argv[i][0] == '-' || v < 1000 || v > 100000000ull)
                b_usage();
            n = v;
        }
    }
    char dir[512], path[640];
    snprintf(dir, sizeof dir, "%s/zn-bench-signals-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir))
        b_die("mkdtemp");
    snprintf(path, sizeof path, "%s/signals.db", dir);
    zn_store *s = NULL;
    zn_err e;
    if (zn_store_open(path, &s, &e) != 0) {
        fprintf(stderr, "zn_bench_signals: %s\n", e.text);
        return 1;
    }
    printf("signals-setup n=%" PRIu64 " dir=%s psns_per_signal=3 shared_one_in=%d partners=%d store_cache_size_mb=%.0f"
           " sqlite=%s\n",
           n, dir, B_SHARE_EVERY, B_PARTNERS, B_STORE_CACHE_KIB / 1024.0, sqlite3_libversion());
    b_print_memory("open", 0);

    const uint64_t sizes[2] = {n / 10, n};
    b_lat lat[2];
    b_mem mem[2];
    uint64_t filled = 0;
    for (int k = 0; k < 2; k++) {
        b_fill(s, dir, filled, sizes[k]);
        filled = sizes[k];
        b_print_memory("fill", filled);
        lat[k] = b_lookups(s, filled);
        b_print_memory("lookups", filled);
        mem[k] = b_memory();
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
           " vmrss_ratio=%.2f vmrss_small_mb=%.1f vmrss_large_mb=%.1f\n",
           sizes[0], sizes[1], lat[1].p50 / lat[0].p50, lat[1].p99 / lat[0].p99,
           (double)mem[1].rss_kb / (double)mem[0].rss_kb, mem[0].rss_kb / 1024.0, mem[1].rss_kb / 1024.0);
    zn_store_close(&s);
    if (!keep) {
        const char *files[] = {"signals.db", "signals.db-wal", "signals.db-shm"};
        for (size_t i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, files[i]);
            (void)unlink(path);
        }
        (void)rmdir(dir);
    }
    return 0;
}
