/* The broker's store: schema, queue order, message-id claims, nonces, signals, matches, rate
 * events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store.h"

#define ZN_STR_(x) #x
#define ZN_STR(x) ZN_STR_(x)

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    char path[96];
    zn_store *s;
} s_fix;

static int s_setup(void **state)
{
    s_fix *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/zn-test-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/broker.db", f->dir);
    zn_err e;
    assert_int_equal(zn_store_open(f->path, &f->s, &e), 0);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    s_fix *f = *state;
    zn_store_close(&f->s);
    assert_null(f->s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

typedef struct {
    int64_t seqs[16];
    int n;
} s_seen;

static int s_collect(void *ctx, const char *recipient, const zn_queue_item *it)
{
    (void)recipient;
    s_seen *v = ctx;
    if (v->n < 16)
        v->seqs[v->n++] = it->seq;
    return 0;
}

static int64_t s_insert(zn_store *s, const char *to, uint8_t tag)
{
    uint8_t id[ZN_ID_LEN] = {tag}, body[4] = {0x93, 1, 2, 3};
    int64_t seq = 0;
    assert_int_equal(zn_store_queue_insert(s, to, id, 1, "school", NULL, body, sizeof body, 1000, &seq), 0);
    return seq;
}

static void test_queue_positions_are_never_reused(void **state)
{
    s_fix *f = *state;
    assert_int_equal(zn_store_begin(f->s), 0);
    int64_t a = s_insert(f->s, "ggd", 1), b = s_insert(f->s, "ggd", 2), c = s_insert(f->s, "ggd", 3);
    assert_true(a < b && b < c);
    /* acknowledge the newest ones: the next item must still come after them */
    assert_int_equal(zn_store_queue_delete(f->s, "ggd", c), 1);
    assert_int_equal(zn_store_queue_delete(f->s, "ggd", b), 1);
    int64_t d = s_insert(f->s, "ggd", 4);
    assert_true(d > c);
    assert_int_equal(zn_store_commit(f->s), 0);

    s_seen v = {0};
    assert_int_equal(zn_store_queue_fetch(f->s, "ggd", c, 10, s_collect, &v), 1);
    assert_int_equal(v.seqs[0], d);
}

static void test_queue_is_per_recipient_and_ordered(void **state)
{
    s_fix *f = *state;
    assert_int_equal(zn_store_begin(f->s), 0);
    int64_t a = s_insert(f->s, "ggd", 1);
    (void)s_insert(f->s, "wijkracht", 2);
    int64_t c = s_insert(f->s, "ggd", 3);
    /* another recipient's item cannot be deleted by ggd */
    assert_int_equal(zn_store_queue_delete(f->s, "wijkracht", a), 0);
    assert_int_equal(zn_store_commit(f->s), 0);
    s_seen v = {0};
    assert_int_equal(zn_store_queue_fetch(f->s, "ggd", 0, 10, s_collect, &v), 2);
    assert_int_equal(v.seqs[0], a);
    assert_int_equal(v.seqs[1], c);
    s_seen lim = {0};
    assert_int_equal(zn_store_queue_fetch(f->s, "ggd", 0, 1, s_collect, &lim), 1);
}

static void test_message_id_claimed_once(void **state)
{
    s_fix *f = *state;
    uint8_t msgid[ZN_ID_LEN] = {7}, kase[ZN_ID_LEN] = {9}, prev_case[ZN_ID_LEN];
    char prev[ZN_IDENT_MAX];
    uint64_t idx = 41;
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_msgid_claim(f->s, "school", msgid, "ggd", kase, 1, &idx, prev, prev_case), 0);
    idx = 99;
    assert_int_equal(zn_store_msgid_claim(f->s, "school", msgid, "wijkracht", kase, 2, &idx, prev, prev_case), 1);
    assert_string_equal(prev, "ggd"); /* what it was first used for */
    assert_memory_equal(prev_case, kase, ZN_ID_LEN);
    assert_int_equal(idx, 41); /* and the audit entry of its acceptance */
    /* the same id from another sender is another message */
    assert_int_equal(zn_store_msgid_claim(f->s, "politie", msgid, "ggd", kase, 3, &idx, prev, prev_case), 0);
    assert_int_equal(zn_store_commit(f->s), 0);
}

static void test_nonce_replay_and_prune(void **state)
{
    s_fix *f = *state;
    uint8_t nonce[16] = {1, 2, 3};
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_nonce_insert(f->s, "school", nonce, 1000), 0);
    assert_int_equal(zn_store_nonce_insert(f->s, "school", nonce, 2000), 1);
    assert_int_equal(zn_store_nonce_insert(f->s, "ggd", nonce, 2000), 0);
    assert_int_equal(zn_store_prune(f->s, 1500, 0), 0);
    assert_int_equal(zn_store_nonce_insert(f->s, "school", nonce, 3000), 0); /* forgotten */
    assert_int_equal(zn_store_nonce_insert(f->s, "ggd", nonce, 3000), 1);    /* kept */
    assert_int_equal(zn_store_commit(f->s), 0);
}

static void test_savepoint_undoes_one_request(void **state)
{
    s_fix *f = *state;
    assert_int_equal(zn_store_begin(f->s), 0);
    (void)s_insert(f->s, "ggd", 1);
    assert_int_equal(zn_store_savepoint(f->s), 0);
    (void)s_insert(f->s, "ggd", 2);
    zn_store_rollback_to(f->s);
    assert_int_equal(zn_store_commit(f->s), 0);
    s_seen v = {0};
    assert_int_equal(zn_store_queue_fetch(f->s, "ggd", 0, 10, s_collect, &v), 1);
}

