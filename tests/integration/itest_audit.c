/* itest_audit — the broker's audit log against the real zorgnetd on loopback: the entries a
 * session leaves behind (read from the database after the broker stopped), the audit indexes in
 * ACCEPTED, signed tree heads and consistency proofs in WELCOME, a crash before the next head,
 * a database changed at rest, redaction after the retention period, and refused handshakes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "audit.h" /* ZN_AUDIT_HEAD_EVERY_MS */
#include "harness.h"
#include "zn_audit.h"
#include "zn_merkle.h"

#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define HL ZN_MERKLE_HASH_LEN
#define S_MAX_ENTRIES 4096

/* ---- fixture ------------------------------------------------------------------------------- */

static int s_setup(void **state)
{
    zh_world *w = zh_world_new(0);
    if (!w)
        return -1;
    *state = w;
    return 0;
}

static int s_teardown(void **state)
{
    zh_world *w = *state;
    return zh_world_finish(&w);
}

/* ---- the log as stored in the database ------------------------------------------------------ */

typedef struct {
    uint64_t idx, time_ms;
    uint8_t d[HL];
    bool redacted;
    uint8_t salt[ZN_AUDIT_SALT_LEN];
    uint8_t *entry;
    size_t len;
    zn_doc doc;
    zn_audit_entry en; /* valid when !redacted */
    zn_audit_detail det[ZN_AUDIT_DETAILS_MAX];
} s_ent;

typedef struct {
    s_ent *e;
    size_t n;
    bool has_head; /* the latest stored head */
    uint64_t head_size;
    uint8_t head[ZN_TREE_HEAD_MAX];
    size_t head_len;
    uint8_t sig[ZN_SIG_LEN];
    zn_tree_head th; /* decoded and verified */
} s_log;

/* Read audit and audit_head with sqlite3 (read-only: a crashed broker's WAL stays as it was).
 * Every entry with content must hold d = SHA-256(salt || entry) and decode to its own index;
 * the latest head must verify with the broker's key. */
static void s_log_read(zh_env *h, s_log *lg)
{
    memset(lg, 0, sizeof *lg);
    lg->e = calloc(S_MAX_ENTRIES, sizeof *lg->e);
    assert_non_null(lg->e);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(h->db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT idx, time_ms, d, salt, entry FROM audit ORDER BY idx", -1, &st, NULL),
                     SQLITE_OK);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        assert_true(lg->n < S_MAX_ENTRIES);
        s_ent *x = &lg->e[lg->n];
        x->idx = (uint64_t)sqlite3_column_int64(st, 0);
        x->time_ms = (uint64_t)sqlite3_column_int64(st, 1);
        assert_int_equal(x->idx, lg->n); /* no gaps */
        assert_int_equal(sqlite3_column_bytes(st, 2), HL);
        memcpy(x->d, sqlite3_column_blob(st, 2), HL);
        bool no_salt = sqlite3_column_type(st, 3) == SQLITE_NULL, no_entry = sqlite3_column_type(st, 4) == SQLITE_NULL;
        assert_int_equal(no_salt, no_entry);
        x->redacted = no_entry;
        if (!x->redacted) {
            assert_int_equal(sqlite3_column_bytes(st, 3), ZN_AUDIT_SALT_LEN);
            memcpy(x->salt, sqlite3_column_blob(st, 3), ZN_AUDIT_SALT_LEN);
            x->len = (size_t)sqlite3_column_bytes(st, 4);
            x->entry = malloc(x->len);
            assert_non_null(x->entry);
            memcpy(x->entry, sqlite3_column_blob(st, 4), x->len);
            uint8_t d[HL];
            zn_audit_commit(d, x->salt, x->entry, x->len);
            if (memcmp(d, x->d, HL) != 0)
                fail_msg("entry %llu: d is not SHA-256(salt || entry)", (unsigned long long)x->idx);
            zn_err e;
            zn_err_clear(&e);
            if (zn_audit_entry_decode(x->entry, x->len, &x->doc, &x->en, x->det, &e) != 0)
                fail_msg("entry %llu does not decode: %s", (unsigned long long)x->idx, e.text);
            assert_int_equal(x->en.index, x->idx);
            assert_int_equal(x->en.time_ms, x->time_ms);
        }
        lg->n++;
    }
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT size, head, sig FROM audit_head ORDER BY size DESC LIMIT 1", -1,
                                        &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) {
        lg->has_head = true;
        lg->head_size = (uint64_t)sqlite3_column_int64(st, 0);
        lg->head_len = (size_t)sqlite3_column_bytes(st, 1);
        assert_true(lg->head_len > 0 && lg->head_len <= ZN_TREE_HEAD_MAX);
        memcpy(lg->head, sqlite3_column_blob(st, 1), lg->head_len);
        assert_int_equal(sqlite3_column_bytes(st, 2), ZN_SIG_LEN);
        memcpy(lg->sig, sqlite3_column_blob(st, 2), ZN_SIG_LEN);
        zn_err e;
        zn_err_clear(&e);
        if (zn_tree_head_verify(lg->head, lg->head_len, lg->sig, h->broker.pub.sign, &lg->th, &e) != 0)
            fail_msg("the latest stored tree head does not verify: %s", e.text);
        assert_int_equal(lg->th.size, lg->head_size);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void s_log_free(s_log *lg)
{
    for (size_t i = 0; lg->e && i < lg->n; i++) {
        zn_doc_free(&lg->e[i].doc);
        free(lg->e[i].entry);
    }
    free(lg->e);
    memset(lg, 0, sizeof *lg);
}

/* The root of the first `size` commitments, folded from scratch. */
static void s_root(const s_log *lg, uint64_t size, uint8_t out[HL])
{
    assert_true(size <= lg->n);
    zn_merkle_frontier fr;
    zn_merkle_frontier_init(&fr);
    for (uint64_t i = 0; i < size; i++) {
        uint8_t leaf[HL];
        zn_merkle_leaf_hash(leaf, lg->e[i].d, HL);
        assert_int_equal(zn_merkle_append(&fr, leaf, NULL, NULL), 0);
    }
    zn_merkle_frontier_root(&fr, out);
}

static bool s_str_is(const char *s, const char *want) { return s && strcmp(s, want) == 0; }

/* The first entry at or after `from` with this action (and actor, when given); -1 when none. */
static int s_find(const s_log *lg, size_t from, const char *action, const char *actor)
{
    for (size_t i = from; i < lg->n; i++)
        if (!lg->e[i].redacted && s_str_is(lg->e[i].en.action, action) && (!actor || s_str_is(lg->e[i].en.actor, actor)))
            return (int)i;
    return -1;
}

static const zn_audit_detail *s_detail(const s_ent *x, const char *key)
{
    for (size_t i = 0; i < x->en.n_details; i++)
        if (strcmp(x->det[i].key, key) == 0)
            return &x->det[i];
    return NULL;
}

static uint64_t s_detail_u64(const s_ent *x, const char *key)
{
    const zn_audit_detail *d = s_detail(x, key);
    if (!d || d->type != ZN_AUDIT_U64)
        fail_msg("entry %llu (%s) has no number \"%s\"", (unsigned long long)x->idx, x->en.action, key);
    return d->u64;
}

/* memmem without _GNU_SOURCE */
static bool s_contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    if (m == 0 || m > n)
        return m == 0;
    const uint8_t *end = hay + (n - m) + 1;
    for (const uint8_t *p = hay; p < end && (p = memchr(p, needle[0], (size_t)(end - p))) != NULL; p++)
        if (memcmp(p, needle, m) == 0)
            return true;
    return false;
}

