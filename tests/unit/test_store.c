/* The broker's store: schema, queue order, message-id claims, nonces, signals, matches, rate
 * events, cases and their members, consent records, safety overrides and handovers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store.h"
#include "zn_frame.h"

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

/* ... and of schema 2 (the audit log) and 3 (signals). */
#define S_SCHEMA_2 S_SCHEMA_1 \
    "ALTER TABLE msgids ADD COLUMN audit_idx INTEGER;" \
    "CREATE TABLE audit(idx INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, d BLOB NOT NULL, salt BLOB," \
    "  entry BLOB);" \
    "CREATE TABLE audit_node(level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL," \
    "  PRIMARY KEY(level, idx)) WITHOUT ROWID;" \
    "CREATE TABLE audit_head(size INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, head BLOB NOT NULL," \
    "  sig BLOB NOT NULL);" \
    "CREATE TABLE convenants(version INTEGER PRIMARY KEY, raw BLOB NOT NULL);"
#define S_SCHEMA_3 S_SCHEMA_2 \
    "CREATE TABLE signals(id BLOB PRIMARY KEY, partner TEXT NOT NULL, handler TEXT NOT NULL," \
    "  network TEXT NOT NULL, person BLOB NOT NULL, related BLOB NOT NULL, contact TEXT NOT NULL," \
    "  created_ms INTEGER NOT NULL, refreshed_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL," \
    "  informed_ms INTEGER NOT NULL, UNIQUE(partner, network, person));" \
    "CREATE INDEX signals_by_expiry ON signals(expires_ms);" \
    "CREATE INDEX signals_by_partner ON signals(partner, created_ms, expires_ms);" \
    "CREATE TABLE signal_psn(psn BLOB NOT NULL, signal BLOB NOT NULL, role INTEGER NOT NULL," \
    "  PRIMARY KEY(psn, signal)) WITHOUT ROWID;" \
    "CREATE TABLE matches(id BLOB PRIMARY KEY, a_signal BLOB NOT NULL, b_signal BLOB NOT NULL," \
    "  a_partner TEXT NOT NULL, b_partner TEXT NOT NULL, a_network TEXT NOT NULL, b_network TEXT NOT NULL," \
    "  shared BLOB NOT NULL, link INTEGER NOT NULL, disclosure INTEGER NOT NULL, created_ms INTEGER NOT NULL," \
    "  connected_ms INTEGER NOT NULL, connected_by TEXT NOT NULL, lead TEXT NOT NULL," \
    "  UNIQUE(a_signal, b_signal));" \
    "CREATE INDEX matches_by_b ON matches(b_signal);" \
    "CREATE TABLE rate_events(partner TEXT NOT NULL, handler TEXT NOT NULL, at_ms INTEGER NOT NULL);" \
    "CREATE INDEX rate_by_partner ON rate_events(partner, at_ms);" \
    "CREATE INDEX rate_by_handler ON rate_events(partner, handler, at_ms);"

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

