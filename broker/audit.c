/* audit — the broker's audit log (see audit.h). */
#include "audit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define S_SALTS 128
#define S_PARALLEL_MIN 64 /* pending entries from which a helper thread hashes half of them */

/* An entry appended in this transaction and not yet written (see zn_audit_flush). */
typedef struct {
    size_t off, len; /* its bytes in the arena */
    uint64_t time_ms;
    uint8_t salt[ZN_AUDIT_SALT_LEN];
    uint8_t d[ZN_HASH_LEN], leaf[ZN_HASH_LEN];
} s_pending;

/* The helper thread that computes commitments and leaf hashes of a range of pending entries. */
typedef struct {
    pthread_t thread;
    bool started, stop, busy;
    pthread_mutex_t lock;
    pthread_cond_t go, done;
    size_t from, to;
} s_hasher;

struct zn_audit_log {
    zn_store *store;
    const zn_seckeys *key;
    bool off;
    zn_merkle_frontier fr;
    uint64_t mark_size, tx_size;   /* size at the last savepoint / transaction start */
    uint64_t head_size_at_mark, head_size_at_tx;
    /* the latest signed head */
    uint8_t head[ZN_TREE_HEAD_MAX];
    size_t head_len;
    uint8_t head_sig[ZN_SIG_LEN];
    zn_tree_head th;
    msgpack_sbuffer sb;
    /* Salts are drawn from the system's random source S_SALTS at a time (one system call per
     * S_SALTS entries, not per entry); each is wiped from the pool once used. */
    uint8_t salts[S_SALTS][ZN_AUDIT_SALT_LEN];
    unsigned n_salts; /* unused salts left, at the end of the pool */
    /* The entries appended in this transaction, their bytes end to end in `arena`; the first
     * n_written are in the store. They stay until the transaction ends, so a savepoint rolled
     * back after a flush can make the earlier ones pending again. */
    s_pending *pend;
    size_t n_pend, n_written, cap_pend;
    size_t mark_pend, mark_written; /* at the last savepoint */
    msgpack_sbuffer arena;
    s_hasher hasher;
};

/* ---- node access for zn_merkle ---------------------------------------------------------- */

/* Node (level, index): stored from ZN_AUDIT_NODE_LEVEL up, else folded from its commitments. */
static int s_get(void *ctx, unsigned level, uint64_t index, uint8_t out[ZN_MERKLE_HASH_LEN])
{
    zn_audit_log *a = ctx;
    if (level >= ZN_AUDIT_NODE_LEVEL)
        return zn_store_audit_node_get(a->store, level, index, out);
    uint8_t ds[(1u << ZN_AUDIT_NODE_LEVEL) * ZN_HASH_LEN];
    uint64_t n = UINT64_C(1) << level;
    if (zn_store_audit_ds(a->store, index << level, n, ds) != 0)
        return -1;
    for (uint64_t i = 0; i < n; i++) /* leaves in place, then pairs upwards */
        zn_merkle_leaf_hash(ds + i * ZN_HASH_LEN, ds + i * ZN_HASH_LEN, ZN_HASH_LEN);
    for (; n > 1; n /= 2)
        for (uint64_t i = 0; i < n / 2; i++)
            zn_merkle_node_hash(ds + i * ZN_HASH_LEN, ds + 2 * i * ZN_HASH_LEN, ds + (2 * i + 1) * ZN_HASH_LEN);
    memcpy(out, ds, ZN_HASH_LEN);
    return 0;
}

static int s_emit(void *ctx, unsigned level, uint64_t index, const uint8_t hash[ZN_MERKLE_HASH_LEN])
{
    zn_audit_log *a = ctx;
    return level < ZN_AUDIT_NODE_LEVEL ? 0 : zn_store_audit_node_put(a->store, level, index, hash);
}

/* ---- pending entries ---------------------------------------------------------------------- */

/* Commitments and leaf hashes of pending entries [from, to). */
static void s_hash_range(zn_audit_log *a, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        s_pending *p = &a->pend[i];
        zn_audit_commit(p->d, p->salt, (const uint8_t *)a->arena.data + p->off, p->len);
        zn_merkle_leaf_hash(p->leaf, p->d, ZN_HASH_LEN);
    }
}