/* True when the bin detail `key` holds this 16-byte id among its ids. */
static bool s_items_hold(const s_ent *x, const char *key, const uint8_t id[ZN_ID_LEN])
{
    const zn_audit_detail *d = s_detail(x, key);
    if (!d || d->type != ZN_AUDIT_BIN || d->len % ZN_ID_LEN)
        return false;
    for (size_t i = 0; i < d->len; i += ZN_ID_LEN)
        if (memcmp(d->p + i, id, ZN_ID_LEN) == 0)
            return true;
    return false;
}

/* ---- files ---------------------------------------------------------------------------------- */

/* The database file and its WAL (when there is one), as bytes. */
typedef struct {
    uint8_t *db, *wal;
    size_t db_len, wal_len;
} s_disk;

static void s_disk_read(zh_env *h, s_disk *d)
{
    char wal[ZH_PATH_MAX + 8];
    snprintf(wal, sizeof wal, "%s-wal", h->db_path);
    d->db = zh_slurp(h->db_path, &d->db_len);
    assert_non_null(d->db);
    d->wal = zh_slurp(wal, &d->wal_len);
}

static bool s_disk_has(const s_disk *d, const uint8_t *p, size_t n)
{
    return s_contains(d->db, d->db_len, p, n) || (d->wal && s_contains(d->wal, d->wal_len, p, n));
}

static void s_disk_free(s_disk *d)
{
    free(d->db);
    free(d->wal);
    memset(d, 0, sizeof *d);
}

/* Flip one bit of d of entry idx, with sqlite3, while the broker is stopped. */
static void s_flip_d(zh_env *h, uint64_t idx)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    uint8_t d[HL];
    assert_int_equal(sqlite3_open(h->db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT d FROM audit WHERE idx = ?1", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)idx);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(st, 0), HL);
    memcpy(d, sqlite3_column_blob(st, 0), HL);
    sqlite3_finalize(st);
    d[7] ^= 0x40;
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE audit SET d = ?1 WHERE idx = ?2", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_blob(st, 1, d, HL, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)idx);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_close(db);
}

/* ---- frames --------------------------------------------------------------------------------- */

/* HELLO with known_size; 0 when a WELCOME with this corr came back (in *m, to be freed). */
static int s_welcome(void *sock, uint32_t corr, uint64_t version, uint32_t window, uint64_t known_size, zh_msg *m)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_frame_hello(&sb, corr, version, window, known_size);
    int rc = zh_call(sock, &sb, m, ZH_TIMEOUT);
    msgpack_sbuffer_destroy(&sb);
    if (rc == 0 && m->parsed && m->f.type == ZN_T_WELCOME && m->f.corr == corr)
        return 0;
    if (m->parsed && (m->f.type == ZN_T_ERROR || m->f.type == ZN_T_BYE))
        fprintf(stderr, "HELLO answered with %s: %s\n", m->f.u.error.name, m->f.u.error.text);
    zh_msg_free(m);
    return -1;
}

