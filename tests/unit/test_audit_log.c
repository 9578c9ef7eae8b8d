/* The broker's audit log (broker/audit.h) on a real store in a temporary directory:
 *
 * - appends get the indexes 0, 1, 2, ... and each row holds d = SHA-256(salt || entry bytes);
 * - signed tree heads at many sizes (around the powers of two and the stored node level) carry
 *   the root of a tree rebuilt from scratch over the stored commitments;
 * - inclusion proofs for every index of a size and consistency proofs for a sample of (m, n)
 *   verify with the verifiers of zn_merkle;
 * - a rolled back savepoint or transaction undoes its appends (and a head signed in it), and the
 *   next append reuses the index;
 * - a reopened log continues its tree and its head; entries committed after the last head (a
 *   crash before the next one) are kept and the next head covers them consistently;
 * - a database changed behind the broker's back (a commitment, a missing entry, a missing node,
 *   a broken head) refuses to open;
 * - redaction deletes entry and salt of old personal entries, keeps the tree, records itself, and
 *   the deleted bytes are gone from the database file and the WAL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "audit.h"
#include "store.h"
#include "zn_merkle.h"

#include <limits.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HL ZN_MERKLE_HASH_LEN
#define S_MAX_ROWS 4096
#define S_T0 UINT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

/* ---- fixture -------------------------------------------------------------------------------- */

typedef struct {
    char dir[64];
    char path[96];
    zn_store *s;
    zn_seckeys key;
    zn_audit_log *a;
} s_fix;

static void s_open(s_fix *f)
{
    zn_err e;
    zn_err_clear(&e);
    assert_int_equal(zn_store_open(f->path, &f->s, &e), 0);
    if (zn_audit_log_open(f->s, &f->key, false, &f->a, &e) != 0)
        fail_msg("zn_audit_log_open: %s: %s", zn_code_name(e.code), e.text);
    assert_non_null(f->a);
}

static void s_close(s_fix *f)
{
    zn_audit_log_close(&f->a);
    assert_null(f->a);
    zn_audit_log_close(&f->a); /* safe twice */
    zn_store_close(&f->s);
}