/* A database of schema 2 (before signals) is migrated forward and keeps its rows. */
static void test_schema_2_migrated(void **state)
{
    s_fix *f = *state;
    s_old_database(f, S_SCHEMA_2
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

/* ---- cases, members, consent, overrides, handovers (schema 4) ------------------------------ */

/* A case with id {tag}, created at T_NOW + tag; identified when person is not 0 (related
 * pseudonyms from a 0-terminated list of tags). */
static zn_case s_case(uint8_t tag, const char *regisseur, const char *network, uint8_t person,
                      const uint8_t *related)
{
    zn_case c;
    memset(&c, 0, sizeof c);
    c.id[0] = 0xc0;
    c.id[1] = tag;
    snprintf(c.regisseur, sizeof c.regisseur, "%s", regisseur);
    snprintf(c.network, sizeof c.network, "%s", network);
    c.created_ms = T_NOW + tag;
    if (person) {
        c.identified = true;
        memcpy(c.person, s_p(person), ZN_PSN_LEN);
        while (related && related[c.n_related])
            memcpy(c.related[c.n_related], s_p(related[c.n_related]), ZN_PSN_LEN), c.n_related++;
    }
    return c;
}

static void s_case_equal(const zn_case *a, const zn_case *b)
{
    assert_memory_equal(a->id, b->id, ZN_ID_LEN);
    assert_string_equal(a->network, b->network);
    assert_string_equal(a->regisseur, b->regisseur);
    assert_int_equal(a->created_ms, b->created_ms);
    assert_int_equal(a->closed_ms, b->closed_ms);
    assert_int_equal(a->identified, b->identified);
    assert_memory_equal(a->person, b->person, ZN_PSN_LEN);
    assert_int_equal(a->n_related, b->n_related);
    assert_memory_equal(a->related, b->related, sizeof a->related);
}

/* A stand-in for a sealed encoding (the store never reads one): n bytes of `fill`. */
static const uint8_t *s_sealed(uint8_t fill, size_t n)
{
    static uint8_t bufs[256][512];
    assert_true(n <= sizeof bufs[0]);
    memset(bufs[fill], fill, n);
    return bufs[fill];
}

static void test_case_round_trip(void **state)
{
    s_fix *f = *state;
    zn_case anon = s_case(1, "school", "0-12", 0, NULL);
    zn_case known = s_case(2, "ggd", "12-18", 10, (const uint8_t[]){11, 12, 0});
    zn_case bare = s_case(3, "ggd", "12-18", 20, NULL), got;
    anon.n_related = 3; /* ignored: an anonymous case keeps no pseudonyms */
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_case_insert(f->s, &anon), 0);
    assert_int_equal(zn_store_case_insert(f->s, &known), 0);
    assert_int_equal(zn_store_case_insert(f->s, &bare), 0);
    assert_int_equal(zn_store_case_insert(f->s, &known), 1); /* the id exists */
    assert_int_equal(zn_store_commit(f->s), 0);
    anon.n_related = 0;
    assert_int_equal(zn_store_case_get(f->s, anon.id, &got), 1);
    s_case_equal(&anon, &got);
    assert_false(got.identified);
    assert_int_equal(zn_store_case_get(f->s, known.id, &got), 1);
    s_case_equal(&known, &got);
    assert_true(got.identified);
    assert_int_equal(zn_store_case_get(f->s, bare.id, &got), 1); /* identified, nobody related */
    s_case_equal(&bare, &got);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM cases WHERE person IS NULL AND related IS NULL"), 1);
    uint8_t none[ZN_ID_LEN] = {0xc0, 99};
    assert_int_equal(zn_store_case_get(f->s, none, &got), 0);

    /* the most related pseudonyms, and a closing time past INT64_MAX */
    zn_case full = s_case(4, "school", "0-12", 30, NULL);
    for (uint32_t i = 0; i < ZN_CASE_RELATED_MAX; i++)
        memcpy(full.related[i], s_p((uint8_t)(100 + i)), ZN_PSN_LEN);
    full.n_related = ZN_CASE_RELATED_MAX;
    full.closed_ms = UINT64_MAX;
    assert_int_equal(zn_store_case_insert(f->s, &full), 0);
    assert_int_equal(zn_store_case_get(f->s, full.id, &got), 1);
    full.closed_ms = INT64_MAX;
    s_case_equal(&full, &got);

    /* records that break the rules are refused */
    zn_case bad = s_case(5, "school", "0-12", 30, NULL);
    bad.n_related = ZN_CASE_RELATED_MAX + 1;
    assert_int_equal(zn_store_case_insert(f->s, &bad), -1);
    bad = s_case(5, "", "0-12", 0, NULL);
    assert_int_equal(zn_store_case_insert(f->s, &bad), -1);
    bad = s_case(5, "school", "", 0, NULL);
    assert_int_equal(zn_store_case_insert(f->s, &bad), -1);
    assert_int_equal(zn_store_case_get(f->s, bad.id, &got), 0);
}

static void test_case_link_close_regisseur(void **state)
{
    s_fix *f = *state;
    zn_case c = s_case(1, "school", "0-12", 0, NULL), got;
    uint8_t none[ZN_ID_LEN] = {0xc0, 99};
    assert_int_equal(zn_store_case_insert(f->s, &c), 0);

    uint8_t related[2][ZN_PSN_LEN];
    memcpy(related[0], s_p(11), ZN_PSN_LEN);
    memcpy(related[1], s_p(12), ZN_PSN_LEN);
    assert_int_equal(zn_store_case_link(f->s, c.id, s_p(10), (const uint8_t(*)[ZN_PSN_LEN])related, 2), 1);
    assert_int_equal(zn_store_case_link(f->s, none, s_p(10), NULL, 0), 0);
    assert_int_equal(zn_store_case_link(f->s, c.id, s_p(10), NULL, ZN_CASE_RELATED_MAX + 1), -1);
    assert_int_equal(zn_store_case_get(f->s, c.id, &got), 1);
    assert_true(got.identified);
    assert_memory_equal(got.person, s_p(10), ZN_PSN_LEN);
    assert_int_equal(got.n_related, 2);
    assert_memory_equal(got.related, related, sizeof related);

    assert_int_equal(zn_store_case_close(f->s, c.id, T_NOW + 50), 1);
    assert_int_equal(zn_store_case_close(f->s, none, T_NOW + 50), 0);
    assert_int_equal(zn_store_case_close(f->s, c.id, 0), -1); /* 0 means open */
    assert_int_equal(zn_store_case_set_regisseur(f->s, c.id, "ggd"), 1);
    assert_int_equal(zn_store_case_set_regisseur(f->s, none, "ggd"), 0);
    assert_int_equal(zn_store_case_set_regisseur(f->s, c.id, ""), -1);
    assert_int_equal(zn_store_case_get(f->s, c.id, &got), 1);
    assert_int_equal(got.closed_ms, T_NOW + 50);
    assert_string_equal(got.regisseur, "ggd");
    assert_string_equal(got.network, "0-12");
    assert_int_equal(got.created_ms, c.created_ms);
}

/* A member row, a consent, an override and a handover on a case. */
static zn_override_row s_ovr(uint8_t tag, const uint8_t case_id[ZN_ID_LEN], const char *network, const char *from,
                             const char *to, uint64_t created_ms)
{
    zn_override_row r;
    memset(&r, 0, sizeof r);
    r.id[0] = 0xd0;
    r.id[1] = tag;
    memcpy(r.case_id, case_id, ZN_ID_LEN);
    snprintf(r.network, sizeof r.network, "%s", network);
    snprintf(r.from, sizeof r.from, "%s", from);
    snprintf(r.handler, sizeof r.handler, "handler of %s", from);
    snprintf(r.to, sizeof r.to, "%s", to);
    r.step = 2;
    r.created_ms = created_ms;
    r.expires_ms = created_ms + 1000;
    r.review_by_ms = created_ms + 100;
    r.state = ZN_OVERRIDE_PENDING;
    r.justification = s_sealed(tag, 64 + tag);
    r.justification_len = 64 + tag;
    return r;
}

static zn_handover_row s_ho(uint8_t tag, const uint8_t case_id[ZN_ID_LEN], const char *from, const char *to,
                            uint64_t offered_ms)
{
    zn_handover_row r;
    memset(&r, 0, sizeof r);
    r.id[0] = 0xe0;
    r.id[1] = tag;
    memcpy(r.case_id, case_id, ZN_ID_LEN);
    snprintf(r.from, sizeof r.from, "%s", from);
    snprintf(r.handler, sizeof r.handler, "handler of %s", from);
    snprintf(r.to, sizeof r.to, "%s", to);
    r.msgid[0] = 0xf0;
    r.msgid[1] = tag;
    r.offered_ms = offered_ms;
    r.timeout_ms = offered_ms + 500;
    r.state = ZN_HANDOVER_OPEN;
    return r;
}

static zn_consent_row s_consent(zn_consent_state st, const char *scope_csv, uint64_t at_ms)
{
    zn_consent_row r;
    memset(&r, 0, sizeof r);
    r.c.state = st;
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", scope_csv);
    for (char *p = strtok(tmp, ","); p; p = strtok(NULL, ","))
        snprintf(r.c.scope[r.c.n_scope++], ZN_IDENT_MAX, "%s", p);
    r.at_ms = at_ms;
    snprintf(r.handler, sizeof r.handler, "ib-1");
    snprintf(r.partner, sizeof r.partner, "school");
    return r;
}

static void s_case_rows(zn_store *s, const zn_case *c, uint8_t tag)
{
    uint64_t seq = 0;
    zn_consent_row cr = s_consent(ZN_CONSENT_REQUESTED, "", T_NOW);
    zn_override_row o = s_ovr(tag, c->id, c->network, c->regisseur, "ggd", T_NOW);
    zn_handover_row h = s_ho(tag, c->id, c->regisseur, "ggd", T_NOW);
    assert_int_equal(zn_store_member_add(s, c->id, c->regisseur, "regisseur", c->created_ms), 0);
    assert_int_equal(zn_store_member_add(s, c->id, "jeugdzorg", "received", c->created_ms + 1), 0);
    assert_int_equal(zn_store_consent_add(s, c->id, &cr, &seq), 0);
    assert_int_equal(zn_store_override_put(s, &o), 0);
    assert_int_equal(zn_store_handover_put(s, &h), 0);
}

typedef struct {
    zn_store *s;
    uint8_t ids[16][ZN_ID_LEN];
    int n;
    bool delete_them;
} s_case_ids;

static int s_case_id(void *ctx, const uint8_t id[ZN_ID_LEN])
{
    s_case_ids *v = ctx;
    assert_true(v->n < 16);
    memcpy(v->ids[v->n++], id, ZN_ID_LEN);
    if (v->delete_them)
        assert_int_equal(zn_store_case_delete(v->s, id), 1);
    return 0;
}

static void test_case_closed_before_and_delete(void **state)
{
    s_fix *f = *state;
    zn_case a = s_case(1, "school", "0-12", 0, NULL), b = s_case(2, "school", "0-12", 10, NULL);
    zn_case c = s_case(3, "ggd", "0-12", 0, NULL), open = s_case(4, "ggd", "0-12", 0, NULL);
    a.closed_ms = 300;
    b.closed_ms = 100;
    c.closed_ms = 200;
    assert_int_equal(zn_store_begin(f->s), 0);
    const zn_case *all[] = {&a, &b, &c, &open};
    for (uint8_t i = 0; i < 4; i++) {
        assert_int_equal(zn_store_case_insert(f->s, all[i]), 0);
        s_case_rows(f->s, all[i], (uint8_t)(i + 1));
    }
    uint8_t item[ZN_ID_LEN] = {0x77}, body[3] = {0x92, 1, 2};
    int64_t seq;
    assert_int_equal(zn_store_queue_insert(f->s, "ggd", item, ZN_ITEM_ENVELOPE, "school", b.id, body, sizeof body, 5,
                                           &seq), 0);
    assert_int_equal(zn_store_commit(f->s), 0);

    s_case_ids v = {.s = f->s};
    assert_int_equal(zn_store_cases_closed_before(f->s, 250, 10, s_case_id, &v), 2); /* soonest first */
    assert_memory_equal(v.ids[0], b.id, ZN_ID_LEN);
    assert_memory_equal(v.ids[1], c.id, ZN_ID_LEN);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_cases_closed_before(f->s, 250, 1, s_case_id, &v), 1);
    assert_int_equal(zn_store_cases_closed_before(f->s, 99, 10, s_case_id, &v), 0);
    assert_int_equal(zn_store_cases_closed_before(f->s, UINT64_MAX, 0, s_case_id, &v), 0);

    /* the clock deletes each one it is given, in its transaction; the rows of the others stay */
    memset(&v, 0, sizeof v);
    v.s = f->s;
    v.delete_them = true;
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_cases_closed_before(f->s, 250, 10, s_case_id, &v), 2);
    assert_int_equal(zn_store_commit(f->s), 0);
    zn_case got;
    assert_int_equal(zn_store_case_get(f->s, b.id, &got), 0);
    assert_int_equal(zn_store_case_get(f->s, c.id, &got), 0);
    assert_int_equal(zn_store_case_get(f->s, a.id, &got), 1);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM cases"), 2);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM case_members"), 4);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM consents"), 2);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM overrides"), 2);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM handovers"), 2);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM queue"), 1); /* queued items are not the case's rows */
    assert_int_equal(zn_store_case_delete(f->s, b.id), 0);
    zn_consent_row cr;
    assert_int_equal(zn_store_consent_current(f->s, b.id, &cr), 0);
    assert_int_equal(zn_store_member_get(f->s, b.id, "school", NULL, NULL), 0);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_cases_closed_before(f->s, 1000, 10, s_case_id, &v), 1);
    assert_memory_equal(v.ids[0], a.id, ZN_ID_LEN);
}

typedef struct {
    zn_member_row m[8];
    int n, stop_after;
} s_members_seen;

static int s_member(void *ctx, const zn_member_row *m)
{
    s_members_seen *v = ctx;
    assert_true(v->n < 8);
    v->m[v->n++] = *m;
    return v->stop_after && v->n >= v->stop_after;
}