/* The WELCOME's tree head, verified with the broker's key. */
static void s_welcome_head(zh_env *h, const zh_msg *m, zn_tree_head *th)
{
    zn_err e;
    zn_err_clear(&e);
    if (zn_tree_head_verify(m->f.u.welcome.head, m->f.u.welcome.head_len, m->f.u.welcome.head_sig,
                            h->broker.pub.sign, th, &e) != 0)
        fail_msg("the tree head in WELCOME does not verify: %s", e.text);
}

/* Send n envelopes from school to `to` on case_id, all at once, then collect the n replies:
 * each must be ACCEPTED (not a duplicate); msgids and audit indexes in order of sending. */
static void s_send_burst(zh_env *h, void *sock, const char *to, const uint8_t case_id[ZN_ID_LEN], int n,
                         uint32_t corr0, uint8_t (*msgids)[ZN_ID_LEN], uint64_t *index)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (int i = 0; i < n; i++) {
        char text[64];
        int len = snprintf(text, sizeof text, "zorgmelding %d", i);
        uint8_t *env = NULL;
        size_t env_len;
        assert_int_equal(zh_seal(h, ZH_SCHOOL, to, case_id, NULL, text, (size_t)len, &env, &env_len, msgids[i]), 0);
        msgpack_sbuffer_clear(&sb);
        zh_frame_send(&sb, corr0 + (uint32_t)i, env, env_len);
        free(env);
        assert_int_equal(zh_send_sb(sock, &sb), 0);
    }
    msgpack_sbuffer_destroy(&sb);
    for (int got = 0; got < n; got++) {
        zh_msg m;
        if (zh_recv(sock, ZH_TIMEOUT, &m) != 0)
            fail_msg("%d of %d sends answered", got, n);
        assert_true(m.parsed);
        if (m.f.type != ZN_T_ACCEPTED)
            fail_msg("send answered with frame type %u (%s)", m.f.type,
                     m.f.type == ZN_T_ERROR ? m.f.u.error.text : "");
        uint32_t i = m.f.corr - corr0;
        assert_true(i < (uint32_t)n);
        assert_memory_equal(m.f.u.accepted.msgid, msgids[i], ZN_ID_LEN);
        assert_false(m.f.u.accepted.duplicate);
        index[i] = m.f.u.accepted.audit_index;
        zh_msg_free(&m);
    }
}

/* The entry at an ACCEPTED index is the "send" of that message. */
static void s_expect_send_at(const s_log *lg, uint64_t index, const uint8_t msgid[ZN_ID_LEN], const char *to)
{
    if (index >= lg->n)
        fail_msg("ACCEPTED named audit entry %llu; the log has %zu", (unsigned long long)index, lg->n);
    const s_ent *x = &lg->e[index];
    assert_false(x->redacted);
    assert_string_equal(x->en.action, "send");
    assert_int_equal(x->en.decision, ZN_AUDIT_ALLOWED);
    assert_string_equal(x->en.actor, "school");
    assert_string_equal(x->en.counterpart, to);
    assert_string_equal(x->en.evidence_kind, "envelope-header");
    assert_true(s_contains(x->en.evidence, x->en.evidence_len, msgid, ZN_ID_LEN));
}

/* ---- (a) what a session leaves in the log ------------------------------------------------------ */

