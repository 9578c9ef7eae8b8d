/* zn_bench_proofs — audit proofs from the broker's store at scale (see docs/PERFORMANCE.md).
 *
 * Builds a broker database with N audit entries (default 1,000,000; realistic "send" entries
 * with an envelope header as evidence) through the broker's own audit module, in transactions of
 * 512 entries with a signed head per transaction, then measures against the final head:
 *   - inclusion proofs of random entries and consistency proofs from random earlier sizes, each
 *     read from the store (O(log n) rows) and verified against the signed root;
 *   - reopening the log (rebuilding the tree's edge and checking the latest head).
 * Prints the mean and the worst time per proof. Exit 0 when every proof verified, 1 otherwise,
 * 2 on a usage error. */
#include "audit.h"
#include "store.h"
#include "zn_keys.h"
#include "zn_merkle.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define P_BATCH 512
#define P_PROOFS 2000

static double p_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The stored head of exactly one size, verified. */
typedef struct {
    const uint8_t *pk;
    zn_tree_head th;
    int ok;
} p_head;

static int p_head_cb(void *ctx, uint64_t size, const uint8_t *head, size_t len, const uint8_t *sig, size_t slen)
{
    p_head *h = ctx;
    zn_err e;
    h->ok = slen == ZN_SIG_LEN && zn_tree_head_verify(head, len, sig, h->pk, &h->th, &e) == 0 && h->th.size == size;
    return 0;
}

static int p_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Print mean, p50, p99 and worst of P_PROOFS times; returns p99. */
static double p_report(const char *what, double *t)
{
    double sum = 0;
    for (int i = 0; i < P_PROOFS; i++)
        sum += t[i];
    qsort(t, P_PROOFS, sizeof *t, p_cmp);
    printf("%s: mean %.3f ms, p50 %.3f ms, p99 %.3f ms, worst %.3f ms over %d\n", what, sum * 1e3 / P_PROOFS,
           t[P_PROOFS / 2] * 1e3, t[P_PROOFS * 99 / 100] * 1e3, t[P_PROOFS - 1] * 1e3, P_PROOFS);
    return t[P_PROOFS * 99 / 100];
}

static int p_fail(const char *what)
{
    fprintf(stderr, "zn_bench_proofs: %s\n", what);
    return 1;
}