static int s_setup(void **state)
{
    s_fix *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_true(sodium_init() >= 0);
    strcpy(f->dir, "/tmp/zn-test-audit-log-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/broker.db", f->dir);
    assert_int_equal(zn_keys_generate(ZN_KIND_BROKER, &f->key), 0);
    s_open(f);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    s_fix *f = *state;
    zn_audit_log_close(&f->a);
    zn_store_close(&f->s);
    zn_seckeys_wipe(&f->key);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* ---- appending -------------------------------------------------------------------------------- */

/* What an entry says; every entry differs (index, time, the evidence bytes). */
typedef struct {
    const char *actor, *counterpart;
    const char *action;
    bool evidence;
} s_what;

static const char *const s_actions[] = {"send", "deliver", "ack", "hello", "case-new"};

/* Append one entry inside the open transaction; it must get index `want`. */
static uint64_t s_append_what(s_fix *f, uint64_t now, const s_what *w, uint64_t want)
{
    uint8_t case_id[ZN_ID_LEN], ev[48], sig[ZN_SIG_LEN], blob[20];
    randombytes_buf(case_id, sizeof case_id);
    randombytes_buf(ev, sizeof ev);
    randombytes_buf(sig, sizeof sig);
    randombytes_buf(blob, sizeof blob);
    zn_audit_detail det[] = {
        {.key = "blob", .type = ZN_AUDIT_BIN, .p = blob, .len = sizeof blob},
        {.key = "n", .type = ZN_AUDIT_U64, .u64 = want},
    };
    zn_audit_entry en = {.actor = w->actor, .action = w->action ? w->action : s_actions[want % 5],
                         .case_id = w->actor ? case_id : NULL, .counterpart = w->counterpart,
                         .decision = ZN_AUDIT_ALLOWED, .details = det, .n_details = 2};
    if (w->evidence) {
        en.handler = "J. de Vries (IB)";
        en.evidence_kind = "request";
        en.evidence = ev;
        en.evidence_len = sizeof ev;
        en.evidence_sig = sig;
    }
    uint64_t idx = UINT64_MAX;
    assert_int_equal(zn_audit_size(f->a), want);
    assert_int_equal(zn_audit_append(f->a, &en, now, &idx), 0);
    assert_int_equal(idx, want);
    assert_int_equal(en.index, want);
    assert_int_equal(en.time_ms, now);
    assert_int_equal(zn_audit_size(f->a), want + 1);
    return idx;
}

static uint64_t s_append(s_fix *f, uint64_t now, uint64_t want)
{
    s_what w = {.actor = want % 3 ? "school" : NULL, .counterpart = want % 2 ? "wijkracht" : NULL,
                .evidence = want % 4 == 1};
    return s_append_what(f, now, &w, want);
}

static void s_begin(s_fix *f)
{
    assert_int_equal(zn_store_begin(f->s), 0);
    zn_audit_tx_begin(f->a);
}

/* The broker's order: write the pending entries, then commit. */
static void s_commit(s_fix *f)
{
    assert_int_equal(zn_audit_flush(f->a), 0);
    assert_int_equal(zn_store_commit(f->s), 0);
    zn_audit_tx_end(f->a);
}

/* Grow the log to `size` entries in one transaction; sign a head for it when `head`. */
static void s_grow(s_fix *f, uint64_t size, bool head)
{
    s_begin(f);
    for (uint64_t i = zn_audit_size(f->a); i < size; i++)
        (void)s_append(f, S_T0 + i, i);
    if (head)
        assert_int_equal(zn_audit_sign_head(f->a, S_T0 + size + 1000), 0);
    s_commit(f);
}

/* ---- reading the rows back -------------------------------------------------------------------- */

typedef struct {
    uint64_t idx, time_ms;
    uint8_t d[HL];
    bool redacted;
    uint8_t salt[ZN_AUDIT_SALT_LEN];
    uint8_t *entry;
    size_t len;
} s_row;

typedef struct {
    s_row *rows;
    size_t n;
} s_rows;

static int s_rows_cb(void *ctx, const zn_audit_row *r)
{
    s_rows *v = ctx;
    assert_true(v->n < S_MAX_ROWS);
    s_row *w = &v->rows[v->n++];
    memset(w, 0, sizeof *w);
    w->idx = r->idx;
    w->time_ms = r->time_ms;
    assert_non_null(r->d);
    memcpy(w->d, r->d, HL);
    assert_true((r->salt == NULL) == (r->entry == NULL));
    w->redacted = r->entry == NULL;
    if (!w->redacted) {
        memcpy(w->salt, r->salt, ZN_AUDIT_SALT_LEN);
        w->entry = malloc(r->entry_len);
        assert_non_null(w->entry);
        memcpy(w->entry, r->entry, r->entry_len);
        w->len = r->entry_len;
    }
    return 0;
}

/* Every row, in order; the indexes have no gaps. */
static s_rows s_read(s_fix *f)
{
    s_rows v = {calloc(S_MAX_ROWS, sizeof(s_row)), 0};
    assert_non_null(v.rows);
    int n = zn_store_audit_scan(f->s, 0, UINT64_MAX, S_MAX_ROWS, s_rows_cb, &v);
    assert_int_equal(n, (int)v.n);
    for (size_t i = 0; i < v.n; i++)
        assert_int_equal(v.rows[i].idx, i);
    return v;
}

static void s_rows_free(s_rows *v)
{
    for (size_t i = 0; v->rows && i < v->n; i++)
        free(v->rows[i].entry);
    free(v->rows);
    memset(v, 0, sizeof *v);
}

/* The root of the first `size` rows, from scratch: leaf hashes of the d's folded in memory. */
static void s_ref_root(const s_rows *v, uint64_t size, uint8_t out[HL])
{
    assert_true(size <= v->n);
    zn_merkle_frontier fr;
    zn_merkle_frontier_init(&fr);
    for (uint64_t i = 0; i < size; i++) {
        uint8_t leaf[HL];
        zn_merkle_leaf_hash(leaf, v->rows[i].d, HL);
        assert_int_equal(zn_merkle_append(&fr, leaf, NULL, NULL), 0);
    }
    zn_merkle_frontier_root(&fr, out);
}

/* Roots of every size 0..v->n (roots[k] is the root of the first k rows). */
static uint8_t *s_ref_roots(const s_rows *v)
{
    uint8_t *roots = malloc((v->n + 1) * HL);
    assert_non_null(roots);
    zn_merkle_frontier fr;
    zn_merkle_frontier_init(&fr);
    zn_merkle_frontier_root(&fr, roots);
    for (size_t i = 0; i < v->n; i++) {
        uint8_t leaf[HL];
        zn_merkle_leaf_hash(leaf, v->rows[i].d, HL);
        assert_int_equal(zn_merkle_append(&fr, leaf, NULL, NULL), 0);
        zn_merkle_frontier_root(&fr, roots + (i + 1) * HL);
    }
    return roots;
}

/* Each row with content holds d = SHA-256(salt || entry) and an entry that decodes to its own
 * index and time. */
static void s_check_commitments(const s_rows *v)
{
    for (size_t i = 0; i < v->n; i++) {
        const s_row *r = &v->rows[i];
        if (r->redacted)
            continue;
        uint8_t d[HL];
        zn_audit_commit(d, r->salt, r->entry, r->len);
        assert_memory_equal(d, r->d, HL);
        zn_doc doc = {0};
        zn_audit_entry en;
        zn_audit_detail det[ZN_AUDIT_DETAILS_MAX];
        zn_err e;
        assert_int_equal(zn_audit_entry_decode(r->entry, r->len, &doc, &en, det, &e), 0);
        assert_int_equal(en.index, r->idx);
        assert_int_equal(en.time_ms, r->time_ms);
        zn_doc_free(&doc);
    }
}

/* The log's latest head, verified with the broker's public signing key. */
static void s_head(s_fix *f, zn_tree_head *th)
{
    size_t len = 0;
    const uint8_t *sig = NULL;
    zn_tree_head mem;
    const uint8_t *head = zn_audit_head(f->a, &len, &sig, &mem);
    assert_non_null(head);
    assert_non_null(sig);
    zn_err e;
    zn_err_clear(&e);
    if (zn_tree_head_verify(head, len, sig, f->key.pub.sign, th, &e) != 0)
        fail_msg("tree head: %s", e.text);
    assert_int_equal(mem.size, th->size);
    assert_memory_equal(mem.root, th->root, HL);
}

/* ---- appends, commitments, roots --------------------------------------------------------------- */

static void test_append_indexes_and_commitments(void **state)
{
    s_fix *f = *state;
    assert_int_equal(zn_audit_size(f->a), 0);
    assert_false(zn_audit_off(f->a));
    size_t len = 1;
    const uint8_t *sig = (const uint8_t *)"x";
    assert_null(zn_audit_head(f->a, &len, &sig, NULL)); /* no head before the first */
    assert_int_equal(len, 0);
    assert_null(sig);

    /* three transactions of 1, 5 and 20 entries */
    uint64_t want = 0;
    const int batches[] = {1, 5, 20};
    for (int b = 0; b < 3; b++) {
        s_begin(f);
        for (int i = 0; i < batches[b]; i++, want++)
            assert_int_equal(s_append(f, S_T0 + 10 * want, want), want);
        s_commit(f);
    }
    assert_int_equal(zn_audit_size(f->a), 26);
    uint64_t size = 0;
    assert_int_equal(zn_store_audit_size(f->s, &size), 0);
    assert_int_equal(size, 26);

    s_rows v = s_read(f);
    assert_int_equal(v.n, 26);
    s_check_commitments(&v);
    for (size_t i = 0; i < v.n; i++) {
        assert_false(v.rows[i].redacted);
        assert_int_equal(v.rows[i].time_ms, S_T0 + 10 * i);
        for (size_t j = 0; j < i; j++) /* fresh salts */
            assert_memory_not_equal(v.rows[i].salt, v.rows[j].salt, ZN_AUDIT_SALT_LEN);
    }
    /* the decoded entry says what was appended */
    zn_doc doc = {0};
    zn_audit_entry en;
    zn_audit_detail det[ZN_AUDIT_DETAILS_MAX];
    assert_int_equal(zn_audit_entry_decode(v.rows[5].entry, v.rows[5].len, &doc, &en, det, NULL), 0);
    assert_string_equal(en.actor, "school");
    assert_string_equal(en.counterpart, "wijkracht");
    assert_string_equal(en.action, "send");
    assert_int_equal(en.decision, ZN_AUDIT_ALLOWED);
    assert_non_null(en.evidence_kind);
    assert_int_equal(en.n_details, 2);
    assert_int_equal(det[1].u64, 5);
    zn_doc_free(&doc);

    /* a head over them */
    s_begin(f);
    assert_int_equal(zn_audit_sign_head(f->a, S_T0 + 5000), 0);
    s_commit(f);
    zn_tree_head th;
    s_head(f, &th);
    assert_int_equal(th.size, 26);
    assert_int_equal(th.time_ms, S_T0 + 5000);
    uint8_t root[HL];
    s_ref_root(&v, 26, root);
    assert_memory_equal(th.root, root, HL);
    s_rows_free(&v);
}

/* An entry that breaks the format is refused and appends nothing. */
static void test_bad_entry_appends_nothing(void **state)
{
    s_fix *f = *state;
    s_grow(f, 3, false);
    s_begin(f);
    zn_audit_entry en = {.action = "Not An Ident", .decision = ZN_AUDIT_ALLOWED};
    uint64_t idx = 77;
    assert_int_equal(zn_audit_append(f->a, &en, S_T0, &idx), -1);
    assert_int_equal(zn_audit_size(f->a), 3);
    (void)s_append(f, S_T0 + 3, 3);
    s_commit(f);
    s_rows v = s_read(f);
    assert_int_equal(v.n, 4);
    s_check_commitments(&v);
    s_rows_free(&v);
}

typedef struct {
    s_fix *f;
    size_t n;
} s_heads;

static int s_heads_cb(void *ctx, uint64_t size, const uint8_t *head, size_t len, const uint8_t *sig, size_t slen)
{
    s_heads *hs = ctx;
    zn_tree_head th;
    assert_int_equal(slen, ZN_SIG_LEN);
    assert_int_equal(zn_tree_head_verify(head, len, sig, hs->f->key.pub.sign, &th, NULL), 0);
    assert_int_equal(th.size, size);
    hs->n++;
    return 0;
}

static void test_roots_at_many_sizes(void **state)
{
    s_fix *f = *state;
    static const uint64_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65,
                                     100, 127, 128, 129, 255, 256, 257, 300};
    uint8_t prev_root[HL];
    uint64_t prev_size = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        s_grow(f, sizes[k], true);
        zn_tree_head th;
        s_head(f, &th);
        assert_int_equal(th.size, sizes[k]);
        s_rows v = s_read(f);
        assert_int_equal(v.n, sizes[k]);
        uint8_t root[HL];
        s_ref_root(&v, sizes[k], root);
        if (memcmp(root, th.root, HL) != 0)
            fail_msg("the signed root of size %llu is not the root of the stored commitments",
                     (unsigned long long)sizes[k]);
        /* the new head extends the previous one, by a proof from the log's nodes */
        uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * HL];
        uint32_t n = 0;
        if (prev_size) {
            assert_int_equal(zn_audit_consistency(f->a, prev_size, th.size, proof, &n), 0);
            assert_int_equal(zn_merkle_verify_consistency(prev_size, th.size, prev_root, th.root, proof, n), 0);
        }
        memcpy(prev_root, th.root, HL);
        prev_size = th.size;
        s_rows_free(&v);
    }
    /* the head table holds one head per size signed, each verifying, under its size */
    s_heads hs = {f, 0};
    assert_int_equal(zn_store_audit_heads(f->s, 0, UINT64_MAX, 1000, s_heads_cb, &hs), (int)(sizeof sizes / sizeof sizes[0]));
    assert_int_equal(hs.n, sizeof sizes / sizeof sizes[0]);
    s_rows v = s_read(f);
    s_check_commitments(&v);
    s_rows_free(&v);
}