static void test_events_recorded(void **state)
{
    zh_world *w = *state;
    zh_env *h = w->h;
    enum { N = 3 };
    uint8_t msgids[N][ZN_ID_LEN];
    uint64_t index[N];
    s_send_burst(h, w->school, "wijkracht", w->kase, N, 100, msgids, index);

    /* a send on a case that does not exist */
    uint8_t nocase[ZN_ID_LEN], bad_msgid[ZN_ID_LEN];
    zh_random(nocase, sizeof nocase);
    uint8_t *env = NULL;
    size_t len;
    assert_int_equal(zh_seal(h, ZH_SCHOOL, "wijkracht", nocase, NULL, "x", 1, &env, &len, bad_msgid), 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zh_frame_send(&sb, 200, env, len);
    free(env);
    assert_int_equal(zh_expect_error(w->school, &sb, ZN_E_UNKNOWN_CASE, 200), 0);
    msgpack_sbuffer_destroy(&sb);

    /* the recipient takes them and acknowledges them */
    void *r = zh_connect_party(h, ZH_WIJKRACHT);
    assert_non_null(r);
    assert_int_equal(zh_hello(r, 1, h->version, 16), 0);
    zh_item items[N + 1];
    assert_int_equal(zh_drain(h, r, items, N + 1, true, ZH_TIMEOUT), N);
    assert_int_equal(zh_sync(r, 50, NULL), 0);
    zh_close(h, &r);

    size_t mark = zh_log_size(h);
    int rc = zh_broker_stop(h, SIGTERM, 10000);
    if (rc != 0)
        zh_log_dump(h);
    assert_int_equal(rc, 0);
    assert_int_equal(zh_log_count(h, mark, "shutdown", NULL), 1);

    s_log lg;
    s_log_read(h, &lg);
    assert_true(lg.n >= 10);
    for (size_t i = 0; i < lg.n; i++)
        assert_false(lg.e[i].redacted);

    /* convenant-load: the broker's own, with the version and the file's digest */
    const s_ent *x = &lg.e[0];
    assert_string_equal(x->en.action, "convenant-load");
    assert_null(x->en.actor);
    assert_null(x->en.counterpart);
    assert_int_equal(x->en.decision, ZN_AUDIT_ALLOWED);
    assert_int_equal(s_detail_u64(x, "version"), h->version);
    size_t conv_len;
    uint8_t *conv = zh_slurp(h->conv_path, &conv_len), digest[32];
    assert_non_null(conv);
    crypto_hash_sha256(digest, conv, conv_len);
    free(conv);
    const zn_audit_detail *dd = s_detail(x, "sha256");
    assert_non_null(dd);
    assert_int_equal(dd->len, 32);
    assert_memory_equal(dd->p, digest, 32);

    /* hello of the sender (window 0) and of the recipient (window 16) */
    int i = s_find(&lg, 0, "hello", "school");
    assert_true(i > 0);
    assert_int_equal(s_detail_u64(&lg.e[i], "window"), 0);
    assert_int_equal(s_detail_u64(&lg.e[i], "convenant"), h->version);
    i = s_find(&lg, 0, "hello", "wijkracht");
    assert_true(i > 0);
    assert_int_equal(s_detail_u64(&lg.e[i], "window"), 16);

    /* case-new, with the signed request as evidence */
    i = s_find(&lg, 0, "case-new", "school");
    assert_true(i > 0);
    x = &lg.e[i];
    assert_int_equal(x->en.decision, ZN_AUDIT_ALLOWED);
    assert_non_null(x->en.case_id);
    assert_memory_equal(x->en.case_id, w->kase, ZN_ID_LEN);
    assert_string_equal(x->en.handler, ZH_HANDLER);
    assert_string_equal(x->en.evidence_kind, "request");
    assert_int_equal(zn_verify_ns(x->en.evidence_sig, ZN_REQUEST_NS, x->en.evidence, x->en.evidence_len,
                                  h->party[ZH_SCHOOL].keys.pub.sign),
                     0);
    assert_int_equal(zn_verify_ns(x->en.evidence_sig, ZN_REQUEST_NS, x->en.evidence, x->en.evidence_len,
                                  h->party[ZH_WIJKRACHT].keys.pub.sign),
                     -1);

    /* the accepted sends, at the indexes ACCEPTED named, with the signed header and the item */
    for (int k = 0; k < N; k++) {
        s_expect_send_at(&lg, index[k], msgids[k], "wijkracht");
        x = &lg.e[index[k]];
        assert_memory_equal(x->en.case_id, w->kase, ZN_ID_LEN);
        assert_string_equal(x->en.handler, ZH_HANDLER);
        assert_null(x->en.reason);
        assert_int_equal(zn_verify_ns(x->en.evidence_sig, ZN_ENVELOPE_NS, x->en.evidence, x->en.evidence_len,
                                      h->party[ZH_SCHOOL].keys.pub.sign),
                         0);
        const zh_item *it = NULL;
        for (int j = 0; j < N; j++)
            if (memcmp(items[j].msgid, msgids[k], ZN_ID_LEN) == 0)
                it = &items[j];
        assert_non_null(it);
        dd = s_detail(x, "item");
        assert_non_null(dd);
        assert_int_equal(dd->type, ZN_AUDIT_BIN);
        assert_int_equal(dd->len, ZN_ID_LEN);
        assert_memory_equal(dd->p, it->item_id, ZN_ID_LEN); /* the id the recipient was given */
    }

    /* the refused send: reason, the case asked for, the signed header */
    int refused = -1;
    for (size_t k = 0; k < lg.n; k++)
        if (s_str_is(lg.e[k].en.action, "send") && lg.e[k].en.decision == ZN_AUDIT_REFUSED)
            refused = refused < 0 ? (int)k : -2;
    assert_true(refused > 0); /* exactly one */
    x = &lg.e[refused];
    assert_string_equal(x->en.actor, "school");
    assert_string_equal(x->en.counterpart, "wijkracht");
    assert_string_equal(x->en.reason, "unknown-case");
    assert_memory_equal(x->en.case_id, nocase, ZN_ID_LEN);
    assert_string_equal(x->en.evidence_kind, "envelope-header");
    assert_true(s_contains(x->en.evidence, x->en.evidence_len, bad_msgid, ZN_ID_LEN));
    assert_int_equal(zn_verify_ns(x->en.evidence_sig, ZN_ENVELOPE_NS, x->en.evidence, x->en.evidence_len,
                                  h->party[ZH_SCHOOL].keys.pub.sign),
                     0);
    dd = s_detail(x, "frame");
    assert_non_null(dd);
    assert_int_equal(dd->type, ZN_AUDIT_STR);
    assert_int_equal(dd->len, 4);
    assert_memory_equal(dd->p, "SEND", 4);

    /* deliver (the broker pushed them to wijkracht) and ack (wijkracht took them): every item
     * in both, counted */
    uint64_t delivered = 0, acked = 0;
    for (size_t k = 0; k < lg.n; k++) {
        x = &lg.e[k];
        if (s_str_is(x->en.action, "deliver")) {
            assert_null(x->en.actor);
            assert_string_equal(x->en.counterpart, "wijkracht");
            delivered += s_detail_u64(x, "count");
        } else if (s_str_is(x->en.action, "ack")) {
            assert_string_equal(x->en.actor, "wijkracht");
            acked += s_detail_u64(x, "count");
        }
    }
    assert_int_equal(delivered, N);
    assert_int_equal(acked, N);
    for (int j = 0; j < N; j++) {
        bool in_deliver = false, in_ack = false;
        for (size_t k = 0; k < lg.n; k++) {
            if (s_str_is(lg.e[k].en.action, "deliver"))
                in_deliver |= s_items_hold(&lg.e[k], "items", items[j].item_id);
            if (s_str_is(lg.e[k].en.action, "ack"))
                in_ack |= s_items_hold(&lg.e[k], "items", items[j].item_id);
        }
        assert_true(in_deliver);
        assert_true(in_ack);
    }

    /* shutdown is the last entry; the last head covers everything and verifies */
    x = &lg.e[lg.n - 1];
    assert_string_equal(x->en.action, "shutdown");
    assert_null(x->en.actor);
    assert_true(s_detail_u64(x, "frames") >= 8);
    assert_true(lg.has_head);
    assert_int_equal(lg.th.size, lg.n);
    uint8_t root[HL];
    s_root(&lg, lg.n, root);
    assert_memory_equal(lg.th.root, root, HL);
    s_log_free(&lg);

    /* the next start continues the log: its convenant-load follows the shutdown */
    assert_int_equal(zh_broker_start(h), 0);
}

/* A broker that stops right after pushing an item (before the delayed "deliver" entry is due)
 * still records the delivery: the shutdown writes what it has pushed. */
static void test_deliver_recorded_at_shutdown(void **state)
{
    zh_world *w = *state;
    zh_env *h = w->h;
    uint8_t msgids[1][ZN_ID_LEN];
    uint64_t index[1];
    s_send_burst(h, w->school, "politie", w->kase, 1, 10, msgids, index);
    void *r = zh_connect_party(h, ZH_POLITIE);
    assert_non_null(r);
    assert_int_equal(zh_hello(r, 1, h->version, 4), 0);
    zh_msg m;
    assert_int_equal(zh_wait_type(r, ZN_T_DELIVER, ZH_TIMEOUT, &m, NULL), 0);
    uint8_t item[ZN_ID_LEN];
    memcpy(item, m.f.u.deliver.item_id, ZN_ID_LEN);
    zh_msg_free(&m);
    /* stop at once: no ACK, well within the second the broker waits to batch deliver entries */
    assert_int_equal(zh_broker_stop(h, SIGTERM, 10000), 0);
    zh_close(h, &r);

    s_log lg;
    s_log_read(h, &lg);
    bool recorded = false;
    for (size_t k = 0; k < lg.n; k++)
        if (s_str_is(lg.e[k].en.action, "deliver") && s_str_is(lg.e[k].en.counterpart, "politie"))
            recorded |= s_items_hold(&lg.e[k], "items", item);
    bool last_is_shutdown = lg.n && s_str_is(lg.e[lg.n - 1].en.action, "shutdown");
    s_log_free(&lg);
    if (!recorded)
        fail_msg("the item pushed to politie before the shutdown has no \"deliver\" entry");
    assert_true(last_is_shutdown);
    assert_int_equal(zh_broker_start(h), 0);
}

/* ---- (b) kill -9 before the next head ---------------------------------------------------------- */

static void test_crash_before_head(void **state)
{
    zh_world *w = *state;
    zh_env *h = w->h;
    enum { N1 = 5, N2 = 40 };
    uint8_t msgids[N1 + N2][ZN_ID_LEN];
    uint64_t index[N1 + N2];
    /* wait until the head over the setup's entries (signed within a second or so of them) is
     * over a second old: the first burst's batch then signs a head; the second burst follows
     * within milliseconds, so no head covers it yet when the broker dies */
    zh_sleep_ms(2 * ZN_AUDIT_HEAD_EVERY_MS + 700);
    s_send_burst(h, w->school, "wijkracht", w->kase, N1, 1000, msgids, index);
    s_send_burst(h, w->school, "wijkracht", w->kase, N2, 2000, msgids + N1, index + N1);
    assert_int_equal(zh_broker_stop(h, SIGKILL, 10000), 128 + SIGKILL);

    s_log pre;
    s_log_read(h, &pre);
    assert_true(pre.has_head);
    for (int k = 0; k < N1 + N2; k++)
        s_expect_send_at(&pre, index[k], msgids[k], "wijkracht");
    uint64_t uncovered = 0;
    for (int k = 0; k < N1 + N2; k++)
        uncovered += index[k] >= pre.th.size;
    print_message("killed with %zu entries, the latest head covers %llu; %llu accepted sends after it\n", pre.n,
                  (unsigned long long)pre.th.size, (unsigned long long)uncovered);
    assert_true(index[0] < pre.th.size); /* the first burst is under a head */
    assert_true(uncovered > 0);          /* the second is not */
    uint8_t root[HL];
    s_root(&pre, pre.th.size, root);
    assert_memory_equal(root, pre.th.root, HL);

    /* the broker starts again, its tree continuing */
    size_t mark = zh_log_size(h);
    assert_int_equal(zh_broker_start(h), 0);
    assert_int_equal(zh_log_count(h, mark, "refusing", NULL), 0);
    void *c = zh_connect_party(h, ZH_GGD);
    assert_non_null(c);
    zh_msg m;
    assert_int_equal(s_welcome(c, 3, h->version, 0, pre.th.size, &m), 0);
    zn_tree_head now;
    s_welcome_head(h, &m, &now);
    assert_true(now.size > pre.n); /* the start's own entry is covered */
    uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * HL];
    uint32_t n = 0;
    assert_int_equal(zn_obj_hashes(m.f.u.welcome.proof, ZN_MERKLE_MAX_CONSISTENCY, proof, &n), 0);
    assert_int_equal(n, m.f.u.welcome.n_proof);
    assert_int_equal(zn_merkle_verify_consistency(pre.th.size, now.size, pre.th.root, now.root, proof, n), 0);
    zh_msg_free(&m);
    zh_close(h, &c);
    assert_int_equal(zh_broker_stop(h, SIGTERM, 10000), 0);

    s_log post;
    s_log_read(h, &post);
    assert_true(post.n > pre.n);
    for (size_t k = 0; k < pre.n; k++) /* nothing before the crash changed */
        assert_memory_equal(post.e[k].d, pre.e[k].d, HL);
    for (int k = 0; k < N1 + N2; k++)
        s_expect_send_at(&post, index[k], msgids[k], "wijkracht");
    assert_string_equal(post.e[pre.n].en.action, "convenant-load");
    s_root(&post, pre.th.size, root);
    assert_memory_equal(root, pre.th.root, HL);
    assert_int_equal(post.th.size, post.n);
    s_root(&post, post.n, root);
    assert_memory_equal(root, post.th.root, HL);
    s_log_free(&pre);
    s_log_free(&post);
    assert_int_equal(zh_broker_start(h), 0);
}