static void test_schema_version_and_reopen(void **state)
{
    s_fix *f = *state;
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_meta_set_u64(f->s, "convenant_version", 42), 0);
    assert_int_equal(zn_store_commit(f->s), 0);
    zn_store_close(&f->s);

    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), ZN_SCHEMA_VERSION);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    zn_err e;
    zn_store *s = NULL;
    assert_int_equal(zn_store_open(f->path, &s, &e), -1); /* from a newer zorgnetd: refused */
    assert_int_equal(e.code, ZN_E_STORE);
    assert_non_null(strstr(e.text, "newer"));

    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = " ZN_STR(ZN_SCHEMA_VERSION), NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(zn_store_open(f->path, &f->s, &e), 0);
    uint64_t v = 0;
    assert_int_equal(zn_store_meta_get_u64(f->s, "convenant_version", &v), 1);
    assert_int_equal(v, 42);
}

/* The tables of schema 1, as the first zorgnetd created them. */
#define S_SCHEMA_1 \
    "CREATE TABLE meta(k TEXT PRIMARY KEY, v) WITHOUT ROWID;" \
    "CREATE TABLE cases(id BLOB PRIMARY KEY, network TEXT NOT NULL, regisseur TEXT NOT NULL," \
    "  created_ms INTEGER NOT NULL);" \
    "CREATE TABLE queue(seq INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT NOT NULL," \
    "  item_id BLOB NOT NULL, kind INTEGER NOT NULL, sender TEXT, case_id BLOB, body BLOB NOT NULL," \
    "  created_ms INTEGER NOT NULL);" \
    "CREATE INDEX queue_by_recipient ON queue(recipient, seq);" \
    "CREATE TABLE msgids(sender TEXT NOT NULL, msgid BLOB NOT NULL, recipient TEXT NOT NULL," \
    "  case_id BLOB NOT NULL, created_ms INTEGER NOT NULL, PRIMARY KEY(sender, msgid)) WITHOUT ROWID;" \
    "CREATE INDEX msgids_by_time ON msgids(created_ms);" \
    "CREATE TABLE nonces(partner TEXT NOT NULL, nonce BLOB NOT NULL, at_ms INTEGER NOT NULL," \
    "  PRIMARY KEY(partner, nonce)) WITHOUT ROWID;" \
    "CREATE INDEX nonces_by_time ON nonces(at_ms);"