static void test_members(void **state)
{
    s_fix *f = *state;
    zn_case k = s_case(1, "school", "0-12", 0, NULL), o = s_case(2, "politie", "0-12", 0, NULL);
    const uint8_t *kase = k.id, *other = o.id;
    uint8_t gone[ZN_ID_LEN] = {0xc0, 3};
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_case_insert(f->s, &k), 0);
    assert_int_equal(zn_store_case_insert(f->s, &o), 0);
    assert_int_equal(zn_store_member_add(f->s, kase, "school", "regisseur", 300), 0);
    assert_int_equal(zn_store_member_add(f->s, kase, "wijkteam", "handover", 500), 0);
    assert_int_equal(zn_store_member_add(f->s, kase, "ggd", "received", 400), 0);
    assert_int_equal(zn_store_member_add(f->s, kase, "ggd", "received", 900), 1); /* the first row stays */
    assert_int_equal(zn_store_member_add(f->s, kase, "school", "received", 100), 1);
    assert_int_equal(zn_store_member_add(f->s, kase, "school", "handover", 100), 1); /* it held the case already */
    assert_int_equal(zn_store_member_add(f->s, kase, "wijkteam", "received", 950), 1);
    assert_int_equal(zn_store_member_add(f->s, other, "politie", "received", 50), 0);
    /* a case that does not exist (deleted after its retention) gets no members */
    assert_int_equal(zn_store_member_add(f->s, gone, "ggd", "received", 60), 1);
    assert_int_equal(zn_store_commit(f->s), 0);
    assert_int_equal(zn_store_member_get(f->s, gone, "ggd", NULL, NULL), 0);
    /* only the stored ways in; names that fit */
    assert_int_equal(zn_store_member_add(f->s, kase, "jeugdzorg", "consent", 1), -1);
    assert_int_equal(zn_store_member_add(f->s, kase, "jeugdzorg", "", 1), -1);
    assert_int_equal(zn_store_member_add(f->s, kase, "", "received", 1), -1);

    char how[16] = "";
    uint64_t since = 0;
    assert_int_equal(zn_store_member_get(f->s, kase, "ggd", how, &since), 1);
    assert_string_equal(how, "received");
    assert_int_equal(since, 400);
    assert_int_equal(zn_store_member_get(f->s, kase, "school", how, NULL), 1);
    assert_string_equal(how, "regisseur");
    assert_int_equal(zn_store_member_get(f->s, kase, "wijkteam", NULL, NULL), 1);
    assert_int_equal(zn_store_member_get(f->s, kase, "politie", how, &since), 0);
    assert_int_equal(zn_store_member_get(f->s, kase, "jeugdzorg", how, &since), 0);

    s_members_seen v = {0};
    assert_int_equal(zn_store_members(f->s, kase, 10, s_member, &v), 3); /* in order of since */
    assert_string_equal(v.m[0].partner, "school");
    assert_string_equal(v.m[0].how, "regisseur");
    assert_int_equal(v.m[0].since_ms, 300);
    assert_string_equal(v.m[1].partner, "ggd");
    assert_string_equal(v.m[2].partner, "wijkteam");
    assert_string_equal(v.m[2].how, "handover");
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_members(f->s, kase, 2, s_member, &v), 2);
    memset(&v, 0, sizeof v);
    v.stop_after = 1;
    assert_int_equal(zn_store_members(f->s, kase, 10, s_member, &v), 1);
    memset(&v, 0, sizeof v);
    uint8_t none[ZN_ID_LEN] = {0xc0, 99};
    assert_int_equal(zn_store_members(f->s, none, 10, s_member, &v), 0);

    /* a partner that received and then took the case over held it: "handover" replaces
     * "received" (nothing else does), keeping when it became a member */
    assert_int_equal(zn_store_member_add(f->s, kase, "ggd", "handover", 900), 0);
    assert_int_equal(zn_store_member_get(f->s, kase, "ggd", how, &since), 1);
    assert_string_equal(how, "handover");
    assert_int_equal(since, 400);
    assert_int_equal(zn_store_member_add(f->s, kase, "ggd", "received", 990), 1);
    assert_int_equal(zn_store_member_get(f->s, kase, "ggd", how, &since), 1);
    assert_string_equal(how, "handover");
}

typedef struct {
    uint64_t seq[8];
    zn_consent_state state[8];
    size_t purpose_len[8];
    uint8_t purpose0[8];
    int n;
} s_consents_seen;

static int s_consent_seen(void *ctx, const zn_consent_row *r)
{
    s_consents_seen *v = ctx;
    assert_true(v->n < 8);
    v->seq[v->n] = r->seq;
    v->state[v->n] = r->c.state;
    v->purpose_len[v->n] = r->purpose_len;
    v->purpose0[v->n] = r->purpose ? r->purpose[0] : 0;
    if (r->purpose)
        assert_memory_equal(r->purpose, s_sealed(r->purpose[0], r->purpose_len), r->purpose_len);
    v->n++;
    return 0;
}

static void test_consent_records(void **state)
{
    s_fix *f = *state;
    uint8_t kase[ZN_ID_LEN] = {0xc0, 1}, other[ZN_ID_LEN] = {0xc0, 2};
    zn_consent_row got;
    assert_int_equal(zn_store_consent_current(f->s, kase, &got), 0);

    zn_consent_row asked = s_consent(ZN_CONSENT_REQUESTED, "", T_NOW);
    asked.purpose = s_sealed(0x51, 120);
    asked.purpose_len = 120;
    zn_consent_row yes = s_consent(ZN_CONSENT_GRANTED, "ggd,school,wijkteam", T_NOW + 10);
    yes.c.given_by = ZN_GIVEN_CLIENT | ZN_GIVEN_PARENT;
    yes.c.age_band = ZN_AGE_12_15;
    yes.c.until_ms = T_NOW + 100000;
    yes.purpose = s_sealed(0x52, 300);
    yes.purpose_len = 300;
    yes.seq = 77; /* ignored */
    zn_consent_row no = s_consent(ZN_CONSENT_WITHDRAWN, "", T_NOW + 20);
    uint64_t seq = 0;
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_consent_add(f->s, kase, &asked, &seq), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(zn_store_consent_add(f->s, kase, &yes, &seq), 0);
    assert_int_equal(seq, 2);
    assert_int_equal(zn_store_consent_add(f->s, other, &no, &seq), 0); /* numbered per case */
    assert_int_equal(seq, 1);
    assert_int_equal(zn_store_commit(f->s), 0);

    assert_int_equal(zn_store_consent_current(f->s, kase, &got), 1);
    assert_int_equal(got.seq, 2);
    assert_int_equal(got.c.state, ZN_CONSENT_GRANTED);
    assert_int_equal(got.c.n_scope, 3);
    assert_string_equal(got.c.scope[0], "ggd");
    assert_string_equal(got.c.scope[1], "school");
    assert_string_equal(got.c.scope[2], "wijkteam");
    assert_int_equal(got.c.given_by, ZN_GIVEN_CLIENT | ZN_GIVEN_PARENT);
    assert_int_equal(got.c.age_band, ZN_AGE_12_15);
    assert_int_equal(got.c.until_ms, T_NOW + 100000);
    assert_int_equal(got.at_ms, T_NOW + 10);
    assert_string_equal(got.handler, "ib-1");
    assert_string_equal(got.partner, "school");
    assert_int_equal(got.purpose_len, 300);
    assert_memory_equal(got.purpose, s_sealed(0x52, 300), 300);
    assert_true(zn_consent_covers(&got.c, "school", T_NOW + 20));

    assert_int_equal(zn_store_consent_current(f->s, other, &got), 1);
    assert_int_equal(got.c.state, ZN_CONSENT_WITHDRAWN);
    assert_int_equal(got.c.n_scope, 0);
    assert_null(got.purpose);
    assert_int_equal(got.purpose_len, 0);

    /* withdrawn: the newest record is current, the history keeps them all, oldest first */
    no.at_ms = T_NOW + 30;
    assert_int_equal(zn_store_consent_add(f->s, kase, &no, NULL), 0);
    assert_int_equal(zn_store_consent_current(f->s, kase, &got), 1);
    assert_int_equal(got.seq, 3);
    assert_int_equal(got.c.state, ZN_CONSENT_WITHDRAWN);
    s_consents_seen v = {0};
    assert_int_equal(zn_store_consent_history(f->s, kase, 10, s_consent_seen, &v), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(v.seq[i], (uint64_t)i + 1);
    assert_int_equal(v.state[0], ZN_CONSENT_REQUESTED);
    assert_int_equal(v.state[1], ZN_CONSENT_GRANTED);
    assert_int_equal(v.purpose_len[0], 120);
    assert_int_equal(v.purpose0[0], 0x51);
    assert_int_equal(v.purpose_len[1], 300);
    assert_int_equal(v.purpose0[1], 0x52);
    assert_int_equal(v.purpose_len[2], 0);
    /* a limit keeps the newest, oldest first among them (the last one is the current one) */
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_consent_history(f->s, kase, 2, s_consent_seen, &v), 2);
    assert_int_equal(v.seq[0], 2);
    assert_int_equal(v.seq[1], 3);
    assert_int_equal(v.state[1], ZN_CONSENT_WITHDRAWN);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_consent_history(f->s, kase, 1, s_consent_seen, &v), 1);
    assert_int_equal(v.seq[0], 3);

    /* records that break the rules are refused, and take no number */
    zn_consent_row bad = s_consent(ZN_CONSENT_NONE, "", T_NOW);
    assert_int_equal(zn_store_consent_add(f->s, kase, &bad, &seq), -1);
    bad = s_consent(ZN_CONSENT_GRANTED, "ggd", T_NOW);
    snprintf(bad.c.scope[0], ZN_IDENT_MAX, "ggd,school"); /* not an identifier */
    assert_int_equal(zn_store_consent_add(f->s, kase, &bad, &seq), -1);
    bad = s_consent(ZN_CONSENT_GRANTED, "ggd", T_NOW);
    bad.c.n_scope = ZN_CONSENT_SCOPE_MAX + 1;
    assert_int_equal(zn_store_consent_add(f->s, kase, &bad, &seq), -1);
    bad = s_consent(ZN_CONSENT_GRANTED, "ggd", T_NOW);
    bad.c.given_by = 16;
    assert_int_equal(zn_store_consent_add(f->s, kase, &bad, &seq), -1);
    bad = s_consent(ZN_CONSENT_GRANTED, "ggd", T_NOW);
    bad.c.age_band = (zn_age_band)4;
    assert_int_equal(zn_store_consent_add(f->s, kase, &bad, &seq), -1);
    bad = s_consent(ZN_CONSENT_GRANTED, "ggd", T_NOW);
    bad.purpose_len = 10; /* a length without bytes */
    assert_int_equal(zn_store_consent_add(f->s, kase, &bad, &seq), -1);
    bad = s_consent(ZN_CONSENT_GRANTED, "ggd", T_NOW);
    bad.partner[0] = '\0'; /* who recorded it is required */
    assert_int_equal(zn_store_consent_add(f->s, kase, &bad, &seq), -1);
    /* the widest scope fits */
    zn_consent_row wide = s_consent(ZN_CONSENT_GRANTED, "", T_NOW + 40);
    for (size_t i = 0; i < ZN_CONSENT_SCOPE_MAX; i++) {
        memset(wide.c.scope[i], 'a' + (char)(i % 26), ZN_IDENT_MAX - 1);
        wide.c.scope[i][0] = (char)('a' + i / 26);
        wide.c.scope[i][ZN_IDENT_MAX - 1] = '\0';
    }
    wide.c.n_scope = ZN_CONSENT_SCOPE_MAX;
    assert_int_equal(zn_store_consent_add(f->s, kase, &wide, &seq), 0);
    assert_int_equal(seq, 4);
    assert_int_equal(zn_store_consent_current(f->s, kase, &got), 1);
    assert_int_equal(got.c.n_scope, ZN_CONSENT_SCOPE_MAX);
    assert_memory_equal(got.c.scope, wide.c.scope, sizeof got.c.scope);
}