/* ---- (c) the database changed at rest ------------------------------------------------------------ */

/* Stop, flip a bit of d of entry `pick(size)` below the last head, and expect the start to be
 * refused with a sentence about the audit log; flip it back and the broker starts. */
static void s_tamper_refuses_start(zh_world *w, bool old_entry)
{
    zh_env *h = w->h;
    enum { N = 20 };
    uint8_t msgids[N][ZN_ID_LEN];
    uint64_t index[N];
    s_send_burst(h, w->school, "wijkracht", w->kase, N, 300, msgids, index);
    assert_int_equal(zh_broker_stop(h, SIGTERM, 10000), 0);
    s_log lg;
    s_log_read(h, &lg);
    assert_int_equal(lg.th.size, lg.n);
    assert_true(lg.n > 16);
    /* the last entry (hashed on its own in the root), or an old one (under a stored node) */
    uint64_t victim = old_entry ? 1 : lg.n - 1;
    s_log_free(&lg);
    s_flip_d(h, victim);

    size_t mark = zh_log_size(h);
    int rc = zh_broker_run_expect_exit(h, NULL, NULL, NULL, 10000);
    bool named = zh_log_count(h, mark, "refusing to start", "audit log") == 1;
    if (rc <= 0 || !named) {
        zh_log_dump(h);
        fail_msg("after changing the commitment of entry %llu below the signed head, zorgnetd %s",
                 (unsigned long long)victim, rc == 0 ? "started and exited 0" : rc < 0 ? "kept running" :
                 "exited without naming the audit log");
    }
    assert_int_equal(zh_log_count(h, mark, "zorgnetd: started", NULL), 0);

    s_flip_d(h, victim); /* back as it was: the same database starts */
    assert_int_equal(zh_broker_start(h), 0);
}