/* Signing without new entries keeps the head; a head is due only after a while. */
static void test_head_only_when_grown(void **state)
{
    s_fix *f = *state;
    assert_false(zn_audit_head_due(f->a, S_T0)); /* nothing to cover */
    s_grow(f, 5, false);
    assert_true(zn_audit_head_due(f->a, S_T0)); /* no head yet */
    s_grow(f, 5, true);
    zn_tree_head th;
    s_head(f, &th);
    size_t len1, len2;
    const uint8_t *sig1, *sig2;
    uint8_t copy[ZN_TREE_HEAD_MAX];
    const uint8_t *h1 = zn_audit_head(f->a, &len1, &sig1, NULL);
    memcpy(copy, h1, len1);
    s_begin(f);
    assert_int_equal(zn_audit_sign_head(f->a, th.time_ms + 60000), 0);
    s_commit(f);
    const uint8_t *h2 = zn_audit_head(f->a, &len2, &sig2, NULL);
    assert_int_equal(len1, len2);
    assert_memory_equal(copy, h2, len1); /* unchanged: same size, same time */
    s_grow(f, 6, false);
    assert_false(zn_audit_head_due(f->a, th.time_ms + ZN_AUDIT_HEAD_EVERY_MS - 1));
    assert_true(zn_audit_head_due(f->a, th.time_ms + ZN_AUDIT_HEAD_EVERY_MS));
}