/* Replace the fixture's database by one made with sql (an older schema and its rows). */
static void s_old_database(s_fix *f, const char *sql)
{
    zn_store_close(&f->s);
    unlink(f->path);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* A database of schema 1 (before the audit log) is migrated forward and keeps its rows. */
static void test_schema_1_migrated(void **state)
{
    s_fix *f = *state;
    s_old_database(f, S_SCHEMA_1
        "INSERT INTO meta VALUES('convenant_version', 7);"
        "INSERT INTO msgids VALUES('school', x'07', 'ggd', x'09', 5);"
        "PRAGMA user_version = 1;");
    zn_err e;
    assert_int_equal(zn_store_open(f->path, &f->s, &e), 0);
    uint64_t v = 0, size = 1;
    assert_int_equal(zn_store_meta_get_u64(f->s, "convenant_version", &v), 1);
    assert_int_equal(v, 7);
    assert_int_equal(zn_store_audit_size(f->s, &size), 0);
    assert_int_equal(size, 0);
}

static void test_not_a_database_refused(void **state)
{
    s_fix *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/garbage.db", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("this is not an sqlite database, just some text that is long enough to look like one...", fp);
    fclose(fp);
    zn_err e;
    zn_store *s = NULL;
    assert_int_equal(zn_store_open(path, &s, &e), -1);
    assert_null(s);
    assert_int_equal(e.code, ZN_E_STORE);
}

/* ---- signals, matches, rate events ------------------------------------------------------- */

#define T_NOW 1000000u

/* A pseudonym of epoch 1 made of one repeated byte. */
static const uint8_t *s_p(uint8_t tag)
{
    static uint8_t psns[256][ZN_PSN_LEN];
    psns[tag][0] = 1;
    memset(psns[tag] + 1, tag, ZN_PSN_LEN - 1);
    return psns[tag];
}

/* A signal with id {tag}, created at T_NOW - 1000 + tag, active until T_NOW + 1000; related
 * pseudonyms from a 0-terminated list of tags. */
static zn_signal_rec s_sig(uint8_t tag, const char *partner, const char *network, uint8_t person,
                           const uint8_t *related)
{
    zn_signal_rec r;
    memset(&r, 0, sizeof r);
    r.id[0] = tag;
    snprintf(r.partner, sizeof r.partner, "%s", partner);
    snprintf(r.handler, sizeof r.handler, "handler of %s", partner);
    snprintf(r.network, sizeof r.network, "%s", network);
    memcpy(r.person, s_p(person), ZN_PSN_LEN);
    while (related && related[r.n_related])
        memcpy(r.related[r.n_related], s_p(related[r.n_related]), ZN_PSN_LEN), r.n_related++;
    snprintf(r.contact, sizeof r.contact, "tel 010-%u", tag);
    r.created_ms = T_NOW - 1000 + tag;
    r.refreshed_ms = r.created_ms;
    r.expires_ms = T_NOW + 1000;
    return r;
}

static void s_put(zn_store *s, const zn_signal_rec *r) { assert_int_equal(zn_store_signal_put(s, r), 0); }

static void s_signal_equal(const zn_signal_rec *a, const zn_signal_rec *b)
{
    assert_memory_equal(a->id, b->id, ZN_ID_LEN);
    assert_string_equal(a->partner, b->partner);
    assert_string_equal(a->handler, b->handler);
    assert_string_equal(a->network, b->network);
    assert_memory_equal(a->person, b->person, ZN_PSN_LEN);
    assert_int_equal(a->n_related, b->n_related);
    if (a->n_related)
        assert_memory_equal(a->related, b->related, a->n_related * ZN_PSN_LEN);
    assert_string_equal(a->contact, b->contact);
    assert_int_equal(a->created_ms, b->created_ms);
    assert_int_equal(a->refreshed_ms, b->refreshed_ms);
    assert_int_equal(a->expires_ms, b->expires_ms);
    assert_int_equal(a->informed_ms, b->informed_ms);
}

/* One answer of a walk: the signal's id tag, the link, the shared pseudonym's tag. */
typedef struct {
    uint8_t tag[32];
    zn_link link[32];
    uint8_t shared[32];
    int n, stop_after;
} s_hits;

static int s_hit(void *ctx, const zn_signal_rec *r, zn_link link, const uint8_t *shared)
{
    s_hits *h = ctx;
    assert_true(h->n < 32);
    h->tag[h->n] = r->id[0];
    h->link[h->n] = link;
    h->shared[h->n] = shared ? shared[1] : 0;
    h->n++;
    return h->stop_after && h->n >= h->stop_after;
}

/* The hit for the signal with this tag (fails when absent or twice). */
static int s_hit_of(const s_hits *h, uint8_t tag)
{
    int at = -1;
    for (int i = 0; i < h->n; i++)
        if (h->tag[i] == tag) {
            assert_int_equal(at, -1);
            at = i;
        }
    assert_int_not_equal(at, -1);
    return at;
}

static int s_matches(zn_store *s, const zn_signal_rec *mine, s_hits *h)
{
    memset(h, 0, sizeof *h);
    return zn_store_signal_matches(s, mine, T_NOW, s_hit, h);
}

/* Rows in a table, through a second connection (the store's work must be committed). */
static long s_rows(const s_fix *f, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static int s_count_match(void *ctx, const zn_match_rec *m)
{
    (void)m;
    ++*(uint64_t *)ctx;
    return 0;
}

/* How many matches a signal is part of. */
static int s_match_count(zn_store *s, const uint8_t signal[ZN_ID_LEN], uint64_t *n)
{
    *n = 0;
    return zn_store_matches_of(s, signal, 1000, s_count_match, n) < 0 ? -1 : 0;
}

static void test_signal_put_get_find_replace(void **state)
{
    s_fix *f = *state;
    zn_signal_rec a = s_sig(1, "school", "0-12", 10, (const uint8_t[]){11, 12, 0}), got;
    a.informed_ms = T_NOW - 5;
    s_put(f->s, &a); /* outside a transaction: its own */
    assert_int_equal(zn_store_signal_get(f->s, a.id, &got), 1);
    s_signal_equal(&a, &got);
    assert_int_equal(zn_store_signal_find(f->s, "school", "0-12", s_p(10), &got), 1);
    s_signal_equal(&a, &got);
    assert_int_equal(zn_store_signal_find(f->s, "school", "12-18", s_p(10), &got), 0);
    assert_int_equal(zn_store_signal_find(f->s, "ggd", "0-12", s_p(10), &got), 0);
    uint8_t none[ZN_ID_LEN] = {99};
    assert_int_equal(zn_store_signal_get(f->s, none, &got), 0);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM signal_psn"), 3);

    /* a refresh that changes the family: the old related pseudonym no longer matches */
    zn_signal_rec b = s_sig(1, "school", "0-12", 10, (const uint8_t[]){12, 13, 14, 0});
    b.expires_ms = T_NOW + 5000;
    b.refreshed_ms = T_NOW;
    assert_int_equal(zn_store_begin(f->s), 0);
    s_put(f->s, &b);
    assert_int_equal(zn_store_commit(f->s), 0);
    assert_int_equal(zn_store_signal_get(f->s, a.id, &got), 1);
    s_signal_equal(&b, &got);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM signal_psn"), 4);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM signal_psn WHERE role = 0"), 1);
    s_hits h;
    zn_signal_rec asker = s_sig(50, "ggd", "0-12", 11, NULL);
    assert_int_equal(s_matches(f->s, &asker, &h), 0);
    asker = s_sig(50, "ggd", "0-12", 13, NULL);
    assert_int_equal(s_matches(f->s, &asker, &h), 1);
    assert_int_equal(h.tag[0], 1);
    /* the same refresh once more (same pseudonyms): rows untouched, values new */
    b.informed_ms = T_NOW;
    s_put(f->s, &b);
    assert_int_equal(zn_store_signal_get(f->s, a.id, &got), 1);
    assert_int_equal(got.informed_ms, T_NOW);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM signal_psn"), 4);

    /* unique per (partner, network, person): another id is refused and nothing changes */
    zn_signal_rec dup = s_sig(2, "school", "0-12", 10, (const uint8_t[]){20, 0});
    assert_int_equal(zn_store_signal_put(f->s, &dup), -1);
    assert_int_equal(zn_store_signal_get(f->s, dup.id, &got), 0);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM signal_psn"), 4);
    /* but in another network it is another signal */
    snprintf(dup.network, sizeof dup.network, "12-18");
    s_put(f->s, &dup);
    uint64_t n = 0;
    assert_int_equal(zn_store_signal_count(f->s, &n), 0);
    assert_int_equal(n, 2);
    /* a replace that fails half-way (its old pseudonym rows already gone) changes nothing */
    zn_signal_rec clash = s_sig(2, "school", "0-12", 10, (const uint8_t[]){21, 0});
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_signal_put(f->s, &clash), -1);
    assert_int_equal(zn_store_commit(f->s), 0);
    assert_int_equal(zn_store_signal_get(f->s, dup.id, &got), 1);
    s_signal_equal(&dup, &got);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM signal_psn"), 6);
    asker = s_sig(50, "ggd", "0-12", 20, NULL);
    assert_int_equal(s_matches(f->s, &asker, &h), 1);
    assert_int_equal(h.tag[0], 2);

    /* records that break the rules are refused */
    zn_signal_rec bad = s_sig(3, "school", "18plus", 30, NULL);
    bad.n_related = ZN_SIGNAL_RELATED_MAX + 1;
    assert_int_equal(zn_store_signal_put(f->s, &bad), -1);
    bad = s_sig(3, "", "18plus", 30, NULL);
    assert_int_equal(zn_store_signal_put(f->s, &bad), -1);
    bad = s_sig(3, "school", "18plus", 30, NULL);
    memset(bad.contact, 'x', sizeof bad.contact); /* no terminating NUL */
    assert_int_equal(zn_store_signal_put(f->s, &bad), -1);
    /* the most related pseudonyms, empty contact and a time past INT64_MAX are kept */
    zn_signal_rec full = s_sig(4, "school", "18plus", 40, NULL);
    for (uint32_t i = 0; i < ZN_SIGNAL_RELATED_MAX; i++)
        memcpy(full.related[i], s_p((uint8_t)(100 + i)), ZN_PSN_LEN);
    full.n_related = ZN_SIGNAL_RELATED_MAX;
    full.contact[0] = '\0';
    full.expires_ms = UINT64_MAX;
    s_put(f->s, &full);
    assert_int_equal(zn_store_signal_get(f->s, full.id, &got), 1);
    full.expires_ms = INT64_MAX;
    s_signal_equal(&full, &got);
    zn_signal_rec nobody = s_sig(5, "school", "18plus", 50, NULL);
    s_put(f->s, &nobody);
    assert_int_equal(zn_store_signal_get(f->s, nobody.id, &got), 1);
    s_signal_equal(&nobody, &got);
}