static void test_tamper_last_entry_refused(void **state) { s_tamper_refuses_start(*state, false); }

static void test_tamper_old_entry_refused(void **state) { s_tamper_refuses_start(*state, true); }

/* ---- (d) redaction after the retention period ---------------------------------------------------- */

static void test_redaction_end_to_end(void **state)
{
    zh_world *w = *state;
    zh_env *h = w->h;
    assert_int_equal(zh_broker_stop(h, SIGTERM, 10000), 0);
    assert_int_equal(zh_convenant_edit(h, "retention_days", "1"), 0);
    assert_int_equal(zh_broker_start_args(h, NULL), 0);

    void *s = zh_connect_party(h, ZH_SCHOOL);
    assert_non_null(s);
    assert_int_equal(zh_hello(s, 1, h->version, 0), 0);
    enum { N = 4 };
    uint8_t msgids[N][ZN_ID_LEN];
    uint64_t index[N];
    s_send_burst(h, s, "wijkracht", w->kase, N, 10, msgids, index);
    zh_close(h, &s);
    void *r = zh_connect_party(h, ZH_WIJKRACHT);
    assert_non_null(r);
    assert_int_equal(zh_hello(r, 1, h->version, 16), 0);
    assert_int_equal(zh_drain(h, r, NULL, 0, true, ZH_TIMEOUT), N);
    assert_int_equal(zh_sync(r, 9, NULL), 0);
    zh_close(h, &r);
    assert_int_equal(zh_broker_stop(h, SIGTERM, 10000), 0);

    s_log before;
    s_log_read(h, &before);
    zn_tree_head old = before.th;
    uint64_t personal = 0, first = UINT64_MAX, last = 0, max_time = 0;
    for (size_t k = 0; k < before.n; k++) {
        const s_ent *x = &before.e[k];
        assert_false(x->redacted);
        if (x->time_ms > max_time)
            max_time = x->time_ms;
        if (x->en.actor || x->en.counterpart) {
            personal++;
            first = k < first ? k : first;
            last = k;
        }
    }
    assert_true(personal >= N + 4); /* hellos, case-new, sends, deliver, acks */
    for (int k = 0; k < N; k++)
        s_expect_send_at(&before, index[k], msgids[k], "wijkracht");
    s_disk disk;
    s_disk_read(h, &disk);
    assert_true(s_disk_has(&disk, before.e[index[0]].entry, before.e[index[0]].len)); /* the scan works */
    assert_true(s_disk_has(&disk, before.e[index[0]].salt, ZN_AUDIT_SALT_LEN));
    s_disk_free(&disk);

    /* two days later (retention: one day), the broker redacts at start */
    size_t mark = zh_log_size(h);
    const char *const later[] = {"--clock-offset", "172800", NULL};
    assert_int_equal(zh_broker_start_args(h, later), 0);
    if (zh_log_wait(h, mark, "redacted entries=", "retention-days=1", 1, 10000) != 0) {
        zh_log_dump(h);
        fail_msg("the broker did not log a redaction");
    }
    assert_int_equal(zh_broker_stop(h, SIGTERM, 10000), 0);

    s_log after;
    s_log_read(h, &after);
    assert_true(after.n > before.n);
    uint64_t redacted = 0;
    for (size_t k = 0; k < before.n; k++) {
        const s_ent *b = &before.e[k], *a = &after.e[k];
        assert_memory_equal(a->d, b->d, HL); /* the commitments stay */
        bool mine = b->en.actor || b->en.counterpart;
        if (mine && !a->redacted)
            fail_msg("entry %zu (%s by %s) was not redacted", k, b->en.action, b->en.actor ? b->en.actor : "-");
        if (!mine) {
            assert_false(a->redacted);
            assert_int_equal(a->len, b->len);
            assert_memory_equal(a->entry, b->entry, b->len);
        }
        redacted += a->redacted;
    }
    assert_int_equal(redacted, personal);
    for (int k = 0; k < N; k++)
        assert_true(after.e[index[k]].redacted);
    assert_string_equal(after.e[0].en.action, "convenant-load");
    assert_string_equal(after.e[before.n - 1].en.action, "shutdown");
    /* the redaction recorded itself */
    int i = s_find(&after, before.n, "redact", NULL);
    assert_true(i > 0);
    const s_ent *x = &after.e[i];
    assert_null(x->en.actor);
    assert_null(x->en.counterpart);
    assert_int_equal(x->en.decision, ZN_AUDIT_ALLOWED);
    assert_int_equal(s_detail_u64(x, "count"), personal);
    assert_int_equal(s_detail_u64(x, "first"), first);
    assert_int_equal(s_detail_u64(x, "last"), last);
    uint64_t cut = s_detail_u64(x, "before");
    assert_true(cut > max_time);
    assert_true(cut < x->time_ms);
    assert_true(x->time_ms > zh_now_ms() + 86400000u); /* the broker's clock ran two days ahead */
    assert_string_equal(after.e[after.n - 1].en.action, "shutdown");
    /* the tree and the old head hold */
    uint8_t root[HL];
    s_root(&after, old.size, root);
    assert_memory_equal(root, old.root, HL);
    assert_int_equal(after.th.size, after.n);
    s_root(&after, after.n, root);
    assert_memory_equal(root, after.th.root, HL);

    /* and neither the entries nor their salts are anywhere in the database file or the WAL */
    s_disk_read(h, &disk);
    int leaked = 0;
    for (size_t k = 0; k < before.n; k++) {
        const s_ent *b = &before.e[k];
        if (!after.e[k].redacted)
            continue;
        if (s_disk_has(&disk, b->entry, b->len)) {
            print_message("the bytes of redacted entry %zu (%s) are still on disk\n", k, b->en.action);
            leaked++;
        }
        if (s_disk_has(&disk, b->salt, ZN_AUDIT_SALT_LEN)) {
            print_message("the salt of redacted entry %zu (%s) is still on disk\n", k, b->en.action);
            leaked++;
        }
    }
    assert_true(s_disk_has(&disk, after.e[0].entry, after.e[0].len)); /* kept entries are there */
    s_disk_free(&disk);
    assert_int_equal(leaked, 0);
    s_log_free(&before);
    s_log_free(&after);
    /* back to the normal clock for the teardown's clean stop */
    assert_int_equal(zh_broker_start_args(h, NULL), 0);
}