/* ---- proofs ------------------------------------------------------------------------------------ */

static void test_inclusion_every_index(void **state)
{
    s_fix *f = *state;
    s_grow(f, 300, true);
    s_rows v = s_read(f);
    uint8_t *roots = s_ref_roots(&v);
    static const uint64_t sizes[] = {1, 2, 3, 15, 16, 17, 31, 32, 33, 100, 255, 256, 257, 300};
    uint64_t checked = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint64_t size = sizes[k];
        const uint8_t *root = roots + size * HL;
        for (uint64_t i = 0; i < size; i++) {
            uint8_t proof[ZN_MERKLE_MAX_INCLUSION * HL], leaf[HL];
            uint32_t n = 99;
            assert_int_equal(zn_audit_inclusion(f->a, i, size, proof, &n), 0);
            zn_merkle_leaf_hash(leaf, v.rows[i].d, HL);
            if (zn_merkle_verify_inclusion(leaf, i, size, proof, n, root) != 0)
                fail_msg("inclusion proof of %llu in %llu does not verify", (unsigned long long)i,
                         (unsigned long long)size);
            /* another leaf at that place does not */
            zn_merkle_leaf_hash(leaf, v.rows[(i + 1) % v.n].d, HL);
            if (size > 1)
                assert_int_equal(zn_merkle_verify_inclusion(leaf, i, size, proof, n, root), -1);
            checked++;
        }
    }
    /* an index outside the tree has no proof */
    uint8_t proof[ZN_MERKLE_MAX_INCLUSION * HL];
    uint32_t n = 0;
    assert_int_equal(zn_audit_inclusion(f->a, 17, 17, proof, &n), -1);
    assert_int_equal(n, 0);
    print_message("%llu inclusion proofs verified\n", (unsigned long long)checked);
    free(roots);
    s_rows_free(&v);
}