/* Append n entries in transactions of P_BATCH, a head after each. */
static int p_fill(zn_store *s, zn_audit_log *a, uint64_t n)
{
    uint8_t header[131], sig[ZN_SIG_LEN], item[ZN_ID_LEN], kase[ZN_ID_LEN];
    randombytes_buf(header, sizeof header);
    randombytes_buf(sig, sizeof sig);
    randombytes_buf(kase, sizeof kase);
    uint64_t t = 1767225600000ull;
    for (uint64_t done = 0; done < n;) {
        if (zn_store_begin(s) != 0)
            return -1;
        zn_audit_tx_begin(a);
        for (int i = 0; i < P_BATCH && done < n; i++, done++, t++) {
            randombytes_buf(item, sizeof item);
            zn_audit_detail det = {.key = "item", .type = ZN_AUDIT_BIN, .p = item, .len = sizeof item};
            zn_audit_entry en = {.actor = "basisschool-de-linde", .handler = "J. de Vries (IB)", .action = "send",
                                 .case_id = kase, .counterpart = "wijkracht", .decision = ZN_AUDIT_ALLOWED,
                                 .evidence_kind = "envelope-header", .evidence = header,
                                 .evidence_len = sizeof header, .evidence_sig = sig, .details = &det, .n_details = 1};
            uint64_t idx;
            if (zn_audit_append(a, &en, t, &idx) != 0)
                return -1;
        }
        if (zn_audit_sign_head(a, t) != 0 || zn_store_commit(s) != 0)
            return -1;
        zn_audit_tx_end(a);
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t n = 1000000;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--entries") && i + 1 < argc) {
            errno = 0;
            unsigned long long v = strtoull(argv[++i], &end, 10);
            if (errno || !end || *end || v < 2 || v > 100000000ull)
                return fprintf(stderr, "zn_bench_proofs: --entries takes 2 to 100000000\n"), 2;
            n = v;
        } else {
            fprintf(stderr, "usage: zn_bench_proofs [--entries N]\n");
            return 2;
        }
    }
    if (sodium_init() < 0)
        return p_fail("libsodium could not start");
    char dir[PATH_MAX], db[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/zn_proofs.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return p_fail("cannot create a temporary directory");
    snprintf(db, sizeof db, "%s/broker.db", dir);

    int rc = 1;
    zn_err e;
    zn_seckeys key;
    zn_store *s = NULL;
    zn_audit_log *a = NULL;
    static double inc[P_PROOFS], con[P_PROOFS];
    if (zn_keys_generate(ZN_KIND_BROKER, &key) != 0 || zn_store_open(db, &s, &e) != 0 ||
        zn_audit_log_open(s, &key, false, &a, &e) != 0) {
        p_fail("cannot open the store");
        goto out;
    }
    double t0 = p_now();
    if (p_fill(s, a, n) != 0) {
        p_fail("cannot fill the audit log");
        goto out;
    }
    double fill = p_now() - t0;
    size_t head_len;
    const uint8_t *sig;
    zn_tree_head th;
    if (!zn_audit_head(a, &head_len, &sig, &th) || th.size != n) {
        p_fail("no head over the whole log");
        goto out;
    }
    /* close and reopen, as a restarted broker would: the WAL is checkpointed on close */
    zn_audit_log_close(&a);
    zn_store_close(&s);
    if (zn_store_open(db, &s, &e) != 0) {
        p_fail(e.text);
        goto out;
    }
    t0 = p_now();
    if (zn_audit_log_open(s, &key, false, &a, &e) != 0) { /* the edge rebuilt, the latest head checked */
        p_fail(e.text);
        goto out;
    }
    printf("reopen (edge rebuilt, latest head checked): %.3f ms\n", (p_now() - t0) * 1e3);
    uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * ZN_MERKLE_HASH_LEN];
    uint64_t heads = n / P_BATCH; /* a head at every multiple of P_BATCH */
    for (int i = 0; i < P_PROOFS; i++) {
        uint64_t idx = randombytes_uniform(UINT32_MAX) % n;
        uint64_t m = heads > 1 ? P_BATCH * (1 + randombytes_uniform(UINT32_MAX) % (heads - 1)) : 1;
        uint32_t np = 0;
        uint8_t d[ZN_HASH_LEN], leaf[ZN_HASH_LEN];
        double t = p_now();
        int ok = zn_audit_inclusion(a, idx, n, proof, &np) == 0 && zn_store_audit_ds(s, idx, 1, d) == 0;
        zn_merkle_leaf_hash(leaf, d, sizeof d);
        ok = ok && zn_merkle_verify_inclusion(leaf, idx, n, proof, np, th.root) == 0;
        inc[i] = p_now() - t;
        p_head old = {.pk = key.pub.sign};
        ok = ok && m < n && zn_store_audit_heads(s, m, m, 1, p_head_cb, &old) == 1 && old.ok;
        t = p_now();
        ok = ok && zn_audit_consistency(a, m, n, proof, &np) == 0 &&
             zn_merkle_verify_consistency(m, n, old.th.root, th.root, proof, np) == 0;
        con[i] = p_now() - t;
        if (!ok) {
            p_fail("a proof could not be read or did not verify");
            goto out;
        }
    }
    printf("audit-proofs entries=%llu fill_s=%.1f (%.1f us per entry, %d per transaction)\n",
           (unsigned long long)n, fill, fill * 1e6 / (double)n, P_BATCH);
    double p99_inc = p_report("inclusion proof (read + verify)", inc), p99_con = p_report("consistency proof (read + verify)", con);
    printf("target: a proof within 1 ms (p99): %s\n", p99_inc < 1e-3 && p99_con < 1e-3 ? "met" : "NOT met");
    rc = 0;
out:
    zn_audit_log_close(&a);
    zn_store_close(&s);
    zn_seckeys_wipe(&key);
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s%s", db, suffix[i]);
        (void)unlink(p);
    }
    (void)rmdir(dir);
    return rc;
}