/* ---- (e) refused handshakes ---------------------------------------------------------------------- */

static void test_refused_handshakes_recorded(void **state)
{
    zh_world *w = *state;
    zh_env *h = w->h;
    for (int k = 0; k < 3; k++)
        assert_int_equal(zh_handshake(h, &h->outsider, ZH_TIMEOUT), 1);
    size_t mark = zh_log_size(h);
    assert_int_equal(zh_broker_stop(h, SIGTERM, 10000), 0);
    char line[512];
    assert_int_equal(zh_log_line(h, mark, "handshakes-refused=", line, sizeof line), 0);
    unsigned long long total = 0;
    const char *p = strstr(line, "handshakes-refused=");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "handshakes-refused=%llu", &total), 1);
    assert_true(total >= 3);

    s_log lg;
    s_log_read(h, &lg);
    uint64_t counted = 0;
    int entries = 0;
    for (size_t k = 0; k < lg.n; k++) {
        const s_ent *x = &lg.e[k];
        if (!s_str_is(x->en.action, "handshake-refused"))
            continue;
        entries++;
        assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
        assert_string_equal(x->en.reason, "not-in-convenant");
        assert_null(x->en.actor);
        const zn_audit_detail *key = s_detail(x, "key");
        assert_non_null(key);
        assert_int_equal(key->type, ZN_AUDIT_BIN);
        assert_int_equal(key->len, ZN_KEY_LEN);
        assert_memory_equal(key->p, h->outsider.pub.transport, ZN_KEY_LEN);
        counted += s_detail_u64(x, "count");
        (void)s_detail_u64(x, "minute");
    }
    assert_true(entries >= 1 && entries <= 2); /* one per key and minute */
    assert_int_equal(counted, total);
    assert_string_equal(lg.e[lg.n - 1].en.action, "shutdown");
    assert_int_equal(lg.th.size, lg.n);
    s_log_free(&lg);
    assert_int_equal(zh_broker_start(h), 0);
}