static void s_override_equal(const zn_override_row *a, const zn_override_row *b)
{
    assert_memory_equal(a->id, b->id, ZN_ID_LEN);
    assert_memory_equal(a->case_id, b->case_id, ZN_ID_LEN);
    assert_string_equal(a->network, b->network);
    assert_string_equal(a->from, b->from);
    assert_string_equal(a->handler, b->handler);
    assert_string_equal(a->to, b->to);
    assert_int_equal(a->step, b->step);
    assert_int_equal(a->created_ms, b->created_ms);
    assert_int_equal(a->expires_ms, b->expires_ms);
    assert_int_equal(a->review_by_ms, b->review_by_ms);
    assert_int_equal(a->state, b->state);
    assert_string_equal(a->reviewed_by, b->reviewed_by);
    assert_int_equal(a->reviewed_ms, b->reviewed_ms);
    assert_int_equal(a->escalated, b->escalated);
    assert_int_equal(a->justification_len, b->justification_len);
    assert_memory_equal(a->justification, b->justification, a->justification_len);
    assert_int_equal(a->note_len, b->note_len);
    if (a->note)
        assert_memory_equal(a->note, b->note, a->note_len);
    else
        assert_null(b->note);
}

static void test_override_put_get_replace(void **state)
{
    s_fix *f = *state;
    uint8_t kase[ZN_ID_LEN] = {0xc0, 1};
    zn_override_row o = s_ovr(1, kase, "0-12", "school", "ggd", T_NOW), got;
    assert_int_equal(zn_store_override_put(f->s, &o), 0);
    assert_int_equal(zn_store_override_get(f->s, o.id, &got), 1);
    s_override_equal(&o, &got);
    uint8_t none[ZN_ID_LEN] = {0xd0, 99};
    assert_int_equal(zn_store_override_get(f->s, none, &got), 0);

    /* the review rewrites it: the same id, one row */
    o.state = ZN_OVERRIDE_APPROVED;
    snprintf(o.reviewed_by, sizeof o.reviewed_by, "coordinator-1");
    o.reviewed_ms = T_NOW + 50;
    o.note = s_sealed(0x99, 200);
    o.note_len = 200;
    o.escalated = true;
    o.expires_ms = UINT64_MAX;
    assert_int_equal(zn_store_override_put(f->s, &o), 0);
    assert_int_equal(zn_store_override_get(f->s, o.id, &got), 1);
    o.expires_ms = INT64_MAX;
    s_override_equal(&o, &got);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM overrides"), 1);
    /* the sealed values of a get are the store's copy (valid until the next call) */
    zn_override_row o2 = s_ovr(2, kase, "0-12", "ggd", "school", T_NOW);
    assert_int_equal(zn_store_override_put(f->s, &o2), 0);
    assert_int_equal(zn_store_override_get(f->s, o2.id, &got), 1);
    s_override_equal(&o2, &got);
    assert_int_equal(zn_store_override_get(f->s, o.id, &got), 1);
    s_override_equal(&o, &got);

    /* a long sealed text is kept; one longer than any sealed text can be is refused */
    static uint8_t big[200000];
    memset(big, 0x42, sizeof big);
    zn_override_row longer = s_ovr(3, kase, "0-12", "school", "ggd", T_NOW);
    longer.justification = big;
    longer.justification_len = 60000;
    longer.note = big;
    longer.note_len = 60000;
    assert_int_equal(zn_store_override_put(f->s, &longer), 0);
    assert_int_equal(zn_store_override_get(f->s, longer.id, &got), 1);
    s_override_equal(&longer, &got);
    longer.note_len = sizeof big;
    assert_int_equal(zn_store_override_put(f->s, &longer), -1);

    /* records that break the rules are refused */
    zn_override_row bad = s_ovr(4, kase, "0-12", "school", "ggd", T_NOW);
    bad.step = 0;
    assert_int_equal(zn_store_override_put(f->s, &bad), -1);
    bad.step = ZN_MELDCODE_STEPS + 1;
    assert_int_equal(zn_store_override_put(f->s, &bad), -1);
    bad = s_ovr(4, kase, "0-12", "school", "ggd", T_NOW);
    bad.state = ZN_OVERRIDE_NONE;
    assert_int_equal(zn_store_override_put(f->s, &bad), -1);
    bad = s_ovr(4, kase, "0-12", "school", "ggd", T_NOW);
    bad.justification = NULL;
    bad.justification_len = 0;
    assert_int_equal(zn_store_override_put(f->s, &bad), -1);
    bad = s_ovr(4, kase, "0-12", "school", "", T_NOW);
    assert_int_equal(zn_store_override_put(f->s, &bad), -1);
    assert_int_equal(zn_store_override_get(f->s, bad.id, &got), 0);
}

/* Overrides seen by a walk: the second id byte of each, and a check that each one's sealed
 * justification is readable. */
typedef struct {
    zn_store *s;
    uint8_t tag[32];
    int n, stop_after;
    bool expire_them; /* the clock's step: mark each one expired (or escalated when still standing) */
    uint64_t now;
} s_ovr_seen;

static int s_ovr_hit(void *ctx, const zn_override_row *r)
{
    s_ovr_seen *v = ctx;
    assert_true(v->n < 32);
    v->tag[v->n++] = r->id[1];
    assert_int_equal(r->justification_len, 64u + r->id[1]);
    assert_memory_equal(r->justification, s_sealed(r->id[1], r->justification_len), r->justification_len);
    if (v->expire_them) {
        zn_override_row w = *r;
        if (w.expires_ms <= v->now)
            w.state = ZN_OVERRIDE_EXPIRED;
        else
            w.escalated = true;
        assert_int_equal(zn_store_override_put(v->s, &w), 0);
    }
    return v->stop_after && v->n >= v->stop_after;
}