static void test_signal_delete_cascades(void **state)
{
    s_fix *f = *state;
    zn_signal_rec a = s_sig(1, "school", "0-12", 10, (const uint8_t[]){11, 0});
    zn_signal_rec b = s_sig(2, "ggd", "0-12", 10, NULL);
    zn_signal_rec c = s_sig(3, "wijkteam", "0-12", 11, NULL);
    assert_int_equal(zn_store_begin(f->s), 0);
    s_put(f->s, &a);
    s_put(f->s, &b);
    s_put(f->s, &c);
    zn_match_rec m1 = {.id = {0xa1}, .a_signal = {1}, .b_signal = {2}, .a_partner = "school", .b_partner = "ggd",
                       .a_network = "0-12", .b_network = "0-12", .link = ZN_LINK_PERSON,
                       .disclosure = ZN_DISCLOSE_PARTNERS, .created_ms = T_NOW};
    memcpy(m1.shared, s_p(10), ZN_PSN_LEN);
    zn_match_rec m2 = m1;
    m2.id[0] = 0xa2;
    m2.a_signal[0] = 3; /* a as b of the other one */
    m2.b_signal[0] = 1;
    zn_match_rec m3 = m1;
    m3.id[0] = 0xa3;
    m3.a_signal[0] = 2;
    m3.b_signal[0] = 3;
    assert_int_equal(zn_store_match_put(f->s, &m1), 0);
    assert_int_equal(zn_store_match_put(f->s, &m2), 0);
    assert_int_equal(zn_store_match_put(f->s, &m3), 0);
    assert_int_equal(zn_store_signal_delete(f->s, a.id), 1);
    assert_int_equal(zn_store_commit(f->s), 0);

    zn_signal_rec got;
    zn_match_rec mg;
    uint64_t n = 9;
    assert_int_equal(zn_store_signal_get(f->s, a.id, &got), 0);
    assert_int_equal(zn_store_match_get(f->s, m1.id, &mg), 0);
    assert_int_equal(zn_store_match_get(f->s, m2.id, &mg), 0);
    assert_int_equal(zn_store_match_get(f->s, m3.id, &mg), 1); /* not a's: kept */
    assert_int_equal(s_match_count(f->s, a.id, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(s_match_count(f->s, b.id, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM signal_psn WHERE signal = x'01000000000000000000000000000000'"), 0);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM signal_psn"), 2);
    /* a's pseudonyms match nothing of a any more */
    s_hits h;
    zn_signal_rec asker = s_sig(50, "politie", "0-12", 10, (const uint8_t[]){11, 0});
    assert_int_equal(s_matches(f->s, &asker, &h), 2);
    assert_int_equal(h.tag[0] + h.tag[1], 2 + 3);
    assert_int_equal(zn_store_signal_delete(f->s, a.id), 0);
    uint64_t count = 0;
    assert_int_equal(zn_store_signal_count(f->s, &count), 0);
    assert_int_equal(count, 2);
}

static void test_signal_matches_links(void **state)
{
    s_fix *f = *state;
    /* mine: school, person 10 with family 11 and 12 */
    zn_signal_rec mine = s_sig(1, "school", "0-12", 10, (const uint8_t[]){11, 12, 0});
    zn_signal_rec sigs[] = {
        s_sig(2, "ggd", "0-12", 10, NULL),                            /* person */
        s_sig(3, "wijkteam", "0-12", 11, NULL),                       /* related <-> person */
        s_sig(4, "politie", "12-18", 40, (const uint8_t[]){12, 0}),   /* related <-> related */
        s_sig(5, "huisarts", "18plus", 41, (const uint8_t[]){10, 0}), /* person <-> related */
        s_sig(6, "ggd", "12-18", 10, NULL),                           /* the same partner again */
        s_sig(7, "school", "12-18", 10, (const uint8_t[]){11, 0}),    /* mine's partner: never */
        s_sig(8, "jeugdzorg", "0-12", 10, NULL),                      /* expired: never */
        s_sig(9, "veilig-thuis", "0-12", 10, (const uint8_t[]){11, 12, 0}), /* shares all: once */
        s_sig(10, "bureau", "0-12", 12, (const uint8_t[]){42, 11, 0}),      /* two family: once */
        s_sig(11, "kinderopvang", "0-12", 43, (const uint8_t[]){44, 0}),    /* nothing shared */
    };
    sigs[6].expires_ms = T_NOW; /* expires_ms <= now: expired */
    assert_int_equal(zn_store_begin(f->s), 0);
    s_put(f->s, &mine);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        s_put(f->s, &sigs[i]);
    assert_int_equal(zn_store_commit(f->s), 0);

    s_hits h;
    assert_int_equal(s_matches(f->s, &mine, &h), 7);
    assert_int_equal(h.n, 7);
    struct { uint8_t tag; zn_link link; uint8_t shared; } want[] = {
        {2, ZN_LINK_PERSON, 10}, {3, ZN_LINK_FAMILY, 11}, {4, ZN_LINK_FAMILY, 12}, {5, ZN_LINK_FAMILY, 10},
        {6, ZN_LINK_PERSON, 10}, {9, ZN_LINK_PERSON, 10}, {10, ZN_LINK_FAMILY, 11},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int at = s_hit_of(&h, want[i].tag);
        assert_int_equal(h.link[at], want[i].link);
        assert_int_equal(h.shared[at], want[i].shared);
    }
    /* the person's matches come first */
    for (int i = 0; i < 4; i++)
        assert_true(h.tag[i] == 2 || h.tag[i] == 5 || h.tag[i] == 6 || h.tag[i] == 9);

    /* seen from the other side; the asker need not be stored; a repeated pseudonym counts once */
    zn_signal_rec other = s_sig(60, "politie", "0-12", 11, (const uint8_t[]){10, 11, 10, 0});
    assert_int_equal(s_matches(f->s, &other, &h), 8); /* 4 (politie's own) and 8 left out */
    assert_int_equal(h.link[s_hit_of(&h, 3)], ZN_LINK_PERSON);
    assert_int_equal(h.link[s_hit_of(&h, 1)], ZN_LINK_FAMILY);
    assert_int_equal(h.shared[s_hit_of(&h, 1)], 11); /* the asker's person comes first */
    assert_int_equal(h.link[s_hit_of(&h, 7)], ZN_LINK_FAMILY);
    assert_int_equal(h.link[s_hit_of(&h, 9)], ZN_LINK_FAMILY);
    assert_int_equal(h.link[s_hit_of(&h, 10)], ZN_LINK_FAMILY);
    assert_int_equal(h.link[s_hit_of(&h, 2)], ZN_LINK_FAMILY);
    assert_int_equal(h.link[s_hit_of(&h, 5)], ZN_LINK_FAMILY);
    assert_int_equal(h.link[s_hit_of(&h, 6)], ZN_LINK_FAMILY);

    /* a later time: the ones that expired by then are left out */
    memset(&h, 0, sizeof h);
    assert_int_equal(zn_store_signal_matches(f->s, &mine, T_NOW + 1000, s_hit, &h), 0);

    /* the callback stops the walk */
    memset(&h, 0, sizeof h);
    h.stop_after = 2;
    assert_int_equal(zn_store_signal_matches(f->s, &mine, T_NOW, s_hit, &h), 2);

    zn_signal_rec bad = mine;
    bad.n_related = ZN_SIGNAL_RELATED_MAX + 1;
    assert_int_equal(s_matches(f->s, &bad, &h), -1);
}

static void test_signal_list_paging(void **state)
{
    s_fix *f = *state;
    zn_signal_rec r[6];
    for (uint8_t i = 0; i < 6; i++) {
        r[i] = s_sig((uint8_t)(10 + i), "school", "0-12", (uint8_t)(10 + i), NULL);
        r[i].created_ms = 5000 - 100u * i; /* inserted newest first */
    }
    r[2].expires_ms = T_NOW - 1; /* expired: not listed, not counted */
    zn_signal_rec theirs = s_sig(20, "ggd", "0-12", 10, NULL);
    assert_int_equal(zn_store_begin(f->s), 0);
    for (int i = 0; i < 6; i++)
        s_put(f->s, &r[i]);
    s_put(f->s, &theirs);
    assert_int_equal(zn_store_commit(f->s), 0);

    s_hits h = {0};
    uint64_t total = 0;
    assert_int_equal(zn_store_signal_list(f->s, "school", T_NOW, 0, 2, &total, s_hit, &h), 2);
    assert_int_equal(total, 5);
    assert_int_equal(h.tag[0], 15); /* oldest first */
    assert_int_equal(h.tag[1], 14);
    assert_int_equal(h.link[0], 0);
    assert_int_equal(h.shared[0], 0);
    assert_int_equal(zn_store_signal_list(f->s, "school", T_NOW, 2, 2, &total, s_hit, &h), 2);
    assert_int_equal(h.tag[2], 13);
    assert_int_equal(h.tag[3], 11); /* 12 expired */
    assert_int_equal(zn_store_signal_list(f->s, "school", T_NOW, 4, 2, &total, s_hit, &h), 1);
    assert_int_equal(h.tag[4], 10);
    assert_int_equal(zn_store_signal_list(f->s, "school", T_NOW, 5, 2, &total, s_hit, &h), 0);
    assert_int_equal(total, 5);
    assert_int_equal(zn_store_signal_list(f->s, "nobody", T_NOW, 0, 2, &total, s_hit, &h), 0);
    assert_int_equal(total, 0);
}

typedef struct {
    zn_store *s;
    s_hits h;
} s_expiry;

/* An expiry step: delete each signal it is given, as the broker does. */
static int s_delete_it(void *ctx, const zn_signal_rec *r, zn_link link, const uint8_t *shared)
{
    s_expiry *x = ctx;
    (void)s_hit(&x->h, r, link, shared);
    return zn_store_signal_delete(x->s, r->id) == 1 ? 0 : 1;
}

static void test_signal_expired_walk(void **state)
{
    s_fix *f = *state;
    const uint64_t expires[] = {300, 100, 900, 200, 300};
    assert_int_equal(zn_store_begin(f->s), 0);
    for (uint8_t i = 0; i < 5; i++) {
        zn_signal_rec r = s_sig((uint8_t)(1 + i), i % 2 ? "ggd" : "school", "0-12", (uint8_t)(10 + i),
                                (const uint8_t[]){(uint8_t)(20 + i), 0});
        r.expires_ms = expires[i];
        s_put(f->s, &r);
    }
    assert_int_equal(zn_store_commit(f->s), 0);

    s_hits h = {0};
    assert_int_equal(zn_store_signal_expired(f->s, 300, 10, s_hit, &h), 4); /* 900 not yet */
    assert_int_equal(h.tag[0], 2);                                       /* 100 */
    assert_int_equal(h.tag[1], 4);                                       /* 200 */
    assert_true((h.tag[2] == 1 && h.tag[3] == 5) || (h.tag[2] == 5 && h.tag[3] == 1)); /* 300 */
    memset(&h, 0, sizeof h);
    assert_int_equal(zn_store_signal_expired(f->s, 300, 2, s_hit, &h), 2);
    assert_int_equal(h.tag[0], 2);
    assert_int_equal(h.tag[1], 4);
    memset(&h, 0, sizeof h);
    assert_int_equal(zn_store_signal_expired(f->s, 99, 10, s_hit, &h), 0);

    /* the callback deletes what it is given, in the broker's transaction */
    s_expiry x = {.s = f->s};
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_signal_expired(f->s, 300, 3, s_delete_it, &x), 3);
    assert_int_equal(zn_store_commit(f->s), 0);
    assert_int_equal(x.h.n, 3);
    uint64_t n = 0;
    assert_int_equal(zn_store_signal_count(f->s, &n), 0);
    assert_int_equal(n, 2);
    memset(&x.h, 0, sizeof x.h);
    assert_int_equal(zn_store_signal_expired(f->s, 300, 10, s_delete_it, &x), 1);
    assert_int_equal(zn_store_signal_expired(f->s, 300, 10, s_delete_it, &x), 0);
    assert_int_equal(zn_store_signal_count(f->s, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM signal_psn"), 2);
}

static void test_rate_counts_and_prune(void **state)
{
    s_fix *f = *state;
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_rate_add(f->s, "school", "ib-1", 100), 0);
    assert_int_equal(zn_store_rate_add(f->s, "school", "ib-1", 200), 0);
    assert_int_equal(zn_store_rate_add(f->s, "school", "ib-2", 300), 0);
    assert_int_equal(zn_store_rate_add(f->s, "ggd", "ib-1", 150), 0);
    assert_int_equal(zn_store_rate_add(f->s, "ggd", NULL, 160), 0);
    assert_int_equal(zn_store_commit(f->s), 0);
    struct { const char *partner, *handler; uint64_t since, want; } c[] = {
        {"school", NULL, 0, 3},   {"school", NULL, 200, 2}, {"school", NULL, 301, 0},
        {"school", "ib-1", 0, 2}, {"school", "ib-1", 101, 1}, {"school", "ib-2", 0, 1},
        {"ggd", NULL, 0, 2},      {"ggd", "ib-1", 0, 1},    {"ggd", "ib-2", 0, 0},
        {"politie", NULL, 0, 0},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        uint64_t n = 99;
        assert_int_equal(zn_store_rate_count(f->s, c[i].partner, c[i].handler, c[i].since, 1000, &n), 0);
        assert_int_equal(n, c[i].want);
    }
    uint64_t capped = 99; /* counting stops at the cap */
    assert_int_equal(zn_store_rate_count(f->s, "school", NULL, 0, 2, &capped), 0);
    assert_int_equal(capped, 2);
    assert_int_equal(zn_store_rate_prune(f->s, 200), 0); /* forgets 100, 150, 160 */
    uint64_t n = 99;
    assert_int_equal(zn_store_rate_count(f->s, "school", NULL, 0, 1000, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(zn_store_rate_count(f->s, "school", "ib-1", 0, 1000, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(zn_store_rate_count(f->s, "ggd", NULL, 0, 1000, &n), 0);
    assert_int_equal(n, 0);
}

static void s_match_equal(const zn_match_rec *a, const zn_match_rec *b)
{
    assert_memory_equal(a->id, b->id, ZN_ID_LEN);
    assert_memory_equal(a->a_signal, b->a_signal, ZN_ID_LEN);
    assert_memory_equal(a->b_signal, b->b_signal, ZN_ID_LEN);
    assert_string_equal(a->a_partner, b->a_partner);
    assert_string_equal(a->b_partner, b->b_partner);
    assert_string_equal(a->a_network, b->a_network);
    assert_string_equal(a->b_network, b->b_network);
    assert_memory_equal(a->shared, b->shared, ZN_PSN_LEN);
    assert_int_equal(a->link, b->link);
    assert_int_equal(a->disclosure, b->disclosure);
    assert_int_equal(a->created_ms, b->created_ms);
    assert_int_equal(a->connected_ms, b->connected_ms);
    assert_string_equal(a->connected_by, b->connected_by);
    assert_string_equal(a->lead, b->lead);
}

static void test_match_put_get_find_count(void **state)
{
    s_fix *f = *state;
    zn_match_rec m = {.id = {0xa1, 2}, .a_signal = {1, 1}, .b_signal = {2, 2}, .a_partner = "school",
                      .b_partner = "ggd", .a_network = "0-12", .b_network = "12-18", .link = ZN_LINK_FAMILY,
                      .disclosure = ZN_DISCLOSE_COORDINATORS, .created_ms = T_NOW};
    memcpy(m.shared, s_p(11), ZN_PSN_LEN);
    zn_match_rec got;
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_match_put(f->s, &m), 0);
    assert_int_equal(zn_store_commit(f->s), 0);
    assert_int_equal(zn_store_match_get(f->s, m.id, &got), 1);
    s_match_equal(&m, &got);
    memset(&got, 0, sizeof got);
    assert_int_equal(zn_store_match_find(f->s, m.a_signal, m.b_signal, &got), 1);
    s_match_equal(&m, &got);
    memset(&got, 0, sizeof got);
    assert_int_equal(zn_store_match_find(f->s, m.b_signal, m.a_signal, &got), 1); /* either order */
    s_match_equal(&m, &got);
    uint8_t other[ZN_ID_LEN] = {3};
    assert_int_equal(zn_store_match_find(f->s, m.a_signal, other, &got), 0);
    assert_int_equal(zn_store_match_get(f->s, other, &got), 0);

    /* a coordinator connects and names a lead: the same id is updated */
    m.connected_ms = T_NOW + 5;
    snprintf(m.connected_by, sizeof m.connected_by, "coordinator-1");
    snprintf(m.lead, sizeof m.lead, "ggd");
    assert_int_equal(zn_store_match_put(f->s, &m), 0);
    assert_int_equal(zn_store_match_get(f->s, m.id, &got), 1);
    s_match_equal(&m, &got);

    /* a second match of a with another signal; counts from either side */
    zn_match_rec m2 = m;
    m2.id[0] = 0xa2;
    memcpy(m2.a_signal, other, ZN_ID_LEN);
    memcpy(m2.b_signal, m.a_signal, ZN_ID_LEN);
    assert_int_equal(zn_store_match_put(f->s, &m2), 0);
    uint64_t n = 0;
    assert_int_equal(s_match_count(f->s, m.a_signal, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(s_match_count(f->s, m.b_signal, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s_match_count(f->s, (const uint8_t[ZN_ID_LEN]){9}, &n), 0);
    assert_int_equal(n, 0);
    /* the walk stops at its limit; a deleted match is gone from both sides */
    assert_int_equal(zn_store_matches_of(f->s, m.a_signal, 1, s_count_match, &n), 1);
    assert_int_equal(zn_store_match_delete(f->s, m2.id), 1);
    assert_int_equal(zn_store_match_delete(f->s, m2.id), 0);
    assert_int_equal(s_match_count(f->s, m.a_signal, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s_match_count(f->s, other, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(zn_store_match_put(f->s, &m2), 0);

    /* one match per pair, in either order; a record that breaks the rules is refused */
    zn_match_rec bad = m;
    bad.id[0] = 0xa3;
    assert_int_equal(zn_store_match_put(f->s, &bad), -1);
    memcpy(bad.a_signal, m.b_signal, ZN_ID_LEN);
    memcpy(bad.b_signal, m.a_signal, ZN_ID_LEN);
    assert_int_equal(zn_store_match_put(f->s, &bad), -1);
    bad = m;
    bad.id[0] = 0xa4;
    memcpy(bad.b_signal, bad.a_signal, ZN_ID_LEN);
    assert_int_equal(zn_store_match_put(f->s, &bad), -1);
    bad = m;
    bad.id[0] = 0xa5;
    bad.b_signal[0] = 0x55;
    bad.link = (zn_link)0;
    assert_int_equal(zn_store_match_put(f->s, &bad), -1);
    bad.link = ZN_LINK_PERSON;
    bad.disclosure = (zn_disclosure)4;
    assert_int_equal(zn_store_match_put(f->s, &bad), -1);
    bad.disclosure = ZN_DISCLOSE_NONE;
    bad.b_partner[0] = '\0';
    assert_int_equal(zn_store_match_put(f->s, &bad), -1);
    assert_int_equal(zn_store_match_get(f->s, bad.id, &got), 0);
}

/* A database of schema 2 (before signals) is migrated forward and keeps its rows. */
/* A steady stream of commits keeps the WAL within its limit (plus one transaction). The
 * checkpoint thread alone would let it grow: it never finds a moment between two commits. */
static void test_wal_stays_bounded(void **state)
{
    s_fix *f = *state;
    enum { LIMIT = 1024 * 1024, TX = 32, BODY = 4096, ROUNDS = 300 };
    zn_store_set_wal_limit(f->s, LIMIT);
    char wal[128];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    static uint8_t body[BODY];
    memset(body, 0x5a, sizeof body);
    off_t most = 0;
    for (int r = 0; r < ROUNDS; r++) {
        assert_int_equal(zn_store_begin(f->s), 0);
        for (int i = 0; i < TX; i++) {
            uint8_t id[ZN_ID_LEN] = {(uint8_t)r, (uint8_t)(r >> 8), (uint8_t)i};
            int64_t seq;
            assert_int_equal(zn_store_queue_insert(f->s, "ggd", id, 1, "school", NULL, body, sizeof body, 1000, &seq), 0);
        }
        assert_int_equal(zn_store_commit(f->s), 0);
        struct stat st;
        if (stat(wal, &st) == 0 && st.st_size > most)
            most = st.st_size;
    }
    /* one transaction is about TX * BODY bytes of pages, written once or twice */
    if (most > LIMIT + 4 * TX * BODY)
        fail_msg("the WAL grew to %lld bytes; the limit is %d", (long long)most, LIMIT);
}

static void test_schema_2_migrated(void **state)
{
    s_fix *f = *state;
    s_old_database(f, S_SCHEMA_1
        "ALTER TABLE msgids ADD COLUMN audit_idx INTEGER;"
        "CREATE TABLE audit(idx INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, d BLOB NOT NULL, salt BLOB,"
        "  entry BLOB);"
        "CREATE TABLE audit_node(level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,"
        "  PRIMARY KEY(level, idx)) WITHOUT ROWID;"
        "CREATE TABLE audit_head(size INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, head BLOB NOT NULL,"
        "  sig BLOB NOT NULL);"
        "CREATE TABLE convenants(version INTEGER PRIMARY KEY, raw BLOB NOT NULL);"
        "INSERT INTO meta VALUES('convenant_version', 7);"
        "INSERT INTO msgids VALUES('school', x'07', 'ggd', x'09', 5, 0);"
        "INSERT INTO audit VALUES(0, 5, zeroblob(32), NULL, NULL);"
        "INSERT INTO audit VALUES(1, 6, zeroblob(32), NULL, NULL);"
        "INSERT INTO convenants VALUES(7, x'80');"
        "PRAGMA user_version = 2;");
    zn_err e;
    assert_int_equal(zn_store_open(f->path, &f->s, &e), 0);
    uint64_t v = 0, size = 0, n = 9;
    assert_int_equal(zn_store_meta_get_u64(f->s, "convenant_version", &v), 1);
    assert_int_equal(v, 7);
    assert_int_equal(zn_store_audit_size(f->s, &size), 0);
    assert_int_equal(size, 2);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM convenants"), 1);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM msgids"), 1);
    assert_int_equal(s_rows(f, "PRAGMA user_version"), ZN_SCHEMA_VERSION);
    /* and the new tables work */
    assert_int_equal(zn_store_signal_count(f->s, &n), 0);
    assert_int_equal(n, 0);
    zn_signal_rec a = s_sig(1, "school", "0-12", 10, NULL), got;
    s_put(f->s, &a);
    assert_int_equal(zn_store_signal_get(f->s, a.id, &got), 1);
    s_signal_equal(&a, &got);
    assert_int_equal(zn_store_rate_add(f->s, "school", "ib-1", 5), 0);
    assert_int_equal(zn_store_rate_count(f->s, "school", NULL, 0, 1000, &n), 0);
    assert_int_equal(n, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_queue_positions_are_never_reused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_queue_is_per_recipient_and_ordered, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_message_id_claimed_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_nonce_replay_and_prune, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_savepoint_undoes_one_request, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_schema_version_and_reopen, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_schema_1_migrated, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_signal_put_get_find_replace, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_signal_delete_cascades, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_signal_matches_links, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_signal_list_paging, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_signal_expired_walk, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_rate_counts_and_prune, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_match_put_get_find_count, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_schema_2_migrated, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_wal_stays_bounded, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