static void test_consistency_sample(void **state)
{
    s_fix *f = *state;
    s_grow(f, 300, true);
    s_rows v = s_read(f);
    uint8_t *roots = s_ref_roots(&v);
    uint64_t checked = 0;
    for (uint64_t size = 1; size <= 300; size++) {
        for (uint64_t m = 1; m < size; m++) {
            /* all pairs up to 40; beyond, the sizes around the powers of two and a stride */
            bool edge = (m & (m - 1)) == 0 || ((m + 1) & m) == 0 || ((m - 1) & (m - 2)) == 0;
            bool pick = size <= 40 || (edge && (size % 16 <= 1 || size % 37 == 0)) || (size == 300 && m % 7 == 0);
            if (!pick)
                continue;
            uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * HL];
            uint32_t n = 0;
            assert_int_equal(zn_audit_consistency(f->a, m, size, proof, &n), 0);
            if (zn_merkle_verify_consistency(m, size, roots + m * HL, roots + size * HL, proof, n) != 0)
                fail_msg("consistency proof %llu -> %llu does not verify", (unsigned long long)m,
                         (unsigned long long)size);
            /* not from another tree of that size */
            assert_int_equal(zn_merkle_verify_consistency(m, size, roots + (m - 1) * HL, roots + size * HL, proof, n), -1);
            checked++;
        }
    }
    /* m = 0 and m = size: nothing to prove */
    uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * HL];
    uint32_t n = 9;
    assert_int_equal(zn_audit_consistency(f->a, 0, 300, proof, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(zn_audit_consistency(f->a, 300, 300, proof, &n), 0);
    assert_int_equal(n, 0);
    print_message("%llu consistency proofs verified\n", (unsigned long long)checked);
    free(roots);
    s_rows_free(&v);
}

/* ---- rollbacks --------------------------------------------------------------------------------- */

/* The entry after a rolled back savepoint gets the rolled back index, and the tree holds it, not
 * the undone one; also across a stored node (index 15 completes node (4, 0)). */
static void test_savepoint_rollback(void **state)
{
    s_fix *f = *state;
    s_grow(f, 14, true);
    zn_tree_head before;
    s_head(f, &before);

    s_begin(f);
    (void)s_append(f, S_T0 + 14, 14);
    /* one request inside a savepoint: appends 15 and 16 and signs a head, then is rolled back */
    assert_int_equal(zn_store_savepoint(f->s), 0);
    zn_audit_mark(f->a);
    (void)s_append(f, S_T0 + 15, 15);
    (void)s_append(f, S_T0 + 16, 16);
    assert_int_equal(zn_audit_sign_head(f->a, S_T0 + 99999), 0);
    zn_store_rollback_to(f->s);
    assert_int_equal(zn_audit_undo(f->a), 0);
    assert_int_equal(zn_audit_size(f->a), 15);
    zn_tree_head th;
    s_head(f, &th);
    assert_int_equal(th.size, before.size); /* the head signed in it is gone too */
    assert_memory_equal(th.root, before.root, HL);
    /* a savepoint that appended nothing */
    assert_int_equal(zn_store_savepoint(f->s), 0);
    zn_audit_mark(f->a);
    zn_store_rollback_to(f->s);
    assert_int_equal(zn_audit_undo(f->a), 0);
    assert_int_equal(zn_audit_size(f->a), 15);
    /* the next request reuses index 15 */
    s_what w = {.actor = "politie", .action = "case-new"};
    assert_int_equal(s_append_what(f, S_T0 + 20, &w, 15), 15);
    (void)s_append(f, S_T0 + 21, 16);
    assert_int_equal(zn_audit_sign_head(f->a, S_T0 + 30000), 0);
    s_commit(f);

    s_rows v = s_read(f);
    assert_int_equal(v.n, 17);
    s_check_commitments(&v);
    assert_int_equal(v.rows[15].time_ms, S_T0 + 20);
    zn_doc doc = {0};
    zn_audit_entry en;
    zn_audit_detail det[ZN_AUDIT_DETAILS_MAX];
    assert_int_equal(zn_audit_entry_decode(v.rows[15].entry, v.rows[15].len, &doc, &en, det, NULL), 0);
    assert_string_equal(en.actor, "politie");
    zn_doc_free(&doc);
    s_head(f, &th);
    assert_int_equal(th.size, 17);
    uint8_t root[HL];
    s_ref_root(&v, 17, root);
    assert_memory_equal(th.root, root, HL);
    /* the stored node (4, 0) is the one of the kept entries: proofs verify */
    for (uint64_t i = 0; i < 17; i++) {
        uint8_t proof[ZN_MERKLE_MAX_INCLUSION * HL], leaf[HL];
        uint32_t n = 0;
        assert_int_equal(zn_audit_inclusion(f->a, i, 17, proof, &n), 0);
        zn_merkle_leaf_hash(leaf, v.rows[i].d, HL);
        assert_int_equal(zn_merkle_verify_inclusion(leaf, i, 17, proof, n, root), 0);
    }
    uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * HL];
    uint32_t n = 0;
    assert_int_equal(zn_audit_consistency(f->a, before.size, 17, proof, &n), 0);
    assert_int_equal(zn_merkle_verify_consistency(before.size, 17, before.root, root, proof, n), 0);
    s_rows_free(&v);

    /* and a reopened log agrees */
    s_close(f);
    s_open(f);
    assert_int_equal(zn_audit_size(f->a), 17);
}

static void test_transaction_rollback(void **state)
{
    s_fix *f = *state;
    s_grow(f, 10, true);
    zn_tree_head before;
    s_head(f, &before);

    /* a whole batch rolled back: 10..40 (completing nodes at levels 4 and 5) and a head */
    s_begin(f);
    for (uint64_t i = 10; i < 40; i++)
        (void)s_append(f, S_T0 + i, i);
    assert_int_equal(zn_audit_sign_head(f->a, S_T0 + 77777), 0);
    zn_store_rollback(f->s);
    assert_int_equal(zn_audit_tx_undo(f->a), 0);
    assert_int_equal(zn_audit_size(f->a), 10);
    zn_tree_head th;
    s_head(f, &th);
    assert_int_equal(th.size, 10);
    assert_memory_equal(th.root, before.root, HL);

    /* a transaction that appended nothing */
    s_begin(f);
    zn_store_rollback(f->s);
    assert_int_equal(zn_audit_tx_undo(f->a), 0);
    assert_int_equal(zn_audit_size(f->a), 10);

    /* the next batch starts at 10 again */
    s_begin(f);
    s_what w = {.actor = "ggd", .counterpart = "politie", .action = "send"};
    assert_int_equal(s_append_what(f, S_T0 + 1000, &w, 10), 10);
    for (uint64_t i = 11; i < 40; i++)
        (void)s_append(f, S_T0 + 1000 + i, i);
    assert_int_equal(zn_audit_sign_head(f->a, S_T0 + 88888), 0);
    s_commit(f);
    s_rows v = s_read(f);
    assert_int_equal(v.n, 40);
    s_check_commitments(&v);
    assert_int_equal(v.rows[10].time_ms, S_T0 + 1000);
    s_head(f, &th);
    assert_int_equal(th.size, 40);
    uint8_t root[HL];
    s_ref_root(&v, 40, root);
    assert_memory_equal(th.root, root, HL);
    uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * HL];
    uint32_t n = 0;
    assert_int_equal(zn_audit_consistency(f->a, 10, 40, proof, &n), 0);
    assert_int_equal(zn_merkle_verify_consistency(10, 40, before.root, root, proof, n), 0);
    s_rows_free(&v);
    s_close(f);
    s_open(f);
    s_head(f, &th);
    assert_int_equal(th.size, 40);
}