static void test_override_list_filters(void **state)
{
    s_fix *f = *state;
    uint8_t k1[ZN_ID_LEN] = {0xc0, 1}, k2[ZN_ID_LEN] = {0xc0, 2};
    /* tag: network, author, created; states below */
    zn_override_row o[6] = {
        s_ovr(1, k1, "0-12", "school", "ggd", T_NOW + 10),
        s_ovr(2, k1, "0-12", "ggd", "school", T_NOW + 20),
        s_ovr(3, k2, "12-18", "school", "wijkteam", T_NOW + 30),
        s_ovr(4, k2, "12-18", "politie", "school", T_NOW + 40),
        s_ovr(5, k2, "18plus", "school", "ggd", T_NOW + 40), /* the same time as 4, stored later */
        s_ovr(6, k1, "0-12", "school", "ggd", T_NOW + 60),
    };
    o[1].state = ZN_OVERRIDE_APPROVED;
    o[3].state = ZN_OVERRIDE_REJECTED;
    o[5].expires_ms = T_NOW + 70; /* pending, but expired at T_NOW + 70 */
    assert_int_equal(zn_store_begin(f->s), 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(zn_store_override_put(f->s, &o[i]), 0);
    assert_int_equal(zn_store_commit(f->s), 0);
    /* a rewrite keeps its place among those of the same time */
    o[3].reviewed_ms = T_NOW + 45;
    assert_int_equal(zn_store_override_put(f->s, &o[3]), 0);

    s_ovr_seen v = {0};
    uint64_t total = 0;
    assert_int_equal(zn_store_override_list(f->s, NULL, 0, NULL, false, T_NOW + 70, 0, 10, &total, s_ovr_hit, &v), 6);
    assert_int_equal(total, 6);
    const uint8_t newest_first[] = {6, 5, 4, 3, 2, 1};
    assert_memory_equal(v.tag, newest_first, 6);
    /* paging */
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_override_list(f->s, NULL, 0, NULL, false, T_NOW + 70, 2, 3, &total, s_ovr_hit, &v), 3);
    assert_int_equal(total, 6);
    assert_memory_equal(v.tag, newest_first + 2, 3);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_override_list(f->s, NULL, 0, NULL, false, T_NOW + 70, 6, 3, &total, s_ovr_hit, &v), 0);
    assert_int_equal(total, 6);
    assert_int_equal(zn_store_override_list(f->s, NULL, 0, NULL, false, T_NOW, UINT64_MAX, 3, &total, s_ovr_hit, &v),
                     0);
    /* a coordinator's networks */
    const char nets[2][ZN_IDENT_MAX] = {"12-18", "18plus"};
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_override_list(f->s, nets, 2, NULL, false, T_NOW + 70, 0, 10, &total, s_ovr_hit, &v), 3);
    assert_int_equal(total, 3);
    assert_memory_equal(v.tag, ((const uint8_t[]){5, 4, 3}), 3);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_override_list(f->s, nets, 1, NULL, false, T_NOW + 70, 0, 10, &total, s_ovr_hit, &v), 2);
    assert_int_equal(total, 2);
    /* waiting for review: pending and unexpired (1, 3, 5; 6 expired at T_NOW + 70) */
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_override_list(f->s, NULL, 0, NULL, true, T_NOW + 70, 0, 10, &total, s_ovr_hit, &v), 3);
    assert_int_equal(total, 3);
    assert_memory_equal(v.tag, ((const uint8_t[]){5, 3, 1}), 3);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_override_list(f->s, NULL, 0, NULL, true, T_NOW + 69, 0, 10, &total, s_ovr_hit, &v), 4);
    /* a partner's own */
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_override_list(f->s, NULL, 0, "school", false, T_NOW, 0, 10, &total, s_ovr_hit, &v), 4);
    assert_int_equal(total, 4);
    assert_memory_equal(v.tag, ((const uint8_t[]){6, 5, 3, 1}), 4);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_override_list(f->s, nets, 2, "school", true, T_NOW + 70, 0, 1, &total, s_ovr_hit, &v), 1);
    assert_int_equal(total, 2);
    assert_int_equal(v.tag[0], 5);
    memset(&v, 0, sizeof v);
    v.stop_after = 2;
    assert_int_equal(zn_store_override_list(f->s, NULL, 0, NULL, false, T_NOW, 0, 10, &total, s_ovr_hit, &v), 2);
    assert_int_equal(zn_store_override_list(f->s, NULL, 0, "nobody", false, T_NOW, 0, 10, &total, s_ovr_hit, &v), 0);
    assert_int_equal(total, 0);
    /* more networks than a convenant holds */
    static char many[ZN_MAX_NETWORKS + 1][ZN_IDENT_MAX];
    for (int i = 0; i <= ZN_MAX_NETWORKS; i++)
        snprintf(many[i], ZN_IDENT_MAX, "n%d", i);
    assert_int_equal(zn_store_override_list(f->s, (const char(*)[ZN_IDENT_MAX])many, ZN_MAX_NETWORKS, NULL, false,
                                            T_NOW, 0, 10, &total, s_ovr_hit, &v), 0);
    assert_int_equal(zn_store_override_list(f->s, (const char(*)[ZN_IDENT_MAX])many, ZN_MAX_NETWORKS + 1, NULL,
                                            false, T_NOW, 0, 10, &total, s_ovr_hit, &v), -1);
}

static void test_override_due(void **state)
{
    s_fix *f = *state;
    uint8_t k1[ZN_ID_LEN] = {0xc0, 1};
    /* created T; review_by T + 100; expires T + 1000 unless set */
    zn_override_row o[6] = {
        s_ovr(1, k1, "0-12", "school", "ggd", 1000),   /* late for review at 1100, expires 2000 */
        s_ovr(2, k1, "0-12", "school", "ggd", 1050),   /* approved: review_by does not matter; expires 1500 */
        s_ovr(3, k1, "0-12", "school", "ggd", 900),    /* escalated already; expires 1900 */
        s_ovr(4, k1, "0-12", "school", "ggd", 500),    /* rejected: never due */
        s_ovr(5, k1, "0-12", "school", "ggd", 1000),   /* pending, expires 1050 before its review_by 1100 */
        s_ovr(6, k1, "0-12", "school", "ggd", 5000),   /* not yet */
    };
    o[1].state = ZN_OVERRIDE_APPROVED;
    o[1].expires_ms = 1500;
    o[2].escalated = true;
    o[3].state = ZN_OVERRIDE_REJECTED;
    o[4].expires_ms = 1050;
    assert_int_equal(zn_store_begin(f->s), 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(zn_store_override_put(f->s, &o[i]), 0);
    assert_int_equal(zn_store_commit(f->s), 0);

    s_ovr_seen v = {0};
    assert_int_equal(zn_store_overrides_due(f->s, 1099, 10, s_ovr_hit, &v), 1);
    assert_int_equal(v.tag[0], 5);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_overrides_due(f->s, 1100, 10, s_ovr_hit, &v), 2); /* 5 at 1050, 1 at 1100 */
    assert_memory_equal(v.tag, ((const uint8_t[]){5, 1}), 2);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_overrides_due(f->s, 2000, 10, s_ovr_hit, &v), 4);
    assert_memory_equal(v.tag, ((const uint8_t[]){5, 1, 2, 3}), 4); /* 1050, 1100, 1500, 1900 */
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_overrides_due(f->s, 2000, 2, s_ovr_hit, &v), 2);
    memset(&v, 0, sizeof v);
    v.stop_after = 1;
    assert_int_equal(zn_store_overrides_due(f->s, 2000, 10, s_ovr_hit, &v), 1);
    assert_int_equal(zn_store_overrides_due(f->s, 0, 10, s_ovr_hit, &v), 0);

    /* the clock rewrites what it is given: then it is no longer due */
    memset(&v, 0, sizeof v);
    v.s = f->s;
    v.expire_them = true;
    v.now = 1100;
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_overrides_due(f->s, 1100, 10, s_ovr_hit, &v), 2);
    assert_int_equal(zn_store_commit(f->s), 0);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_overrides_due(f->s, 1100, 10, s_ovr_hit, &v), 0);
    zn_override_row got;
    assert_int_equal(zn_store_override_get(f->s, o[4].id, &got), 1);
    assert_int_equal(got.state, ZN_OVERRIDE_EXPIRED);
    assert_int_equal(zn_store_override_get(f->s, o[0].id, &got), 1);
    assert_int_equal(got.state, ZN_OVERRIDE_PENDING);
    assert_true(got.escalated);
    /* escalated, it is due again only when it expires */
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_overrides_due(f->s, 2000, 10, s_ovr_hit, &v), 3);
    assert_memory_equal(v.tag, ((const uint8_t[]){2, 3, 1}), 3); /* 1500, 1900, 2000 */
}