static void *s_hasher_main(void *arg)
{
    zn_audit_log *a = arg;
    s_hasher *h = &a->hasher;
    pthread_mutex_lock(&h->lock);
    for (;;) {
        while (!h->busy && !h->stop)
            pthread_cond_wait(&h->go, &h->lock);
        if (h->stop)
            break;
        pthread_mutex_unlock(&h->lock);
        s_hash_range(a, h->from, h->to);
        pthread_mutex_lock(&h->lock);
        h->busy = false;
        pthread_cond_signal(&h->done);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

static void s_hasher_start(zn_audit_log *a)
{
    s_hasher *h = &a->hasher;
    if (pthread_mutex_init(&h->lock, NULL) != 0)
        return;
    if (pthread_cond_init(&h->go, NULL) != 0 || pthread_cond_init(&h->done, NULL) != 0 ||
        pthread_create(&h->thread, NULL, s_hasher_main, a) != 0)
        return; /* without the helper, the flushing thread hashes everything itself */
    h->started = true;
}

static void s_hasher_stop(zn_audit_log *a)
{
    s_hasher *h = &a->hasher;
    if (!h->started)
        return;
    pthread_mutex_lock(&h->lock);
    h->stop = true;
    pthread_cond_signal(&h->go);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    pthread_cond_destroy(&h->go);
    pthread_cond_destroy(&h->done);
    pthread_mutex_destroy(&h->lock);
    h->started = false;
}

/* Hash the entries not yet written, half of them on the helper thread when there are many. */
static void s_hash_pending(zn_audit_log *a)
{
    s_hasher *h = &a->hasher;
    size_t from = a->n_written, half = from + (a->n_pend - from) / 2;
    if (!h->started || a->n_pend - from < S_PARALLEL_MIN) {
        s_hash_range(a, from, a->n_pend);
        return;
    }
    pthread_mutex_lock(&h->lock);
    h->from = half, h->to = a->n_pend, h->busy = true;
    pthread_cond_signal(&h->go);
    pthread_mutex_unlock(&h->lock);
    s_hash_range(a, from, half);
    pthread_mutex_lock(&h->lock);
    while (h->busy)
        pthread_cond_wait(&h->done, &h->lock);
    pthread_mutex_unlock(&h->lock);
}

/* Forget the entries from `keep` on (their salts wiped). */
static void s_drop_pending(zn_audit_log *a, size_t keep)
{
    for (size_t i = keep; i < a->n_pend; i++)
        sodium_memzero(a->pend[i].salt, ZN_AUDIT_SALT_LEN);
    if (keep < a->n_pend)
        a->arena.size = a->pend[keep].off;
    a->n_pend = keep;
    if (a->n_written > keep)
        a->n_written = keep;
}

/* ---- loading ------------------------------------------------------------------------------ */

static int s_head_cb(void *ctx, uint64_t size, const uint8_t *head, size_t len, const uint8_t *sig, size_t slen)
{
    zn_audit_log *a = ctx;
    if (len == 0 || len > sizeof a->head || slen != ZN_SIG_LEN)
        return -1;
    memcpy(a->head, head, len);
    a->head_len = len;
    memcpy(a->head_sig, sig, ZN_SIG_LEN);
    a->th.size = size;
    return 0;
}

/* Read the latest head and the tree's edge from the store. */
static int s_load(zn_audit_log *a, zn_err *e)
{
    uint64_t size = 0;
    a->head_len = 0;
    memset(&a->th, 0, sizeof a->th);
    if (zn_store_audit_size(a->store, &size) != 0 || zn_store_audit_head_latest(a->store, s_head_cb, a) < 0)
        return zn_err_set(e, ZN_E_STORE, "the audit log cannot be read");
    if (a->head_len) {
        zn_tree_head th;
        if (zn_tree_head_verify(a->head, a->head_len, a->head_sig, a->key->pub.sign, &th, e) != 0)
            return zn_err_prefix(e, "the audit log's latest tree head");
        if (th.size != a->th.size)
            return zn_err_set(e, ZN_E_VERIFY, "the audit log's latest tree head is stored under another size");
        a->th = th;
    }
    if (zn_merkle_frontier_load(&a->fr, s_get, a, size) != 0)
        return zn_err_set(e, ZN_E_VERIFY, "the audit log's tree cannot be rebuilt from the database: entries or "
                                          "nodes are missing");
    a->mark_size = a->tx_size = size;
    a->head_size_at_mark = a->head_size_at_tx = a->th.size;
    return 0;
}

typedef struct {
    zn_audit_log *a;
    bool bad;
} s_verify_ctx;

/* Every node the rebuild completes must be the stored one. */
static int s_verify_emit(void *ctx, unsigned level, uint64_t index, const uint8_t hash[ZN_MERKLE_HASH_LEN])
{
    s_verify_ctx *v = ctx;
    uint8_t stored[ZN_HASH_LEN];
    if (level < ZN_AUDIT_NODE_LEVEL)
        return 0;
    if (zn_store_audit_node_get(v->a->store, level, index, stored) != 0 ||
        sodium_memcmp(stored, hash, ZN_HASH_LEN) != 0) {
        v->bad = true;
        return -1;
    }
    return 0;
}

/* Rebuild the tree from every stored commitment: no entry may be missing, every stored node
 * must match, and the root of the head's size must be the signed one. */
static int s_check_head(zn_audit_log *a, zn_err *e)
{
    if (a->th.size > a->fr.size)
        return zn_err_set(e, ZN_E_VERIFY, "the audit log holds %llu entries, fewer than its signed tree head of "
                          "size %llu: entries were removed", (unsigned long long)a->fr.size,
                          (unsigned long long)a->th.size);
    enum { CHUNK = 256 };
    uint8_t ds[CHUNK * ZN_HASH_LEN], root[ZN_HASH_LEN];
    zn_merkle_frontier fr;
    zn_merkle_frontier_init(&fr);
    s_verify_ctx v = {a, false};
    bool root_ok = a->th.size == 0;
    for (uint64_t i = 0; i < a->fr.size;) {
        uint64_t n = a->fr.size - i < CHUNK ? a->fr.size - i : CHUNK;
        if (zn_store_audit_ds(a->store, i, n, ds) != 0)
            return zn_err_set(e, ZN_E_VERIFY, "the audit log misses entries between %llu and %llu: entries were removed",
                              (unsigned long long)i, (unsigned long long)(i + n));
        for (uint64_t j = 0; j < n; j++, i++) {
            uint8_t leaf[ZN_HASH_LEN];
            zn_merkle_leaf_hash(leaf, ds + j * ZN_HASH_LEN, ZN_HASH_LEN);
            if (zn_merkle_append(&fr, leaf, s_verify_emit, &v) != 0)
                return zn_err_set(e, ZN_E_VERIFY, "the audit log's stored tree does not match its entries "
                                  "near entry %llu: the log was changed", (unsigned long long)i);
            if (fr.size == a->th.size) {
                zn_merkle_frontier_root(&fr, root);
                root_ok = sodium_memcmp(root, a->th.root, ZN_HASH_LEN) == 0;
            }
        }
    }
    if (!root_ok)
        return zn_err_set(e, ZN_E_VERIFY, "the audit log's first %llu entries do not match their signed tree "
                          "head: the log was changed", (unsigned long long)a->th.size);
    return 0;
}

int zn_audit_log_open(zn_store *s, const zn_seckeys *broker, bool off, zn_audit_log **out, zn_err *e)
{
    *out = NULL;
    zn_audit_log *a = calloc(1, sizeof *a);
    if (!a)
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory");
    a->store = s;
    a->key = broker;
    a->off = off;
    msgpack_sbuffer_init(&a->sb);
    msgpack_sbuffer_init(&a->arena);
    zn_merkle_frontier_init(&a->fr);
    if (s_load(a, e) != 0)
        goto fail;
    if (a->fr.size && s_check_head(a, e) != 0)
        goto fail;
    if (!off)
        s_hasher_start(a);
    *out = a;
    return 0;
fail:
    zn_audit_log_close(&a);
    return -1;
}

void zn_audit_log_close(zn_audit_log **ap)
{
    if (!ap || !*ap)
        return;
    zn_audit_log *a = *ap;
    s_hasher_stop(a);
    s_drop_pending(a, 0);
    msgpack_sbuffer_destroy(&a->sb);
    msgpack_sbuffer_destroy(&a->arena);
    free(a->pend);
    sodium_memzero(a->salts, sizeof a->salts);
    free(a);
    *ap = NULL;
}

bool zn_audit_off(const zn_audit_log *a) { return a->off; }
uint64_t zn_audit_size(const zn_audit_log *a) { return a->fr.size + (a->n_pend - a->n_written); }

/* ---- appending ---------------------------------------------------------------------------- */

int zn_audit_append(zn_audit_log *a, zn_audit_entry *en, uint64_t now_ms, uint64_t *index)
{
    if (a->off) {
        *index = 0;
        return 0;
    }
    if (a->n_pend == a->cap_pend) {
        size_t cap = a->cap_pend ? 2 * a->cap_pend : 256;
        s_pending *p = realloc(a->pend, cap * sizeof *p);
        if (!p)
            return -1;
        a->pend = p, a->cap_pend = cap;
    }
    en->index = zn_audit_size(a);
    en->time_ms = now_ms;
    size_t off = a->arena.size;
    if (zn_audit_entry_encode(&a->arena, en, NULL) != 0)
        return -1; /* appends nothing */
    s_pending *p = &a->pend[a->n_pend++];
    p->off = off;
    p->len = a->arena.size - off;
    p->time_ms = now_ms;
    if (!a->n_salts) {
        randombytes_buf(a->salts, sizeof a->salts);
        a->n_salts = S_SALTS;
    }
    memcpy(p->salt, a->salts[--a->n_salts], ZN_AUDIT_SALT_LEN);
    sodium_memzero(a->salts[a->n_salts], ZN_AUDIT_SALT_LEN);
    *index = en->index;
    return 0;
}

int zn_audit_flush(zn_audit_log *a)
{
    if (a->n_written == a->n_pend)
        return 0;
    s_hash_pending(a);
    /* the rows in groups, then the tree; on failure the caller rolls the transaction back */
    enum { ROWS = 64 };
    zn_audit_row rows[ROWS];
    for (size_t i = a->n_written; i < a->n_pend;) {
        size_t n = 0;
        for (; n < ROWS && i + n < a->n_pend; n++) {
            const s_pending *p = &a->pend[i + n];
            rows[n] = (zn_audit_row){.idx = a->fr.size + (i + n - a->n_written), .time_ms = p->time_ms, .d = p->d,
                                     .salt = p->salt, .entry = (const uint8_t *)a->arena.data + p->off,
                                     .entry_len = p->len};
        }
        if (zn_store_audit_insert_rows(a->store, rows, n) != 0)
            return -1;
        i += n;
    }
    for (; a->n_written < a->n_pend; a->n_written++)
        if (zn_merkle_append(&a->fr, a->pend[a->n_written].leaf, s_emit, a) != 0)
            return -1;
    return 0;
}

/* ---- transactions ------------------------------------------------------------------------- */

void zn_audit_mark(zn_audit_log *a)
{
    a->mark_size = a->fr.size;
    a->head_size_at_mark = a->th.size;
    a->mark_pend = a->n_pend;
    a->mark_written = a->n_written;
}

void zn_audit_tx_end(zn_audit_log *a)
{
    s_drop_pending(a, 0);
    msgpack_sbuffer_clear(&a->arena);
}

void zn_audit_tx_begin(zn_audit_log *a)
{
    zn_audit_tx_end(a);
    zn_audit_mark(a);
    a->tx_size = a->fr.size;
    a->head_size_at_tx = a->th.size;
}

static int s_reload_if(zn_audit_log *a, uint64_t size, uint64_t head_size)
{
    if (a->fr.size == size && a->th.size == head_size)
        return 0;
    zn_err e;
    return s_load(a, &e);
}

/* The store rolled back to the savepoint: entries appended after it go; entries written after
 * it (a flush inside the savepoint) are pending again, and the tree's edge is read anew. */
int zn_audit_undo(zn_audit_log *a)
{
    s_drop_pending(a, a->mark_pend);
    a->n_written = a->mark_written;
    return s_reload_if(a, a->mark_size, a->head_size_at_mark);
}

int zn_audit_tx_undo(zn_audit_log *a)
{
    s_drop_pending(a, 0);
    return s_reload_if(a, a->tx_size, a->head_size_at_tx);
}

/* ---- tree heads ----------------------------------------------------------------------------- */

bool zn_audit_head_due(const zn_audit_log *a, uint64_t now_ms)
{
    return !a->off && zn_audit_size(a) > a->th.size && (a->head_len == 0 || now_ms >= a->th.time_ms + ZN_AUDIT_HEAD_EVERY_MS);
}

int zn_audit_sign_head(zn_audit_log *a, uint64_t now_ms)
{
    if (a->off)
        return 0;
    if (zn_audit_flush(a) != 0)
        return -1;
    if (a->head_len && a->fr.size <= a->th.size)
        return 0;
    zn_tree_head th = {.size = a->fr.size, .time_ms = now_ms};
    uint8_t sig[ZN_SIG_LEN];
    zn_merkle_frontier_root(&a->fr, th.root);
    msgpack_sbuffer_clear(&a->sb);
    if (zn_tree_head_sign(&a->sb, sig, &th, a->key, NULL) != 0 || a->sb.size > sizeof a->head ||
        zn_store_audit_head_put(a->store, th.size, now_ms, (const uint8_t *)a->sb.data, a->sb.size, sig) != 0)
        return -1;
    memcpy(a->head, a->sb.data, a->sb.size);
    a->head_len = a->sb.size;
    memcpy(a->head_sig, sig, sizeof sig);
    a->th = th;
    return 0;
}

const uint8_t *zn_audit_head(const zn_audit_log *a, size_t *len, const uint8_t **sig, zn_tree_head *th)
{
    *len = a->head_len;
    *sig = a->head_len ? a->head_sig : NULL;
    if (th)
        *th = a->th;
    return a->head_len ? a->head : NULL;
}

/* ---- proofs ----------------------------------------------------------------------------------- */

int zn_audit_inclusion(zn_audit_log *a, uint64_t index, uint64_t size, uint8_t *out, uint32_t *n)
{
    size_t got = 0;
    *n = 0;
    if (zn_audit_flush(a) != 0)
        return -1;
    int rc = zn_merkle_inclusion_proof(s_get, a, index, size, out, ZN_MERKLE_MAX_INCLUSION, &got);
    *n = (uint32_t)got;
    return rc;
}

int zn_audit_consistency(zn_audit_log *a, uint64_t m, uint64_t size, uint8_t *out, uint32_t *n)
{
    size_t got = 0;
    *n = 0;
    if (m == 0 || m >= size)
        return 0; /* nothing to prove: every tree extends the empty one, and a tree itself */
    if (zn_audit_flush(a) != 0)
        return -1;
    int rc = zn_merkle_consistency_proof(s_get, a, m, size, out, ZN_MERKLE_MAX_CONSISTENCY, &got);
    *n = (uint32_t)got;
    return rc;
}

/* ---- redaction -------------------------------------------------------------------------------- */

typedef struct {
    zn_audit_log *a;
    uint64_t before_ms;
    uint64_t next;             /* first index not yet looked at */
    uint64_t first, last, count;
    bool done, failed;
} s_redact_ctx;

static int s_redact_cb(void *ctx, const zn_audit_row *r)
{
    s_redact_ctx *x = ctx;
    if (r->time_ms >= x->before_ms) {
        x->done = true;
        return 1;
    }
    x->next = r->idx + 1;
    if (!r->entry)
        return 0;
    zn_doc doc = {0};
    zn_audit_entry en;
    zn_audit_detail details[ZN_AUDIT_DETAILS_MAX];
    bool personal = true; /* an entry that does not decode is redacted too */
    if (zn_audit_entry_decode(r->entry, r->entry_len, &doc, &en, details, NULL) == 0)
        personal = en.actor || en.counterpart;
    zn_doc_free(&doc);
    if (!personal)
        return 0;
    if (zn_store_audit_redact(x->a->store, r->idx) != 0) {
        x->failed = true;
        return 1;
    }
    if (!x->count++)
        x->first = r->idx;
    x->last = r->idx;
    return 0;
}

int zn_audit_redact(zn_audit_log *a, uint64_t before_ms, uint64_t now_ms, uint32_t max, uint64_t *redacted)
{
    *redacted = 0;
    if (a->off)
        return 0;
    s_redact_ctx x = {.a = a, .before_ms = before_ms};
    if (zn_audit_flush(a) != 0)
        return -1;
    if (zn_store_meta_get_u64(a->store, "audit_redacted_upto", &x.next) < 0)
        return -1;
    uint64_t from = x.next;
    if (zn_store_secure_delete(a->store, true) != 0)
        return -1;
    int n = zn_store_audit_scan(a->store, from, a->fr.size, (int)max, s_redact_cb, &x);
    int fast = zn_store_secure_delete(a->store, false);
    if (n < 0 || x.failed || fast != 0)
        return -1;
    if (x.next != from && zn_store_meta_set_u64(a->store, "audit_redacted_upto", x.next) != 0)
        return -1;
    if (!x.count)
        return 0;
    zn_audit_detail det[] = {
        {.key = "before", .type = ZN_AUDIT_U64, .u64 = before_ms},
        {.key = "count", .type = ZN_AUDIT_U64, .u64 = x.count},
        {.key = "first", .type = ZN_AUDIT_U64, .u64 = x.first},
        {.key = "last", .type = ZN_AUDIT_U64, .u64 = x.last},
    };
    zn_audit_entry en = {.action = "redact", .decision = ZN_AUDIT_ALLOWED, .reason = "retention",
                         .details = det, .n_details = sizeof det / sizeof det[0]};
    uint64_t idx;
    if (zn_audit_append(a, &en, now_ms, &idx) != 0)
        return -1;
    *redacted = x.count;
    return 0;
}