/* ---- (f) tree heads and consistency proofs in WELCOME -------------------------------------------- */

static void test_welcome_heads(void **state)
{
    zh_world *w = *state;
    zh_env *h = w->h;
    void *c = zh_connect_party(h, ZH_POLITIE);
    assert_non_null(c);
    zh_msg m;
    assert_int_equal(s_welcome(c, 1, h->version, 0, 0, &m), 0);
    assert_string_equal(m.f.u.welcome.partner, "politie");
    assert_int_equal(m.f.u.welcome.n_proof, 0); /* nothing to prove from the empty tree */
    zn_tree_head first;
    s_welcome_head(h, &m, &first);
    assert_true(first.size >= 1);
    /* the signature is over the namespace and the bytes as sent */
    uint8_t head[ZN_TREE_HEAD_MAX], sig[ZN_SIG_LEN];
    size_t head_len = m.f.u.welcome.head_len;
    memcpy(head, m.f.u.welcome.head, head_len);
    memcpy(sig, m.f.u.welcome.head_sig, ZN_SIG_LEN);
    assert_int_equal(zn_verify_ns(sig, ZN_TREE_HEAD_NS, head, head_len, h->broker.pub.sign), 0);
    zh_msg_free(&m);

    /* more traffic, then HELLO again with the size this client accepted, until a newer head is
     * signed (at most a second after entries arrive) */
    enum { N = 5 };
    uint8_t msgids[N][ZN_ID_LEN];
    uint64_t index[N];
    s_send_burst(h, w->school, "politie", w->kase, N, 40, msgids, index);
    zn_tree_head next = first;
    for (int tries = 0; tries < 50 && next.size <= first.size; tries++) {
        zh_sleep_ms(100);
        assert_int_equal(s_welcome(c, (uint32_t)(10 + tries), h->version, 0, first.size, &m), 0);
        s_welcome_head(h, &m, &next);
        if (next.size > first.size) {
            uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * HL];
            uint32_t n = 0;
            assert_int_equal(zn_obj_hashes(m.f.u.welcome.proof, ZN_MERKLE_MAX_CONSISTENCY, proof, &n), 0);
            assert_true(n >= 1);
            assert_int_equal(zn_merkle_verify_consistency(first.size, next.size, first.root, next.root, proof, n), 0);
            proof[HL * (n - 1) + 3] ^= 1;
            assert_int_equal(zn_merkle_verify_consistency(first.size, next.size, first.root, next.root, proof, n), -1);
        } else {
            assert_int_equal(m.f.u.welcome.n_proof, 0);
        }
        zh_msg_free(&m);
    }
    assert_true(next.size > first.size);
    /* a client that knows the latest head gets no proof */
    assert_int_equal(s_welcome(c, 99, h->version, 0, next.size, &m), 0);
    zn_tree_head same;
    s_welcome_head(h, &m, &same);
    if (same.size == next.size)
        assert_int_equal(m.f.u.welcome.n_proof, 0);
    zh_msg_free(&m);
    zh_close(h, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_events_recorded, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_deliver_recorded_at_shutdown, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_crash_before_head, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_last_entry_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_old_entry_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_redaction_end_to_end, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refused_handshakes_recorded, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_welcome_heads, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