static void test_override_standing_between(void **state)
{
    s_fix *f = *state;
    uint8_t k1[ZN_ID_LEN] = {0xc0, 1}, k2[ZN_ID_LEN] = {0xc0, 2};
    zn_override_row o[6] = {
        s_ovr(1, k1, "0-12", "school", "ggd", 100),
        s_ovr(2, k1, "0-12", "ggd", "school", 200),      /* the other direction */
        s_ovr(3, k1, "0-12", "school", "wijkteam", 300),
        s_ovr(4, k1, "0-12", "politie", "ggd", 400),
        s_ovr(5, k2, "0-12", "school", "ggd", 500),      /* another case */
        s_ovr(6, k1, "0-12", "school", "ggd", 600),
    };
    o[0].state = ZN_OVERRIDE_APPROVED;
    o[1].state = ZN_OVERRIDE_REJECTED;
    o[2].expires_ms = 1000;
    o[5].state = ZN_OVERRIDE_EXPIRED;
    assert_int_equal(zn_store_begin(f->s), 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(zn_store_override_put(f->s, &o[i]), 0);
    assert_int_equal(zn_store_commit(f->s), 0);

    s_ovr_seen v = {0};
    assert_int_equal(zn_store_overrides_standing(f->s, k1, 999, 10, s_ovr_hit, &v), 3);
    assert_memory_equal(v.tag, ((const uint8_t[]){4, 3, 1}), 3); /* newest first; 2, 6 decided */
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_overrides_standing(f->s, k1, 1000, 10, s_ovr_hit, &v), 2); /* 3 expired */
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_overrides_standing(f->s, k1, 999, 1, s_ovr_hit, &v), 1);
    assert_int_equal(v.tag[0], 4);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_overrides_standing(f->s, k2, 999, 10, s_ovr_hit, &v), 1);

    /* between two partners in either direction, whatever the state */
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_overrides_between(f->s, k1, "school", "ggd", s_ovr_hit, &v), 3);
    assert_memory_equal(v.tag, ((const uint8_t[]){6, 2, 1}), 3);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_overrides_between(f->s, k1, "ggd", "school", s_ovr_hit, &v), 3);
    assert_memory_equal(v.tag, ((const uint8_t[]){6, 2, 1}), 3);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_overrides_between(f->s, k1, "wijkteam", "school", s_ovr_hit, &v), 1);
    assert_int_equal(v.tag[0], 3);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_overrides_between(f->s, k1, "politie", "school", s_ovr_hit, &v), 0);
    /* b NULL: every override naming a at either end */
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_overrides_between(f->s, k1, "ggd", NULL, s_ovr_hit, &v), 4);
    assert_memory_equal(v.tag, ((const uint8_t[]){6, 4, 2, 1}), 4);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_overrides_between(f->s, k1, "wijkteam", NULL, s_ovr_hit, &v), 1);
    memset(&v, 0, sizeof v);
    v.stop_after = 1;
    assert_int_equal(zn_store_overrides_between(f->s, k1, "school", NULL, s_ovr_hit, &v), 1);
    assert_int_equal(v.tag[0], 6);
    assert_int_equal(zn_store_overrides_between(f->s, k1, "", NULL, s_ovr_hit, &v), -1);
}

static void s_handover_equal(const zn_handover_row *a, const zn_handover_row *b)
{
    assert_memory_equal(a->id, b->id, ZN_ID_LEN);
    assert_memory_equal(a->case_id, b->case_id, ZN_ID_LEN);
    assert_string_equal(a->from, b->from);
    assert_string_equal(a->handler, b->handler);
    assert_string_equal(a->to, b->to);
    assert_memory_equal(a->msgid, b->msgid, ZN_ID_LEN);
    assert_int_equal(a->offered_ms, b->offered_ms);
    assert_int_equal(a->timeout_ms, b->timeout_ms);
    assert_int_equal(a->state, b->state);
    assert_int_equal(a->decided_ms, b->decided_ms);
    assert_int_equal(a->escalated, b->escalated);
    assert_int_equal(a->reason_len, b->reason_len);
    if (a->reason)
        assert_memory_equal(a->reason, b->reason, a->reason_len);
    else
        assert_null(b->reason);
}

typedef struct {
    zn_store *s;
    uint8_t tag[16];
    int n;
    bool escalate;
} s_ho_seen;

static int s_ho_hit(void *ctx, const zn_handover_row *r)
{
    s_ho_seen *v = ctx;
    assert_true(v->n < 16);
    v->tag[v->n++] = r->id[1];
    if (v->escalate) {
        zn_handover_row w = *r;
        w.escalated = true;
        assert_int_equal(zn_store_handover_put(v->s, &w), 0);
    }
    return 0;
}

static void test_handovers(void **state)
{
    s_fix *f = *state;
    uint8_t k1[ZN_ID_LEN] = {0xc0, 1}, k2[ZN_ID_LEN] = {0xc0, 2};
    zn_handover_row h[4] = {
        s_ho(1, k1, "school", "ggd", 100), /* declined */
        s_ho(2, k1, "school", "wijkteam", 200),
        s_ho(3, k2, "ggd", "school", 300),
        s_ho(4, k2, "wijkteam", "politie", 50),
    };
    h[0].state = ZN_HANDOVER_DECLINED;
    h[0].decided_ms = 150;
    h[0].reason = s_sealed(0x31, 80);
    h[0].reason_len = 80;
    h[3].timeout_ms = UINT64_MAX;
    zn_handover_row got;
    assert_int_equal(zn_store_handover_open(f->s, k1, &got), 0);
    assert_int_equal(zn_store_begin(f->s), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(zn_store_handover_put(f->s, &h[i]), 0);
    assert_int_equal(zn_store_commit(f->s), 0);

    assert_int_equal(zn_store_handover_get(f->s, h[0].id, &got), 1);
    s_handover_equal(&h[0], &got);
    assert_int_equal(zn_store_handover_get(f->s, h[3].id, &got), 1);
    h[3].timeout_ms = INT64_MAX;
    s_handover_equal(&h[3], &got);
    uint8_t none[ZN_ID_LEN] = {0xe0, 99};
    assert_int_equal(zn_store_handover_get(f->s, none, &got), 0);
    assert_int_equal(zn_store_handover_open(f->s, k1, &got), 1); /* the declined one is not open */
    s_handover_equal(&h[1], &got);
    assert_int_equal(zn_store_handover_open(f->s, k1, NULL), 1);
    assert_int_equal(zn_store_handover_open(f->s, none, NULL), 0);

    /* accepted: rewritten in place, the case has none open */
    h[1].state = ZN_HANDOVER_ACCEPTED;
    h[1].decided_ms = 250;
    assert_int_equal(zn_store_handover_put(f->s, &h[1]), 0);
    assert_int_equal(zn_store_handover_get(f->s, h[1].id, &got), 1);
    s_handover_equal(&h[1], &got);
    assert_int_equal(zn_store_handover_open(f->s, k1, &got), 0);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM handovers"), 4);

    /* those a partner offered or was offered, newest first */
    s_ho_seen v = {0};
    uint64_t total = 0;
    assert_int_equal(zn_store_handover_list(f->s, "school", 0, 10, &total, s_ho_hit, &v), 3);
    assert_int_equal(total, 3);
    assert_memory_equal(v.tag, ((const uint8_t[]){3, 2, 1}), 3);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_handover_list(f->s, "school", 1, 1, &total, s_ho_hit, &v), 1);
    assert_int_equal(total, 3);
    assert_int_equal(v.tag[0], 2);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_handover_list(f->s, "politie", 0, 10, &total, s_ho_hit, &v), 1);
    assert_int_equal(total, 1);
    assert_int_equal(zn_store_handover_list(f->s, "jeugdzorg", 0, 10, &total, s_ho_hit, &v), 0);
    assert_int_equal(total, 0);

    /* due: open, not escalated, past the timeout (3 at 800); the clock escalates it once */
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_handovers_due(f->s, 799, 10, s_ho_hit, &v), 0);
    assert_int_equal(zn_store_handovers_due(f->s, 800, 10, s_ho_hit, &v), 1);
    assert_int_equal(v.tag[0], 3);
    zn_handover_row more = s_ho(5, k1, "school", "ggd", 100); /* timeout 600: sooner */
    assert_int_equal(zn_store_handover_put(f->s, &more), 0);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_handovers_due(f->s, 1000, 10, s_ho_hit, &v), 2);
    assert_memory_equal(v.tag, ((const uint8_t[]){5, 3}), 2);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_handovers_due(f->s, 1000, 1, s_ho_hit, &v), 1);
    assert_int_equal(v.tag[0], 5);
    memset(&v, 0, sizeof v);
    v.s = f->s;
    v.escalate = true;
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_handovers_due(f->s, 1000, 10, s_ho_hit, &v), 2);
    assert_int_equal(zn_store_commit(f->s), 0);
    assert_int_equal(zn_store_handovers_due(f->s, 1000, 10, s_ho_hit, &v), 0);
    assert_int_equal(zn_store_handover_get(f->s, more.id, &got), 1);
    assert_true(got.escalated);
    assert_int_equal(got.state, ZN_HANDOVER_OPEN);

    /* records that break the rules are refused */
    zn_handover_row bad = s_ho(6, k1, "school", "ggd", 100);
    bad.state = (zn_handover_state)0;
    assert_int_equal(zn_store_handover_put(f->s, &bad), -1);
    bad = s_ho(6, k1, "", "ggd", 100);
    assert_int_equal(zn_store_handover_put(f->s, &bad), -1);
    bad = s_ho(6, k1, "school", "ggd", 100);
    bad.reason_len = 5;
    assert_int_equal(zn_store_handover_put(f->s, &bad), -1);
    assert_int_equal(zn_store_handover_get(f->s, bad.id, &got), 0);
}

typedef struct {
    zn_store *s;
    int64_t seqs[16];
    char recipients[16][ZN_IDENT_MAX];
    int n;
    bool delete_them, queue_more;
    const uint8_t *kase;
} s_case_items;