/* ---- reopening --------------------------------------------------------------------------------- */

static void test_reopen_continues(void **state)
{
    s_fix *f = *state;
    s_grow(f, 37, true);
    size_t len;
    const uint8_t *sig;
    uint8_t head[ZN_TREE_HEAD_MAX], hsig[ZN_SIG_LEN];
    const uint8_t *p = zn_audit_head(f->a, &len, &sig, NULL);
    memcpy(head, p, len);
    memcpy(hsig, sig, ZN_SIG_LEN);
    zn_tree_head before;
    s_head(f, &before);

    for (int round = 0; round < 3; round++) {
        s_close(f);
        s_open(f);
        uint64_t size = zn_audit_size(f->a);
        assert_int_equal(size, 37 + 20 * (uint64_t)round);
        size_t len2;
        const uint8_t *sig2;
        p = zn_audit_head(f->a, &len2, &sig2, NULL);
        assert_non_null(p);
        if (round == 0) {
            assert_int_equal(len2, len);
            assert_memory_equal(p, head, len);
            assert_memory_equal(sig2, hsig, ZN_SIG_LEN);
        }
        s_grow(f, size + 20, true);
    }
    zn_tree_head th;
    s_head(f, &th);
    assert_int_equal(th.size, 97);
    s_rows v = s_read(f);
    s_check_commitments(&v);
    uint8_t root[HL];
    s_ref_root(&v, 97, root);
    assert_memory_equal(th.root, root, HL);
    uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * HL];
    uint32_t n = 0;
    assert_int_equal(zn_audit_consistency(f->a, 37, 97, proof, &n), 0);
    assert_int_equal(zn_merkle_verify_consistency(37, 97, before.root, th.root, proof, n), 0);
    s_rows_free(&v);
}

/* Entries committed after the last head (the broker died before signing the next one) are part
 * of the log: the log opens, and the next head covers them, consistent with the old one. */
static void test_entries_after_last_head(void **state)
{
    s_fix *f = *state;
    s_grow(f, 40, true);
    zn_tree_head before;
    s_head(f, &before);
    for (int i = 0; i < 3; i++) /* three batches, each committed, no head */
        s_grow(f, 40 + 5 * (uint64_t)(i + 1), false);
    s_close(f);

    s_open(f);
    assert_int_equal(zn_audit_size(f->a), 55);
    zn_tree_head th;
    s_head(f, &th);
    assert_int_equal(th.size, 40);
    assert_memory_equal(th.root, before.root, HL);
    assert_true(zn_audit_head_due(f->a, th.time_ms + ZN_AUDIT_HEAD_EVERY_MS));
    /* the tree continues after them */
    s_grow(f, 60, true);
    s_head(f, &th);
    assert_int_equal(th.size, 60);
    s_rows v = s_read(f);
    s_check_commitments(&v);
    uint8_t root[HL];
    s_ref_root(&v, 60, root);
    assert_memory_equal(th.root, root, HL);
    uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * HL];
    uint32_t n = 0;
    assert_int_equal(zn_audit_consistency(f->a, 40, 60, proof, &n), 0);
    assert_int_equal(zn_merkle_verify_consistency(40, 60, before.root, th.root, proof, n), 0);
    s_rows_free(&v);
}

/* ---- tampering at rest ------------------------------------------------------------------------- *
 * A log of 100 entries with a head of size 100: stored nodes (4, 0..5), (5, 0..2), (6, 0); the
 * root of 100 is folded from (6, 0), (5, 2) and the last four commitments. Each test changes the
 * database with sqlite3 while the log is closed; the log must refuse to open, whichever entry or
 * node was touched. */

static void s_build_100(s_fix *f)
{
    s_grow(f, 100, true);
    s_close(f);
}

static void s_sql(s_fix *f, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_close(db);
}

/* Flip one bit in byte `at` of d of entry idx. */
static void s_flip_d(s_fix *f, uint64_t idx, int at)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    uint8_t d[HL];
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT d FROM audit WHERE idx = ?1", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)idx);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(st, 0), HL);
    memcpy(d, sqlite3_column_blob(st, 0), HL);
    sqlite3_finalize(st);
    d[at] ^= 0x01;
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE audit SET d = ?1 WHERE idx = ?2", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_blob(st, 1, d, HL, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)idx);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_close(db);
}

/* The store opens; the log does not (ZN_E_VERIFY, a sentence about the audit log). */
static void s_expect_refused(s_fix *f, const char *what)
{
    zn_err e;
    zn_err_clear(&e);
    assert_int_equal(zn_store_open(f->path, &f->s, &e), 0);
    zn_audit_log *a = (zn_audit_log *)(uintptr_t)1;
    int rc = zn_audit_log_open(f->s, &f->key, false, &a, &e);
    if (rc == 0) {
        zn_audit_log_close(&a);
        fail_msg("the audit log opened after %s", what);
    }
    assert_null(a);
    if (e.code != ZN_E_VERIFY)
        fail_msg("after %s: code %s (%s), not verification-failed", what, zn_code_name(e.code), e.text);
    assert_non_null(strstr(e.text, "audit log"));
    print_message("refused after %s: %s\n", what, e.text);
}