static int s_case_item(void *ctx, const char *recipient, const zn_queue_item *it)
{
    s_case_items *v = ctx;
    assert_true(v->n < 16);
    assert_int_equal(it->kind, ZN_ITEM_ENVELOPE);
    assert_non_null(it->case_id);
    assert_memory_equal(it->case_id, v->kase, ZN_ID_LEN);
    assert_string_equal(it->sender, "school");
    assert_int_equal(it->body_len, 3);
    assert_int_equal(it->body[0], 0x92);
    v->seqs[v->n] = it->seq;
    snprintf(v->recipients[v->n], ZN_IDENT_MAX, "%s", recipient);
    v->n++;
    if (v->delete_them)
        assert_int_equal(zn_store_queue_delete(v->s, recipient, it->seq), 1);
    if (v->queue_more) { /* an envelope queued during the walk is not part of it */
        uint8_t id[ZN_ID_LEN] = {0x66, (uint8_t)v->n}, body[3] = {0x92, 1, 0};
        int64_t seq;
        assert_int_equal(zn_store_queue_insert(v->s, "ggd", id, ZN_ITEM_ENVELOPE, "school", v->kase, body,
                                               sizeof body, 5, &seq), 0);
    }
    return 0;
}

static void test_queue_case_walk(void **state)
{
    s_fix *f = *state;
    uint8_t k1[ZN_ID_LEN] = {0xc0, 1}, k2[ZN_ID_LEN] = {0xc0, 2};
    struct { const char *to; int kind; const uint8_t *kase; } items[] = {
        {"ggd", ZN_ITEM_ENVELOPE, k1}, {"wijkteam", ZN_ITEM_ENVELOPE, k2}, {"wijkteam", ZN_ITEM_ENVELOPE, k1},
        {"ggd", 2, k1} /* not an envelope */, {"ggd", 2, NULL}, {"ggd", ZN_ITEM_ENVELOPE, k1},
    };
    int64_t seqs[6];
    assert_int_equal(zn_store_begin(f->s), 0);
    for (int i = 0; i < 6; i++) {
        uint8_t id[ZN_ID_LEN] = {0x55, (uint8_t)i}, body[3] = {0x92, 1, (uint8_t)(i + 1)};
        assert_int_equal(zn_store_queue_insert(f->s, items[i].to, id, items[i].kind, "school", items[i].kase, body,
                                               sizeof body, 5, &seqs[i]), 0);
        assert_int_equal(seqs[i], i + 1); /* the bodies name their seq */
    }
    assert_int_equal(zn_store_commit(f->s), 0);

    s_case_items v = {.s = f->s, .kase = k1};
    assert_int_equal(zn_store_queue_case(f->s, k1, s_case_item, &v), 3);
    assert_int_equal(v.seqs[0], seqs[0]);
    assert_int_equal(v.seqs[1], seqs[2]);
    assert_int_equal(v.seqs[2], seqs[5]);
    assert_string_equal(v.recipients[1], "wijkteam");
    uint8_t none[ZN_ID_LEN] = {0xc0, 99};
    assert_int_equal(zn_store_queue_case(f->s, none, s_case_item, &v), 0);

    /* the purge: each item deleted as it is given, every one still visited once */
    memset(&v, 0, sizeof v);
    v.s = f->s;
    v.kase = k1;
    v.delete_them = true;
    v.queue_more = true;
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_queue_case(f->s, k1, s_case_item, &v), 3);
    assert_int_equal(zn_store_commit(f->s), 0);
    assert_int_equal(v.seqs[2], seqs[5]);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM queue"), 3 + 3); /* the others and the new ones */
    assert_int_equal(s_rows(f, "SELECT count(*) FROM queue WHERE case_id = x'c0020000000000000000000000000000'"), 1);
    memset(&v, 0, sizeof v);
    v.kase = k1;
    assert_int_equal(zn_store_queue_case(f->s, k1, s_case_item, &v), 3); /* those queued during the walk */
    assert_true(v.seqs[0] > seqs[5]);
}

static void test_msgid_match(void **state)
{
    s_fix *f = *state;
    uint8_t msgid[ZN_ID_LEN] = {7}, other_id[ZN_ID_LEN] = {8}, kase[ZN_ID_LEN] = {0xc0, 1},
            other_case[ZN_ID_LEN] = {0xc0, 2}, prev_case[ZN_ID_LEN];
    char prev[ZN_IDENT_MAX];
    uint64_t idx = 3;
    assert_int_equal(zn_store_msgid_claim(f->s, "school", msgid, "ggd", kase, 1, &idx, prev, prev_case), 0);
    assert_int_equal(zn_store_msgid_match(f->s, "school", msgid, "ggd", kase), 1);
    assert_int_equal(zn_store_msgid_match(f->s, "school", msgid, "wijkteam", kase), 0);
    assert_int_equal(zn_store_msgid_match(f->s, "school", msgid, "ggd", other_case), 0);
    assert_int_equal(zn_store_msgid_match(f->s, "ggd", msgid, "school", kase), 0);
    assert_int_equal(zn_store_msgid_match(f->s, "school", other_id, "ggd", kase), 0);
    assert_int_equal(zn_store_msgid_match(f->s, "", msgid, "ggd", kase), -1);
}

typedef struct {
    uint8_t tag[8];
    uint64_t seq[8], until[8];
    int n, stop_after;
} s_ended_seen;

static int s_ended(void *ctx, const uint8_t case_id[ZN_ID_LEN], uint64_t seq, uint64_t until_ms)
{
    s_ended_seen *v = ctx;
    assert_true(v->n < 8);
    assert_int_equal(case_id[0], 0xc0);
    v->tag[v->n] = case_id[1];
    v->seq[v->n] = seq;
    v->until[v->n] = until_ms;
    v->n++;
    return v->stop_after && v->n >= v->stop_after;
}

/* The clock's question: which cases' current, granted consent ended after its cursor and by now. */
static void test_consents_ended(void **state)
{
    s_fix *f = *state;
    uint8_t k[6][ZN_ID_LEN];
    for (uint8_t i = 0; i < 6; i++) {
        memset(k[i], 0, ZN_ID_LEN);
        k[i][0] = 0xc0;
        k[i][1] = (uint8_t)(i + 1);
    }
    zn_consent_row g = s_consent(ZN_CONSENT_GRANTED, "ggd", T_NOW);
    uint64_t seq;
    assert_int_equal(zn_store_begin(f->s), 0);
    g.c.until_ms = 500; /* case 1: granted until 500 */
    assert_int_equal(zn_store_consent_add(f->s, k[0], &g, &seq), 0);
    g.c.until_ms = 300; /* case 2: granted until 300, then granted again until 900: only the current counts */
    assert_int_equal(zn_store_consent_add(f->s, k[1], &g, &seq), 0);
    g.c.until_ms = 900;
    assert_int_equal(zn_store_consent_add(f->s, k[1], &g, &seq), 0);
    g.c.until_ms = 500; /* case 3: until 500, the same time as case 1 */
    assert_int_equal(zn_store_consent_add(f->s, k[2], &g, &seq), 0);
    g.c.until_ms = 400; /* case 4: until 400, then withdrawn: nothing to expire */
    assert_int_equal(zn_store_consent_add(f->s, k[3], &g, &seq), 0);
    zn_consent_row w = s_consent(ZN_CONSENT_WITHDRAWN, "", T_NOW);
    assert_int_equal(zn_store_consent_add(f->s, k[3], &w, &seq), 0);
    g.c.until_ms = 0; /* case 5: until withdrawn */
    assert_int_equal(zn_store_consent_add(f->s, k[4], &g, &seq), 0);
    zn_consent_row r = s_consent(ZN_CONSENT_REQUESTED, "", T_NOW); /* case 6: requested, with an end */
    r.c.until_ms = 200;
    assert_int_equal(zn_store_consent_add(f->s, k[5], &r, &seq), 0);
    assert_int_equal(zn_store_commit(f->s), 0);

    s_ended_seen v = {0};
    assert_int_equal(zn_store_consents_ended(f->s, 0, NULL, 1000, 10, s_ended, &v), 3);
    assert_memory_equal(v.tag, ((const uint8_t[]){1, 3, 2}), 3); /* by until, then by case id */
    assert_int_equal(v.until[0], 500);
    assert_int_equal(v.seq[0], 1);
    assert_int_equal(v.until[2], 900);
    assert_int_equal(v.seq[2], 2);
    /* up to a time: the ones that ended by then */
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_consents_ended(f->s, 0, NULL, 499, 10, s_ended, &v), 0);
    assert_int_equal(zn_store_consents_ended(f->s, 0, NULL, 500, 10, s_ended, &v), 2);
    /* a cursor in the middle of one time goes on after its case */
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_consents_ended(f->s, 500, k[0], 1000, 10, s_ended, &v), 2);
    assert_memory_equal(v.tag, ((const uint8_t[]){3, 2}), 2);
    uint8_t all[ZN_ID_LEN];
    memset(all, 0xff, sizeof all);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_consents_ended(f->s, 500, all, 1000, 10, s_ended, &v), 1);
    assert_int_equal(v.tag[0], 2);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_consents_ended(f->s, 900, all, 5000, 10, s_ended, &v), 0);
    /* the limit, and a callback that stops */
    assert_int_equal(zn_store_consents_ended(f->s, 0, NULL, 1000, 1, s_ended, &v), 1);
    memset(&v, 0, sizeof v);
    v.stop_after = 2;
    assert_int_equal(zn_store_consents_ended(f->s, 0, NULL, 1000, 10, s_ended, &v), 2);
    /* the query uses the index on until */
    assert_int_equal(s_rows(f, "SELECT count(*) FROM sqlite_master WHERE name = 'consents_by_until'"), 1);
}

/* An acknowledgement removes an item in one statement and tells what it was. */
static void test_queue_remove_tells_what(void **state)
{
    s_fix *f = *state;
    uint8_t kase[ZN_ID_LEN] = {0xc0, 7}, id1[ZN_ID_LEN] = {0x71}, id2[ZN_ID_LEN] = {0x72}, body[3] = {0x92, 1, 2};
    uint8_t got_case[ZN_ID_LEN] = {0};
    int64_t env_seq, notice_seq;
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_queue_insert(f->s, "ggd", id1, ZN_ITEM_ENVELOPE, "school", kase, body, sizeof body, 5,
                                           &env_seq), 0);
    assert_int_equal(zn_store_queue_insert(f->s, "ggd", id2, ZN_ITEM_NOTICE, NULL, NULL, body, sizeof body, 6,
                                           &notice_seq), 0);
    assert_int_equal(zn_store_commit(f->s), 0);
    int kind = -1;
    bool on_case = true;
    /* another recipient's item stays */
    assert_int_equal(zn_store_queue_remove(f->s, "wijkracht", env_seq, &kind, got_case, &on_case), 0);
    assert_int_equal(kind, 0);
    assert_false(on_case);
    assert_int_equal(zn_store_queue_remove(f->s, "ggd", env_seq, &kind, got_case, &on_case), 1);
    assert_int_equal(kind, ZN_ITEM_ENVELOPE);
    assert_true(on_case);
    assert_memory_equal(got_case, kase, ZN_ID_LEN);
    assert_int_equal(zn_store_queue_remove(f->s, "ggd", env_seq, &kind, got_case, &on_case), 0); /* gone */
    assert_int_equal(zn_store_queue_remove(f->s, "ggd", notice_seq, &kind, got_case, &on_case), 1);
    assert_int_equal(kind, ZN_ITEM_NOTICE);
    assert_false(on_case);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM queue"), 0);
}

/* A withdrawn handover is stored; the open ones offered to a partner are found (a reload lapses
 * them when the partner leaves). */
static void test_handovers_open_to_and_withdrawn(void **state)
{
    s_fix *f = *state;
    uint8_t k1[ZN_ID_LEN] = {0xc0, 1}, k2[ZN_ID_LEN] = {0xc0, 2};
    zn_handover_row h[4] = {
        s_ho(1, k1, "school", "ggd", 300),
        s_ho(2, k2, "wijkteam", "ggd", 100),
        s_ho(3, k2, "school", "politie", 200),
        s_ho(4, k1, "school", "ggd", 50),
    };
    h[3].state = ZN_HANDOVER_DECLINED;
    h[3].reason = s_sealed(0x33, 70);
    h[3].reason_len = 70;
    assert_int_equal(zn_store_begin(f->s), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(zn_store_handover_put(f->s, &h[i]), 0);
    assert_int_equal(zn_store_commit(f->s), 0);
    s_ho_seen v = {0};
    assert_int_equal(zn_store_handovers_open_to(f->s, "ggd", 10, s_ho_hit, &v), 2); /* oldest first, open only */
    assert_memory_equal(v.tag, ((const uint8_t[]){2, 1}), 2);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_handovers_open_to(f->s, "ggd", 1, s_ho_hit, &v), 1);
    assert_int_equal(v.tag[0], 2);
    assert_int_equal(zn_store_handovers_open_to(f->s, "jeugdzorg", 10, s_ho_hit, &v), 0);
    assert_int_equal(zn_store_handovers_open_to(f->s, "", 10, s_ho_hit, &v), -1);

    /* withdrawn: stored as such, open no more */
    h[1].state = ZN_HANDOVER_WITHDRAWN;
    h[1].decided_ms = 400;
    assert_int_equal(zn_store_handover_put(f->s, &h[1]), 0);
    zn_handover_row got;
    assert_int_equal(zn_store_handover_get(f->s, h[1].id, &got), 1);
    s_handover_equal(&h[1], &got);
    assert_int_equal(zn_store_handover_open(f->s, k2, &got), 1); /* the other one of k2 */
    assert_memory_equal(got.id, h[2].id, ZN_ID_LEN);
    memset(&v, 0, sizeof v);
    assert_int_equal(zn_store_handovers_open_to(f->s, "ggd", 10, s_ho_hit, &v), 1);
    assert_int_equal(v.tag[0], 1);
    /* a state past withdrawn is refused */
    zn_handover_row bad = s_ho(5, k1, "school", "ggd", 100);
    bad.state = (zn_handover_state)(ZN_HANDOVER_WITHDRAWN + 1);
    assert_int_equal(zn_store_handover_put(f->s, &bad), -1);
}

/* A database of schema 3 (before consent, overrides, handovers) is migrated forward: its cases
 * are open and anonymous, their regisseurs members. */
static void test_schema_3_migrated(void **state)
{
    s_fix *f = *state;
    s_old_database(f, S_SCHEMA_3
        "INSERT INTO meta VALUES('convenant_version', 7);"
        "INSERT INTO cases VALUES(x'c0010000000000000000000000000000', '0-12', 'school', 1234);"
        "INSERT INTO cases VALUES(x'c0020000000000000000000000000000', '12-18', 'ggd', 5678);"
        "INSERT INTO queue(recipient, item_id, kind, sender, case_id, body, created_ms)"
        "  VALUES('ggd', x'01000000000000000000000000000000', 1, 'school', x'c0010000000000000000000000000000',"
        "  x'90', 1300);"
        "INSERT INTO signals VALUES(x'01', 'school', 'ib', '0-12', x'01', x'', '', 1, 1, 99999999999, 0);"
        "PRAGMA user_version = 3;");
    zn_err e;
    assert_int_equal(zn_store_open(f->path, &f->s, &e), 0);
    assert_int_equal(s_rows(f, "PRAGMA user_version"), ZN_SCHEMA_VERSION);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM signals"), 1);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM sqlite_master WHERE name = 'queue_by_case'"), 1);
    uint8_t k1[ZN_ID_LEN] = {0xc0, 1}, k2[ZN_ID_LEN] = {0xc0, 2};
    zn_case got;
    assert_int_equal(zn_store_case_get(f->s, k1, &got), 1);
    assert_string_equal(got.network, "0-12");
    assert_string_equal(got.regisseur, "school");
    assert_int_equal(got.created_ms, 1234);
    assert_int_equal(got.closed_ms, 0);
    assert_false(got.identified);
    assert_int_equal(got.n_related, 0);
    char how[16];
    uint64_t since = 0;
    assert_int_equal(zn_store_member_get(f->s, k1, "school", how, &since), 1);
    assert_string_equal(how, "regisseur");
    assert_int_equal(since, 1234);
    assert_int_equal(zn_store_member_get(f->s, k2, "ggd", how, &since), 1);
    assert_int_equal(since, 5678);
    assert_int_equal(zn_store_member_get(f->s, k1, "ggd", how, &since), 0);
    assert_int_equal(s_rows(f, "SELECT count(*) FROM case_members"), 2);
    /* and the new tables work */
    s_seen q = {0};
    assert_int_equal(zn_store_queue_case(f->s, k1, s_collect, &q), 1);
    assert_int_equal(q.seqs[0], 1);
    zn_consent_row c = s_consent(ZN_CONSENT_REQUESTED, "", 2000);
    uint64_t seq = 0;
    assert_int_equal(zn_store_consent_add(f->s, k1, &c, &seq), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(zn_store_case_link(f->s, k1, s_p(10), NULL, 0), 1);
    assert_int_equal(zn_store_case_close(f->s, k1, 3000), 1);
    assert_int_equal(zn_store_case_get(f->s, k1, &got), 1);
    assert_true(got.identified);
    assert_int_equal(got.closed_ms, 3000);
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
        cmocka_unit_test_setup_teardown(test_case_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_case_link_close_regisseur, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_case_closed_before_and_delete, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_members, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_consent_records, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_override_put_get_replace, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_override_list_filters, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_override_due, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_override_standing_between, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_handovers, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_queue_case_walk, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_msgid_match, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_consents_ended, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_queue_remove_tells_what, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_handovers_open_to_and_withdrawn, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_schema_3_migrated, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