static void test_tamper_d_in_tail(void **state)
{
    s_fix *f = *state;
    s_build_100(f);
    s_flip_d(f, 98, 0);
    s_expect_refused(f, "a changed commitment of entry 98");
}

static void test_tamper_d_under_stored_node(void **state)
{
    s_fix *f = *state;
    s_build_100(f);
    s_flip_d(f, 5, 31);
    s_expect_refused(f, "a changed commitment of entry 5");
}

static void test_tamper_last_entry_deleted(void **state)
{
    s_fix *f = *state;
    s_build_100(f);
    s_sql(f, "DELETE FROM audit WHERE idx = 99");
    s_expect_refused(f, "deleting entry 99");
}

static void test_tamper_middle_entry_deleted(void **state)
{
    s_fix *f = *state;
    s_build_100(f);
    s_sql(f, "DELETE FROM audit WHERE idx = 50");
    s_expect_refused(f, "deleting entry 50");
}

static void test_tamper_root_node_deleted(void **state)
{
    s_fix *f = *state;
    s_build_100(f);
    s_sql(f, "DELETE FROM audit_node WHERE level = 6 AND idx = 0");
    s_expect_refused(f, "deleting node (6, 0)");
}

static void test_tamper_inner_node_deleted(void **state)
{
    s_fix *f = *state;
    s_build_100(f);
    s_sql(f, "DELETE FROM audit_node WHERE level = 4 AND idx = 1");
    s_expect_refused(f, "deleting node (4, 1)");
}

static void test_tamper_head_signature(void **state)
{
    s_fix *f = *state;
    s_build_100(f);
    s_sql(f, "UPDATE audit_head SET sig = zeroblob(64) WHERE size = 100");
    zn_err e;
    zn_err_clear(&e);
    assert_int_equal(zn_store_open(f->path, &f->s, &e), 0);
    zn_audit_log *a = NULL;
    assert_int_equal(zn_audit_log_open(f->s, &f->key, false, &a, &e), -1);
    assert_null(a);
    assert_non_null(strstr(e.text, "tree head"));
}

/* The log the tamper tests start from opens as it is. */
static void test_tamper_untouched_log_opens(void **state)
{
    s_fix *f = *state;
    s_build_100(f);
    s_open(f);
    assert_int_equal(zn_audit_size(f->a), 100);
}

/* ---- redaction --------------------------------------------------------------------------------- */

/* memmem, without asking for _GNU_SOURCE */
static bool s_contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    if (m == 0 || m > n)
        return m == 0;
    const uint8_t *end = hay + (n - m) + 1; /* first position past the last possible start */
    for (const uint8_t *p = hay; p < end && (p = memchr(p, needle[0], (size_t)(end - p))) != NULL; p++)
        if (memcmp(p, needle, m) == 0)
            return true;
    return false;
}

static bool s_file_has(const char *path, const uint8_t *needle, size_t n, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    if (size)
        *size = 0;
    if (!fp)
        return false;
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long len = ftell(fp);
    assert_true(len >= 0);
    assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
    uint8_t *buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    if (size)
        *size = (size_t)len;
    bool hit = s_contains(buf, (size_t)len, needle, n);
    free(buf);
    return hit;
}

static bool s_on_disk(s_fix *f, const uint8_t *needle, size_t n)
{
    char wal[128];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    return s_file_has(f->path, needle, n, NULL) || s_file_has(wal, needle, n, NULL);
}

typedef struct {
    bool personal;
    uint64_t time_ms;
} s_kind;

static void test_redaction(void **state)
{
    s_fix *f = *state;
    /* 120 entries an hour apart from T0, of four kinds: actor and counterpart, actor only,
     * counterpart only, neither (the broker's own entries) */
    enum { N = 120 };
    const uint64_t hour = 3600000u;
    s_begin(f);
    for (uint64_t i = 0; i < N; i++) {
        s_what w = {.actor = (i % 4 == 0 || i % 4 == 1) ? "school" : NULL,
                    .counterpart = (i % 4 == 0 || i % 4 == 2) ? "wijkracht" : NULL,
                    .action = i % 4 == 3 ? "convenant-load" : NULL, .evidence = i % 2 == 0};
        (void)s_append_what(f, S_T0 + i * hour, &w, i);
    }
    assert_int_equal(zn_audit_sign_head(f->a, S_T0 + N * hour), 0);
    s_commit(f);
    zn_tree_head old;
    s_head(f, &old);
    s_rows before = s_read(f);
    assert_int_equal(before.n, N);
    /* the bytes are on disk now (the WAL or the database) */
    assert_true(s_on_disk(f, before.rows[0].entry, before.rows[0].len));
    assert_true(s_on_disk(f, before.rows[0].salt, ZN_AUDIT_SALT_LEN));

    /* redact everything recorded before entry 80, in steps of at most 25 looked at */
    const uint64_t cut = S_T0 + 80 * hour, now = S_T0 + (N + 5) * hour;
    uint64_t total = 0, steps = 0, redacted = 1, firsts[16], lasts[16], counts[16];
    while (redacted && steps < 16) {
        s_begin(f);
        assert_int_equal(zn_audit_redact(f->a, cut, now + steps, 25, &redacted), 0);
        assert_int_equal(zn_audit_sign_head(f->a, now + steps), 0);
        s_commit(f);
        counts[steps] = redacted;
        total += redacted;
        steps++;
    }
    assert_int_equal(redacted, 0);
    assert_int_equal(total, 60); /* 3 of every 4 of the first 80 */
    assert_int_equal(zn_store_checkpoint_truncate(f->s), 0);

    s_rows after = s_read(f);
    uint64_t redact_entries = 0;
    for (size_t i = 0; i < after.n; i++) {
        const s_row *r = &after.rows[i];
        assert_memory_equal(r->d, i < N ? before.rows[i].d : r->d, HL); /* d stays */
        bool personal = i < N && i % 4 != 3;
        bool due = i < 80;
        if (personal && due) {
            if (!r->redacted)
                fail_msg("entry %zu (personal, before the cut) was not redacted", i);
        } else {
            if (r->redacted)
                fail_msg("entry %zu was redacted but should stay", i);
        }
        if (i < N)
            continue;
        /* the redaction entries */
        zn_doc doc = {0};
        zn_audit_entry en;
        zn_audit_detail det[ZN_AUDIT_DETAILS_MAX];
        assert_int_equal(zn_audit_entry_decode(r->entry, r->len, &doc, &en, det, NULL), 0);
        assert_string_equal(en.action, "redact");
        assert_null(en.actor);
        assert_null(en.counterpart);
        assert_int_equal(en.decision, ZN_AUDIT_ALLOWED);
        assert_int_equal(en.n_details, 4);
        assert_string_equal(det[0].key, "before");
        assert_int_equal(det[0].u64, cut);
        assert_string_equal(det[1].key, "count");
        assert_string_equal(det[2].key, "first");
        assert_string_equal(det[3].key, "last");
        assert_true(redact_entries < steps);
        assert_int_equal(det[1].u64, counts[redact_entries]);
        firsts[redact_entries] = det[2].u64;
        lasts[redact_entries] = det[3].u64;
        assert_true(firsts[redact_entries] <= lasts[redact_entries]);
        assert_true(lasts[redact_entries] < 80);
        if (redact_entries)
            assert_true(firsts[redact_entries] > lasts[redact_entries - 1]);
        redact_entries++;
        zn_doc_free(&doc);
    }
    assert_int_equal(redact_entries, steps - 1); /* the last step found nothing and wrote nothing */
    assert_int_equal(firsts[0], 0);
    assert_int_equal(lasts[redact_entries - 1], 78);
    s_check_commitments(&after);

    /* the tree is the same: the old root, the old head, proofs */
    uint8_t root[HL];
    s_ref_root(&after, N, root);
    assert_memory_equal(root, old.root, HL);
    zn_tree_head th;
    s_head(f, &th);
    assert_int_equal(th.size, after.n);
    s_ref_root(&after, after.n, root);
    assert_memory_equal(th.root, root, HL);
    uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * HL];
    uint32_t n = 0;
    assert_int_equal(zn_audit_consistency(f->a, N, th.size, proof, &n), 0);
    assert_int_equal(zn_merkle_verify_consistency(N, th.size, old.root, th.root, proof, n), 0);
    for (uint64_t i = 0; i < 80; i += 7) {
        uint8_t leaf[HL];
        assert_int_equal(zn_audit_inclusion(f->a, i, th.size, proof, &n), 0);
        zn_merkle_leaf_hash(leaf, after.rows[i].d, HL);
        assert_int_equal(zn_merkle_verify_inclusion(leaf, i, th.size, proof, n, th.root), 0);
    }

    /* and the bytes are gone from the disk: database file and WAL */
    int leaked_entries = 0, leaked_salts = 0, kept_found = 0;
    for (size_t i = 0; i < N; i++) {
        const s_row *b = &before.rows[i];
        if (!after.rows[i].redacted) {
            kept_found += s_on_disk(f, b->entry, b->len);
            continue;
        }
        if (s_on_disk(f, b->entry, b->len)) {
            print_message("the bytes of redacted entry %zu are still on disk\n", i);
            leaked_entries++;
        }
        if (s_on_disk(f, b->salt, ZN_AUDIT_SALT_LEN)) {
            print_message("the salt of redacted entry %zu is still on disk\n", i);
            leaked_salts++;
        }
    }
    assert_int_equal(kept_found, N - 60); /* the scan finds what is there */
    assert_int_equal(leaked_entries, 0);
    assert_int_equal(leaked_salts, 0);

    /* and after reopening, the log still opens against its head */
    s_close(f);
    s_open(f);
    assert_int_equal(zn_audit_size(f->a), after.n);
    s_rows_free(&before);
    s_rows_free(&after);
}

/* Nothing before the cut: nothing redacted, no entry. */
static void test_redaction_nothing_to_do(void **state)
{
    s_fix *f = *state;
    s_grow(f, 10, true);
    uint64_t redacted = 9;
    s_begin(f);
    assert_int_equal(zn_audit_redact(f->a, S_T0, S_T0 + 100000, 100, &redacted), 0);
    s_commit(f);
    assert_int_equal(redacted, 0);
    assert_int_equal(zn_audit_size(f->a), 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_indexes_and_commitments, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_entry_appends_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_roots_at_many_sizes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_head_only_when_grown, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_inclusion_every_index, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_consistency_sample, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_savepoint_rollback, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_transaction_rollback, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_continues, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_entries_after_last_head, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_untouched_log_opens, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_d_in_tail, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_d_under_stored_node, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_last_entry_deleted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_middle_entry_deleted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_root_node_deleted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_inner_node_deleted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_head_signature, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_redaction, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_redaction_nothing_to_do, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
